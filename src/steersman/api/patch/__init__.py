"""The three PATCH body types kube-apiserver accepts, as pure functions on JSON dicts.

| Content-Type                              | function                          |
|-------------------------------------------|-----------------------------------|
| ``application/json-patch+json``           | :func:`apply_json_patch` (RFC 6902) |
| ``application/merge-patch+json``          | :func:`apply_merge_patch` (RFC 7386) |
| ``application/strategic-merge-patch+json``| :func:`apply_strategic_merge_patch` |

Each takes the stored object and the decoded patch body and returns a new object; neither
input is mutated. Failures raise :class:`PatchError`: :class:`MalformedPatch` (answer 400)
or :class:`PatchTestFailed` (answer 422); the API server translates them into a ``Status``.
Server-side apply is not here. Strategic merge patch reads field strategies from the
schema of the object's kind (:mod:`steersman.api.schema`).
"""

from steersman.api.patch.errors import MalformedPatch, PatchError, PatchTestFailed
from steersman.api.patch.json_patch import apply_json_patch
from steersman.api.patch.merge_patch import apply_merge_patch
from steersman.api.patch.strategic import apply_strategic_merge_patch

__all__ = [
    "MalformedPatch",
    "PatchError",
    "PatchTestFailed",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
]
