"""Discovery: which resources the API server serves, and with which verbs.

:func:`discover` reads the legacy documents (``/api/v1``, ``/apis``, then
``/apis/<group>/<preferred version>``) into a :class:`Discovery`: one
:class:`APIResource` per top-level resource of each group's preferred version, custom
resources included. A group-version whose document cannot be read is recorded in
:attr:`Discovery.failed` instead of failing the whole discovery (client-go's
``ErrGroupDiscoveryFailed``), so a caller can act on what it did learn and say what it
did not. Subresources (``pods/status``) are left out.

Neighbours: the garbage collector maps ``ownerReferences`` to resources with
:meth:`Discovery.for_kind`, and the namespace controller empties a namespace of every
:meth:`Discovery.with_verbs` resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from steersman.api.errors import StatusError
from steersman.client.errors import ServerUnreachable
from steersman.client.resource import Resource

Object = dict[str, Any]


class PathGetter(Protocol):
    """The one verb discovery needs (:class:`~steersman.client.rest.Client` has it)."""

    async def get_path(self, path: str) -> Object: ...


@dataclass(frozen=True, slots=True)
class APIResource:
    """A served resource and the verbs it supports (``list``, ``watch``, ``delete``…)."""

    resource: Resource
    verbs: frozenset[str]

    def supports(self, *verbs: str) -> bool:
        return all(verb in self.verbs for verb in verbs)


@dataclass(frozen=True)
class Discovery:
    resources: tuple[APIResource, ...] = ()
    failed: Mapping[str, str] = field(default_factory=dict)
    """groupVersion → why its document could not be read."""

    def with_verbs(self, *verbs: str, namespaced: bool | None = None) -> list[APIResource]:
        """The resources supporting every one of ``verbs`` (of one scope, if given)."""
        return [r for r in self.resources if r.supports(*verbs)
                and (namespaced is None or r.resource.namespaced == namespaced)]

    def for_kind(self, api_version: str, kind: str) -> Resource | None:
        """The resource serving ``kind`` in the group of ``api_version`` (any version)."""
        group = api_version.rpartition("/")[0]
        for entry in self.resources:
            if entry.resource.group == group and entry.resource.kind == kind:
                return entry.resource
        return None

    def failed_groups(self) -> set[str]:
        """The API groups with a document that could not be read (``""`` for core)."""
        return {group_version.rpartition("/")[0] for group_version in self.failed}


async def discover(client: PathGetter) -> Discovery:
    """Read the discovery documents; raises only if ``/api/v1`` or ``/apis`` fail."""
    documents: dict[str, Object] = {"v1": await client.get_path("/api/v1")}
    groups = await client.get_path("/apis")
    failed: dict[str, str] = {}
    for group_version in _preferred_versions(groups):
        try:
            documents[group_version] = await client.get_path(f"/apis/{group_version}")
        except (StatusError, ServerUnreachable) as err:
            failed[group_version] = str(err)
    resources = [entry for group_version, document in documents.items()
                 for entry in parse_resource_list(group_version, document)]
    return Discovery(tuple(resources), failed)


def parse_resource_list(group_version: str, document: Object) -> Iterable[APIResource]:
    """The top-level resources of one ``APIResourceList``."""
    group, _, version = group_version.rpartition("/")
    for entry in document.get("resources") or []:
        name = str(entry.get("name") or "")
        if not name or "/" in name:
            continue
        resource = Resource(group, version, name, namespaced=bool(entry.get("namespaced")),
                            kind=str(entry.get("kind") or ""))
        yield APIResource(resource, frozenset(str(v) for v in entry.get("verbs") or ()))


def _preferred_versions(groups: Object) -> list[str]:
    versions = []
    for group in groups.get("groups") or []:
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        listed = group.get("versions") or [{}]
        chosen = preferred or listed[0].get("groupVersion")
        if chosen:
            versions.append(str(chosen))
    return versions
