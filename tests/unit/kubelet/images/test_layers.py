from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from steersman.kubelet.images.errors import UnsafeLayer
from steersman.kubelet.images.layers import apply_layer, resolve_in_root


def _layer(tmp: Path, name: str, entries: list[tarfile.TarInfo | tuple[str, bytes]],
           *, compress: bool = True) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                archive.addfile(entry)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size, info.mode = len(entry[1]), 0o644
                archive.addfile(info, io.BytesIO(entry[1]))
    path = tmp / name
    path.write_bytes(gzip.compress(buffer.getvalue()) if compress else buffer.getvalue())
    return path


def _dir(name: str, mode: int = 0o755) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, mode
    return info


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "root").mkdir()
    return tmp_path / "root"


def test_whiteouts_and_opaque_dirs(tmp_path: Path, root: Path) -> None:
    apply_layer(root, _layer(tmp_path, "1", [
        _dir("etc"), ("etc/a", b"a"), ("etc/b", b"b"), _dir("data"), ("data/old", b"o"),
        ("data/keep-not", b"x")]))
    apply_layer(root, _layer(tmp_path, "2", [
        ("etc/.wh.a", b""), _dir("data"), ("data/new", b"n"), ("data/.wh..wh..opq", b"")],
        compress=False))
    assert sorted(p.name for p in (root / "etc").iterdir()) == ["b"]
    assert sorted(p.name for p in (root / "data").iterdir()) == ["new"]


def test_file_replaces_directory_and_modes(tmp_path: Path, root: Path) -> None:
    apply_layer(root, _layer(tmp_path, "1", [_dir("x"), ("x/inner", b"1")]))
    apply_layer(root, _layer(tmp_path, "2", [("x", b"file"), _dir("ro", 0o555),
                                             ("ro/f", b"f")]))
    assert (root / "x").read_bytes() == b"file"
    assert (root / "ro" / "f").read_bytes() == b"f"
    assert (root / "ro").stat().st_mode & 0o555 == 0o555


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "./../evil"])
def test_traversal_rejected(tmp_path: Path, root: Path, name: str) -> None:
    with pytest.raises(UnsafeLayer, match="leaves the rootfs"):
        apply_layer(root, _layer(tmp_path, "1", [(name, b"x")]))
    assert not (tmp_path / "evil").exists()


def test_symlink_escape_stays_inside(tmp_path: Path, root: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    apply_layer(root, _layer(tmp_path, "1", [
        _link("abs", str(outside)), _link("rel", "../../outside"),
        ("abs/pwned", b"1"), ("rel/pwned", b"2")]))
    assert not list(outside.iterdir())
    assert (root / str(outside).lstrip("/") / "pwned").read_bytes() == b"1"
    assert (root / "outside" / "pwned").read_bytes() == b"2"


def test_hardlink_outside_rejected(tmp_path: Path, root: Path) -> None:
    (tmp_path / "secret").write_text("s")
    with pytest.raises(UnsafeLayer):
        apply_layer(root, _layer(tmp_path, "1", [_link("h", "../secret", tarfile.LNKTYPE)]))
    apply_layer(root, _layer(tmp_path, "2", [("f", b"data"), _link("h", "f", tarfile.LNKTYPE)]))
    assert os.stat(root / "h").st_ino == os.stat(root / "f").st_ino


def test_resolve_in_root_clamps(root: Path) -> None:
    os.symlink("/../../etc", root / "etc-link")
    assert resolve_in_root(root, "etc-link/passwd") == root / "etc" / "passwd"
    assert resolve_in_root(root, "../../x") == root / "x"
