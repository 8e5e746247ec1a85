"""Pods: PodSpec defaulting (shared with every pod template), the Pod strategy and QoS class.

Defaults follow kubernetes/kubernetes ``pkg/apis/core/v1/defaults.go`` (``SetDefaults_Pod``,
``SetDefaults_PodSpec``, ``SetDefaults_Container``, ``SetDefaults_Probe``, the volume source
defaulters) plus what the pod registry's ``PrepareForCreate`` sets (``status.phase``,
``status.qosClass``) and the Priority admission plugin's ``priority: 0`` /
``preemptionPolicy``. :func:`default_pod_spec` is what pod templates (Deployment, Job, …) get;
:func:`default_pod` adds the Pod-only parts. Validation lives in ``_podspec``; the update
rule (only images, ``activeDeadlineSeconds``, added tolerations and a negative grace period
turned into 1 may change) is :func:`validate_pod_update`. The pods of one template repeat
their spec, so a Pod's defaulted spec and every QoS class are remembered by exact JSON
(:mod:`steersman.api.exactjson`), as is validation (``_fields.remembered_by_json``).
"""

from __future__ import annotations

import copy
from fractions import Fraction
from typing import Any

import orjson

from steersman.api.errors import FieldError, forbidden, invalid, not_supported
from steersman.api.exactjson import Remembered, json_key
from steersman.api.strategies._base import KindStrategy, ensure, items, mapping
from steersman.api.strategies._podspec import (
    validate_bound_pod_spec,
    validate_pod_template,
)
from steersman.api.strategies.quantities import (
    canonicalize_quantities,
    number_quantity,
    parse_quantity,
)
from steersman.api.strategy import Object

POD_PHASES = ["Pending", "Running", "Succeeded", "Failed", "Unknown"]
POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)
_CONTAINER_GROUPS = ("initContainers", "containers", "ephemeralContainers")
_MODE_SOURCES = ("configMap", "secret", "downwardAPI", "projected")
_QOS_RESOURCES = ("cpu", "memory")
# Defaulted pod specs and QoS classes, by exact JSON: the pods of one template repeat them.
_defaulted: Remembered[bytes, bytes] = Remembered(256)
_qos_classes: Remembered[bytes, str] = Remembered(1024)


def set_default(holder: dict[str, Any], key: str, value: Any) -> None:
    """Set ``holder[key]`` when it is missing, null or an empty string (Go's zero value)."""
    if holder.get(key) in (None, ""):
        holder[key] = value


def default_pod_spec(spec: dict[str, Any]) -> None:
    set_default(spec, "dnsPolicy", "ClusterFirst")
    set_default(spec, "restartPolicy", "Always")
    set_default(spec, "terminationGracePeriodSeconds", 30)
    set_default(spec, "schedulerName", "default-scheduler")
    set_default(spec, "securityContext", {})
    host_network = spec.get("hostNetwork") is True
    for group in _CONTAINER_GROUPS:
        for container in items(spec, group):
            if isinstance(container, dict):
                default_container(container, host_network)
    for volume in items(spec, "volumes"):
        if isinstance(volume, dict):
            default_volume(volume)


def default_pod_template(template: Any) -> None:
    if isinstance(template, dict):
        default_pod_spec(ensure(template, "spec"))


def default_container(container: dict[str, Any], host_network: bool = False) -> None:
    set_default(container, "terminationMessagePath", "/dev/termination-log")
    set_default(container, "terminationMessagePolicy", "File")
    set_default(container, "imagePullPolicy", image_pull_policy(container.get("image") or ""))
    set_default(container, "resources", {})
    for port in items(container, "ports"):
        if isinstance(port, dict):
            set_default(port, "protocol", "TCP")
            if host_network and port.get("containerPort"):
                set_default(port, "hostPort", port["containerPort"])
    for var in items(container, "env"):
        _default_field_ref(mapping(var, "valueFrom"))
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(kind), dict):
            _default_probe(container[kind])
    lifecycle = mapping(container, "lifecycle")
    for hook in ("postStart", "preStop"):
        _default_http_get(mapping(lifecycle, hook))


