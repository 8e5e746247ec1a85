from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from steersman.client import FakeClock
from steersman.kubelet.images.credentials import Credential
from steersman.kubelet.images.errors import PullError
from steersman.kubelet.images.manager import ImageManager
from steersman.kubelet.images.manifests import Descriptor, Manifest
from steersman.kubelet.images.policy import (
    Decision,
    PullBackoff,
    PullPolicy,
    decide,
    default_pull_policy,
    pull_policy,
)
from steersman.kubelet.images.store import ImageRecord, ImageStore


@pytest.mark.parametrize(("image", "policy"), [
    ("busybox", PullPolicy.ALWAYS), ("busybox:latest", PullPolicy.ALWAYS),
    ("localhost:5000/app", PullPolicy.ALWAYS), ("busybox:1.36", PullPolicy.IF_NOT_PRESENT),
    ("localhost:5000/app:v1", PullPolicy.IF_NOT_PRESENT),
    ("app@sha256:" + "a" * 64, PullPolicy.IF_NOT_PRESENT),
])
def test_default_policy(image: str, policy: PullPolicy) -> None:
    assert default_pull_policy(image) is policy
    assert pull_policy(image, "") is policy
    assert pull_policy(image, "Never") is PullPolicy.NEVER


def test_unknown_policy_is_loud() -> None:
    with pytest.raises(ValueError, match="unsupported imagePullPolicy 'Sometimes'"):
        pull_policy("busybox", "Sometimes")


@pytest.mark.parametrize(("policy", "present", "decision"), [
    (PullPolicy.ALWAYS, True, Decision.PULL), (PullPolicy.IF_NOT_PRESENT, True,
                                               Decision.USE_PRESENT),
    (PullPolicy.IF_NOT_PRESENT, False, Decision.PULL), (PullPolicy.NEVER, True,
                                                        Decision.USE_PRESENT),
    (PullPolicy.NEVER, False, Decision.NEVER_PULL),
])
def test_decide(policy: PullPolicy, present: bool, decision: Decision) -> None:
    assert decide(policy, present=present) is decision


def test_backoff_doubles_caps_and_resets() -> None:
    clock = FakeClock()
    backoff = PullBackoff(clock=clock)
    assert not backoff.in_backoff("k")
    assert [backoff.failed("k") for _ in range(7)] == [10, 20, 40, 80, 160, 300, 300]
    assert backoff.in_backoff("k")
    clock.advance(300)
    assert not backoff.in_backoff("k")
    clock.advance(301)
    assert backoff.failed("k") == 10


class _FakePuller:
    def __init__(self, store: ImageStore, fail: bool) -> None:
        self.store, self.fail, self.calls = store, fail, 0

    async def pull(self, image: str, *,
                   credentials: Sequence[Credential] = ()) -> ImageRecord:
        self.calls += 1
        if self.fail:
            raise PullError(image, "manifest unknown")
        config = self.store.blobs.put(b"{}")
        digest = self.store.blobs.put(b'{"m":1}')
        manifest = Manifest("application/vnd.oci.image.manifest.v1+json",
                            Descriptor("application/vnd.oci.image.config.v1+json", config, 2), ())
        return self.store.add(image, digest=digest, manifest=manifest)


async def test_manager_reasons_and_events(tmp_path: Path) -> None:
    clock = FakeClock()
    store = ImageStore(tmp_path)
    failing = ImageManager(store=store, puller=_FakePuller(store, fail=True), clock=clock)
    first = await failing.ensure("r.example/app:v1", pull_policy=PullPolicy.IF_NOT_PRESENT,
                                 backoff_key="uid/r.example/app:v1")
    assert first.reason == "ErrImagePull"
    assert first.message == 'failed to pull image "r.example/app:v1": manifest unknown'
    assert first.events[-1].message == ('Failed to pull image "r.example/app:v1": '
                                        "manifest unknown")
    second = await failing.ensure("r.example/app:v1", pull_policy=PullPolicy.IF_NOT_PRESENT,
                                  backoff_key="uid/r.example/app:v1")
    assert (second.reason, second.message) == ("ImagePullBackOff",
                                               'Back-off pulling image "r.example/app:v1"')
    never = await failing.ensure("r.example/app:v1", pull_policy=PullPolicy.NEVER,
                                 backoff_key="k")
    assert never.reason == "ErrImageNeverPull"
    assert never.message == ('Container image "r.example/app:v1" is not present with pull '
                             "policy of Never")
    invalid = await failing.ensure("Bad Name", pull_policy=PullPolicy.ALWAYS, backoff_key="k")
    assert invalid.reason == "InvalidImageName"
    working = ImageManager(store=store, puller=_FakePuller(store, fail=False), clock=clock)
    pulled = await working.ensure("r.example/app:v1", pull_policy=PullPolicy.IF_NOT_PRESENT,
                                  backoff_key="other")
    assert pulled.record is not None and pulled.reason == ""
    assert [e.reason for e in pulled.events] == ["Pulling", "Pulled"]
    present = await working.ensure("r.example/app:v1", pull_policy=PullPolicy.IF_NOT_PRESENT,
                                   backoff_key="other")
    assert present.events[0].message == ('Container image "r.example/app:v1" already '
                                         "present on machine")
