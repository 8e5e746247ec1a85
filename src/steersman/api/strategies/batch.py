"""Jobs and CronJobs: defaults, the generated Job selector, and validation.

Defaults follow kubernetes/kubernetes ``pkg/apis/batch/v1/defaults.go``; validation follows
``pkg/apis/batch/validation/validation.go``. A Job's selector and its pods' labels carry the
Job's uid, which only exists once the API server has assigned it, so the server calls
:func:`default_job_selector` after setting ``metadata.uid`` on create (the job registry's
``PrepareForCreate`` does the same upstream) and before ``validate``.
"""

from __future__ import annotations

import copy
import zoneinfo
from typing import Any

from steersman.api.errors import FieldError, invalid, not_supported, required
from steersman.api.strategies._base import (
    KindStrategy,
    ensure,
    mapping,
    selector_matches,
    template_labels_mismatch,
    validate_label_selector,
)
from steersman.api.strategies._fields import (
    go_label_selector,
    immutable,
    invalid_shown,
    max_len_error,
    nonnegative,
)
from steersman.api.strategies._podspec import validate_pod_template
from steersman.api.strategies.cron import schedule_errors
from steersman.api.strategies.pods import default_pod_template, set_default
from steersman.api.strategies.quantities import canonicalize_quantities, number_quantity
from steersman.api.strategy import Object

CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"
COMPLETION_MODES = ["NonIndexed", "Indexed"]
CONCURRENCY_POLICIES = ["Allow", "Forbid", "Replace"]
_MAX_INT32 = 2**31 - 1
_SCHEDULING_FIELDS = ("nodeSelector", "tolerations", "affinity", "schedulingGates")


def default_job_selector(job: Object, uid: str) -> None:
    """Generate the selector and pod labels from ``uid`` unless ``spec.manualSelector``."""
    spec = ensure(job, "spec")
    if spec.get("manualSelector") is True:
        return
    name = mapping(job, "metadata").get("name", "")
    labels = ensure(ensure(ensure(spec, "template"), "metadata"), "labels")
    for key in (LEGACY_JOB_NAME, JOB_NAME):
        labels.setdefault(key, name)
    for key in (LEGACY_CONTROLLER_UID, CONTROLLER_UID):
        labels.setdefault(key, uid)
    ensure(ensure(spec, "selector"), "matchLabels").setdefault(CONTROLLER_UID, uid)
    _labels_from_template(job)


def _labels_from_template(job: Object) -> None:
    labels = mapping(mapping(mapping(job, "spec"), "template"), "metadata").get("labels")
    meta = ensure(job, "metadata")
    if labels and not meta.get("labels"):
        meta["labels"] = copy.deepcopy(labels)


def default_job_spec(spec: dict[str, Any]) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    set_default(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = _MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6
    set_default(spec, "completionMode", "NonIndexed")
    set_default(spec, "suspend", False)
    set_default(spec, "manualSelector", False)
    set_default(spec, "podReplacementPolicy",
                "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed")


def validate_job_spec(spec: dict[str, Any], path: str) -> list[FieldError]:
    """The checks a Job and a CronJob's job template share (no selector requirement)."""
    errs: list[FieldError] = []
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                "ttlSecondsAfterFinished"):
        errs += nonnegative(f"{path}.{key}", spec.get(key))
    mode = spec.get("completionMode")
    if mode is not None and mode not in COMPLETION_MODES:
        errs.append(not_supported(f"{path}.completionMode", mode, COMPLETION_MODES))
    if mode == "Indexed" and spec.get("completions") is None:
        errs.append(required(f"{path}.completions", "when completion mode is Indexed"))
    template = spec.get("template")
    if not isinstance(template, dict):
        return [*errs, required(f"{path}.template")]
    errs += validate_pod_template(template, f"{path}.template")
    policy = mapping(template, "spec").get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        errs.append(not_supported(f"{path}.template.spec.restartPolicy", policy or "",
                                  ["OnFailure", "Never"]))
    return errs


