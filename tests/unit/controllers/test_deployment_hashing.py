"""pod-template-hash: FNV-32a, the safe alphabet, and template equality ignoring the hash."""

from __future__ import annotations

import pytest

from steersman.controllers.deployment.hashing import (
    SAFE_ALPHABET,
    compute_hash,
    equal_ignore_hash,
    fnv32a,
    safe_encode,
)

TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}


@pytest.mark.parametrize(("data", "digest"), [
    (b"", 0x811C9DC5), (b"a", 0xE40C292C), (b"foobar", 0xBF9CF968)])
def test_fnv32a_reference_vectors(data: bytes, digest: int) -> None:
    assert fnv32a(data) == digest


def test_safe_encode_maps_each_byte_into_the_alphabet() -> None:
    assert safe_encode("0123456789") == "456789bcdf"
    assert set(safe_encode("4294967295")) <= set(SAFE_ALPHABET)


def test_hash_is_stable_and_tracks_the_template() -> None:
    first = compute_hash(TEMPLATE)
    assert first == compute_hash({**TEMPLATE})
    assert 1 <= len(first) <= 10 and set(first) <= set(SAFE_ALPHABET)
    changed = {**TEMPLATE, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}
    assert compute_hash(changed) != first


def test_collision_count_changes_the_hash() -> None:
    assert len({compute_hash(TEMPLATE), compute_hash(TEMPLATE, 0),
                compute_hash(TEMPLATE, 1)}) == 3


def test_equal_ignore_hash() -> None:
    hashed = {**TEMPLATE, "metadata": {"labels": {"app": "web", "pod-template-hash": "x"},
                                       "creationTimestamp": None}}
    assert equal_ignore_hash(TEMPLATE, hashed)
    other = {**TEMPLATE, "metadata": {"labels": {"app": "api"}}}
    assert not equal_ignore_hash(TEMPLATE, other)
