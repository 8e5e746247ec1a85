"""Files a client keeps on disk — kubeconfigs, keys, certificates — written atomically.

:func:`write_file_atomically` is the one writer for them, shared by the API server's PKI
and the node agent's credentials: readers see the old file or the new one, never a part,
and a secret is never readable by others, whatever the umask.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_file_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Replace ``path`` with ``data`` (fsynced), created with ``mode`` before any byte."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
