"""VolumeBinding (upstream ``plugins/volumebinding``), for claims that are bound or wait for
their first consumer.

* PreFilter reads the pod's ``persistentVolumeClaim`` volumes from the snapshot. A claim
  that does not exist or is being deleted, or an unbound claim whose class binds at once
  (``Immediate``, or no class), makes the pod unschedulable everywhere with upstream's
  words (``persistentvolumeclaim "data" not found``, ``pod has unbound immediate
  PersistentVolumeClaims``): the binder or the claim's author acts first, and the pod is
  retried when a claim, volume or class changes.
* Filter keeps a pod with bound claims on the nodes their volumes' ``nodeAffinity``
  allows; an unbound ``WaitForFirstConsumer`` claim allows every node its class's
  ``allowedTopologies`` allow, when the class has a provisioner (static volumes of
  ``kubernetes.io/no-provisioner`` classes are not matched by the scheduler here, so such
  a claim fits no node and says so).
* PreBind writes ``volume.kubernetes.io/selected-node`` on each unbound claim of the pod,
  which starts provisioning on that node. Upstream then waits for the claims to be bound
  before binding the pod; here the pod is bound at once and its node agent waits for the
  claims (``ContainerCreating``), which keeps the scheduler's binding path short.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from steersman.api.volumes import (
    NO_PROVISIONER,
    SELECTED_NODE,
    WAIT_FOR_FIRST_CONSUMER,
    annotations_of,
    claim_class,
    claim_volume_names,
)
from steersman.scheduler.framework.affinity import NodeSelectorTerm, RequiredNodeAffinity
from steersman.scheduler.framework.interface import (
    SKIP,
    SUCCESS,
    CycleState,
    Handle,
    PreFilterResult,
    Snapshot,
    StateKey,
    Status,
    error,
    unresolvable,
)
from steersman.scheduler.framework.types import NodeInfo, PodInfo

NAME = "VolumeBinding"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
NODE_CONFLICT = "node(s) had volume node affinity conflict"
BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"


@dataclass(slots=True)
class _PodVolumes:
    """What Filter and PreBind need, computed once per cycle by PreFilter."""

    affinities: list[RequiredNodeAffinity] = field(default_factory=list)
    topologies: list[tuple[NodeSelectorTerm, ...]] = field(default_factory=list)
    to_provision: list[Mapping[str, Any]] = field(default_factory=list)
    missing_volume: bool = False
    static_only: bool = False


_KEY: StateKey[_PodVolumes] = StateKey(NAME)


class VolumeBinding:
    name = NAME

    def __init__(self, handle: Handle) -> None:
        self._handle = handle

    def pre_filter(self, state: CycleState, pod: PodInfo) -> tuple[PreFilterResult | None, Status]:
        names = claim_volume_names(pod.pod)
        if not names:
            return None, SKIP
        volumes = _PodVolumes()
        for _volume, claim_name in names:
            claim = state.snapshot.claim(pod.namespace, claim_name)
            if claim is None:
                return None, unresolvable(f'persistentvolumeclaim "{claim_name}" not found')
            if (claim.get("metadata") or {}).get("deletionTimestamp"):
                return None, unresolvable(
                    f'persistentvolumeclaim "{claim_name}" is being deleted')
            if not _add_claim(volumes, claim, state.snapshot):
                return None, unresolvable(UNBOUND_IMMEDIATE)
        state.write(_KEY, volumes)
        return None, SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        volumes = state.read(_KEY)
        if volumes.missing_volume:
            return unresolvable(PV_NOT_EXIST)
        for affinity in volumes.affinities:
            if not affinity.matches(node.labels, node.name):
                return unresolvable(NODE_CONFLICT)
        if volumes.static_only:
            return unresolvable(BIND_CONFLICT)
        for terms in volumes.topologies:
            if not any(term.matches(node.labels, node.name) for term in terms):
                return unresolvable(BIND_CONFLICT)
        return SUCCESS

    async def pre_bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        try:
            volumes = state.read(_KEY)
        except LookupError:
            return SUCCESS  # PreFilter skipped: the pod has no claims
        for claim in volumes.to_provision:
            if annotations_of(claim).get(SELECTED_NODE) == node_name:
                continue
            try:
                await self._handle.select_node(claim, node_name)
            except Exception as exc:  # the API's answer is an outcome: retry with back-off
                name = (claim.get("metadata") or {}).get("name")
                return error(f"selecting node {node_name} for claim {name}: {exc}", plugin=NAME)
        return SUCCESS


def _add_claim(volumes: _PodVolumes, claim: Mapping[str, Any], snapshot: Snapshot) -> bool:
    """Record what one claim asks of nodes; ``False`` for an unbound immediate claim."""
    volume_name = (claim.get("spec") or {}).get("volumeName")
    if volume_name:
        volume = snapshot.persistent_volume(str(volume_name))
        if volume is None:
            volumes.missing_volume = True
            return True
        required = ((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required")
        if required:
            affinity = RequiredNodeAffinity.parse({"affinity": {"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": required}}})
            if affinity is not None:
                volumes.affinities.append(affinity)
        return True
    storage_class = snapshot.storage_class(claim_class(claim))
    if storage_class is None or storage_class.get("volumeBindingMode") != (
            WAIT_FOR_FIRST_CONSUMER):
        return False
    if storage_class.get("provisioner") == NO_PROVISIONER:
        volumes.static_only = True
    topologies = storage_class.get("allowedTopologies") or []
    if topologies:
        volumes.topologies.append(tuple(_topology_term(t) for t in topologies))
    volumes.to_provision.append(claim)
    return True


def _topology_term(raw: Mapping[str, Any]) -> NodeSelectorTerm:
    """An ``allowedTopologies`` entry as a node selector term (``key In values`` each)."""
    return NodeSelectorTerm.parse({"matchExpressions": [
        {"key": e.get("key"), "operator": "In", "values": list(e.get("values") or [])}
        for e in raw.get("matchLabelExpressions") or []]})


def new(_args: Mapping[str, Any], handle: Handle) -> VolumeBinding:
    return VolumeBinding(handle)
