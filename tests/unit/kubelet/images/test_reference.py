from __future__ import annotations

import pytest

from steersman.kubelet.images.errors import InvalidReference
from steersman.kubelet.images.reference import normalize, parse_reference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(("image", "expected"), [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/user/app:v2", "docker.io/user/app:v2"),
    ("user/app", "docker.io/user/app:latest"),
    ("localhost/app", "localhost/app:latest"),
    ("localhost:5000/x@" + DIGEST, "localhost:5000/x@" + DIGEST),
    ("127.0.0.1:5000/a/b/c:v1", "127.0.0.1:5000/a/b/c:v1"),
    ("quay.io/org/app:v1@" + DIGEST, "quay.io/org/app:v1@" + DIGEST),
    ("[::1]:5000/app", "[::1]:5000/app:latest"),
])
def test_normalize(image: str, expected: str) -> None:
    assert normalize(image) == expected


def test_parts() -> None:
    ref = parse_reference("localhost:5000/team/app@" + DIGEST)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == ("localhost:5000", "team/app",
                                                           None, DIGEST)
    assert ref.target == DIGEST
    assert parse_reference("busybox").target == "latest"


@pytest.mark.parametrize("image", ["", "Busybox", "busybox:", "busybox@sha256:abc",
                                   "a//b", " busybox", "busybox:tag with space", "-x"])
def test_invalid(image: str) -> None:
    with pytest.raises(InvalidReference, match="invalid reference format"):
        parse_reference(image)
