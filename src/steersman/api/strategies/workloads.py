"""Workload controllers: Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController.

Defaults follow kubernetes/kubernetes ``pkg/apis/apps/v1/defaults.go`` and
``pkg/apis/core/v1/defaults.go`` (``SetDefaults_ReplicationController``); every pod template
gets :func:`~steersman.api.strategies.pods.default_pod_spec`. Validation follows
``pkg/apis/apps/validation/validation.go``: a selector is required, must not be empty and must
match the template's labels; templates restart ``Always``; counts are non-negative; in
``apps/v1`` the selector is immutable.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from steersman.api.errors import FieldError, forbidden, invalid, not_supported, required
from steersman.api.strategies._base import (
    KindStrategy,
    ensure,
    mapping,
    selector_is_empty,
    selector_matches,
    template_labels_mismatch,
    validate_label_selector,
)
from steersman.api.strategies._fields import (
    go_label_selector,
    immutable,
    invalid_shown,
    nonnegative,
    regex_error,
)
from steersman.api.strategies._podspec import validate_pod_template
from steersman.api.strategies.pods import default_pod_template, set_default
from steersman.api.strategies.quantities import canonicalize_quantities, number_quantity
from steersman.api.strategy import Object

STATEFULSET_UPDATE_FORBIDDEN = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
    "'minReadySeconds' are forbidden"
)
_STATEFULSET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy",
                        "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy",
                        "minReadySeconds")
_PERCENT = re.compile(r"^[0-9]+%$")


def validate_selector_and_template(spec: dict[str, Any], kind: str, noun: str) -> list[FieldError]:
    """Selector present, non-empty, valid and matching a valid template that restarts Always."""
    selector = spec.get("selector")
    errs: list[FieldError] = []
    if selector is None:
        errs.append(required("spec.selector"))
    else:
        errs += validate_label_selector(selector, "spec.selector")
        if selector_is_empty(selector):
            errs.append(invalid_shown("spec.selector", go_label_selector(selector),
                                      f"empty selector is invalid for {noun}"))
    template = spec.get("template")
    if not isinstance(template, dict):
        return [*errs, required("spec.template")]
    labels = mapping(template, "metadata").get("labels") or {}
    if selector is not None and not selector_is_empty(selector) \
            and not selector_matches(selector, labels):
        errs.append(template_labels_mismatch("spec.template.metadata.labels", labels))
    return errs + validate_pod_template(template, "spec.template") + _template_rules(template, kind)


def _template_rules(template: dict[str, Any], kind: str) -> list[FieldError]:
    pod_spec = mapping(template, "spec")
    errs: list[FieldError] = []
    policy = pod_spec.get("restartPolicy")
    if policy and policy != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", policy, ["Always"]))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                              f"activeDeadlineSeconds in {kind} is not Supported"))
    return errs


def validate_counts(spec: dict[str, Any], *keys: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in keys:
        errs += nonnegative(f"spec.{key}", spec.get(key))
    return errs


def go_int_or_string(value: Any) -> str:
    if isinstance(value, str):
        return f'intstr.IntOrString{{Type:1, IntVal:0, StrVal:"{value}"}}'
    return f'intstr.IntOrString{{Type:0, IntVal:{value}, StrVal:""}}'


def validate_int_or_percent(value: Any, path: str) -> list[FieldError]:
    """A non-negative int or a percent string no greater than 100%."""
    if value is None:
        return []
    shown = go_int_or_string(value)
    if isinstance(value, str):
        if not _PERCENT.match(value):
            return [invalid_shown(path, shown, regex_error(
                "a valid percent string must be a numeric string followed by an ending '%'",
                "[0-9]+%", "1%", "93%"))]
        if int(value[:-1]) > 100:
            return [invalid_shown(path, shown, "must not be greater than 100%")]
        return []
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return [invalid_shown(path, shown, "must be greater than or equal to 0")]
    return []


def _int_or_percent_is_zero(value: Any) -> bool:
    return value in (0, "0%")


def validate_rolling_update(rolling: dict[str, Any], path: str) -> list[FieldError]:
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errs = validate_int_or_percent(unavailable, f"{path}.maxUnavailable")
    errs += validate_int_or_percent(surge, f"{path}.maxSurge")
    if _int_or_percent_is_zero(unavailable) and _int_or_percent_is_zero(surge):
        errs.append(invalid_shown(f"{path}.maxUnavailable", go_int_or_string(unavailable),
                                  "may not be 0 when `maxSurge` is 0"))
    return errs


def selector_immutable(new: Object, old: Object) -> list[FieldError]:
    new_sel = mapping(new, "spec").get("selector")
    old_sel = mapping(old, "spec").get("selector")
    return immutable("spec.selector", new_sel, old_sel, go_label_selector(new_sel))


class WorkloadStrategy(KindStrategy):
    """Pod-template-bearing kinds: template defaults and quantities in every case."""

    def default(self, obj: Object) -> None:
        spec = ensure(obj, "spec")
        self.default_spec(spec)
        default_pod_template(spec.get("template"))
        canonicalize_quantities(obj, number_quantity)

    def default_spec(self, spec: dict[str, Any]) -> None:
        set_default(spec, "replicas", 1)


class DeploymentStrategy(WorkloadStrategy):
    def default_spec(self, spec: dict[str, Any]) -> None:
        set_default(spec, "replicas", 1)
        strategy = ensure(spec, "strategy")
        set_default(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = ensure(strategy, "rollingUpdate")
            set_default(rolling, "maxUnavailable", "25%")
            set_default(rolling, "maxSurge", "25%")
        set_default(spec, "revisionHistoryLimit", 10)
        set_default(spec, "progressDeadlineSeconds", 600)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs = validate_counts(spec, "replicas", "minReadySeconds", "revisionHistoryLimit")
        errs += validate_selector_and_template(spec, "ReplicaSet", "deployment")
        errs += _validate_deployment_strategy(mapping(spec, "strategy"))
        deadline = spec.get("progressDeadlineSeconds")
        if isinstance(deadline, int) and deadline <= (spec.get("minReadySeconds") or 0):
            errs.append(invalid("spec.progressDeadlineSeconds", deadline,
                                "must be greater than minReadySeconds"))
        return errs

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return selector_immutable(new, old)


def _validate_deployment_strategy(strategy: dict[str, Any]) -> list[FieldError]:
    kind = strategy.get("type")
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            return [forbidden("spec.strategy.rollingUpdate",
                              "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if kind != "RollingUpdate":
        return [not_supported("spec.strategy.type", kind, ["Recreate", "RollingUpdate"])]
    return validate_rolling_update(mapping(strategy, "rollingUpdate"),
                                   "spec.strategy.rollingUpdate")


class ReplicaSetStrategy(WorkloadStrategy):
    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs = validate_counts(spec, "replicas", "minReadySeconds")
        return errs + validate_selector_and_template(spec, "ReplicaSet", "deployment")

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return selector_immutable(new, old)


class ReplicationControllerStrategy(WorkloadStrategy):
    """The core/v1 ancestor of ReplicaSet: a plain map selector, mutable."""

    def default(self, obj: Object) -> None:
        spec = ensure(obj, "spec")
        labels = mapping(mapping(spec, "template"), "metadata").get("labels")
        if labels:
            if not spec.get("selector"):
                spec["selector"] = copy.deepcopy(labels)
            meta = ensure(obj, "metadata")
            if not meta.get("labels"):
                meta["labels"] = copy.deepcopy(labels)
        super().default(obj)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs = validate_counts(spec, "replicas", "minReadySeconds")
        selector = spec.get("selector") or {}
        if not selector:
            errs.append(required("spec.selector"))
        template = spec.get("template")
        if not isinstance(template, dict):
            return [*errs, required("spec.template")]
        labels = mapping(template, "metadata").get("labels") or {}
        if selector and not selector_matches({"matchLabels": selector}, labels):
            errs.append(template_labels_mismatch("spec.template.metadata.labels", labels))
        errs += validate_pod_template(template, "spec.template")
        return errs + _template_rules(template, "ReplicationController")


class StatefulSetStrategy(WorkloadStrategy):
    def default_spec(self, spec: dict[str, Any]) -> None:
        set_default(spec, "podManagementPolicy", "OrderedReady")
        update = ensure(spec, "updateStrategy")
        if not update.get("type"):
            update["type"] = "RollingUpdate"
            ensure(update, "rollingUpdate")
        if update["type"] == "RollingUpdate" and isinstance(update.get("rollingUpdate"), dict):
            set_default(update["rollingUpdate"], "partition", 0)
        retention = ensure(spec, "persistentVolumeClaimRetentionPolicy")
        set_default(retention, "whenDeleted", "Retain")
        set_default(retention, "whenScaled", "Retain")
        set_default(spec, "replicas", 1)
        set_default(spec, "revisionHistoryLimit", 10)
        for claim in spec.get("volumeClaimTemplates") or []:
            if isinstance(claim, dict):
                _default_claim_template(claim)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs = validate_counts(spec, "replicas", "minReadySeconds", "revisionHistoryLimit")
        policy = spec.get("podManagementPolicy")
        if policy not in ("OrderedReady", "Parallel"):
            errs.append(invalid("spec.podManagementPolicy", policy or "",
                                "must be 'OrderedReady' or 'Parallel'"))
        errs += _validate_statefulset_update_strategy(mapping(spec, "updateStrategy"))
        return errs + validate_selector_and_template(spec, "StatefulSet", "statefulset")

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        new_spec, old_spec = mapping(new, "spec"), mapping(old, "spec")
        rest_new = {k: v for k, v in new_spec.items() if k not in _STATEFULSET_MUTABLE}
        rest_old = {k: v for k, v in old_spec.items() if k not in _STATEFULSET_MUTABLE}
        if rest_new != rest_old:
            return [forbidden("spec", STATEFULSET_UPDATE_FORBIDDEN)]
        return []


def _default_claim_template(claim: dict[str, Any]) -> None:
    claim.setdefault("apiVersion", "v1")
    claim.setdefault("kind", "PersistentVolumeClaim")
    set_default(ensure(claim, "spec"), "volumeMode", "Filesystem")
    set_default(ensure(claim, "status"), "phase", "Pending")


def _validate_statefulset_update_strategy(update: dict[str, Any]) -> list[FieldError]:
    kind = update.get("type")
    if kind == "OnDelete":
        if update.get("rollingUpdate") is not None:
            return [invalid_shown("spec.updateStrategy.rollingUpdate", "{...}",
                                  "only allowed for updateStrategy 'RollingUpdate'")]
        return []
    if kind != "RollingUpdate":
        return [not_supported("spec.updateStrategy.type", kind, ["OnDelete", "RollingUpdate"])]
    rolling = mapping(update, "rollingUpdate")
    return nonnegative("spec.updateStrategy.rollingUpdate.partition", rolling.get("partition"))


class DaemonSetStrategy(WorkloadStrategy):
    def default_spec(self, spec: dict[str, Any]) -> None:
        update = ensure(spec, "updateStrategy")
        set_default(update, "type", "RollingUpdate")
        if update["type"] == "RollingUpdate":
            rolling = ensure(update, "rollingUpdate")
            if rolling.get("maxUnavailable") is None:
                rolling["maxUnavailable"] = 1
            if rolling.get("maxSurge") is None:
                rolling["maxSurge"] = 0
        set_default(spec, "revisionHistoryLimit", 10)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs = validate_counts(spec, "minReadySeconds", "revisionHistoryLimit")
        errs += validate_selector_and_template(spec, "DaemonSet", "daemonset")
        update = mapping(spec, "updateStrategy")
        kind = update.get("type")
        if kind == "RollingUpdate":
            errs += validate_rolling_update(mapping(update, "rollingUpdate"),
                                            "spec.updateStrategy.rollingUpdate")
        elif kind != "OnDelete":
            errs.append(not_supported("spec.updateStrategy.type", kind,
                                      ["OnDelete", "RollingUpdate"]))
        return errs

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return selector_immutable(new, old)
