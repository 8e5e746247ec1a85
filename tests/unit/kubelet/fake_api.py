"""A scripted stand-in for :class:`steersman.client.Client`: records writes, keeps Leases."""

from __future__ import annotations

import asyncio
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import Resource

Object = dict[str, Any]


class FakeAPI:
    """Just the verbs hollow nodes use; ``fail`` makes every write raise that status code."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.objects: dict[tuple[str, str], Object] = {}
        self.fail: int | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self._revision = 0

    async def _enter(self, verb: str, resource: Resource, name: str) -> None:
        self.calls.append((verb, resource.plural, name))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(0)
        self.in_flight -= 1
        if self.fail is not None:
            raise StatusError(self.fail, "Failure", "scripted failure")

    def _stored(self, resource: Resource, obj: Object) -> Object:
        self._revision += 1
        stored = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self._revision),
                                      "uid": f"uid-{obj['metadata']['name']}"}}
        self.objects[(resource.plural, obj["metadata"]["name"])] = stored
        return stored

    async def create(self, resource: Resource, obj: Object, **_: Any) -> Object:
        await self._enter("create", resource, obj["metadata"]["name"])
        if (resource.plural, obj["metadata"]["name"]) in self.objects:
            raise StatusError(409, "AlreadyExists", "exists")
        return self._stored(resource, obj)

    async def get(self, resource: Resource, name: str, **_: Any) -> Object:
        await self._enter("get", resource, name)
        return self.objects[(resource.plural, name)]

    async def update(self, resource: Resource, obj: Object, **_: Any) -> Object:
        name = obj["metadata"]["name"]
        await self._enter("update", resource, name)
        current = self.objects.get((resource.plural, name))
        if current is None:
            raise StatusError(404, "NotFound", "gone")
        if obj["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise StatusError(409, "Conflict", "stale")
        return self._stored(resource, obj)

    async def update_status(self, resource: Resource, obj: Object, **_: Any) -> Object:
        """As the status subresource: the status (with labels and annotations) from ``obj``,
        everything else from the stored object, when there is one."""
        name = obj["metadata"]["name"]
        await self._enter("update_status", resource, name)
        current = self.objects.get((resource.plural, name))
        if current is None:
            return self._stored(resource, obj)
        metadata = {**current["metadata"], **{key: obj["metadata"][key] for key in (
            "labels", "annotations") if key in obj["metadata"]}}
        return self._stored(resource, {**current, "metadata": metadata,
                                       "status": obj.get("status")})

    async def patch(self, resource: Resource, name: str, patch: Object, **_: Any) -> Object:
        await self._enter("patch", resource, name)
        return self.objects.get((resource.plural, name), {})

    async def delete(self, resource: Resource, name: str, **options: Any) -> Object:
        await self._enter("delete", resource, name)
        self.calls[-1] = ("delete", resource.plural,
                          f"{name} grace={options.get('grace_period_seconds')} "
                          f"uid={(options.get('preconditions') or {}).get('uid')}")
        return {}

    def count(self, verb: str, plural: str) -> int:
        return sum(1 for v, p, _ in self.calls if (v, p) == (verb, plural))
