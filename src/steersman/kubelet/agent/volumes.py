"""A pod's volumes as host directories, and the mounts each container gets.

Every volume lives at ``<pod dir>/volumes/<name>`` except hostPath, which is the host path,
and persistentVolumeClaim, which is the path of the claim's bound volume:

* emptyDir — a directory; ``medium: Memory`` mounts a tmpfs (with ``sizeLimit``) when the
  agent runs as root and is a plain directory otherwise (the process runtime has no mount
  namespace to hide it in, and an unprivileged user cannot mount);
* configMap, secret, downwardAPI, projected — files written by
  :func:`~.atomic_writer.write_payload` with ``items``, ``defaultMode``/``mode`` and
  ``optional`` honoured; the worker calls :meth:`VolumeManager.setup` on every resync,
  so updates to the sources reach running containers within a resync period;
* persistentVolumeClaim — the ``hostPath`` or ``local`` directory of the PersistentVolume
  the claim is bound to (what the local-path provisioner makes), read through the API; a
  claim that is missing or not bound yet keeps the pod ``ContainerCreating`` with the
  reason in its message, retried every resync, as the kubelet waits for a volume to mount;
  other volume kinds (nfs, csi, …) are refused with a clear message;
* projected ``serviceAccountToken`` — a token from the TokenRequest API
  (:class:`TokenSource`), bound to the pod, refreshed at 80 % of its lifetime.

With the process runtime there is no mount namespace: a container sees each volume at its
host path, and the runtime tells it where through the mounts it is given (see
:mod:`steersman.kubelet.runtime`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from steersman.api.volumes import local_path
from steersman.kubelet.agent.atomic_writer import write_payload
from steersman.kubelet.agent.cri import Mount
from steersman.kubelet.agent.downward import (
    ContainerConfigError,
    field_value,
    resource_value,
)
from steersman.kubelet.agent.env import EnvInputs, configmap_data, secret_data

Object = dict[str, Any]
Payload = dict[str, tuple[bytes, int]]
_DEFAULT_MODE = 0o644
CONTAINER_CREATING = "ContainerCreating"
_KNOWN_SOURCES = ("nfs", "csi", "iscsi", "fc", "rbd", "cephfs", "cinder", "flexVolume",
                  "azureFile", "azureDisk", "gcePersistentDisk", "awsElasticBlockStore",
                  "glusterfs", "vsphereVolume", "portworxVolume")


class TokenSource(Protocol):
    """Service-account tokens for pods (the TokenRequest API, cached)."""

    async def token(self, pod: Object, *, audience: str, expiration_seconds: int) -> str: ...


class VolumeManager:
    """Sets up and tears down the volumes of pods under ``root`` (``<data dir>/pods``)."""

    def __init__(self, root: Path, tokens: TokenSource) -> None:
        self._root = root
        self._tokens = tokens

    def pod_dir(self, uid: str) -> Path:
        return self._root / uid

    async def setup(self, pod: Object, inputs: EnvInputs) -> dict[str, Path]:
        """Create or refresh every volume; their host paths by volume name."""
        paths: dict[str, Path] = {}
        uid = str(pod["metadata"]["uid"])
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            name = str(volume["name"])
            if "hostPath" in volume:
                paths[name] = _host_path(volume["hostPath"])
                continue
            if "persistentVolumeClaim" in volume:
                paths[name] = _claim_path(volume["persistentVolumeClaim"], inputs)
                continue
            path = self.pod_dir(uid) / "volumes" / name
            payload = await self._payload(pod, volume, inputs)
            if payload is None:
                _empty_dir(path, volume.get("emptyDir") or {})
            else:
                write_payload(path, payload)
            paths[name] = path
        return paths

    def teardown(self, uid: str) -> None:
        """Remove the pod's directory (unmounting memory-backed emptyDirs first)."""
        volumes = self.pod_dir(uid) / "volumes"
        if volumes.is_dir() and os.geteuid() == 0:
            for path in volumes.iterdir():
                if path.is_mount():
                    subprocess.run(["umount", str(path)], check=False, capture_output=True)
        shutil.rmtree(self.pod_dir(uid), ignore_errors=True)

    async def _payload(self, pod: Object, volume: Object, inputs: EnvInputs) -> Payload | None:
        if "emptyDir" in volume:
            return None
        if "configMap" in volume:
            return _keyed(volume["configMap"], inputs.configmaps, "configmap", configmap_data)
        if "secret" in volume:
            source = {**volume["secret"], "name": volume["secret"].get("secretName")}
            return _keyed(source, inputs.secrets, "secret", secret_data)
        if "downwardAPI" in volume:
            return _downward(pod, volume["downwardAPI"], inputs)
        if "projected" in volume:
            return await self._projected(pod, volume["projected"], inputs)
        raise ContainerConfigError(f"volume {volume.get('name')!r}: unsupported volume type "
                                   f"{sorted(set(volume) - {'name'})}")

    async def _projected(self, pod: Object, projected: Object, inputs: EnvInputs) -> Payload:
        mode = int(projected.get("defaultMode", _DEFAULT_MODE))
        payload: Payload = {}
        for source in projected.get("sources") or []:
            if "serviceAccountToken" in source:
                payload.update(await self._token(pod, source["serviceAccountToken"], mode))
            elif "configMap" in source:
                payload.update(_keyed({"defaultMode": mode, **source["configMap"]},
                                      inputs.configmaps, "configmap", configmap_data) or {})
            elif "secret" in source:
                payload.update(_keyed({"defaultMode": mode, **source["secret"]},
                                      inputs.secrets, "secret", secret_data) or {})
            elif "downwardAPI" in source:
                payload.update(_downward(pod, {"defaultMode": mode, **source["downwardAPI"]},
                                         inputs))
        return payload

    async def _token(self, pod: Object, source: Object, mode: int) -> Payload:
        token = await self._tokens.token(
            pod, audience=str(source.get("audience") or ""),
            expiration_seconds=int(source.get("expirationSeconds") or 3600))
        return {str(source.get("path") or "token"): (token.encode(), mode)}


