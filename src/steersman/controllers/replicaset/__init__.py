"""ReplicaSet and ReplicationController controllers: keep N pods matching a selector.

* :mod:`.controller` — the reconcile loop (claim, create/delete, status);
* :mod:`.ranking` — which surplus pods go first;
* :mod:`.slowstart` — creates in doubling batches;
* :mod:`.status` — the status computed from the controlled pods.
"""

from steersman.controllers.replicaset.controller import ReplicaSetController, ReplicationManager

__all__ = ["ReplicaSetController", "ReplicationManager"]
