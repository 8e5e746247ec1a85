"""Backends resolved through Services and EndpointSlices; round-robin rotation."""

from __future__ import annotations

from typing import Any

from steersman.ingress.routes import ServiceRef
from steersman.ingress.upstreams import Upstream, resolve_upstreams

SERVICE = {"metadata": {"name": "web", "namespace": "ns"}, "spec": {"ports": [
    {"name": "http", "port": 80, "targetPort": "web"},
    {"name": "admin", "port": 9000, "targetPort": 9001}]}}


def endpoint_slice(name: str, port_name: str, port: int,
                   endpoints: list[tuple[str, bool | None]]) -> dict[str, Any]:
    def entry(ip: str, ready: bool | None) -> dict[str, Any]:
        return {"addresses": [ip], "conditions": {} if ready is None else {"ready": ready}}
    return {"metadata": {"name": name, "namespace": "ns",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "ports": [{"name": port_name, "port": port}],
            "endpoints": [entry(ip, ready) for ip, ready in endpoints]}


SLICES = [endpoint_slice("web-1", "http", 8080, [("127.42.0.2", True), ("127.42.0.3", False),
                                                 ("127.42.0.4", None)]),
          endpoint_slice("web-2", "admin", 9001, [("127.42.0.2", True)])]


def test_by_number_by_name_and_readiness() -> None:
    refs = [ServiceRef("ns", "web", 80), ServiceRef("ns", "web", "admin"),
            ServiceRef("ns", "web", 81), ServiceRef("ns", "gone", 80)]
    found = resolve_upstreams(refs, {"ns/web": SERVICE}, SLICES)
    assert found[refs[0]].endpoints == (("127.42.0.2", 8080), ("127.42.0.4", 8080))
    assert found[refs[1]].endpoints == (("127.42.0.2", 9001),)
    assert found[refs[2]].endpoints == ()   # no such service port
    assert found[refs[3]].endpoints == ()   # no such service


def test_rotation_is_round_robin_and_covers_every_endpoint() -> None:
    upstream = Upstream([("b", 1), ("a", 1), ("c", 1)])
    firsts = [next(upstream.rotation()) for _ in range(4)]
    assert firsts == [("a", 1), ("b", 1), ("c", 1), ("a", 1)]
    assert list(upstream.rotation()) == [("b", 1), ("c", 1), ("a", 1)]
    assert list(Upstream([]).rotation()) == []
