"""The ``pod-template-hash``: which ReplicaSet belongs to which pod template.

kubernetes ``controller.ComputeHash``: FNV-32a over the pod template, then the collision
count (when set) as eight little-endian bytes, and the decimal digest encoded with
``rand.SafeEncodeString``'s alphabet (no vowels, no look-alike digits), so names read like
``web-7c5ddbdf54``. Upstream hashes Go's ``%#v`` dump of the struct; we hash the template's
canonical JSON (sorted keys), which is as stable and changes exactly when the template does.

:func:`equal_ignore_hash` is ``EqualIgnoreHash``: two templates are the same if they differ
only in the hash label — how a rollback finds the ReplicaSet of an earlier template.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

Object = dict[str, Any]
POD_TEMPLATE_HASH_LABEL = "pod-template-hash"
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def fnv32a(data: bytes, state: int = _FNV32_OFFSET) -> int:
    for byte in data:
        state = ((state ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return state


def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: each byte picks a letter of :data:`SAFE_ALPHABET`."""
    return "".join(SAFE_ALPHABET[byte % len(SAFE_ALPHABET)] for byte in text.encode())


def compute_hash(template: Object, collision_count: int | None = None) -> str:
    digest = fnv32a(orjson.dumps(template, option=orjson.OPT_SORT_KEYS))
    if collision_count is not None:
        digest = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(8, "little"), digest)
    return safe_encode(str(digest))


def _without_hash(template: Object | None) -> Object:
    normalized = copy.deepcopy(template or {})
    meta = normalized.get("metadata")
    if not isinstance(meta, dict):
        normalized["metadata"] = meta = {}
    labels = dict(meta.get("labels") or {})
    labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    meta["labels"] = labels
    for key in [k for k, v in meta.items() if v is None or v == {}]:
        del meta[key]
    return normalized


def equal_ignore_hash(left: Object | None, right: Object | None) -> bool:
    """Whether two pod templates are equal apart from the ``pod-template-hash`` label."""
    return _without_hash(left) == _without_hash(right)
