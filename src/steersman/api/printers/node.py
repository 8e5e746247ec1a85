"""Node rows (``printNode``): Ready/NotReady status, roles from labels, node info."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import NONE, UNKNOWN, age, items, mapping, name_of, text
from steersman.api.printers.columns import AGE, NAME, WIDE, Printer, api, col

_ROLE_PREFIX = "node-role.kubernetes.io/"
_ROLE_LABEL = "kubernetes.io/role"

_COLUMNS = (
    NAME,
    col("Status", "The status of the node"),
    col("Roles", "The roles of the node"),
    AGE,
    col("Version", api("core.v1.NodeSystemInfo", "kubeletVersion")),
    col("Internal-IP", api("core.v1.NodeStatus", "addresses"), priority=WIDE),
    col("External-IP", api("core.v1.NodeStatus", "addresses"), priority=WIDE),
    col("OS-Image", api("core.v1.NodeSystemInfo", "osImage"), priority=WIDE),
    col("Kernel-Version", api("core.v1.NodeSystemInfo", "kernelVersion"), priority=WIDE),
    col("Container-Runtime", api("core.v1.NodeSystemInfo", "containerRuntimeVersion"),
        priority=WIDE),
)


def node_cells(node: Mapping[str, Any], now: float) -> list[Any]:
    info = mapping(node, "status", "nodeInfo")
    return [
        name_of(node), _status(node), _roles(node), age(node, now),
        text(info, "kubeletVersion"),
        _address(node, "InternalIP"), _address(node, "ExternalIP"),
        text(info, "osImage") or UNKNOWN,
        text(info, "kernelVersion") or UNKNOWN,
        text(info, "containerRuntimeVersion") or UNKNOWN,
    ]


def _status(node: Mapping[str, Any]) -> str:
    by_type = {text(c, "type"): c for c in items(node, "status", "conditions")}
    ready = by_type.get("Ready")
    if ready is None:
        status = ["Unknown"]
    else:
        status = ["Ready" if text(ready, "status") == "True" else "NotReady"]
    if mapping(node, "spec").get("unschedulable") is True:
        status.append("SchedulingDisabled")
    return ",".join(status)


def _roles(node: Mapping[str, Any]) -> str:
    roles: set[str] = set()
    for key, value in mapping(node, "metadata", "labels").items():
        if key.startswith(_ROLE_PREFIX) and len(key) > len(_ROLE_PREFIX):
            roles.add(key[len(_ROLE_PREFIX):])
        elif key == _ROLE_LABEL and value:
            roles.add(str(value))
    return ",".join(sorted(roles)) or NONE


def _address(node: Mapping[str, Any], kind: str) -> str:
    for address in items(node, "status", "addresses"):
        if text(address, "type") == kind:
            return text(address, "address")
    return NONE


PRINTERS = {"Node": Printer(_COLUMNS, node_cells)}
