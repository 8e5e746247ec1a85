"""`steersman up --runtime crun`: real OCI containers from an image pulled by the node.

One cluster for the module. A busybox image is built from Debian's busybox-static (with an
Entrypoint, Cmd, Env and WorkingDir of its own), pushed to Debian's docker-registry on
127.0.0.1 behind htpasswd basic auth, and pulled by the node agent with a pod's
imagePullSecret. The containers' exit codes say what ran inside them: the image config
under Kubernetes' command/args rules, the cgroup limits from requests and limits, and an
exceeded memory limit (OOMKilled, 137). A wrong secret shows ErrImagePull, then
ImagePullBackOff, with the registry's reason. ``kubectl attach -i`` feeds a stdinOnce
container's stdin through conmon's attach socket.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes import client, config, watch

from steersman.kubelet.runtime.registry import new_runtime
from tests.e2e.harness import ServerProcess
from tests.integration.image_fixtures import (
    PASSWORD,
    USER,
    BuiltImage,
    build_image,
    busybox_rootfs,
    push,
    run_registry,
    sha256,
)
from tests.tools import need_tool, required_everything

IMAGE_CONFIG = {"Entrypoint": ["sh", "-c"], "Cmd": ["exit 7"], "WorkingDir": "/etc",
                "Env": ["PATH=/bin", "GREETING=from-image"]}
REPOSITORY = "e2e/busybox"


class Cluster:
    def __init__(self, server: ServerProcess, registry: str, image: BuiltImage) -> None:
        self.server = server
        self.registry = registry
        self.image = image

    def kubectl(self, *args: str, input: str | None = None) -> str:
        return self.server.kubectl(*args, input=input).stdout

    def pod(self, name: str) -> dict[str, Any]:
        return dict(json.loads(self.kubectl("get", "pod", name, "-o", "json")))

    def wait_pod(self, name: str, condition: Callable[[dict[str, Any]], bool],
                 what: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            pod = self.pod(name)
            if condition(pod):
                return pod
            assert time.monotonic() < deadline, (
                f"pod {name}: {what} not reached within {timeout}s; status: "
                f"{json.dumps(pod.get('status'))}\n{self.server.log_tail()}")
            time.sleep(0.3)

    def events(self, pod: str) -> list[dict[str, Any]]:
        out = self.kubectl("get", "events", "--field-selector", f"involvedObject.name={pod}",
                           "-o", "json")
        return list(json.loads(out)["items"])


def _need_root() -> None:
    if os.geteuid() != 0:
        message = "crun containers need root"
        if required_everything():
            pytest.fail(message + "; STEERSMAN_REQUIRE=all forbids skipping", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _need_root()
    need_tool("crun", "apt install crun")
    busybox = need_tool("busybox", "the test image is Debian's busybox-static")
    registry_binary = need_tool("docker-registry", "apt install docker-registry")
    base = tmp_path_factory.mktemp("crun")
    image = build_image(busybox_rootfs(busybox, base / "rootfs"), image_config=IMAGE_CONFIG)
    (base / "registry").mkdir()
    registries = run_registry(registry_binary, base / "registry", auth=True)
    registry = next(registries)
    try:
        asyncio.run(_push(registry, image))
        server = _start_up(base / "cluster")
        try:
            running = Cluster(server, registry, image)
            _secret(running, "regcred", PASSWORD)
            yield running
        finally:
            server.stop()
            asyncio.run(_remove_containers(base / "cluster" / "nodes" / "c-node-0" / "runtime"))
    finally:
        registries.close()
        leaked = _unmount_leftovers(base)
    assert not leaked, f"rootfs mounts left behind: {leaked}"


async def _push(registry: str, image: BuiltImage) -> None:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    async with aiohttp.ClientSession() as session:
        for tag in ("v1", "v2"):
            await push(session, f"http://{registry}", REPOSITORY, tag, image,
                       headers={"Authorization": f"Basic {auth}"})


def _start_up(data_dir: Path) -> ServerProcess:
    data_dir.mkdir()
    log_path = data_dir.parent / "up.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "steersman", "up", "--port", "0", "--data-dir",
             str(data_dir), "--name", "c", "--runtime", "crun"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = ServerProcess(data_dir, process, log_path)
    deadline = time.monotonic() + 60
    while "export KUBECONFIG=" not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"steersman up did not come up:\n{server.log_tail()}")
        time.sleep(0.1)
    server.kubectl("wait", "--for=condition=Ready", "node/c-node-0", "--timeout=60s")
    return server


async def _remove_containers(state_dir: Path) -> None:
    """Remove what the node left running: containers, rootfs mounts, cgroups."""
    runtime = new_runtime("crun", state_dir=state_dir)
    for sandbox in await runtime.list_sandboxes():
        await runtime.remove_sandbox(sandbox.id)


def _unmount_leftovers(base: Path) -> list[str]:
    """Unmount (lazily) any mount still under ``base``; the list says what had leaked."""
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    leaked = [m for m in mounts if m.startswith(f"{base}/")]
    for mount in sorted(leaked, reverse=True):
        subprocess.run(["umount", "-l", mount], check=False)
    return leaked


def _secret(cluster: Cluster, name: str, password: str) -> None:
    cluster.kubectl("create", "secret", "docker-registry", name,
                    f"--docker-server={cluster.registry}", f"--docker-username={USER}",
                    f"--docker-password={password}")


def _pod(name: str, image: str, containers: list[dict[str, Any]], *,
         secret: str) -> str:
    for container in containers:
        container.setdefault("image", image)
    return json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "imagePullSecrets": [{"name": secret}],
                 "terminationGracePeriodSeconds": 1, "containers": containers}})


def _terminated(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return {s["name"]: s["state"]["terminated"] for s in statuses
            if "terminated" in s.get("state", {})}


LIMITS_CHECK = (
    "grep -qx 67108864 /sys/fs/cgroup/memory/memory.limit_in_bytes || exit 11; "
    "grep -qx 50000 /sys/fs/cgroup/cpu/cpu.cfs_quota_us || exit 12; "
    "grep -qx 512 /sys/fs/cgroup/cpu/cpu.shares || exit 13; exit 4")


def test_pod_runs_the_pulled_image_under_kubernetes_rules(cluster: Cluster) -> None:
    image = f"{cluster.registry}/{REPOSITORY}:v1"
    limits = {"cpu": "500m", "memory": "64Mi"}
    containers = [
        {"name": "image-defaults"},  # Entrypoint + Cmd: exit 7
        {"name": "args", "args": [  # Entrypoint + args; the image's Env and WorkingDir
            'test "$GREETING" = from-image && test "$PWD" = /etc && exit 5']},
        {"name": "command",  # replaces the Entrypoint and drops Cmd: no extra argument
         "command": ["/bin/busybox", "sh", "-c", "exit $(( $# + 3 ))", "arg0"]},
        {"name": "limits", "args": [LIMITS_CHECK],
         "resources": {"requests": limits, "limits": limits}},
    ]
    cluster.kubectl("apply", "-f", "-", input=_pod("imaged", image, containers,
                                                   secret="regcred"))
    pod = cluster.wait_pod("imaged", lambda p: len(_terminated(p)) == 4, "four exits")
    exits = {name: state["exitCode"] for name, state in _terminated(pod).items()}
    assert exits == {"image-defaults": 7, "args": 5, "command": 3, "limits": 4}
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["qosClass"] == "Burstable"
    digest = sha256(cluster.image.manifest)
    for status in pod["status"]["containerStatuses"]:
        assert status["image"] == image
        assert status["imageID"] == f"{cluster.registry}/{REPOSITORY}@{digest}"
        assert status["containerID"].startswith("crun://")
    reasons = [e["reason"] for e in cluster.events("imaged")]
    assert "Pulling" in reasons and "Pulled" in reasons, reasons


def test_wrong_secret_shows_err_image_pull_then_back_off(cluster: Cluster) -> None:
    _secret(cluster, "badcred", "wrong-password")
    image = f"{cluster.registry}/{REPOSITORY}:v2"
    containers = [{"name": "main", "imagePullPolicy": "Always"}]
    seen = _create_and_watch(cluster, json.loads(_pod("denied", image, containers,
                                                     secret="badcred")),
                             {"ErrImagePull", "ImagePullBackOff"})
    assert seen["ErrImagePull"] == (f'failed to pull image "{image}": '
                                    "unauthorized: authentication required")
    assert seen["ImagePullBackOff"] == f'Back-off pulling image "{image}"'
    shown = cluster.kubectl("get", "pod", "denied", "--no-headers").split()[2]
    assert shown in ("ErrImagePull", "ImagePullBackOff")
    failed = [e for e in cluster.events("denied") if e["reason"] == "Failed"]
    assert failed and "unauthorized" in failed[0]["message"]
    assert failed[0]["type"] == "Warning"


def _create_and_watch(cluster: Cluster, pod: dict[str, Any],
                      wanted: set[str]) -> dict[str, str]:
    """Create ``pod`` with the kubernetes client and watch it from its creation until every
    waiting reason in ``wanted`` was seen (each can be short-lived); reason -> message."""
    api = client.CoreV1Api(config.new_client_from_config(
        config_file=str(cluster.server.kubeconfig)))
    created = api.create_namespaced_pod("default", pod)
    seen: dict[str, str] = {}
    stream = watch.Watch().stream(
        api.list_namespaced_pod, "default", timeout_seconds=40,
        field_selector=f"metadata.name={pod['metadata']['name']}",
        resource_version=created.metadata.resource_version)
    for event in stream:
        for status in event["object"].status.container_statuses or []:
            waiting = status.state.waiting
            if waiting is not None and waiting.reason in wanted:
                seen[waiting.reason] = waiting.message or ""
        if set(seen) == wanted:
            break
    api.api_client.close()
    assert set(seen) == wanted, f"waiting reasons seen: {seen}\n{cluster.server.log_tail()}"
    return seen


def test_exceeding_the_memory_limit_is_oom_killed(cluster: Cluster) -> None:
    image = f"{cluster.registry}/{REPOSITORY}:v1"
    limits = {"memory": "32Mi"}
    containers = [{"name": "hog", "resources": {"limits": limits},
                   "args": ['x=$(head -c 200000000 /dev/zero | tr "\\0" a); exit 0']}]
    cluster.kubectl("apply", "-f", "-", input=_pod("hog", image, containers,
                                                   secret="regcred"))
    pod = cluster.wait_pod("hog", lambda p: "hog" in _terminated(p), "an exit")
    assert _terminated(pod)["hog"]["reason"] == "OOMKilled"
    assert _terminated(pod)["hog"]["exitCode"] == 137
    assert pod["status"]["phase"] == "Failed"
    assert cluster.kubectl("get", "pod", "hog", "--no-headers").split()[2] == "OOMKilled"



def test_containers_that_cannot_start_wait_with_the_reason(cluster: Cluster) -> None:
    image = f"{cluster.registry}/{REPOSITORY}:v1"
    containers = [{"name": "missing", "command": ["/usr/bin/not-in-the-image"]},
                  {"name": "root", "securityContext": {"runAsNonRoot": True}}]
    cluster.kubectl("apply", "-f", "-", input=_pod("refused", image, containers,
                                                   secret="regcred"))

    def waiting(pod: dict[str, Any]) -> dict[str, dict[str, str]]:
        return {s["name"]: s["state"]["waiting"]
                for s in pod.get("status", {}).get("containerStatuses") or []
                if (s.get("state", {}).get("waiting") or {}).get("reason")
                not in (None, "ContainerCreating")}

    pod = cluster.wait_pod("refused", lambda p: len(waiting(p)) == 2, "two refusals")
    missing, root = waiting(pod)["missing"], waiting(pod)["root"]
    assert missing["reason"] == "CreateContainerError"
    assert "/usr/bin/not-in-the-image" in missing["message"]
    assert root == {"reason": "CreateContainerConfigError",
                    "message": "container has runAsNonRoot and image will run as root "
                               '(pod: "refused_default", container: root)'}


def test_attach_feeds_stdin_through_conmon(cluster: Cluster) -> None:
    image = f"{cluster.registry}/{REPOSITORY}:v1"
    containers = [{"name": "cat", "args": ["cat"], "stdin": True, "stdinOnce": True}]
    cluster.kubectl("apply", "-f", "-", input=_pod("cat", image, containers,
                                                   secret="regcred"))
    cluster.wait_pod("cat", lambda p: p.get("status", {}).get("phase") == "Running",
                     "Running")
    assert cluster.kubectl("attach", "-i", "cat", input="hello\n") == "hello\n"
    pod = cluster.wait_pod("cat", lambda p: "cat" in _terminated(p), "an exit")
    assert _terminated(pod)["cat"]["exitCode"] == 0
