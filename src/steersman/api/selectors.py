"""Label and field selectors, as kubernetes/apimachinery parses and matches them.

* :func:`parse_label_selector` reads the ``labelSelector`` query grammar of
  ``pkg/labels/selector.go`` (``app in (web,api),!canary,tier=db``) into a
  :class:`LabelSelector`; :func:`selector_from_label_selector_spec` reads the object form
  (``matchLabels``/``matchExpressions``) as ``LabelSelectorAsSelector`` does.
* :func:`parse_field_selector` reads the ``fieldSelector`` grammar of
  ``pkg/fields/selector.go``; :func:`field_value` extracts the value a field names.

Both are frozen values whose ``str()`` is upstream's canonical form. Malformed input raises
:class:`SelectorError` with upstream's message; the API server turns it into a 400. Which
fields a resource supports is the caller's business (:attr:`FieldSelector.fields`).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from steersman.api.meta import is_qualified_name, is_valid_label_value


class SelectorError(ValueError):
    """A selector that does not parse or validate; the message is upstream's."""


class Operator(enum.StrEnum):
    """``selection.Operator`` values, spelled as upstream spells them."""

    IN = "in"
    NOT_IN = "notin"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    GREATER_THAN = "gt"
    LESS_THAN = "lt"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"


_BINARY_OPERATORS = ", ".join(
    op.value for op in (Operator.IN, Operator.NOT_IN, Operator.EQUALS, Operator.DOUBLE_EQUALS,
                        Operator.NOT_EQUALS, Operator.GREATER_THAN, Operator.LESS_THAN)
)
_INFIX = {Operator.EQUALS: "=", Operator.DOUBLE_EQUALS: "==", Operator.NOT_EQUALS: "!=",
          Operator.IN: " in ", Operator.NOT_IN: " notin ", Operator.GREATER_THAN: ">",
          Operator.LESS_THAN: "<"}
_INT64 = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _parse_int64(text: str) -> int | None:
    if not _INT64.fullmatch(text):
        return None
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``key <operator> values`` term; build it with :func:`new_requirement`."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator in (Operator.IN, Operator.EQUALS, Operator.DOUBLE_EQUALS):
            return present and labels[self.key] in self.values
        if self.operator in (Operator.NOT_IN, Operator.NOT_EQUALS):
            return not present or labels[self.key] not in self.values
        if self.operator is Operator.EXISTS:
            return present
        if self.operator is Operator.DOES_NOT_EXIST:
            return not present
        return present and self._compares(labels[self.key])

    def _compares(self, label: str) -> bool:
        have, want = _parse_int64(label), _parse_int64(self.values[0])
        if have is None or want is None:
            return False
        return have > want if self.operator is Operator.GREATER_THAN else have < want

    def __str__(self) -> str:
        if self.operator is Operator.EXISTS:
            return self.key
        if self.operator is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        joined = ",".join(self.values)
        if self.operator in (Operator.IN, Operator.NOT_IN):
            joined = f"({joined})"
        return f"{self.key}{_INFIX[self.operator]}{joined}"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """An AND of requirements sorted by key; ``selects_nothing`` is upstream's ``Nothing()``."""

    requirements: tuple[Requirement, ...] = ()
    selects_nothing: bool = False

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls()

    @classmethod
    def nothing(cls) -> LabelSelector:
        return cls(selects_nothing=True)

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (``Nothing()`` is not empty)."""
        return not self.requirements and not self.selects_nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.selects_nothing:
            return False
        present = labels or {}
        return all(requirement.matches(present) for requirement in self.requirements)

    def requires_exact_match(self, key: str) -> str | None:
        """The one value ``key`` must have for a match, if the selector pins it."""
        for requirement in self.requirements:
            if requirement.key == key:
                exact = requirement.operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS,
                                                 Operator.IN)
                return requirement.values[0] if exact and len(requirement.values) == 1 else None
        return None

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


def _selector(requirements: Iterable[Requirement]) -> LabelSelector:
    return LabelSelector(tuple(sorted(requirements, key=lambda requirement: requirement.key)))


# -- validation (NewRequirement) -----------------------------------------------------------


def _go_quote(text: str) -> str:
    """Go's ``%q``: escape quotes, backslashes and unprintable characters."""
    named = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    out = []
    for char in text:
        if char in named:
            out.append(named[char])
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


def _invalid(path: str, value: str | list[str] | None, detail: str) -> str:
    shown = _go_quote(value) if isinstance(value, str) else json.dumps(
        value, separators=(",", ":"), ensure_ascii=False
    )
    return f"{path}: Invalid value: {shown}: {detail}"


