"""The node agent (kubelet): a real node that runs pods through a container runtime.

From the node outwards, pure to I/O:

* :mod:`.cri` — the runtime protocol the agent drives (CRI-shaped) and its labels;
* :mod:`.runtime_adapter` — that protocol on the real runtimes of
  :mod:`steersman.kubelet.runtime` (process, crun, runc);
* :mod:`.config` — :class:`AgentConfig`: identity, resources, pod range, timing;
* :mod:`.view` — a pod's sandbox and container instances as the runtime reports them;
* :mod:`.sync` — ``computePodActions``: what one sync must do;
* :mod:`.status` — pod status generation; :mod:`.status_manager` — coalesced writes;
* :mod:`.backoff` — CrashLoopBackOff delays;
* :mod:`.env`, :mod:`.downward` — environment variables and the downward API;
* :mod:`.volumes`, :mod:`.atomic_writer` — volumes on disk;
* :mod:`.handlers`, :mod:`.probes` — probe and hook handlers, the probe state machines;
* :mod:`.sources` — ConfigMaps, Secrets, Services and tokens from the API;
* :mod:`.resources` — requests and limits as cgroup values;
* :mod:`.image_pulls`, :mod:`.events` — images ensured before a container starts (pull
  policy, pull secrets, back-off, image GC) and the events the agent records;
* :mod:`.containers`, :mod:`.pod_runtime` — starting and stopping instances of one pod;
* :mod:`.pod_worker`, :mod:`.workers` — one asyncio task per pod;
* :mod:`.node` — registration, Lease and node status;
* :mod:`.log_rotation` — the periodic pass that rotates container logs conmon writes;
* :mod:`.serving`, :mod:`.runtime_streams` — the streaming server (logs, exec, attach,
  port-forward) over the agent's pods and the runtime service;
* :mod:`.agent` — :class:`NodeAgent`, which composes them and adopts running containers.
"""

from steersman.kubelet.agent.agent import NodeAgent
from steersman.kubelet.agent.config import AgentConfig
from steersman.kubelet.agent.cri import Runtime

__all__ = ["AgentConfig", "NodeAgent", "Runtime"]
