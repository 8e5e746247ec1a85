"""What the proxy serves at one moment: routes, upstreams, certificates, redirects.

:func:`build_snapshot` turns the controller's caches into an immutable :class:`Snapshot`;
the proxy reads the current one at the start of each request and the controller swaps in
a new one after every change, so a reload never touches a request already in flight.
Which Ingresses are served is decided here too (:func:`served`): those whose class is one
of ours (``spec.ingressClassName``, or the legacy ``kubernetes.io/ingress.class``
annotation) and those with no class at all.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from steersman.ingress.certificates import Certificates, ContextCache, RedirectHosts, tls_hosts
from steersman.ingress.routes import RouteTable, ServiceRef, build_routes
from steersman.ingress.upstreams import Endpoint, Upstream, resolve_upstreams

Object = dict[str, Any]
CONTROLLER_NAME = "steersman.io/ingress"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


@dataclass(frozen=True)
class Snapshot:
    routes: RouteTable
    upstreams: Mapping[ServiceRef, Upstream]
    certificates: Certificates
    redirect_hosts: RedirectHosts

    def endpoints(self) -> set[Endpoint]:
        return {e for upstream in self.upstreams.values() for e in upstream.endpoints}


def empty_snapshot(default_certificate: ssl.SSLContext) -> Snapshot:
    return Snapshot(build_routes([]), {}, Certificates(default_certificate), RedirectHosts([]))


def our_classes(ingress_classes: Iterable[Object]) -> set[str]:
    return {str(c["metadata"]["name"]) for c in ingress_classes
            if (c.get("spec") or {}).get("controller") == CONTROLLER_NAME}


def served(ingress: Object, classes: set[str]) -> bool:
    name = (ingress.get("spec") or {}).get("ingressClassName") or (
        (ingress["metadata"].get("annotations") or {}).get(LEGACY_CLASS_ANNOTATION))
    return not name or name in classes


def by_age(ingresses: Iterable[Object]) -> list[Object]:
    """Oldest first; ties by namespace/name, so conflicts resolve the same way every time."""
    def key(ingress: Object) -> tuple[str, str, str]:
        metadata = ingress["metadata"]
        return (str(metadata.get("creationTimestamp") or ""),
                str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))
    return sorted(ingresses, key=key)


def build_snapshot(*, ingresses: Iterable[Object], services: Mapping[str, Object],
                   slices: Iterable[Object], secrets: Mapping[str, Object],
                   contexts: ContextCache, default_certificate: ssl.SSLContext) -> Snapshot:
    """``ingresses``: the served ones; ``services``/``secrets`` by ``namespace/name``."""
    ordered = by_age(ingresses)
    routes = build_routes(ordered)
    hosts = tls_hosts(ordered)
    return Snapshot(routes, resolve_upstreams(routes.backends(), services, slices),
                    contexts.certificates(default_certificate, hosts, secrets),
                    RedirectHosts(hosts))
