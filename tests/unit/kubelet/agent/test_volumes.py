"""Volume contents on disk: configMap items and modes, atomic updates, downward API, tokens."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from steersman.kubelet.agent.downward import ContainerConfigError, PodAddresses
from steersman.kubelet.agent.env import EnvInputs
from steersman.kubelet.agent.volumes import VolumeManager, container_mounts
from tests.unit.kubelet.agent.builders import container, pod

ADDRESSES = PodAddresses(node_name="n1", host_ip="127.42.200.1", pod_ip="127.42.200.7")


class Tokens:
    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    async def token(self, pod: dict[str, Any], *, audience: str, expiration_seconds: int) -> str:
        self.asked.append((audience, expiration_seconds))
        return f"token-for-{pod['metadata']['name']}"


def inputs(**configmaps: dict[str, str]) -> EnvInputs:
    return EnvInputs(addresses=ADDRESSES,
                     configmaps={name: {"data": data} for name, data in configmaps.items()},
                     secrets={"creds": {"data": {"user": base64.b64encode(b"admin").decode()}}})


async def test_configmap_items_modes_and_atomic_updates(tmp_path: Path) -> None:
    manager = VolumeManager(tmp_path, Tokens())
    spec = pod(volumes=[{"name": "cfg", "configMap": {
        "name": "app", "defaultMode": 0o600, "items": [{"key": "a", "path": "dir/a.txt"},
                                                       {"key": "b", "path": "b", "mode": 0o640}]}}])
    paths = await manager.setup(spec, inputs(app={"a": "one", "b": "two", "c": "unused"}))
    root = paths["cfg"]
    assert (root / "dir" / "a.txt").read_text() == "one"
    assert (root / "b").stat().st_mode & 0o777 == 0o640
    assert (root / "dir" / "a.txt").stat().st_mode & 0o777 == 0o600
    assert not (root / "c").exists() and (root / "..data").is_symlink()
    first = os.readlink(root / "..data")
    await manager.setup(spec, inputs(app={"a": "one", "b": "two"}))
    assert os.readlink(root / "..data") == first  # unchanged: nothing written
    await manager.setup(spec, inputs(app={"a": "ONE", "b": "two"}))
    assert (root / "dir" / "a.txt").read_text() == "ONE"
    assert os.readlink(root / "..data") != first
    assert len([p for p in root.iterdir() if p.name.startswith("..2")]) == 1


async def test_missing_configmap_fails_unless_optional(tmp_path: Path) -> None:
    manager = VolumeManager(tmp_path, Tokens())
    spec = pod(volumes=[{"name": "cfg", "configMap": {"name": "absent"}}])
    with pytest.raises(ContainerConfigError, match='configmap "absent" not found'):
        await manager.setup(spec, inputs())
    optional = pod(volumes=[{"name": "cfg", "configMap": {"name": "absent", "optional": True}}])
    assert (await manager.setup(optional, inputs()))["cfg"].is_dir()


async def test_secret_downward_projected_empty_dir_and_host_path(tmp_path: Path) -> None:
    tokens = Tokens()
    manager = VolumeManager(tmp_path / "pods", tokens)
    host = tmp_path / "host"
    spec = pod(container("app", resources={"limits": {"cpu": "500m"}}), volumes=[
        {"name": "s", "secret": {"secretName": "creds"}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "ip", "fieldRef": {"fieldPath": "status.podIP"}},
            {"path": "cpu", "resourceFieldRef": {"containerName": "app",
                                                 "resource": "limits.cpu", "divisor": "1m"}}]}},
        {"name": "sa", "projected": {"sources": [
            {"serviceAccountToken": {"audience": "api", "expirationSeconds": 600,
                                     "path": "token"}},
            {"configMap": {"name": "app"}}]}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "data", "hostPath": {"path": str(host), "type": "DirectoryOrCreate"}}])
    paths = await manager.setup(spec, inputs(app={"k": "v"}))
    assert (paths["s"] / "user").read_text() == "admin"
    assert (paths["info"] / "labels").read_text() == 'app="web"'
    assert (paths["info"] / "ip").read_text() == "127.42.200.7"
    assert (paths["info"] / "cpu").read_text() == "500"
    assert (paths["sa"] / "token").read_text() == "token-for-web"
    assert (paths["sa"] / "k").read_text() == "v"
    assert tokens.asked == [("api", 600)]
    assert paths["scratch"].is_dir() and paths["data"] == host and host.is_dir()
    mounts = container_mounts({"volumeMounts": [
        {"name": "s", "mountPath": "/etc/creds", "readOnly": True},
        {"name": "scratch", "mountPath": "/work", "subPath": "sub"}]}, paths)
    assert [(m.container_path, m.host_path, m.read_only) for m in mounts] == [
        ("/etc/creds", str(paths["s"]), True), ("/work", str(paths["scratch"] / "sub"), False)]
    manager.teardown("uid-1")
    assert not (tmp_path / "pods" / "uid-1").exists() and host.is_dir()


def claim_inputs(claim: dict[str, Any] | None, volume: dict[str, Any] | None) -> EnvInputs:
    return EnvInputs(addresses=ADDRESSES, claims={"data": claim} if claim else {},
                     persistent_volumes={"pv-1": volume} if volume else {})


async def test_claim_volume_is_its_bound_volumes_directory(tmp_path: Path) -> None:
    manager = VolumeManager(tmp_path / "pods", Tokens())
    spec = pod(volumes=[{"name": "store", "persistentVolumeClaim": {"claimName": "data"}}])
    waits = [(None, None, 'persistentvolumeclaim "data" not found'),
             ({"spec": {}, "status": {"phase": "Pending"}}, None,
              'waiting for persistentvolumeclaim "data" to be bound \\(phase Pending\\)'),
             ({"spec": {"volumeName": "pv-1"}, "status": {"phase": "Bound"}}, None,
              'persistentvolume "pv-1" of claim "data" not found')]
    for claim, volume, message in waits:
        with pytest.raises(ContainerConfigError, match=message) as caught:
            await manager.setup(spec, claim_inputs(claim, volume))
        assert caught.value.reason == "ContainerCreating"
    bound = {"spec": {"volumeName": "pv-1"}, "status": {"phase": "Bound"}}
    directory = tmp_path / "volumes" / "pv-1"
    volume = {"spec": {"hostPath": {"path": str(directory), "type": "DirectoryOrCreate"}}}
    paths = await manager.setup(spec, claim_inputs(bound, volume))
    assert paths == {"store": directory} and directory.is_dir()
    nfs = {"spec": {"nfs": {"server": "127.0.0.1", "path": "/x"}}}
    with pytest.raises(ContainerConfigError, match="volume type nfs cannot be mounted here"):
        await manager.setup(spec, claim_inputs(bound, nfs))
