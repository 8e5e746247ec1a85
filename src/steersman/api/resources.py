"""The resource registry: what the API serves, by group, version and plural.

One :class:`ResourceInfo` per served resource (built-in or from a CRD). Discovery, routing,
storage keys, Table output and validation all look resources up here; nothing else keeps
its own list. Built-in resources are declared in :mod:`steersman.api.builtin`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# (group, plural) of the resources whose DELETE answers with the deleted object rather than
# a Status once it is gone (``ReturnDeletedObject: true`` in their upstream registries);
# the kubernetes Python client decodes those answers as the object's type.
RETURNS_DELETED_OBJECT = frozenset({
    ("", "pods"), ("", "services"), ("", "serviceaccounts"), ("", "persistentvolumes"),
    ("", "persistentvolumeclaims"), ("storage.k8s.io", "storageclasses"),
})


@dataclass(frozen=True, slots=True)
class Subresource:
    """A subresource such as ``status`` or ``scale``; ``kind`` is its request/response kind."""

    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    list_kind: str = ""
    # Per-resource extras kept as plain data so `api` stays pure: field selectors beyond
    # metadata.name/namespace, and for CRDs the schema per version.
    field_selectors: tuple[str, ...] = ()
    crd: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def qualified(self) -> str:
        """``deployments.apps`` / ``pods``: how kube-apiserver names a resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def kind_list(self) -> str:
        return self.list_kind or f"{self.kind}List"

    @property
    def storage_prefix(self) -> str:
        """Key prefix in the store; every object of this resource lives below it."""
        group = self.group or "core"
        return f"/registry/{group}/{self.plural}/"

    def key(self, namespace: str, name: str) -> str:
        if self.namespaced:
            return f"{self.storage_prefix}{namespace}/{name}"
        return f"{self.storage_prefix}{name}"

    def namespace_prefix(self, namespace: str) -> str:
        return f"{self.storage_prefix}{namespace}/" if self.namespaced and namespace else (
            self.storage_prefix
        )

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None


def status_of(kind: str) -> Subresource:
    return Subresource("status", kind, ("get", "patch", "update"))


def scale() -> Subresource:
    return Subresource("scale", "Scale", ("get", "patch", "update"), "autoscaling", "v1")


class Registry:
    """Every served resource, indexed for routing and discovery. Mutable for CRDs."""

    def __init__(self, resources: Iterable[ResourceInfo] = ()) -> None:
        self._by_gvr: dict[tuple[str, str, str], ResourceInfo] = {}
        self.generation = 0
        for info in resources:
            self.add(info)

    def add(self, info: ResourceInfo) -> None:
        self._by_gvr[(info.group, info.version, info.plural)] = info
        self.generation += 1

    def remove(self, group: str, version: str, plural: str) -> None:
        if self._by_gvr.pop((group, version, plural), None) is not None:
            self.generation += 1

    def get(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        return self._by_gvr.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceInfo | None:
        for info in self._by_gvr.values():
            if (info.group, info.version, info.kind) == (group, version, kind):
                return info
        return None

    def __iter__(self) -> Iterator[ResourceInfo]:
        return iter(self._by_gvr.values())

    def group_versions(self) -> dict[str, list[str]]:
        """group -> versions, core group as ``""``, in registration order."""
        result: dict[str, list[str]] = {}
        for info in self._by_gvr.values():
            versions = result.setdefault(info.group, [])
            if info.version not in versions:
                versions.append(info.version)
        return result

    def in_group_version(self, group: str, version: str) -> list[ResourceInfo]:
        return [i for i in self._by_gvr.values() if (i.group, i.version) == (group, version)]
