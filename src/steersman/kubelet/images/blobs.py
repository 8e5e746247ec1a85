"""Content-addressed blobs under ``<root>/blobs/<algorithm>/<hex>``, written atomically.

A blob is written to ``<root>/tmp`` while its digest and size are computed, checked against
what it was announced as, flushed and renamed into place: a reader never sees a partial
blob, and a blob in place always hashes to its name. :class:`DigestMismatch` rejects
content that differs. Neighbours: :mod:`.store` keeps image records that name these blobs;
:mod:`.registry` and :mod:`.importer` fill it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Self

from steersman.kubelet.images.errors import DigestMismatch

_DIGEST = re.compile(r"(sha256):([0-9a-f]{64})|(sha512):([0-9a-f]{128})")
CHUNK = 1 << 20


def split_digest(digest: str) -> tuple[str, str]:
    """``sha256:<hex>`` → (``sha256``, ``<hex>``); other algorithms are rejected loudly."""
    match = _DIGEST.fullmatch(digest)
    if match is None:
        raise DigestMismatch(f"unsupported or malformed digest {digest!r}")
    groups = [group for group in match.groups() if group]
    return groups[0], groups[1]


def sha256_digest(data: bytes) -> str:
    """The ``sha256:<hex>`` digest of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class BlobWriter:
    """Streams one blob into ``tmp``; :meth:`commit` verifies and renames it into place."""

    def __init__(self, store: BlobStore, *, digest: str | None, size: int | None) -> None:
        self._store = store
        self._expected = digest
        self._size = size
        algorithm = split_digest(digest)[0] if digest else "sha256"
        self._hash = hashlib.new(algorithm)
        self._written = 0
        fd, name = tempfile.mkstemp(dir=store.tmp_dir, prefix="blob-")
        self._tmp = Path(name)
        self._file: IO[bytes] = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; fail as soon as the blob grows past its announced size."""
        self._written += len(chunk)
        if self._size is not None and self._written > self._size:
            raise DigestMismatch(
                f"{self._expected}: more than the announced {self._size} bytes")
        self._hash.update(chunk)
        self._file.write(chunk)

    def commit(self) -> str:
        """Verify size and digest, then move the blob into place; return its digest."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        digest = f"{self._hash.name}:{self._hash.hexdigest()}"
        if self._size is not None and self._written != self._size:
            raise DigestMismatch(f"{self._expected}: got {self._written} bytes, "
                                 f"expected {self._size}")
        if self._expected is not None and digest != self._expected:
            raise DigestMismatch(f"digest mismatch: expected {self._expected}, got {digest}")
        target = self._store.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, target)
        return digest

    def abort(self) -> None:
        """Drop the partial blob."""
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._file.closed or self._tmp.exists():
            self.abort()


class BlobStore:
    """The blobs of one image store directory."""

    def __init__(self, root: Path) -> None:
        self.root = root / "blobs"
        self.tmp_dir = root / "tmp"
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        algorithm, hexdigest = split_digest(digest)
        return self.root / algorithm / hexdigest

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        return self.path(digest).stat().st_size

    def read(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def writer(self, *, digest: str | None = None, size: int | None = None) -> BlobWriter:
        """A writer for one blob; pass the announced digest and size to have them checked."""
        return BlobWriter(self, digest=digest, size=size)

    def put(self, data: bytes, *, digest: str | None = None) -> str:
        """Store ``data`` (verified against ``digest`` when given); return its digest."""
        with self.writer(digest=digest, size=len(data) if digest else None) as writer:
            writer.write(data)
            return writer.commit()

    def put_stream(self, stream: IO[bytes], *, digest: str | None = None,
                   size: int | None = None) -> str:
        """Store what ``stream`` yields, verified like :meth:`put`."""
        with self.writer(digest=digest, size=size) as writer:
            while chunk := stream.read(CHUNK):
                writer.write(chunk)
            return writer.commit()

    def digests(self) -> Iterator[str]:
        for algorithm_dir in self.root.iterdir():
            for blob in algorithm_dir.iterdir():
                yield f"{algorithm_dir.name}:{blob.name}"

    def delete(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(digest).unlink()
