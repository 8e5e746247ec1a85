"""The replica count one resource metric asks for (kubernetes ``replica_calculator.go``).

Pure: pods, their requests and their metric samples go in; a :class:`Proposal` or a
:class:`ReplicaCalcError` with the upstream message comes out. Values are in milli-units
(milli-cores for cpu, milli-bytes for memory), as upstream compares ``MilliValue``\\s.

The rules, upstream's:

* pods being deleted or ``Failed`` are ignored; ``Pending`` pods count as unready; for
  cpu, a pod is also unready while it is not Ready within its first 5 minutes, or when its
  sample predates its last readiness change plus the sample's window, or when it has never
  been Ready since its start (30 s grace);
* within the tolerance (|ratio - 1| <= 0.1) the count stays;
* pods without a sample count, on a scale-down, as using their full request (or the target,
  if higher), and on a scale-up as using nothing; on a scale-up unready pods count as using
  nothing; if that turns the ratio within tolerance or reverses the direction, the count
  stays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

TOLERANCE = 0.1
CPU_INITIALIZATION_PERIOD = 300.0
INITIAL_READINESS_DELAY = 30.0
_Ratio = Callable[[dict[str, int]], float]


class ReplicaCalcError(Exception):
    """No replica count could be computed; the message is the one upstream reports."""


@dataclass(frozen=True)
class PodInfo:
    name: str
    phase: str = "Running"
    deleting: bool = False
    ready: bool | None = True  # None: the pod has no Ready condition
    ready_since: float = 0.0  # the Ready condition's lastTransitionTime (epoch seconds)
    start_time: float | None = 0.0
    requests: Mapping[str, int | None] = field(default_factory=dict)  # per container

    def request(self, resource: str) -> int:
        """The pod's request of ``resource`` (milli-units): the sum of its containers'."""
        total = 0
        for container, value in self.requests.items():
            if value is None:
                raise ReplicaCalcError(f"missing request for {resource} in container "
                                       f"{container} of Pod {self.name}")
            total += value
        return total


@dataclass(frozen=True)
class Sample:
    value: int  # milli-units
    timestamp: float
    window: float


@dataclass(frozen=True)
class Proposal:
    replicas: int
    utilization: int | None  # percent of requests; None for an AverageValue target
    average: int  # raw average per pod, milli-units
    timestamp: float


def utilization_replicas(*, current: int, target: int, resource: str,
                         pods: Sequence[PodInfo], samples: Mapping[str, Sample],
                         now: float, tolerance: float = TOLERANCE) -> Proposal:
    """Replicas for a ``Utilization`` target (percent of the pods' requests)."""
    ready, unready, missing, kept = _group(pods, samples, resource, now)
    requests = {pod.name: pod.request(resource) for pod in pods}
    values = {name: samples[name].value for name in kept}
    ratio, utilization, average = _utilization_ratio(values, requests, target, resource)
    stamp = _timestamp(samples, kept)

    def recompute(filled: dict[str, int]) -> float:
        return _utilization_ratio(filled, requests, target, resource)[0]

    fallback = {name: requests[name] * max(100, target) // 100 for name in missing}
    replicas = _decide(current, ratio, ready, unready, missing, values, fallback, recompute,
                       tolerance)
    return Proposal(replicas, utilization, average, stamp)


def average_value_replicas(*, current: int, target: int, resource: str,
                           pods: Sequence[PodInfo], samples: Mapping[str, Sample],
                           now: float, tolerance: float = TOLERANCE) -> Proposal:
    """Replicas for an ``AverageValue`` target (milli-units per pod)."""
    if target <= 0:
        raise ReplicaCalcError(f"invalid target average value for {resource}: {target}")
    _, unready, missing, kept = _group(pods, samples, resource, now)
    values = {name: samples[name].value for name in kept}
    if not values:
        raise ReplicaCalcError(f"unable to get metrics for resource {resource}: "
                               "no metrics returned from resource metrics API")
    average = sum(values.values()) // len(values)
    ratio = average / target

    def recompute(filled: dict[str, int]) -> float:
        return sum(filled.values()) / len(filled) / target

    replicas = _decide(current, ratio, len(values), unready, missing, values,
                       dict.fromkeys(missing, target), recompute, tolerance)
    return Proposal(replicas, None, average, _timestamp(samples, kept))


def _decide(current: int, ratio: float, ready: int, unready: set[str], missing: set[str],
            values: dict[str, int], fallback: dict[str, int],
            recompute: _Ratio, tolerance: float) -> int:
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if abs(1.0 - ratio) <= tolerance:
            return current
        return math.ceil(ratio * ready)
    filled = dict(values)
    if missing and ratio < 1.0:
        filled.update(fallback)
    elif missing and ratio > 1.0:
        filled.update(dict.fromkeys(missing, 0))
    if scale_up_with_unready:
        filled.update(dict.fromkeys(unready, 0))
    new_ratio = recompute(filled)
    if abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio) or (
            new_ratio < 1.0 < ratio):
        return current
    replicas = math.ceil(new_ratio * len(filled))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def _utilization_ratio(values: Mapping[str, int], requests: Mapping[str, int], target: int,
                       resource: str) -> tuple[float, int, int]:
    if not values:
        raise ReplicaCalcError(f"unable to get metrics for resource {resource}: "
                               "did not receive metrics for targeted pods (pods might be "
                               "unready)")
    requested = sum(requests.get(name, 0) for name in values)
    if requested <= 0:
        raise ReplicaCalcError(f"missing request for {resource} in the pods measured")
    used = sum(values.values())
    utilization = used * 100 // requested
    return utilization / target, utilization, used // len(values)


def _group(pods: Sequence[PodInfo], samples: Mapping[str, Sample], resource: str,
           now: float) -> tuple[int, set[str], set[str], list[str]]:
    """(ready count, unready names, names without a sample, names whose sample counts)."""
    if not pods:
        raise ReplicaCalcError("no pods returned by selector while calculating replica count")
    unready: set[str] = set()
    missing: set[str] = set()
    kept: list[str] = []
    for pod in pods:
        if pod.deleting or pod.phase == "Failed":
            continue
        if pod.phase == "Pending":
            unready.add(pod.name)
        elif pod.name not in samples:
            missing.add(pod.name)
        elif resource == "cpu" and _cpu_unready(pod, samples[pod.name], now):
            unready.add(pod.name)
        else:
            kept.append(pod.name)
    return len(kept), unready, missing, kept


def _cpu_unready(pod: PodInfo, sample: Sample, now: float) -> bool:
    if pod.ready is None or pod.start_time is None:
        return True
    if pod.start_time + CPU_INITIALIZATION_PERIOD > now:
        return not pod.ready or sample.timestamp < pod.ready_since + sample.window
    return not pod.ready and pod.start_time + INITIAL_READINESS_DELAY > pod.ready_since


def _timestamp(samples: Mapping[str, Sample], kept: Sequence[str]) -> float:
    return max((samples[name].timestamp for name in kept), default=0.0)