def container_mounts(container: Object, paths: Mapping[str, Path]) -> list[Mount]:
    """The container's volumeMounts as host paths (``subPath`` joined in)."""
    mounts: list[Mount] = []
    for mount in container.get("volumeMounts") or []:
        name = str(mount.get("name"))
        if name not in paths:
            raise ContainerConfigError(f"volume {name!r} of mount {mount.get('mountPath')!r} "
                                       f"is not a volume of the pod")
        host = paths[name] / str(mount["subPath"]) if mount.get("subPath") else paths[name]
        mounts.append(Mount(str(mount["mountPath"]), str(host), bool(mount.get("readOnly"))))
    return mounts


def _keyed(source: Object, objects: Mapping[str, Object], kind: str,
           decode: Any) -> Payload | None:
    found = objects.get(str(source.get("name")))
    mode = int(source.get("defaultMode", _DEFAULT_MODE))
    if found is None:
        if source.get("optional"):
            return {}
        raise ContainerConfigError(f'{kind} "{source.get("name")}" not found',
                                   reason="CreateContainerConfigError")
    data: dict[str, bytes] = decode(found)
    items = source.get("items")
    if not items:
        return {key: (value, mode) for key, value in data.items()}
    payload: Payload = {}
    for item in items:
        if item["key"] not in data:
            if source.get("optional"):
                continue
            raise ContainerConfigError(f"configuration key {item['key']!r} not found in "
                                       f"{kind} {source.get('name')!r}")
        payload[str(item["path"])] = (data[item["key"]], int(item.get("mode", mode)))
    return payload


def _downward(pod: Object, source: Object, inputs: EnvInputs) -> Payload:
    mode = int(source.get("defaultMode", _DEFAULT_MODE))
    payload: Payload = {}
    containers = {c.get("name"): c for c in (pod.get("spec") or {}).get("containers") or []}
    for item in source.get("items") or []:
        if item.get("fieldRef"):
            text = field_value(pod, str(item["fieldRef"]["fieldPath"]), inputs.addresses)
        else:
            ref = item.get("resourceFieldRef") or {}
            container = containers.get(ref.get("containerName")) or {}
            text = resource_value(container, str(ref.get("resource")),
                                  str(ref.get("divisor") or ""), inputs.allocatable)
        payload[str(item["path"])] = (text.encode(), int(item.get("mode", mode)))
    return payload


def _empty_dir(path: Path, source: Object) -> None:
    if path.is_dir():
        return
    path.mkdir(parents=True, mode=0o777)
    path.chmod(0o777)
    if source.get("medium") == "Memory" and os.geteuid() == 0:
        options = f"size={source['sizeLimit']}" if source.get("sizeLimit") else ""
        command = ["mount", "-t", "tmpfs", *(["-o", options] if options else []),
                   "tmpfs", str(path)]
        subprocess.run(command, check=True, capture_output=True)


def _claim_path(source: Object, inputs: EnvInputs) -> Path:
    """The bound volume's directory; waits (ContainerCreating) while the claim is unbound."""
    name = str(source.get("claimName"))
    claim = inputs.claims.get(name)
    if claim is None:
        raise ContainerConfigError(f'persistentvolumeclaim "{name}" not found',
                                   reason=CONTAINER_CREATING)
    volume_name = str((claim.get("spec") or {}).get("volumeName") or "")
    phase = str((claim.get("status") or {}).get("phase") or "Pending")
    if not volume_name or phase != "Bound":
        raise ContainerConfigError(f'waiting for persistentvolumeclaim "{name}" to be bound '
                                   f"(phase {phase})", reason=CONTAINER_CREATING)
    volume = inputs.persistent_volumes.get(volume_name)
    if volume is None:
        raise ContainerConfigError(f'persistentvolume "{volume_name}" of claim "{name}" not '
                                   f"found", reason=CONTAINER_CREATING)
    spec = volume.get("spec") or {}
    if spec.get("hostPath"):
        return _host_path(spec["hostPath"])
    if spec.get("local"):
        return _host_path({"path": local_path(volume), "type": "Directory"})
    kinds = sorted(set(spec) & set(_KNOWN_SOURCES)) or ["(none)"]
    raise ContainerConfigError(f'persistentvolume "{volume_name}": volume type {kinds[0]} '
                               f"cannot be mounted here; steersman mounts hostPath and local "
                               f"persistent volumes")


def _host_path(source: Object) -> Path:
    path, kind = Path(str(source["path"])), str(source.get("type") or "")
    if kind == "DirectoryOrCreate":
        path.mkdir(parents=True, exist_ok=True)
    elif kind == "FileOrCreate" and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    elif kind == "Directory" and not path.is_dir():
        raise ContainerConfigError(f"hostPath {path} is not a directory")
    elif kind == "File" and not path.is_file():
        raise ContainerConfigError(f"hostPath {path} is not a file")
    return path
