"""Pod networking of a node: ``host`` (loopback pod IPs) or ``bridge`` (CNI, root).

See :mod:`.interface` for the protocol, :mod:`.registry` to build one by mode, and
docs/networking.md for what each mode gives a pod.
"""

from steersman.kubelet.network.interface import (
    NETWORK_MODES,
    Attachment,
    NetworkError,
    PodNetwork,
    PodRef,
)
from steersman.kubelet.network.registry import new_pod_network

__all__ = ["NETWORK_MODES", "Attachment", "NetworkError", "PodNetwork", "PodRef",
           "new_pod_network"]
