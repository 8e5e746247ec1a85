"""Server-side Table output: the columns and cells ``kubectl get`` prints, per kind.

Mirrors kube-apiserver 1.32 (``pkg/printers/internalversion/printers.go``): the same
column names, types, descriptions and priorities (1 = shown with ``-o wide``), and the
same cell logic, so ``kubectl get`` and ``-o wide`` read as they do against Kubernetes.
The API server always computes every column, wide ones included; kubectl chooses what to
show. Kinds without a printer get the default ``Name``/``Created At`` columns, as
upstream; custom resources print from their CRD's ``additionalPrinterColumns``
(:func:`crd_columns`, :func:`crd_row_cells`).

Pure: objects are JSON-shaped dicts and ``now`` (epoch seconds) is injected. The Table
envelope (rows, ``object``, list metadata) is the API server's business; one module per
API group below holds the printers, and :data:`_PRINTERS` here wires them up.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from steersman.api.printers import (
    apps,
    autoscaling,
    batch,
    certificates,
    coordination,
    core,
    discovery,
    event,
    networking,
    node,
    pod,
    policy,
    rbac,
    scheduling,
    service,
    storage,
)
from steersman.api.printers.columns import Column, Printer, resolve
from steersman.api.printers.crd import crd_columns, crd_row_cells
from steersman.api.printers.default import DEFAULT

__all__ = [
    "Column",
    "column_definitions",
    "columns_for",
    "crd_columns",
    "crd_row_cells",
    "row_cells",
]

_GROUPS: tuple[tuple[str, Mapping[str, Printer]], ...] = (
    ("", core.PRINTERS), ("", pod.PRINTERS), ("", node.PRINTERS), ("", service.PRINTERS),
    ("", event.CORE_PRINTERS), ("events.k8s.io", event.EVENTS_PRINTERS),
    ("apps", apps.PRINTERS), ("batch", batch.PRINTERS),
    ("certificates.k8s.io", certificates.PRINTERS),
    ("coordination.k8s.io", coordination.PRINTERS), ("discovery.k8s.io", discovery.PRINTERS),
    ("networking.k8s.io", networking.PRINTERS), ("policy", policy.PRINTERS),
    ("scheduling.k8s.io", scheduling.PRINTERS), ("rbac.authorization.k8s.io", rbac.PRINTERS),
    ("autoscaling", autoscaling.PRINTERS), ("storage.k8s.io", storage.PRINTERS),
)
_PRINTERS: dict[tuple[str, str], Printer] = {
    (group, kind): printer for group, printers in _GROUPS for kind, printer in printers.items()
}


def _printer(group: str, kind: str) -> Printer:
    return _PRINTERS.get((group, kind), DEFAULT)


def columns_for(group: str, kind: str) -> list[Column]:
    """The column definitions of ``kind`` in ``group`` (``""`` for core)."""
    return list(_resolved(group, kind))


@functools.cache
def _resolved(group: str, kind: str) -> tuple[Column, ...]:
    return tuple(resolve(spec) for spec in _printer(group, kind).columns)


def row_cells(group: str, kind: str, obj: Mapping[str, Any], now: float) -> list[Any]:
    """The cells of ``obj``'s row, one per column of :func:`columns_for`."""
    return _printer(group, kind).cells(obj, now)


def column_definitions(columns: Iterable[Column]) -> list[dict[str, Any]]:
    """``columnDefinitions`` of a ``meta.k8s.io/v1`` Table."""
    return [
        {"name": c.name, "type": c.type, "format": c.format, "description": c.description,
         "priority": c.priority}
        for c in columns
    ]
