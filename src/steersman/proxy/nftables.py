"""The ``nftables`` backend: DNAT rules in the node's own table, one atomic ``nft -f`` per sync.

For ``bridge`` pod networking (root). Each sync renders the whole table with
:func:`render_ruleset` and replaces it in a single ``nft -f`` transaction (create, delete,
re-create: the kernel applies all or nothing), as kube-proxy's nftables mode does for a full
resync; :meth:`NftablesBackend.close` deletes the table. Nothing outside the table is touched.

The table (``ip steersman-<node>``) holds:

* ``nat-prerouting`` / ``nat-output`` (priority -100, dstnat): ``services`` matches ClusterIP:port,
  load-balancer IP:port and — for destinations that are local addresses
  (``fib daddr type local``) — nodePort, and jumps to the route's chain;
* a route chain per Service side: ClientIP affinity first (an address in the endpoint's
  timed ``dynamic`` set goes straight back to it), then ``numgen random mod N`` over a
  verdict map of endpoint chains; each endpoint chain refreshes its affinity set and DNATs;
* ``filter-prerouting`` / ``filter-output`` (priority -110, before DNAT): drop
  load-balancer traffic from outside ``loadBalancerSourceRanges``, reject traffic to a
  Service without endpoints;
* ``nat-postrouting`` (srcnat): **hairpin** masquerade of DNAT'd traffic whose source and
  endpoint share a /24 of the pod range :data:`POD_RANGE` (one node bridge). The endpoint
  would answer its neighbour straight over the bridge, past the host's conntrack, and the
  client would get a reply from the pod IP instead of the ClusterIP; sourced from the
  bridge's gateway, the reply comes back through the host and is translated. (kube-proxy relies on
  ``br_netfilter`` for that instead, a machine-wide switch.) Nothing else is masqueraded:
  the destination is always a pod of this machine.

No routes: the caller's pod network decides how packets travel.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from steersman.proxy.backend import BindFailure
from steersman.proxy.model import Endpoint, Frontend, ProxyTable, Route

_HEADER = """\
table ip {table}
delete table ip {table}
table ip {table} {{
  chain nat-prerouting {{
    type nat hook prerouting priority -100; policy accept;
    jump services
  }}
  chain nat-output {{
    type nat hook output priority -100; policy accept;
    jump services
  }}
  chain nat-postrouting {{
    type nat hook postrouting priority 100; policy accept;
    jump hairpin
  }}
  chain filter-prerouting {{
    type filter hook prerouting priority -110; policy accept;
    jump firewall
  }}
  chain filter-output {{
    type filter hook output priority -110; policy accept;
    jump firewall
  }}
"""


# Bridge pod networking's range, a /24 per node bridge (steersman.kubelet.network.cni, which
# this layer may not import): endpoints elsewhere (cluster DNS on a host address, the API
# server) are never reached over a bridge, so never hairpinned.
POD_RANGE = ipaddress.IPv4Network("10.42.0.0/16")


class NftError(RuntimeError):
    """``nft`` refused a ruleset (a bug here) or could not run."""


@dataclass
class _Names:
    """Chain names for this sync: ``svc-<n>`` per route (its endpoints' chains add
    ``-ep-<i>``); the whole table is replaced each time, so they need not last."""

    routes: dict[str, str] = field(default_factory=dict)

    def route(self, route: Route) -> str:
        return self.routes.setdefault(route.name, f"svc-{len(self.routes)}")


def table_name(node_name: str) -> str:
    return "steersman-" + re.sub(r"[^A-Za-z0-9_-]", "-", node_name)


def render_ruleset(table: str, proxy_table: ProxyTable) -> str:
    """The ``nft -f`` script that replaces ``table`` with the rules of ``proxy_table``."""
    names = _Names()
    routes = sorted(proxy_table.routes.items())
    services = [_service_rule(frontend, names.route(route)) for frontend, route in routes
                if route.endpoints]
    firewall = [rule for frontend, route in routes for rule in _firewall_rules(frontend, route)]
    chains: dict[str, Route] = {}
    for _, route in routes:
        chains.setdefault(names.route(route), route)
    lines = [_HEADER.format(table=table)]
    lines.append(_chain("services", services))
    lines.append(_chain("firewall", firewall))
    lines.append(_chain("hairpin", _hairpin_rules(proxy_table)))
    for chain, route in chains.items():
        lines.extend(_route_chains(chain, route))
    lines.append("}\n")
    return "".join(lines)


def _chain(name: str, rules: Sequence[str], preamble: str = "") -> str:
    body = "".join(f"    {rule}\n" for rule in rules)
    return f"  chain {name} {{\n{preamble}{body}  }}\n"


def _match(frontend: Frontend) -> str:
    proto = frontend.protocol.lower()
    if frontend.ip == "0.0.0.0":
        return f"fib daddr type local {proto} dport {frontend.port}"
    return f"ip daddr {frontend.ip} {proto} dport {frontend.port}"


def _service_rule(frontend: Frontend, chain: str) -> str:
    return f"{_match(frontend)} jump {chain}"


def _firewall_rules(frontend: Frontend, route: Route) -> list[str]:
    rules = []
    if route.source_ranges:
        allowed = ", ".join(str(network) for network in route.source_ranges)
        rules.append(f"{_match(frontend)} ip saddr != {{ {allowed} }} drop")
    if not route.endpoints:
        reset = "tcp reset" if frontend.protocol == "TCP" else "icmp type port-unreachable"
        rules.append(f"{_match(frontend)} reject with {reset}")
    return rules


def _hairpin_rules(proxy_table: ProxyTable) -> list[str]:
    subnets = sorted({ipaddress.IPv4Network(f"{endpoint.ip}/24", strict=False)
                      for route in proxy_table.routes.values() for endpoint in route.endpoints
                      if _in_pod_range(endpoint.ip)})
    return [f"ct status dnat ip saddr {subnet} ip daddr {subnet} masquerade"
            for subnet in subnets]


def _in_pod_range(text: str) -> bool:
    try:
        return ipaddress.IPv4Address(text) in POD_RANGE
    except ValueError:
        return False


def _route_chains(chain: str, route: Route) -> list[str]:
    if not route.endpoints:
        return []
    endpoint_chains = [f"{chain}-ep-{index}" for index in range(len(route.endpoints))]
    rules: list[str] = []
    sets = ""
    if route.affinity_seconds is not None:
        sets = "".join(_affinity_set(name, route.affinity_seconds) for name in endpoint_chains)
        rules.extend(f"ip saddr @{name} goto {name}" for name in endpoint_chains)
    choices = ", ".join(f"{i} : goto {name}" for i, name in enumerate(endpoint_chains))
    rules.append(f"numgen random mod {len(endpoint_chains)} vmap {{ {choices} }}")
    rendered = [sets, _chain(chain, rules)]
    for name, endpoint in zip(endpoint_chains, route.endpoints, strict=True):
        rendered.append(_endpoint_chain(name, endpoint, route))
    return rendered


def _affinity_set(name: str, seconds: int) -> str:
    return (f"  set {name} {{\n    type ipv4_addr; flags dynamic,timeout; "
            f"timeout {seconds}s;\n  }}\n")


def _endpoint_chain(name: str, endpoint: Endpoint, route: Route) -> str:
    rules = []
    if route.affinity_seconds is not None:
        rules.append(f"update @{name} {{ ip saddr }}")
    proto = route.protocol.lower()
    rules.append(f"meta l4proto {proto} dnat to {endpoint.ip}:{endpoint.port}")
    return _chain(name, rules)


class NftablesBackend:
    """Programs one node's Services as DNAT rules in its own nftables table."""

    name = "nftables"

    def __init__(self, *, node_name: str, command: Sequence[str] = ("nft",)) -> None:
        self.table = table_name(node_name)
        self._command = tuple(command)
        self._installed = False

    async def sync(self, table: ProxyTable) -> list[BindFailure]:
        await self._nft(render_ruleset(self.table, _with_node_ports(table)))
        self._installed = True
        return []

    async def close(self) -> None:
        if self._installed:
            await self._nft(f"delete table ip {self.table}\n")
            self._installed = False

    async def _nft(self, script: str) -> None:
        try:
            process = await asyncio.create_subprocess_exec(
                *self._command, "-f", "-", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        except OSError as err:
            raise NftError(f"cannot run {self._command[0]}: {err.strerror}; the nftables "
                           f"proxy needs the nft tool and root") from err
        _, stderr = await process.communicate(script.encode())
        if process.returncode != 0:
            raise NftError(f"nft -f failed ({process.returncode}): "
                           f"{stderr.decode(errors='replace').strip()}")


def _with_node_ports(table: ProxyTable) -> ProxyTable:
    """NodePort frontends become "any local address" matches (``0.0.0.0``)."""
    routes: dict[Frontend, Route] = {}
    for frontend, route in table.routes.items():
        if route.kind == "node-port":
            frontend = Frontend(frontend.protocol, "0.0.0.0", frontend.port)
        routes[frontend] = route
    return ProxyTable(routes)
