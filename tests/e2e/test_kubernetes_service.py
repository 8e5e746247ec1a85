"""``default/kubernetes``: its Endpoints and EndpointSlice follow the server's port."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

from tests.e2e.harness import ServerProcess, start_server


def _port(server: ServerProcess) -> int:
    return int(urlparse(server.url).port or 0)


def _published(server: ServerProcess) -> tuple[int, int, int]:
    service = json.loads(server.kubectl("get", "service", "kubernetes", "-o", "json").stdout)
    endpoints = json.loads(server.kubectl("get", "endpoints", "kubernetes", "-o", "json").stdout)
    slices = json.loads(server.kubectl("get", "endpointslices", "-l",
                                       "kubernetes.io/service-name=kubernetes", "-o",
                                       "json").stdout)["items"]
    assert len(slices) == 1 and slices[0]["endpoints"][0]["addresses"] == ["127.0.0.1"]
    return (service["spec"]["ports"][0]["targetPort"],
            endpoints["subsets"][0]["ports"][0]["port"], slices[0]["ports"][0]["port"])


def test_endpoints_follow_the_server_port_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "server"
    first = start_server(data_dir, "--controllers", "", "--no-scheduler", "--no-dns")
    try:
        first_port = _port(first)
        assert _published(first) == (first_port,) * 3
    finally:
        first.stop()
    second = start_server(data_dir, "--controllers", "", "--no-scheduler", "--no-dns")
    try:
        assert _published(second) == (_port(second),) * 3
    finally:
        second.stop()
