"""The client's failures: API answers become :class:`~steersman.api.errors.StatusError`.

Translation happens once, here: a non-2xx response (or a watch ERROR event) becomes the
``StatusError`` its ``Status`` body describes, with the HTTP code and a reason even when
the body is not a Status. A 410 becomes :class:`ResourceExpired` (still a ``StatusError``),
the signal to re-list. When the server cannot be reached after the retries,
:class:`ServerUnreachable` is raised instead.
"""

from __future__ import annotations

from typing import Any

import orjson

from steersman.api.errors import StatusError

_REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
    413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 422: "Invalid",
    429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
}


class ResourceExpired(StatusError):
    """410: the requested resourceVersion (or continue token) is older than the history."""


class ServerUnreachable(ConnectionError):
    """The API server could not be reached, or the connection broke, after the retries."""


def status_error(code: int, body: bytes) -> StatusError:
    """The error a response with HTTP ``code`` and ``body`` stands for."""
    status = _decode(body)
    if status is None:
        text = body.decode("utf-8", errors="replace").strip()
        return _error(code, _REASONS.get(code, "Unknown"), text or f"HTTP {code}", {})
    return from_status(status, code)


def from_status(status: dict[str, Any], code: int = 0) -> StatusError:
    """The error a ``Status`` object describes (``code`` overrides the body's when given)."""
    code = code or int(status.get("code") or 500)
    reason = str(status.get("reason") or _REASONS.get(code, "Unknown"))
    message = str(status.get("message") or f"HTTP {code}")
    details = status.get("details")
    return _error(code, reason, message, details if isinstance(details, dict) else {})


def _error(code: int, reason: str, message: str, details: dict[str, Any]) -> StatusError:
    kind = ResourceExpired if code == 410 else StatusError
    return kind(code, reason, message, details)


def _decode(body: bytes) -> dict[str, Any] | None:
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, dict) and decoded.get("kind") == "Status" else None
