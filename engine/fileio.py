"""Atomic writes: a reader never sees a half-written file at the destination path.

Also the checks that go with writing and reading the user's files: is the destination
writable (asked before long work starts), is an output one of the inputs, and JSON read with
limits so that a hostile file is an error message, not a crash.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import BadInput

# Errors that mean "the destination cannot take the file" (as opposed to a bad input).
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                          errno.EFBIG, errno.ENOTDIR, errno.EISDIR, errno.EIO, errno.ENAMETOOLONG})
# Our JSON documents (layouts, cues, projects) nest six levels at most; far deeper is hostile.
MAX_JSON_DEPTH = 64
# Integers are parsed from at most this many digits: every such integer fits a float.
MAX_JSON_INT_DIGITS = 308
# The largest document this app writes is a project of the longest plan (MAX_FRAMES frames,
# MAX_OBJECTS objects with their boxes, and cues for as many sources): 15 MB (a layout alone: 7 MB,
# measured 2026-12-07). A file many times that size is not ours, and reading it would hold
# ten times its size in memory before any rule could refuse it.
MAX_JSON_BYTES = 64 * 1024 * 1024

# '-' as a file name: the command line reads no input from standard input.
STDIN_MESSAGE = "'-' would be standard input, which is not read for {what}."
STDIN_HINT = "Save it to a file and give the file's name."


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it over ``dest`` only on success.

    The temporary file keeps ``dest``'s suffix (or ``suffix``) so that writers which pick a
    format from the extension (PyAV, soundfile, OpenCV) still do the right thing.
    """
    dest = Path(dest)
    tmp_path = None
    # The folders this write makes (deepest first): a failed write takes them away again.
    made: list[Path] = []
    for folder in dest.parents:
        if folder.exists():
            break
        made.append(folder)
    try:
        # Ctrl+C/SIGTERM wait while the file is made and named, so it is never left unnamed.
        with _signals_deferred():
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent,
                                           suffix=".part" + (suffix if suffix is not None else dest.suffix))
            except OSError as e:
                raise write_failed(dest, e) from None
            tmp_path = Path(tmp)
        os.close(fd)
        # mkstemp makes 0600 files; give the result the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        yield tmp_path
        os.replace(tmp_path, dest)
    except BaseException as e:
        if tmp_path is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()
        for folder in made:  # only while empty: another writer may have put files there
            try:
                folder.rmdir()
            except OSError:
                break
        if isinstance(e, OSError) and e.errno in WRITE_ERRNOS:
            raise write_failed(dest, e) from None
        raise


