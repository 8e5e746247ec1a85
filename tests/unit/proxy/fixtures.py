"""Services and EndpointSlices as the API serves them, for the proxy's tests."""

from __future__ import annotations

from typing import Any

Object = dict[str, Any]


def service(name: str, *, cluster_ip: str = "127.43.0.5", port: int = 80,
            namespace: str = "ns", **spec: Any) -> Object:
    ports = spec.pop("ports", [{"name": "http", "port": port, "protocol": "TCP",
                                "targetPort": 8080}])
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                         "labels": spec.pop("labels", {})},
            "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "ports": ports, **spec},
            "status": spec.pop("status", {})}


def endpoint(ip: str, *, node: str = "n1", ready: bool = True, serving: bool | None = None,
             terminating: bool = False) -> Object:
    serving = ready if serving is None else serving
    return {"addresses": [ip], "nodeName": node,
            "conditions": {"ready": ready, "serving": serving, "terminating": terminating}}


def endpoint_slice(service_name: str, *endpoints: Object, port: int = 8080,
                   port_name: str = "http", protocol: str = "TCP", namespace: str = "ns",
                   suffix: str = "a") -> Object:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{service_name}-{suffix}", "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": "IPv4", "endpoints": list(endpoints),
            "ports": [{"name": port_name, "port": port, "protocol": protocol}]}
