"""What a DaemonSet should do next, and its status: pure functions of cached state.

:func:`manage` is ``daemon_controller.go``'s ``manage``/``podsShouldBeOnNode``: a pod on
every node that should run one, failed pods replaced, extra pods and pods on nodes that
should not run them (or no longer exist) deleted. :func:`rolling_update` is ``update.go``:
with ``maxSurge`` 0, delete at most ``maxUnavailable`` old pods (unavailable ones first),
letting ``manage`` recreate them from the new template; with a surge, start new pods beside
old available ones and delete each old pod once its replacement is available.
:func:`daemon_status` counts what ``kubectl get ds`` prints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from steersman.controllers.daemonset.eligibility import NodeFit
from steersman.controllers.history import REVISION_HASH_LABEL
from steersman.controllers.podstate import (
    created_at,
    is_available,
    is_ready,
    is_terminating,
    name_of,
    phase,
)

Object = dict[str, Any]
NodePods = Mapping[str, Sequence[Object]]


@dataclass
class Plan:
    create_on: list[str] = field(default_factory=list)
    delete: list[Object] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create_on or self.delete)


@dataclass(frozen=True)
class Rollout:
    """The DaemonSet's update knobs, resolved against the number of eligible nodes."""

    hash: str
    max_surge: int
    max_unavailable: int
    min_ready_seconds: int
    now: float


def resolve_rollout(ds: Mapping[str, Any], *, desired: int, hash: str, now: float) -> Rollout:
    spec = ds.get("spec") or {}
    rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
    surge = scaled(rolling.get("maxSurge", 0), desired, round_up=True)
    unavailable = scaled(rolling.get("maxUnavailable", 1), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # as upstream: a rollout must be able to make progress
    return Rollout(hash, surge, unavailable, int(spec.get("minReadySeconds") or 0), now)


def scaled(value: Any, total: int, *, round_up: bool) -> int:
    """An int-or-percent against ``total`` (``intstr.GetScaledValueFromIntOrPercent``)."""
    if isinstance(value, int):
        return value
    text = str(value or "0")
    if not text.endswith("%"):
        return int(text)
    exact = int(text[:-1]) * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def live(pods: Sequence[Object]) -> list[Object]:
    """Pods not being deleted, oldest first."""
    return sorted((p for p in pods if not is_terminating(p)), key=_age_key)


def _age_key(pod: Object) -> tuple[float, str]:
    return created_at(pod), name_of(pod)


def manage(fits: Mapping[str, NodeFit], node_pods: NodePods, rollout: Rollout) -> Plan:
    plan = Plan()
    for node, pods in node_pods.items():
        if node not in fits:
            plan.delete += live(pods)  # the node is gone
    for node, fit in sorted(fits.items()):
        pods = live(node_pods.get(node, ()))
        if fit.should_run and not pods:
            plan.create_on.append(node)
        elif not fit.should_continue:
            plan.delete += pods
        else:
            failed = [p for p in pods if phase(p) == "Failed"]
            plan.delete += failed
            running = [p for p in pods if p not in failed]
            if not failed:
                plan.delete += _extra(running, rollout)
            elif fit.should_run and len(failed) == len(pods):
                plan.create_on.append(node)
    return plan


def _extra(pods: list[Object], rollout: Rollout) -> list[Object]:
    """Pods beyond the one a node should have (two, old and new, while surging)."""
    if len(pods) <= 1:
        return []
    if rollout.max_surge == 0:
        return pods[1:]
    new = [p for p in pods if _hash(p) == rollout.hash]
    old = [p for p in pods if _hash(p) != rollout.hash]
    extra = new[1:] + old[1:]
    if new and old and (not is_ready(old[0]) or _available(new[0], rollout)):
        extra.append(old[0])
    return extra


def rolling_update(fits: Mapping[str, NodeFit], node_pods: NodePods, rollout: Rollout) -> Plan:
    on_nodes = {n: live(node_pods.get(n, ())) for n, f in fits.items() if f.should_continue}
    if rollout.max_surge == 0:
        return _replace_in_place(on_nodes, rollout)
    return _surge(on_nodes, rollout)


def _split(pods: list[Object], rollout: Rollout) -> tuple[Object | None, Object | None, bool]:
    """(new pod, old pod, ok): not ok when the node holds more than one of either."""
    new = [p for p in pods if _hash(p) == rollout.hash]
    old = [p for p in pods if _hash(p) != rollout.hash]
    if len(new) > 1 or len(old) > 1:
        return None, None, False
    return (new[0] if new else None), (old[0] if old else None), True


def _replace_in_place(on_nodes: Mapping[str, list[Object]], rollout: Rollout) -> Plan:
    unavailable, replace_now, candidates = 0, [], []
    for _node, pods in sorted(on_nodes.items()):
        new, old, ok = _split(pods, rollout)
        if not ok:
            unavailable += 1
        elif new is not None and old is None:
            unavailable += 0 if _available(new, rollout) else 1
        elif old is not None and new is None:
            if not _available(old, rollout):
                replace_now.append(old)
            elif unavailable >= rollout.max_unavailable:
                unavailable += 1
            else:
                candidates.append(old)
    budget = min(max(rollout.max_unavailable - unavailable, 0), len(candidates))
    return Plan(delete=replace_now + candidates[:budget])


def _surge(on_nodes: Mapping[str, list[Object]], rollout: Rollout) -> Plan:
    surging, allowed, candidates, plan = 0, [], [], Plan()
    for node, pods in sorted(on_nodes.items()):
        new, old, ok = _split(pods, rollout)
        if not ok:
            surging += 1
        elif old is None:
            continue
        elif new is None:
            if not _available(old, rollout):
                allowed.append(node)
            elif surging < rollout.max_surge:
                candidates.append(node)
        elif not _available(new, rollout):
            surging += 1
        else:
            plan.delete.append(old)
    budget = min(max(rollout.max_surge - surging, 0), len(candidates))
    plan.create_on = allowed + candidates[:budget]
    return plan


def _hash(pod: Mapping[str, Any]) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH_LABEL, ""))


def _available(pod: Mapping[str, Any], rollout: Rollout) -> bool:
    return is_available(pod, rollout.min_ready_seconds, rollout.now)


def daemon_status(ds: Mapping[str, Any], fits: Mapping[str, NodeFit], node_pods: NodePods,
                  rollout: Rollout) -> Object:
    counts = dict.fromkeys(("desired", "current", "ready", "available", "updated",
                            "misscheduled"), 0)
    for node, fit in fits.items():
        pods = live(node_pods.get(node, ()))
        counts["desired"] += fit.should_run
        if not fit.should_run:
            counts["misscheduled"] += bool(pods)
            continue
        if not pods:
            continue
        counts["current"] += 1
        counts["ready"] += is_ready(pods[0])
        counts["available"] += _available(pods[0], rollout)
        counts["updated"] += _hash(pods[0]) == rollout.hash
    status = dict(ds.get("status") or {})
    status.update(
        desiredNumberScheduled=counts["desired"], currentNumberScheduled=counts["current"],
        numberReady=counts["ready"], numberAvailable=counts["available"],
        numberUnavailable=counts["desired"] - counts["available"],
        updatedNumberScheduled=counts["updated"], numberMisscheduled=counts["misscheduled"],
        observedGeneration=(ds.get("metadata") or {}).get("generation", 0))
    return status
