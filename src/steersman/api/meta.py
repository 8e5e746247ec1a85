"""Metadata value helpers: timestamps, ages and the name rules of ``ObjectMeta``.

Timestamps follow kubernetes/apimachinery ``metav1.Time`` (RFC 3339, seconds, ``Z``) and
``metav1.MicroTime`` (six fractional digits, ``Z``). Inputs are lenient the way
``time.Parse(time.RFC3339, …)`` is: fractional seconds and numeric offsets are accepted,
the output is always canonical UTC. Nothing here reads the clock: callers pass the clock
value in, so tests drive time.

The name checks mirror ``pkg/util/validation``: each returns the list of problems with the
upstream wording (empty when valid), ready for a 422 ``Invalid`` cause or a 400 message.
:mod:`steersman.api.selectors` uses the label key and value checks.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS_PER_SECOND = 1_000_000
_NANOS_PER_SECOND = 1_000_000_000

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _from_clock(clock_seconds: float) -> datetime:
    # Round to the microsecond once, so the seconds and micro forms of one clock reading agree.
    micros = round(clock_seconds * _MICROS_PER_SECOND)
    return _EPOCH + timedelta(microseconds=micros)


def format_time(moment: datetime) -> str:
    """``metav1.Time`` form of an aware datetime: UTC, truncated to whole seconds."""
    utc = moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    return utc.isoformat() + "Z"


def format_micro_time(moment: datetime) -> str:
    """``metav1.MicroTime`` form of an aware datetime: UTC with six fractional digits."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def now_rfc3339(clock_seconds: float) -> str:
    """The ``metav1.Time`` string for a clock reading in seconds since the epoch."""
    return _second_rfc3339(round(clock_seconds * _MICROS_PER_SECOND) // _MICROS_PER_SECOND)


@functools.lru_cache(maxsize=8)
def _second_rfc3339(second: int) -> str:
    """Every write of one second stamps the same string: format it once."""
    return format_time(_EPOCH + timedelta(seconds=second))


def micro_time(clock_seconds: float) -> str:
    """The ``metav1.MicroTime`` string for a clock reading in seconds since the epoch."""
    return format_micro_time(_from_clock(clock_seconds))


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime; raise ``ValueError`` if invalid.

    Fractional seconds beyond microseconds are truncated, as Go's ``MicroTime`` would do.
    """
    found = _RFC3339.fullmatch(text)
    if found is None:
        raise ValueError(f'parsing time "{text}": not an RFC 3339 timestamp')
    year, month, day, hour, minute, second = (int(part) for part in found.groups()[:6])
    fraction, offset = found.group(7) or "", found.group(8)
    micros = int((fraction + "000000")[:6])
    try:
        moment = datetime(year, month, day, hour, minute, second, micros, tzinfo=UTC)
    except ValueError as err:
        raise ValueError(f'parsing time "{text}": {err}') from None
    return moment - _offset(offset, text)


def _offset(text: str, whole: str) -> timedelta:
    if text in ("Z", "z"):
        return timedelta(0)
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(f'parsing time "{whole}": time zone offset out of range')
    delta = timedelta(hours=hours, minutes=minutes)
    return -delta if text[0] == "-" else delta


def canonical_time(text: str) -> str:
    """Normalise a client-supplied ``metav1.Time`` to ``2006-01-02T15:04:05Z``."""
    return format_time(parse_time(text))


def canonical_micro_time(text: str) -> str:
    """Normalise a client-supplied ``metav1.MicroTime`` to ``2006-01-02T15:04:05.000000Z``."""
    return format_micro_time(parse_time(text))


def human_duration(seconds: float) -> str:
    """An age such as ``45s``, ``3m10s``, ``5h``, ``2d1h`` or ``3y``, as ``HumanDuration``.

    Negative ages down to -2s (clock skew between machines) read as ``0s``; older ones as
    ``<invalid>``. Rounding matches Go: every unit is truncated.
    """
    nanos = round(seconds * _NANOS_PER_SECOND)
    whole_seconds = int(nanos / _NANOS_PER_SECOND)
    if whole_seconds < -1:
        return "<invalid>"
    if whole_seconds < 0:
        return "0s"
    if whole_seconds < 120:
        return f"{whole_seconds}s"
    minutes = whole_seconds // 60
    if minutes < 10:
        return _two_units(minutes, "m", whole_seconds % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    return _human_hours(minutes)


def _human_hours(minutes: int) -> str:
    hours = minutes // 60
    days = hours // 24
    if hours < 8:
        return _two_units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _two_units(days, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        return _two_units(days // 365, "y", days % 365, "d")
    return f"{days // 365}y"


def _two_units(major: int, major_unit: str, minor: int, minor_unit: str) -> str:
    if minor == 0:
        return f"{major}{major_unit}"
    return f"{major}{major_unit}{minor}{minor_unit}"


# -- names ---------------------------------------------------------------------------------

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _LABEL_KEY_FMT + ")?"

_DNS1123_LABEL = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL = re.compile(_DNS1035_LABEL_FMT)
_LABEL_KEY = re.compile(_LABEL_KEY_FMT)
_LABEL_VALUE = re.compile(_LABEL_VALUE_FMT)

_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character"
)
_LABEL_KEY_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character"
)

DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
DNS1035_LABEL_MAX_LENGTH = 63
LABEL_VALUE_MAX_LENGTH = 63
_LABEL_KEY_NAME_MAX_LENGTH = 63


def regex_error(message: str, regex: str, *examples: str) -> str:
    """Upstream ``RegexError``: the rule, a few examples and the regex itself."""
    if not examples:
        return f"{message} (regex used for validation is '{regex}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{regex}')"


def max_len_error(length: int) -> str:
    """Upstream ``MaxLenError``."""
    return f"must be no more than {length} bytes"


def _too_long(value: str, limit: int) -> list[str]:
    return [max_len_error(limit)] if len(value.encode()) > limit else []


def is_dns1123_label(value: str) -> list[str]:
    """Problems with ``value`` as an RFC 1123 label (namespace, service, port names)."""
    errors = _too_long(value, DNS1123_LABEL_MAX_LENGTH)
    if _DNS1123_LABEL.fullmatch(value):
        return errors
    if _DNS1123_SUBDOMAIN.fullmatch(value):
        return [*errors, "must not contain dots"]
    detail = regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc")
    return [*errors, detail]


def is_dns1123_subdomain(value: str) -> list[str]:
    """Problems with ``value`` as an RFC 1123 subdomain (most object names)."""
    errors = _too_long(value, DNS1123_SUBDOMAIN_MAX_LENGTH)
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        errors.append(regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def is_dns1035_label(value: str) -> list[str]:
    """Problems with ``value`` as an RFC 1035 label (service names)."""
    errors = _too_long(value, DNS1035_LABEL_MAX_LENGTH)
    if not _DNS1035_LABEL.fullmatch(value):
        errors.append(regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errors


def is_qualified_name(value: str) -> list[str]:
    """Problems with ``value`` as a qualified name: a label or annotation key."""
    parts = value.split("/")
    if len(parts) > 2:
        detail = regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
        return [
            f"a valid label key {detail} with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')"
        ]
    errors = _prefix_errors(parts[0]) if len(parts) == 2 else []
    return errors + _key_name_errors(parts[-1])


def _prefix_errors(prefix: str) -> list[str]:
    if not prefix:
        return ["prefix part must be non-empty"]
    return ["prefix part " + message for message in is_dns1123_subdomain(prefix)]


def _key_name_errors(name: str) -> list[str]:
    errors: list[str] = []
    if not name:
        errors.append("name part must be non-empty")
    elif len(name.encode()) > _LABEL_KEY_NAME_MAX_LENGTH:
        errors.append("name part " + max_len_error(_LABEL_KEY_NAME_MAX_LENGTH))
    if not _LABEL_KEY.fullmatch(name):
        detail = regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
        errors.append("name part " + detail)
    return errors


def is_valid_label_value(value: str) -> list[str]:
    """Problems with ``value`` as a label value (empty is valid)."""
    errors = _too_long(value, LABEL_VALUE_MAX_LENGTH)
    if not _LABEL_VALUE.fullmatch(value):
        detail = regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
        errors.append(detail)
    return errors
