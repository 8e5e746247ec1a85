"""NodeAffinity: ``nodeSelector`` and required/preferred node affinity."""

from steersman.scheduler.plugins.node_affinity.node_affinity import (
    ERR_REASON,
    NAME,
    NodeAffinity,
    new,
)

__all__ = ["ERR_REASON", "NAME", "NodeAffinity", "new"]
