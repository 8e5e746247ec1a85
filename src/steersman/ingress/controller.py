"""The ingress controller: watches the cluster, feeds the proxy, reports its address.

It runs beside the API server and reaches it only through the client. :meth:`start` makes
the default certificate and binds the proxy's ports (so a port clash fails the server's
start with a message saying which flag to change); :meth:`run`

1. ensures the default IngressClass ``steersman`` (controller ``steersman.io/ingress``,
   ``ingressclass.kubernetes.io/is-default-class: "true"``), leaving one that exists alone;
2. keeps informers on Ingresses, IngressClasses, Services, EndpointSlices and Secrets;
3. after every change (level-triggered: events only set a flag) builds a new
   :class:`~steersman.ingress.snapshot.Snapshot` and swaps it into the proxy, then writes
   ``status.loadBalancer.ingress`` (the proxy's address and ports) on every served Ingress
   that does not show it yet.

Several servers on one store each run their own proxy; each writes its own address, so the
status shows the last writer's (there is no leader election for a data plane).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import (
    ENDPOINTSLICES,
    SECRETS,
    SERVICES,
    Client,
    Informer,
    PatchType,
    Resource,
    ServerUnreachable,
    key_of,
)
from steersman.ingress.certificates import ContextCache, default_context
from steersman.ingress.proxy import IngressProxy
from steersman.ingress.snapshot import CONTROLLER_NAME, build_snapshot, our_classes, served

log = logging.getLogger(__name__)
Object = dict[str, Any]
INGRESSES = Resource("networking.k8s.io", "v1", "ingresses", kind="Ingress")
INGRESSCLASSES = Resource("networking.k8s.io", "v1", "ingressclasses", namespaced=False,
                          kind="IngressClass")
DEFAULT_CLASS = "steersman"
IS_DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"
DEFAULT_HTTP_PORT = 8080
DEFAULT_HTTPS_PORT = 8443


@dataclass(frozen=True)
class IngressConfig:
    address: str
    http_port: int = DEFAULT_HTTP_PORT
    https_port: int = DEFAULT_HTTPS_PORT


def default_address(data_dir: Path) -> str:
    """A loopback address of this cluster's own, in 127.80.0.0/16, stable across restarts.

    Derived from the data dir, so several clusters on one machine listen on the same
    unprivileged ports without clashing and without touching 127.0.0.1's ports.
    """
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).digest()
    return f"127.80.{digest[0]}.{1 + digest[1] % 254}"


def ingress_class() -> Object:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": DEFAULT_CLASS, "annotations": {IS_DEFAULT_CLASS: "true"},
                         "labels": {"app.kubernetes.io/managed-by": "steersman"}},
            "spec": {"controller": CONTROLLER_NAME}}


class IngressController:
    def __init__(self, client: Client, config: IngressConfig) -> None:
        self._client = client
        self._config = config
        self._contexts = ContextCache()
        self._changed = asyncio.Event()
        self._informers = {resource.plural: Informer(client, resource) for resource in (
            INGRESSES, INGRESSCLASSES, SERVICES, ENDPOINTSLICES, SECRETS)}
        for informer in self._informers.values():
            informer.add_handlers(on_add=self._touch, on_update=self._touched,
                                  on_delete=self._touch)
        self.proxy: IngressProxy | None = None

    async def start(self) -> None:
        """Bind the proxy (raises :class:`~steersman.ingress.proxy.ListenError`)."""
        self.proxy = IngressProxy(address=self._config.address,
                                  http_port=self._config.http_port,
                                  https_port=self._config.https_port,
                                  default_certificate=default_context())
        await self.proxy.start()

    async def stop(self) -> None:
        if self.proxy is not None:
            await self.proxy.stop()

    async def run(self) -> None:
        await self._ensure_class()
        tasks = [asyncio.create_task(i.run(), name=f"ingress-informer-{i.resource.plural}")
                 for i in self._informers.values()]
        try:
            for informer in self._informers.values():
                await informer.wait_synced()
            while True:
                await self._changed.wait()
                self._changed.clear()
                try:
                    await self._sync()
                except Exception:  # keep serving the last good snapshot
                    log.exception("ingress: cannot apply the latest change")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _touch(self, _obj: Object) -> None:
        self._changed.set()

    def _touched(self, _old: Object, _new: Object) -> None:
        self._changed.set()

    async def _ensure_class(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._client.create(INGRESSCLASSES, ingress_class())
                return
            except StatusError as err:
                if err.code == 409:
                    return
                log.warning("cannot create IngressClass %s: %s", DEFAULT_CLASS, err.message)
            except ServerUnreachable as err:
                log.warning("cannot create IngressClass %s: %s", DEFAULT_CLASS, err)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _sync(self) -> None:
        assert self.proxy is not None
        classes = our_classes(self._objects("ingressclasses").values())
        every = list(self._objects("ingresses").values())
        ingresses = [i for i in every if served(i, classes)]
        self.proxy.update(build_snapshot(
            ingresses=ingresses, services=self._objects("services"),
            slices=self._objects("endpointslices").values(),
            secrets=self._objects("secrets"), contexts=self._contexts,
            default_certificate=self.proxy.snapshot.certificates.default))
        desired = self.load_balancer_status()
        for ingress in every:
            # An Ingress that moved to another class loses the address we wrote.
            if served(ingress, classes):
                await self._report_address(ingress, desired)
            elif _load_balancer(ingress) == desired:
                await self._report_address(ingress, [])

    def _objects(self, plural: str) -> Mapping[str, Object]:
        return {key_of(obj): obj for obj in self._informers[plural].indexer.list()}

    async def _report_address(self, ingress: Object, desired: list[Object]) -> None:
        if (_load_balancer(ingress) or []) == desired:
            return
        metadata = ingress["metadata"]
        with contextlib.suppress(StatusError, ServerUnreachable):
            await self._client.patch(
                INGRESSES, metadata["name"], {"status": {"loadBalancer": {"ingress": desired}}},
                namespace=metadata["namespace"], patch_type=PatchType.MERGE,
                subresource="status")

    def load_balancer_status(self) -> list[Object]:
        assert self.proxy is not None
        address = self.proxy.address
        ip = "127.0.0.1" if address in ("0.0.0.0", "") else address
        ports = [{"port": self.proxy.http_port, "protocol": "TCP"},
                 {"port": self.proxy.https_port, "protocol": "TCP"}]
        return [{"ip": ip, "ports": ports}]


def _load_balancer(ingress: Object) -> Any:
    return ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress")
