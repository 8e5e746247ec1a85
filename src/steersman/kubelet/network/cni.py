"""CNI plugins, invoked as the CNI specification says (v1.0.0).

A plugin is an executable in ``CNI_PATH`` (Debian: ``/usr/lib/cni``); the runtime runs it
with ``CNI_COMMAND`` (``ADD`` / ``DEL``), ``CNI_CONTAINERID``, ``CNI_NETNS``,
``CNI_IFNAME`` and ``CNI_PATH`` in its environment and the network configuration as JSON
on stdin. ``ADD`` prints a result (``ips``, ``routes``, ``interfaces``); a failure exits
non-zero and prints an error object (``code``, ``msg``, ``details``), which
:func:`invoke` raises as a :class:`CniError` that says which plugin and command failed.

:func:`bridge_config` and :func:`loopback_config` write the two configurations the
``bridge`` network uses. The bridge plugin is told ``isGateway: false`` because the node
creates the bridge and its gateway address itself (:mod:`.links`): with ``isGateway`` the
plugin would switch on ``net.ipv4.ip_forward`` machine-wide. ``ipMasq`` is off and the pod
gets routes to the cluster and service ranges only, never a default route, so nothing a
pod sends can leave the machine. ``CHECK`` is not used (both plugins fail it on this
Debian release).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steersman.kubelet.network.interface import NetworkError

CNI_VERSION = "1.0.0"
DEFAULT_CNI_PATH = Path("/usr/lib/cni")
CLUSTER_CIDR = ipaddress.IPv4Network("10.42.0.0/16")
SERVICE_CIDR = ipaddress.IPv4Network("10.43.0.0/16")
Object = dict[str, Any]


class CniError(NetworkError):
    """A plugin failed; ``code`` is the CNI error code (0: no error object was printed)."""

    def __init__(self, message: str, *, code: int = 0) -> None:
        super().__init__(message, reason="CNIError")
        self.code = code


@dataclass(frozen=True, slots=True)
class BridgeSpec:
    """One node's bridge network: its CNI name, bridge, /24 and IPAM state directory."""

    name: str
    bridge: str
    subnet: ipaddress.IPv4Network
    ipam_dir: Path

    @property
    def gateway(self) -> str:
        return str(self.subnet.network_address + 1)


def bridge_config(spec: BridgeSpec) -> Object:
    """The bridge plugin's configuration: host-local addresses ``.2`` to ``.254`` of the /24."""
    first, last = spec.subnet.network_address + 2, spec.subnet.broadcast_address - 1
    return {
        "cniVersion": CNI_VERSION, "name": spec.name, "type": "bridge",
        "bridge": spec.bridge, "isGateway": False, "ipMasq": False, "hairpinMode": True,
        "ipam": {
            "type": "host-local", "dataDir": str(spec.ipam_dir),
            "ranges": [[{"subnet": str(spec.subnet), "gateway": spec.gateway,
                         "rangeStart": str(first), "rangeEnd": str(last)}]],
            "routes": [{"dst": str(CLUSTER_CIDR)}, {"dst": str(SERVICE_CIDR)}],
        },
    }


def loopback_config() -> Object:
    return {"cniVersion": CNI_VERSION, "name": "lo", "type": "loopback"}


def pod_ip(result: Object) -> str:
    """The first IPv4 address of an ``ADD`` result, without its prefix length."""
    for entry in result.get("ips") or ():
        address = str((entry or {}).get("address") or "")
        try:
            interface = ipaddress.ip_interface(address)
        except ValueError:
            continue
        if interface.version == 4:
            return str(interface.ip)
    raise CniError(f"the CNI result has no IPv4 address: {json.dumps(result)[:300]}")


def parse_output(plugin: str, command: str, returncode: int, stdout: bytes,
                 stderr: bytes) -> Object:
    """A plugin's result, or the :class:`CniError` its output and exit code describe."""
    try:
        document = json.loads(stdout) if stdout.strip() else {}
    except ValueError:
        document = None
    if returncode == 0 and isinstance(document, dict):
        return document
    if isinstance(document, dict) and document.get("msg"):
        detail = f": {document['details']}" if document.get("details") else ""
        raise CniError(f"CNI {plugin} {command} failed: {document['msg']}{detail}",
                       code=int(document.get("code") or 0))
    text = (stderr or stdout).decode(errors="replace").strip()[:500]
    what = f"exit code {returncode}" if returncode else "output that is not a JSON object"
    raise CniError(f"CNI {plugin} {command} failed ({what}): {text or 'no output'}")


async def invoke(command: str, config: Object, *, container_id: str, netns: str,
                 ifname: str, cni_path: Path = DEFAULT_CNI_PATH) -> Object:
    """Run the plugin ``config['type']`` with ``command`` and return its parsed result."""
    plugin = str(config["type"])
    executable = cni_path / plugin
    if not os.access(executable, os.X_OK):
        raise CniError(f"CNI plugin {plugin!r} not found in {cni_path} (Debian: apt-get "
                       "install containernetworking-plugins)")
    env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container_id, "CNI_NETNS": netns,
           "CNI_IFNAME": ifname, "CNI_PATH": str(cni_path),
           "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
    process = await asyncio.create_subprocess_exec(
        str(executable), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env)
    stdout, stderr = await process.communicate(json.dumps(config).encode())
    return parse_output(plugin, command, process.returncode or 0, stdout, stderr)
