"""``metrics.k8s.io/v1beta1``: NodeMetrics and PodMetrics, served by the API server itself.

What metrics-server serves, computed the same way (:mod:`.metrics_source` over
:mod:`.metrics_scrape`): ``GET /apis/metrics.k8s.io/v1beta1/nodes[/NAME]`` and
``…/[namespaces/NS/]pods[/NAME]``, with label and field selectors applied to the Nodes
and Pods they describe (whose labels they carry), as plain lists or as Tables (``Name``,
``CPU``, ``Memory``, ``Window``). ``kubectl top`` reads them, and so does the horizontal
pod autoscaler. Only ``get`` and ``list``: anything else is 405.

A node (or the node of a named pod) whose agent cannot be reached is a 503 that says
which node and why; a list leaves such nodes out while others answer, and is a 503 when
none does. A pod without a sample yet (pending, or just started) is 404 by name and absent
from lists, as with metrics-server.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from steersman.api import errors
from steersman.api.meta import now_rfc3339
from steersman.api.quantity import canonical_quantity, parse_quantity
from steersman.api.resources import Registry, ResourceInfo
from steersman.apiserver import negotiation as neg
from steersman.apiserver.generic import GenericRegistry, ListOptions
from steersman.apiserver.handlers import list_options
from steersman.apiserver.metrics_scrape import KubeletScraper, ScrapeError
from steersman.apiserver.metrics_source import MetricsSource, NodeUsage, Usage
from steersman.apiserver.requestinfo import RequestInfo

Object = dict[str, Any]
GROUP, VERSION = "metrics.k8s.io", "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
_COLUMNS = [
    {"name": "Name", "type": "string", "format": "name", "priority": 0,
     "description": "Name must be unique within a namespace."},
    {"name": "CPU", "type": "string", "format": "", "priority": 0,
     "description": "CPU usage, in cores"},
    {"name": "Memory", "type": "string", "format": "", "priority": 0,
     "description": "Memory usage (working set), in bytes"},
    {"name": "Window", "type": "string", "format": "", "priority": 0,
     "description": "Time window the CPU usage is averaged over"},
]


def node_metrics_api(registry: GenericRegistry, kubelet_client: ssl.SSLContext) -> MetricsAPI:
    """The metrics group over HTTPS scrapes with the API server's kubelet-client identity."""
    return MetricsAPI(registry, MetricsSource(KubeletScraper(kubelet_client)))


def metrics_resources() -> list[ResourceInfo]:
    verbs = ("get", "list")
    return [ResourceInfo(group=GROUP, version=VERSION, kind="NodeMetrics", plural="nodes",
                         singular="", namespaced=False, verbs=verbs),
            ResourceInfo(group=GROUP, version=VERSION, kind="PodMetrics", plural="pods",
                         singular="", namespaced=True, verbs=verbs)]


