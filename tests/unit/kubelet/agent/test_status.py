"""Pod status generation: container states, phases and conditions."""

from __future__ import annotations

from steersman.kubelet.agent.cri import ContainerState
from steersman.kubelet.agent.status import StatusInputs, Waiting, pod_status
from steersman.kubelet.agent.view import PodView
from tests.unit.kubelet.agent.builders import container, instance, pod, view

RUNNING, EXITED = ContainerState.RUNNING, ContainerState.EXITED
NOW = "2023-11-14T22:13:20Z"


def inputs(pod_view: PodView, **extra: object) -> StatusInputs:
    return StatusInputs(view=pod_view, runtime_name="fake", host_ip="127.42.200.1",
                        pod_ip="127.42.200.2", now=NOW, **extra)  # type: ignore[arg-type]


def conditions(status: dict[str, object]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in status["conditions"]}  # type: ignore[attr-defined]


def test_a_running_ready_pod() -> None:
    status = pod_status(pod(), inputs(view(instance("app", RUNNING, cid="c1"))))
    assert status["phase"] == "Running"
    assert status["podIP"] == "127.42.200.2" and status["hostIP"] == "127.42.200.1"
    assert conditions(status) == {"PodReadyToStartContainers": "True", "Initialized": "True",
                                  "ContainersReady": "True", "Ready": "True",
                                  "PodScheduled": "True"}
    app = status["containerStatuses"][0]
    assert app["containerID"] == "fake://c1" and app["ready"] and app["started"]
    assert "running" in app["state"] and app["restartCount"] == 0
    assert app["imageID"].startswith("sha256:")


def test_readiness_gates_ready() -> None:
    status = pod_status(pod(), inputs(view(instance("app", RUNNING, cid="c1")),
                                      ready={"c1": False}))
    assert conditions(status)["Ready"] == "False"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [app]"


def test_a_crash_looping_container_waits_with_its_last_termination() -> None:
    crashed = instance("app", EXITED, exit_code=1, restarts=3)
    status = pod_status(pod(), inputs(view(crashed), waiting={
        "app": Waiting("CrashLoopBackOff", "back-off 40s restarting failed container=app")}))
    app = status["containerStatuses"][0]
    assert app["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert app["lastState"]["terminated"]["reason"] == "Error"
    assert app["lastState"]["terminated"]["exitCode"] == 1
    assert app["restartCount"] == 3 and status["phase"] == "Running"


def test_a_restarted_container_shows_the_previous_instance_as_last_state() -> None:
    old = instance("app", EXITED, exit_code=137, reason="OOMKilled", cid="c1")
    new = instance("app", RUNNING, restarts=1, cid="c2")
    app = pod_status(pod(), inputs(view(old, new)))["containerStatuses"][0]
    assert app["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert app["restartCount"] == 1 and app["containerID"] == "fake://c2"


def test_containers_wait_while_init_containers_run() -> None:
    spec = pod(init=(container("setup"),))
    status = pod_status(spec, inputs(view(instance("setup", RUNNING))))
    assert status["phase"] == "Pending"
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert conditions(status)["Initialized"] == "False"


def test_completed_and_failed_pods() -> None:
    done = view(instance("app", EXITED, exit_code=0))
    succeeded = pod_status(pod(policy="Never"), inputs(done))
    assert succeeded["phase"] == "Succeeded"
    ready = next(c for c in succeeded["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "PodCompleted"
    assert succeeded["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    failed = view(instance("app", EXITED, exit_code=3))
    assert pod_status(pod(policy="Never"), inputs(failed))["phase"] == "Failed"
    assert pod_status(pod(policy="Always"), inputs(failed))["phase"] == "Running"


def test_a_new_pod_is_pending_with_container_creating() -> None:
    status = pod_status(pod(), inputs(view(sandbox=False)))
    assert status["phase"] == "Pending"
    assert status["containerStatuses"][0]["state"] == {"waiting":
                                                       {"reason": "ContainerCreating"}}
    assert conditions(status)["PodReadyToStartContainers"] == "False"


def test_transition_times_move_only_on_change() -> None:
    first = pod_status(pod(), inputs(view(instance("app", RUNNING))))
    later = StatusInputs(view=view(instance("app", RUNNING)), runtime_name="fake",
                         host_ip="h", pod_ip="p", now="2030-01-01T00:00:00Z")
    again = pod_status({**pod(), "status": first}, later)
    times = {c["type"]: c["lastTransitionTime"] for c in again["conditions"]}
    assert set(times.values()) == {NOW}
    assert again["startTime"] == first["startTime"] == NOW
