"""Small builders of the objects the controller unit tests feed to pure functions."""

from __future__ import annotations

from typing import Any

Object = dict[str, Any]


def pod(name: str, *, ip: str = "", ready: bool = True, labels: dict[str, str] | None = None,
        node: str = "", ports: list[Object] | None = None, terminating: bool = False,
        phase: str = "Running", owner: Object | None = None, namespace: str = "ns") -> Object:
    meta: Object = {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                    "labels": labels if labels is not None else {"app": "web"}}
    if terminating:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    if owner is not None:
        meta["ownerReferences"] = [owner]
    spec: Object = {"containers": [{"name": "c", "ports": ports or []}]}
    if node:
        spec["nodeName"] = node
    status: Object = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    return {"metadata": meta, "spec": spec, "status": status}


def service(name: str = "web", *, ports: list[Object] | None = None,
            selector: dict[str, str] | None = None, publish_not_ready: bool = False,
            cluster_ip: str = "127.43.0.5") -> Object:
    spec: Object = {"selector": selector if selector is not None else {"app": "web"},
                    "ports": ports if ports is not None else [
                        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
                    "clusterIP": cluster_ip}
    if publish_not_ready:
        spec["publishNotReadyAddresses"] = True
    return {"metadata": {"name": name, "namespace": "ns", "uid": "svc-uid",
                         "labels": {"team": "a"}}, "spec": spec}


HTTP = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