class JobStrategy(KindStrategy):
    def default(self, obj: Object) -> None:
        spec = ensure(obj, "spec")
        default_job_spec(spec)
        default_pod_template(spec.get("template"))
        _labels_from_template(obj)
        canonicalize_quantities(obj, number_quantity)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs = validate_job_spec(spec, "spec")
        selector = spec.get("selector")
        if selector is None:
            return [*errs, required("spec.selector")]
        errs += validate_label_selector(selector, "spec.selector")
        labels = mapping(mapping(spec, "template"), "metadata").get("labels") or {}
        if not selector_matches(selector, labels):
            errs.append(template_labels_mismatch("spec.template.metadata.labels", labels))
        return errs

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        new_spec, old_spec = mapping(new, "spec"), mapping(old, "spec")
        errs = immutable("spec.selector", new_spec.get("selector"), old_spec.get("selector"),
                         go_label_selector(new_spec.get("selector")))
        errs += immutable("spec.completionMode", new_spec.get("completionMode"),
                          old_spec.get("completionMode"))
        if not _elastic_indexed(new_spec):
            errs += immutable("spec.completions", new_spec.get("completions"),
                              old_spec.get("completions"))
        errs += _validate_template_update(new, old)
        return errs


def _elastic_indexed(spec: dict[str, Any]) -> bool:
    return spec.get("completionMode") == "Indexed" and \
        spec.get("completions") == spec.get("parallelism")


def _validate_template_update(new: Object, old: Object) -> list[FieldError]:
    """The template is immutable, except scheduling directives of a never-started suspended Job."""
    new_t = mapping(mapping(new, "spec"), "template")
    old_t = mapping(mapping(old, "spec"), "template")
    old_suspended = mapping(old, "spec").get("suspend") is True
    if old_suspended and not mapping(old, "status").get("startTime"):
        new_t, old_t = _without_scheduling(new_t), _without_scheduling(old_t)
    if new_t == old_t:
        return []
    return [invalid_shown("spec.template", "core.PodTemplateSpec{...}", "field is immutable")]


def _without_scheduling(template: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(template)
    meta = mapping(stripped, "metadata")
    meta.pop("labels", None)
    meta.pop("annotations", None)
    spec = mapping(stripped, "spec")
    for key in _SCHEDULING_FIELDS:
        spec.pop(key, None)
    return stripped


class CronJobStrategy(KindStrategy):
    def default(self, obj: Object) -> None:
        spec = ensure(obj, "spec")
        set_default(spec, "concurrencyPolicy", "Allow")
        set_default(spec, "suspend", False)
        set_default(spec, "successfulJobsHistoryLimit", 3)
        set_default(spec, "failedJobsHistoryLimit", 1)
        job_spec = ensure(ensure(spec, "jobTemplate"), "spec")
        default_pod_template(job_spec.get("template"))
        canonicalize_quantities(obj, number_quantity)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        name = mapping(obj, "metadata").get("name")
        errs: list[FieldError] = []
        if isinstance(name, str) and len(name) > 52:
            errs.append(invalid("metadata.name", name, max_len_error(52)))
        spec = mapping(obj, "spec")
        errs += _validate_schedule(spec)
        policy = spec.get("concurrencyPolicy")
        if not policy:
            errs.append(required("spec.concurrencyPolicy"))
        elif policy not in CONCURRENCY_POLICIES:
            errs.append(not_supported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES))
        for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit",
                    "failedJobsHistoryLimit"):
            errs += nonnegative(f"spec.{key}", spec.get(key))
        job_spec = mapping(mapping(spec, "jobTemplate"), "spec")
        if job_spec.get("manualSelector") is True:
            errs.append(not_supported("spec.jobTemplate.spec.manualSelector", True,
                                      ["nil", "false"]))
        return errs + validate_job_spec(job_spec, "spec.jobTemplate.spec")


def _validate_schedule(spec: dict[str, Any]) -> list[FieldError]:
    schedule = spec.get("schedule")
    if not schedule:
        return [required("spec.schedule")]
    if not isinstance(schedule, str):
        return [invalid("spec.schedule", schedule, "must be a string")]
    if "TZ" in schedule:
        return [invalid("spec.schedule", schedule,
                        "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")]
    error = schedule_errors(schedule)
    errs = [invalid("spec.schedule", schedule, error)] if error else []
    zone = spec.get("timeZone")
    if zone is not None and not _known_zone(zone):
        errs.append(invalid("spec.timeZone", zone, f"unknown time zone {zone}"))
    return errs


def _known_zone(zone: Any) -> bool:
    if not isinstance(zone, str) or not zone or zone.lower() == "local":
        return False
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
