"""The one place plugins are wired: name → factory, and the default profile.

Mirrors upstream's ``NewInTreeRegistry`` and ``getDefaultPlugins``. A profile lists plugin
names in the order their extension points run (upstream's default order, so the first
rejecting Filter — the reason a user reads — is the one upstream would report) plus score
weights; :func:`build_framework` instantiates the factories with per-plugin args and a
:class:`~steersman.scheduler.framework.interface.Handle`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from steersman.scheduler.framework.interface import Handle
from steersman.scheduler.framework.runtime import Framework
from steersman.scheduler.plugins import (
    default_binder,
    default_preemption,
    image_locality,
    inter_pod_affinity,
    node_affinity,
    node_name,
    node_ports,
    node_resources,
    node_unschedulable,
    pod_topology_spread,
    queue_sort,
    taint_toleration,
    volume_binding,
)

PluginFactory = Callable[[Mapping[str, Any], Handle], Any]
DEFAULT_SCHEDULER_NAME = "default-scheduler"

REGISTRY: Mapping[str, PluginFactory] = {
    queue_sort.NAME: queue_sort.new,
    node_unschedulable.NAME: node_unschedulable.new,
    node_name.NAME: node_name.new,
    taint_toleration.NAME: taint_toleration.new,
    node_affinity.NAME: node_affinity.new,
    node_ports.NAME: node_ports.new,
    node_resources.NAME: node_resources.new_fit,
    volume_binding.NAME: volume_binding.new,
    pod_topology_spread.NAME: pod_topology_spread.new,
    inter_pod_affinity.NAME: inter_pod_affinity.new,
    default_preemption.NAME: default_preemption.new,
    node_resources.BALANCED_ALLOCATION: node_resources.new_balanced_allocation,
    image_locality.NAME: image_locality.new,
    default_binder.NAME: default_binder.new,
}

DEFAULT_PLUGINS: tuple[str, ...] = (
    queue_sort.NAME, node_unschedulable.NAME, node_name.NAME, taint_toleration.NAME,
    node_affinity.NAME, node_ports.NAME, node_resources.NAME, volume_binding.NAME,
    pod_topology_spread.NAME,
    inter_pod_affinity.NAME, default_preemption.NAME, node_resources.BALANCED_ALLOCATION,
    image_locality.NAME, default_binder.NAME,
)

DEFAULT_SCORE_WEIGHTS: Mapping[str, int] = {
    node_resources.NAME: 1,
    node_resources.BALANCED_ALLOCATION: 1,
    image_locality.NAME: 1,
    inter_pod_affinity.NAME: 2,
    node_affinity.NAME: 2,
    pod_topology_spread.NAME: 2,
    taint_toleration.NAME: 3,
}


@dataclass(frozen=True)
class Profile:
    """Which plugins a scheduler name runs, in order, with score weights and plugin args."""

    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    plugins: Sequence[str] = DEFAULT_PLUGINS
    score_weights: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SCORE_WEIGHTS))
    plugin_args: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    percentage_of_nodes_to_score: int = 0  # 0 = adaptive, as upstream


def default_profile(*, scheduler_name: str = DEFAULT_SCHEDULER_NAME) -> Profile:
    return Profile(scheduler_name=scheduler_name)


def build_framework(profile: Profile, handle: Handle,
                    registry: Mapping[str, PluginFactory] = REGISTRY) -> Framework:
    unknown = [name for name in profile.plugins if name not in registry]
    if unknown:
        raise ValueError(f"unknown scheduler plugin(s): {', '.join(unknown)}")
    plugins = [registry[name](profile.plugin_args.get(name, {}), handle)
               for name in profile.plugins]
    return Framework(scheduler_name=profile.scheduler_name, plugins=plugins,
                     score_weights=profile.score_weights,
                     percentage_of_nodes_to_score=profile.percentage_of_nodes_to_score)