def _aggregate(messages: list[str]) -> str:
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _key_error(key: str, path: str) -> str | None:
    problems = is_qualified_name(key)
    return _invalid(path, key, "; ".join(problems)) if problems else None


def _arity_errors(operator: Operator, values: list[str] | None) -> list[str]:
    """Wrong number of values; ``None`` prints as Go prints a nil slice (``null``)."""
    count = len(values or [])
    if operator in (Operator.IN, Operator.NOT_IN) and count == 0:
        detail = "for 'in', 'notin' operators, values set can't be empty"
        return [_invalid("values", values, detail)]
    if operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS) and count != 1:
        return [_invalid("values", values, "exact-match compatibility requires one single value")]
    if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and count != 0:
        return [_invalid("values", values,
                         "values set must be empty for exists and does not exist")]
    if operator in (Operator.GREATER_THAN, Operator.LESS_THAN):
        return _integer_errors(values or [])
    return []


def _integer_errors(values: list[str]) -> list[str]:
    errors = []
    if len(values) != 1:
        errors.append(_invalid("values", values,
                               "for 'Gt', 'Lt' operators, exactly one value is required"))
    for index, value in enumerate(values):
        if _parse_int64(value) is None:
            errors.append(_invalid(f"values[{index}]", value,
                                   "for 'Gt', 'Lt' operators, the value must be an integer"))
    return errors


def new_requirement(key: str, operator: Operator, values: list[str] | None) -> Requirement:
    """Validate and build a requirement, as upstream ``NewRequirement``."""
    errors = [error for error in [_key_error(key, "key")] if error]
    errors += _arity_errors(operator, values)
    for index, value in enumerate(values or []):
        problems = is_valid_label_value(value)
        if problems:
            errors.append(_invalid(f"values[{index}][{key}]", value, "; ".join(problems)))
    if errors:
        raise SelectorError(_aggregate(errors))
    stored = sorted(set(values or [])) if operator in (Operator.IN, Operator.NOT_IN) else values
    return Requirement(key, operator, tuple(stored or ()))


# -- the string grammar --------------------------------------------------------------------


class _Token(enum.Enum):
    END = enum.auto()
    CLOSE = enum.auto()
    COMMA = enum.auto()
    NOT = enum.auto()
    DOUBLE_EQUALS = enum.auto()
    EQUALS = enum.auto()
    GREATER = enum.auto()
    IDENTIFIER = enum.auto()
    IN = enum.auto()
    LESS = enum.auto()
    NOT_EQUALS = enum.auto()
    NOT_IN = enum.auto()
    OPEN = enum.auto()


_SYMBOLS = {")": _Token.CLOSE, ",": _Token.COMMA, "!": _Token.NOT, "==": _Token.DOUBLE_EQUALS,
            "=": _Token.EQUALS, ">": _Token.GREATER, "<": _Token.LESS, "!=": _Token.NOT_EQUALS,
            "(": _Token.OPEN}
_KEYWORDS = {"in": _Token.IN, "notin": _Token.NOT_IN}
_TOKEN_OPERATORS = {_Token.IN: Operator.IN, _Token.EQUALS: Operator.EQUALS,
                    _Token.DOUBLE_EQUALS: Operator.DOUBLE_EQUALS,
                    _Token.GREATER: Operator.GREATER_THAN, _Token.LESS: Operator.LESS_THAN,
                    _Token.NOT_IN: Operator.NOT_IN, _Token.NOT_EQUALS: Operator.NOT_EQUALS}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")


def _lex(text: str) -> list[tuple[_Token, str]]:
    items: list[tuple[_Token, str]] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        if pos == len(text):
            return [*items, (_Token.END, "")]
        end = pos
        if text[pos] in _SPECIAL:
            # Longest run of symbols that is still a token: "!=" and "==" but "=(" is "=".
            while end < len(text) and text[pos:end + 1] in _SYMBOLS:
                end += 1
            items.append((_SYMBOLS[text[pos:end]], text[pos:end]))
        else:
            while end < len(text) and text[end] not in _SPECIAL | _WHITESPACE:
                end += 1
            word = text[pos:end]
            items.append((_KEYWORDS.get(word, _Token.IDENTIFIER), word))
        pos = end


