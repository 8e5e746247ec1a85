"""The pods a Job creates: its template, owned by the Job, carrying the tracking finalizer.

Indexed Jobs name each pod ``<job>-<index>-<random>``, give it the hostname
``<job>-<index>``, the ``batch.kubernetes.io/job-completion-index`` annotation and label,
and the ``JOB_COMPLETION_INDEX`` environment variable read from that annotation (as
``indexed_job_utils.go`` does). Pure.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from steersman.controllers.job.accounting import COMPLETION_INDEX, TRACKING_FINALIZER
from steersman.controllers.podstate import controller_ref, name_of

Object = dict[str, Any]
_INDEX_ENV = {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
    "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}}


def job_pod(job: Mapping[str, Any], index: int | None = None) -> Object:
    template = copy.deepcopy(((job.get("spec") or {}).get("template")) or {})
    template_meta = template.get("metadata") or {}
    prefix = name_of(job) if index is None else f"{name_of(job)}-{index}"
    metadata: Object = {
        "generateName": f"{prefix}-",
        "namespace": (job.get("metadata") or {}).get("namespace", ""),
        "labels": dict(template_meta.get("labels") or {}),
        "annotations": dict(template_meta.get("annotations") or {}),
        "ownerReferences": [controller_ref(job)],
        "finalizers": [TRACKING_FINALIZER],
    }
    spec = template.get("spec") or {}
    if index is not None:
        metadata["labels"][COMPLETION_INDEX] = str(index)
        metadata["annotations"][COMPLETION_INDEX] = str(index)
        spec["hostname"] = prefix
        for key in ("initContainers", "containers"):
            for container in spec.get(key) or ():
                env = [e for e in container.get("env") or ()
                       if e.get("name") != _INDEX_ENV["name"]]
                container["env"] = [*env, copy.deepcopy(_INDEX_ENV)]
    if not metadata["annotations"]:
        del metadata["annotations"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def without_tracking_finalizer(pod: Mapping[str, Any]) -> list[str]:
    finalizers = (pod.get("metadata") or {}).get("finalizers") or ()
    return [f for f in finalizers if f != TRACKING_FINALIZER]
