"""API errors as values a client can read: every failure becomes a Kubernetes ``Status``.

The API server raises :class:`StatusError` anywhere below the HTTP layer; the HTTP layer
turns it into a JSON ``Status`` body with the matching code, once, at the boundary. The
constructors mirror kubernetes/apimachinery ``pkg/api/errors`` so that kubectl prints the
messages users know (``pods "x" not found``, ``The Pod "x" is invalid: …``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldError:
    """One cause of a 422 Invalid: ``reason`` is FieldValueRequired, FieldValueInvalid, …"""

    field: str
    reason: str
    message: str


def required(path: str, detail: str = "") -> FieldError:
    message = "Required value" + (f": {detail}" if detail else "")
    return FieldError(path, "FieldValueRequired", message)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    shown = _show_value(value)
    return FieldError(path, "FieldValueInvalid", f"Invalid value: {shown}: {detail}")


def not_supported(path: str, value: Any, allowed: list[str]) -> FieldError:
    choices = ", ".join(f'"{a}"' for a in allowed)
    return FieldError(
        path, "FieldValueNotSupported",
        f"Unsupported value: {_show_value(value)}: supported values: {choices}",
    )


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(path, "FieldValueDuplicate", f"Duplicate value: {_show_value(value)}")


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(path, "FieldValueForbidden", f"Forbidden: {detail}")


def too_long(path: str, limit: int) -> FieldError:
    return FieldError(path, "FieldValueTooLong", f"Too long: must have at most {limit} bytes")


def _show_value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class StatusError(Exception):
    """An expected failure with an HTTP code, a machine reason and a human message."""

    code: int
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _details(name: str, resource: str, group: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return details


def not_found(resource: str, name: str, group: str = "") -> StatusError:
    return StatusError(
        404, "NotFound", f'{_qualified(resource, group)} "{name}" not found',
        _details(name, resource, group),
    )


def already_exists(resource: str, name: str, group: str = "") -> StatusError:
    return StatusError(
        409, "AlreadyExists", f'{_qualified(resource, group)} "{name}" already exists',
        _details(name, resource, group),
    )


def conflict(resource: str, name: str, group: str = "", detail: str = "") -> StatusError:
    detail = detail or ("the object has been modified; please apply your changes to the "
                        "latest version and try again")
    return StatusError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {detail}',
        _details(name, resource, group),
    )


def invalid_object(kind: str, name: str, causes: list[FieldError], group: str = "") -> StatusError:
    """422 Invalid, formatted as kube-apiserver does (one cause inline, several in a list)."""
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "causes": [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes],
    }
    if group:
        details["group"] = group
    qualified = f"{kind}.{group}" if group else kind
    return StatusError(422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details)


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def gone(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def method_not_allowed(verb: str, resource: str) -> StatusError:
    return StatusError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
        {"kind": resource, "causes": [{"reason": "UnexpectedServerResponse", "message": verb}]},
    )


def unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(
        415, "UnsupportedMediaType", f'the body of the request was in an unknown format - '
        f'accepted media types include: application/json, application/yaml, '
        f'application/vnd.kubernetes.protobuf (got "{content_type}")',
    )


def not_acceptable(accept: str) -> StatusError:
    return StatusError(406, "NotAcceptable", f"only the following media types are accepted: "
                       f'application/json, application/yaml (got "{accept}")')


def request_entity_too_large(limit: int) -> StatusError:
    return StatusError(413, "RequestEntityTooLarge",
                       f"the request body is larger than the limit of {limit} bytes")


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


def forbidden_request(user: str, verb: str, resource: str, group: str,
                      namespace: str) -> StatusError:
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    return StatusError(
        403, "Forbidden",
        f'{resource} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
        f'in API group "{group}"{where}',
        {"kind": resource, "group": group} if group else {"kind": resource},
    )


def too_many_requests(message: str, retry_after: int = 1) -> StatusError:
    return StatusError(429, "TooManyRequests", message, {"retryAfterSeconds": retry_after},
                       {"Retry-After": str(retry_after)})


def internal_error(message: str) -> StatusError:
    return StatusError(500, "InternalError", f"Internal error occurred: {message}")


def timeout(message: str) -> StatusError:
    return StatusError(504, "Timeout", message)


def service_unavailable(message: str) -> StatusError:
    return StatusError(503, "ServiceUnavailable", message)
