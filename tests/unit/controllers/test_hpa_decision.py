"""One HPA decision from objects as the API serves them: scale, metrics, conditions, events."""

from __future__ import annotations

from typing import Any

from steersman.api.meta import now_rfc3339
from steersman.client import FakeClock
from steersman.controllers.horizontalpodautoscaler.behavior import Normalizer
from steersman.controllers.horizontalpodautoscaler.decision import Inputs, decide
from steersman.controllers.horizontalpodautoscaler.replicas import ReplicaCalcError
from steersman.controllers.horizontalpodautoscaler.status import Condition, new_status

Object = dict[str, Any]


def hpa(*, metrics: list[Object] | None = None, low: int = 1, high: int = 5) -> Object:
    return {"metadata": {"name": "web", "namespace": "default", "generation": 1},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "web"},
                     "minReplicas": low, "maxReplicas": high, "metrics": metrics or [
                         {"type": "Resource", "resource": {"name": "cpu", "target": {
                             "type": "Utilization", "averageUtilization": 50}}}]}}


def pod(name: str, clock: FakeClock, cpu: str = "20m") -> Object:
    since = now_rfc3339(clock.now() - 600)
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]},
            "status": {"phase": "Running", "startTime": since, "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": since}]}}


def pod_metrics(clock: FakeClock, usage: dict[str, str]) -> Object:
    return {"kind": "PodMetricsList", "items": [
        {"metadata": {"name": name, "namespace": "default"},
         "timestamp": now_rfc3339(clock.now() - 1), "window": "15.02s",
         "containers": [{"name": "c", "usage": {"cpu": cpu, "memory": "1Mi"}}]}
        for name, cpu in usage.items()]}


def test_a_busy_pod_scales_up_within_the_rate_and_max() -> None:
    clock = FakeClock()
    inputs = Inputs("default/web", hpa(), 1, [pod("a", clock)],
                    pod_metrics(clock, {"a": "998652341n"}), clock.now())
    decision = decide(inputs, Normalizer())
    assert decision.computed and decision.desired == 4  # max(2 * 1, 4), below maxReplicas 5
    assert decision.reason == "cpu resource utilization (percentage of request) above target"
    assert decision.metrics == [{"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageUtilization": 4995, "averageValue": "999m"}}}]  # MilliValue rounds up
    kinds = {c.type: (c.status, c.reason) for c in decision.conditions}
    assert kinds == {"ScalingActive": (True, "ValidMetricFound"),
                     "AbleToScale": (True, "ReadyForNewScale"),
                     "ScalingLimited": (True, "ScaleUpLimit")}


def test_no_metrics_means_no_scaling_and_says_why() -> None:
    clock = FakeClock()
    error = ReplicaCalcError("unable to get metrics for resource: unable to fetch metrics "
                             'from resource metrics API: cannot reach node "n"')
    decision = decide(Inputs("default/web", hpa(), 2, [pod("a", clock), pod("b", clock)],
                             error, clock.now()), Normalizer())
    assert not decision.computed and decision.metrics == []
    (active,) = decision.conditions
    assert (active.type, active.status, active.reason) == (
        "ScalingActive", False, "FailedGetResourceMetric")
    assert active.message.startswith("the HPA was unable to compute the replica count: "
                                     "failed to get cpu utilization: unable to get metrics")
    assert [e[1] for e in decision.events] == ["FailedGetResourceMetric",
                                               "FailedComputeMetricsReplicas"]


def test_pods_without_samples_yet() -> None:
    clock = FakeClock()
    decision = decide(Inputs("default/web", hpa(), 1, [pod("a", clock)],
                             pod_metrics(clock, {}), clock.now()), Normalizer())
    assert not decision.computed
    assert "did not receive metrics for targeted pods" in decision.conditions[0].message


def test_outside_min_and_max_the_count_is_clamped_first() -> None:
    clock = FakeClock()
    over = decide(Inputs("k", hpa(high=3), 7, [], pod_metrics(clock, {}), clock.now()),
                  Normalizer())
    assert (over.desired, over.reason) == (3, "Current number of replicas above Spec.MaxReplicas")
    under = decide(Inputs("k", hpa(low=2), 1, [], pod_metrics(clock, {}), clock.now()),
                   Normalizer())
    assert under.desired == 2
    off = decide(Inputs("k", hpa(), 0, [], pod_metrics(clock, {}), clock.now()), Normalizer())
    assert not off.computed and off.conditions[0].reason == "ScalingDisabled"


def test_unsupported_metric_types_are_reported() -> None:
    clock = FakeClock()
    decision = decide(Inputs("k", hpa(metrics=[{"type": "External", "external": {}}]), 1,
                             [pod("a", clock)], pod_metrics(clock, {"a": "1m"}), clock.now()),
                      Normalizer())
    assert decision.conditions[0].reason == "FailedGetExternalMetric"
    assert "no custom or external metrics API" in decision.conditions[0].message


def test_status_keeps_transition_times_while_the_status_holds() -> None:
    clock = FakeClock()
    first = new_status(hpa(), current=1, desired=4, metrics=[], now=clock.now(), rescaled=True,
                       conditions=[Condition("AbleToScale", True, "SucceededRescale", "m")])
    clock.advance(30)
    second = new_status({**hpa(), "status": first}, current=4, desired=4, metrics=[],
                        rescaled=False, now=clock.now(),
                        conditions=[Condition("AbleToScale", True, "ReadyForNewScale", "n")])
    assert second["lastScaleTime"] == first["lastScaleTime"]
    (condition,) = second["conditions"]
    assert condition["lastTransitionTime"] == first["conditions"][0]["lastTransitionTime"]
    assert condition["reason"] == "ReadyForNewScale"
