"""The scheduling framework's extension points: one small ``Protocol`` each.

Mirrors ``pkg/scheduler/framework/interface.go``. A plugin implements only the points it
needs; the runtime (:mod:`.runtime`) calls them in a fixed order:

``PreFilter`` (once per pod) → ``Filter`` (per node) → ``PostFilter`` (only when no node
fits; preemption) → ``PreScore`` (once) → ``Score`` (once, over all feasible nodes) →
normalise → ``Reserve`` → ``PreBind`` → ``Bind`` (both async, off the scheduling cycle).

Contract: expected outcomes are :class:`Status` values whose ``reasons`` are the words a
user reads in the ``FailedScheduling`` event; exceptions are for bugs. Filter and score run
synchronously against one cluster view (:class:`Snapshot`), so they are pure functions of
their arguments and trivially table-testable. ``Score`` is batched — one call per plugin per
cycle over every feasible node — because per-node dispatch dominates in Python; for the same
reason a Filter plugin may also offer ``filter_nodes`` (:class:`BatchFilterPlugin`), and a
Score plugin may say its score is node-local (:class:`NodeLocalScorer`: memoised per node,
so most cycles call nothing) or, for a cycle, alike on every node (:class:`UniformScorer`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from steersman.api.selectors import LabelSelector
    from steersman.scheduler.framework.affinity import AffinityTerm
    from steersman.scheduler.framework.types import NodeInfo, NodeTraits, PodInfo

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0

T = TypeVar("T")


class Code(enum.IntEnum):
    """What a status means, and therefore what the queue does with the pod."""

    SUCCESS = 0
    ERROR = 1  # internal error: the pod is retried with back-off
    UNSCHEDULABLE = 2  # this node does not fit now; preempting pods on it might help
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3  # nothing done to this node (preemption) would help
    SKIP = 4  # PreFilter/PreScore: the plugin has nothing to do for this pod


@dataclass(frozen=True, slots=True)
class Status:
    """An outcome; ``reasons`` are user-facing, ``plugin`` says who decided."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def is_success(self) -> bool:
        return self.code is Code.SUCCESS

    @property
    def is_rejected(self) -> bool:
        """Unschedulable or unresolvable: the node (or pod) does not fit."""
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def message(self) -> str:
        return ", ".join(self.reasons)


SUCCESS = Status()
SKIP = Status(Code.SKIP)


def unschedulable(*reasons: str, plugin: str = "") -> Status:
    return Status(Code.UNSCHEDULABLE, reasons, plugin)


def unresolvable(*reasons: str, plugin: str = "") -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons, plugin)


def error(message: str, *, plugin: str = "") -> Status:
    return Status(Code.ERROR, (message,), plugin)


class StateKey(Generic[T]):
    """A typed, plugin-namespaced key into :class:`CycleState`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"StateKey({self.name!r})"


class CycleState:
    """Data shared between one plugin's phases during one scheduling cycle."""

    __slots__ = ("_data", "skip_filter", "skip_score", "snapshot")

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._data: dict[StateKey[Any], Any] = {}
        self.skip_filter: set[str] = set()
        self.skip_score: set[str] = set()

    def write(self, key: StateKey[T], value: T) -> None:
        self._data[key] = value

    def read(self, key: StateKey[T]) -> T:
        try:
            return self._data[key]  # type: ignore[no-any-return]
        except KeyError:
            raise LookupError(f"{key.name} not found in cycle state") from None

    def clone(self) -> CycleState:
        """A copy for preemption dry runs; values are shared (plugins treat them as frozen)."""
        copy = CycleState(self.snapshot)
        copy._data = dict(self._data)
        copy.skip_filter = set(self.skip_filter)
        copy.skip_score = set(self.skip_score)
        return copy


