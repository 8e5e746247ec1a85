"""The TTL-after-finished controller: delete finished Jobs ``ttlSecondsAfterFinished`` later.

Reconcile by Job key: a Job that has finished (``Complete`` or ``Failed``) and sets
``spec.ttlSecondsAfterFinished`` expires that many seconds after its final condition's
transition. Before that the reconcile asks to be called again when it expires; after it,
the Job is read fresh from the API server (the TTL may have been changed or the Job
replaced since the cache saw it) and deleted with a uid precondition. Deletion propagates
in the background: the Job goes at once and the garbage collector removes its pods (the
Job controller releases their tracking finalizers). Job events only enqueue keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import JOBS, Client, Clock
from steersman.controllers.job.conditions import finished_at
from steersman.controllers.podstate import is_terminating, name_of, uid_of
from steersman.controllers.runtime import InformerFactory, QueueController, split_key

Object = dict[str, Any]


def expires_in(job: Mapping[str, Any], now: float) -> float | None:
    """Seconds until ``job`` may be deleted (≤ 0: now); ``None`` when it never expires."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    done = finished_at(job)
    if ttl is None or done is None or is_terminating(job):
        return None
    return done + int(ttl) - now


class TTLAfterFinishedController(QueueController):
    name = "ttlafterfinished"

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)

    def setup(self, factory: InformerFactory) -> None:
        self._jobs = factory.informer(JOBS)
        self._jobs.add_handlers(on_add=self._job_changed,
                                on_update=lambda _, new: self._job_changed(new))

    def _job_changed(self, job: Object) -> None:
        if (job.get("spec") or {}).get("ttlSecondsAfterFinished") is not None:
            self.enqueue(job)

    async def reconcile(self, key: str) -> float | None:
        cached = self._jobs.indexer.get(key)
        if cached is None:
            return None
        left = expires_in(cached, self.clock.now())
        if left is None or left > 0:
            return left
        namespace, name = split_key(key)
        try:
            fresh = await self.client.get(JOBS, name, namespace=namespace)
        except StatusError as err:
            if err.code == 404:
                return None
            raise
        left = expires_in(fresh, self.clock.now())
        if left is None or left > 0:
            return left
        await self._delete(fresh)
        return None

    async def _delete(self, job: Object) -> None:
        try:
            await self.client.delete(JOBS, name_of(job), namespace=job["metadata"]["namespace"],
                                     propagation_policy="Background",
                                     preconditions={"uid": uid_of(job)})
        except StatusError as err:
            if err.code not in (404, 409):
                raise
