"""A container's environment: envFrom, env, ``$(VAR)`` expansion and service links.

The kubelet's order (``kubelet_pods.go`` ``makeEnvironmentVariables``): ``envFrom`` sources
first (each with its prefix), then ``env`` entries in order (a ``value`` is expanded against
the variables declared so far and the service variables), then the service variables that
are not already defined. :func:`expand` implements ``third_party/forked/golang/expansion``:
``$(NAME)`` is replaced when ``NAME`` is known and kept otherwise, ``$$`` is a literal
``$``. The same expansion applies to ``command`` and ``args``.

Everything here is pure: :class:`EnvInputs` carries the ConfigMaps, Secrets and Services
the worker fetched beforehand (:func:`referenced_names` says which).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from steersman.kubelet.agent.downward import (
    ContainerConfigError,
    PodAddresses,
    field_value,
    resource_value,
)

Object = dict[str, Any]
Lookup = Callable[[str], str | None]


@dataclass(frozen=True)
class EnvInputs:
    """What building an environment reads besides the pod: fetched objects, the node."""

    addresses: PodAddresses
    configmaps: Mapping[str, Object] = field(default_factory=dict)
    secrets: Mapping[str, Object] = field(default_factory=dict)
    services: tuple[Object, ...] = ()
    allocatable: Mapping[str, str] = field(default_factory=dict)
    claims: Mapping[str, Object] = field(default_factory=dict)
    persistent_volumes: Mapping[str, Object] = field(default_factory=dict)


def referenced_names(pod: Object) -> tuple[set[str], set[str]]:
    """The ConfigMaps and Secrets the pod's env, envFrom and volumes refer to."""
    configmaps: set[str] = set()
    secrets: set[str] = set()
    for container in _all_containers(pod):
        for source in container.get("envFrom") or []:
            _add_ref(source.get("configMapRef"), configmaps)
            _add_ref(source.get("secretRef"), secrets)
        for var in container.get("env") or []:
            value_from = var.get("valueFrom") or {}
            _add_ref(value_from.get("configMapKeyRef"), configmaps)
            _add_ref(value_from.get("secretKeyRef"), secrets)
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        _add_ref(volume.get("configMap"), configmaps)
        _add_ref({"name": (volume.get("secret") or {}).get("secretName")}, secrets)
        for source in (volume.get("projected") or {}).get("sources") or []:
            _add_ref(source.get("configMap"), configmaps)
            _add_ref(source.get("secret"), secrets)
    return configmaps, secrets


def build_env(pod: Object, container: Object, inputs: EnvInputs) -> list[tuple[str, str]]:
    """The container's environment in the kubelet's order, fully expanded."""
    service_env = service_variables(inputs.services) if _service_links(pod) else {}
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        env.update(_env_from(source, inputs))
    for var in container.get("env") or []:
        name = str(var.get("name") or "")
        if "value" in var or not var.get("valueFrom"):
            env[name] = expand(str(var.get("value") or ""), _mapping(env, service_env))
        else:
            resolved = _value_from(pod, container, var["valueFrom"], inputs)
            if resolved is not None:
                env[name] = resolved
    for name, value in service_env.items():
        env.setdefault(name, value)
    return list(env.items())


def expand_command(words: Iterable[str], env: Iterable[tuple[str, str]]) -> list[str]:
    """``command`` or ``args`` with ``$(VAR)`` expanded against the final environment."""
    lookup = dict(env).get
    return [expand(word, lookup) for word in words]


