"""The agent's Node: registration, the Lease every 10 s, and the periodic status post.

:func:`build_node` fills what a kubelet registers (``kubelet_node_status.go``): the
kubernetes.io labels plus ``--labels``, ``--taints``, capacity = allocatable from
:class:`~.config.AgentConfig`, InternalIP and Hostname addresses, a complete ``nodeInfo``
from this machine (kernel, OS image, boot ID, machine ID, the runtime's name and version)
and the port its streaming server is bound to (``daemonEndpoints``; 0: it serves none).
:class:`NodeHeartbeat` registers (or resumes an existing Node: its
spec and labels are kept, the status is replaced) and then renews the Lease every
``lease_interval`` — after a failure sooner, 0.2 s doubling to 7 s (kubelet's lease
controller) — and re-posts the conditions every ``status_interval``. An API server that is
away only delays these writes.
"""

from __future__ import annotations

import logging
import platform
import uuid
from pathlib import Path
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.meta import now_rfc3339
from steersman.client import NODES, Client, Clock, PatchType, ServerUnreachable
from steersman.kubelet.agent.config import AgentConfig
from steersman.kubelet.lease import write_lease
from steersman.kubelet.node_status import (
    KUBELET_VERSION,
    heartbeat_patch,
    machine_id,
    node_conditions,
)

log = logging.getLogger(__name__)
Object = dict[str, Any]
_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
_RETRY_BASE, _RETRY_CAP = 0.2, 7.0


def node_info(name: str, runtime: str) -> Object:
    """``status.nodeInfo`` of this machine; ``runtime`` is ``name://version``."""
    machine = _read("/etc/machine-id") or machine_id(name)
    return {
        "architecture": architecture(), "bootID": _read("/proc/sys/kernel/random/boot_id"),
        "containerRuntimeVersion": runtime, "kernelVersion": platform.release(),
        "kubeProxyVersion": KUBELET_VERSION, "kubeletVersion": KUBELET_VERSION,
        "machineID": machine, "operatingSystem": "linux", "osImage": _os_image(),
        "systemUUID": str(uuid.UUID(machine_id(name))),
    }


def architecture() -> str:
    machine = platform.machine().lower()
    return _GO_ARCH.get(machine, machine or "amd64")


def build_node(config: AgentConfig, runtime: str, now: str, *, kubelet_port: int) -> Object:
    """The Node the agent registers, status included."""
    arch, name = architecture(), config.node_name
    labels = {"beta.kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux",
              "kubernetes.io/arch": arch, "kubernetes.io/hostname": name,
              "kubernetes.io/os": "linux", **config.labels}
    spec: Object = {"podCIDR": config.pod_cidr, "podCIDRs": [config.pod_cidr]}
    if config.taints:
        spec["taints"] = [dict(taint) for taint in config.taints]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": spec, "status": node_status(config, runtime, now, kubelet_port=kubelet_port)}


def node_status(config: AgentConfig, runtime: str, now: str, *, kubelet_port: int) -> Object:
    capacity = config.capacity()
    return {
        "capacity": capacity, "allocatable": dict(capacity),
        "conditions": node_conditions(now),
        "addresses": [{"type": "InternalIP", "address": config.node_ip},
                      {"type": "Hostname", "address": config.node_name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "nodeInfo": node_info(config.node_name, runtime),
    }


class NodeHeartbeat:
    """Registers the Node, then keeps its Lease and status fresh until cancelled."""

    def __init__(self, client: Client, config: AgentConfig, *, runtime: str,
                 clock: Clock) -> None:
        self._client = client
        self._config = config
        self._runtime = runtime
        self._clock = clock
        self.kubelet_port = 0  # the streaming server's, once bound
        self.uid = ""
        self.lease_version = ""
        self._ready_since = ""
        self.allocatable: dict[str, str] = {}

    @property
    def name(self) -> str:
        return self._config.node_name

    async def register(self) -> None:
        """Create the Node, or put a fresh status on the one that exists."""
        now = now_rfc3339(self._clock.now())
        node = build_node(self._config, self._runtime, now, kubelet_port=self.kubelet_port)
        try:
            written = await self._client.create(NODES, node)
        except StatusError as err:
            if err.code != 409:
                raise
            existing = await self._client.get(NODES, self.name)
            written = await self._client.update_status(NODES, {**existing,
                                                               "status": node["status"]})
        self.uid = str(written["metadata"].get("uid") or "")
        self.allocatable = dict(written["status"].get("allocatable") or {})
        self._ready_since = now
        log.info("node %s registered (pod range %s)", self.name, self._config.pod_cidr)

    async def run(self) -> None:
        """Renew the Lease and refresh the status until cancelled."""
        failures, next_status = 0, self._clock.now()
        while True:
            failures = await self._renew(failures)
            due = failures == 0 and self._clock.now() >= next_status
            if due and await self._post_status():
                next_status = self._clock.now() + self._config.status_interval
            delay = self._config.lease_interval if failures == 0 else \
                min(_RETRY_BASE * 2 ** (failures - 1), _RETRY_CAP)
            await self._clock.sleep(delay)

    async def _renew(self, failures: int) -> int:
        try:
            await write_lease(self._client, self,
                              duration_seconds=self._config.lease_duration_seconds,
                              now_seconds=self._clock.now())
        except (StatusError, ServerUnreachable, OSError) as err:
            log.warning("lease renewal of %s failed: %s", self.name, err)
            return failures + 1
        return 0

    async def _post_status(self) -> bool:
        patch = heartbeat_patch(now_rfc3339(self._clock.now()), self._ready_since)
        try:
            await self._client.patch(NODES, self.name, patch, patch_type=PatchType.MERGE,
                                     subresource="status")
        except StatusError as err:
            if err.code == 404:
                await self.register()
            return False
        except (ServerUnreachable, OSError) as err:
            log.warning("status of %s not posted: %s", self.name, err)
            return False
        return True


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return "Linux"
