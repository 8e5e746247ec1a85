"""Metadata rules every resource shares (kube-apiserver's ``rest.BeforeCreate/BeforeUpdate``).

Names and generateName, uid, creationTimestamp, generation (bumped only when the spec
changes), the spec/status split between a resource and its ``/status`` subresource, and the
fields a client may not change on update. Kind-specific defaulting and validation is the
strategy's job (:mod:`steersman.api.strategies`).
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Callable, Iterator
from typing import Any

from steersman.api import errors
from steersman.api.resources import ResourceInfo

Object = dict[str, Any]

# Go's utilrand alphabet: no vowels, no confusable characters.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# Kinds whose metadata.generation kube-apiserver 1.32 leaves unset although they have status.
_NO_GENERATION = {("", "Pod"), ("", "Node"), ("", "Namespace"), ("", "PersistentVolumeClaim"),
                  ("", "PersistentVolume"), ("", "ResourceQuota"), ("", "Service")}
# Kinds whose creator may set status in the same request (the node agent registers its Node).
_STATUS_ON_CREATE = {("", "Node")}
_IMMUTABLE_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")


def tracks_generation(info: ResourceInfo) -> bool:
    if info.crd is not None:
        return True
    return info.subresource("status") is not None and (info.group, info.kind) not in _NO_GENERATION


def has_status_subresource(info: ResourceInfo) -> bool:
    return info.subresource("status") is not None


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(length))


def check_type_meta(info: ResourceInfo, obj: Object) -> None:
    """The body's apiVersion/kind, when given, must be the endpoint's."""
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    if (kind and kind != info.kind) or (api_version and api_version != info.api_version):
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({info.api_version})" if api_version != info.api_version else
            f"the kind in the data ({kind}) does not match the expected kind ({info.kind})"
        )
    obj["apiVersion"] = info.api_version
    obj["kind"] = info.kind


class _RandomPool:
    """16-byte pieces of ``os.urandom``, read a page at a time: one system call per 256 UIDs.

    Each piece comes from ``next()`` on a C iterator, which no other thread can interleave
    with, so no piece is handed out twice; a child process starts a page of its own
    (``os.register_at_fork``) rather than repeat its parent's UIDs.
    """

    _PAGE = 4096

    def __init__(self) -> None:
        self._pieces: Iterator[tuple[bytes]] = iter(())

    def take(self) -> bytes:
        try:
            return next(self._pieces)[0]
        except StopIteration:
            self._pieces = struct.iter_unpack("16s", os.urandom(self._PAGE))
            return next(self._pieces)[0]

    def forget(self) -> None:
        self._pieces = iter(())


_random_pool = _RandomPool()
os.register_at_fork(after_in_child=_random_pool.forget)


def random_uid() -> str:
    """``str(uuid.uuid4())``, formatted without building a ``UUID`` (once per create)."""
    raw = bytearray(_random_pool.take())
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    hexed = raw.hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def prepare_for_create(info: ResourceInfo, obj: Object, *, namespace: str, now: str,
                       uid_factory: Callable[[], str] = random_uid) -> None:
    check_type_meta(info, obj)
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    _resolve_name(info, meta)
    _resolve_namespace(info, meta, namespace)
    for key in ("resourceVersion", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"):
        meta.pop(key, None)
    meta["uid"] = uid_factory()
    meta["creationTimestamp"] = now
    if tracks_generation(info):
        meta["generation"] = 1
    else:
        meta.pop("generation", None)
    if has_status_subresource(info) and (info.group, info.kind) not in _STATUS_ON_CREATE:
        obj.pop("status", None)


def _resolve_name(info: ResourceInfo, meta: Object) -> None:
    if not meta.get("name"):
        prefix = meta.get("generateName")
        if not prefix:
            raise errors.invalid_object(info.kind, "", [errors.required(
                "metadata.name", "name or generateName is required")], info.group)
        meta["name"] = f"{prefix}{random_suffix()}"


def _resolve_namespace(info: ResourceInfo, meta: Object, namespace: str) -> None:
    if not info.namespaced:
        meta.pop("namespace", None)
        return
    given = meta.get("namespace")
    if given and namespace and given != namespace:
        raise errors.bad_request(
            "the namespace of the provided object does not match the namespace sent on the "
            "request")
    meta["namespace"] = namespace or given or "default"


def check_name_matches(obj: Object, name: str) -> None:
    given = (obj.get("metadata") or {}).get("name")
    if given and given != name:
        raise errors.bad_request(
            f"the name of the object ({given}) does not match the name on the URL ({name})")


def prepare_for_update(info: ResourceInfo, new: Object, old: Object, *, subresource: str) -> None:
    """Carry over what a client may not change; keep spec or status as the endpoint implies."""
    check_type_meta(info, new)
    meta = new.get("metadata")
    if not isinstance(meta, dict):
        meta = new["metadata"] = {}
    old_meta = old["metadata"]
    meta["name"] = old_meta["name"]
    if info.namespaced:
        meta["namespace"] = old_meta["namespace"]
    for key in _IMMUTABLE_META:
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    if subresource == "status":
        _keep_all_but_status(new, old)
    elif has_status_subresource(info) and subresource != "binding":
        _keep_status(new, old)
    _update_generation(info, new, old)


def _keep_status(new: Object, old: Object) -> None:
    if "status" in old:
        new["status"] = old["status"]
    else:
        new.pop("status", None)


def _keep_all_but_status(new: Object, old: Object) -> None:
    status = new.get("status")
    labels = new["metadata"].get("labels")
    annotations = new["metadata"].get("annotations")
    for key in list(new):
        if key not in ("metadata", "status", "apiVersion", "kind"):
            del new[key]
    for key, value in old.items():
        if key not in ("metadata", "status", "apiVersion", "kind"):
            new[key] = value
    new["metadata"] = dict(old["metadata"])
    _set_or_drop(new["metadata"], "labels", labels)
    _set_or_drop(new["metadata"], "annotations", annotations)
    _set_or_drop(new, "status", status)


def _set_or_drop(target: Object, key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


def spec_of(obj: Object) -> Object:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _update_generation(info: ResourceInfo, new: Object, old: Object) -> None:
    meta = new["metadata"]
    if not tracks_generation(info):
        meta.pop("generation", None)
        return
    generation = int(old["metadata"].get("generation") or 1)
    if spec_of(new) != spec_of(old):
        generation += 1
    meta["generation"] = generation
