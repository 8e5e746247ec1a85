"""The routing table: which Service port answers a request, from the served Ingresses.

Pure values, no I/O. :func:`build_routes` folds Ingresses (oldest first: on a conflict the
oldest Ingress wins, as ingress-nginx) into a :class:`RouteTable`, and
:meth:`RouteTable.route` answers ``(host, path) → ServiceRef | None``:

* hosts: an exact host first, then a ``*.example.com`` wildcard (one DNS label only:
  ``a.example.com`` matches, ``example.com`` and ``a.b.example.com`` do not), then the
  rules without a host;
* paths (the Ingress spec's precedence): the longest matching path wins, and at equal
  length ``Exact`` beats ``Prefix``. ``Prefix`` matches whole path elements (``/foo``
  matches ``/foo`` and ``/foo/bar``, never ``/foobar``; a trailing ``/`` is ignored);
  ``ImplementationSpecific`` is treated as ``Prefix``;
* nothing matched in a host: that host's Ingress's ``defaultBackend``, else the cluster's
  (the oldest Ingress with one); else ``None`` (the proxy answers 404).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Object = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """A backend: a Service port, by number (``int``) or by name (``str``)."""

    namespace: str
    name: str
    port: int | str


@dataclass(frozen=True, slots=True)
class PathRule:
    """One path of a rule; ``path`` is normalised (no trailing ``/`` for a prefix)."""

    path: str
    exact: bool
    backend: ServiceRef

    def matches(self, request_path: str) -> bool:
        if self.exact:
            return request_path == self.path
        if not self.path:
            return True
        return request_path == self.path or request_path.startswith(self.path + "/")

    @property
    def precedence(self) -> tuple[int, bool]:
        return (len(self.path), self.exact)


@dataclass
class HostRoutes:
    """The paths of one host (or of the host-less rules), best first, and its fallback."""

    rules: list[PathRule] = field(default_factory=list)
    fallback: ServiceRef | None = None

    def add(self, rule: PathRule) -> None:
        if any(r.path == rule.path and r.exact == rule.exact for r in self.rules):
            return  # an older Ingress already claimed this path
        self.rules.append(rule)
        self.rules.sort(key=lambda r: r.precedence, reverse=True)

    def match(self, request_path: str) -> ServiceRef | None:
        for rule in self.rules:
            if rule.matches(request_path):
                return rule.backend
        return self.fallback


@dataclass(frozen=True)
class RouteTable:
    exact_hosts: Mapping[str, HostRoutes]
    wildcard_hosts: Mapping[str, HostRoutes]
    any_host: HostRoutes

    def host_routes(self, host: str) -> HostRoutes:
        routes = self.exact_hosts.get(host)
        if routes is None and "." in host:
            routes = self.wildcard_hosts.get(host.partition(".")[2])
        return self.any_host if routes is None else routes

    def route(self, host: str, path: str) -> ServiceRef | None:
        return self.host_routes(host).match(path)

    def backends(self) -> set[ServiceRef]:
        """Every Service port the table can send a request to."""
        every = [self.any_host, *self.exact_hosts.values(), *self.wildcard_hosts.values()]
        found = {rule.backend for routes in every for rule in routes.rules}
        found.update(routes.fallback for routes in every if routes.fallback is not None)
        return found


def build_routes(ingresses: Iterable[Object]) -> RouteTable:
    """Fold ``ingresses`` (oldest first) into one table."""
    exact: dict[str, HostRoutes] = {}
    wildcard: dict[str, HostRoutes] = {}
    any_host = HostRoutes()
    host_fallbacks: dict[str, ServiceRef | None] = {}
    for ingress in ingresses:
        namespace = str(ingress["metadata"].get("namespace") or "default")
        spec = ingress.get("spec") or {}
        default = _service_ref(namespace, spec.get("defaultBackend"))
        if default is not None and any_host.fallback is None:
            any_host.fallback = default
        for rule in spec.get("rules") or []:
            host = str(rule.get("host") or "").lower()
            routes = _routes_for(host, exact, wildcard, any_host)
            if host:
                host_fallbacks.setdefault(host, default)
            for entry in (rule.get("http") or {}).get("paths") or []:
                path_rule = _path_rule(namespace, entry)
                if path_rule is not None:
                    routes.add(path_rule)
    for host, fallback in host_fallbacks.items():
        routes = _routes_for(host, exact, wildcard, any_host)
        routes.fallback = fallback or any_host.fallback
    return RouteTable(exact, wildcard, any_host)


def _routes_for(host: str, exact: dict[str, HostRoutes], wildcard: dict[str, HostRoutes],
                any_host: HostRoutes) -> HostRoutes:
    if not host:
        return any_host
    if host.startswith("*."):
        return wildcard.setdefault(host[2:], HostRoutes())
    return exact.setdefault(host, HostRoutes())


def _path_rule(namespace: str, entry: Mapping[str, Any]) -> PathRule | None:
    backend = _service_ref(namespace, entry.get("backend"))
    if backend is None:
        return None
    path = str(entry.get("path") or "/")
    exact = entry.get("pathType") == "Exact"
    return PathRule(path if exact else path.rstrip("/"), exact, backend)


def _service_ref(namespace: str, backend: Any) -> ServiceRef | None:
    """The Service port of an IngressBackend; ``None`` for a ``resource`` backend."""
    service = (backend or {}).get("service") if isinstance(backend, dict) else None
    if not service or not service.get("name"):
        return None
    port = service.get("port") or {}
    value: int | str = port["name"] if port.get("name") else int(port.get("number") or 0)
    return ServiceRef(namespace, str(service["name"]), value)

