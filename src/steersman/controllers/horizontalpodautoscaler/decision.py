"""One autoscaling decision, from the target's replicas, its pods and their metrics.

kubernetes ``horizontal.go``'s ``reconcileAutoscaler`` without the I/O: the controller
reads the scale, the pods and the ``PodMetricsList`` and hands them here with the clock
reading; :func:`decide` returns the count to apply, why, the ``currentMetrics``, the
conditions to set and the events to record. A metric that cannot be computed is left out
while another one can be; when none can, nothing is scaled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from steersman.controllers.horizontalpodautoscaler.behavior import Normalizer
from steersman.controllers.horizontalpodautoscaler.metrics import (
    MetricSpec,
    check_computable,
    metric_specs,
    metric_status,
    pod_info,
    pod_samples,
)
from steersman.controllers.horizontalpodautoscaler.replicas import (
    Proposal,
    ReplicaCalcError,
    average_value_replicas,
    utilization_replicas,
)
from steersman.controllers.horizontalpodautoscaler.status import Condition

Object = dict[str, Any]
Event = tuple[str, str, str]  # type, reason, message


@dataclass
class Decision:
    desired: int
    reason: str = ""
    metrics: list[Object] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    computed: bool = True  # False: no metric gave a count, so nothing may be scaled
    rescaled: bool = False


@dataclass(frozen=True)
class Inputs:
    key: str
    hpa: Mapping[str, Any]
    current: int
    pods: Sequence[Mapping[str, Any]]
    pod_metrics: Mapping[str, Any] | ReplicaCalcError  # a PodMetricsList, or why there is none
    now: float


def decide(inputs: Inputs, normalizer: Normalizer) -> Decision:
    spec = inputs.hpa.get("spec") or {}
    low, high = int(spec.get("minReplicas") or 1), int(spec.get("maxReplicas") or 0)
    current = inputs.current
    if current == 0 and low != 0:
        return Decision(0, computed=False, conditions=[Condition(
            "ScalingActive", False, "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero")])
    if current > high:
        return Decision(high, "Current number of replicas above Spec.MaxReplicas")
    if current < low:
        return Decision(low, "Current number of replicas below Spec.MinReplicas")
    decision = _from_metrics(inputs)
    if not decision.computed:
        return decision
    proposed = decision.desired
    if proposed > current:
        decision.reason = f"{decision.reason} above target"
    elif proposed < current:
        decision.reason = "All metrics below target"
    outcome = normalizer.normalize(inputs.key, current=current, desired=proposed,
                                   min_replicas=low, max_replicas=high,
                                   behavior=spec.get("behavior"), now=inputs.now)
    decision.desired = outcome.replicas
    decision.conditions.append(Condition("AbleToScale", True, *outcome.stabilized))
    decision.conditions.append(Condition("ScalingLimited", outcome.limited, *outcome.limit))
    return decision


def _from_metrics(inputs: Inputs) -> Decision:
    best: tuple[int, str] | None = None
    decision = Decision(0)
    failure: tuple[str, str] | None = None
    specs = metric_specs(inputs.hpa)
    for spec in specs:
        try:
            proposal = _propose(spec, inputs)
        except ReplicaCalcError as err:
            failure = _failure(spec, err)
            decision.events.append(("Warning", failure[0], failure[1]))
            continue
        decision.metrics.append(metric_status(spec, proposal))
        if best is None or proposal.replicas > best[0]:
            best = (proposal.replicas, spec.description)
    if best is None:
        assert failure is not None
        decision.computed = False
        decision.conditions.append(Condition(
            "ScalingActive", False, failure[0],
            f"the HPA was unable to compute the replica count: {failure[1]}"))
        decision.events.append(("Warning", "FailedComputeMetricsReplicas",
                                f"invalid metrics ({len(specs)} invalid out of {len(specs)}), "
                                f"first error is: {failure[1]}"))
        return decision
    decision.desired, decision.reason = best[0], best[1]
    decision.conditions.append(Condition(
        "ScalingActive", True, "ValidMetricFound",
        f"the HPA was able to successfully calculate a replica count from {best[1]}"))
    return decision


def _propose(spec: MetricSpec, inputs: Inputs) -> Proposal:
    check_computable(spec)
    if isinstance(inputs.pod_metrics, ReplicaCalcError):
        raise inputs.pod_metrics
    samples = pod_samples(inputs.pod_metrics, spec)
    pods = [pod_info(pod, spec) for pod in inputs.pods]
    if spec.utilization is not None:
        return utilization_replicas(current=inputs.current, target=spec.utilization,
                                    resource=spec.resource, pods=pods, samples=samples,
                                    now=inputs.now)
    assert spec.average_value is not None
    return average_value_replicas(current=inputs.current, target=spec.average_value,
                                  resource=spec.resource, pods=pods, samples=samples,
                                  now=inputs.now)


def _failure(spec: MetricSpec, err: ReplicaCalcError) -> tuple[str, str]:
    if spec.type not in ("Resource", "ContainerResource"):
        return f"FailedGet{spec.type}Metric", str(err)
    what = "utilization" if spec.utilization is not None else "usage"
    return f"FailedGet{spec.type}Metric", f"failed to get {spec.resource} {what}: {err}"
