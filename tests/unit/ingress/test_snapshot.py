"""Which Ingresses are served, TLS hosts and SNI choice, redirects, deadlines."""

from __future__ import annotations

import asyncio
import base64
import ssl
from typing import Any

import pytest

from steersman.ingress.certificates import (
    Certificates,
    ContextCache,
    RedirectHosts,
    self_signed,
    server_context,
    tls_hosts,
)
from steersman.ingress.deadlines import Deadlines
from steersman.ingress.snapshot import our_classes, served

CLASSES = [{"metadata": {"name": "steersman"}, "spec": {"controller": "steersman.io/ingress"}},
           {"metadata": {"name": "other"}, "spec": {"controller": "example.com/nginx"}}]


def ingress(*, class_name: str = "", annotation: str = "", tls: Any = None,
            hosts: tuple[str, ...] = (), redirect: str = "") -> dict[str, Any]:
    annotations = {}
    if annotation:
        annotations["kubernetes.io/ingress.class"] = annotation
    if redirect:
        annotations["nginx.ingress.kubernetes.io/ssl-redirect"] = redirect
    spec: dict[str, Any] = {"rules": [{"host": host} for host in hosts]}
    if class_name:
        spec["ingressClassName"] = class_name
    if tls is not None:
        spec["tls"] = tls
    return {"metadata": {"name": "i", "namespace": "ns", "annotations": annotations},
            "spec": spec}


@pytest.mark.parametrize(("obj", "expected"), [
    (ingress(), True),
    (ingress(class_name="steersman"), True),
    (ingress(class_name="other"), False),
    (ingress(class_name="missing"), False),
    (ingress(annotation="steersman"), True),
    (ingress(annotation="other"), False),
])
def test_served_classes(obj: dict[str, Any], expected: bool) -> None:
    assert served(obj, our_classes(CLASSES)) is expected


def test_tls_hosts_default_to_rule_hosts_and_redirect_can_be_turned_off() -> None:
    found = tls_hosts([
        ingress(hosts=("a.test", "b.test"), tls=[{"secretName": "s"}]),
        ingress(hosts=("c.test",), tls=[{"hosts": ["*.w.test"], "secretName": "w"}],
                redirect="false"),
    ])
    assert [(h.host, h.secret, h.redirect) for h in found] == [
        ("a.test", "ns/s", True), ("b.test", "ns/s", True), ("*.w.test", "ns/w", False)]
    redirects = RedirectHosts(found)
    assert "a.test" in redirects and "x.w.test" not in redirects and "c.test" not in redirects


def test_sni_exact_then_wildcard_then_default() -> None:
    default, exact, wild = (server_context(*self_signed(n)) for n in ("d", "e", "w"))
    certificates = Certificates(default, {"e.test": exact, "*.w.test": wild})
    assert certificates.for_name("E.test") is exact
    assert certificates.for_name("x.w.test") is wild
    assert certificates.for_name("x.y.w.test") is default
    assert certificates.for_name(None) is default


def secret(cert: bytes, key: bytes, *, version: str = "1",
           kind: str = "kubernetes.io/tls") -> dict[str, Any]:
    return {"metadata": {"name": "s", "namespace": "ns", "resourceVersion": version},
            "type": kind, "data": {"tls.crt": base64.b64encode(cert).decode(),
                                   "tls.key": base64.b64encode(key).decode()}}


def test_contexts_are_reused_per_revision_and_bad_secrets_fall_back() -> None:
    default = server_context(*self_signed("d"))
    cache = ContextCache()
    hosts = tls_hosts([ingress(hosts=("a.test",), tls=[{"secretName": "s"}])])
    pem = self_signed("a.test")
    first = cache.certificates(default, hosts, {"ns/s": secret(*pem)}).for_name("a.test")
    again = cache.certificates(default, hosts, {"ns/s": secret(*pem)}).for_name("a.test")
    changed = cache.certificates(default, hosts, {"ns/s": secret(*pem, version="2")})
    assert first is again and first is not default
    assert changed.for_name("a.test") is not first
    assert cache.certificates(default, hosts, {}).for_name("a.test") is default
    assert cache.certificates(default, hosts, {"ns/s": secret(b"junk", b"junk", version="3")}
                              ).for_name("a.test") is default
    opaque = secret(*pem, version="4", kind="Opaque")
    assert cache.certificates(default, hosts, {"ns/s": opaque}).for_name("a.test") is default
    with pytest.raises(ssl.SSLError):
        server_context(b"junk", b"junk")


async def test_deadlines_fire_once_when_due_and_not_when_cleared() -> None:
    fired: list[str] = []
    deadlines = Deadlines()
    deadlines.set("a", 0.0, lambda: fired.append("a"))
    deadlines.set("b", 0.0, lambda: fired.append("b"))
    deadlines.set("late", 3600.0, lambda: fired.append("late"))
    deadlines.clear("b")
    now = asyncio.get_running_loop().time()
    deadlines.expire(now + 1)
    deadlines.expire(now + 2)
    assert fired == ["a"]

