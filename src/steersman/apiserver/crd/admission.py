"""Admission for CustomResourceDefinitions and their custom resources.

A new CRD gets the ``customresourcecleanup.apiextensions.k8s.io`` finalizer, so that
deleting it only marks it (``Terminating``: ``InstanceDeletionPending``) until the CRD
controller (:mod:`steersman.apiserver.crd.controller`) has deleted every custom resource
of it. While a CRD terminates, creating its custom resources is refused with kube's
``405 MethodNotAllowed`` ("create not allowed while custom resource definition is
terminating"); reads, updates and deletes go on.
"""

from __future__ import annotations

from typing import Any

from steersman.api import errors
from steersman.api.resources import ResourceInfo
from steersman.apiserver.crd.status import CLEANUP_FINALIZER, is_terminating, set_condition
from steersman.apiserver.generic import GenericRegistry

Object = dict[str, Any]


class CustomResourceAdmission:
    def __init__(self, registry: GenericRegistry, crds: ResourceInfo) -> None:
        self._registry = registry
        self._crds = crds

    async def admit(self, info: ResourceInfo, op: str, new: Object | None, old: Object | None,
                    *, dry_run: bool) -> None:
        if new is None:
            return
        if info == self._crds:
            self._admit_definition(op, new)
        elif info.crd is not None and op == "CREATE":
            self._check_definition_live(info)

    async def rollback(self, info: ResourceInfo, op: str, new: Object | None,
                       old: Object | None) -> None:
        return None

    def _admit_definition(self, op: str, crd: Object) -> None:
        if op == "CREATE":
            finalizers = crd["metadata"].setdefault("finalizers", [])
            if CLEANUP_FINALIZER not in finalizers:
                finalizers.append(CLEANUP_FINALIZER)
        elif op == "DELETING":
            set_condition(crd, "Terminating", "True", "InstanceDeletionPending",
                          "CustomResourceDefinition marked for deletion; CustomResource "
                          "deletion will begin soon", self._registry.now())

    def _check_definition_live(self, info: ResourceInfo) -> None:
        crd = self._registry.cached(self._crds, "", str((info.crd or {}).get("name", "")))
        if is_terminating(crd):
            raise errors.StatusError(
                405, "MethodNotAllowed",
                "create not allowed while custom resource definition is terminating",
                {"group": info.group, "kind": info.plural})
