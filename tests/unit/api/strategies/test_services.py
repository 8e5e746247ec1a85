"""Service, Endpoints and EndpointSlice strategies."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.api.strategies import patch_allocated_values, strategy_for
from tests.unit.api.strategies.helpers import causes, defaulted, update_causes


def service(name: str = "web", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"}, "spec": body}


def test_cluster_ip_service_defaults() -> None:
    out = defaulted("", service())
    assert out["spec"] == {
        "selector": {"app": "web"},
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]}
    assert out["status"] == {"loadBalancer": {}}


def test_load_balancer_defaults() -> None:
    spec = defaulted("", service(type="LoadBalancer"))["spec"]
    assert spec["externalTrafficPolicy"] == "Cluster"
    assert spec["allocateLoadBalancerNodePorts"] is True


@pytest.mark.parametrize(("obj", "expected"), [
    (service(ports=[]), ["spec.ports: Required value"]),
    (service(ports=[], clusterIP="None"), []),
    (service(type="Magic"),
     ['spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", '
      '"LoadBalancer", "NodePort"']),
    (service(ports=[{"port": 0}]),
     ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
      "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive"]),
    (service(ports=[{"port": 80, "name": "http"}, {"port": 81, "name": "http"}]),
     ['spec.ports[1].name: Duplicate value: "http"']),
    (service(ports=[{"port": 80}, {"port": 81}]),
     ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"]),
    (service(type="NodePort", ports=[{"port": 80, "nodePort": 80}]),
     ["spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. "
      "The range of valid ports is 30000-32767"]),
    (service(ports=[{"port": 80, "nodePort": 30080}]),
     ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]),
    (service(type="ExternalName", ports=[]), ["spec.externalName: Required value"]),
])
def test_service_validation(obj: dict[str, Any], expected: list[str]) -> None:
    assert causes("", obj) == expected


def test_service_name_is_a_dns1035_label() -> None:
    got = causes("", service(name="1web"))
    assert got == ['metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower '
                   "case alphanumeric characters or '-', start with an alphabetic character, and "
                   "end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used "
                   "for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"]


def test_cluster_ip_may_not_change() -> None:
    old = service(clusterIP="10.43.0.10", clusterIPs=["10.43.0.10"])
    new = service(clusterIP="10.43.0.11", clusterIPs=["10.43.0.11"])
    assert update_causes("", new, old) == [
        'spec.clusterIPs[0]: Invalid value: []string{"10.43.0.11"}: may not change once set']


def test_patch_allocated_values_keeps_ips_and_node_ports() -> None:
    old = defaulted("", service(type="NodePort", clusterIP="10.43.0.10",
                                clusterIPs=["10.43.0.10"],
                                ports=[{"port": 80, "nodePort": 30080}]))
    new = defaulted("", service(type="NodePort"))
    patch_allocated_values(new, old)
    assert new["spec"]["clusterIPs"] == ["10.43.0.10"]
    assert new["spec"]["ports"][0]["nodePort"] == 30080
    assert update_causes("", new, old) == []


def test_endpoint_slice() -> None:
    good = {"kind": "EndpointSlice", "metadata": {"name": "web-abc"}, "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.42.0.5"]}], "ports": [{"port": 80}]}
    assert defaulted("discovery.k8s.io", good)["ports"] == [{"port": 80, "protocol": "TCP",
                                                             "name": ""}]
    assert causes("discovery.k8s.io", good) == []
    bad = {**good, "endpoints": [{"addresses": ["::1"]}]}
    assert causes("discovery.k8s.io", bad) == [
        'endpoints[0].addresses[0]: Invalid value: "::1": must be an IPv4 address']


def _type_changed(old: dict[str, Any], **new_spec: Any) -> dict[str, Any]:
    """``old`` patched with ``new_spec``, prepared and defaulted as an update would be."""
    strategy = strategy_for("", "Service")
    new = {**old, "spec": {**old["spec"], **new_spec}}
    strategy.prepare_update(new, old)
    strategy.default(new)
    return new


def test_a_load_balancer_turned_cluster_ip_drops_what_only_it_used() -> None:
    old = defaulted("", service(type="LoadBalancer", externalTrafficPolicy="Local",
                                healthCheckNodePort=31000,
                                ports=[{"port": 80, "nodePort": 30080}]))
    new = _type_changed(old, type="ClusterIP")
    assert "externalTrafficPolicy" not in new["spec"]
    assert "allocateLoadBalancerNodePorts" not in new["spec"]
    assert "healthCheckNodePort" not in new["spec"]
    assert "nodePort" not in new["spec"]["ports"][0]
    assert strategy_for("", "Service").validate(new) == []


def test_a_field_the_update_sets_anew_is_kept_and_judged() -> None:
    old = defaulted("", service(type="NodePort"))
    new = _type_changed(old, type="ClusterIP", externalTrafficPolicy="Local")
    assert new["spec"]["externalTrafficPolicy"] == "Local"
    assert strategy_for("", "Service").validate(new) != []


def test_the_same_type_keeps_everything() -> None:
    old = defaulted("", service(type="NodePort", externalTrafficPolicy="Local"))
    assert _type_changed(old)["spec"]["externalTrafficPolicy"] == "Local"
