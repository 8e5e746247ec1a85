"""One instance's runtime config: the pulled image, cgroup limits, runAsUser/runAsGroup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from steersman.kubelet.agent.containers import container_config
from steersman.kubelet.agent.cri import Resources
from steersman.kubelet.agent.downward import PodAddresses
from steersman.kubelet.agent.env import EnvInputs
from steersman.kubelet.agent.runtime_adapter import runtime_config
from steersman.kubelet.runtime.interface import User
from tests.unit.kubelet.agent.builders import container, pod

INPUTS = EnvInputs(addresses=PodAddresses(node_name="n1", host_ip="127.42.200.1",
                                          pod_ip="127.42.200.7"))


def _config_of(spec: dict[str, Any], **pod_spec: Any) -> Any:
    return container_config(pod(spec, **pod_spec), spec, restart_count=0, inputs=INPUTS,
                            volume_paths={}, log_dir=Path("/logs"),
                            image_ref="reg.local/app@sha256:" + "0" * 64)


def test_image_ref_and_limits_reach_the_runtime() -> None:
    limits = {"cpu": "250m", "memory": "128Mi"}
    config = _config_of(container("app", resources={"limits": limits}))
    assert config.image_ref == "reg.local/app@sha256:" + "0" * 64
    assert config.resources == Resources(cpu_shares=256, cpu_quota=25_000, cpu_period=100_000,
                                         memory_limit=128 << 20)
    runtime = runtime_config(config, attempt=0)
    assert runtime.image.image_ref == config.image_ref and runtime.image.image == "busybox"
    assert (runtime.resources.cpu_shares, runtime.resources.cpu_quota,
            runtime.resources.memory_limit) == (256, 25_000, 128 << 20)
    assert runtime.user is None  # no securityContext: the image's User applies


@pytest.mark.parametrize(("pod_context", "context", "expected"), [
    ({}, {}, None),
    ({"runAsUser": 1000}, {}, User(1000, 0)),
    ({"runAsUser": 1000, "runAsGroup": 3000}, {"runAsUser": 2000}, User(2000, 3000)),
    ({}, {"runAsUser": 0, "runAsGroup": 5}, User(0, 5)),
])
def test_run_as_user_container_over_pod(pod_context: dict[str, int], context: dict[str, int],
                                        expected: User | None) -> None:
    config = _config_of(container("app", securityContext=context),
                        securityContext=pod_context)
    assert runtime_config(config, attempt=0).user == expected