class _Parser:
    """Recursive descent over the tokens, with upstream's error messages."""

    def __init__(self, text: str) -> None:
        self._items = _lex(text)
        self._position = 0

    def _peek(self, values: bool = True) -> tuple[_Token, str]:
        return self._as(self._items[self._position], values)

    def _take(self, values: bool = True) -> tuple[_Token, str]:
        self._position += 1
        return self._as(self._items[self._position - 1], values)

    @staticmethod
    def _as(item: tuple[_Token, str], values: bool) -> tuple[_Token, str]:
        # "in" and "notin" are plain identifiers wherever a key or value may stand.
        if values and item[0] in (_Token.IN, _Token.NOT_IN):
            return _Token.IDENTIFIER, item[1]
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            token, literal = self._peek()
            if token is _Token.END:
                return requirements
            if token not in (_Token.IDENTIFIER, _Token.NOT):
                raise SelectorError(
                    f"found '{literal}', expected: !, identifier, or 'end of string'"
                )
            try:
                requirements.append(self._requirement())
            except SelectorError as err:
                raise SelectorError(f"unable to parse requirement: {err}") from None
            self._after_requirement()

    def _after_requirement(self) -> None:
        token, literal = self._take()
        if token is _Token.END:
            self._position -= 1
        elif token is _Token.COMMA:
            following, text = self._peek()
            if following not in (_Token.IDENTIFIER, _Token.NOT):
                raise SelectorError(f"found '{text}', expected: identifier after ','")
        else:
            raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")

    def _requirement(self) -> Requirement:
        key, operator = self._key_and_inferred_operator()
        if operator is not None:
            return new_requirement(key, operator, [])
        operator = self._operator()
        if operator in (Operator.IN, Operator.NOT_IN):
            return new_requirement(key, operator, sorted(set(self._value_set())))
        return new_requirement(key, operator, [self._exact_value()])

    def _key_and_inferred_operator(self) -> tuple[str, Operator | None]:
        token, literal = self._take()
        negated = token is _Token.NOT
        if negated:
            token, literal = self._take()
        if token is not _Token.IDENTIFIER:
            raise SelectorError(f"found '{literal}', expected: identifier")
        error = _key_error(literal, "<nil>")
        if error:
            raise SelectorError(error)
        if negated:
            return literal, Operator.DOES_NOT_EXIST
        bare = self._peek()[0] in (_Token.END, _Token.COMMA)
        return literal, Operator.EXISTS if bare else None

    def _operator(self) -> Operator:
        token, literal = self._take(values=False)
        if token not in _TOKEN_OPERATORS:
            raise SelectorError(f"found '{literal}', expected: {_BINARY_OPERATORS}")
        return _TOKEN_OPERATORS[token]

    def _value_set(self) -> list[str]:
        token, literal = self._take()
        if token is not _Token.OPEN:
            raise SelectorError(f"found '{literal}' expected: '('")
        token, literal = self._peek()
        if token is _Token.CLOSE:
            self._take()
            return [""]
        if token not in (_Token.IDENTIFIER, _Token.COMMA):
            raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self._identifiers()
        if self._take()[0] is not _Token.CLOSE:
            raise SelectorError(f"found '{literal}', expected: ')'")
        return values

    def _identifiers(self) -> list[str]:
        """A comma-separated list in which empty entries are the empty value."""
        values: list[str] = []
        while True:
            token, literal = self._take()
            if token is _Token.IDENTIFIER:
                values.append(literal)
                following, text = self._peek()
                if following is _Token.CLOSE:
                    return values
                if following is not _Token.COMMA:
                    raise SelectorError(f"found '{text}', expected: ',' or ')'")
            elif token is _Token.COMMA:
                following = self._peek()[0]
                if not values or following in (_Token.CLOSE, _Token.COMMA):
                    values.append("")
                if following is _Token.CLOSE:
                    return values
            else:
                raise SelectorError(f"found '{literal}', expected: ',', or identifier")

    def _exact_value(self) -> str:
        if self._peek()[0] in (_Token.END, _Token.COMMA):
            return ""
        token, literal = self._take()
        if token is not _Token.IDENTIFIER:
            raise SelectorError(f"found '{literal}', expected: identifier")
        return literal


def parse_label_selector(text: str) -> LabelSelector:
    """Parse a ``labelSelector`` string; the empty string selects everything."""
    return _selector(_Parser(text).parse())


# -- the object form (metav1.LabelSelector) ------------------------------------------------

_SPEC_OPERATORS = {"In": Operator.IN, "NotIn": Operator.NOT_IN, "Exists": Operator.EXISTS,
                   "DoesNotExist": Operator.DOES_NOT_EXIST}


