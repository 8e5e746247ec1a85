"""Host and path precedence of the routing table (the Ingress spec's examples)."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.ingress.routes import ServiceRef, build_routes


def ingress(name: str, *, rules: list[Any] | None = None, default: str = "",
            created: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": rules or []}
    if default:
        spec["defaultBackend"] = backend(default)
    return {"metadata": {"name": name, "namespace": "ns", "creationTimestamp": created},
            "spec": spec}


def backend(service: str, port: int | str = 80) -> dict[str, Any]:
    key = "name" if isinstance(port, str) else "number"
    return {"service": {"name": service, "port": {key: port}}}


def rule(host: str, *paths: tuple[str, str, str]) -> dict[str, Any]:
    return {"host": host, "http": {"paths": [
        {"path": path, "pathType": kind, "backend": backend(service)}
        for path, kind, service in paths]}}


def ref(service: str) -> ServiceRef:
    return ServiceRef("ns", service, 80)


TABLE = build_routes([
    ingress("a", rules=[
        rule("foo.example.com", ("/", "Prefix", "root"), ("/api", "Prefix", "api"),
             ("/api/v1", "Exact", "exact-v1"), ("/api/v1", "Prefix", "prefix-v1"),
             ("/app/", "ImplementationSpecific", "app")),
        rule("*.example.com", ("/", "Prefix", "wild")),
        rule("", ("/shared", "Prefix", "hostless"))]),
    ingress("b", default="fallback", created="2026-01-02T00:00:00Z",
            rules=[rule("bar.example.com", ("/only", "Exact", "only"))]),
])


@pytest.mark.parametrize(("host", "path", "expected"), [
    ("foo.example.com", "/", "root"),
    ("foo.example.com", "/apix", "root"),            # whole path elements only
    ("foo.example.com", "/api", "api"),
    ("foo.example.com", "/api/", "api"),
    ("foo.example.com", "/api/v1", "exact-v1"),      # Exact beats Prefix at equal length
    ("foo.example.com", "/api/v1/", "prefix-v1"),    # longest match wins
    ("foo.example.com", "/api/v1/x", "prefix-v1"),
    ("foo.example.com", "/app", "app"),              # ImplementationSpecific = Prefix
    ("foo.example.com", "/app/z", "app"),
    ("x.example.com", "/anything", "wild"),          # one-label wildcard
    ("a.b.example.com", "/shared", "hostless"),      # wildcard spans one label only
    ("example.com", "/shared/x", "hostless"),
    ("bar.example.com", "/only", "only"),
    ("bar.example.com", "/only/", "fallback"),       # Exact is exact; host falls back
    ("other.test", "/nope", "fallback"),             # the cluster's default backend
])
def test_route_precedence(host: str, path: str, expected: str) -> None:
    assert TABLE.route(host, path) == ref(expected)


def test_exact_host_beats_wildcard_and_no_match_is_none() -> None:
    table = build_routes([ingress("w", rules=[rule("*.example.com", ("/x", "Prefix", "w"))]),
                          ingress("e", rules=[rule("a.example.com", ("/y", "Prefix", "e"))])])
    assert table.route("a.example.com", "/y") == ref("e")
    assert table.route("a.example.com", "/x") is None  # no fall-through to the wildcard
    assert table.route("b.example.com", "/x") == ref("w")
    assert table.route("b.example.com", "/y") is None


def test_oldest_ingress_wins_a_conflict_and_its_own_default_backs_its_hosts() -> None:
    older = ingress("old", default="old-default", created="2026-01-01T00:00:00Z",
                    rules=[rule("h.test", ("/p", "Prefix", "old"))])
    newer = ingress("new", default="new-default", created="2026-01-02T00:00:00Z",
                    rules=[rule("h.test", ("/p", "Prefix", "new")),
                           rule("n.test", ("/q", "Prefix", "q"))])
    table = build_routes([older, newer])
    assert table.route("h.test", "/p/1") == ref("old")
    assert table.route("h.test", "/elsewhere") == ref("old-default")
    assert table.route("n.test", "/elsewhere") == ref("new-default")
    assert table.route("unknown.test", "/") == ref("old-default")
    assert table.backends() == {ref(n) for n in ("old", "q", "old-default", "new-default")}


def test_service_port_by_name() -> None:
    table = build_routes([{"metadata": {"name": "n", "namespace": "ns"}, "spec": {
        "defaultBackend": backend("svc", "http")}}])
    assert table.route("any", "/") == ServiceRef("ns", "svc", "http")