class MetricsAPI:
    """Serves the metrics group from the cluster's Nodes and Pods and a :class:`MetricsSource`."""

    def __init__(self, registry: GenericRegistry, source: MetricsSource, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._registry = registry
        self._source = source
        self._clock = clock

    def register(self, resources: Registry) -> None:
        for info in metrics_resources():
            resources.add(info)

    async def serve(self, request: web.Request, info: ResourceInfo,
                    ri: RequestInfo) -> web.StreamResponse:
        if request.method != "GET" or ri.subresource or request.query.get("watch") in (
                "true", "1"):
            raise errors.method_not_allowed(request.method, info.plural)
        if info.plural == "nodes":
            found = await (self._node(ri.name) if ri.name else self._nodes(request))
        else:
            found = await (self._pod(ri.namespace, ri.name) if ri.name
                           else self._pods(request, ri.namespace))
        if neg.wants_table(request):
            return neg.json_response(_table(found))
        if ri.name:
            return neg.json_response(found[0])
        return neg.json_response({"kind": f"{info.kind}List", "apiVersion": API_VERSION,
                                  "metadata": {}, "items": found})

    # -- nodes ----------------------------------------------------------------------------

    async def _node(self, name: str) -> list[Object]:
        node = await self._described("nodes", "", name)
        try:
            usage = await self._source.usage(node)
        except ScrapeError as err:
            raise errors.service_unavailable(str(err)) from err
        return [self._node_metrics(node, usage.node)]

    async def _nodes(self, request: web.Request) -> list[Object]:
        nodes = await self._list(request, "nodes", "")
        results = await self._source.usages(nodes)
        _raise_if_all_failed(results)
        return [self._node_metrics(node, result.node) for node in nodes
                if isinstance(result := results[node["metadata"]["name"]], NodeUsage)]

    def _node_metrics(self, node: Object, usage: Usage) -> Object:
        meta = node["metadata"]
        return {"kind": "NodeMetrics", "apiVersion": API_VERSION,
                "metadata": self._metadata(meta, namespaced=False), **_sample(usage),
                "usage": _usage(usage)}

    # -- pods -----------------------------------------------------------------------------

    async def _pod(self, namespace: str, name: str) -> list[Object]:
        pod = await self._described("pods", namespace, name)
        node_name = (pod.get("spec") or {}).get("nodeName")
        node = self._registry.cached(self._info("nodes"), "", node_name) if node_name else None
        metrics = None
        if node is not None:
            try:
                metrics = self._pod_metrics(pod, await self._source.usage(node))
            except ScrapeError as err:
                raise errors.service_unavailable(str(err)) from err
        if metrics is None:
            raise errors.not_found("pods", name, GROUP)
        return [metrics]

    async def _pods(self, request: web.Request, namespace: str) -> list[Object]:
        pods = await self._list(request, "pods", namespace)
        names = {str((p.get("spec") or {}).get("nodeName") or "") for p in pods}
        nodes = [n for n in (self._registry.cached(self._info("nodes"), "", name)
                             for name in sorted(names - {""})) if n is not None]
        results = await self._source.usages(nodes)
        _raise_if_all_failed(results)
        found = []
        for pod in pods:
            result = results.get(str((pod.get("spec") or {}).get("nodeName") or ""))
            metrics = self._pod_metrics(pod, result) if isinstance(result, NodeUsage) else None
            if metrics is not None:
                found.append(metrics)
        return found

    def _pod_metrics(self, pod: Object, usage: NodeUsage) -> Object | None:
        meta = pod["metadata"]
        names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
        key = (meta.get("namespace", ""), meta["name"])
        measured = {name: usage.containers.get((*key, name)) for name in names}
        present = {name: u for name, u in measured.items() if u is not None}
        if not present or len(present) < len(names):
            return None  # metrics-server reports a pod only once all its containers are
        latest = max(present.values(), key=lambda u: u.timestamp)
        window = max(u.window for u in present.values())
        return {"kind": "PodMetrics", "apiVersion": API_VERSION,
                "metadata": self._metadata(meta, namespaced=True),
                **_sample(Usage(0, 0, latest.timestamp, window)),
                "containers": [{"name": name, "usage": _usage(u)} for name, u in present.items()]}

    # -- shared ---------------------------------------------------------------------------

    async def _described(self, plural: str, namespace: str, name: str) -> Object:
        """The Node or Pod a metrics object is named after; 404 in the metrics group."""
        try:
            return await self._registry.get(self._info(plural), namespace, name)
        except errors.StatusError as err:
            if err.code != 404:
                raise
            raise errors.not_found(plural, name, GROUP) from None

    async def _list(self, request: web.Request, plural: str, namespace: str) -> list[Object]:
        info = self._info(plural)
        options = list_options(request, info)
        page = await self._registry.list_page(
            info, namespace, ListOptions(label=options.label, field=options.field))
        return page.items

    def _info(self, plural: str) -> ResourceInfo:
        info = self._registry.resources.get("", "v1", plural)
        assert info is not None
        return info

    def _metadata(self, meta: Object, *, namespaced: bool) -> Object:
        out: Object = {"name": meta["name"]}
        if namespaced:
            out["namespace"] = meta.get("namespace", "")
        out["creationTimestamp"] = now_rfc3339(self._clock())
        if meta.get("labels"):
            out["labels"] = dict(meta["labels"])
        return out


def _raise_if_all_failed(results: dict[str, NodeUsage | ScrapeError]) -> None:
    failures = [r for r in results.values() if isinstance(r, ScrapeError)]
    if failures and len(failures) == len(results):
        raise errors.service_unavailable("; ".join(str(f) for f in failures))


def _sample(usage: Usage) -> Object:
    return {"timestamp": now_rfc3339(usage.timestamp), "window": go_duration(usage.window)}


def _usage(usage: Usage) -> Object:
    memory = usage.memory_bytes
    text = f"{memory // 1024}Ki" if memory % 1024 == 0 and memory else str(memory)
    return {"cpu": canonical_quantity(f"{usage.cpu_nanocores}n"),
            "memory": canonical_quantity(text)}


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()``, as ``metav1.Duration`` serializes: 15s, 1m0.5s."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    whole, fraction = divmod(rest, 10**9)
    text = f"{whole}.{fraction:09d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text


def _table(found: list[Object]) -> Object:
    rows = []
    for obj in found:
        usages = [obj["usage"]] if "usage" in obj else [c["usage"] for c in obj["containers"]]
        cpu = sum(_nanocores(u["cpu"]) for u in usages)
        total = _usage(Usage(cpu, sum(int(parse_quantity(u["memory"])) for u in usages), 0, 0))
        rows.append({"cells": [obj["metadata"]["name"], total["cpu"], total["memory"],
                               obj["window"]],
                     "object": neg.partial_metadata(obj)})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
            "columnDefinitions": _COLUMNS, "rows": rows}


def _nanocores(text: str) -> int:
    return int(parse_quantity(text) * 10**9)
