"""Which nodes should run a DaemonSet's pod: ``NodeShouldRunDaemonPod`` in small.

A node is judged for the pod the DaemonSet would put there: its template plus the
tolerations every daemon pod gets (not-ready, unreachable, the pressure conditions,
unschedulable, and network-unavailable for host-network pods). The answer is two bits:
``should_run`` (create a pod if there is none) and ``should_continue`` (keep one that is
there). A pinned ``nodeName`` elsewhere or an unmatched nodeSelector / required node
affinity says no to both; an untolerated NoSchedule taint only stops new pods; an
untolerated NoExecute taint evicts too.

The scheduler has its own matcher; controllers may not import it (layers), so the small
rules are restated here over :mod:`steersman.api.selectors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steersman.api.selectors import Operator, SelectorError, new_requirement

Object = dict[str, Any]
NODE_NAME_FIELD = "metadata.name"
_OPERATORS = {"In": Operator.IN, "NotIn": Operator.NOT_IN, "Exists": Operator.EXISTS,
              "DoesNotExist": Operator.DOES_NOT_EXIST, "Gt": Operator.GREATER_THAN,
              "Lt": Operator.LESS_THAN}
_ALWAYS_TOLERATED = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
_HOST_NETWORK_TOLERATED = (("node.kubernetes.io/network-unavailable", "NoSchedule"),)


@dataclass(frozen=True, slots=True)
class NodeFit:
    should_run: bool
    should_continue: bool


def daemon_tolerations(pod_spec: Mapping[str, Any]) -> list[Object]:
    """The template's tolerations plus the ones every daemon pod gets."""
    tolerations = [dict(t) for t in pod_spec.get("tolerations") or ()]
    extra = _ALWAYS_TOLERATED + (_HOST_NETWORK_TOLERATED if pod_spec.get("hostNetwork")
                                 else ())
    for key, effect in extra:
        wanted = {"key": key, "operator": "Exists", "effect": effect}
        if not any(_same_toleration(t, wanted) for t in tolerations):
            tolerations.append(wanted)
    return tolerations


def _same_toleration(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("key", "operator", "effect"))


def node_fit(pod_spec: Mapping[str, Any], node: Mapping[str, Any]) -> NodeFit:
    """Whether a daemon pod with ``pod_spec`` should run (and keep running) on ``node``."""
    node_name = str((node.get("metadata") or {}).get("name") or "")
    pinned = pod_spec.get("nodeName")
    if pinned and pinned != node_name:
        return NodeFit(False, False)
    labels = (node.get("metadata") or {}).get("labels") or {}
    if not matches_node_selection(pod_spec, labels, node_name):
        return NodeFit(False, False)
    taints = (node.get("spec") or {}).get("taints") or ()
    tolerations = daemon_tolerations(pod_spec)
    untolerated = {t.get("effect") for t in taints if not _tolerated(t, tolerations)}
    if "NoExecute" in untolerated:
        return NodeFit(False, False)
    if "NoSchedule" in untolerated:
        return NodeFit(False, True)
    return NodeFit(True, True)


def matches_node_selection(pod_spec: Mapping[str, Any], labels: Mapping[str, str],
                           node_name: str) -> bool:
    """``nodeSelector`` AND any required node affinity term."""
    selector = pod_spec.get("nodeSelector") or {}
    if any(labels.get(key) != value for key, value in selector.items()):
        return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    terms = required.get("nodeSelectorTerms") or ()
    return any(_term_matches(term, labels, node_name) for term in terms)


def _term_matches(term: Mapping[str, Any], labels: Mapping[str, str], node_name: str) -> bool:
    expressions = term.get("matchExpressions") or ()
    fields = term.get("matchFields") or ()
    if not expressions and not fields:
        return False  # an empty term matches no node
    return (_requirements_match(expressions, labels)
            and _requirements_match(fields, {NODE_NAME_FIELD: node_name}))


def _requirements_match(expressions: Sequence[Mapping[str, Any]],
                        values: Mapping[str, str]) -> bool:
    for expression in expressions:
        operator = _OPERATORS.get(str(expression.get("operator")))
        if operator is None:
            return False
        try:
            requirement = new_requirement(str(expression.get("key")), operator,
                                          [str(v) for v in expression.get("values") or ()]
                                          or None)
        except SelectorError:
            return False
        if not requirement.matches(values):
            return False
    return True


def _tolerated(taint: Mapping[str, Any], tolerations: Sequence[Mapping[str, Any]]) -> bool:
    return any(_tolerates(t, taint) for t in tolerations)


def _tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    effect = toleration.get("effect")
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key")
    if key and key != taint.get("key"):
        return False
    if (toleration.get("operator") or "Equal") == "Exists":
        return True
    return (toleration.get("value") or "") == (taint.get("value") or "")


def pin_to_node(pod_spec: Mapping[str, Any], node_name: str) -> Object:
    """``ReplaceDaemonSetPodNodeNameNodeAffinity``: required node affinity = this node only."""
    affinity = dict(pod_spec.get("affinity") or {})
    node_affinity = dict(affinity.get("nodeAffinity") or {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": NODE_NAME_FIELD, "operator": "In", "values": [node_name]}]}]}
    affinity["nodeAffinity"] = node_affinity
    return affinity


def target_node(pod: Mapping[str, Any]) -> str:
    """The node a daemon pod is for: ``spec.nodeName``, else its node-name affinity pin."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution")) or {}
    for term in required.get("nodeSelectorTerms") or ():
        for field in term.get("matchFields") or ():
            values = list(field.get("values") or [])
            if field.get("key") == NODE_NAME_FIELD and field.get("operator") == "In" \
                    and len(values) == 1:
                return str(values[0])
    return ""
