"""Validation of a PodSpec and a PodTemplateSpec, shared by Pod and every workload kind.

Follows kubernetes/kubernetes ``pkg/apis/core/validation/validation.go`` (``ValidatePodSpec``
and the functions it calls) for the fields users get wrong: containers and their names,
images, ports, env, volume mounts, resources, probes; volumes; restart and DNS policies;
tolerations. Field paths are relative to the ``path`` argument (``spec`` for a Pod,
``spec.template.spec`` for a Deployment).
"""

from __future__ import annotations

from typing import Any

from steersman.api.errors import FieldError, duplicate, forbidden, invalid, required
from steersman.api.strategies._base import items, mapping, validate_annotations, validate_labels
from steersman.api.strategies._fields import (
    check,
    check_port_num_or_name,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_port_name,
    is_port_number,
    nonnegative,
    not_found,
    one_of,
    range_error,
    remembered_by_json,
)
from steersman.api.strategies._resources import validate_resources
from steersman.api.strategies._tolerations import validate_tolerations

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"]
VOLUME_SOURCES = (
    "emptyDir", "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret",
    "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder",
    "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume",
    "quobyte", "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO",
    "storageos", "csi", "ephemeral", "image",
)
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")
_VALUE_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
_MAX_INT32 = 2**31 - 1
_ENV_NAME_MSG = ("a valid environment variable name must consist only of printable ASCII "
                 "characters other than '='")


def validate_pod_template(template: Any, path: str) -> list[FieldError]:
    """A PodTemplateSpec: template metadata labels/annotations, then its spec."""
    if not isinstance(template, dict):
        return [required(path)]
    meta = mapping(template, "metadata")
    errs = validate_labels(meta.get("labels"), f"{path}.metadata.labels")
    errs += validate_annotations(meta.get("annotations"), f"{path}.metadata.annotations")
    return errs + validate_pod_spec(mapping(template, "spec"), f"{path}.spec")


@remembered_by_json
def validate_pod_spec(spec: dict[str, Any], path: str) -> list[FieldError]:
    errs, volumes = _validate_volumes(items(spec, "volumes"), f"{path}.volumes")
    errs += _validate_all_containers(spec, path, volumes)
    errs += one_of(f"{path}.restartPolicy", spec.get("restartPolicy"), RESTART_POLICIES)
    errs += one_of(f"{path}.dnsPolicy", spec.get("dnsPolicy"), DNS_POLICIES)
    errs += validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    errs += validate_tolerations(items(spec, "tolerations"), f"{path}.tolerations")
    return errs + _validate_pod_scalars(spec, path)


def validate_bound_pod_spec(spec: dict[str, Any], path: str) -> list[FieldError]:
    """:func:`validate_pod_spec`, remembered for the bound pods of one template whichever
    their node: a valid ``nodeName`` adds no problem and nothing else reads it, so the spec
    is validated with it blanked."""
    node = spec.get("nodeName")
    if type(node) is not str or not node or is_dns1123_subdomain(node):
        return validate_pod_spec(spec, path)
    return validate_pod_spec({**spec, "nodeName": ""}, path)


