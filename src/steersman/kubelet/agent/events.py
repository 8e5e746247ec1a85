"""Events about a pod's containers (Pulling, Pulled, Failed, BackOff), written through the API.

:class:`PodEventRecorder` creates a core/v1 Event per (pod, type, reason, message) with
``source.component: kubelet`` and the node as ``source.host``, and ``involvedObject``
pointing at the container (``fieldPath: spec.containers{name}``, or
``spec.initContainers{name}``), as ``kubectl describe pod`` shows them. A repeat bumps
``count`` and ``lastTimestamp`` of the same Event (client-go's aggregation), at most once
per ``min_interval`` seconds per Event so that a container in back-off does not write on
every sync; repeats in between are counted and carried by the next write. Writing is best
effort: an API error is logged, never raised, because an event must not fail a pod's sync.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.meta import now_rfc3339
from steersman.client import EVENTS, Client, Clock, PatchType, ServerUnreachable

log = logging.getLogger(__name__)
Object = dict[str, Any]
Key = tuple[str, str, str, str, str]  # pod uid, container, type, reason, message


@dataclass(slots=True)
class _Written:
    name: str
    count: int
    first: float
    last_write: float
    unwritten: int = 0


class PodEventRecorder:
    """Writes and aggregates the agent's events (see the module docstring)."""

    def __init__(self, client: Client, *, node_name: str, clock: Clock,
                 min_interval: float = 10.0) -> None:
        self._client = client
        self._node = node_name
        self._clock = clock
        self._min_interval = min_interval
        self._written: dict[Key, _Written] = {}
        self._stamp = 0

    async def event(self, pod: Object, container: str, type: str, reason: str,
                    message: str) -> None:
        key = (str(pod["metadata"]["uid"]), container, type, reason, message)
        try:
            await self._record(key, pod)
        except (StatusError, ServerUnreachable, OSError) as err:
            log.warning("event %s for pod %s not written: %s", reason,
                        pod["metadata"].get("name"), err)

    def forget(self, uid: str) -> None:
        for key in [key for key in self._written if key[0] == uid]:
            del self._written[key]

    async def _record(self, key: Key, pod: Object) -> None:
        now = self._clock.now()
        written = self._written.get(key)
        if written is None:
            name = await self._create(key, pod, now)
            self._written[key] = _Written(name, 1, now, now)
            return
        written.unwritten += 1
        if now - written.last_write < self._min_interval:
            return
        count = written.count + written.unwritten
        await self._client.patch(EVENTS, written.name,
                                 {"count": count, "lastTimestamp": now_rfc3339(now)},
                                 namespace=str(pod["metadata"]["namespace"]),
                                 patch_type=PatchType.STRATEGIC)
        written.count, written.unwritten, written.last_write = count, 0, now

    async def _create(self, key: Key, pod: Object, now: float) -> str:
        uid, container, type, reason, message = key
        metadata = pod["metadata"]
        # client-go names events <object>.<unix nanos>; two events within one clock tick
        # would collide, so the stamp only ever moves forward.
        self._stamp = max(int(now * 1e9), self._stamp + 1)
        name = f"{metadata['name']}.{self._stamp:x}"
        event: Object = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": metadata["namespace"]},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": metadata["name"],
                               "namespace": metadata["namespace"], "uid": uid,
                               "fieldPath": _field_path(pod, container)},
            "type": type, "reason": reason, "message": message, "count": 1,
            "firstTimestamp": now_rfc3339(now), "lastTimestamp": now_rfc3339(now),
            "source": {"component": "kubelet", "host": self._node},
            "reportingComponent": "kubelet", "reportingInstance": self._node,
        }
        await self._client.create(EVENTS, event, namespace=str(metadata["namespace"]))
        return name


def _field_path(pod: Object, container: str) -> str:
    inits = (pod.get("spec") or {}).get("initContainers") or []
    kind = "initContainers" if any(c.get("name") == container for c in inits) else "containers"
    return f"spec.{kind}{{{container}}}"
