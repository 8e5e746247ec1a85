"""Write a volume's files so a reader never sees half an update (the kubelet's ``..data``).

``util/atomic_writer.go``: the payload goes into a fresh hidden directory
``..<timestamp>``; the symlink ``..data`` is swapped to it with one ``rename``; each
top-level name of the payload is a symlink through ``..data``. A process that opened
``config/app.yaml`` reads the old or the new content, never a mix. Writing an unchanged
payload does nothing (the periodic resync of configMap and secret volumes is cheap).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

DATA_LINK = "..data"


def write_payload(target: Path, payload: Mapping[str, tuple[bytes, int]]) -> bool:
    """Make ``target`` hold exactly ``payload`` (relative path → content, mode); True if
    anything changed."""
    target.mkdir(parents=True, exist_ok=True)
    if _current(target) == dict(payload):
        return False
    fresh = target / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    for relative, (content, mode) in payload.items():
        path = fresh / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)
    old = os.readlink(target / DATA_LINK) if (target / DATA_LINK).is_symlink() else None
    temporary = target / "..data_tmp"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(fresh.name)
    temporary.rename(target / DATA_LINK)
    _link_top_level(target, {relative.split("/", 1)[0] for relative in payload})
    if old:
        shutil.rmtree(target / old, ignore_errors=True)
    return True


def _link_top_level(target: Path, names: set[str]) -> None:
    for entry in target.iterdir():
        if not entry.name.startswith("..") and entry.name not in names:
            entry.unlink()
    for name in names:
        link = target / name
        if not link.is_symlink():
            link.symlink_to(f"{DATA_LINK}/{name}")


def _current(target: Path) -> dict[str, tuple[bytes, int]]:
    data = target / DATA_LINK
    if not data.is_dir():
        return {}
    found: dict[str, tuple[bytes, int]] = {}
    for path in data.resolve().rglob("*"):
        if path.is_file():
            found[str(path.relative_to(data.resolve()))] = (path.read_bytes(),
                                                            path.stat().st_mode & 0o7777)
    return found
