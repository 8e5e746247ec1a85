"""Claiming: which objects a controller keeps, adopts and releases by its selector.

Follows kubernetes' ``ControllerRefManager`` (``pkg/controller/controller_ref_manager.go``):
an owner keeps the objects it controls that still match its selector, releases the ones
that stopped matching, and adopts orphans that match (never while it, or the orphan, is
being deleted). Objects controlled by someone else are left alone.

:func:`plan_claims` is the pure decision; :func:`adopt` and :func:`release` write it with a
PUT of the cached copy, so a stale cache is a 409 Conflict (optimistic concurrency), never
a lost write. Used by the ReplicaSet controller (pods) and the Deployment controller
(ReplicaSets).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.selectors import LabelSelector
from steersman.client import Client, Resource
from steersman.controllers.podstate import (
    controller_of,
    controller_ref,
    is_terminating,
    meta,
    uid_of,
)

log = logging.getLogger(__name__)
Object = dict[str, Any]


def labels_of(obj: Object) -> dict[str, str]:
    labels = meta(obj).get("labels")
    return labels if isinstance(labels, dict) else {}


@dataclass
class Claims:
    """What an owner does with each candidate: keep it, adopt it or release it."""

    owned: list[Object] = field(default_factory=list)
    adopt: list[Object] = field(default_factory=list)
    release: list[Object] = field(default_factory=list)


def plan_claims(owner: Object, candidates: list[Object], selector: LabelSelector) -> Claims:
    """Sort ``candidates`` (same namespace as ``owner``) into kept, adopted and released."""
    claims = Claims()
    owner_uid, owner_deleting = uid_of(owner), is_terminating(owner)
    for obj in candidates:
        ref = controller_of(obj)
        matches = selector.matches(labels_of(obj))
        if ref is not None:
            if ref.get("uid") != owner_uid:
                continue
            if matches:
                claims.owned.append(obj)
            elif not owner_deleting:
                claims.release.append(obj)
        elif matches and not owner_deleting and not is_terminating(obj):
            claims.adopt.append(obj)
    return claims


async def adopt(client: Client, resource: Resource, owner: Object, obj: Object) -> Object | None:
    """Make ``owner`` the controller of the orphan ``obj``; ``None`` if it is gone."""
    changed = copy.deepcopy(obj)
    refs = list(meta(changed).get("ownerReferences") or [])
    changed["metadata"]["ownerReferences"] = [*refs, controller_ref(owner)]
    try:
        return await client.update(resource, changed)
    except StatusError as err:
        if err.code == 404:
            return None
        raise


async def release(client: Client, resource: Resource, owner: Object, obj: Object) -> None:
    """Drop ``owner``'s reference from ``obj``, which no longer matches its selector."""
    changed = copy.deepcopy(obj)
    owner_uid = uid_of(owner)
    refs = [ref for ref in meta(changed).get("ownerReferences") or []
            if ref.get("uid") != owner_uid]
    changed["metadata"]["ownerReferences"] = refs
    try:
        await client.update(resource, changed)
    except StatusError as err:
        # Gone, or no longer valid to change: either way it is not ours any more.
        if err.code not in (404, 422):
            raise


async def owner_still_current(client: Client, resource: Resource, owner: Object) -> bool:
    """Re-read the owner before adopting (``canAdopt``): same UID and not being deleted."""
    try:
        fresh = await client.get(resource, str(meta(owner).get("name")),
                                 namespace=str(meta(owner).get("namespace") or ""))
    except StatusError as err:
        if err.code == 404:
            return False
        raise
    return uid_of(fresh) == uid_of(owner) and not is_terminating(fresh)


async def claim(client: Client, *, owner_resource: Resource, resource: Resource,
                owner: Object, candidates: list[Object], selector: LabelSelector) -> list[Object]:
    """Adopt and release as :func:`plan_claims` says; return what ``owner`` now controls."""
    plan = plan_claims(owner, candidates, selector)
    owned = list(plan.owned)
    if plan.adopt and await owner_still_current(client, owner_resource, owner):
        for orphan in plan.adopt:
            adopted = await adopt(client, resource, owner, orphan)
            if adopted is not None:
                owned.append(adopted)
    for stray in plan.release:
        await release(client, resource, owner, stray)
    return owned

