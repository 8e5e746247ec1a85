"""Node lifecycle (upstream ``pkg/controller/nodelifecycle`` and ``pkg/controller/tainteviction``).

:mod:`.health` and :mod:`.taints` are the pure rules; :mod:`.controller` watches node
heartbeats and keeps conditions and taints; :mod:`.eviction` removes pods from nodes with
NoExecute taints they do not tolerate.
"""

from steersman.controllers.nodelifecycle.controller import NodeLifecycleController
from steersman.controllers.nodelifecycle.eviction import TaintEvictionController

__all__ = ["NodeLifecycleController", "TaintEvictionController"]
