"""A container's writable rootfs over an image's shared, read-only unpacked layers.

With root and a kernel that has overlayfs, ``<container_dir>/rootfs`` is an overlay mount:
the image's rootfs is the lower directory (shared by every container of that image, never
written), ``upper`` and ``work`` take the container's writes. Otherwise the image's rootfs
is copied (symlinks, modes and times kept). :func:`release_rootfs` undoes either. The OCI
runtime points ``root.path`` at the returned path. Neighbour: :mod:`.store`, which unpacks
the image rootfs and records which container directories use it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)
_MNT_DETACH = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def overlay_supported() -> bool:
    """Whether this process may mount overlayfs: root, and the kernel knows it."""
    if os.geteuid() != 0:
        return False
    try:
        return "overlay" in Path("/proc/filesystems").read_text()
    except OSError:
        return False


def mount_rootfs(lower: Path, container_dir: Path) -> Path:
    """Mount (or copy) ``lower`` as ``<container_dir>/rootfs`` and return that path."""
    target = container_dir / "rootfs"
    if os.path.ismount(target):
        return target
    target.mkdir(parents=True, exist_ok=True)
    if overlay_supported() and _mount_overlay(lower, container_dir, target):
        return target
    if not any(target.iterdir()):
        target.rmdir()
        shutil.copytree(lower, target, symlinks=True)
    return target


def release_rootfs(container_dir: Path) -> None:
    """Unmount the container's overlay, if any, and delete its rootfs and layers."""
    target = container_dir / "rootfs"
    if os.path.ismount(target) and _libc.umount2(os.fsencode(target), _MNT_DETACH) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"umount {target}: {os.strerror(error)}")
    for name in ("rootfs", "upper", "work"):
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(container_dir / name)


def _mount_overlay(lower: Path, container_dir: Path, target: Path) -> bool:
    upper, work = container_dir / "upper", container_dir / "work"
    paths = (lower, upper, work)
    if any("," in str(path) or ":" in str(path) for path in paths):
        log.info("overlay skipped: ',' or ':' in %s; copying the rootfs instead", paths)
        return False
    upper.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    options = f"lowerdir={lower},upperdir={upper},workdir={work}"
    result = _libc.mount(b"overlay", os.fsencode(target), b"overlay", 0, options.encode())
    if result == 0:
        return True
    error = ctypes.get_errno()
    log.warning("overlay mount on %s failed (%s); copying the rootfs instead",
                target, os.strerror(error))
    return False
