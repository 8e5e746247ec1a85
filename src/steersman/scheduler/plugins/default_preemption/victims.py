"""Choosing victims on one node (upstream ``SelectVictimsOnNode``) and PDB accounting.

Remove every lower-priority pod; if the preemptor still does not fit, the node cannot help.
Otherwise add pods back ("reprieve") from the most important down — those whose eviction
would violate a PodDisruptionBudget first — keeping each one that still lets the preemptor
fit. What is left are the victims: as few and as unimportant as the greedy order allows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steersman.api.selectors import SelectorError, selector_from_label_selector_spec
from steersman.scheduler.framework.interface import CycleState, Status, unresolvable
from steersman.scheduler.framework.types import NodeInfo, PodInfo

NO_VICTIMS = "No preemption victims found for incoming pod"
RunFilters = Callable[[CycleState, PodInfo, NodeInfo], Status]


@dataclass(frozen=True, slots=True)
class Candidate:
    node_name: str
    victims: tuple[PodInfo, ...]  # most important first
    pdb_violations: int


def start_time(pod: PodInfo) -> str:
    return str((pod.pod.get("status") or {}).get("startTime") or pod.created)


def importance(pod: PodInfo) -> tuple[int, str]:
    """Sort key: more important first (higher priority, then earlier start)."""
    return (-pod.priority, start_time(pod))


def select_victims(run_filters: RunFilters, state: CycleState, pod: PodInfo, node: NodeInfo,
                   budgets: Sequence[Mapping[str, Any]]) -> Candidate | Status:
    lower = sorted((p for p in node.pods.values() if p.priority < pod.priority), key=importance)
    if not lower:
        return unresolvable(NO_VICTIMS)
    trial = node.clone()
    for victim in lower:
        trial.remove_pod(victim.uid)
    status = run_filters(state, pod, trial)
    if not status.is_success:
        return status
    violating, harmless = split_by_budgets(lower, budgets)
    victims: list[PodInfo] = []
    violations = 0
    for group, counts in ((violating, True), (harmless, False)):
        for candidate in group:
            trial.add_pod(candidate)
            if not run_filters(state, pod, trial).is_success:
                trial.remove_pod(candidate.uid)
                victims.append(candidate)
                violations += counts
    return Candidate(node.name, tuple(sorted(victims, key=importance)), violations)


def split_by_budgets(pods: Sequence[PodInfo], budgets: Sequence[Mapping[str, Any]]
                     ) -> tuple[list[PodInfo], list[PodInfo]]:
    """(pods whose eviction would exceed a budget, the others), order kept."""
    allowed = [int((b.get("status") or {}).get("disruptionsAllowed") or 0) for b in budgets]
    violating: list[PodInfo] = []
    harmless: list[PodInfo] = []
    for pod in pods:
        breaks = False
        for index, budget in enumerate(budgets):
            if _covers(budget, pod):
                allowed[index] -= 1
                breaks = breaks or allowed[index] < 0
        (violating if breaks else harmless).append(pod)
    return violating, harmless


def _covers(budget: Mapping[str, Any], pod: PodInfo) -> bool:
    meta = budget.get("metadata") or {}
    if meta.get("namespace", "default") != pod.namespace:
        return False
    if pod.name in ((budget.get("status") or {}).get("disruptedPods") or {}):
        return False
    try:
        selector = selector_from_label_selector_spec((budget.get("spec") or {}).get("selector"))
    except SelectorError:
        return False
    return not selector.empty and selector.matches(pod.labels)
