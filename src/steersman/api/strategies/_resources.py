"""Container resource requirements: names, quantities, and requests against limits.

Messages follow kubernetes/kubernetes ``pkg/apis/core/validation/validation.go``
(``ValidateResourceRequirements``): a request above its limit is reported at
``…resources.requests`` as ``must be less than or equal to cpu limit of 500m``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from steersman.api.errors import FieldError, invalid
from steersman.api.strategies._fields import NEGATIVE, check, is_qualified_name
from steersman.api.strategies.quantities import QUANTITY_REGEX, parse_quantity

STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")
_BAD_QUANTITY = f"quantities must match the regular expression '{QUANTITY_REGEX}'"


def validate_resources(resources: dict[str, Any], path: str) -> list[FieldError]:
    limits, errs = validate_resource_list(resources.get("limits"), f"{path}.limits", True)
    requests, more = validate_resource_list(resources.get("requests"), f"{path}.requests", True)
    errs += more
    for name, request in requests.items():
        limit = limits.get(name)
        if limit is not None and request > limit:
            shown_request = _shown(resources["requests"][name])
            shown_limit = _shown(resources["limits"][name])
            errs.append(invalid(f"{path}.requests", shown_request,
                                f"must be less than or equal to {name} limit of {shown_limit}"))
    return errs


def validate_resource_list(
    resource_list: Any, path: str, container: bool = False,
) -> tuple[dict[str, Fraction], list[FieldError]]:
    """Parse a ResourceList; returns the parsed values and the problems found."""
    if not isinstance(resource_list, dict):
        return {}, []
    parsed: dict[str, Fraction] = {}
    errs: list[FieldError] = []
    for name, raw in resource_list.items():
        at = f"{path}[{name}]"
        errs += _validate_resource_name(str(name), at, container)
        value = parse_quantity(raw)
        if value is None:
            errs.append(invalid(at, _shown(raw), _BAD_QUANTITY))
        elif value < 0:
            errs.append(invalid(at, _shown(raw), NEGATIVE))
        else:
            parsed[str(name)] = value
    return parsed, errs


def _validate_resource_name(name: str, path: str, container: bool) -> list[FieldError]:
    errs = check(path, name, is_qualified_name)
    if errs or not container or "/" in name:
        return errs
    if name in STANDARD_CONTAINER_RESOURCES or name.startswith("hugepages-"):
        return []
    return [invalid(path, name, "must be a standard resource for containers")]


def _shown(raw: Any) -> str:
    return raw if isinstance(raw, str) else str(raw)
