"""A pod's resolv.conf by dnsPolicy and dnsConfig, as the kubelet writes it."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.kubelet.agent.downward import ContainerConfigError
from steersman.kubelet.agent.resolv import resolv_conf

CLUSTER = ("nameserver 10.43.0.10\n"
           "search web.svc.cluster.local svc.cluster.local cluster.local\n"
           "options ndots:5\n")


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "web"}, "spec": spec}


@pytest.mark.parametrize(("spec", "expected"), [
    ({}, CLUSTER),
    ({"dnsPolicy": "ClusterFirst"}, CLUSTER),
    ({"dnsPolicy": "ClusterFirst", "hostNetwork": True}, None),
    ({"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True}, CLUSTER),
    ({"dnsPolicy": "Default"}, None),
    ({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["10.0.0.2"]}},
     "nameserver 10.0.0.2\n"),
    ({"dnsConfig": {"nameservers": ["10.43.0.10", "10.0.0.2"], "searches": ["corp.example"],
                    "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}},
     "nameserver 10.43.0.10\nnameserver 10.0.0.2\n"
     "search web.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
     "options ndots:2 edns0\n"),
])
def test_policy_and_config(spec: dict[str, Any], expected: str | None) -> None:
    assert resolv_conf(pod(**spec), nameserver="10.43.0.10", domain="cluster.local") == expected


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ContainerConfigError, match="dnsPolicy 'Cluster'"):
        resolv_conf(pod(dnsPolicy="Cluster"), nameserver="10.43.0.10", domain="cluster.local")
