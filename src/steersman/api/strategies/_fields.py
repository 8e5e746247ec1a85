"""Format checks and field-error helpers shared by every strategy module.

The messages are kube-apiserver's (kubernetes/apimachinery ``pkg/util/validation``), so a
user reading ``kubectl`` output sees the sentences they know. Each ``is_*`` function returns
the list of problems with a value, empty when it is fine; ``check`` turns them into
:class:`~steersman.api.errors.FieldError` values at a path. Values are rendered the way Go's
``field.Invalid`` prints them (``map[string]string{"app":"web"}``) by :func:`go_value`.

Private to :mod:`steersman.api.strategies`; :mod:`steersman.api.meta` is the project-wide home
of name validators and the lead may fold these into it.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from steersman.api.errors import FieldError, invalid, not_supported, required
from steersman.api.exactjson import Remembered, json_key

Check = Callable[[str], list[str]]
Validator = Callable[[Any, str], list[FieldError]]

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + r"(\." + _LABEL_FMT + ")*"
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"

_LABEL_RE = re.compile(f"^{_LABEL_FMT}$")
_SUBDOMAIN_RE = re.compile(f"^{_SUBDOMAIN_FMT}$")
_DNS1035_RE = re.compile(f"^{_DNS1035_FMT}$")
_QNAME_RE = re.compile(f"^{_QNAME_FMT}$")
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_CONFIG_KEY_RE = re.compile(f"^{_CONFIG_KEY_FMT}$")
_PORT_NAME_RE = re.compile("^[-a-z0-9]+$")

_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
              "with an alphanumeric character")

FIELD_IMMUTABLE = "field is immutable"
NEGATIVE = "must be greater than or equal to 0"
TOTAL_ANNOTATION_SIZE = 256 * 1024
_REMEMBERED_ANSWERS = 4096
_REMEMBERED_JSON = 512


def _remembered(check: Check) -> Check:
    """``check`` with its answers remembered: they depend on the string alone, and every
    write of a kind checks the same label keys, values and names again."""

    @functools.lru_cache(maxsize=_REMEMBERED_ANSWERS)
    def answer(value: str) -> tuple[str, ...]:
        return tuple(check(value))

    @functools.wraps(check)
    def remembered(value: str) -> list[str]:
        return list(answer(value)) if type(value) is str else check(value)

    return remembered


def remembered_by_json(validate: Validator) -> Validator:
    """``validate(value, path)`` with its problems remembered by path and the value's exact
    JSON: the objects of one template repeat their labels, annotations and pod spec."""
    table: Remembered[tuple[str, bytes], tuple[FieldError, ...]] = Remembered(_REMEMBERED_JSON)

    @functools.wraps(validate)
    def remembered(value: Any, path: str) -> list[FieldError]:
        key = json_key(value)
        if key is None:
            return validate(value, path)
        found = table.get((path, key))
        if found is None:
            found = table.put((path, key), tuple(validate(value, path)))
        return list(found)

    return remembered


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


@_remembered
def is_dns1123_label(value: str) -> list[str]:
    errs = [max_len_error(63)] if len(value) > 63 else []
    if not _LABEL_RE.match(value):
        if _SUBDOMAIN_RE.match(value):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                "or '-', and must start and end with an alphanumeric character",
                _LABEL_FMT, "my-name", "123-abc"))
    return errs


@_remembered
def is_dns1123_subdomain(value: str) -> list[str]:
    errs = [max_len_error(253)] if len(value) > 253 else []
    if not _SUBDOMAIN_RE.match(value):
        errs.append(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character",
            _SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs = [max_len_error(63)] if len(value) > 63 else []
    if not _DNS1035_RE.match(value):
        errs.append(regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
            "with an alphabetic character, and end with an alphanumeric character",
            _DNS1035_FMT, "my-name", "abc-123"))
    return errs


def is_path_segment_name(value: str) -> list[str]:
    """RBAC object names: anything that is safe as one URL path segment."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in value]


@_remembered
def is_qualified_name(value: str) -> list[str]:
    parts = value.split("/")
    if len(parts) > 2:
        return ["a qualified name " + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name",
                                                  "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    errs: list[str] = []
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(parts[0]))
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _QNAME_RE.match(name):
        errs.append("name part " + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name",
                                               "123-abc"))
    return errs


