"""A :class:`~.collector.UsageSnapshot` in the kubelet's ``/metrics/resource`` text format.

The Prometheus text exposition format (0.0.4) with the kubelet's STABLE metric names and
labels, every sample stamped with the snapshot's time in milliseconds, as metrics-server
expects: ``node_cpu_usage_seconds_total``, ``node_memory_working_set_bytes``,
``pod_cpu_usage_seconds_total`` and ``pod_memory_working_set_bytes`` (``namespace``,
``pod``), ``container_cpu_usage_seconds_total``, ``container_memory_working_set_bytes`` and
``container_start_time_seconds`` (``container``, ``namespace``, ``pod``), and
``resource_scrape_error``.
"""

from __future__ import annotations

from collections.abc import Iterable

from steersman.kubelet.stats.collector import UsageSnapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_HELP = {
    "container_cpu_usage_seconds_total": (
        "counter", "Cumulative cpu time consumed by the container in core-seconds"),
    "container_memory_working_set_bytes": (
        "gauge", "Current working set of the container in bytes"),
    "container_start_time_seconds": (
        "gauge", "Start time of the container since unix epoch in seconds"),
    "node_cpu_usage_seconds_total": (
        "counter", "Cumulative cpu time consumed by the node in core-seconds"),
    "node_memory_working_set_bytes": ("gauge", "Current working set of the node in bytes"),
    "pod_cpu_usage_seconds_total": (
        "counter", "Cumulative cpu time consumed by the pod in core-seconds"),
    "pod_memory_working_set_bytes": ("gauge", "Current working set of the pod in bytes"),
    "resource_scrape_error": (
        "gauge", "1 if there was an error while getting container metrics, 0 otherwise"),
}
Sample = tuple[dict[str, str], float]


def render_resource_metrics(snapshot: UsageSnapshot) -> str:
    stamp = int(snapshot.timestamp * 1000)
    families = _families(snapshot)
    lines: list[str] = []
    for name in sorted(families):
        kind, text = _HELP[name]
        lines.append(f"# HELP {name} [STABLE] {text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(_sample(name, labels, value, stamp) for labels, value in families[name])
    return "\n".join(lines) + "\n"


def _families(snapshot: UsageSnapshot) -> dict[str, list[Sample]]:
    containers = sorted(snapshot.containers, key=lambda c: (c.namespace, c.pod, c.container))
    labels = [{"container": c.container, "namespace": c.namespace, "pod": c.pod}
              for c in containers]
    pods = sorted(snapshot.pods().items())
    pod_labels = [{"namespace": ns, "pod": pod} for (ns, pod), _ in pods]
    return {
        "container_cpu_usage_seconds_total": _zip(labels, (c.cpu_seconds for c in containers)),
        "container_memory_working_set_bytes": _zip(
            labels, (c.memory_bytes for c in containers)),
        "container_start_time_seconds": _zip(labels, (c.start_time for c in containers)),
        "node_cpu_usage_seconds_total": [({}, snapshot.node_cpu_seconds)],
        "node_memory_working_set_bytes": [({}, snapshot.node_memory_bytes)],
        "pod_cpu_usage_seconds_total": _zip(pod_labels, (u.cpu_seconds for _, u in pods)),
        "pod_memory_working_set_bytes": _zip(pod_labels, (u.memory_bytes for _, u in pods)),
        "resource_scrape_error": [({}, 0)],
    }


def _zip(labels: list[dict[str, str]], values: Iterable[float]) -> list[Sample]:
    return list(zip(labels, values, strict=True))


def _sample(name: str, labels: dict[str, str], value: float, stamp: int) -> str:
    if not labels:
        return f"{name} {_number(value)} {stamp}"
    pairs = ",".join(f'{key}="{_escape(text)}"' for key, text in labels.items())
    return f"{name}{{{pairs}}} {_number(value)} {stamp}"


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
