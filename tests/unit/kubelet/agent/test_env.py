"""Environment building: expansion, sources, service variables, the downward API."""

from __future__ import annotations

import base64

import pytest

from steersman.kubelet.agent.downward import ContainerConfigError, PodAddresses
from steersman.kubelet.agent.env import (
    EnvInputs,
    build_env,
    expand,
    expand_command,
    referenced_names,
    service_variables,
)
from tests.unit.kubelet.agent.builders import container, pod

ADDRESSES = PodAddresses(node_name="n1", host_ip="127.42.200.1", pod_ip="127.42.200.7")


def test_expansion_follows_the_kubelet_rules() -> None:
    known = {"A": "1", "B": "two"}.get
    assert expand("$(A)-$(B)", known) == "1-two"
    assert expand("$(MISSING) $$(A) $$ $", known) == "$(MISSING) $(A) $ $"
    assert expand("$(A", known) == "$(A"


def test_env_from_env_and_value_from() -> None:
    spec = pod(container("app", envFrom=[{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
                         env=[{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {
                                   "name": "creds", "key": "password"}}},
                              {"name": "POD_IP", "valueFrom": {"fieldRef": {
                                  "fieldPath": "status.podIP"}}},
                              {"name": "URL", "value": "http://$(POD_IP):$(CFG_port)"},
                              {"name": "MEM", "valueFrom": {"resourceFieldRef": {
                                  "resource": "limits.memory", "divisor": "1Mi"}}}]))
    inputs = EnvInputs(addresses=ADDRESSES,
                       configmaps={"cfg": {"data": {"port": "8080"}}},
                       secrets={"creds": {"data": {"password": base64.b64encode(b"s3").decode()}}},
                       allocatable={"memory": "2Gi"})
    env = dict(build_env(spec, spec["spec"]["containers"][0], inputs))
    assert env == {"CFG_port": "8080", "PASSWORD": "s3", "POD_IP": "127.42.200.7",
                   "URL": "http://127.42.200.7:8080", "MEM": "2048"}


def test_missing_sources_are_errors_unless_optional() -> None:
    spec = pod(container("app", env=[{"name": "X", "valueFrom": {"configMapKeyRef": {
        "name": "cfg", "key": "nope"}}}]))
    inputs = EnvInputs(addresses=ADDRESSES, configmaps={"cfg": {"data": {}}})
    with pytest.raises(ContainerConfigError, match="couldn't find key nope"):
        build_env(spec, spec["spec"]["containers"][0], inputs)
    optional = pod(container("app", env=[{"name": "X", "valueFrom": {"configMapKeyRef": {
        "name": "absent", "key": "k", "optional": True}}}]))
    assert build_env(optional, optional["spec"]["containers"][0], inputs) == []


def test_service_variables_and_links() -> None:
    services = ({"metadata": {"name": "redis-primary"},
                 "spec": {"clusterIP": "127.43.0.9",
                          "ports": [{"name": "tcp-redis", "port": 6379, "protocol": "TCP"}]}},
                {"metadata": {"name": "headless"}, "spec": {"clusterIP": "None",
                                                            "ports": [{"port": 80}]}})
    env = service_variables(services)
    assert env["REDIS_PRIMARY_SERVICE_HOST"] == "127.43.0.9"
    assert env["REDIS_PRIMARY_SERVICE_PORT"] == "6379"
    assert env["REDIS_PRIMARY_SERVICE_PORT_TCP_REDIS"] == "6379"
    assert env["REDIS_PRIMARY_PORT"] == "tcp://127.43.0.9:6379"
    assert env["REDIS_PRIMARY_PORT_6379_TCP_ADDR"] == "127.43.0.9"
    assert not any(key.startswith("HEADLESS") for key in env)
    spec = pod(container("app", env=[{"name": "REDIS_PRIMARY_SERVICE_HOST", "value": "x"}]))
    built = dict(build_env(spec, spec["spec"]["containers"][0],
                           EnvInputs(addresses=ADDRESSES, services=services)))
    assert built["REDIS_PRIMARY_SERVICE_HOST"] == "x"
    no_links = pod(container("app"), enableServiceLinks=False)
    assert build_env(no_links, no_links["spec"]["containers"][0],
                     EnvInputs(addresses=ADDRESSES, services=services)) == []


def test_command_expansion_and_references() -> None:
    assert expand_command(["echo", "$(GREETING)", "$(NOPE)"], [("GREETING", "hi")]) == \
        ["echo", "hi", "$(NOPE)"]
    spec = pod(container("app", envFrom=[{"secretRef": {"name": "s"}}]),
               volumes=[{"name": "v", "configMap": {"name": "c"}},
                        {"name": "p", "projected": {"sources": [{"secret": {"name": "t"}}]}}])
    assert referenced_names(spec) == ({"c"}, {"s", "t"})