class Snapshot(Protocol):
    """The cluster as plugins see it during one cycle (implemented by the scheduler cache)."""

    @property
    def nodes(self) -> Sequence[NodeInfo]:
        """Every node, in a stable order."""
        ...

    def get(self, name: str) -> NodeInfo | None: ...

    def pods_with_affinity(self) -> Iterable[PodInfo]:
        """Assigned pods whose terms score other pods (``PodInfo.scores_other_pods``)."""
        ...

    def required_anti_affinity_domains(self) -> Iterable[tuple[AffinityTerm, Mapping[str, int]]]:
        """Existing pods' required anti-affinity terms, grouped: term → pods per value of the
        term's topology key on their (listed) nodes. Only non-zero counts appear."""
        ...

    def domain_counts(
        self, *, namespaces: frozenset[str] | None, selector: LabelSelector, topology_key: str
    ) -> Mapping[str, int]:
        """Assigned pods matching (namespaces, selector), counted per value of a node label.

        ``namespaces=None`` means every namespace. Only non-zero counts appear.
        """
        ...

    def topology_values(self, key: str) -> Mapping[str, int]:
        """For a node label key: each value → how many nodes carry it."""
        ...

    def node_traits(self) -> NodeTraits:
        """How many nodes are cordoned or carry hard / PreferNoSchedule taints."""
        ...

    def namespace_labels(self) -> Mapping[str, Mapping[str, str]]:
        """Namespace name → labels, for affinity terms with a ``namespaceSelector``."""
        ...

    def image_spread(self, image: str) -> int:
        """How many nodes report the (normalised) image."""
        ...

    def disruption_budgets(self) -> Sequence[Mapping[str, Any]]:
        """PodDisruptionBudget objects, for preemption to respect."""
        ...

    def claim(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """A PersistentVolumeClaim, or ``None`` when the informer has not seen it."""
        ...

    def persistent_volume(self, name: str) -> Mapping[str, Any] | None: ...

    def storage_class(self, name: str) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class PreFilterResult:
    """Restricts the cycle to these node names (``None`` = all nodes)."""

    node_names: frozenset[str] | None = None
    plugins: tuple[str, ...] = ()  # who restricted it (filled in by the runtime)


class Handle(Protocol):
    """What plugins may ask of the framework that runs them (upstream ``framework.Handle``)."""

    def run_filters(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """Every enabled Filter on one node (preemption's "would it fit now?")."""
        ...

    async def bind(self, pod: Mapping[str, Any], node_name: str) -> None:
        """Write the binding through the injected API; raises on failure."""
        ...

    async def select_node(self, claim: Mapping[str, Any], node_name: str) -> None:
        """Annotate a claim with ``volume.kubernetes.io/selected-node``; raises on failure."""
        ...


@dataclass(frozen=True, slots=True)
class PostFilterResult:
    """What PostFilter (preemption) decided: a nominated node and the pods to evict."""

    nominated_node_name: str | None
    victims: tuple[PodInfo, ...] = ()


class NodeToStatus(Protocol):
    """Filter outcomes per rejected node name (absent = not evaluated or feasible)."""

    def __getitem__(self, name: str) -> Status: ...

    def get(self, name: str) -> Status | None: ...

    def __len__(self) -> int: ...


class Plugin(Protocol):
    name: str


@runtime_checkable
class QueueSortPlugin(Protocol):
    name: str

    def sort_key(self, pod: PodInfo, enqueued_at: float) -> tuple[Any, ...]:
        """Smaller keys pop first."""
        ...


@runtime_checkable
class PreFilterPlugin(Protocol):
    name: str

    def pre_filter(self, state: CycleState, pod: PodInfo) -> tuple[PreFilterResult | None, Status]:
        """Compute once what Filter needs; ``SKIP`` disables this plugin's Filter."""
        ...


@runtime_checkable
class FilterPlugin(Protocol):
    name: str

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status: ...


@runtime_checkable
class BatchFilterPlugin(Protocol):
    """Optional companion of :class:`FilterPlugin`: Filter over many nodes in one call."""

    name: str

    def filter_nodes(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     rejected: dict[str, Status]) -> list[NodeInfo]:
        """The nodes that pass, in order; each other node's status goes into ``rejected``.

        Must agree with ``filter`` node by node; it only saves the per-node calls.
        """
        ...


def filter_each(nodes: list[NodeInfo], check: Callable[[NodeInfo], Status],
                rejected: dict[str, Status]) -> list[NodeInfo]:
    """``filter_nodes`` from a one-node ``check``: the nodes that pass, in order; each
    other node's status goes into ``rejected``."""
    passed = []
    # Hot path: checks return the SUCCESS singleton, so identity settles most of them.
    for node in nodes:
        status = check(node)
        if status is SUCCESS or status.code is Code.SUCCESS:
            passed.append(node)
        else:
            rejected[node.name] = status
    return passed


@runtime_checkable
class PostFilterPlugin(Protocol):
    name: str

    def post_filter(
        self, state: CycleState, pod: PodInfo, statuses: Mapping[str, Status]
    ) -> tuple[PostFilterResult | None, Status]: ...


@runtime_checkable
class PreScorePlugin(Protocol):
    name: str

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        """``SKIP`` disables this plugin's Score for the cycle."""
        ...


@runtime_checkable
class ScorePlugin(Protocol):
    name: str

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        """One score per node, in the order given."""
        ...


@runtime_checkable
class NodeLocalScorer(Protocol):
    """Optional companion of :class:`ScorePlugin` whose score, not normalised, is a function
    of the node as it is now and of the pod figures ``score_key`` names.

    The runtime then memoises the weighted sum of every such plugin's score in one
    :attr:`NodeInfo.score_memo` entry per node and calls ``score_node`` only on a miss, so
    the usual cycle costs one dict lookup per node for all of them together. ``score_node``
    must agree with ``score`` node by node.
    """

    def score_key(self, pod: PodInfo) -> str:
        """The pod figures the score reads, as a memo key unique to this plugin."""
        ...

    def score_node(self, pod: PodInfo, node: NodeInfo) -> int: ...


@runtime_checkable
class UniformScorer(Protocol):
    """Optional companion of :class:`ScorePlugin` that can tell, before scoring, that every
    node will get the same score (TaintToleration while no node has a PreferNoSchedule
    taint): the runtime then adds that number once instead of scoring node by node."""

    def uniform_score(self, state: CycleState, pod: PodInfo) -> int | None:
        """Every node's score, normalised, when they are all alike; else ``None``."""
        ...


@runtime_checkable
class ScoreNormalizer(Protocol):
    """Optional companion of :class:`ScorePlugin`: rescale raw scores to 0..100 in place."""

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: list[int]) -> None: ...


@runtime_checkable
class ReservePlugin(Protocol):
    name: str

    def reserve(self, state: CycleState, pod: PodInfo, node_name: str) -> Status: ...

    def unreserve(self, state: CycleState, pod: PodInfo, node_name: str) -> None:
        """Undo :meth:`reserve`; must be idempotent."""
        ...


@runtime_checkable
class PreBindPlugin(Protocol):
    name: str

    async def pre_bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        """Writes that must precede the binding (a claim's selected node); a failure
        unreserves the pod and retries it with back-off."""
        ...


@runtime_checkable
class BindPlugin(Protocol):
    name: str

    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        """``SKIP`` passes to the next bind plugin."""
        ...
