"""Priority admission: a new pod's ``spec.priority`` comes from its PriorityClass.

Upstream ``plugin/pkg/admission/priority``:

* a pod naming ``priorityClassName`` gets that class's ``value`` (and its
  ``preemptionPolicy``); a class that does not exist is ``403 Forbidden`` ("no
  PriorityClass with name … was found"); a pod that also states a different
  ``spec.priority`` is refused, since the class decides;
* a pod naming no class gets the ``globalDefault`` class, if one exists, else priority 0
  (pod defaulting has already set 0 then, which is therefore not a user's choice);
* at most one PriorityClass may be ``globalDefault``.

The built-in ``system-node-critical`` (2000001000) and ``system-cluster-critical``
(2000000000) classes are created at bootstrap (:mod:`.bootstrap`).
"""

from __future__ import annotations

from typing import Any

from steersman.api import errors
from steersman.api.resources import Registry, ResourceInfo
from steersman.apiserver.generic import GenericRegistry

Object = dict[str, Any]
SYSTEM_PRIORITY_CLASSES = {"system-node-critical": 2000001000,
                           "system-cluster-critical": 2000000000}


class PriorityAdmission:
    """Resolves pod priorities from PriorityClasses; keeps ``globalDefault`` unique."""

    def __init__(self, registry: GenericRegistry, resources: Registry) -> None:
        self._registry = registry
        classes = resources.get("scheduling.k8s.io", "v1", "priorityclasses")
        assert classes is not None, "scheduling.k8s.io/v1 priorityclasses is not registered"
        self._classes = classes

    async def admit(self, info: ResourceInfo, op: str, new: Object | None, old: Object | None,
                    *, dry_run: bool) -> None:
        if new is None:
            return
        if op == "CREATE" and (info.group, info.kind) == ("", "Pod"):
            await self._admit_pod(new)
        elif op in ("CREATE", "UPDATE") and info.kind == "PriorityClass" and (
                info.group == "scheduling.k8s.io"):
            self._check_single_default(new)

    async def rollback(self, info: ResourceInfo, op: str, new: Object | None,
                       old: Object | None) -> None:
        return None

    async def _admit_pod(self, pod: Object) -> None:
        spec = pod.setdefault("spec", {})
        name = str(spec.get("priorityClassName") or "")
        if name:
            found = await self._registry.lookup(self._classes, "", name)
            if found is None:
                raise _forbidden(pod, f"no PriorityClass with name {name} was found")
            stated = spec.get("priority")
            if stated is not None and stated != found.get("value"):
                raise _forbidden(pod, f"the integer value of priority ({stated}) must not be "
                                      f"provided in pod spec; priority admission controller "
                                      f"computed {found.get('value')} from the given "
                                      f"PriorityClass name")
            _apply(spec, found)
            return
        default = self._global_default()
        if default is not None and not spec.get("priority"):
            spec["priorityClassName"] = default["metadata"]["name"]
            _apply(spec, default)

    def _global_default(self, *, besides: str = "") -> Object | None:
        for candidate in self._registry.objects(self._classes):
            if candidate.get("globalDefault") is True and (
                    candidate["metadata"]["name"] != besides):
                return candidate
        return None

    def _check_single_default(self, priority_class: Object) -> None:
        if priority_class.get("globalDefault") is not True:
            return
        name = str(priority_class["metadata"]["name"])
        existing = self._global_default(besides=name)
        if existing is not None:
            raise errors.StatusError(
                403, "Forbidden",
                f'priorityclasses.scheduling.k8s.io "{name}" is forbidden: PriorityClass '
                f"{existing['metadata']['name']} is already marked as default. Only one "
                f"default can exist", {"name": name, "group": "scheduling.k8s.io",
                                       "kind": "priorityclasses"})


def _apply(spec: Object, priority_class: Object) -> None:
    spec["priority"] = int(priority_class.get("value") or 0)
    spec["preemptionPolicy"] = priority_class.get("preemptionPolicy") or "PreemptLowerPriority"


def _forbidden(pod: Object, message: str) -> errors.StatusError:
    name = str((pod.get("metadata") or {}).get("name") or "")
    return errors.StatusError(403, "Forbidden", f'pods "{name}" is forbidden: {message}',
                              {"name": name, "kind": "pods"})
