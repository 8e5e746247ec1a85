"""What every pod worker shares: the agent's collaborators, injected once.

The client, the runtime and the clock are the injected I/O (STYLE rule 9); the rest are
the agent's per-node managers. Built by :class:`~.agent.NodeAgent`; tests build one around
the fake runtime and a fake clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from steersman.client import Client, Clock
from steersman.kubelet.addresses import PodAddressPool
from steersman.kubelet.agent.backoff import RestartBackoff
from steersman.kubelet.agent.config import AgentConfig
from steersman.kubelet.agent.cri import Runtime
from steersman.kubelet.agent.sources import TokenRequests
from steersman.kubelet.agent.status_manager import StatusManager
from steersman.kubelet.agent.volumes import VolumeManager


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
    allocatable: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, client: Client, runtime: Runtime, config: AgentConfig, *,
              clock: Clock) -> AgentContext:
        tokens = TokenRequests(client, clock=clock)
        return cls(client=client, runtime=runtime, clock=clock, config=config,
                   statuses=StatusManager(client, clock=clock),
                   volumes=VolumeManager(config.data_dir / "pods", tokens), tokens=tokens,
                   backoff=RestartBackoff(clock=clock), addresses=PodAddressPool(config.network))
