"""The service proxy: Services and EndpointSlices made reachable on every node.

* :mod:`.model` — pure: Services + EndpointSlices → frontends and routes (a ``ProxyTable``);
* :mod:`.backend` — the :class:`ProxyBackend` protocol every data plane implements;
* :mod:`.userspace` with :mod:`.relay` and :mod:`.balancer` — asyncio listeners, no root;
* :mod:`.nftables` — DNAT rules in one nftables table per node, root;
* :mod:`.service_proxy` — :class:`ServiceProxy`: informers, coalesced syncs, Warning Events.

:func:`new_backend` is the one place backends are wired. The proxy sits beside the node
agent and reaches the cluster only through :mod:`steersman.client`.
"""

from __future__ import annotations

import os
import shutil

from steersman.proxy.backend import BindFailure, ProxyBackend
from steersman.proxy.nftables import NftablesBackend
from steersman.proxy.service_proxy import ServiceProxy
from steersman.proxy.userspace import ListenerPool, UserspaceBackend

PROXY_MODES = ("userspace", "nftables", "none")


def new_backend(mode: str, *, node_name: str, pool: ListenerPool | None = None) -> ProxyBackend:
    """The backend for ``--proxy-mode`` (``none`` runs no proxy and has no backend)."""
    if mode == "userspace":
        return UserspaceBackend(pool=pool)
    if mode == "nftables":
        if os.geteuid() != 0 or shutil.which("nft") is None:
            raise ValueError("the nftables proxy needs root and the nft tool (Debian package "
                             "nftables); run as root, or use --proxy-mode userspace")
        return NftablesBackend(node_name=node_name)
    raise ValueError(f"unknown proxy mode {mode!r}; choose one of "
                     f"{', '.join(m for m in PROXY_MODES if m != 'none')}")


__all__ = ["PROXY_MODES", "BindFailure", "ListenerPool", "NftablesBackend", "ProxyBackend",
           "ServiceProxy", "UserspaceBackend", "new_backend"]
