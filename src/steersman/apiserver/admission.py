"""Stateful admission: namespace lifecycle, pod status on create, Service IPs and node ports.

These need state the strategies cannot see: whether a namespace exists or is terminating,
which ClusterIPs and NodePorts are taken. Allocation state is rebuilt from the watch cache
at start and kept in memory; a failed create gives its allocations back (``rollback``).
"""

from __future__ import annotations

from typing import Any

from steersman.api import errors
from steersman.api.resources import Registry, ResourceInfo
from steersman.api.strategies import qos_class
from steersman.apiserver.generic import GenericRegistry

Object = dict[str, Any]
_ALWAYS_PRESENT = ("default", "kube-system", "kube-public", "kube-node-lease")


class NamespaceLifecycle:
    """Namespaced objects need a live namespace; built-in namespaces cannot be deleted."""

    def __init__(self, registry: GenericRegistry, resources: Registry) -> None:
        self._registry = registry
        self._namespaces = resources.get("", "v1", "namespaces")

    async def admit(self, info: ResourceInfo, op: str, new: Object | None, old: Object | None,
                    *, dry_run: bool) -> None:
        if op == "CREATE" and info.namespaced and new is not None:
            await self._check_namespace(new["metadata"]["namespace"])
        if op == "DELETING" and info.kind == "Namespace" and new is not None:
            name = new["metadata"]["name"]
            if name in _ALWAYS_PRESENT:
                raise errors.StatusError(
                    403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may '
                    f"not be deleted", {"name": name, "kind": "namespaces"})
        if op == "CREATE" and info.group == "" and info.kind == "Pod" and new is not None:
            new["status"] = {"phase": "Pending", "qosClass": qos_class(new)}

    async def _check_namespace(self, name: str) -> None:
        if self._namespaces is None:
            return
        namespace = await self._registry.lookup(self._namespaces, "", name)
        if namespace is None:
            raise errors.not_found("namespaces", name)
        if namespace["metadata"].get("deletionTimestamp"):
            raise errors.StatusError(
                403, "Forbidden", f"unable to create new content in namespace {name} because "
                f"it is being terminated",
                {"name": name, "kind": "namespaces",
                 "causes": [{"reason": "NamespaceTerminating",
                             "message": f"namespace {name} is being terminated",
                             "field": "metadata.namespace"}]})

    async def rollback(self, info: ResourceInfo, op: str, new: Object | None,
                       old: Object | None) -> None:
        return None