def _validate_pod_scalars(spec: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("serviceAccountName", "nodeName", "priorityClassName"):
        if spec.get(key):
            errs += check(f"{path}.{key}", spec[key], is_dns1123_subdomain)
    for key in ("hostname", "subdomain"):
        if spec.get(key):
            errs += check(f"{path}.{key}", spec[key], is_dns1123_label)
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and (not isinstance(deadline, int) or not 1 <= deadline <= _MAX_INT32):
        errs.append(invalid(f"{path}.activeDeadlineSeconds", deadline, range_error(1, _MAX_INT32)))
    return errs


def _validate_volumes(volumes: list[Any], path: str) -> tuple[list[FieldError], set[str]]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, volume in enumerate(volumes):
        at = f"{path}[{i}]"
        volume = volume if isinstance(volume, dict) else {}
        name = volume.get("name")
        if not name:
            errs.append(required(f"{at}.name"))
        elif name in names:
            errs.append(duplicate(f"{at}.name", name))
        else:
            errs += check(f"{at}.name", name, is_dns1123_label)
            names.add(str(name))
        errs += _validate_volume_source(volume, at)
    return errs, names


def _validate_volume_source(volume: dict[str, Any], path: str) -> list[FieldError]:
    sources = [s for s in VOLUME_SOURCES if volume.get(s) is not None]
    if not sources:
        return [required(path, "must specify a volume type")]
    errs = [forbidden(f"{path}.{s}", "may not specify more than 1 volume type")
            for s in sources[1:]]
    source = mapping(volume, sources[0])
    for kind, key in (("configMap", "name"), ("secret", "secretName"), ("hostPath", "path"),
                      ("persistentVolumeClaim", "claimName")):
        if sources[0] == kind and not source.get(key):
            errs.append(required(f"{path}.{kind}.{key}"))
    mode = source.get("defaultMode")
    if mode is not None and (not isinstance(mode, int) or not 0 <= mode <= 0o777):
        errs.append(invalid(f"{path}.{sources[0]}.defaultMode", mode,
                            "must be a number between 0 and 0777 (octal), both inclusive"))
    return errs


def _validate_all_containers(
    spec: dict[str, Any], path: str, volumes: set[str],
) -> list[FieldError]:
    containers = items(spec, "containers")
    if not containers:
        return [required(f"{path}.containers")]
    names: set[str] = set()
    errs: list[FieldError] = []
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for i, container in enumerate(items(spec, group)):
            at = f"{path}.{group}[{i}]"
            container = container if isinstance(container, dict) else {}
            errs += _validate_container_name(container.get("name"), at, names)
            errs += validate_container(container, at, volumes)
            if group != "containers":
                errs += _validate_non_regular(container, at, group)
    return errs


def _validate_container_name(name: Any, path: str, names: set[str]) -> list[FieldError]:
    if not name:
        return [required(f"{path}.name")]
    if name in names:
        return [duplicate(f"{path}.name", name)]
    names.add(str(name))
    return check(f"{path}.name", name, is_dns1123_label)


def _validate_non_regular(container: dict[str, Any], path: str, group: str) -> list[FieldError]:
    """Init containers take probes only as sidecars; ephemeral ones never take ports/probes."""
    if group == "initContainers" and container.get("restartPolicy") == "Always":
        return []
    reason = ("may not be set for init containers without restartPolicy=Always"
              if group == "initContainers" else "cannot be set for an Ephemeral Container")
    keys = ["livenessProbe", "readinessProbe", "startupProbe"]
    if group == "ephemeralContainers":
        keys += ["ports", "lifecycle", "resources"]
    return [forbidden(f"{path}.{k}", reason) for k in keys if container.get(k)]


def validate_container(container: dict[str, Any], path: str, volumes: set[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    if not container.get("image"):
        errs.append(required(f"{path}.image"))
    errs += one_of(f"{path}.imagePullPolicy", container.get("imagePullPolicy"), PULL_POLICIES)
    errs += one_of(f"{path}.terminationMessagePolicy",
                   container.get("terminationMessagePolicy"), MESSAGE_POLICIES)
    errs += validate_container_ports(items(container, "ports"), f"{path}.ports")
    errs += _validate_env(items(container, "env"), f"{path}.env")
    errs += _validate_mounts(items(container, "volumeMounts"), f"{path}.volumeMounts", volumes)
    errs += validate_resources(mapping(container, "resources"), f"{path}.resources")
    errs += _validate_probes(container, path)
    lifecycle = mapping(container, "lifecycle")
    for hook in ("postStart", "preStop"):
        if hook in lifecycle:
            errs += _validate_handler(mapping(lifecycle, hook), f"{path}.lifecycle.{hook}",
                                      _LIFECYCLE_HANDLERS)
    return errs


def validate_container_ports(ports: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        at = f"{path}[{i}]"
        port = port if isinstance(port, dict) else {}
        name = port.get("name")
        if name:
            msgs = is_port_name(str(name))
            errs += [invalid(f"{at}.name", name, m) for m in msgs]
            if not msgs and name in names:
                errs.append(duplicate(f"{at}.name", name))
            names.add(str(name))
        if not port.get("containerPort"):
            errs.append(required(f"{at}.containerPort"))
        else:
            errs += [invalid(f"{at}.containerPort", port["containerPort"], m)
                     for m in is_port_number(port["containerPort"])]
        if port.get("hostPort"):
            errs += [invalid(f"{at}.hostPort", port["hostPort"], m)
                     for m in is_port_number(port["hostPort"])]
        errs += one_of(f"{at}.protocol", port.get("protocol"), PROTOCOLS)
    return errs


def _validate_env(env: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, var in enumerate(env):
        at = f"{path}[{i}]"
        var = var if isinstance(var, dict) else {}
        name = var.get("name")
        if not name:
            errs.append(required(f"{at}.name"))
        elif not isinstance(name, str) or not _printable_ascii(name) or "=" in name:
            errs.append(invalid(f"{at}.name", name, _ENV_NAME_MSG))
        if var.get("valueFrom") is not None:
            errs += _validate_value_from(var, f"{at}.valueFrom")
    return errs


def _printable_ascii(value: str) -> bool:
    return all(" " <= ch <= "~" for ch in value)


def _validate_value_from(var: dict[str, Any], path: str) -> list[FieldError]:
    source = mapping(var, "valueFrom")
    count = sum(1 for k in _VALUE_SOURCES if source.get(k) is not None)
    if count == 0:
        return [invalid(path, "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                  "`configMapKeyRef` or `secretKeyRef`")]
    if count > 1:
        return [invalid(path, "", "may not have more than one field specified at a time")]
    if var.get("value"):
        return [invalid(path, "", "may not be specified when `value` is not empty")]
    errs: list[FieldError] = []
    for ref in ("configMapKeyRef", "secretKeyRef"):
        if ref in source and not mapping(source, ref).get("key"):
            errs.append(required(f"{path}.{ref}.key"))
    if "fieldRef" in source and not mapping(source, "fieldRef").get("fieldPath"):
        errs.append(required(f"{path}.fieldRef.fieldPath"))
    if "resourceFieldRef" in source and not mapping(source, "resourceFieldRef").get("resource"):
        errs.append(required(f"{path}.resourceFieldRef.resource"))
    return errs


def _validate_mounts(mounts: list[Any], path: str, volumes: set[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, mount in enumerate(mounts):
        at = f"{path}[{i}]"
        mount = mount if isinstance(mount, dict) else {}
        name, mount_path = mount.get("name"), mount.get("mountPath")
        if not name:
            errs.append(required(f"{at}.name"))
        elif name not in volumes:
            errs.append(not_found(f"{at}.name", str(name)))
        if not mount_path:
            errs.append(required(f"{at}.mountPath"))
        elif mount_path in seen:
            errs.append(invalid(f"{at}.mountPath", mount_path, "must be unique"))
        seen.add(str(mount_path))
    return errs


def _validate_probes(container: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(kind)
        if probe is None:
            continue
        at = f"{path}.{kind}"
        probe = probe if isinstance(probe, dict) else {}
        errs += _validate_handler(probe, at, _PROBE_HANDLERS)
        for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                    "successThreshold", "failureThreshold"):
            errs += nonnegative(f"{at}.{key}", probe.get(key))
        success = probe.get("successThreshold")
        if kind != "readinessProbe" and success not in (None, 1):
            errs.append(invalid(f"{at}.successThreshold", success, "must be 1"))
    return errs


def _validate_handler(
    handler: dict[str, Any], path: str, kinds: tuple[str, ...],
) -> list[FieldError]:
    present = [k for k in kinds if handler.get(k) is not None]
    if not present:
        return [required(path, "must specify a handler type")]
    errs = [forbidden(f"{path}.{k}", "may not specify more than 1 handler type")
            for k in present[1:]]
    kind, action = present[0], mapping(handler, present[0])
    if kind == "exec" and not action.get("command"):
        errs.append(required(f"{path}.exec.command"))
    if kind in ("httpGet", "tcpSocket"):
        errs += check_port_num_or_name(f"{path}.{kind}.port", action.get("port", ""))
    if kind == "grpc":
        errs += [invalid(f"{path}.grpc.port", action.get("port", 0), m)
                 for m in is_port_number(action.get("port", 0))]
    if kind == "httpGet":
        errs += one_of(f"{path}.httpGet.scheme", action.get("scheme"), ["HTTP", "HTTPS"])
    if kind == "sleep":
        errs += nonnegative(f"{path}.sleep.seconds", action.get("seconds"))
    return errs
