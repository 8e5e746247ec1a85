"""The image config's ``User`` resolved against the rootfs, as containerd does."""

from __future__ import annotations

from pathlib import Path

import pytest

from steersman.kubelet.runtime.image_rootfs import image_user
from steersman.kubelet.runtime.interface import CreateError, User


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n# comment\nwww:x:33:44:web:/var/www:/bin/false\n")
    (tmp_path / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\n")
    return tmp_path


@pytest.mark.parametrize(("spec", "expected"), [
    ("", None),
    ("1000", User(1000, 0)),  # unknown uid: group 0
    ("33", User(33, 44)),  # known uid: its primary group
    ("1000:7", User(1000, 7)),
    ("www", User(33, 44)),
    ("www:staff", User(33, 50)),
    ("root:50", User(0, 50)),
])
def test_image_user(spec: str, expected: User | None, rootfs: Path) -> None:
    assert image_user(spec, rootfs) == expected


@pytest.mark.parametrize(("spec", "message"), [
    ("nobody", "unable to find user nobody: no matching entries in passwd file"),
    ("www:wheel", "unable to find group wheel: no matching entries in group file"),
])
def test_unknown_names_are_create_errors(spec: str, message: str, rootfs: Path) -> None:
    with pytest.raises(CreateError, match=message):
        image_user(spec, rootfs)
