"""What a pod asks for: effective requests, as ``resourcehelper.PodRequests`` computes them.

Amounts are integers in the units the scheduler compares: milli-cores for ``cpu``, plain
units (bytes, devices) for everything else. The effective request is the larger of the
app containers' sum (plus sidecars, i.e. init containers with ``restartPolicy: Always``) and
each ordinary init container's request on top of the sidecars started before it, plus the
pod's ``overhead``. ``nonzero_*`` are the cpu/memory figures used only for *scoring*, where a
container that requests nothing counts as 100m / 200Mi (upstream's defaults), so empty pods
still spread.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from steersman.api.quantity import QuantityError, milli_value, value

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


@functools.lru_cache(maxsize=8192)
def amount(resource: str, quantity: str | int | float) -> int:
    """A quantity in scheduler units (milli-cores for cpu); malformed counts as 0."""
    try:
        return milli_value(quantity) if resource == CPU else value(quantity)
    except (QuantityError, TypeError, ValueError):
        return 0


def resource_list(raw: Mapping[str, Any] | None) -> dict[str, int]:
    """``{"cpu": "500m"}`` → ``{"cpu": 500}``."""
    if not raw:
        return {}
    return {name: amount(name, quantity) for name, quantity in raw.items()}


def _add(into: dict[str, int], more: Mapping[str, int]) -> None:
    for name, quantity in more.items():
        into[name] = into.get(name, 0) + quantity


def _maximise(into: dict[str, int], other: Mapping[str, int]) -> None:
    for name, quantity in other.items():
        if quantity > into.get(name, 0):
            into[name] = quantity


def _container_requests(container: Mapping[str, Any], *, nonzero: bool) -> dict[str, int]:
    requests = resource_list((container.get("resources") or {}).get("requests"))
    if nonzero:
        requests.setdefault(CPU, DEFAULT_MILLI_CPU_REQUEST)
        requests.setdefault(MEMORY, DEFAULT_MEMORY_REQUEST)
    return requests


def _aggregate(spec: Mapping[str, Any], *, nonzero: bool) -> dict[str, int]:
    total: dict[str, int] = {}
    for container in spec.get("containers") or ():
        _add(total, _container_requests(container, nonzero=nonzero))
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for container in spec.get("initContainers") or ():
        requests = _container_requests(container, nonzero=nonzero)
        if container.get("restartPolicy") == "Always":
            _add(sidecars, requests)
            _add(total, requests)
            continue
        running = dict(sidecars)
        _add(running, requests)
        _maximise(init_peak, running)
    _maximise(total, init_peak)
    _add(total, resource_list(spec.get("overhead")))
    return total


def pod_requests(spec: Mapping[str, Any]) -> dict[str, int]:
    """The pod's effective requests; zero amounts are dropped."""
    return {name: q for name, q in _aggregate(spec, nonzero=False).items() if q}


def nonzero_requests(spec: Mapping[str, Any]) -> tuple[int, int]:
    """(milli-cpu, memory) for scoring, with upstream's defaults for unset requests."""
    totals = _aggregate(spec, nonzero=True)
    return totals.get(CPU, 0), totals.get(MEMORY, 0)


def pod_resources(spec: Mapping[str, Any]) -> tuple[dict[str, int], int, int]:
    """:func:`pod_requests` and :func:`nonzero_requests` together, in one pass over the
    containers when the pod has neither init containers nor ``overhead`` (the usual pod)."""
    if spec.get("initContainers") or spec.get("overhead"):
        return (pod_requests(spec), *nonzero_requests(spec))
    total: dict[str, int] = {}
    cpu = memory = 0
    for container in spec.get("containers") or ():
        requests = _container_requests(container, nonzero=False)
        _add(total, requests)
        cpu += requests.get(CPU, DEFAULT_MILLI_CPU_REQUEST)
        memory += requests.get(MEMORY, DEFAULT_MEMORY_REQUEST)
    return {name: q for name, q in total.items() if q}, cpu, memory


def sum_into(totals: dict[str, int], items: Iterable[tuple[str, int]], sign: int) -> None:
    """Add (or with ``sign=-1`` subtract) request items into running totals."""
    for name, quantity in items:
        totals[name] = totals.get(name, 0) + sign * quantity
