"""The ingress controller: networking.k8s.io/v1 Ingress routing with TLS termination.

* :mod:`.controller` — :class:`IngressController`: informers → snapshot → proxy, the
  default IngressClass, ``status.loadBalancer``; :class:`IngressConfig` and
  :func:`default_address`;
* :mod:`.snapshot` — which Ingresses are served and what the proxy serves at one moment;
* :mod:`.routes` (hosts and paths), :mod:`.upstreams` (EndpointSlices → endpoints,
  round-robin), :mod:`.certificates` (TLS Secrets, SNI, redirects) — pure values;
* :mod:`.proxy` (the asyncio HTTP/1.1 reverse proxy: listeners, decisions),
  :mod:`.exchange` and :mod:`.upstream_side` (the client and upstream protocols),
  :mod:`.http1` (parsing, body framing), :mod:`.pool` (keep-alive upstream connections),
  :mod:`.deadlines` (timeouts).

It sits beside the kubelet, proxy and DNS packages and reaches the cluster only through
:mod:`steersman.client`. docs/ingress.md says why the proxy is asyncio and not nginx.
"""

from steersman.ingress.controller import (
    DEFAULT_HTTP_PORT,
    DEFAULT_HTTPS_PORT,
    IngressConfig,
    IngressController,
    default_address,
)
from steersman.ingress.proxy import ListenError

__all__ = ["DEFAULT_HTTPS_PORT", "DEFAULT_HTTP_PORT", "IngressConfig", "IngressController",
           "ListenError", "default_address"]