@_remembered
def is_label_value(value: str) -> list[str]:
    errs = [max_len_error(63)] if len(value) > 63 else []
    if not _LABEL_VALUE_RE.match(value):
        errs.append(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', "
            "'_' or '.', and must start and end with an alphanumeric character",
            _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_config_key(value: str) -> list[str]:
    errs = [max_len_error(253)] if len(value) > 253 else []
    if not _CONFIG_KEY_RE.match(value):
        errs.append(regex_error("a valid config key must consist of alphanumeric characters, "
                                "'-', '_' or '.'", _CONFIG_KEY_FMT,
                                "key.name", "KEY_NAME", "key-name"))
    if value in (".", ".."):
        errs.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def is_port_name(value: str) -> list[str]:
    errs = [max_len_error(15)] if len(value) > 15 else []
    if not _PORT_NAME_RE.match(value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_port_number(value: Any) -> list[str]:
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
    return [] if ok else [range_error(1, 65535)]


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value


def check(path: str, value: Any, fn: Check) -> list[FieldError]:
    """Run a format check on a string value and report each problem at ``path``."""
    if not isinstance(value, str):
        return [invalid(path, value, "must be a string")]
    return [invalid(path, value, msg) for msg in fn(value)]


def check_port_num_or_name(path: str, value: Any) -> list[FieldError]:
    if isinstance(value, str):
        if not value:
            return [required(path)]
        return [invalid(path, value, m) for m in is_port_name(value)]
    return [invalid(path, value, m) for m in is_port_number(value)]


def go_value(value: Any) -> str:
    """Render a value as Go's ``%#v`` does for the plain JSON shapes of API objects."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _go_quote(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        if all(isinstance(v, str) for v in value.values()):
            items = ", ".join(f"{_go_quote(k)}:{_go_quote(v)}" for k, v in sorted(value.items()))
            return f"map[string]string{{{items}}}"
        items = ", ".join(f"{_go_quote(k)}:{go_value(v)}" for k, v in sorted(value.items()))
        return f"map[string]interface {{}}{{{items}}}"
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return "[]string{" + ", ".join(_go_quote(v) for v in value) + "}"
        return "[]interface {}{" + ", ".join(go_value(v) for v in value) + "}"
    return repr(value)


def go_label_selector(selector: Any) -> str:
    """A ``metav1.LabelSelector`` as ``field.Invalid`` prints it (e.g. immutable selectors)."""
    sel = selector if isinstance(selector, Mapping) else {}
    labels = sel.get("matchLabels")
    shown_labels = go_value(labels) if labels else "map[string]string(nil)"
    exprs = sel.get("matchExpressions") or []
    if not exprs:
        shown_exprs = "[]v1.LabelSelectorRequirement(nil)"
    else:
        shown_exprs = "[]v1.LabelSelectorRequirement{" + ", ".join(
            f"v1.LabelSelectorRequirement{{Key:{go_value(e.get('key', ''))}, "
            f"Operator:{go_value(e.get('operator', ''))}, "
            f"Values:{go_value(e['values']) if e.get('values') else '[]string(nil)'}}}"
            for e in exprs if isinstance(e, Mapping)) + "}"
    return f"v1.LabelSelector{{MatchLabels:{shown_labels}, MatchExpressions:{shown_exprs}}}"


def _go_quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def invalid_shown(path: str, shown: str, detail: str) -> FieldError:
    """``Invalid value`` with a value already rendered (Go structs, maps, slices)."""
    return FieldError(path, "FieldValueInvalid", f"Invalid value: {shown}: {detail}")


def not_found(path: str, value: str) -> FieldError:
    return FieldError(path, "FieldValueNotFound", f'Not found: "{value}"')


def nonnegative(path: str, value: Any) -> list[FieldError]:
    if value is None:
        return []
    if not _is_int(value):
        return [invalid(path, value, "must be an integer")]
    return [invalid(path, value, NEGATIVE)] if value < 0 else []


def positive(path: str, value: Any, detail: str = "must be greater than 0") -> list[FieldError]:
    if value is None:
        return []
    if not _is_int(value) or value <= 0:
        return [invalid(path, value, detail)]
    return []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def immutable(path: str, new: Any, old: Any, shown: str | None = None) -> list[FieldError]:
    if new == old:
        return []
    return [invalid_shown(path, shown if shown is not None else go_value(new), FIELD_IMMUTABLE)]


def one_of(
    path: str, value: Any, allowed: list[str], *, required_: bool = True,
) -> list[FieldError]:
    """``Required`` when empty (if ``required_``), ``Unsupported value`` when not allowed."""
    if value in (None, ""):
        return [required(path)] if required_ else []
    return [] if value in allowed else [not_supported(path, value, allowed)]
