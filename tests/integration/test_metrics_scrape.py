"""The API server scraping a node agent's ``/metrics/resource`` over mutually-authenticated TLS.

A real :class:`StreamingServer` (the node's port 10250 application) with the stats handler,
on loopback with a serving certificate from the cluster CA; the API server's
:class:`KubeletScraper` with its kubelet-client certificate reads and parses it. A client
without a certificate is refused, as is a node that does not listen.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from steersman.apiserver.metrics_scrape import KubeletScraper, ScrapeError
from steersman.apiserver.pki import (
    ensure_pki,
    issue_serving_certificate,
    kubelet_client_ssl_context,
)
from steersman.kubelet.agent.cri import ContainerState, ContainerStatus
from steersman.kubelet.stats import ResourceMetricsHandler, UsageCollector
from steersman.kubelet.streaming import StreamingServer, serving_ssl_context


class Lister:
    async def list_containers(self) -> Sequence[ContainerStatus]:
        return [ContainerStatus(id="c1", sandbox_id="s", state=ContainerState.RUNNING,
                                pid=os.getpgrp(), started_at=1.0, labels={
                                    "io.kubernetes.pod.namespace": "default",
                                    "io.kubernetes.pod.name": "init",
                                    "io.kubernetes.container.name": "main"})]


class Unused:
    """Resolver and runtime the metrics route never touches."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} used")


def _node(port: int) -> dict[str, Any]:
    return {"metadata": {"name": "n1"}, "status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}}


async def test_scrape_over_tls(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki")
    cert, key = issue_serving_certificate(pki, common_name="system:node:n1",
                                          hosts=["127.0.0.1"])
    (tmp_path / "node.crt").write_bytes(cert)
    (tmp_path / "node.key").write_bytes(key)
    server = StreamingServer(resolver=Unused(), runtime=Unused(),
                             resource_metrics=ResourceMetricsHandler(UsageCollector(Lister())))
    context = serving_ssl_context(cert_file=tmp_path / "node.crt",
                                  key_file=tmp_path / "node.key", client_ca_file=pki.ca_cert)
    port = await server.start(host="127.0.0.1", port=0, ssl_context=context)
    try:
        sample = await KubeletScraper(kubelet_client_ssl_context(pki))(_node(port))
        assert sample.node.cpu_seconds > 0 and sample.node.memory_bytes > 0
        (key_,) = sample.containers
        assert key_ == ("default", "init", "main")  # this test's own process group
        async with aiohttp.ClientSession() as session:
            anonymous = await session.get(f"https://127.0.0.1:{port}/metrics/resource",
                                          ssl=False)
            assert anonymous.status == 401
    finally:
        await server.stop()


async def test_a_node_that_does_not_listen(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scraper = KubeletScraper(kubelet_client_ssl_context(ensure_pki(tmp_path / "pki")))
    with pytest.raises(ScrapeError, match=f'node "n1" at 127.0.0.1:{port}'):
        await scraper(_node(port))
