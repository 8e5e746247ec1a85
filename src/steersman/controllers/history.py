"""ControllerRevisions: the template history of DaemonSets and StatefulSets.

Each distinct pod template an owner has had is one ``apps/v1`` ControllerRevision named
``<owner>-<hash>``, whose ``data`` is the strategic-merge patch ``{"spec": {"template":
{…, "$patch": "replace"}}}`` (as ``daemon/update.go`` and ``statefulset``'s ``newRevision``
store it) and whose ``revision`` number orders them. Pods carry the hash in the
``controller-revision-hash`` label, which is how controllers tell old pods from new. The hash
is FNV-1a (32 bit) over the canonical JSON of the template (plus the collision count), encoded
with Kubernetes' ``SafeEncodeString`` alphabet — the same shape as upstream, not the same
bytes. ``kubectl rollout history/undo`` read these objects.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from steersman.api.errors import StatusError
from steersman.client import CONTROLLERREVISIONS, Client
from steersman.controllers.podstate import controller_ref, name_of

Object = dict[str, Any]
REVISION_HASH_LABEL = "controller-revision-hash"
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193


def template_hash(template: Mapping[str, Any], collision_count: int = 0) -> str:
    data = orjson.dumps(template, option=orjson.OPT_SORT_KEYS)
    if collision_count:
        data += collision_count.to_bytes(4, "little")
    value = _FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in str(value))


def template_of(revision: Mapping[str, Any]) -> Object:
    """The pod template a revision stores (without the ``$patch`` directive)."""
    template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def revision_number(revision: Mapping[str, Any]) -> int:
    return int(revision.get("revision") or 0)


def matching_revision(revisions: Iterable[Object], template: Mapping[str, Any]
                      ) -> Object | None:
    """The newest revision whose stored template equals ``template``."""
    equal = [r for r in revisions if template_of(r) == template]
    return max(equal, key=revision_number, default=None)


def new_revision(owner: Mapping[str, Any], template: Mapping[str, Any], *, number: int,
                 collision_count: int = 0) -> Object:
    digest = template_hash(template, collision_count)
    labels = dict(((template.get("metadata") or {}).get("labels")) or {})
    labels[REVISION_HASH_LABEL] = digest
    return {
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": f"{name_of(owner)}-{digest}",
                     "namespace": (owner.get("metadata") or {}).get("namespace", ""),
                     "labels": labels, "ownerReferences": [controller_ref(owner)]},
        "data": {"spec": {"template": {**copy.deepcopy(dict(template)), "$patch": "replace"}}},
        "revision": number,
    }


def revisions_to_prune(revisions: Iterable[Object], in_use: set[str], limit: int
                       ) -> list[Object]:
    """The oldest revisions beyond ``limit`` that no live pod or status names."""
    prunable = sorted((r for r in revisions if name_of(r) not in in_use), key=revision_number)
    excess = len(prunable) - max(limit, 0)
    return prunable[:excess] if excess > 0 else []


async def ensure_revision(client: Client, owner: Mapping[str, Any],
                          template: Mapping[str, Any], revisions: list[Object]) -> Object:
    """The revision for ``template``: an existing equal one (renumbered to be the newest when
    an older template comes back, as on rollback) or a freshly created one."""
    newest = max((revision_number(r) for r in revisions), default=0)
    found = matching_revision(revisions, template)
    if found is not None:
        if revision_number(found) == newest:
            return found
        return await client.update(CONTROLLERREVISIONS, {**found, "revision": newest + 1})
    collision = int((owner.get("status") or {}).get("collisionCount") or 0)
    revision = new_revision(owner, template, number=newest + 1, collision_count=collision)
    try:
        return await client.create(CONTROLLERREVISIONS, revision)
    except StatusError as err:
        if err.code != 409:
            raise
        existing = await client.get(CONTROLLERREVISIONS, name_of(revision),
                                    namespace=revision["metadata"]["namespace"])
        if template_of(existing) != template:
            raise
        return existing


async def prune_history(client: Client, revisions: Iterable[Object], in_use: set[str],
                        limit: int) -> None:
    for revision in revisions_to_prune(revisions, in_use, limit):
        try:
            await client.delete(CONTROLLERREVISIONS, name_of(revision),
                                namespace=revision["metadata"]["namespace"])
        except StatusError as err:
            if err.code != 404:
                raise


def history_limit(owner: Mapping[str, Any]) -> int:
    """``spec.revisionHistoryLimit`` (10 when unset)."""
    limit = (owner.get("spec") or {}).get("revisionHistoryLimit")
    return 10 if limit is None else int(limit)
