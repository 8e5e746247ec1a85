"""Container runtimes behind one CRI-shaped protocol (:mod:`.interface`).

* :mod:`.process` — ``process``: the container's command as a supervised host process
  group; no root, no image, no isolation or limits (its docstring lists every difference).
* :mod:`.oci` — ``crun`` / ``runc``: real OCI containers from a bundle the agent builds
  (:mod:`.ocispec`, :mod:`.seccomp`), kept by a shim that outlives the agent
  (:mod:`.shim`: conmon, else :mod:`.supervisor`), with cgroup limits, the hybrid-host fix
  for crun and OOM detection (:mod:`.cgroups`); each container's rootfs and image config
  come from the node's image store (:mod:`.image_rootfs`).
* :mod:`.registry` — builds a runtime by name and picks the default for this host.

Shared machinery: :mod:`.base` (lifecycle and status over :mod:`.state`, the on-disk
records that let a restarted agent adopt running containers), :mod:`.launcher` (starts the
detached :mod:`.supervisor`), :mod:`.crilog` (the CRI log format), :mod:`.execstream`
(exec sessions, terminals). This package imports nothing at import time so that the
supervisor starts fast.
"""
