"""Which pods back a Service, and on which ports: shared by the Endpoints and EndpointSlice
controllers.

A Service with a ``spec.selector`` is backed by the pods of its namespace whose labels
contain the selector, that have an IPv4 address and are not finished; terminating pods
are left to the caller (EndpointSlices keep them with ``terminating: true``, Endpoints drop
them unless ``publishNotReadyAddresses``). A service port's ``targetPort`` is resolved per
pod (``podutil.FindPort``): a number is used as it is, a name is looked up among the pod's
container ports of the same protocol; a pod without that named port does not serve it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from steersman.controllers.podstate import is_terminal, is_terminating

Object = dict[str, Any]
HEADLESS_LABEL = "service.kubernetes.io/headless"


@dataclass(frozen=True, order=True)
class EndpointPort:
    """One resolved port of an endpoint: the service port's name, the pod's port number."""

    name: str
    port: int
    protocol: str = "TCP"
    app_protocol: str = ""

    def to_dict(self, *, omit_empty_name: bool = False) -> Object:
        port: Object = {"name": self.name, "port": self.port, "protocol": self.protocol}
        if omit_empty_name and not self.name:
            del port["name"]
        if self.app_protocol:
            port["appProtocol"] = self.app_protocol
        return port

    @classmethod
    def from_dict(cls, port: Mapping[str, Any]) -> EndpointPort:
        return cls(str(port.get("name") or ""), int(port.get("port") or 0),
                   str(port.get("protocol") or "TCP"), str(port.get("appProtocol") or ""))


def ipv4_address(pod: Object) -> str:
    """The pod's IPv4 address from ``status.podIPs`` (or ``status.podIP``); ``""`` if none."""
    status = pod.get("status") or {}
    candidates = [str(entry.get("ip") or "") for entry in status.get("podIPs") or []
                  if isinstance(entry, dict)]
    candidates.append(str(status.get("podIP") or ""))
    for candidate in candidates:
        try:
            if ipaddress.ip_address(candidate).version == 4:
                return candidate
        except ValueError:
            continue
    return ""


def selector(service: Object) -> dict[str, str]:
    return dict((service.get("spec") or {}).get("selector") or {})


def has_selector(service: Object) -> bool:
    """Whether the endpoint controllers manage this Service (ExternalName ones never)."""
    spec = service.get("spec") or {}
    return bool(selector(service)) and spec.get("type") != "ExternalName"


def is_headless(service: Object) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def publishes_not_ready(service: Object) -> bool:
    return bool((service.get("spec") or {}).get("publishNotReadyAddresses"))


def selects(service: Object, pod: Object) -> bool:
    wanted = selector(service)
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


def backing_pods(service: Object, pods: Iterable[Object], *,
                 include_terminating: bool) -> list[Object]:
    """The selected pods that can serve: addressed, not finished; sorted by name."""
    chosen = [pod for pod in pods if selects(service, pod) and ipv4_address(pod)
              and not is_terminal(pod) and (include_terminating or not is_terminating(pod))]
    return sorted(chosen, key=lambda pod: str(pod["metadata"].get("name", "")))


def resolve_ports(service: Object, pod: Object) -> tuple[EndpointPort, ...]:
    """The service's ports as this pod serves them, in the service's order."""
    resolved = []
    for port in (service.get("spec") or {}).get("ports") or []:
        protocol = str(port.get("protocol") or "TCP")
        number = find_port(pod, port.get("targetPort", port.get("port")), protocol)
        if number is not None:
            resolved.append(EndpointPort(str(port.get("name") or ""), number, protocol,
                                         str(port.get("appProtocol") or "")))
    return tuple(resolved)


def find_port(pod: Object, target: Any, protocol: str) -> int | None:
    """``FindPort``: a numeric target as is; a named one from the pod's container ports."""
    if isinstance(target, int) and not isinstance(target, bool):
        return target if target > 0 else None
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port.get("containerPort") or 0) or None
    return None


def hostname_for(service: Object, pod: Object) -> str:
    """``ShouldSetHostname``: the pod's hostname when its subdomain is this Service."""
    spec = pod.get("spec") or {}
    same_namespace = (service["metadata"].get("namespace")
                      == (pod.get("metadata") or {}).get("namespace"))
    if spec.get("hostname") and spec.get("subdomain") == service["metadata"].get("name"):
        return str(spec["hostname"]) if same_namespace else ""
    return ""


def target_ref(pod: Object) -> Object:
    meta = pod.get("metadata") or {}
    return {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
            "uid": meta.get("uid", "")}


def endpoint_labels(service: Object) -> dict[str, str]:
    """The Service's labels, plus the headless marker for a headless Service."""
    labels = {k: v for k, v in ((service.get("metadata") or {}).get("labels") or {}).items()
              if k != HEADLESS_LABEL}
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    return labels


def service_owner(service: Object) -> Object:
    meta = service["metadata"]
    return {"apiVersion": "v1", "kind": "Service", "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True}
