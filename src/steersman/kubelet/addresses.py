"""Pod IPs for one node: the lowest free address of its /24, unique per node.

Shared by hollow nodes and the node agent (host network mode hands each pod an address of
the node's loopback /24, ``127.42.<node>.<n>``).

The node's InternalIP is the block's ``.1``; pods get ``.2`` to ``.254``. A pool remembers
which pod (by UID) holds which address, so a pod that is already Running when the process
starts (a resumed node) keeps its address and no other pod is given it. The free set is
built on first use, so the thousands of nodes that never run a pod stay small.
"""

from __future__ import annotations

import ipaddress

_POD_HOSTS = range(2, 255)


class PodAddressPool:
    """Allocates and releases the pod IPs of one node's /24."""

    __slots__ = ("_by_host", "_by_uid", "_free", "_network")

    def __init__(self, network: ipaddress.IPv4Network) -> None:
        self._network = network
        self._free: set[int] | None = None
        self._by_uid: dict[str, int] = {}
        self._by_host: dict[int, str] = {}

    @property
    def node_ip(self) -> str:
        return self._ip(1)

    def __len__(self) -> int:
        """How many addresses are held."""
        return len(self._by_uid)

    def address_of(self, uid: str) -> str | None:
        host = self._by_uid.get(uid)
        return None if host is None else self._ip(host)

    def allocate(self, uid: str) -> str | None:
        """The address of pod ``uid`` (the same one on every call); ``None`` when full."""
        if uid not in self._by_uid:
            free = self._free_hosts()
            if not free:
                return None
            host = min(free)
            free.remove(host)
            self._hold(uid, host)
        return self._ip(self._by_uid[uid])

    def claim(self, uid: str, ip: str) -> bool:
        """Record that pod ``uid`` already holds ``ip``; False if it is not ours to give."""
        host = self._host(ip)
        if host is None or self._by_host.get(host, uid) != uid:
            return False
        self.release(uid)
        self._free_hosts().discard(host)
        self._hold(uid, host)
        return True

    def release(self, uid: str) -> None:
        host = self._by_uid.pop(uid, None)
        if host is not None:
            del self._by_host[host]
            self._free_hosts().add(host)

    def _hold(self, uid: str, host: int) -> None:
        self._by_uid[uid] = host
        self._by_host[host] = uid

    def _free_hosts(self) -> set[int]:
        if self._free is None:
            self._free = set(_POD_HOSTS) - set(self._by_host)
        return self._free

    def _host(self, ip: str) -> int | None:
        try:
            host = int(ipaddress.IPv4Address(ip)) - int(self._network.network_address)
        except ipaddress.AddressValueError:
            return None
        return host if host in _POD_HOSTS else None

    def _ip(self, host: int) -> str:
        return str(self._network.network_address + host)
