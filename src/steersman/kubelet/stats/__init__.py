"""Resource usage of the node and its containers, served as the kubelet's ``/metrics/resource``.

* :mod:`.procfs` — the node's CPU and memory from ``/proc/stat`` and ``/proc/meminfo``, and a
  process group's from ``/proc/<pid>/stat`` (the ``process`` runtime's containers);
* :mod:`.cgroupfs` — a container's CPU and working set from its own cgroup (crun, runc;
  cgroup v1 and v2);
* :mod:`.collector` — one :class:`~.collector.UsageSnapshot` per scrape, from the agent's
  runtime (its running containers, their PIDs and kubelet labels);
* :mod:`.prometheus` — the snapshot in the kubelet's Prometheus text format, with its
  metric names (what metrics-server and the API server's ``metrics.k8s.io`` scrape);
* :mod:`.handler` — the ``GET /metrics/resource`` route of the node's HTTPS server.
"""

from steersman.kubelet.stats.collector import ContainerUsage, UsageCollector, UsageSnapshot
from steersman.kubelet.stats.handler import ResourceMetricsHandler
from steersman.kubelet.stats.prometheus import render_resource_metrics

__all__ = [
    "ContainerUsage",
    "ResourceMetricsHandler",
    "UsageCollector",
    "UsageSnapshot",
    "render_resource_metrics",
]
