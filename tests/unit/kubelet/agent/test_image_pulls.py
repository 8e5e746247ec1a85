"""A container's image before it starts: pull policy, pull secrets, back-off, events."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from steersman.api.errors import StatusError
from steersman.client import FakeClock, Resource
from steersman.kubelet.agent.downward import ContainerConfigError
from steersman.kubelet.agent.events import PodEventRecorder
from steersman.kubelet.agent.image_pulls import PodImages
from steersman.kubelet.images import Credential, ImageRecord, ImageStore, PullError
from steersman.kubelet.images.manifests import Descriptor
from tests.unit.kubelet.agent.builders import container, pod
from tests.unit.kubelet.agent.fake_runtime import FakeRuntime
from tests.unit.kubelet.fake_api import FakeAPI

Object = dict[str, Any]
IMAGE = "reg.local:5000/team/app:v1"
DIGEST = "sha256:" + "ab" * 32


class API(FakeAPI):
    """FakeAPI whose GET of a missing object is a 404, as the API server answers."""

    async def get(self, resource: Resource, name: str, **options: Any) -> Object:
        if (resource.plural, name) not in self.objects:
            await self._enter("get", resource, name)
            raise StatusError(404, "NotFound", f'{resource.plural} "{name}" not found')
        return await super().get(resource, name, **options)

    def put(self, plural: str, obj: Object) -> None:
        self.objects[(plural, obj["metadata"]["name"])] = obj

    def events(self) -> list[Object]:
        return [o for (plural, _), o in self.objects.items() if plural == "events"]


class Puller:
    """Answers with a record whose config (``User: www``) is in the store; no layers."""

    def __init__(self, store: ImageStore) -> None:
        self.calls: list[tuple[str, tuple[Credential, ...]]] = []
        self.error: str = ""
        self._config = store.blobs.put(json.dumps({"config": {"User": "www"}}).encode())

    async def pull(self, image: str, *, credentials: Sequence[Credential] = ()) -> ImageRecord:
        self.calls.append((image, tuple(credentials)))
        if self.error:
            raise PullError(image, self.error, unauthorized=True)
        return ImageRecord(name=IMAGE, digest=DIGEST, manifest_digest=DIGEST, media_type="",
                           config_digest=self._config, layers=(Descriptor("", DIGEST, 1),),
                           size=5, created=0, last_used=0)


def _secret(name: str, user: str) -> Object:
    auth = base64.b64encode(f"{user}:pw".encode()).decode()
    config = json.dumps({"auths": {"reg.local:5000": {"auth": auth}}}).encode()
    return {"metadata": {"name": name, "namespace": "ns"},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64.b64encode(config).decode()}}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[PodImages, API, Puller, FakeClock]:
    clock, api, store = FakeClock(), API(), ImageStore(tmp_path)
    puller = Puller(store)
    events = PodEventRecorder(api, node_name="n1", clock=clock)  # type: ignore[arg-type]
    images = PodImages(api, FakeRuntime(clock), store,  # type: ignore[arg-type]
                       events=events, clock=clock, puller=puller)
    return images, api, puller, clock


async def test_pulls_with_the_pods_secret_and_records_events(setup: Any) -> None:
    images, api, puller, _clock = setup
    api.put("secrets", _secret("regcred", "alice"))
    spec = container("app", image=IMAGE)
    pulled = await images.ensure(pod(spec, imagePullSecrets=[{"name": "regcred"}]), spec)
    assert (pulled.ref, pulled.user) == (f"reg.local:5000/team/app@{DIGEST}", "www")
    assert [(image, [c.username for c in creds]) for image, creds in puller.calls] == \
        [(IMAGE, ["alice"])]
    reasons = [(e["type"], e["reason"]) for e in api.events()]
    assert reasons == [("Normal", "Pulling"), ("Normal", "Pulled")]
    pulling = api.events()[0]
    assert pulling["message"] == f'Pulling image "{IMAGE}"'
    assert pulling["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert pulling["source"] == {"component": "kubelet", "host": "n1"}


async def test_without_pod_secrets_the_service_accounts_are_used(setup: Any) -> None:
    images, api, puller, _clock = setup
    api.put("secrets", _secret("sa-cred", "bob"))
    api.put("serviceaccounts", {"metadata": {"name": "builder", "namespace": "ns"},
                                "imagePullSecrets": [{"name": "sa-cred"}]})
    spec = container("app", image=IMAGE)
    await images.ensure(pod(spec, serviceAccountName="builder"), spec)
    assert [c.username for c in puller.calls[0][1]] == ["bob"]


async def test_a_missing_secret_warns_and_pulls_anyway(setup: Any) -> None:
    images, api, puller, _clock = setup
    spec = container("app", image=IMAGE)
    await images.ensure(pod(spec, imagePullSecrets=[{"name": "gone"}]), spec)
    assert puller.calls == [(IMAGE, ())]
    warning = next(e for e in api.events() if e["reason"] == "FailedToRetrieveImagePullSecret")
    assert warning["type"] == "Warning" and "(gone)" in warning["message"]


async def test_failed_pull_then_back_off_then_retry(setup: Any) -> None:
    images, api, puller, clock = setup
    puller.error = "unauthorized: authentication required"
    spec = container("app", image=IMAGE)
    with pytest.raises(ContainerConfigError) as failed:
        await images.ensure(pod(spec), spec)
    assert failed.value.reason == "ErrImagePull"
    assert failed.value.message == (f'failed to pull image "{IMAGE}": '
                                    "unauthorized: authentication required")
    with pytest.raises(ContainerConfigError) as backing_off:
        await images.ensure(pod(spec), spec)
    assert backing_off.value.reason == "ImagePullBackOff"
    assert backing_off.value.message == f'Back-off pulling image "{IMAGE}"'
    assert len(puller.calls) == 1
    clock.advance(10)
    puller.error = ""
    await images.ensure(pod(spec), spec)
    assert len(puller.calls) == 2
    reasons = [e["reason"] for e in api.events()]
    assert reasons.count("Failed") == 1 and "BackOff" in reasons


@pytest.mark.parametrize(("image", "policy", "reason", "message"), [
    (IMAGE, "Never", "ErrImageNeverPull",
     f'Container image "{IMAGE}" is not present with pull policy of Never'),
    ("UPPER/Case::bad", None, "InvalidImageName", "invalid reference format"),
    (IMAGE, "Sometimes", "CreateContainerConfigError", "unsupported imagePullPolicy"),
])
async def test_images_that_cannot_be_pulled(setup: Any, image: str, policy: str | None,
                                            reason: str, message: str) -> None:
    images, api, puller, _clock = setup
    spec = container("app", image=image, imagePullPolicy=policy)
    with pytest.raises(ContainerConfigError, match=message) as refused:
        await images.ensure(pod(spec), spec)
    assert refused.value.reason == reason
    assert puller.calls == []
    assert api.count("get", "serviceaccounts") == 0  # no pull, so no pull secrets read


async def test_repeated_events_are_aggregated(setup: Any) -> None:
    _images, api, _puller, clock = setup
    events = PodEventRecorder(api, node_name="n1", clock=clock, min_interval=10)
    subject = pod(container("app"))
    for _ in range(3):
        await events.event(subject, "app", "Normal", "BackOff", "Back-off pulling image")
    assert api.count("create", "events") == 1 and api.count("patch", "events") == 0
    clock.advance(10)
    await events.event(subject, "app", "Normal", "BackOff", "Back-off pulling image")
    assert api.count("patch", "events") == 1
