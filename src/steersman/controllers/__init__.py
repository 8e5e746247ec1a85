"""steersman.controllers: control loops that drive current state to desired state.

Every controller reaches the cluster only through :mod:`steersman.client` (informers for
reads, REST verbs for writes): event handlers only enqueue keys, ``reconcile(key)`` re-reads
the informer caches and acts, and a key is never reconciled by two workers at once. The
:class:`~steersman.controllers.manager.ControllerManager` runs the enabled controllers
while it holds the ``kube-controller-manager`` Lease.
"""
