"""Legacy Endpoints subsets: ready and not-ready addresses grouped by resolved ports."""

from __future__ import annotations

from steersman.controllers.endpoints.subsets import desired_endpoints, desired_subsets, needs_update
from tests.unit.controllers.fixtures import HTTP, pod, service

OTHER_PORT = [{"name": "http", "containerPort": 9090, "protocol": "TCP"}]


def test_ready_and_not_ready_addresses() -> None:
    pods = [pod("b", ip="10.0.0.2", ports=HTTP, node="n1"),
            pod("a", ip="10.0.0.1", ports=HTTP, ready=False)]
    [subset] = desired_subsets(service(), pods)
    assert subset["addresses"] == [{"ip": "10.0.0.2", "nodeName": "n1", "targetRef": {
        "kind": "Pod", "namespace": "ns", "name": "b", "uid": "uid-b"}}]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.0.0.1"]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]


def test_pods_with_different_named_ports_get_separate_subsets() -> None:
    pods = [pod("a", ip="10.0.0.1", ports=HTTP), pod("b", ip="10.0.0.2", ports=OTHER_PORT)]
    subsets = desired_subsets(service(), pods)
    assert [(s["ports"][0]["port"], s["addresses"][0]["ip"]) for s in subsets] == [
        (8080, "10.0.0.1"), (9090, "10.0.0.2")]


def test_terminating_pods_only_with_publish_not_ready() -> None:
    leaving = [pod("a", ip="10.0.0.1", ports=HTTP, terminating=True)]
    assert desired_subsets(service(), leaving) == []
    [subset] = desired_subsets(service(publish_not_ready=True), leaving)
    assert [a["ip"] for a in subset["addresses"]] == ["10.0.0.1"]


def test_portless_services() -> None:
    pods = [pod("a", ip="10.0.0.1")]
    assert desired_subsets(service(ports=[]), pods) == []
    [subset] = desired_subsets(service(ports=[], cluster_ip="None"), pods)
    assert "ports" not in subset and subset["addresses"][0]["ip"] == "10.0.0.1"


def test_unnamed_port_has_no_name_and_pod_without_port_is_skipped() -> None:
    svc = service(ports=[{"port": 80, "targetPort": "http", "protocol": "TCP"}])
    [subset] = desired_subsets(svc, [pod("a", ip="10.0.0.1", ports=HTTP),
                                     pod("b", ip="10.0.0.2")])
    assert subset["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert [a["ip"] for a in subset["addresses"]] == ["10.0.0.1"]


def test_needs_update_compares_subsets_and_labels() -> None:
    wanted = desired_endpoints(service(), [pod("a", ip="10.0.0.1", ports=HTTP)])
    current = {"metadata": {**wanted["metadata"], "resourceVersion": "5"},
               "subsets": wanted["subsets"]}
    assert not needs_update(current, wanted)
    assert needs_update({**current, "subsets": []}, wanted)
    assert needs_update({**current, "metadata": {"labels": {}}}, wanted)
