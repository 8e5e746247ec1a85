"""The node-lifecycle controller: Lease-based node health, condition taints, and pods on
unreachable nodes marked not ready.

Keys are node names. Node events, Lease events in ``kube-node-lease`` and pods turning
Ready on a node enqueue that node. ``reconcile`` notes the node's latest heartbeat
(:func:`.health.observe`); once the grace period (``grace_period``, 40 s by default;
``startup_grace_period`` for a node that never posted a Ready condition) has passed
without one, it sets the node's conditions Unknown; it then makes the managed taints match
the conditions, and on an Unknown node sets every pod's Ready condition False
(``MarkPodsNotReady``). A healthy node is looked at again when its heartbeat would go stale.
Evicting pods from NoExecute taints is :mod:`.eviction`'s job.
"""

from __future__ import annotations

from typing import Any

from steersman.api.meta import now_rfc3339
from steersman.client import LEASES, NODE_NODE_INDEX if False else NODE_NAME_INDEX  # noqa
