"""steersman.kubelet: node agents — the components that make a Node object real.

* :mod:`.hollow` — simulated nodes (kwok's model): registration, Lease heartbeats, node
  status and pod status, for thousands of nodes in one process, running nothing;
* :mod:`.agent` — the real node agent, running pods through a container runtime;
* :mod:`.addresses`, :mod:`.lease`, :mod:`.node_status` — what both share: pod IP pools,
  Lease renewal, node conditions.

Node agents sit beside the controllers and the scheduler: they reach cluster state only
through :mod:`steersman.client` and use the pure helpers of :mod:`steersman.api`.
"""