def image_pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or an untagged image without digest, else ``IfNotPresent``."""
    if not image:
        return "IfNotPresent"
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if not tag and not digest:
        tag = "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_probe(probe: dict[str, Any]) -> None:
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                       ("failureThreshold", 3)):
        if probe.get(key) in (None, 0):
            probe[key] = value
    _default_http_get(probe)


def _default_http_get(handler: dict[str, Any]) -> None:
    action = handler.get("httpGet")
    if isinstance(action, dict):
        set_default(action, "path", "/")
        set_default(action, "scheme", "HTTP")


def _default_field_ref(source: dict[str, Any]) -> None:
    ref = source.get("fieldRef")
    if isinstance(ref, dict):
        set_default(ref, "apiVersion", "v1")


def default_volume(volume: dict[str, Any]) -> None:
    if not any(k != "name" and v is not None for k, v in volume.items()):
        volume["emptyDir"] = {}
    for kind in _MODE_SOURCES:
        if isinstance(volume.get(kind), dict):
            set_default(volume[kind], "defaultMode", 420)
    for item in items(volume.get("downwardAPI"), "items"):
        _default_field_ref(item if isinstance(item, dict) else {})
    for source in items(volume.get("projected"), "sources"):
        token = mapping(source, "serviceAccountToken")
        if token:
            set_default(token, "expirationSeconds", 3600)
        for item in items(mapping(source, "downwardAPI"), "items"):
            _default_field_ref(item if isinstance(item, dict) else {})
    host_path = volume.get("hostPath")
    if isinstance(host_path, dict) and host_path.get("type") is None:
        host_path["type"] = ""


def default_pod(pod: Object) -> None:
    spec = ensure(pod, "spec")
    if pod.get("kind") != "Pod" or not _default_spec_remembered(pod, spec):
        _default_spec(pod, spec)
    status = ensure(pod, "status")
    set_default(status, "phase", "Pending")
    set_default(status, "qosClass", qos_class(pod))


def _default_spec(pod: Object, spec: dict[str, Any]) -> None:
    default_pod_spec(spec)
    set_default(spec, "enableServiceLinks", True)
    if spec.get("priority") is None and not spec.get("priorityClassName"):
        spec["priority"] = 0
    set_default(spec, "preemptionPolicy", "PreemptLowerPriority")
    for group in ("initContainers", "containers"):
        for container in items(spec, group):
            _default_requests_from_limits(mapping(container, "resources"))
    canonicalize_quantities(pod, number_quantity)


def _default_spec_remembered(pod: Object, spec: dict[str, Any]) -> bool:
    """:func:`_default_spec` remembered by the spec's exact JSON (a Pod's quantities are all
    in its spec); False, having done nothing, when the spec has none.

    ``nodeName`` is blanked in the key (defaulting never reads it), so that the bound pods
    of one template share an entry whichever node they run on.
    """
    node = spec.get("nodeName")
    if type(node) is not str or not node:
        return _default_spec_by_json(pod, spec)
    spec["nodeName"] = ""
    try:
        return _default_spec_by_json(pod, spec)
    finally:
        spec["nodeName"] = node


def _default_spec_by_json(pod: Object, spec: dict[str, Any]) -> bool:
    before = json_key(spec)
    if before is None:
        return False
    defaulted = _defaulted.get(before)
    if defaulted is None:
        _default_spec(pod, spec)
        after = json_key(spec)
        if after is not None:
            _defaulted.put(before, after)
    elif defaulted != before:  # equal: already defaulted (an update's spec), nothing to do
        spec.clear()
        spec.update(orjson.loads(defaulted))
    return True


def _default_requests_from_limits(resources: dict[str, Any]) -> None:
    limits = resources.get("limits")
    if not isinstance(limits, dict) or not limits:
        return
    requests = ensure(resources, "requests")
    for name, value in limits.items():
        requests.setdefault(name, copy.deepcopy(value))


def qos_class(pod: Object) -> str:
    """``Guaranteed``, ``Burstable`` or ``BestEffort``, as kubelet's ``GetPodQOS`` computes it."""
    spec = mapping(pod, "spec")
    resources = [[mapping(container, "resources") for container in items(spec, group)]
                 for group in ("containers", "initContainers")]
    key = json_key(resources)
    if key is None:
        return _qos_class(resources)
    return _qos_classes.get(key) or _qos_classes.put(key, _qos_class(resources))


