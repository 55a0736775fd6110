"""Files written whole or not at all."""
from __future__ import annotations

import contextlib
import os
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """A temp path beside ``path`` to write; on a clean exit it replaces ``path`` (os.replace), so a reader
    never sees a half-written file and a kill mid-write leaves the old one intact. On an error it is removed.
    The name holds the process id: two processes writing one file never share a temp file."""
    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
