"""UIDs for created objects: version-4 UUIDs, never handed out twice, not even across a fork."""

from __future__ import annotations

import os
import uuid

from steersman.apiserver.objectmeta import random_uid


def test_uids_are_distinct_version_4_uuids_across_pages_of_randomness() -> None:
    uids = [random_uid() for _ in range(1_000)]  # ~4 pages of the pool
    assert len(set(uids)) == len(uids)
    for text in uids[:50]:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)


def test_a_forked_child_does_not_repeat_its_parents_uids() -> None:
    random_uid()  # the parent holds a page with unused pieces
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, random_uid().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read, "rb") as pipe:
        childs = pipe.read().decode()
    assert childs != random_uid()
