"""Server-side apply and field ownership (structured-merge-diff and kube-apiserver's fieldmanager).

Pure functions over JSON-shaped objects, their types (:mod:`.typeinfo`) and field sets in
the ``fieldsV1`` form (:mod:`.fieldpath`): field sets of objects and comparisons
(:mod:`.walk`), merge and removal (:mod:`.merge`), the apply and update operations with
their conflicts (:mod:`.updater`), ``metadata.managedFields`` entries (:mod:`.managed`) and
the client-side-apply migration rules (:mod:`.lastapplied`). The API server wires them
into its write paths (``steersman.apiserver.fieldmanager``).
"""

from steersman.api.ssa.fieldpath import FieldSet, Path, path_string
from steersman.api.ssa.managed import (
    APPLY,
    UPDATE,
    EndpointFields,
    InvalidManagedFields,
    ManagedSet,
    ManagerKey,
    Managers,
    cap_update_managers,
    decode,
    encode,
)
from steersman.api.ssa.typeinfo import TypeNode, builtin_root, root
from steersman.api.ssa.updater import Applied, ApplyConflicts, Conflict, apply, update
from steersman.api.ssa.walk import Comparison, compare, field_set

__all__ = [
    "APPLY",
    "UPDATE",
    "Applied",
    "ApplyConflicts",
    "Comparison",
    "Conflict",
    "EndpointFields",
    "FieldSet",
    "InvalidManagedFields",
    "ManagedSet",
    "ManagerKey",
    "Managers",
    "Path",
    "TypeNode",
    "apply",
    "builtin_root",
    "cap_update_managers",
    "compare",
    "decode",
    "encode",
    "field_set",
    "path_string",
    "root",
    "update",
]
