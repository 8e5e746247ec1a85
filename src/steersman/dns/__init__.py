"""Cluster DNS: ``<svc>.<ns>.svc.cluster.local`` and friends, as CoreDNS's kubernetes plugin.

* :mod:`.records` — the records a Service (with its EndpointSlices) or a Pod stands for;
* :mod:`.zone` — names → records, and the prepared answer per (name, type);
* :mod:`.wire` — reading queries and assembling responses on the hot path;
* :mod:`.sync` — informers on Services, EndpointSlices and Pods feeding the zone;
* :mod:`.forward` — names outside the zone, to upstream resolvers;
* :mod:`.server` — the asyncio UDP and TCP listeners;
* :mod:`.clusterdns` — the component the server runs: kube-dns Service + all of the above.

It sits beside the kubelet and the proxy and reaches the cluster only through
:mod:`steersman.client`.
"""

from steersman.dns.clusterdns import (
    ClusterDNS,
    DNSConfig,
    DNSListenError,
    dns_endpoint_ip,
    dns_service_ip,
    kube_dns_service,
)
from steersman.dns.forward import Forwarder, Upstream, parse_upstream, resolv_conf_upstreams
from steersman.dns.server import DNSServer, Resolver
from steersman.dns.zone import Zone

__all__ = ["ClusterDNS", "DNSConfig", "DNSListenError", "DNSServer", "Forwarder", "Resolver",
           "Upstream", "Zone", "dns_endpoint_ip", "dns_service_ip", "kube_dns_service",
           "parse_upstream", "resolv_conf_upstreams"]