@contextlib.contextmanager
def _signals_deferred():
    """Hold back SIGINT/SIGTERM/SIGHUP in this thread (where the system allows it)."""
    import signal
    held = {signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def write_failed(dest: str | os.PathLike, error: BaseException) -> BadInput:
    """One line for a failed write: where, and why (a full disk is named as such)."""
    reason = getattr(error, "strerror", None) or str(error).strip() or type(error).__name__
    reason = reason.rstrip(".")
    if not isinstance(error, OSError) or error.errno not in WRITE_ERRNOS:
        with contextlib.suppress(OSError):
            if _space_ran_out(Path(dest).parent):
                reason = "No space left on device"
    kept = Path(dest).is_file()
    return BadInput(f"Could not write {dest}: {reason}.",
                    hint="The file that was there before is unchanged." if kept else None)


_PROBE_BYTES = 4096  # one file-system block


def _space_ran_out(folder: Path) -> bool:
    """Whether the file system that would hold ``folder`` is full. One that reports no size at
    all (/proc, /sys: nothing can be written there) is not full: its own error says why."""
    import shutil
    while not folder.exists():
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    return usage.total > 0 and usage.free < _PROBE_BYTES


def check_writable(dest: str | os.PathLike, *, what: str = "Output") -> Path:
    """Raise :class:`BadInput` unless a file can be written at ``dest``: its folder (or the
    nearest existing folder above, which would hold the new ones) is a folder that takes a
    block of data. Asked before long work starts, so a failure costs nothing."""
    dest = Path(dest)
    if dest.is_dir():
        raise BadInput(f"{what} {dest} is a folder; give a file name.")
    folder = dest.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise BadInput(f"Cannot write {dest}: {folder} is not a folder.",
                       hint="Pick another output location.")
    try:
        # An unnamed file (O_TMPFILE where the system has it) that vanishes on close.
        with tempfile.TemporaryFile(dir=folder) as f:
            f.write(b"\0" * _PROBE_BYTES)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        full = e.errno in (errno.ENOSPC, errno.EDQUOT)
        raise BadInput(f"Cannot write {dest}: {e.strerror or e}.",
                       hint="Free some space, or pick another output location." if full
                       else "Pick another output location.") from None
    return dest


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file (links and ``./`` spellings included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def refuse_overwriting_inputs(output: str | os.PathLike, inputs) -> None:
    """Raise :class:`BadInput` when ``output`` is one of ``inputs`` (None entries skipped)."""
    for i in inputs:
        if i is not None and same_file(output, i):
            raise BadInput(f"Output {output} is also an input; writing it would destroy that "
                           "input.", hint="Give the output another name.")


def read_json(path: str | os.PathLike, *, what: str = "File"):
    """Parse a JSON file with limits: files over :data:`MAX_JSON_BYTES` are refused unread,
    integers of more than :data:`MAX_JSON_INT_DIGITS` digits
    become infinity (then refused by range checks), nesting deeper than
    :data:`MAX_JSON_DEPTH` is refused, and so are what JSON does not have (NaN, Infinity:
    Python's reader takes them, and a value kept as it was read could then not be written
    back) and a key repeated in one object (the reader would keep the last one silently).
    A UTF-8 byte-order mark (Windows Notepad writes one) is skipped. Errors are
    :class:`BadInput` naming the file; FileNotFoundError and UnicodeDecodeError are the
    caller's to word."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise BadInput(f"{what} {path} is {size / 1e6:.0f} MB; the documents this app writes "
                       f"are at most about 15 MB, so it reads none over "
                       f"{MAX_JSON_BYTES // 2**20} MiB.",
                       hint="Open the file this app saved, or an autosave of it.")
    text = path.read_text(encoding="utf-8-sig")

    def constant(name: str):
        raise BadInput(f"{what} {path} is not valid JSON: it holds {name}, which JSON does not "
                       "have; write a number, or null.")

    def unique_keys(pairs):
        d = dict(pairs)
        if len(d) < len(pairs):
            seen: set[str] = set()
            key = next(k for k, _ in pairs if k in seen or seen.add(k))
            raise BadInput(f"{what} {path} is not valid: the key '{key[:80]}' appears twice in "
                           "one object; keep one of them.")
        return d

    try:
        data = json.loads(text, parse_int=_bounded_int, parse_constant=constant,
                          object_pairs_hook=unique_keys)
    except json.JSONDecodeError as e:
        raise BadInput(f"{what} {path} is not valid JSON (line {e.lineno}, column {e.colno}: "
                       f"{e.msg}).") from None
    except RecursionError:
        data = _TOO_DEEP
    if data is _TOO_DEEP or _depth(data) > MAX_JSON_DEPTH:
        raise BadInput(f"{what} {path} nests more than {MAX_JSON_DEPTH} levels deep; it is "
                       "not one this app wrote.") from None
    # "\ud800" alone is valid JSON but no text: kept, it could not be written out again.
    if _SURROGATE_ESCAPE.search(text) and _holds_lone_surrogate(data):
        raise BadInput(f"{what} {path} is not valid: it holds a \\u escape that is half of a "
                       "character (a lone UTF-16 surrogate), which is not text.")
    return data


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _holds_lone_surrogate(obj) -> bool:
    """Whether a text (a value or a key) anywhere in parsed JSON holds a lone surrogate."""
    stack = [obj]
    while stack:
        o = stack.pop()
        texts = ()
        if isinstance(o, dict):
            texts = o.keys()
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)
        elif isinstance(o, str):
            texts = (o,)
        for t in texts:
            try:
                t.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


_TOO_DEEP = object()


def _bounded_int(digits: str):
    return int(digits) if len(digits.lstrip("-")) <= MAX_JSON_INT_DIGITS else (
        float("-inf") if digits.startswith("-") else float("inf"))


def _depth(obj) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, dict):
            o = list(o.values())
        elif not isinstance(o, list):
            continue
        deepest = max(deepest, d)
        if d > MAX_JSON_DEPTH:
            return d
        stack.extend((v, d + 1) for v in o)
    return deepest


def write_bytes_atomic(dest: str | os.PathLike, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def write_json_atomic(dest: str | os.PathLike, obj, *, indent: int = 2) -> None:
    text = json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False)
    write_bytes_atomic(dest, (text + "\n").encode("utf-8"))
