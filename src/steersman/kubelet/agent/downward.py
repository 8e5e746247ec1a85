"""The downward API: a pod's own fields and its containers' resources as strings.

Shared by environment variables (``fieldRef``, ``resourceFieldRef``) and downwardAPI and
projected volumes (``kubelet_pods.go`` ``podFieldSelectorRuntimeValue``,
``resource/helpers.go`` ``ExtractResourceValueByContainerName``). ``status.podIP`` is the
address this agent gave the pod, passed in because the pod object may not show it yet.
An unknown path is a :class:`ContainerConfigError`, which the worker reports as
``CreateContainerConfigError`` — never an empty string in silence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from steersman.api.quantity import parse_quantity

Object = dict[str, Any]

_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class ContainerConfigError(Exception):
    """A container cannot be configured (missing key, bad reference): shown as its reason."""

    def __init__(self, message: str, *, reason: str = "CreateContainerConfigError") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class PodAddresses:
    """Where the pod runs: the node's name and IP, and the pod's IP."""

    node_name: str
    host_ip: str
    pod_ip: str


def field_value(pod: Object, path: str, addresses: PodAddresses) -> str:
    """The value of a ``fieldRef.fieldPath`` of ``pod``."""
    metadata, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    simple = {
        "metadata.name": metadata.get("name"), "metadata.namespace": metadata.get("namespace"),
        "metadata.uid": metadata.get("uid"), "spec.nodeName": addresses.node_name,
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": addresses.host_ip, "status.hostIPs": addresses.host_ip,
        "status.podIP": addresses.pod_ip, "status.podIPs": addresses.pod_ip,
    }
    if path in simple:
        return str(simple[path] or "")
    if path in ("metadata.labels", "metadata.annotations"):
        return format_map(metadata.get(path.split(".")[1]) or {})
    match = _SUBSCRIPT.match(path)
    if match:
        return str((metadata.get(match.group(1)) or {}).get(match.group(2), ""))
    raise ContainerConfigError(f"unsupported fieldPath {path!r}")


def format_map(values: Mapping[str, Any]) -> str:
    """Labels or annotations as the downward API writes them: ``k="v"`` lines, sorted."""
    return "\n".join(f'{key}="{_escape(str(value))}"' for key, value in sorted(values.items()))


def resource_value(container: Object, resource: str, divisor: str,
                   allocatable: Mapping[str, str]) -> str:
    """``limits.cpu`` & co. of ``container`` divided by ``divisor``, rounded up.

    An unset limit reads as the node's allocatable, as in the kubelet.
    """
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or not name:
        raise ContainerConfigError(f"unsupported resource {resource!r}")
    amounts = (container.get("resources") or {}).get(kind) or {}
    raw = amounts.get(name)
    if raw is None and kind == "limits":
        raw = allocatable.get(name)
    if raw is None:
        return "0"
    divide_by = parse_quantity(divisor or "1")
    if divide_by == 0:
        raise ContainerConfigError(f"divisor of {resource} must not be zero")
    return str(math.ceil(parse_quantity(str(raw)) / divide_by))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
