"""Apply image layers to a rootfs directory: whiteouts, safe paths, owners and modes.

A layer is a tar, plain, gzip or zstd (told by its magic bytes, zstd through the ``zstd``
tool). Entries are applied in order onto ``root``:

* ``.wh.<name>`` deletes ``<name>`` from lower layers; ``.wh..wh..opq`` empties its
  directory of everything the lower layers put there (OCI image-spec, layer.md).
* Names are resolved inside ``root`` as a chroot would: ``..`` never climbs above it and a
  symlink met on the way, absolute or relative, is followed *within* ``root``. A name with a
  ``..`` component is rejected (:class:`UnsafeLayer`), as is a hard link that points out.
* Owners, setuid bits, device nodes and xattrs are kept when running as root; otherwise
  files get the caller's owner, directories keep their owner-write bit so later layers can
  write into them, and device nodes are skipped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from steersman.kubelet.images.errors import ImageError, UnsafeLayer

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
_MAX_LINKS = 40
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def apply_layer(root: Path, layer: Path) -> None:
    """Apply the layer file ``layer`` onto the directory ``root``."""
    with _open_tar(layer) as archive:
        _Applier(root).apply(archive)


@contextlib.contextmanager
def _open_tar(layer: Path) -> Iterator[tarfile.TarFile]:
    with layer.open("rb") as head:
        magic = head.read(4)
    if magic != _ZSTD_MAGIC:
        with tarfile.open(layer, mode="r:*") as archive:
            yield archive
        return
    if shutil.which("zstd") is None:
        raise ImageError("zstd-compressed layers need the zstd tool (apt install zstd)")
    with subprocess.Popen(["zstd", "-dcq", str(layer)], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
            yield archive
    if proc.returncode:
        raise ImageError(f"zstd failed on {layer.name} (exit {proc.returncode})")


def resolve_in_root(root: Path, name: str, *, follow_last: bool = False) -> Path:
    """The host path of ``name`` seen from inside ``root``: symlinks stay inside ``root``."""
    parts = [part for part in name.split("/") if part not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            resolved = resolved[:-1]
            continue
        candidate = root.joinpath(*resolved, part)
        if (parts or follow_last) and candidate.is_symlink():
            links += 1
            if links > _MAX_LINKS:
                raise UnsafeLayer(f"too many levels of symbolic links in {name!r}")
            target = os.readlink(candidate)
            resolved = [] if target.startswith("/") else resolved
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


def _entry_name(member: tarfile.TarInfo) -> str:
    parts = [part for part in member.name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeLayer(f"layer entry {member.name!r} leaves the rootfs")
    return "/".join(parts)


class _Applier:
    """One layer's application: remembers what it wrote, for opaque whiteouts."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.as_root = os.geteuid() == 0
        self.written: set[Path] = set()
        self.directories: list[tuple[Path, tarfile.TarInfo]] = []

    def apply(self, archive: tarfile.TarFile) -> None:
        for member in archive:
            name = _entry_name(member)
            if name:
                self._entry(archive, member, name)
        for path, member in reversed(self.directories):
            self._attributes(path, member)

    def _entry(self, archive: tarfile.TarFile, member: tarfile.TarInfo, name: str) -> None:
        parent_name, _, base = name.rpartition("/")
        parent = resolve_in_root(self.root, parent_name, follow_last=True)
        if base == OPAQUE:
            self._opaque(parent)
        elif base.startswith(WHITEOUT):
            _remove(parent / base[len(WHITEOUT):])
        else:
            parent.mkdir(parents=True, exist_ok=True)
            path = parent / base
            self.written.add(path)
            self._create(archive, member, path)

    def _opaque(self, directory: Path) -> None:
        if not directory.is_dir() or directory.is_symlink():
            return
        for child in directory.iterdir():
            if child not in self.written:
                _remove(child)

    def _create(self, archive: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> None:
        if member.isdir():
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                _remove(path)
            path.mkdir(exist_ok=True)
            self.directories.append((path, member))
            return
        _remove(path)
        if member.isreg():
            _write_file(archive.extractfile(member), path)
        elif member.issym():
            os.symlink(member.linkname, path)
        elif member.islnk():
            self._hardlink(member, path)
        elif member.ischr() or member.isblk() or member.isfifo():
            if not self._special(member, path):
                return
        else:
            raise UnsafeLayer(f"unsupported tar entry type for {member.name!r}")
        self._attributes(path, member)

    def _hardlink(self, member: tarfile.TarInfo, path: Path) -> None:
        name = _entry_name(tarfile.TarInfo(member.linkname))
        target = resolve_in_root(self.root, name)
        if not target.is_relative_to(self.root) or not os.path.lexists(target):
            raise UnsafeLayer(f"hard link {member.name!r} → {member.linkname!r} is unresolvable")
        os.link(target, path, follow_symlinks=False)

    def _special(self, member: tarfile.TarInfo, path: Path) -> bool:
        if member.isfifo():
            os.mkfifo(path)
            return True
        if not self.as_root:
            return False
        kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
        os.mknod(path, kind | 0o600, os.makedev(member.devmajor, member.devminor))
        return True

    def _attributes(self, path: Path, member: tarfile.TarInfo) -> None:
        if self.as_root:
            os.chown(path, member.uid, member.gid, follow_symlinks=False)
            _xattrs(path, member)
        if not member.issym():
            mode = member.mode & (0o7777 if self.as_root else 0o777)
            os.chmod(path, mode | (0o700 if member.isdir() and not self.as_root else 0))
        os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)


def _write_file(source: IO[bytes] | None, path: Path) -> None:
    if source is None:
        raise UnsafeLayer(f"unreadable file entry {path.name!r}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(path, flags, 0o600), "wb") as target:
        shutil.copyfileobj(source, target, 1 << 20)


def _xattrs(path: Path, member: tarfile.TarInfo) -> None:
    for key, value in member.pax_headers.items():
        if key.startswith("SCHILY.xattr."):
            try:
                os.setxattr(path, key[len("SCHILY.xattr."):],
                            value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
            except OSError as exc:
                if exc.errno not in (errno.ENOTSUP, errno.EPERM):
                    raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
