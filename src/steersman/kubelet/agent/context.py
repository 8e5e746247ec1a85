"""What every pod worker shares: the agent's collaborators, injected once.

The client, the runtime and the clock are the injected I/O (STYLE rule 9); the rest are
the agent's per-node managers. ``images`` exists only when the runtime runs images (it
has an ``image_store``: crun, runc); with the process runtime it is ``None`` and no image
is pulled. ``network`` is the node's pod networking (``config.network_mode``, see
:mod:`steersman.kubelet.network`); ``addresses`` is its book of pod IPs. Built by
:class:`~.agent.NodeAgent`; tests build one around the fake runtime and a fake clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from steersman.client import Client, Clock
from steersman.kubelet.addresses import PodAddressPool
from steersman.kubelet.agent.backoff import RestartBackoff
from steersman.kubelet.agent.config import AgentConfig
from steersman.kubelet.agent.cri import Runtime
from steersman.kubelet.agent.events import PodEventRecorder
from steersman.kubelet.agent.image_pulls import PodImages
from steersman.kubelet.agent.relist import RuntimeSnapshots, TrackingRuntime
from steersman.kubelet.agent.sources import CachedReads, TokenRequests
from steersman.kubelet.agent.status_manager import StatusManager
from steersman.kubelet.agent.volumes import VolumeManager
from steersman.kubelet.network import PodNetwork, new_pod_network


@dataclass
class AgentContext:
    client: Client
    runtime: Runtime
    clock: Clock
    config: AgentConfig
    statuses: StatusManager
    volumes: VolumeManager
    tokens: TokenRequests
    backoff: RestartBackoff
    addresses: PodAddressPool
    network: PodNetwork
    events: PodEventRecorder
    snapshots: RuntimeSnapshots
    reads: CachedReads
    images: PodImages | None = None
    allocatable: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, client: Client, runtime: Runtime, config: AgentConfig, *,
              clock: Clock) -> AgentContext:
        tokens = TokenRequests(client, clock=clock)
        # Every pod worker reads the runtime through one shared listing (see .relist).
        snapshots = RuntimeSnapshots(runtime, clock=clock)
        runtime = TrackingRuntime(runtime, snapshots)
        events = PodEventRecorder(client, node_name=config.node_name, clock=clock)
        images = None
        if runtime.image_store is not None:
            images = PodImages(client, runtime, runtime.image_store, events=events, clock=clock)
        network = new_pod_network(config.network_mode, subnet=config.network,
                                  state_dir=config.data_dir / "network")
        return cls(client=client, runtime=runtime, clock=clock, config=config,
                   statuses=StatusManager(client, clock=clock),
                   volumes=VolumeManager(config.data_dir / "pods", tokens), tokens=tokens,
                   backoff=RestartBackoff(clock=clock), addresses=network.addresses,
                   network=network,
                   events=events, snapshots=snapshots,
                   reads=CachedReads(client, clock=clock), images=images)
