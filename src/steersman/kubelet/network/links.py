"""The node-level pieces of ``bridge`` networking, made with iproute2 and sysctl files.

* **Blackhole routes** for the cluster (10.42.0.0/16) and service (10.43.0.0/16) ranges,
  installed before anything else, so a packet to an address no node bridge serves is
  dropped, never sent out through the machine's default route. A node's /24 on its bridge
  is more specific and wins. They are tagged with protocol :data:`ROUTE_PROTOCOL`: several
  agents on one machine (``up --nodes N``, or separate ``steersman agent`` processes)
  share them, and whichever agent stops last while none of its peers' /24s remain removes
  them — but only routes bearing our tag, never an administrator's.
* **The node bridge** with the gateway address (``.1`` of the node's /24) and IPv4
  forwarding switched on *for that bridge only* (``net.ipv4.conf.<bridge>.forwarding``):
  pods of two nodes on one machine reach each other through the host, while
  ``net.ipv4.ip_forward`` (every interface) keeps its value.
* **Network namespaces** pinned under ``/run/netns`` (``ip netns add``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from pathlib import Path
from typing import Any

from steersman.kubelet.network.cni import CLUSTER_CIDR, SERVICE_CIDR
from steersman.kubelet.network.interface import NetworkError

ROUTE_PROTOCOL = "242"  # an unassigned rtnetlink protocol number: "made by steersman"
NETNS_DIR = Path("/run/netns")
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
BLACKHOLED = (CLUSTER_CIDR, SERVICE_CIDR)


async def ip(*args: str) -> str:
    """Run ``ip ARGS``; its stdout, or :class:`NetworkError` with its stderr."""
    process = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await process.communicate()
    if process.returncode:
        message = stderr.decode(errors="replace").strip()
        raise NetworkError(f"ip {' '.join(args)}: {message or f'exit {process.returncode}'}")
    return stdout.decode()


async def _routes_within(network: ipaddress.IPv4Network) -> list[dict[str, Any]]:
    out = await ip("-j", "route", "show", "table", "main", "root", str(network))
    return list(json.loads(out or "[]"))


def _is_ours(route: dict[str, Any]) -> bool:
    return route.get("type") == "blackhole" and str(route.get("protocol")) == ROUTE_PROTOCOL


async def ensure_blackholes() -> None:
    """Blackhole routes for both ranges, unless a route for the range exists already."""
    for network in BLACKHOLED:
        routes = await _routes_within(network)
        if not any(r.get("dst") == str(network) for r in routes):
            try:
                await ip("route", "add", "blackhole", str(network), "proto", ROUTE_PROTOCOL)
            except NetworkError as err:
                if "File exists" not in str(err):  # a peer agent added it just now
                    raise


async def remove_unused_blackholes() -> None:
    """Remove our blackholes once no node /24 is routed inside the cluster range and no
    address of the machine lies in either range (cluster DNS's, :func:`add_local_address`)."""
    routes = await _routes_within(CLUSTER_CIDR)
    if any(not _is_ours(r) for r in routes) or await _local_addresses_within_ranges():
        return
    for network in BLACKHOLED:
        for route in await _routes_within(network):
            if route.get("dst") == str(network) and _is_ours(route):
                await _ignore_gone(ip("route", "del", "blackhole", str(network),
                                      "proto", ROUTE_PROTOCOL))


async def _local_addresses_within_ranges() -> bool:
    for network in BLACKHOLED:
        out = await ip("-j", "route", "show", "table", "local", "root", str(network))
        if json.loads(out or "[]"):
            return True
    return False


async def add_local_address(address: str) -> bool:
    """``address``/32 on the loopback device, after the blackholes (so that nothing else of
    its range is ever routed out); False when the machine has it already (not ours)."""
    if json.loads(await ip("-j", "addr", "show", "to", f"{address}/32") or "[]"):
        return False
    await ensure_blackholes()
    await ip("addr", "add", f"{address}/32", "dev", "lo")
    return True


async def delete_local_address(address: str) -> None:
    """Undo :func:`add_local_address`, and the blackholes too if nothing uses them now."""
    await _ignore_gone(ip("addr", "del", f"{address}/32", "dev", "lo"))
    await remove_unused_blackholes()


async def ensure_bridge(name: str, subnet: ipaddress.IPv4Network) -> None:
    """The bridge ``name`` with the subnet's ``.1``, up, forwarding between bridges."""
    gateway = f"{subnet.network_address + 1}/{subnet.prefixlen}"
    await _check_subnet_free(name, subnet)
    if not link_exists(name):
        await ip("link", "add", name, "type", "bridge")
    addresses = json.loads(await ip("-j", "addr", "show", "dev", name) or "[]")
    present = {f"{a['local']}/{a['prefixlen']}" for link in addresses
               for a in link.get("addr_info", ()) if a.get("family") == "inet"}
    if gateway not in present:
        await ip("addr", "add", gateway, "dev", name)
    await ip("link", "set", name, "up")
    enable_forwarding(name)


async def _check_subnet_free(name: str, subnet: ipaddress.IPv4Network) -> None:
    for route in await _routes_within(subnet):
        device = route.get("dev")
        if not _is_ours(route) and device and device != name:
            raise NetworkError(f"pod range {subnet} is already routed to {device}; another "
                               "node on this machine uses it (pick another --pod-cidr)")


async def delete_bridge(name: str) -> None:
    if link_exists(name):
        await _ignore_gone(ip("link", "del", name))


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def enable_forwarding(name: str) -> None:
    """IPv4 forwarding for packets that arrive on ``name`` (this interface only)."""
    Path(f"/proc/sys/net/ipv4/conf/{name}/forwarding").write_text("1")


def netns_path(name: str) -> Path:
    return NETNS_DIR / name


async def add_netns(name: str) -> Path:
    await ip("netns", "add", name)
    return netns_path(name)


async def delete_netns(name: str) -> None:
    if netns_path(name).exists():
        await _ignore_gone(ip("netns", "delete", name))


def read_ip_forward() -> str:
    return IP_FORWARD.read_text().strip()


def restore_ip_forward(value: str) -> bool:
    """Put ``net.ipv4.ip_forward`` back to ``value`` if something changed it; whether it did.

    Writing it sets every interface's ``forwarding`` too: a node bridge needs its own again.
    """
    if read_ip_forward() == value:
        return False
    IP_FORWARD.write_text(value)
    return True


async def _ignore_gone(command: Any) -> None:
    """Run an ``ip`` deletion; what is already gone is not an error (peers share it)."""
    try:
        await command
    except NetworkError as err:
        text = str(err)
        if not any(gone in text for gone in ("No such", "Cannot find", "does not exist")):
            raise


def read_route_localnet(name: str) -> str:
    """``net.ipv4.conf.<name>.route_localnet`` ("" when the interface is gone)."""
    path = Path(f"/proc/sys/net/ipv4/conf/{name}/route_localnet")
    return path.read_text().strip() if path.exists() else ""


def restore_route_localnet(name: str, value: str) -> None:
    """Put ``route_localnet`` of ``name`` back to ``value`` if something changed it."""
    if value and read_route_localnet(name) not in ("", value):
        Path(f"/proc/sys/net/ipv4/conf/{name}/route_localnet").write_text(value)
