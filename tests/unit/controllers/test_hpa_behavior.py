"""HPA normalization in virtual time: the 5-minute scale-down stabilization, rate limits."""

from __future__ import annotations

from steersman.client import FakeClock
from steersman.controllers.horizontalpodautoscaler.behavior import Normalizer, scaling_rules


def test_scale_down_waits_for_the_stabilization_window() -> None:
    clock, normalizer = FakeClock(), Normalizer()

    def step(desired: int, current: int) -> int:
        out = normalizer.normalize("ns/h", current=current, desired=desired, min_replicas=1,
                                   max_replicas=10, behavior=None, now=clock.now())
        clock.advance(15)
        return out.replicas

    assert step(6, 6) == 6
    # the 6 of t=0 still counts at t=300 (upstream keeps a sample not before the cutoff)
    assert [step(2, 6) for _ in range(20)] == [6] * 20
    assert step(2, 6) == 2


def test_without_behavior_a_scale_up_at_most_doubles() -> None:
    outcome = Normalizer().normalize("k", current=3, desired=50, min_replicas=1,
                                     max_replicas=100, behavior=None, now=0)
    assert outcome.replicas == 6 and outcome.limited
    assert outcome.limit[0] == "ScaleUpLimit"
    outcome = Normalizer().normalize("k", current=1, desired=50, min_replicas=1,
                                     max_replicas=3, behavior=None, now=0)
    assert (outcome.replicas, outcome.limit[0]) == (3, "TooManyReplicas")


def test_default_scale_up_policies_allow_four_pods_or_double_per_period() -> None:
    clock, normalizer = FakeClock(), Normalizer()
    behavior: dict[str, object] = {}  # set but empty: the API defaults apply
    first = normalizer.normalize("k", current=1, desired=100, min_replicas=1, max_replicas=100,
                                 behavior=behavior, now=clock.now())
    assert first.replicas == 5  # max(1 + 4, 1 * 2)
    normalizer.record_scale("k", behavior=behavior, before=1, after=5, now=clock.now())
    clock.advance(5)
    again = normalizer.normalize("k", current=5, desired=100, min_replicas=1, max_replicas=100,
                                 behavior=behavior, now=clock.now())
    assert again.replicas == 5 and again.limit[0] == "ScaleUpLimit"  # same 15 s period
    clock.advance(15)
    later = normalizer.normalize("k", current=5, desired=100, min_replicas=1, max_replicas=100,
                                 behavior=behavior, now=clock.now())
    assert later.replicas == 10


def test_behavior_stabilization_and_select_policy() -> None:
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Min",
                              "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60},
                                           {"type": "Percent", "value": 50,
                                            "periodSeconds": 60}]}}
    up, down = scaling_rules(behavior)
    assert up.window == 0 and len(up.policies) == 2 and down.window == 60
    clock, normalizer = FakeClock(), Normalizer()
    normalizer.normalize("k", current=8, desired=8, min_replicas=1, max_replicas=10,
                         behavior=behavior, now=clock.now())
    clock.advance(30)
    held = normalizer.normalize("k", current=8, desired=2, min_replicas=1, max_replicas=10,
                                behavior=behavior, now=clock.now())
    assert held.replicas == 8 and held.stabilized[0] == "ScaleDownStabilized"
    clock.advance(31)
    step = normalizer.normalize("k", current=8, desired=2, min_replicas=1, max_replicas=10,
                                behavior=behavior, now=clock.now())
    assert (step.replicas, step.limit[0]) == (7, "ScaleDownLimit")  # Min: the smaller change


def test_disabled_scale_down() -> None:
    behavior = {"scaleDown": {"selectPolicy": "Disabled"}}
    outcome = Normalizer().normalize("k", current=5, desired=1, min_replicas=1,
                                     max_replicas=10, behavior=behavior, now=0)
    assert outcome.replicas == 5
