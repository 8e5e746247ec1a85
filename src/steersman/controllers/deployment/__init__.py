"""The Deployment controller: declarative rollouts through ReplicaSets.

* :mod:`.controller` — handlers and ``reconcile``; :mod:`.rollout` — the decision flow;
  :mod:`.sync` — the writes of one pass;
* pure parts: :mod:`.hashing` (``pod-template-hash``), :mod:`.fenceposts` (maxSurge and
  maxUnavailable), :mod:`.replicasets` (counts and order), :mod:`.revisions` (revision
  annotations), :mod:`.rolling` (one rolling-update step), :mod:`.scaling` (proportional
  resizing), :mod:`.progress` (status and conditions).
"""

from steersman.controllers.deployment.controller import DeploymentController

__all__ = ["DeploymentController"]
