"""Column definitions of Table output, and the printer record each kind registers.

A :class:`Printer` pairs the column specs of one kind with the function computing a row's
cells. Column descriptions are kube-apiserver's (``SwaggerDoc()`` of a field); instead of
copying those texts, a spec names the field (:class:`Doc`) and :func:`resolve` reads the
description from the API definitions in :mod:`steersman.api.schema` when the columns are
first asked for, so importing a printer module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from steersman.api import schema

WIDE = 1
"""Priority of the columns kubectl shows only with ``-o wide``."""

Cells = Callable[[Mapping[str, Any], float], list[Any]]


@dataclass(frozen=True)
class Column:
    """One entry of a Table's ``columnDefinitions``."""

    name: str
    type: str
    format: str
    description: str
    priority: int


@dataclass(frozen=True)
class Doc:
    """The description of property ``field`` of API definition ``definition``."""

    definition: str
    field: str


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    format: str
    description: str | Doc
    priority: int


@dataclass(frozen=True)
class Printer:
    """How one kind prints: its columns and the cells of an object's row, in that order."""

    columns: tuple[ColumnSpec, ...]
    cells: Cells


def api(definition: str, field: str) -> Doc:
    """``api("core.v1.PodSpec", "nodeName")``: a field of a type under ``io.k8s.api``."""
    return Doc(f"io.k8s.api.{definition}", field)


def meta(field: str) -> Doc:
    return Doc("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", field)


def col(
    name: str, description: str | Doc, *, type: str = "string", priority: int = 0,
    format: str = "",
) -> ColumnSpec:
    return ColumnSpec(name, type, format, description, priority)


NAME = col("Name", meta("name"), format="name")
AGE = col("Age", meta("creationTimestamp"))
CONTAINERS = col("Containers", "Names of each container in the template.", priority=WIDE)
IMAGES = col("Images", "Images referenced by each container in the template.", priority=WIDE)


def resolve(spec: ColumnSpec) -> Column:
    description = spec.description
    if isinstance(description, Doc):
        description = _describe(description)
    return Column(spec.name, spec.type, spec.format, description, spec.priority)


def _describe(doc: Doc) -> str:
    definition = schema.definitions()[doc.definition]
    text: str = definition["properties"][doc.field].get("description", "")
    return text
