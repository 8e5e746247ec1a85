"""What the autoscaler measures: metric specs, pod samples from ``metrics.k8s.io``, pod facts.

* :func:`metric_specs` reads ``spec.metrics`` (empty: cpu at 80 %, the API default).
  ``Resource`` and ``ContainerResource`` metrics with a ``Utilization`` or ``AverageValue``
  target are computed; ``Pods``, ``Object`` and ``External`` need a custom or external
  metrics API this cluster does not serve, and are reported as such.
* :func:`pod_samples` turns a ``PodMetricsList`` into one :class:`~.replicas.Sample` per pod
  (its containers' usage summed, or one container's), in milli-units.
* :func:`pod_info` extracts what the replica calculator needs from a Pod.
* :func:`metric_status` is the ``status.currentMetrics`` entry for a computed proposal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from steersman.api.meta import parse_time
from steersman.api.quantity import format_quantity, milli_value
from steersman.controllers.horizontalpodautoscaler.replicas import (
    PodInfo,
    Proposal,
    ReplicaCalcError,
    Sample,
)

Object = dict[str, Any]
DEFAULT_CPU_UTILIZATION = 80


@dataclass(frozen=True)
class MetricSpec:
    type: str  # Resource | ContainerResource | Pods | Object | External
    resource: str = ""
    container: str = ""
    utilization: int | None = None
    average_value: int | None = None  # milli-units

    @property
    def description(self) -> str:
        """How upstream names the metric in the ScalingActive condition."""
        what = f"{self.resource} container resource" if self.container else (
            f"{self.resource} resource")
        return f"{what} utilization (percentage of request)" if self.utilization is not None \
            else what


def metric_specs(hpa: Mapping[str, Any]) -> list[MetricSpec]:
    metrics = (hpa.get("spec") or {}).get("metrics") or []
    if not metrics:
        return [MetricSpec("Resource", "cpu", utilization=DEFAULT_CPU_UTILIZATION)]
    return [_spec(m) for m in metrics]


def _spec(metric: Mapping[str, Any]) -> MetricSpec:
    kind = str(metric.get("type") or "")
    if kind not in ("Resource", "ContainerResource"):
        return MetricSpec(kind)
    source = metric.get("resource" if kind == "Resource" else "containerResource") or {}
    target = source.get("target") or {}
    average = target.get("averageValue")
    utilization = target.get("averageUtilization")
    return MetricSpec(kind, str(source.get("name") or ""), str(source.get("container") or ""),
                      None if utilization is None else int(utilization),
                      None if average is None else milli_value(str(average)))


def check_computable(spec: MetricSpec) -> None:
    if spec.type not in ("Resource", "ContainerResource"):
        raise ReplicaCalcError(f"unable to get {spec.type} metrics: this cluster serves "
                               "resource metrics (metrics.k8s.io) only, no custom or "
                               "external metrics API")
    if spec.utilization is None and spec.average_value is None:
        raise ReplicaCalcError(f"invalid {spec.type} metric source for {spec.resource}: "
                               "neither a utilization target nor a value target was set")


def pod_samples(metrics_list: Mapping[str, Any], spec: MetricSpec) -> dict[str, Sample]:
    samples = {}
    for item in metrics_list.get("items") or []:
        containers = [c for c in item.get("containers") or []
                      if not spec.container or c.get("name") == spec.container]
        if not containers:
            continue
        total = sum(milli_value(str((c.get("usage") or {}).get(spec.resource, "0")))
                    for c in containers)
        samples[item["metadata"]["name"]] = Sample(
            total, parse_time(item["timestamp"]).timestamp(), _seconds(item.get("window", "")))
    return samples


def _seconds(window: str) -> float:
    """A Go duration (``15s``, ``1m0.5s``, ``1.002s``) in seconds."""
    total, number = 0.0, ""
    for char in window:
        if char.isdigit() or char == ".":
            number += char
            continue
        scale = {"h": 3600.0, "m": 60.0, "s": 1.0}.get(char)
        if scale is not None and number:
            total += float(number) * scale
        number = ""
    return total


def pod_info(pod: Mapping[str, Any], spec: MetricSpec) -> PodInfo:
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    start = status.get("startTime")
    requests: dict[str, int | None] = {}
    for container in (pod.get("spec") or {}).get("containers") or []:
        if spec.container and container.get("name") != spec.container:
            continue
        value = ((container.get("resources") or {}).get("requests") or {}).get(spec.resource)
        requests[str(container.get("name"))] = None if value is None else milli_value(str(value))
    return PodInfo(
        name=str(meta.get("name")), phase=str(status.get("phase") or "Pending"),
        deleting=bool(meta.get("deletionTimestamp")),
        ready=None if ready is None else ready.get("status") == "True",
        ready_since=_time(ready.get("lastTransitionTime") if ready else None),
        start_time=None if not start else _time(start), requests=requests)


def _time(text: str | None) -> float:
    return parse_time(text).timestamp() if text else 0.0


def metric_status(spec: MetricSpec, proposal: Proposal) -> Object:
    current: Object = {"averageValue": format_quantity(Fraction(proposal.average, 1000))}
    if proposal.utilization is not None:
        current = {"averageUtilization": proposal.utilization, **current}
    if spec.type == "ContainerResource":
        return {"type": spec.type, "containerResource": {
            "name": spec.resource, "container": spec.container, "current": current}}
    return {"type": spec.type, "resource": {"name": spec.resource, "current": current}}
