"""Pod status builders and the decision of what a hollow node does with a pod."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.api.meta import parse_time
from steersman.kubelet.hollow.pod_status import (
    COMPLETE_AFTER_ANNOTATION,
    Action,
    Decision,
    completed_status,
    decide,
    image_id,
    running_status,
)

Object = dict[str, Any]
NOW = "2026-01-02T03:04:05Z"
NOW_S = parse_time(NOW).timestamp()


def pod(*, status: Object | None = None, restart_policy: str = "Always",
        annotations: dict[str, str] | None = None, deleting: bool = False,
        init: list[Object] | None = None) -> Object:
    metadata: Object = {"name": "p", "namespace": "ns", "uid": "u-1",
                        "annotations": annotations or {}}
    if deleting:
        metadata["deletionTimestamp"] = NOW
    return {"metadata": metadata,
            "spec": {"nodeName": "hollow-0", "restartPolicy": restart_policy,
                     "initContainers": init or [],
                     "containers": [{"name": "web", "image": "nginx:1.25"},
                                    {"name": "side", "image": "reg.io:5000/team/side@sha256:ab"}]},
            "status": status if status is not None else {"phase": "Pending"}}


def running(**kwargs: Any) -> Object:
    p = pod(**kwargs)
    p["status"] = running_status(p, host_ip="127.42.0.1", pod_ip="127.42.0.2", now=NOW)
    return p


def test_running_status_is_complete_in_one_write() -> None:
    status = running()["status"]
    assert status["phase"] == "Running"
    assert (status["hostIP"], status["hostIPs"]) == ("127.42.0.1", [{"ip": "127.42.0.1"}])
    assert (status["podIP"], status["podIPs"]) == ("127.42.0.2", [{"ip": "127.42.0.2"}])
    assert status["startTime"] == NOW
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "PodReadyToStartContainers": "True", "Initialized": "True", "ContainersReady": "True",
        "Ready": "True", "PodScheduled": "True"}


def test_container_statuses_satisfy_strict_clients() -> None:
    web, side = running()["status"]["containerStatuses"]
    assert web == {"name": "web", "image": "nginx:1.25", "imageID": image_id("nginx:1.25"),
                   "containerID": "hollow://u-1/web", "restartCount": 0, "ready": True,
                   "started": True, "state": {"running": {"startedAt": NOW}}, "lastState": {}}
    assert web["imageID"].startswith("docker-pullable://nginx@sha256:")
    assert side["imageID"].startswith("docker-pullable://reg.io:5000/team/side@sha256:")
    assert image_id("nginx:1.25") == image_id("nginx:1.25") != image_id("nginx:1.26")


def test_init_containers_completed_and_sidecars_running() -> None:
    init = [{"name": "setup", "image": "busybox"},
            {"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
    setup, proxy = running(init=init)["status"]["initContainerStatuses"]
    assert setup["state"]["terminated"]["reason"] == "Completed"
    assert setup["state"]["terminated"]["exitCode"] == 0
    assert setup["ready"] is True
    assert proxy["state"] == {"running": {"startedAt": NOW}}


def test_existing_status_fields_and_transition_times_are_kept() -> None:
    scheduled = {"type": "PodScheduled", "status": "True",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"}
    p = pod(status={"phase": "Pending", "qosClass": "BestEffort", "conditions": [scheduled]})
    status = running_status(p, host_ip="h", pod_ip="i", now=NOW)
    assert status["qosClass"] == "BestEffort"
    by_type = {c["type"]: c for c in status["conditions"]}
    assert by_type["PodScheduled"]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert by_type["Ready"]["lastTransitionTime"] == NOW


def test_completed_status_terminates_containers_with_exit_zero() -> None:
    later = "2026-01-02T03:04:15Z"
    status = completed_status(running(restart_policy="Never"), now=later)
    assert status["phase"] == "Succeeded"
    assert status["podIP"] == "127.42.0.2"
    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert (terminated["startedAt"], terminated["finishedAt"]) == (NOW, later)
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "PodCompleted")


@pytest.mark.parametrize(("make", "now", "expected"), [
    (lambda: pod(), NOW_S, Decision(Action.START)),
    (lambda: pod(status={"phase": "Running"}), NOW_S, Decision(Action.START)),
    (lambda: running(), NOW_S, Decision(Action.NOTHING)),
    (lambda: running(deleting=True), NOW_S, Decision(Action.DELETE)),
    (lambda: pod(deleting=True), NOW_S, Decision(Action.DELETE)),
    (lambda: pod(status={"phase": "Succeeded"}), NOW_S, Decision(Action.NOTHING)),
    (lambda: running(restart_policy="Never", annotations={COMPLETE_AFTER_ANNOTATION: "5"}),
     NOW_S + 2, Decision(Action.NOTHING, 3.0)),
    (lambda: running(restart_policy="OnFailure", annotations={COMPLETE_AFTER_ANNOTATION: "5"}),
     NOW_S + 5, Decision(Action.COMPLETE)),
    (lambda: running(restart_policy="Always", annotations={COMPLETE_AFTER_ANNOTATION: "5"}),
     NOW_S + 60, Decision(Action.NOTHING)),
    (lambda: running(restart_policy="Never", annotations={COMPLETE_AFTER_ANNOTATION: "soon"}),
     NOW_S + 60, Decision(Action.NOTHING)),
])
def test_decide(make: Any, now: float, expected: Decision) -> None:
    assert decide(make(), now) == expected
