"""Scraping a node agent's ``/metrics/resource``: the HTTPS fetch and the text parser.

The API server plays metrics-server here. :class:`KubeletScraper` dials the node agent as
the log and exec proxy does (the Node's InternalIP and kubelet port, the API server's
kubelet-client certificate, the node's certificate checked against the cluster CA) and
:func:`parse_resource_metrics` reads the kubelet's Prometheus text into a
:class:`NodeSample`: cumulative CPU core-seconds and working-set bytes for the node and
each container, with the sample timestamps the node wrote. A node that cannot be reached,
or answers with something else, is a :class:`ScrapeError` whose message says which node
and why.
"""

from __future__ import annotations

import math
import ssl
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from steersman.api import errors
from steersman.apiserver.nodeproxy import kubelet_address

Object = dict[str, Any]
ContainerKey = tuple[str, str, str]  # namespace, pod, container
_CONTAINER_METRICS = {"container_cpu_usage_seconds_total": "cpu",
                      "container_memory_working_set_bytes": "memory",
                      "container_start_time_seconds": "start"}
_NODE_METRICS = {"node_cpu_usage_seconds_total": "cpu", "node_memory_working_set_bytes": "memory"}


class ScrapeError(Exception):
    """A node's usage could not be read; the message names the node and the cause."""


@dataclass(frozen=True)
class Point:
    """Cumulative CPU (core-seconds) and working set (bytes) at ``timestamp`` (epoch s)."""

    cpu_seconds: float
    memory_bytes: int
    timestamp: float
    start_time: float = 0.0


@dataclass(frozen=True)
class NodeSample:
    node: Point
    containers: dict[ContainerKey, Point] = field(default_factory=dict)


class KubeletScraper:
    """Fetches ``/metrics/resource`` from a Node's agent over mutually authenticated TLS."""

    def __init__(self, kubelet_client: ssl.SSLContext, *, timeout: float = 10.0) -> None:
        self._ssl = kubelet_client
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 5.0))

    async def __call__(self, node: Object) -> NodeSample:
        name = node["metadata"]["name"]
        try:
            host, port = kubelet_address(node)
        except errors.StatusError as err:
            raise ScrapeError(err.message) from err
        where = f'the node agent of node "{name}" at {host}:{port}'
        connector = aiohttp.TCPConnector(ssl=self._ssl)
        async with aiohttp.ClientSession(connector=connector, timeout=self._timeout) as session:
            try:
                async with session.get(f"https://{host}:{port}/metrics/resource") as answer:
                    body = await answer.text()
            except (aiohttp.ClientError, TimeoutError, OSError) as err:
                raise ScrapeError(f"cannot reach {where}: {err or type(err).__name__}") from err
        if answer.status != 200:
            raise ScrapeError(f"{where} answered {answer.status}: {body.strip()[:200]}")
        try:
            return parse_resource_metrics(body)
        except ValueError as err:
            raise ScrapeError(f"cannot read the metrics of {where}: {err}") from err


def parse_resource_metrics(text: str) -> NodeSample:
    """The node and container points in a ``/metrics/resource`` document."""
    node: dict[str, tuple[float, float]] = {}
    containers: dict[ContainerKey, dict[str, tuple[float, float]]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, labels, value, stamp = _parse_line(line)
        if name in _NODE_METRICS:
            node[_NODE_METRICS[name]] = (value, stamp)
        elif name in _CONTAINER_METRICS:
            key = (labels.get("namespace", ""), labels.get("pod", ""), labels.get("container", ""))
            containers.setdefault(key, {})[_CONTAINER_METRICS[name]] = (value, stamp)
    if set(node) != {"cpu", "memory"}:
        raise ValueError("node_cpu_usage_seconds_total or node_memory_working_set_bytes missing")
    return NodeSample(_point(node), {key: _point(values) for key, values in containers.items()
                                     if {"cpu", "memory"} <= set(values)})


def _point(values: dict[str, tuple[float, float]]) -> Point:
    cpu, stamp = values["cpu"]
    return Point(cpu_seconds=cpu, memory_bytes=int(values["memory"][0]), timestamp=stamp,
                 start_time=values.get("start", (0.0, 0.0))[0])


def _parse_line(line: str) -> tuple[str, dict[str, str], float, float]:
    """``name{labels} value [timestamp_ms]`` → (name, labels, value, timestamp in s)."""
    labels: dict[str, str] = {}
    if "{" in line:
        name, _, rest = line.partition("{")
        body, rest = _split_labels(rest)
        labels = _labels(body)
    else:
        name, _, rest = line.partition(" ")
    fields = rest.split()
    if not fields or len(fields) > 2:
        raise ValueError(f"malformed sample line: {line!r}")
    value = float(fields[0])
    if math.isnan(value):
        raise ValueError(f"not a number in {line!r}")
    stamp = float(fields[1]) / 1000 if len(fields) == 2 else 0.0
    return name.strip(), labels, value, stamp


def _split_labels(rest: str) -> tuple[str, str]:
    """The label text up to the closing brace (outside quotes) and what follows it."""
    quoted, escaped = False, False
    for index, char in enumerate(rest):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "}" and not quoted:
            return rest[:index], rest[index + 1:]
    raise ValueError(f"unterminated labels in {rest!r}")


def _labels(body: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    index = 0
    while index < len(body):
        key, _, after = body[index:].partition('="')
        value, consumed = _quoted_value(after)
        labels[key.strip(" ,")] = value
        index += len(key) + 2 + consumed
    return labels


def _quoted_value(text: str) -> tuple[str, int]:
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            out.append("\n" if following == "n" else following)
            index += 2
            continue
        if char == '"':
            return "".join(out), index + 1
        out.append(char)
        index += 1
    raise ValueError(f"unterminated label value in {text!r}")
