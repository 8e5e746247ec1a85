"""``hostPort`` in ``bridge`` mode: the CNI ``portmap`` plugin and what it leaves behind.

:func:`portmap_config` is the chained configuration (``capabilities.portMappings``,
``snat: true``, the bridge ``ADD`` result as ``prevResult``, the pod's mappings as
``runtimeConfig.portMappings`` on the node's address). portmap DNATs
``node address:hostPort`` to ``pod IP:containerPort`` in iptables' ``nat`` table through a
chain per pod (``CNI-DN-<hash of network name and pod UID>``, removed by its ``DEL``) hung
from three chains it shares with every portmap user of the machine — ``CNI-HOSTPORT-DNAT``,
``-SETMARK`` and ``-MASQ``, jumped to from ``PREROUTING``, ``OUTPUT`` and ``POSTROUTING`` —
which ``DEL`` never removes (docs/networking.md), nor the ``ip nat`` / ``ip6 nat`` tables
iptables-nft made for them. :func:`note_chains_made` records, in a machine-wide marker under
``/run`` (gone at reboot, like the rules), that steersman's ``ADD`` created the chains and
which of those tables existed before; :func:`remove_unused_chains`, called when a node
stops with no pod left, removes the chains, their jumps and the tables made for them only
if the marker says they are ours and no pod of any node maps a port through them any more
(and a table only while it holds no rule) — never what another portmap user made.
"""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from steersman.kubelet.network.cni import CNI_VERSION, Object
from steersman.kubelet.network.interface import HostPort, NetworkError

SHARED_CHAINS = ("CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ")
MARKER = Path("/run/steersman/cni-hostport-chains")
NAT_FAMILIES = ("ip", "ip6")
BUILTIN_CHAINS = ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")
_CLEANING = asyncio.Lock()


def portmap_config(name: str, ports: tuple[HostPort, ...],
                   prev_result: Object | None) -> Object:
    """The portmap plugin's configuration, chained after the bridge plugin's ``ADD``
    (``prev_result`` None: for ``DEL``, which needs none)."""
    mappings = [{"hostPort": p.host_port, "containerPort": p.container_port,
                 "protocol": p.protocol.lower(), "hostIP": p.host_ip} for p in ports]
    config: Object = {"cniVersion": CNI_VERSION, "name": name, "type": "portmap",
                      "capabilities": {"portMappings": True}, "snat": True,
                      "runtimeConfig": {"portMappings": mappings}}
    if prev_result is not None:
        config["prevResult"] = prev_result
    return config


async def iptables(*args: str) -> str:
    """Run ``iptables -w -t nat ARGS``; its stdout, or :class:`NetworkError`."""
    return await _run("iptables", "-w", "-t", "nat", *args)


async def _run(*command: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await process.communicate()
    if process.returncode:
        message = stderr.decode(errors="replace").strip()
        raise NetworkError(f"{' '.join(command)}: {message or f'exit {process.returncode}'}")
    return stdout.decode()


async def shared_chains_exist() -> bool:
    try:
        await iptables("-S", SHARED_CHAINS[0])
    except NetworkError:
        return False
    return True


async def nat_tables() -> list[str]:
    """The families (``ip``, ``ip6``) that have a ``nat`` table now."""
    listing = await _run("nft", "list", "tables")
    return [family for family in NAT_FAMILIES if f"table {family} nat" in listing]


def note_chains_made(tables_before: list[str]) -> None:
    MARKER.parent.mkdir(parents=True, exist_ok=True)
    MARKER.write_text(json.dumps({"tablesBefore": tables_before}))


def marked() -> bool:
    return MARKER.exists()


def tables_before() -> list[str]:
    return list(json.loads(MARKER.read_text() or "{}").get("tablesBefore") or [])


def unmark() -> None:
    MARKER.unlink(missing_ok=True)


async def remove_unused_chains() -> None:
    """Remove the shared chains and their jumps if we made them and no pod uses them."""
    async with _CLEANING:  # the nodes of one ``up`` stop together
        if not marked():
            return
        if await shared_chains_exist():
            in_use = [r for r in (await iptables("-S", SHARED_CHAINS[0])).splitlines()
                      if r.startswith("-A ")]
            if in_use:
                return  # another node's pod still maps a port: the last node removes them
            await _remove_shared_chains()
        kept = tables_before()
        for family in await nat_tables():
            if family not in kept and await _without_rules(family):
                await _ignore_missing(_run("nft", "delete", "table", family, "nat"))
        unmark()


async def _remove_shared_chains() -> None:
    for rule in (await iptables("-S")).splitlines():
        if rule.startswith("-A ") and any(f"-j {c}" in rule for c in SHARED_CHAINS):
            await _ignore_missing(iptables("-D", *shlex.split(rule)[1:]))
    for chain in SHARED_CHAINS:
        await _ignore_missing(iptables("-F", chain))
        await _ignore_missing(iptables("-X", chain))


async def _without_rules(family: str) -> bool:
    listing = json.loads(await _run("nft", "-j", "list", "table", family, "nat"))
    objects = listing.get("nftables") or []
    return not any("rule" in o or "set" in o or "map" in o for o in objects) and all(
        o["chain"]["name"] in BUILTIN_CHAINS for o in objects if "chain" in o)


async def _ignore_missing(command: Coroutine[Any, Any, str]) -> None:
    """Run a deletion; what is already gone is not an error (the nodes of ``up`` stop
    together, and each may be removing the same leftovers)."""
    try:
        await command
    except NetworkError as err:
        if not any(gone in str(err) for gone in _GONE):
            raise


_GONE = ("No chain", "does not exist", "Bad rule", "No such file", "is incompatible")
