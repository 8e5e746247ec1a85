"""``runAsNonRoot`` against runAsUser and the image's User, with upstream's messages."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.kubelet.agent.downward import ContainerConfigError
from steersman.kubelet.agent.nonroot import verify_run_as_non_root
from tests.unit.kubelet.agent.builders import container, pod


@pytest.mark.parametrize(("pod_context", "context", "image_user"), [
    ({}, {}, ""),  # not asked for: root is fine
    ({"runAsNonRoot": True}, {}, "1000"),
    ({"runAsNonRoot": True}, {}, "1000:0"),
    ({}, {"runAsNonRoot": True, "runAsUser": 1000}, ""),
    ({"runAsNonRoot": True}, {"runAsNonRoot": False}, "root"),  # the container's wins
])
def test_allowed(pod_context: dict[str, Any], context: dict[str, Any], image_user: str) -> None:
    spec = container("app", securityContext=context)
    verify_run_as_non_root(pod(spec, securityContext=pod_context), spec, image_user)


@pytest.mark.parametrize(("context", "image_user", "message"), [
    ({"runAsNonRoot": True}, "", "image will run as root"),
    ({"runAsNonRoot": True}, "0:1000", "image will run as root"),
    ({"runAsNonRoot": True}, "www", r"image has non-numeric user \(www\), cannot verify"),
    ({"runAsNonRoot": True, "runAsUser": 0}, "1000", "runAsUser breaks non-root policy"),
])
def test_refused(context: dict[str, Any], image_user: str, message: str) -> None:
    spec = container("app", securityContext=context)
    with pytest.raises(ContainerConfigError, match=message) as refused:
        verify_run_as_non_root(pod(spec), spec, image_user)
    assert refused.value.reason == "CreateContainerConfigError"
    assert '(pod: "web_ns", container: app)' in refused.value.message
