"""Check installed models against their pinned sizes and sha256, and pin what is installed.

What a file is checked against, best first:

1. the sha256 in the registry (``resources/models.json``);
2. the sha256 the user recorded with ``spa2v models pin NAME`` (``<models dir>/pins.json``);
3. for a file in the Hugging Face cache, the hub's own record: an LFS blob is named by its
   sha256 (its ETag), so the content can still be checked when nobody pinned it;
4. nothing: "size/sha256 not pinned: checked format only" (headers of weight files).

Hashing a few GB takes a while, so verification is a job that yields progress and can be
cancelled.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from engine.errors import BadInput
from engine.jobs import CancelToken, EtaEstimator, Job, stage_progress

from .local_store import record_pins
from .registry import (
    Location,
    ModelEntry,
    ModelPaths,
    Registry,
    candidate_locations,
    complete_sound_first,
    expected_file,
    file_size,
    load_registry,
    model_status,
    read_pins,
)
from .safety import UnsafeModelFile, check_weights

NOT_PINNED = "size/sha256 not pinned: checked format only"
_CHUNK = 4 * 1024 * 1024
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_SHA1_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class FileCheck:
    path: str
    state: str  # "ok", "unpinned", "missing", "corrupt"
    message: str = ""
    size: int | None = None
    sha256: str | None = None
    basis: str = ""  # what the content was compared with: "registry", "user", "hub" or ""


@dataclass(frozen=True)
class VerifyResult:
    name: str
    state: str  # "ok", "unpinned", "missing", "partial", "corrupt"
    files: tuple[FileCheck, ...]
    location: Location | None = None

    @property
    def ok(self) -> bool:
        return self.state in ("ok", "unpinned")

    def summary(self) -> str:
        n = len(self.files)
        if self.state == "ok":
            return f"{self.name}: OK ({n} file{'s' * (n != 1)}; size and sha256 match the pins)"
        if self.state == "unpinned":
            hub = sum(1 for f in self.files if f.basis == "hub")
            extra = f" ({hub} of {n} files also match the hub's own hash)" if hub else ""
            return f"{self.name}: {NOT_PINNED}{extra}"
        bad = [f for f in self.files if f.state in ("corrupt", "missing")]
        return f"{self.name}: {self.state.upper()}: " + "; ".join(f"{f.path}: {f.message}" for f in bad[:3])


def sha256_file(path: str | os.PathLike, *, token: CancelToken | None = None,
                on_bytes=None) -> str:
    """Hex sha256 of a file, read in 4 MB chunks; ``on_bytes(n)`` after each chunk."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            if token is not None:
                token.raise_if_cancelled()
            h.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return h.hexdigest()


def git_blob_sha1(path: str | os.PathLike) -> str:
    """Git's object id for a file's content (the hub's ETag for files not stored in LFS)."""
    data = Path(path).read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def hub_digest(path: Path) -> tuple[str, str] | None:
    """The hub's hash for a file in the HF cache, from its blob's name (the file's ETag).

    An LFS file's ETag is its sha256; a small file kept in git has its git blob id (sha1).
    """
    if not path.is_symlink():
        return None
    name = Path(os.path.realpath(path)).name
    if _SHA256_RE.match(name):
        return "sha256", name
    if _SHA1_RE.match(name):
        return "git-sha1", name
    return None


def verify_job(name: str, *, token: CancelToken | None = None, paths: ModelPaths | None = None,
               registry: Registry | None = None, record: bool = False) -> Job[VerifyResult]:
    """Check every file of model ``name``; with ``record=True`` also pin what is there.

    Yields :class:`~engine.jobs.Progress` while hashing and returns a :class:`VerifyResult`. Pinning
    (``record``) hashes every file and writes sizes and sha256 to the user's lock file, but
    only when the model is complete and nothing failed a check.
    """
    token = token or CancelToken()
    paths = paths or ModelPaths.from_env()
    entry = (registry or load_registry()).get(name)
    if entry.source.kind != "hf":
        return _verify_package(entry, paths)
    pins = read_pins(paths)
    locs = candidate_locations(entry, paths, pins=pins)
    loc = next(iter(complete_sound_first(entry, locs, pins)), None) or max(
        locs, key=lambda x: len(x.files), default=None)
    if loc is None:
        return VerifyResult(name, "missing", tuple(FileCheck(f.path, "missing", "not on disk")
                                                    for f in entry.files))
    # 1. Plan what each file is compared with, so progress counts only bytes really hashed.
    plans = []
    for f in entry.files:
        p = loc.files.get(f.path)
        size, sha, basis = expected_file(entry, f, pins) if not loc.custom else (None, None, "")
        hub = hub_digest(p) if (p is not None and not sha and not loc.custom) else None
        plans.append((f, p, size, sha, basis, hub))
    total = sum(file_size(p) for f, p, _, sha, _, hub in plans
                if p is not None and (sha or record or (hub and hub[0] == "sha256"))) or 1
    report = stage_progress(f"verify {name}", eta=EtaEstimator())
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n

    # 2. Check each file: presence, size, format, then its hash where there is one to compare.
    checks = []
    for f, p, size, sha, basis, hub in plans:
        token.raise_if_cancelled()
        if p is None:
            checks.append(FileCheck(f.path, "missing", "not on disk"))
            continue
        actual = file_size(p)
        if size is not None and actual != size:
            checks.append(FileCheck(f.path, "corrupt", f"{actual} bytes, expected {size}", actual))
            continue
        try:
            check_weights(p, model=entry.name)
        except UnsafeModelFile as e:
            checks.append(FileCheck(f.path, "corrupt", e.message, actual))
            continue
        digest = None
        if sha or record or (hub and hub[0] == "sha256"):
            yield report(done / total, detail=f"hashing {f.path}")
            digest = sha256_file(p, token=token, on_bytes=tick)
        if not sha and hub:
            sha, basis = hub[1], "hub"
            got = digest if hub[0] == "sha256" else git_blob_sha1(p)
        else:
            got = digest
        if sha and got != sha:
            checks.append(FileCheck(f.path, "corrupt", f"hash {got[:12]}... expected {sha[:12]}...",
                                    actual, digest, basis))
        elif sha:
            checks.append(FileCheck(f.path, "ok", f"matches the {basis} hash", actual, digest, basis))
        else:
            checks.append(FileCheck(f.path, "unpinned", NOT_PINNED, actual, digest))
    # 3. Sum up: "ok" needs a registry or user pin on every file; the hub's hash is a bonus.
    states = {c.state for c in checks}
    if "corrupt" in states:
        state = "corrupt"
    elif "missing" in states:
        state = "partial"
    elif all(c.basis in ("registry", "user") for c in checks):
        state = "ok"
    else:
        state = "unpinned"
    result = VerifyResult(name, state, tuple(checks), loc)
    yield report(1.0, detail="done")
    if record:
        if not result.ok:
            raise BadInput(f"Not pinning: {result.summary()}",
                           hint=f"Run 'spa2v models download {name} --force' first.")
        record_pins(paths, name, revision=loc.revision if loc.kind == "hf-cache" else None,
                    files={c.path: {"size": c.size, "sha256": c.sha256} for c in checks})
    return result


def _verify_package(entry: ModelEntry, paths: ModelPaths) -> VerifyResult:
    status = model_status(entry, paths)
    if status.state == "installed":
        return VerifyResult(entry.name, "unpinned", (FileCheck(status.path or "", "unpinned",
                                                               "installed from PyPI; " + NOT_PINNED),))
    return VerifyResult(entry.name, status.state, (FileCheck(entry.source.package, "missing",
                                                             status.detail or "not installed"),))
