"""InterPodAffinity: required/preferred pod affinity and anti-affinity, both directions."""

from steersman.scheduler.plugins.inter_pod_affinity.filtering import (
    ERR_AFFINITY,
    ERR_ANTI_AFFINITY,
    ERR_EXISTING_ANTI_AFFINITY,
)
from steersman.scheduler.plugins.inter_pod_affinity.plugin import NAME, InterPodAffinity, new

__all__ = ["ERR_AFFINITY", "ERR_ANTI_AFFINITY", "ERR_EXISTING_ANTI_AFFINITY", "NAME",
           "InterPodAffinity", "new"]
