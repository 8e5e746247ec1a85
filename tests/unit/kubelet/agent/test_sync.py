"""computePodActions-style decisions, table by table."""

from __future__ import annotations

from steersman.kubelet.agent.cri import ContainerState
from steersman.kubelet.agent.sync import compute_pod_actions, pod_finished
from tests.unit.kubelet.agent.builders import container, instance, pod, view

RUNNING, EXITED = ContainerState.RUNNING, ContainerState.EXITED


def test_a_new_pod_gets_a_sandbox_and_its_first_init_container() -> None:
    spec = pod(init=(container("setup"), container("migrate")))
    actions = compute_pod_actions(spec, view(sandbox=False))
    assert actions.create_sandbox and actions.start == ("setup",)


def test_a_new_pod_without_init_containers_starts_every_container() -> None:
    spec = pod(container("a"), container("b"))
    assert compute_pod_actions(spec, view(sandbox=False)).start == ("a", "b")
    assert compute_pod_actions(spec, view()).start == ("a", "b")


def test_init_containers_run_one_at_a_time_in_order() -> None:
    spec = pod(init=(container("setup"), container("migrate")))
    assert compute_pod_actions(spec, view(instance("setup", RUNNING))).idle
    done = instance("setup", EXITED, exit_code=0)
    assert compute_pod_actions(spec, view(done)).start == ("migrate",)
    both = view(done, instance("migrate", EXITED))
    assert compute_pod_actions(spec, both).start == ("app",)


def test_a_failed_init_container_restarts_unless_the_policy_is_never() -> None:
    failed = view(instance("setup", EXITED, exit_code=1))
    assert compute_pod_actions(pod(init=(container("setup"),)), failed).start == ("setup",)
    never = compute_pod_actions(pod(init=(container("setup"),), policy="Never"), failed)
    assert never.finished and not never.start


def test_an_exited_container_waits_out_its_back_off() -> None:
    crashed = view(instance("app", EXITED, exit_code=1, restarts=2))
    actions = compute_pod_actions(pod(), crashed, backoff=lambda name, at: 20.0)
    assert actions.backoff == {"app": 20.0} and not actions.start
    assert compute_pod_actions(pod(), crashed).start == ("app",)


def test_restart_policy_decides_what_restarts() -> None:
    ok, failed = instance("app", EXITED, exit_code=0), instance("app", EXITED, exit_code=2)
    assert compute_pod_actions(pod(policy="Always"), view(ok)).start == ("app",)
    assert compute_pod_actions(pod(policy="OnFailure"), view(ok)).finished
    assert compute_pod_actions(pod(policy="OnFailure"), view(failed)).start == ("app",)
    assert compute_pod_actions(pod(policy="Never"), view(failed)).finished


def test_an_unhealthy_container_is_killed_then_restarted_like_an_exited_one() -> None:
    running = view(instance("app", RUNNING, cid="c1"))
    actions = compute_pod_actions(pod(), running, unhealthy={"c1"})
    assert actions.kill == {"c1": "unhealthy"} and not actions.start
    killed = view(instance("app", EXITED, exit_code=137, cid="c1"))
    assert compute_pod_actions(pod(), killed).start == ("app",)
    assert compute_pod_actions(pod(policy="Never"), killed).finished


def test_a_pod_with_one_container_still_running_is_not_finished() -> None:
    spec = pod(container("a"), container("b"), policy="Never")
    assert not pod_finished(spec["spec"], view(instance("a", EXITED), instance("b", RUNNING)))