def selector_from_label_selector_spec(spec: Mapping[str, Any] | None) -> LabelSelector:
    """``LabelSelectorAsSelector``: ``None`` selects nothing, ``{}`` selects everything."""
    if spec is None:
        return LabelSelector.nothing()
    match_labels = spec.get("matchLabels") or {}
    expressions = spec.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping) or not isinstance(expressions, list):
        raise SelectorError("matchLabels must be an object and matchExpressions a list")
    requirements = [new_requirement(key, Operator.EQUALS, [_text(value)])
                    for key, value in sorted(match_labels.items())]
    requirements += [_expression(expression) for expression in expressions]
    return _selector(requirements)


def _expression(expression: Any) -> Requirement:
    if not isinstance(expression, Mapping):
        raise SelectorError("matchExpressions entries must be objects")
    name = expression.get("operator")
    operator = _SPEC_OPERATORS.get(name) if isinstance(name, str) else None
    if operator is None:
        raise SelectorError(f"{_go_quote(str(name or ''))} is not a valid label selector operator")
    values = expression.get("values")
    if values is not None and not isinstance(values, list):
        raise SelectorError("matchExpressions values must be a list of strings")
    texts = [_text(value) for value in values] if values else None
    return new_requirement(_text(expression.get("key")), operator, texts)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise SelectorError(f"label selector keys and values must be strings, got {value!r}")
    return value


def format_label_selector_spec(spec: Mapping[str, Any] | None) -> str:
    """``FormatLabelSelector``, as printers show it: ``app=web``, ``<none>`` or ``<error>``.

    For ``scale.status.selector`` use ``str(selector_from_label_selector_spec(spec))``, which
    is the empty string, not ``<none>``, for an empty selector.
    """
    try:
        text = str(selector_from_label_selector_spec(spec))
    except SelectorError:
        return "<error>"
    return text or "<none>"


# -- field selectors -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldTerm:
    """``field=value`` (``==`` reads the same) or, when ``negated``, ``field!=value``."""

    field: str
    value: str
    negated: bool = False

    def matches(self, values: Mapping[str, str]) -> bool:
        return (values.get(self.field, "") == self.value) != self.negated

    def __str__(self) -> str:
        return f"{self.field}{'!=' if self.negated else '='}{escape_field_value(self.value)}"


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """An AND of field terms, in upstream's (sorted source text) order."""

    terms: tuple[FieldTerm, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def fields(self) -> frozenset[str]:
        """The field names used, so the caller can reject unsupported ones."""
        return frozenset(term.field for term in self.terms)

    def matches(self, values: Mapping[str, str]) -> bool:
        return all(term.matches(values) for term in self.terms)

    def requires_exact_match(self, field: str) -> str | None:
        for term in self.terms:
            if term.field == field and not term.negated:
                return term.value
        return None

    def __str__(self) -> str:
        return ",".join(str(term) for term in self.terms)


def escape_field_value(value: str) -> str:
    """Escape ``\\``, ``,`` and ``=`` so a value survives the field selector grammar."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _unescape_field_value(text: str) -> str:
    out, pending_slash = [], False
    for char in text:
        if pending_slash:
            if char not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            pending_slash = False
        elif char == "\\":
            pending_slash = True
        elif char in ",=":
            # Go prints the rune with %v, i.e. as its number.
            raise SelectorError(
                f"invalid field selector: unescaped character in value: {ord(char)}"
            )
        else:
            out.append(char)
    if pending_slash:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    terms, start, pending_slash = [], 0, False
    for index, char in enumerate(text):
        if pending_slash:
            pending_slash = False
        elif char == "\\":
            pending_slash = True
        elif char == ",":
            terms.append(text[start:index])
            start = index + 1
    return [*terms, text[start:]] if text else []


def _field_term(selector: str, part: str) -> FieldTerm:
    for index in range(len(part)):
        for operator in ("!=", "==", "="):
            if part.startswith(operator, index):
                value = _unescape_field_value(part[index + len(operator):])
                return FieldTerm(part[:index], value, negated=operator == "!=")
    raise SelectorError(f"invalid selector: '{selector}'; can't understand '{part}'")


def parse_field_selector(text: str) -> FieldSelector:
    """Parse a ``fieldSelector`` string; the empty string selects everything."""
    parts = sorted(_split_terms(text))
    return FieldSelector(tuple(_field_term(text, part) for part in parts if part))


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The selector text of the field at a dotted ``path``: ``""`` when missing."""
    current: Any = obj
    for name in path.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(name)
    if isinstance(current, bool):
        return "true" if current else "false"
    if isinstance(current, str | int | float):
        return str(current)
    return ""


def single_name(selector: FieldSelector) -> str | None:
    """X when the selector is exactly ``metadata.name=X`` (a watch on one object)."""
    if len(selector.terms) != 1:
        return None
    term = selector.terms[0]
    return term.value if term.field == "metadata.name" and not term.negated else None
