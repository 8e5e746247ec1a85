"""``GET /metrics/resource`` on the node's HTTPS server (port 10250).

The route the kubelet serves and metrics-server (here: the API server's ``metrics.k8s.io``)
scrapes. Authorization is the server's: a client certificate of an authorized group. A
failure to read usage is a 500 whose body says what failed.
"""

from __future__ import annotations

import logging

from aiohttp import web

from steersman.kubelet.stats.collector import UsageCollector
from steersman.kubelet.stats.prometheus import CONTENT_TYPE, render_resource_metrics

log = logging.getLogger(__name__)
PATH = "/metrics/resource"


class ResourceMetricsHandler:
    def __init__(self, collector: UsageCollector) -> None:
        self._collector = collector

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        try:
            snapshot = await self._collector.collect()
        except (OSError, ValueError) as err:
            log.warning("cannot collect resource metrics: %s", err)
            return web.Response(status=500, text=f"cannot collect resource metrics: {err}\n")
        return web.Response(body=render_resource_metrics(snapshot).encode(),
                            headers={"Content-Type": CONTENT_TYPE})
