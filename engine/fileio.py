"""Atomic writes: a reader never sees a half-written file at the destination path."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it over ``dest`` only on success.

    The temporary file keeps ``dest``'s suffix (or ``suffix``) so that writers which pick a
    format from the extension (PyAV, soundfile, OpenCV) still do the right thing.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{dest.name}.", suffix=".part" + (suffix if suffix is not None else dest.suffix),
        dir=dest.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes 0600 files; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_bytes_atomic(dest: str | os.PathLike, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def write_json_atomic(dest: str | os.PathLike, obj, *, indent: int = 2) -> None:
    text = json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False)
    write_bytes_atomic(dest, (text + "\n").encode("utf-8"))