def expand(text: str, lookup: Lookup) -> str:
    """Replace ``$(NAME)`` by its value when ``lookup`` knows it; ``$$`` → ``$``."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "$" or i + 1 == len(text):
            out.append(text[i])
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(" and ")" in text[i + 2:]:
            end = text.index(")", i + 2)
            name = text[i + 2:end]
            value = lookup(name) if name else None
            out.append(f"$({name})" if value is None else value)
            i = end + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def service_variables(services: Iterable[Object]) -> dict[str, str]:
    """``<NAME>_SERVICE_HOST/PORT`` and docker-link variables of every ClusterIP service."""
    env: dict[str, str] = {}
    for service in sorted(services, key=lambda s: str(s["metadata"].get("name"))):
        spec = service.get("spec") or {}
        ip = str(spec.get("clusterIP") or "")
        ports = spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        env.update(_service_env(str(service["metadata"]["name"]), ip, ports))
    return env


def _service_env(name: str, ip: str, ports: list[Object]) -> dict[str, str]:
    prefix = name.upper().replace("-", "_")
    first = ports[0]
    env = {f"{prefix}_SERVICE_HOST": ip, f"{prefix}_SERVICE_PORT": str(first.get("port")),
           f"{prefix}_PORT": f"{str(first.get('protocol') or 'TCP').lower()}://{ip}:"
                             f"{first.get('port')}"}
    for port in ports:
        number, protocol = str(port.get("port")), str(port.get("protocol") or "TCP")
        if port.get("name"):
            env[f"{prefix}_SERVICE_PORT_{str(port['name']).upper().replace('-', '_')}"] = number
        link = f"{prefix}_PORT_{number}_{protocol.upper()}"
        env[link] = f"{protocol.lower()}://{ip}:{number}"
        env[f"{link}_PROTO"] = protocol.lower()
        env[f"{link}_PORT"] = number
        env[f"{link}_ADDR"] = ip
    return env


def _env_from(source: Object, inputs: EnvInputs) -> dict[str, str]:
    prefix = str(source.get("prefix") or "")
    if source.get("configMapRef"):
        ref, data = source["configMapRef"], _configmap_data(inputs, source["configMapRef"])
        kind = "configmap"
    else:
        ref, data = source.get("secretRef") or {}, _secret_data(inputs, source.get("secretRef"))
        kind = "secret"
    if data is None:
        if ref.get("optional"):
            return {}
        raise ContainerConfigError(f'{kind} "{ref.get("name")}" not found')
    return {prefix + key: value for key, value in data.items()}


def _value_from(pod: Object, container: Object, source: Object,
                inputs: EnvInputs) -> str | None:
    if source.get("fieldRef"):
        return field_value(pod, str(source["fieldRef"].get("fieldPath")), inputs.addresses)
    if source.get("resourceFieldRef"):
        ref = source["resourceFieldRef"]
        target = _container_named(pod, ref.get("containerName")) or container
        return resource_value(target, str(ref.get("resource")), str(ref.get("divisor") or ""),
                              inputs.allocatable)
    if source.get("configMapKeyRef"):
        ref = source["configMapKeyRef"]
        return _key(ref, _configmap_data(inputs, ref), "configmap")
    if source.get("secretKeyRef"):
        ref = source["secretKeyRef"]
        return _key(ref, _secret_data(inputs, ref), "secret")
    raise ContainerConfigError(f"unsupported valueFrom {sorted(source)}")


def _key(ref: Object, data: Mapping[str, str] | None, kind: str) -> str | None:
    name, key = ref.get("name"), str(ref.get("key"))
    if data is not None and key in data:
        return data[key]
    if ref.get("optional"):
        return None
    if data is None:
        raise ContainerConfigError(f'{kind} "{name}" not found')
    raise ContainerConfigError(f'couldn\'t find key {key} in {kind.capitalize()} '
                               f'{ref.get("namespace", "")}{name}')


def configmap_data(configmap: Object) -> dict[str, bytes]:
    """A ConfigMap's ``data`` and ``binaryData`` as bytes."""
    data = {k: str(v).encode() for k, v in (configmap.get("data") or {}).items()}
    for key, value in (configmap.get("binaryData") or {}).items():
        data[key] = base64.b64decode(value)
    return data


def secret_data(secret: Object) -> dict[str, bytes]:
    """A Secret's ``data`` (base64) and ``stringData`` as bytes."""
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    data.update({k: str(v).encode() for k, v in (secret.get("stringData") or {}).items()})
    return data


def _configmap_data(inputs: EnvInputs, ref: Object | None) -> dict[str, str] | None:
    found = inputs.configmaps.get(str((ref or {}).get("name")))
    if found is None:
        return None
    return {k: v.decode(errors="replace") for k, v in configmap_data(found).items()}


def _secret_data(inputs: EnvInputs, ref: Object | None) -> dict[str, str] | None:
    found = inputs.secrets.get(str((ref or {}).get("name")))
    if found is None:
        return None
    return {k: v.decode(errors="replace") for k, v in secret_data(found).items()}


def _mapping(env: Mapping[str, str], service_env: Mapping[str, str]) -> Lookup:
    def lookup(name: str) -> str | None:
        return env.get(name, service_env.get(name))
    return lookup


def _service_links(pod: Object) -> bool:
    return (pod.get("spec") or {}).get("enableServiceLinks", True) is not False


def _container_named(pod: Object, name: object) -> Object | None:
    return next((c for c in _all_containers(pod) if name and c.get("name") == name), None)


def _all_containers(pod: Object) -> list[Object]:
    spec = pod.get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _add_ref(ref: Object | None, names: set[str]) -> None:
    if ref and ref.get("name"):
        names.add(str(ref["name"]))
