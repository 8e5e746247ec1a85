"""Cell formatting shared by the printers: field access, ages, labels, selectors, lists.

Each helper mirrors one of the Go helpers kube-apiserver's printers use, with the same
placeholders (``<none>``, ``<unknown>``, ``<unset>``), so a cell reads exactly as
``kubectl get`` against kube-apiserver shows it. Objects are JSON-shaped dicts; a missing
field reads as Go's zero value. Time is injected: ``now`` is epoch seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from steersman.api.meta import human_duration as human_duration

NONE = "<none>"
UNKNOWN = "<unknown>"
UNSET = "<unset>"

_SET_OPERATORS = {"In": "in", "NotIn": "notin"}


def dig(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]…``, or None as soon as a step is missing or not an object."""
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def items(obj: Any, *path: str) -> list[Any]:
    """The list at ``path``, or an empty one."""
    value = dig(obj, *path)
    return value if isinstance(value, list) else []


def mapping(obj: Any, *path: str) -> Mapping[str, Any]:
    """The object at ``path``, or an empty one."""
    value = dig(obj, *path)
    return value if isinstance(value, Mapping) else {}


def text(obj: Any, *path: str) -> str:
    value = dig(obj, *path)
    return value if isinstance(value, str) else ""


def number(obj: Any, *path: str, default: int = 0) -> int:
    value = dig(obj, *path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)


def name_of(obj: Mapping[str, Any]) -> str:
    return text(obj, "metadata", "name")


def parse_time(value: Any) -> float | None:
    """An RFC 3339 timestamp (``metav1.Time`` or ``MicroTime``) as epoch seconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def since(value: Any, now: float) -> str:
    """``translateTimestampSince``: the age of a timestamp, ``<unknown>`` when unset."""
    moment = parse_time(value)
    return UNKNOWN if moment is None else human_duration(now - moment)


def age(obj: Mapping[str, Any], now: float) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


def format_labels(labels: Any) -> str:
    """``labels.FormatLabels``: ``k=v`` sorted by key, comma-joined; ``<none>`` when empty."""
    if not isinstance(labels, Mapping) or not labels:
        return NONE
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def selector_string(selector: Any) -> str | None:
    """``LabelSelectorAsSelector(s).String()``; None when the selector is invalid."""
    if not isinstance(selector, Mapping):
        return ""
    labels = mapping(selector, "matchLabels")
    requirements = [(key, f"{key}={value}") for key, value in labels.items()]
    for expression in items(selector, "matchExpressions"):
        requirement = _requirement(expression)
        if requirement is None:
            return None
        requirements.append(requirement)
    requirements.sort(key=lambda pair: pair[0])
    return ",".join(rendered for _, rendered in requirements)


def _requirement(expression: Any) -> tuple[str, str] | None:
    key, operator = text(expression, "key"), text(expression, "operator")
    values = [str(v) for v in items(expression, "values")]
    if operator in _SET_OPERATORS and values:
        return key, f"{key} {_SET_OPERATORS[operator]} ({','.join(sorted(values))})"
    if operator == "Exists" and not values:
        return key, key
    if operator == "DoesNotExist" and not values:
        return key, f"!{key}"
    return None


def format_selector(selector: Any) -> str:
    """``metav1.FormatLabelSelector``: the selector string, ``<none>`` when it selects all."""
    rendered = selector_string(selector)
    if rendered is None:
        return "<error>"
    return rendered or NONE


def container_cells(pod_spec: Any) -> list[str]:
    """``layoutContainerCells``: container names and images, each comma-joined."""
    containers = items(pod_spec, "containers")
    return [
        ",".join(text(c, "name") for c in containers),
        ",".join(text(c, "image") for c in containers),
    ]


def quantity(value: Any) -> str:
    """A resource quantity as stored (the API server keeps it canonical); zero when unset."""
    if value is None:
        return "0"
    return str(value)


def with_more(shown: Sequence[str], total: int, *, limit: int = 3, sep: str = ",") -> str:
    """The first ``limit`` values, then `` + N more...`` when there are more."""
    joined = sep.join(shown[:limit])
    if total > limit:
        return f"{joined} + {total - limit} more..."
    return joined


def first_true_condition(conditions: Iterable[Any], kind: str) -> bool:
    """Whether the first condition of type ``kind`` has status ``True``."""
    for condition in conditions:
        if text(condition, "type") == kind:
            return text(condition, "status") == "True"
    return False