def _qos_class(resources: list[list[dict[str, Any]]]) -> str:
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for group in resources:
        for container in group:
            _add_positive(requests, mapping(container, "requests"))
            found = _add_positive(limits, mapping(container, "limits"))
            if not set(_QOS_RESOURCES) <= found:
                guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and requests == limits:
        return "Guaranteed"
    return "Burstable"


def _add_positive(totals: dict[str, Fraction], resource_list: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for name in _QOS_RESOURCES:
        value = parse_quantity(resource_list.get(name))
        if value is not None and value.numerator > 0:
            total = totals.get(name)
            totals[name] = value if total is None else total + value
            found.add(name)
    return found


def validate_pod_update(new: Object, old: Object) -> list[FieldError]:
    new_spec, old_spec = mapping(new, "spec"), mapping(old, "spec")
    errs = _validate_deadline_update(new_spec.get("activeDeadlineSeconds"),
                                     old_spec.get("activeDeadlineSeconds"))
    if errs:
        return errs
    errs = _validate_toleration_update(items(new_spec, "tolerations"),
                                       items(old_spec, "tolerations"))
    allowed = _with_mutable_fields(old_spec, new_spec)
    if allowed != new_spec:
        errs.append(forbidden("spec", POD_UPDATE_FORBIDDEN))
    return errs


def _validate_deadline_update(new: Any, old: Any) -> list[FieldError]:
    path = "spec.activeDeadlineSeconds"
    if new is None:
        if old is not None:
            return [invalid(path, None, "must not update from a positive integer to nil value")]
        return []
    if old is not None and isinstance(new, int) and isinstance(old, int) and new > old:
        return [invalid(path, new, "must be less than or equal to previous value")]
    return []


def _validate_toleration_update(new: list[Any], old: list[Any]) -> list[FieldError]:
    def key(tol: Any) -> Any:
        return {k: v for k, v in tol.items() if k != "tolerationSeconds"} \
            if isinstance(tol, dict) else tol

    new_keys = [key(t) for t in new]
    return [forbidden(f"spec.tolerations[{i}]",
                      "existing toleration can not be modified except its tolerationSeconds")
            for i, tol in enumerate(old) if key(tol) not in new_keys]


def _with_mutable_fields(old_spec: dict[str, Any], new_spec: dict[str, Any]) -> dict[str, Any]:
    """The old spec with every field a pod update may change taken from the new spec.

    Only compared, never changed: it shares what it did not replace with both specs, and
    copies just the dicts and lists on the way to what it replaced.
    """
    allowed = dict(old_spec)
    for group in ("containers", "initContainers"):
        olds, news = items(allowed, group), items(new_spec, group)
        if len(olds) == len(news) and olds:
            allowed[group] = [{**old_c, "image": new_c.get("image")}
                              if isinstance(old_c, dict) and isinstance(new_c, dict) else old_c
                              for old_c, new_c in zip(olds, news, strict=True)]
    for key in ("activeDeadlineSeconds", "tolerations"):
        _copy_key(new_spec, allowed, key)
    grace_new, grace_old = new_spec.get("terminationGracePeriodSeconds"), \
        old_spec.get("terminationGracePeriodSeconds")
    if isinstance(grace_old, int) and grace_old < 0 and grace_new == 1:
        allowed["terminationGracePeriodSeconds"] = 1
    return allowed


def _copy_key(source: dict[str, Any], target: dict[str, Any], key: str) -> None:
    if key in source:
        target[key] = source[key]
    else:
        target.pop(key, None)


class PodStrategy(KindStrategy):
    def default(self, obj: Object) -> None:
        default_pod(obj)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        errs = validate_bound_pod_spec(mapping(obj, "spec"), "spec")
        phase = mapping(obj, "status").get("phase")
        if phase and phase not in POD_PHASES:
            errs.append(not_supported("status.phase", phase, POD_PHASES))
        return errs

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return validate_pod_update(new, old)


class PodTemplateStrategy(KindStrategy):
    def default(self, obj: Object) -> None:
        default_pod_template(obj.get("template"))
        canonicalize_quantities(obj, number_quantity)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        return validate_pod_template(obj.get("template"), "template")
