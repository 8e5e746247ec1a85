"""Hollow nodes: Kubernetes nodes that register, heartbeat and report pods, running nothing.

The model is kwok's: one process simulates thousands of nodes (``steersman hollow-nodes
--count N``). Each node registers with a kubelet's labels, capacity, conditions and node
info; renews its Lease every 10 s (with jitter, spread over the interval); re-posts its
status rarely; and takes the pods bound to it to Running in one status write, with a pod
IP of its own /24, then through deletion. Killing the process stops the heartbeats, so the
node lifecycle controller marks its nodes NotReady and evicts their pods.

Modules, from pure to I/O:

* :mod:`.config` — :class:`HollowConfig` and the flag parsers;
* :mod:`.node_object`, :mod:`.pod_status` — pure builders of Node, Lease and pod status;
* :mod:`steersman.kubelet.addresses` — per-node pod IP pools (shared with the agent);
* :mod:`.registration` — create/resume a Node, create/renew its Lease;
* :mod:`.heartbeats` — the timer heap that renews Leases and refreshes status;
* :mod:`.pods` — the pod informer and the workers that write pod status and delete pods;
* :mod:`.simulator` — :class:`HollowNodes`, which composes them.
"""

from steersman.kubelet.hollow.config import HollowConfig, parse_labels, parse_taints, parse_zones
from steersman.kubelet.hollow.pod_status import COMPLETE_AFTER_ANNOTATION
from steersman.kubelet.hollow.simulator import HollowNodes

__all__ = ["COMPLETE_AFTER_ANNOTATION", "HollowConfig", "HollowNodes", "parse_labels",
           "parse_taints", "parse_zones"]
