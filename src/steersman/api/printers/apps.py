"""apps/v1 rows: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import (
    NONE,
    age,
    container_cells,
    dig,
    format_labels,
    format_selector,
    items,
    mapping,
    name_of,
    number,
    selector_string,
    text,
)
from steersman.api.printers.columns import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    WIDE,
    Printer,
    api,
    col,
)


def _template_spec(spec: Mapping[str, Any]) -> Any:
    return dig(spec, "template", "spec")


def _deployment(obj: Mapping[str, Any], now: float) -> list[Any]:
    spec, status = mapping(obj, "spec"), mapping(obj, "status")
    selector = selector_string(spec.get("selector"))
    return [
        name_of(obj),
        f"{number(status, 'readyReplicas')}/{number(spec, 'replicas', default=1)}",
        number(status, "updatedReplicas"), number(status, "availableReplicas"), age(obj, now),
        *container_cells(_template_spec(spec)),
        "<invalid>" if selector is None else selector,
    ]


def _replica_set(obj: Mapping[str, Any], now: float) -> list[Any]:
    spec, status = mapping(obj, "spec"), mapping(obj, "status")
    return [
        name_of(obj), number(spec, "replicas", default=1), number(status, "replicas"),
        number(status, "readyReplicas"), age(obj, now),
        *container_cells(_template_spec(spec)), format_selector(spec.get("selector")),
    ]


def _stateful_set(obj: Mapping[str, Any], now: float) -> list[Any]:
    spec, status = mapping(obj, "spec"), mapping(obj, "status")
    ready = f"{number(status, 'readyReplicas')}/{number(spec, 'replicas', default=1)}"
    return [name_of(obj), ready, age(obj, now), *container_cells(_template_spec(spec))]


def _daemon_set(obj: Mapping[str, Any], now: float) -> list[Any]:
    spec, status = mapping(obj, "spec"), mapping(obj, "status")
    counts = (
        "desiredNumberScheduled", "currentNumberScheduled", "numberReady",
        "updatedNumberScheduled", "numberAvailable",
    )
    return [
        name_of(obj), *(number(status, field) for field in counts),
        format_labels(dig(_template_spec(spec), "nodeSelector")), age(obj, now),
        *container_cells(_template_spec(spec)), format_selector(spec.get("selector")),
    ]


def _controller_revision(obj: Mapping[str, Any], now: float) -> list[Any]:
    return [name_of(obj), _controller(obj), number(obj, "revision"), age(obj, now)]


def _controller(obj: Mapping[str, Any]) -> str:
    """The controller owner as ``kind.group/name`` in lower case, ``<none>`` without one."""
    for owner in items(obj, "metadata", "ownerReferences"):
        if mapping(owner).get("controller") is True:
            group = text(owner, "apiVersion").rpartition("/")[0]
            kind = text(owner, "kind")
            qualified = f"{kind}.{group}" if group else kind
            if not qualified:
                return text(owner, "name")
            return f"{qualified.lower()}/{text(owner, 'name')}"
    return NONE


_DEPLOYMENT_COLUMNS = (
    NAME,
    col("Ready", "Number of the pod with ready state"),
    col("Up-to-date", api("apps.v1.DeploymentStatus", "updatedReplicas")),
    col("Available", api("apps.v1.DeploymentStatus", "availableReplicas")),
    AGE, CONTAINERS, IMAGES,
    col("Selector", api("apps.v1.DeploymentSpec", "selector"), priority=WIDE),
)
_REPLICA_SET_COLUMNS = (
    NAME,
    col("Desired", api("apps.v1.ReplicaSetSpec", "replicas"), type="integer"),
    col("Current", api("apps.v1.ReplicaSetStatus", "replicas"), type="integer"),
    col("Ready", api("apps.v1.ReplicaSetStatus", "readyReplicas"), type="integer"),
    AGE, CONTAINERS, IMAGES,
    col("Selector", api("apps.v1.ReplicaSetSpec", "selector"), priority=WIDE),
)
_DAEMON_SET_COLUMNS = (
    NAME,
    col("Desired", api("apps.v1.DaemonSetStatus", "desiredNumberScheduled"), type="integer"),
    col("Current", api("apps.v1.DaemonSetStatus", "currentNumberScheduled"), type="integer"),
    col("Ready", api("apps.v1.DaemonSetStatus", "numberReady"), type="integer"),
    col("Up-to-date", api("apps.v1.DaemonSetStatus", "updatedNumberScheduled"), type="integer"),
    col("Available", api("apps.v1.DaemonSetStatus", "numberAvailable"), type="integer"),
    col("Node Selector", api("core.v1.PodSpec", "nodeSelector")),
    AGE, CONTAINERS, IMAGES,
    col("Selector", api("apps.v1.DaemonSetSpec", "selector"), priority=WIDE),
)

PRINTERS = {
    "Deployment": Printer(_DEPLOYMENT_COLUMNS, _deployment),
    "ReplicaSet": Printer(_REPLICA_SET_COLUMNS, _replica_set),
    "StatefulSet": Printer(
        (NAME, col("Ready", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES),
        _stateful_set),
    "DaemonSet": Printer(_DAEMON_SET_COLUMNS, _daemon_set),
    "ControllerRevision": Printer(
        (NAME, col("Controller", "Controller of the object"),
         col("Revision", api("apps.v1.ControllerRevision", "revision")), AGE),
        _controller_revision),
}
