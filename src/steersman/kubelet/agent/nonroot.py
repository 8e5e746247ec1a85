"""``runAsNonRoot``: refuse to start a container that would run as root.

The kubelet's ``verifyRunAsNonRoot``: when the container's securityContext (else the
pod's) sets ``runAsNonRoot: true``, the effective user — ``runAsUser`` if set, else the
image's ``User`` — must be a non-zero uid. A ``User`` given as a name cannot be checked
and is refused too; an empty one means root. Each refusal is a
:class:`~.downward.ContainerConfigError` (``CreateContainerConfigError``) with upstream's
message, so the container waits with that reason instead of starting. Checked where
images run (crun, runc); the process runtime has no image ``User`` to check.
"""

from __future__ import annotations

from typing import Any

from steersman.kubelet.agent.containers import run_as
from steersman.kubelet.agent.downward import ContainerConfigError

Object = dict[str, Any]


def verify_run_as_non_root(pod: Object, container: Object, image_user: str) -> None:
    """Raise when ``runAsNonRoot`` is asked for and the container would run as root."""
    if not _wants_non_root(pod, container):
        return
    where = f'(pod: "{pod["metadata"]["name"]}_{pod["metadata"]["namespace"]}", ' \
            f'container: {container.get("name")})'
    uid, _group = run_as(pod, container)
    if uid is not None:
        if uid == 0:
            raise ContainerConfigError(
                f"container's runAsUser breaks non-root policy {where}")
        return
    name = image_user.partition(":")[0]
    if name and not name.isdigit():
        raise ContainerConfigError(
            f"container has runAsNonRoot and image has non-numeric user ({name}), "
            f"cannot verify user is non-root {where}")
    if not name or int(name) == 0:
        raise ContainerConfigError(
            f"container has runAsNonRoot and image will run as root {where}")


def _wants_non_root(pod: Object, container: Object) -> bool:
    context = container.get("securityContext") or {}
    if context.get("runAsNonRoot") is not None:
        return bool(context["runAsNonRoot"])
    pod_context = (pod.get("spec") or {}).get("securityContext") or {}
    return bool(pod_context.get("runAsNonRoot"))
