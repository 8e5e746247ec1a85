"""Table output per kind: column names and priorities, and cells of realistic objects.

Expected cells are what kube-apiserver 1.32 serves for the same objects (``printers.go``),
with time fixed: ``NOW`` is injected and timestamps are written as "seconds before NOW".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from steersman.api.builtin import builtin_resources
from steersman.api.printers import (
    Column,
    column_definitions,
    columns_for,
    crd_columns,
    crd_row_cells,
    row_cells,
)
from steersman.api.printers.cells import human_duration
from steersman.api.printers.jsonpath import JSONPathError

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC).timestamp()
# Kinds kube-apiserver prints with rest.DefaultTableConvertor (Name, Created At).
DEFAULT_PRINTED = {
    ("", "LimitRange"), ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
}


def ago(seconds: float) -> str:
    return datetime.fromtimestamp(NOW - seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str = "x", created: float = 300, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(created), **extra}


def names(group: str, kind: str) -> list[tuple[str, int]]:
    return [(c.name, c.priority) for c in columns_for(group, kind)]


# --- durations -----------------------------------------------------------------------

@pytest.mark.parametrize(("seconds", "expected"), [
    (-5, "<invalid>"), (-1.5, "0s"), (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"),
    (125, "2m5s"), (599, "9m59s"), (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"),
    (3 * 3600 + 60, "3h1m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"),
    (50 * 3600, "2d2h"), (8 * 86400, "8d"), (729 * 86400, "729d"), (730 * 86400, "2y"),
    (731 * 86400, "2y1d"), (8 * 365 * 86400, "8y"),
])
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


# --- pods ------------------------------------------------------------------------------

def container(name: str = "app", *, ready: bool = False, restarts: int = 0,
              state: dict[str, Any] | None = None, last: dict[str, Any] | None = None,
              **extra: Any) -> dict[str, Any]:
    status = {"name": name, "ready": ready, "restartCount": restarts,
              "state": state or {}, "lastState": last or {}}
    return {**status, **extra}


def pod(statuses: list[dict[str, Any]], *, phase: str = "Running", init: int = 0,
        init_statuses: list[dict[str, Any]] | None = None, containers: int = 1,
        conditions: list[dict[str, Any]] | None = None, **status: Any) -> dict[str, Any]:
    return {
        "metadata": meta("web-0"),
        "spec": {
            "nodeName": "node-1",
            "containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)],
            "initContainers": [{"name": f"init{i}", "image": "busybox"} for i in range(init)],
        },
        "status": {"phase": phase, "podIP": "10.42.0.5", "containerStatuses": statuses,
                   "initContainerStatuses": init_statuses or [],
                   "conditions": conditions or [], **status},
    }


RUNNING = {"running": {"startedAt": ago(300)}}
WAITING_CRASH = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}


@pytest.mark.parametrize(("obj", "ready", "status", "restarts"), [
    pytest.param(pod([container(ready=True, state=RUNNING)]), "1/1", "Running", "0",
                 id="running"),
    pytest.param(
        pod([container(restarts=3, state=WAITING_CRASH,
                       last={"terminated": {"exitCode": 1, "reason": "Error",
                                            "finishedAt": ago(125)}})]),
        "0/1", "CrashLoopBackOff", "3 (2m5s ago)", id="crashloop"),
    pytest.param(
        pod([container(restarts=3, state=WAITING_CRASH,
                       last={"terminated": {"exitCode": 1, "finishedAt": ago(150)}})]),
        "0/1", "CrashLoopBackOff", "3 (2m30s ago)", id="crashloop-2m"),
    pytest.param(
        pod([container(state={"waiting": {"reason": "PodInitializing"}})], phase="Pending",
            init=1, init_statuses=[container("init0", state=RUNNING)]),
        "0/1", "Init:0/1", "0", id="init-running"),
    pytest.param(
        pod([], phase="Pending", init=2, init_statuses=[
            container("init0", state={"terminated": {"exitCode": 0, "reason": "Completed"}}),
            container("init1", state={"waiting": {"reason": "PodInitializing"}})]),
        "0/1", "Init:1/2", "0", id="init-second"),
    pytest.param(
        pod([], phase="Pending", init=1, init_statuses=[
            container("init0", restarts=2, state={"terminated": {"exitCode": 1,
                                                                 "reason": "Error"}})]),
        "0/1", "Init:Error", "2", id="init-error"),
    pytest.param(
        pod([], phase="Pending", init=1, init_statuses=[
            container("init0", state={"waiting": {"reason": "CrashLoopBackOff"}})]),
        "0/1", "Init:CrashLoopBackOff", "0", id="init-crashloop"),
    pytest.param(
        pod([], phase="Pending", init=1,
            init_statuses=[container("init0", state={"terminated": {"exitCode": 2}})]),
        "0/1", "Init:ExitCode:2", "0", id="init-exitcode"),
    pytest.param(
        pod([], phase="Pending", init=1,
            init_statuses=[container("init0", state={"terminated": {"exitCode": 137,
                                                                    "signal": 9}})]),
        "0/1", "Init:Signal:9", "0", id="init-signal"),
    pytest.param(
        pod([container(state={"waiting": {"reason": "ContainerCreating"}})], phase="Pending"),
        "0/1", "ContainerCreating", "0", id="creating"),
    pytest.param(
        pod([container(state={"waiting": {"reason": "ErrImagePull"}})], phase="Pending"),
        "0/1", "ErrImagePull", "0", id="errimagepull"),
    pytest.param(
        pod([container(state={"terminated": {"exitCode": 0, "reason": "Completed"}})],
            phase="Succeeded"),
        "0/1", "Completed", "0", id="completed"),
    pytest.param(
        pod([container(state={"terminated": {"exitCode": 137, "reason": "OOMKilled"}})],
            phase="Failed"),
        "0/1", "OOMKilled", "0", id="oomkilled"),
    pytest.param(
        pod([container(state={"terminated": {"exitCode": 143, "signal": 15}})]),
        "0/1", "Signal:15", "0", id="signal"),
    pytest.param(
        pod([container(state={"terminated": {"exitCode": 3}})], phase="Failed"),
        "0/1", "ExitCode:3", "0", id="exitcode"),
    pytest.param(
        pod([], phase="Pending", conditions=[
            {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
        "0/1", "SchedulingGated", "0", id="scheduling-gated"),
    pytest.param(pod([], phase="Pending"), "0/1", "Pending", "0", id="pending"),
    pytest.param(pod([], phase="Failed", reason="Evicted"), "0/1", "Evicted", "0",
                 id="evicted"),
    pytest.param(pod([], phase="Running", reason="NodeLost"), "0/1", "NodeLost", "0",
                 id="node-lost"),
    pytest.param(
        pod([container("c0", state={"terminated": {"exitCode": 0, "reason": "Completed"}}),
             container("c1", ready=True, state=RUNNING)], containers=2,
            conditions=[{"type": "Ready", "status": "False"}]),
        "1/2", "NotReady", "0", id="completed-with-running-not-ready"),
    pytest.param(
        pod([container("c0", state={"terminated": {"exitCode": 0, "reason": "Completed"}}),
             container("c1", ready=True, state=RUNNING)], containers=2,
            conditions=[{"type": "Ready", "status": "True"}]),
        "1/2", "Running", "0", id="completed-with-running-ready"),
    pytest.param(
        pod([container("c0", restarts=1, ready=True, state=RUNNING,
                       last={"terminated": {"exitCode": 1, "finishedAt": ago(3600)}}),
             container("c1", restarts=2, ready=True, state=RUNNING,
                       last={"terminated": {"exitCode": 1, "finishedAt": ago(600)}})],
            containers=2),
        "2/2", "Running", "3 (10m ago)", id="restarts-latest"),
])
def test_pod_status_cells(obj: dict[str, Any], ready: str, status: str, restarts: str) -> None:
    cells = row_cells("", "Pod", obj, NOW)
    assert cells[:5] == ["web-0", ready, status, restarts, "5m"]


def test_pod_terminating_and_node_lost() -> None:
    running = pod([container(ready=True, state=RUNNING)])
    running["metadata"]["deletionTimestamp"] = ago(10)
    assert row_cells("", "Pod", running, NOW)[2] == "Terminating"
    lost = pod([container(ready=True, state=RUNNING)], reason="NodeLost")
    lost["metadata"]["deletionTimestamp"] = ago(10)
    assert row_cells("", "Pod", lost, NOW)[2] == "Unknown"
    done = pod([container(state={"terminated": {"exitCode": 0, "reason": "Completed"}})],
               phase="Succeeded")
    done["metadata"]["deletionTimestamp"] = ago(10)
    assert row_cells("", "Pod", done, NOW)[2] == "Completed"


def test_pod_sidecar_counts_towards_ready_and_restarts() -> None:
    obj = pod([container("c0", ready=True, state=RUNNING)],
              init=1, init_statuses=[container("init0", ready=True, started=True, restarts=1,
                                               state=RUNNING, last={"terminated": {
                                                   "exitCode": 1, "finishedAt": ago(60)}})])
    obj["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    obj["status"]["conditions"] = [{"type": "Initialized", "status": "True"}]
    assert row_cells("", "Pod", obj, NOW)[1:4] == ["2/2", "Running", "1 (60s ago)"]


def test_pod_columns_and_wide_cells() -> None:
    assert names("", "Pod") == [
        ("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", 1),
        ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    obj = pod([container(ready=True, state=RUNNING)], conditions=[
        {"type": "example.com/a", "status": "True"}, {"type": "example.com/b",
                                                      "status": "False"}])
    assert row_cells("", "Pod", obj, NOW)[5:] == ["10.42.0.5", "node-1", "<none>", "<none>"]
    obj["spec"]["readinessGates"] = [{"conditionType": "example.com/a"},
                                     {"conditionType": "example.com/b"}]
    obj["status"].pop("podIP")
    obj["status"]["podIPs"] = [{"ip": "fd00::5"}]
    obj["status"]["nominatedNodeName"] = "node-2"
    assert row_cells("", "Pod", obj, NOW)[5:] == ["fd00::5", "node-1", "node-2", "1/2"]
    bare = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
    assert row_cells("", "Pod", bare, NOW) == [
        "p", "0/1", "", "0", "<unknown>", "<none>", "<none>", "<none>", "<none>"]


# --- nodes -----------------------------------------------------------------------------

def node(labels: dict[str, str], conditions: list[dict[str, Any]],
         unschedulable: bool = False) -> dict[str, Any]:
    return {
        "metadata": {"name": "node-1", "labels": labels, "creationTimestamp": ago(3 * 86400)},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "conditions": conditions,
            "addresses": [{"type": "Hostname", "address": "node-1"},
                          {"type": "InternalIP", "address": "192.168.1.10"}],
            "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12",
                         "kernelVersion": "6.1.0", "containerRuntimeVersion": "crun://1.8"},
        },
    }


READY = [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}]


@pytest.mark.parametrize(("obj", "status", "roles"), [
    (node({}, READY), "Ready", "<none>"),
    (node({"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "",
           "node-role.kubernetes.io/": "x"}, READY), "Ready", "control-plane,etcd"),
    (node({"kubernetes.io/role": "worker", "node-role.kubernetes.io/infra": ""}, READY,
          unschedulable=True), "Ready,SchedulingDisabled", "infra,worker"),
    (node({}, [{"type": "Ready", "status": "Unknown"}]), "NotReady", "<none>"),
    (node({}, [], unschedulable=True), "Unknown,SchedulingDisabled", "<none>"),
])
def test_node_cells(obj: dict[str, Any], status: str, roles: str) -> None:
    assert row_cells("", "Node", obj, NOW) == [
        "node-1", status, roles, "3d", "v1.32.0", "192.168.1.10", "<none>",
        "Debian GNU/Linux 12", "6.1.0", "crun://1.8"]


def test_node_columns() -> None:
    assert names("", "Node") == [
        ("Name", 0), ("Status", 0), ("Roles", 0), ("Age", 0), ("Version", 0),
        ("Internal-IP", 1), ("External-IP", 1), ("OS-Image", 1), ("Kernel-Version", 1),
        ("Container-Runtime", 1)]


# --- services --------------------------------------------------------------------------

def service(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": meta("web", 3600), "spec": spec, "status": status or {}}


@pytest.mark.parametrize(("obj", "cells"), [
    (service({"type": "ClusterIP", "clusterIP": "10.43.0.10", "clusterIPs": ["10.43.0.10"],
              "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
              "selector": {"app": "web", "tier": "fe"}}),
     ["ClusterIP", "10.43.0.10", "<none>", "80/TCP,53/UDP", "60m", "app=web,tier=fe"]),
    (service({"type": "ClusterIP", "clusterIP": "None", "ports": [{"port": 80}]}),
     ["ClusterIP", "None", "<none>", "80/TCP", "60m", "<none>"]),
    (service({"type": "NodePort", "clusterIPs": ["10.43.0.11"], "externalIPs": ["1.2.3.4"],
              "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}),
     ["NodePort", "10.43.0.11", "1.2.3.4", "80:30080/TCP", "60m", "<none>"]),
    (service({"type": "LoadBalancer", "clusterIP": "10.43.0.12",
              "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]}),
     ["LoadBalancer", "10.43.0.12", "<pending>", "443:31443/TCP", "60m", "<none>"]),
    (service({"type": "LoadBalancer", "clusterIP": "10.43.0.12", "externalIPs": ["9.9.9.9"],
              "ports": []},
             {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}, {"ip": "5.6.7.8"},
                                           {"ip": "5.6.7.8"}]}}),
     ["LoadBalancer", "10.43.0.12", "5.6.7.8,lb.example.com,9.9.9.9", "<none>", "60m",
      "<none>"]),
    (service({"type": "ExternalName", "externalName": "db.example.com"}),
     ["ExternalName", "<none>", "db.example.com", "<none>", "60m", "<none>"]),
])
def test_service_cells(obj: dict[str, Any], cells: list[Any]) -> None:
    assert row_cells("", "Service", obj, NOW) == ["web", *cells]


def test_endpoints_cells() -> None:
    obj = {"metadata": meta("web"), "subsets": [
        {"addresses": [{"ip": "10.42.0.1"}, {"ip": "10.42.0.2"}],
         "ports": [{"port": 80}, {"port": 443}]},
        {"addresses": [{"ip": "fd00::1"}]},
    ]}
    assert row_cells("", "Endpoints", obj, NOW) == [
        "web", "10.42.0.1:80,10.42.0.2:80,10.42.0.1:443 + 2 more...", "5m"]
    obj["subsets"] = [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 53}]}]
    assert row_cells("", "Endpoints", obj, NOW)[1] == "[fd00::1]:53"
    obj["subsets"] = []
    assert row_cells("", "Endpoints", obj, NOW)[1] == "<none>"


# --- workloads -------------------------------------------------------------------------

TEMPLATE = {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"},
                                    {"name": "log", "image": "busybox"}],
                     "nodeSelector": {"disktype": "ssd"}}}


def test_deployment_cells() -> None:
    assert names("apps", "Deployment") == [
        ("Name", 0), ("Ready", 0), ("Up-to-date", 0), ("Available", 0), ("Age", 0),
        ("Containers", 1), ("Images", 1), ("Selector", 1)]
    obj = {"metadata": meta("web"), "spec": {
        "replicas": 3, "template": TEMPLATE, "selector": {
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]},
                                 {"key": "canary", "operator": "DoesNotExist"}]}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert row_cells("apps", "Deployment", obj, NOW) == [
        "web", "2/3", 3, 2, "5m", "web,log", "nginx:1.27,busybox",
        "app=web,!canary,tier in (be,fe)"]
    fresh = {"metadata": meta("new"), "spec": {"replicas": 0, "selector": {}}}
    assert row_cells("apps", "Deployment", fresh, NOW) == ["new", "0/0", 0, 0, "5m", "", "", ""]


def test_replica_set_stateful_set_daemon_set_cells() -> None:
    selector = {"matchLabels": {"app": "web"}}
    spec = {"replicas": 3, "template": TEMPLATE, "selector": selector}
    status = {"replicas": 3, "readyReplicas": 1}
    obj = {"metadata": meta("web-abc"), "spec": spec, "status": status}
    assert row_cells("apps", "ReplicaSet", obj, NOW) == [
        "web-abc", 3, 3, 1, "5m", "web,log", "nginx:1.27,busybox", "app=web"]
    assert row_cells("apps", "StatefulSet", obj, NOW) == [
        "web-abc", "1/3", "5m", "web,log", "nginx:1.27,busybox"]
    ds = {"metadata": meta("agent"), "spec": {"template": TEMPLATE, "selector": selector},
          "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3,
                     "numberReady": 2, "updatedNumberScheduled": 3, "numberAvailable": 2}}
    assert row_cells("apps", "DaemonSet", ds, NOW) == [
        "agent", 3, 3, 2, 3, 2, "disktype=ssd", "5m", "web,log", "nginx:1.27,busybox",
        "app=web"]
    assert [c.type for c in columns_for("apps", "ReplicaSet")][1:4] == ["integer"] * 3


def test_controller_revision_and_replication_controller_cells() -> None:
    revision = {"metadata": meta("web-7d4b9", ownerReferences=[
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": True}]),
        "revision": 4}
    assert row_cells("apps", "ControllerRevision", revision, NOW) == [
        "web-7d4b9", "statefulset.apps/web", 4, "5m"]
    rc = {"metadata": meta("old"), "spec": {"replicas": 2, "selector": {"app": "old"},
                                           "template": TEMPLATE},
          "status": {"replicas": 2, "readyReplicas": 2}}
    assert row_cells("", "ReplicationController", rc, NOW) == [
        "old", 2, 2, 2, "5m", "web,log", "nginx:1.27,busybox", "app=old"]


def job(conditions: list[dict[str, Any]], **status: Any) -> dict[str, Any]:
    return {"metadata": meta("pi"),
            "spec": {"completions": 1, "parallelism": 1, "template": TEMPLATE,
                     "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}},
            "status": {"conditions": conditions, **status}}


@pytest.mark.parametrize(("obj", "status", "completions", "duration"), [
    (job([{"type": "Complete", "status": "True"}], succeeded=1, startTime=ago(290),
         completionTime=ago(250)), "Complete", "1/1", "40s"),
    (job([{"type": "FailureTarget", "status": "True"}, {"type": "Failed", "status": "True"}],
         failed=1, startTime=ago(290)), "Failed", "0/1", "4m50s"),
    (job([{"type": "Suspended", "status": "True"}]), "Suspended", "0/1", ""),
    (job([{"type": "FailureTarget", "status": "True"}]), "FailureTarget", "0/1", ""),
    (job([{"type": "Complete", "status": "False"}], active=1, startTime=ago(30)),
     "Running", "0/1", "30s"),
])
def test_job_cells(obj: dict[str, Any], status: str, completions: str, duration: str) -> None:
    assert row_cells("batch", "Job", obj, NOW) == [
        "pi", status, completions, duration, "5m", "web,log", "nginx:1.27,busybox",
        "batch.kubernetes.io/controller-uid=u"]


def test_job_completions_and_terminating() -> None:
    parallel = job([])
    parallel["spec"] = {"parallelism": 3}
    assert row_cells("batch", "Job", parallel, NOW)[2] == "0/1 of 3"
    parallel["metadata"]["deletionTimestamp"] = ago(1)
    assert row_cells("batch", "Job", parallel, NOW)[1] == "Terminating"


def test_cron_job_cells() -> None:
    assert names("batch", "CronJob")[:7] == [
        ("Name", 0), ("Schedule", 0), ("Timezone", 0), ("Suspend", 0), ("Active", 0),
        ("Last Schedule", 0), ("Age", 0)]
    obj = {"metadata": meta("nightly"), "spec": {
        "schedule": "0 3 * * *", "suspend": False,
        "jobTemplate": {"spec": {"template": TEMPLATE}}},
        "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": ago(90)}}
    assert row_cells("batch", "CronJob", obj, NOW) == [
        "nightly", "0 3 * * *", "<none>", "False", 1, "90s", "5m", "web,log",
        "nginx:1.27,busybox", "<none>"]
    obj["spec"].update(timeZone="Europe/Berlin", suspend=None)
    obj["status"] = {}
    assert row_cells("batch", "CronJob", obj, NOW)[2:6] == ["Europe/Berlin", "<unset>", 0,
                                                          "<none>"]


# --- events ----------------------------------------------------------------------------

def test_core_event_cells() -> None:
    assert names("", "Event") == [
        ("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1),
        ("Source", 1), ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1)]
    obj = {"metadata": meta("web-0.17a"), "type": "Warning", "reason": "BackOff",
           "involvedObject": {"kind": "Pod", "name": "web-0",
                              "fieldPath": "spec.containers{app}"},
           "source": {"component": "kubelet", "host": "node-1"},
           "message": "Back-off restarting failed container\n", "count": 7,
           "firstTimestamp": ago(600), "lastTimestamp": ago(30)}
    assert row_cells("", "Event", obj, NOW) == [
        "30s", "Warning", "BackOff", "pod/web-0", "spec.containers{app}", "kubelet, node-1",
        "Back-off restarting failed container", "10m", 7, "web-0.17a"]


def test_events_k8s_io_event_cells() -> None:
    obj = {"metadata": meta("web.18b"), "type": "Normal", "reason": "Scheduled",
           "regarding": {"kind": "Pod", "name": "web-0"}, "note": "Successfully assigned",
           "eventTime": "2025-06-01T11:58:00.000000Z", "reportingController":
           "default-scheduler", "reportingInstance": "default-scheduler-steersman"}
    assert row_cells("events.k8s.io", "Event", obj, NOW) == [
        "2m", "Normal", "Scheduled", "pod/web-0", "",
        "default-scheduler, default-scheduler-steersman", "Successfully assigned", "2m", 1,
        "web.18b"]
    obj["series"] = {"count": 4, "lastObservedTime": "2025-06-01T11:59:30.000000Z"}
    assert row_cells("events.k8s.io", "Event", obj, NOW)[0::8] == ["30s", 4]


# --- configuration, access, storage ----------------------------------------------------

@pytest.mark.parametrize(("group", "kind", "obj", "cells"), [
    ("", "Namespace", {"metadata": meta("dev"), "status": {"phase": "Active"}},
     ["dev", "Active", "5m"]),
    ("", "ConfigMap", {"metadata": meta("cfg"), "data": {"a": "1", "b": "2"},
                       "binaryData": {"c": "AA=="}}, ["cfg", 3, "5m"]),
    ("", "Secret", {"metadata": meta("tls"), "type": "kubernetes.io/tls",
                    "data": {"tls.crt": "", "tls.key": ""}},
     ["tls", "kubernetes.io/tls", 2, "5m"]),
    ("", "ServiceAccount", {"metadata": meta("default")}, ["default", 0, "5m"]),
    ("", "PodTemplate", {"metadata": meta("tpl"), "template": {
        "metadata": {"labels": {"b": "2", "a": "1"}}, "spec": TEMPLATE["spec"]}},
     ["tpl", "web,log", "nginx:1.27,busybox", "a=1,b=2"]),
    ("", "ResourceQuota", {"metadata": meta("quota"), "status": {
        "hard": {"pods": "10", "requests.cpu": "2", "limits.memory": "4Gi"},
        "used": {"pods": "3", "requests.cpu": "500m"}}},
     ["quota", "pods: 3/10, requests.cpu: 500m/2", "limits.memory: 0/4Gi", "5m"]),
    ("", "PersistentVolume", {
        "metadata": meta("pv-1"),
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany",
                                                                  "ReadWriteOnce"],
                 "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "local",
                 "claimRef": {"namespace": "default", "name": "data"},
                 "volumeMode": "Filesystem"},
        "status": {"phase": "Bound"}},
     ["pv-1", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "local", "<unset>", "",
      "5m", "Filesystem"]),
    ("", "PersistentVolumeClaim", {
        "metadata": meta("data"),
        "spec": {"volumeName": "pv-1", "storageClassName": "local",
                 "resources": {"requests": {"storage": "5Gi"}}},
        "status": {"phase": "Bound", "capacity": {"storage": "10Gi"},
                   "accessModes": ["ReadWriteOnce"]}},
     ["data", "Bound", "pv-1", "10Gi", "RWO", "local", "<unset>", "5m", "<unset>"]),
    ("", "PersistentVolumeClaim", {
        "metadata": meta("pending", annotations={
            "volume.beta.kubernetes.io/storage-class": "slow"}),
        "spec": {"storageClassName": "fast"}, "status": {"phase": "Pending"}},
     ["pending", "Pending", "", "", "", "slow", "<unset>", "5m", "<unset>"]),
    ("coordination.k8s.io", "Lease", {"metadata": meta("steersman-scheduler"),
                                      "spec": {"holderIdentity": "server-1_abc"}},
     ["steersman-scheduler", "server-1_abc", "5m"]),
    ("discovery.k8s.io", "EndpointSlice", {
        "metadata": meta("web-x7"), "addressType": "IPv4",
        "ports": [{"name": "http", "port": 80}, {"name": "metrics"}, {}],
        "endpoints": [{"addresses": [f"10.42.0.{i}"]} for i in range(1, 6)]},
     ["web-x7", "IPv4", "80,metrics,*", "10.42.0.1,10.42.0.2,10.42.0.3 + 2 more...", "5m"]),
    ("discovery.k8s.io", "EndpointSlice", {"metadata": meta("empty"), "addressType": "IPv6"},
     ["empty", "IPv6", "<unset>", "<unset>", "5m"]),
    ("networking.k8s.io", "Ingress", {
        "metadata": meta("web"),
        "spec": {"ingressClassName": "steersman",
                 "rules": [{"host": f"h{i}.example.com"} for i in range(5)],
                 "tls": [{"hosts": ["h0.example.com"]}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}},
     ["web", "steersman", "h0.example.com,h1.example.com,h2.example.com + 2 more...",
      "127.0.0.1", "80, 443", "5m"]),
    ("networking.k8s.io", "Ingress", {"metadata": meta("catch"), "spec": {
        "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}},
     ["catch", "<none>", "*", "", "80", "5m"]),
    ("networking.k8s.io", "IngressClass", {"metadata": meta("steersman"), "spec": {
        "controller": "steersman.io/ingress",
        "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters",
                       "name": "external-lb"}}},
     ["steersman", "steersman.io/ingress", "IngressParameters.k8s.example.com/external-lb",
      "5m"]),
    ("networking.k8s.io", "NetworkPolicy", {"metadata": meta("deny"),
                                            "spec": {"podSelector": {}}},
     ["deny", "<none>", "5m"]),
    ("networking.k8s.io", "NetworkPolicy", {"metadata": meta("db"), "spec": {
        "podSelector": {"matchLabels": {"role": "db"}}}}, ["db", "role=db", "5m"]),
    ("policy", "PodDisruptionBudget", {"metadata": meta("web"),
                                       "spec": {"minAvailable": "50%"},
                                       "status": {"disruptionsAllowed": 1}},
     ["web", "50%", "N/A", 1, "5m"]),
    ("scheduling.k8s.io", "PriorityClass", {"metadata": meta("high"), "value": 1000000,
                                            "globalDefault": False,
                                            "preemptionPolicy": "PreemptLowerPriority"},
     ["high", 1000000, False, "5m", "PreemptLowerPriority"]),
    ("rbac.authorization.k8s.io", "RoleBinding", {
        "metadata": meta("read"), "roleRef": {"kind": "Role", "name": "reader"},
        "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                     {"kind": "ServiceAccount", "namespace": "ci", "name": "bot"},
                     {"kind": "User", "name": "bob"}]},
     ["read", "Role/reader", "5m", "alice, bob", "devs", "ci/bot"]),
    ("storage.k8s.io", "StorageClass", {
        "metadata": meta("local", annotations={
            "storageclass.kubernetes.io/is-default-class": "true"}),
        "provisioner": "steersman.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"},
     ["local (default)", "steersman.io/local-path", "Delete", "WaitForFirstConsumer", False,
      "5m"]),
])
def test_cells(group: str, kind: str, obj: dict[str, Any], cells: list[Any]) -> None:
    assert row_cells(group, kind, obj, NOW) == cells


def test_horizontal_pod_autoscaler_cells() -> None:
    obj = {"metadata": meta("web"), "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1, "maxReplicas": 10,
        "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 50}}},
            {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
                "type": "AverageValue", "averageValue": "100"}}},
            {"type": "External", "external": {"metric": {"name": "queue"}, "target": {
                "type": "Value", "value": "30"}}},
        ]},
        "status": {"currentReplicas": 2, "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {
                "averageUtilization": 23, "averageValue": "46m"}}}]}}
    assert row_cells("autoscaling", "HorizontalPodAutoscaler", obj, NOW) == [
        "web", "Deployment/web", "cpu: 23%/50%, <unknown>/100 + 1 more...", "1", 10, 2, "5m"]
    obj["spec"]["metrics"] = [{"type": "Resource", "resource": {
        "name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}}]
    obj["spec"].pop("minReplicas")
    obj["status"] = {}
    assert row_cells("autoscaling", "HorizontalPodAutoscaler", obj, NOW)[2:6] == [
        "memory: <unknown>/1Gi", "<unset>", 10, 0]


def test_default_columns_for_kinds_without_printer() -> None:
    columns = columns_for("", "LimitRange")
    assert [(c.name, c.type, c.format) for c in columns] == [
        ("Name", "string", "name"), ("Created At", "date", "")]
    obj = {"metadata": {"name": "limits", "creationTimestamp": "2025-05-31T12:00:00+00:00"}}
    assert row_cells("", "LimitRange", obj, NOW) == ["limits", "2025-05-31T12:00:00Z"]
    assert columns_for("example.com", "Widget") == columns


# --- every built-in kind ---------------------------------------------------------------

READABLE = [r for r in builtin_resources() if "get" in r.verbs]


@pytest.mark.parametrize("resource", READABLE, ids=lambda r: f"{r.group or 'core'}/{r.kind}")
def test_every_builtin_kind_prints_like_upstream(resource: Any) -> None:
    columns = columns_for(resource.group, resource.kind)
    default = columns_for("", "LimitRange")
    if (resource.group, resource.kind) in DEFAULT_PRINTED:
        assert columns == default
    else:
        assert columns != default
    assert all(c.description for c in columns)
    assert [c.format for c in columns].count("name") == 1
    sparse = {"metadata": {"name": "x"}}
    assert len(row_cells(resource.group, resource.kind, sparse, NOW)) == len(columns)


def test_column_definitions_shape() -> None:
    columns = [Column("Name", "string", "name", "the name", 0),
               Column("IP", "string", "", "the ip", 1)]
    assert column_definitions(columns) == [
        {"name": "Name", "type": "string", "format": "name", "description": "the name",
         "priority": 0},
        {"name": "IP", "type": "string", "format": "", "description": "the ip", "priority": 1},
    ]
    name = columns_for("", "Pod")[0]
    assert name.description.startswith("Name must be unique within a namespace.")


# --- custom resources ------------------------------------------------------------------

PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
    {"name": "Ready", "type": "string",
     "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
    {"name": "Image", "type": "string", "jsonPath": ".spec.template.containers[0].image",
     "priority": 1, "description": "The first image"},
    {"name": "Paused", "type": "boolean", "jsonPath": ".spec.paused"},
    {"name": "Ratio", "type": "number", "jsonPath": ".status.ratio"},
    {"name": "Labels", "type": "string", "jsonPath": ".metadata.labels"},
    {"name": "App", "type": "string",
     "jsonPath": ".metadata.labels.app\\.kubernetes\\.io/name"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
WIDGET = {
    "apiVersion": "example.com/v1", "kind": "Widget",
    "metadata": {"name": "w1", "creationTimestamp": ago(7200),
                 "labels": {"app.kubernetes.io/name": "widget", "tier": "fe"}},
    "spec": {"replicas": 3, "paused": False,
             "template": {"containers": [{"image": "ghcr.io/w:1"}, {"image": "x"}]}},
    "status": {"ratio": 2, "conditions": [{"type": "Synced", "status": "True"},
                                          {"type": "Ready", "status": "False"}]},
}


def test_crd_columns() -> None:
    columns = crd_columns(PRINTER_COLUMNS)
    assert [(c.name, c.type, c.priority) for c in columns] == [
        ("Name", "string", 0), ("Replicas", "integer", 0), ("Ready", "string", 0),
        ("Image", "string", 1), ("Paused", "boolean", 0), ("Ratio", "number", 0),
        ("Labels", "string", 0), ("App", "string", 0), ("Age", "date", 0)]
    assert columns[0].format == "name"
    assert columns[3].description == "The first image"
    assert [(c.name, c.type) for c in crd_columns([])] == [("Name", "string"),
                                                            ("Age", "date")]


def test_crd_row_cells() -> None:
    assert crd_row_cells(PRINTER_COLUMNS, WIDGET, NOW) == [
        "w1", 3, "False", "ghcr.io/w:1", False, 2.0,
        '{"app.kubernetes.io/name":"widget","tier":"fe"}', "widget", "120m"]
    empty = {"metadata": {"name": "w2"}, "spec": {"replicas": "three"}}
    assert crd_row_cells(PRINTER_COLUMNS, empty, NOW) == ["w2", *[None] * 8]
    assert crd_row_cells([], WIDGET, NOW) == ["w1", "120m"]


@pytest.mark.parametrize(("path", "value", "column_type", "cell"), [
    (".spec.n", 2.7, "integer", 2), (".spec.n", 2.5, "string", "2.5"),
    (".spec.n", 1e6, "string", "1e+06"), (".spec.n", 7, "string", "7"),
    (".spec.n", True, "string", "true"), (".spec.n", True, "integer", None),
    (".spec.n", [1, {"b": 2, "a": 1}], "string", '[1,{"a":1,"b":2}]'),
    (".spec.n", "not a time", "date", "<invalid>"), (".spec.n", "", "date", "<unknown>"),
    (".spec.n", "2025-06-01T11:59:00.5Z", "date", "59s"),
    (".spec.n[-1]", ["a", "b"], "string", "b"), (".spec.n[5]", ["a"], "string", None),
    (".spec['n']", "q", "string", "q"), (".spec.n[*]", ["x", "y"], "string", "x"),
    (".spec.n[?(@.v>1)].k", [{"v": 1, "k": "a"}, {"v": 3, "k": "b"}], "string", "b"),
    (".spec.n[?(@.v!='x')].k", [{"v": "x", "k": "a"}, {"k": "c"}, {"v": "y", "k": "b"}],
     "string", "b"),
])
def test_crd_cell_values(path: str, value: Any, column_type: str, cell: Any) -> None:
    columns = [{"name": "N", "type": column_type, "jsonPath": path}]
    obj = {"metadata": {"name": "o"}, "spec": {"n": value}}
    assert crd_row_cells(columns, obj, NOW) == ["o", cell]


@pytest.mark.parametrize("path", ["spec.replicas", ".spec[", ".a[1:2]", ".a[?(@.x=~y)]", ".."])
def test_crd_rejects_unsupported_json_path(path: str) -> None:
    with pytest.raises(JSONPathError):
        crd_columns([{"name": "Bad", "type": "string", "jsonPath": path}])
