"""The one extension point of the service proxy: a :class:`ProxyBackend` programs a table.

``sync(table)`` makes the data plane match the whole :class:`~steersman.proxy.model.ProxyTable`
(level-triggered: it is always handed everything, and must converge from any prior state);
it returns the frontends it could not serve as :class:`BindFailure` values — an expected
outcome the proxy turns into a Warning Event on the Service — and raises only for the
unexpected. ``close()`` removes everything the backend installed.

Implementations: :mod:`.userspace` (asyncio listeners, no root) and :mod:`.nftables`
(DNAT rules in one table, root). The proxy picks one in :func:`steersman.proxy.new_backend`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from steersman.proxy.model import Frontend, ProxyTable, ServiceRef


@dataclass(frozen=True, slots=True)
class BindFailure:
    """A frontend the backend could not serve, with what the user can do about it."""

    frontend: Frontend
    service: ServiceRef
    reason: str
    fix: str

    def message(self, node_name: str) -> str:
        return (f"node {node_name} cannot serve {self.frontend} for service port "
                f"{self.service}: {self.reason}; {self.fix}")


class ProxyBackend(Protocol):
    """Programs one node's data plane."""

    name: str

    async def sync(self, table: ProxyTable) -> list[BindFailure]: ...

    async def close(self) -> None: ...
