"""Resource quantities inside objects: where they live, and turning them into strings.

kube-apiserver decodes every quantity into a ``resource.Quantity`` and encodes it back in its
canonical form, so a manifest's ``cpu: 1`` reads back as ``"1"``, ``cpu: 0.5`` as ``"500m"``
and ``memory: 1073741824`` as ``"1073741824"`` (a bare number keeps the decimal-SI format;
only a value with a binary suffix such as ``"1024Mi"`` becomes ``"1Gi"``). Strict clients
(the Python ``kubernetes`` client) reject a JSON number where a quantity belongs.

Every strategy's ``default`` calls :func:`canonicalize_quantities` with
:func:`number_quantity`, which writes each well-formed quantity in its canonical form
(:func:`steersman.api.quantity.canonical_quantity`) and leaves malformed ones for
validation to reject. :func:`parse_quantity` gives validation a comparable value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

from steersman.api import quantity

Canonical = Callable[[Any], str]

QUANTITY_REGEX = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"

_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    **{kind: ("spec", "template", "spec") for kind in (
        "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ReplicationController", "Job")},
}
_RESOURCE_LISTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Node": (("status", "capacity"), ("status", "allocatable")),
    "PersistentVolume": (("spec", "capacity"),),
    "PersistentVolumeClaim": (("spec", "resources", "requests"), ("spec", "resources", "limits"),
                              ("status", "capacity"), ("status", "allocatedResources")),
    "ResourceQuota": (("spec", "hard"), ("status", "hard"), ("status", "used")),
}
_LIMIT_RANGE_KEYS = ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")


def parse_quantity(value: Any) -> Fraction | None:
    """The exact value of a quantity (string or JSON number); ``None`` when malformed."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return quantity.parse_quantity(value)
    except quantity.QuantityError:
        return None


def number_quantity(value: Any) -> Any:
    """The canonical string of a quantity; malformed values are returned unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return value
    try:
        return quantity.canonical_quantity(value)
    except quantity.QuantityError:
        return value


def canonicalize_quantities(obj: dict[str, Any], canonical: Canonical) -> None:
    """Replace every quantity in ``obj`` (dispatching on ``obj["kind"]``) by ``canonical(v)``."""
    for holder, key in quantity_fields(obj):
        holder[key] = canonical(holder[key])


def quantity_fields(obj: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """Each ``(dict, key)`` whose value is a quantity, for the kinds that carry quantities."""
    kind = obj.get("kind", "")
    path = _POD_SPEC_PATHS.get(kind)
    if path is not None:
        yield from pod_spec_quantities(_dig(obj, path))
    for list_path in _RESOURCE_LISTS.get(kind, ()):
        yield from _entries(_dig(obj, list_path))
    if kind == "LimitRange":
        for item in _list(_dig(obj, ("spec",)).get("limits")):
            for key in _LIMIT_RANGE_KEYS:
                yield from _entries(_dict(item.get(key)))
    if kind == "StatefulSet":
        for claim in _list(_dig(obj, ("spec",)).get("volumeClaimTemplates")):
            resources = _dig(claim, ("spec", "resources"))
            yield from _entries(_dict(resources.get("requests")))
            yield from _entries(_dict(resources.get("limits")))


def pod_spec_quantities(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for container in _list(spec.get(group)):
            resources = _dict(container.get("resources"))
            yield from _entries(_dict(resources.get("limits")))
            yield from _entries(_dict(resources.get("requests")))
    yield from _entries(_dict(spec.get("overhead")))
    for volume in _list(spec.get("volumes")):
        empty_dir = _dict(volume.get("emptyDir"))
        if empty_dir.get("sizeLimit") is not None:
            yield empty_dir, "sizeLimit"


def _entries(resource_list: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    for key in list(resource_list):
        if resource_list[key] is not None:
            yield resource_list, key


def _dig(obj: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    current: Any = obj
    for key in path:
        current = current.get(key) if isinstance(current, dict) else None
    return current if isinstance(current, dict) else {}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
