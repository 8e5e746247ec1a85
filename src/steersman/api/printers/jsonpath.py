"""The JSONPath subset CRD ``additionalPrinterColumns`` use, parsed once, evaluated per row.

Supported, as k8s.io/client-go's ``jsonpath`` reads them (with missing keys allowed):
dotted fields (``.spec.replicas``; ``\\.`` escapes a dot inside a key, as in
``.metadata.labels.app\\.kubernetes\\.io/name``), quoted keys (``['a.b']``), the
wildcards ``.*`` and ``[*]``, list indexes (``[0]``, ``[-1]``) and filters comparing a
field with a literal (``[?(@.type=="Ready")]``, ``!=``, ``<``, ``>``, ``<=``, ``>=``).
Anything else raises :class:`JSONPathError` when the path is compiled, so a CRD naming an
unsupported expression fails loudly instead of printing empty cells.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_FILTER = re.compile(
    r"""\?\(\s*@((?:\.[^.\s=!<>]+)+)\s*(==|!=|<=|>=|<|>)\s*"""
    r"""("[^"]*"|'[^']*'|-?[0-9]+(?:\.[0-9]+)?)\s*\)"""
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b), "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b), ">": lambda a, b: bool(a > b),
    "<=": lambda a, b: bool(a <= b), ">=": lambda a, b: bool(a >= b),
}

Step = Callable[[Any], Iterator[Any]]


class JSONPathError(ValueError):
    """The expression is not in the supported subset."""


@dataclass(frozen=True)
class JSONPath:
    expression: str
    steps: tuple[Step, ...]

    def find(self, document: Any) -> list[Any]:
        """Every value the path selects, in document order; empty when nothing matches."""
        values = [document]
        for step in self.steps:
            values = [found for value in values for found in step(value)]
        return values


def compile_path(expression: str) -> JSONPath:
    """Compile ``expression`` (with or without the ``{…}`` template braces)."""
    source = expression.strip()
    if source.startswith("{") and source.endswith("}"):
        source = source[1:-1].strip()
    if not source.startswith((".", "[")):
        raise JSONPathError(f"unsupported JSONPath {expression!r}: must start with '.' or '['")
    return JSONPath(expression, tuple(_parse(source, expression)))


def _parse(source: str, expression: str) -> Iterator[Step]:
    position = 0
    while position < len(source):
        if source[position] == ".":
            key, position = _read_key(source, position + 1)
            if not key:
                raise JSONPathError(f"unsupported JSONPath {expression!r}: empty field name")
            yield _wildcard if key == "*" else _field(key)
        elif source[position] == "[":
            end = _bracket_end(source, position, expression)
            yield _bracket(source[position + 1:end].strip(), expression)
            position = end + 1
        else:
            raise JSONPathError(f"unsupported JSONPath {expression!r} at {source[position:]!r}")


def _read_key(source: str, position: int) -> tuple[str, int]:
    key: list[str] = []
    while position < len(source) and source[position] not in ".[":
        if source[position] == "\\" and position + 1 < len(source):
            position += 1
        key.append(source[position])
        position += 1
    return "".join(key), position


def _bracket_end(source: str, start: int, expression: str) -> int:
    quote = ""
    for index in range(start + 1, len(source)):
        char = source[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "]":
            return index
    raise JSONPathError(f"unsupported JSONPath {expression!r}: unclosed '['")


def _bracket(inner: str, expression: str) -> Step:
    if inner == "*":
        return _wildcard
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return _field(inner[1:-1])
    if re.fullmatch(r"-?[0-9]+", inner):
        return _index(int(inner))
    match = _FILTER.fullmatch(inner)
    if match is None:
        raise JSONPathError(f"unsupported JSONPath {expression!r}: [{inner}]")
    path, operator, literal = match.groups()
    return _filter(compile_path(path), _COMPARE[operator], _literal(literal))


def _literal(literal: str) -> Any:
    if literal[0] in "'\"":
        return literal[1:-1]
    return json.loads(literal)


def _field(key: str) -> Step:
    def step(value: Any) -> Iterator[Any]:
        if isinstance(value, Mapping) and key in value:
            yield value[key]

    return step


def _wildcard(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        yield from (value[key] for key in sorted(value))
    elif isinstance(value, list):
        yield from value


def _index(position: int) -> Step:
    def step(value: Any) -> Iterator[Any]:
        if isinstance(value, list) and -len(value) <= position < len(value):
            yield value[position]

    return step


def _filter(path: JSONPath, compare: Callable[[Any, Any], bool], literal: Any) -> Step:
    def step(value: Any) -> Iterator[Any]:
        for element in value if isinstance(value, list) else ():
            if any(_comparable(found, literal) and compare(found, literal)
                   for found in path.find(element)):
                yield element

    return step


def _comparable(found: Any, literal: Any) -> bool:
    if isinstance(literal, str):
        return isinstance(found, str)
    return isinstance(found, int | float) and not isinstance(found, bool)
