"""Changes to what is on disk: import models by path, remove them, record user-side pins.

Everything written here is written atomically (the imports index, the pins lock file and any
copied model file), so an interrupted import never leaves a half-written file where a model is
expected. The index and the pins are read, changed and written under a lock (``.spa2v.lock``
in the models folder), so two imports at once (two commands, or the studio and a command)
both stay recorded. Nothing here touches the network.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import BadInput
from engine.fileio import atomic_path, write_failed, write_json_atomic

from .registry import (
    ModelEntry,
    ModelPaths,
    Registry,
    candidate_locations,
    file_size,
    hf_repo_folder,
    human_bytes,
    load_registry,
    models_folder_error,
    read_index,
    read_pins,
)
from .safety import check_weights, gguf_kind_refusal, refuse_pickle

# hf_hub_download names its temporary files "<etag>.<8 hex>.incomplete" and deletes them on
# failure; only a killed process leaves one behind. An hour without a write means nobody owns it.
STALE_PARTIAL_S = 3600


@dataclass(frozen=True)
class ImportResult:
    name: str
    path: Path
    how: str  # "linked" (recorded where it is), "copied", "cache" (an HF cache folder)
    custom: bool = False
    files: int = 0


@dataclass
class RemoveResult:
    name: str
    freed_bytes: int = 0
    actions: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- import


def import_model(path: str | os.PathLike, *, as_name: str | None = None, copy: bool = False,
                 paths: ModelPaths | None = None, registry: Registry | None = None) -> list[ImportResult]:
    """Make models already on disk known: a GGUF/safetensors file, a folder, or an HF cache.

    - A file is matched to the registry by its name (or bound to ``as_name``; a file named
      otherwise is recorded as a *custom* file for that model, checked for format only).
    - A folder laid out like a repo (``unet/...``, ``model_index.json``) is matched to every
      model whose files it holds; a copied models folder (``<name>/...`` subfolders) too.
    - A Hugging Face cache folder (holding ``models--owner--name``) is added to the caches
      searched.

    With ``copy=True`` the files are copied into the models folder (atomically) instead of
    being recorded where they are, for a source that will go away (a USB stick).

    Raises
    ------
    BadInput
        The path does not exist, holds nothing the registry knows, or is a pickle checkpoint.
    """
    paths = paths or ModelPaths.from_env()
    registry = registry or load_registry()
    src = Path(path).expanduser().resolve()
    if not src.exists():
        raise BadInput(f"{src} does not exist.", hint="Give the path of a .gguf/.safetensors file or a model folder.")
    if src.is_file():
        return [_import_file(src, as_name, copy, paths, registry)]
    if _is_hf_cache(src):
        return _import_hf_cache(src, paths, registry)
    return _import_folder(src, as_name, copy, paths, registry)


def _import_file(src: Path, as_name, copy, paths, registry) -> ImportResult:
    refuse_pickle(src)
    if src.suffix.lower() not in (".gguf", ".safetensors"):
        raise BadInput(f"Cannot import {src.name}: only .gguf and .safetensors files are imported one by one.",
                       hint="Import the folder that holds it instead.")
    check_weights(src)
    if as_name:
        entry = registry.get(as_name)
        _need_hf(entry)
        matches = [f for f in entry.files if f.path.rsplit("/", 1)[-1] == src.name]
    else:
        found = [(e, f) for e, f in registry.match_file(src.name) if e.source.kind == "hf"]
        if not found:
            raise BadInput(f"No registry model has a file named {src.name}.",
                           hint="Bind it to a model with --as NAME (see 'spa2v models list'), "
                                "e.g. --as planner-llm-default for your own GGUF.")
        if len({e.name for e, _ in found}) > 1:
            raise BadInput(f"{src.name} belongs to several models ({', '.join(e.name for e, _ in found)}).",
                           hint="Choose one with --as NAME.")
        entry, matches = found[0][0], [found[0][1]]
    _check_gguf_kind(src, entry, matches[0].path if matches else None)
    if matches:  # named as in the registry: the repo layout is rebuilt around it
        rel = matches[0].path
        root = src
        for _ in rel.split("/"):
            root = root.parent
        if copy:
            dest_root = paths.models_dir / entry.name
            _copy_atomic(src, dest_root / rel)
            return ImportResult(entry.name, dest_root, "copied", files=1)
        _record(paths, entry.name, {"kind": "folder", "path": str(root)})
        return ImportResult(entry.name, src, "linked", files=1)
    # A file with its own name (another quantisation, another model) stands in for the model.
    if len(entry.files) != 1 or Path(entry.files[0].path).suffix != src.suffix:
        raise BadInput(f"{src.name} cannot stand in for {entry.name}, which needs "
                       f"{', '.join(f.path for f in entry.files)}.",
                       hint="Import the folder that holds those files instead.")
    dest = src
    if copy:
        dest = paths.models_dir / entry.name / src.name
        _copy_atomic(src, dest)
    _record(paths, entry.name, {"kind": "file", "path": str(dest), "custom": True})
    return ImportResult(entry.name, dest, "copied" if copy else "linked", custom=True, files=1)


def _check_gguf_kind(src: Path, entry: ModelEntry, rel: str | None) -> None:
    """A projector imported as a planner LLM (or a language model as a listener's mmproj)
    passed every format check and showed 'installed'; planning then fell back with llama.cpp's
    "Failed to load model". Refused here, saying which file is which."""
    if src.suffix.lower() != ".gguf" or entry.role not in ("planner_llm", "audio_listener"):
        return
    kind = "projector" if rel is not None and "mmproj" in Path(rel).name.lower() else "text"
    why = gguf_kind_refusal(src, kind)
    if why:
        raise BadInput(f"Cannot import {src.name} as {entry.name}: {why}")


def _import_folder(src: Path, as_name, copy, paths, registry) -> list[ImportResult]:
    candidates = [registry.get(as_name)] if as_name else [e for e in registry.entries if e.source.kind == "hf"]
    results = []
    for entry in candidates:
        _need_hf(entry)
        for root in (src, src / entry.name):
            present = [f.path for f in entry.files if (root / f.path).is_file()]
            complete = len(present) == len(entry.files)
            if complete or (as_name and present):
                for rel in present:
                    check_weights(root / rel)
                if copy:
                    for rel in present:
                        _copy_atomic(root / rel, paths.models_dir / entry.name / rel)
                    results.append(ImportResult(entry.name, paths.models_dir / entry.name, "copied", files=len(present)))
                else:
                    _record(paths, entry.name, {"kind": "folder", "path": str(root)})
                    results.append(ImportResult(entry.name, root, "linked", files=len(present)))
                break
    if not results:
        wanted = "; ".join(f"{e.name}: {', '.join(f.path for f in e.files[:2])}" for e in candidates[:4])
        raise BadInput(f"{src} holds no complete model the registry knows.",
                       hint=f"A model folder is laid out like its repo ({wanted}); or import a "
                            "Hugging Face cache folder (the one holding models--owner--name).")
    return results


def _is_hf_cache(folder: Path) -> bool:
    return any(p.name.startswith("models--") and (p / "snapshots").is_dir() for p in folder.iterdir())


def _import_hf_cache(src: Path, paths, registry) -> list[ImportResult]:
    if src != paths.hf_cache_dir.resolve():
        with user_files_locked(paths):
            index = read_index(paths)
            if str(src) not in index["hf_caches"]:
                index["hf_caches"].append(str(src))
                write_json_atomic(paths.index_file, index)
    pins = read_pins(paths)
    results = []
    for entry in registry.entries:
        if entry.source.kind != "hf":
            continue
        for loc in candidate_locations(entry, paths, pins=pins):
            if loc.kind == "hf-cache" and loc.root.is_relative_to(src) and loc.complete_for(entry):
                results.append(ImportResult(entry.name, loc.root, "cache", files=len(loc.files)))
                break
    if not results:
        raise BadInput(f"The Hugging Face cache {src} holds no complete model the registry knows.",
                       hint="Download them there first: spa2v models download NAME.")
    return results


def _need_hf(entry: ModelEntry) -> None:
    if entry.source.kind != "hf":
        raise BadInput(f"{entry.name} comes with the {entry.source.package} package and is not imported.",
                       hint=entry.source.install_command)


def _record(paths: ModelPaths, name: str, rec: dict) -> None:
    with user_files_locked(paths):
        index = read_index(paths)
        index["models"][name] = {**rec, "imported_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        write_json_atomic(paths.index_file, index)


LOCK_NAME = ".spa2v.lock"


@contextlib.contextmanager
def user_files_locked(paths: ModelPaths):
    """Hold the models folder's lock while ``imported.json`` or ``pins.json`` is read, changed
    and written: without it, of two imports at once the second's write dropped the first's
    record. An advisory lock on a file that stays (``fcntl.flock``; ``msvcrt`` on Windows);
    the system lets it go if the process dies."""
    folder = paths.models_dir
    if folder.exists() and not folder.is_dir():
        raise models_folder_error(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:  # a read-only folder: the write it guards would fail the same way
        raise write_failed(paths.index_file, e) from None
    try:
        if os.name == "nt":
            import msvcrt
            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # tries for 10 s, then OSError
        else:
            import fcntl
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if os.name == "nt":
            import msvcrt
            with contextlib.suppress(OSError):
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        os.close(fd)  # flock's lock goes with the descriptor


def _copy_atomic(src: Path, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


# --------------------------------------------------------------------------- remove


def remove_model(name: str, *, paths: ModelPaths | None = None,
                 registry: Registry | None = None) -> RemoveResult:
    """Remove a model from the models folder and the HF cache, and forget its import.

    A linked import is only forgotten: the user's own file stays where it is. In the HF cache
    only this model's files go, and a blob another snapshot still uses is kept.
    """
    paths = paths or ModelPaths.from_env()
    entry = (registry or load_registry()).get(name)
    if entry.source.kind != "hf":
        raise BadInput(f"{name} comes with the {entry.source.package} package.",
                       hint=f"pip uninstall {entry.source.package}")
    result = RemoveResult(name)
    with user_files_locked(paths) if paths.index_file.is_file() else contextlib.nullcontext():
        index = read_index(paths)
        rec = index["models"].pop(name, None)
        if rec:
            write_json_atomic(paths.index_file, index)
    if rec:
        inside = Path(rec["path"]).resolve().is_relative_to(paths.models_dir.resolve())
        if inside and rec.get("kind") == "file":
            result.freed_bytes += _unlink(Path(rec["path"]))
        result.actions.append(f"forgot the import of {rec['path']}" + ("" if inside else " (the file stays)"))
    folder = paths.models_dir / name
    if folder.is_dir():
        result.freed_bytes += sum(file_size(p) for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
        shutil.rmtree(folder)
        result.actions.append(f"deleted {folder}")
    result.freed_bytes += _remove_from_hf_cache(entry, paths.hf_cache_dir, result)
    if not result.actions:
        elsewhere = [loc.root for loc in candidate_locations(entry, paths) if loc.kind == "hf-cache"]
        if elsewhere:  # an imported cache folder is the user's; SpA2V Studio does not delete there
            raise BadInput(f"{name} is in an imported cache folder ({elsewhere[0]}), which is left alone.",
                           hint="Delete it there, or edit hf_caches in imported.json to stop using that folder.")
        raise BadInput(f"{name} is not installed.", hint="See 'spa2v models list'.")
    return result


def _remove_from_hf_cache(entry: ModelEntry, cache: Path, result: RemoveResult) -> int:
    repo = hf_repo_folder(cache, entry.source.repo_id)
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return 0
    freed = clean_stale_partials(entry, cache, older_than_s=0)
    doomed_blobs: set[Path] = set()
    removed = 0
    for snap in snapshots.iterdir():
        for f in entry.files:
            pointer = snap / f.path
            if pointer.is_symlink() or pointer.is_file():
                if pointer.is_symlink():
                    doomed_blobs.add(Path(os.path.realpath(pointer)))
                else:
                    freed += file_size(pointer)
                pointer.unlink()
                removed += 1
        _prune_empty_dirs(snap)
    # A blob stays while any snapshot still links to it (another model sharing the repo).
    still_used = {Path(os.path.realpath(p)) for p in snapshots.rglob("*") if p.is_symlink()}
    for blob in doomed_blobs - still_used:
        freed += _unlink(blob)
    for ref in (repo / "refs").rglob("*") if (repo / "refs").is_dir() else ():
        if ref.is_file() and not (snapshots / ref.read_text(encoding="utf-8").strip()).is_dir():
            ref.unlink()
    if removed:
        result.actions.append(f"deleted {removed} file(s) of {entry.source.repo_id} from the Hugging Face cache "
                              f"({human_bytes(freed)})")
    return freed


def clean_stale_partials(entry: ModelEntry, cache: Path, *, older_than_s: float = STALE_PARTIAL_S) -> int:
    """Delete unfinished hub downloads of ``entry``'s repo nobody has written to lately."""
    blobs = hf_repo_folder(cache, entry.source.repo_id) / "blobs"
    freed = 0
    if blobs.is_dir():
        now = time.time()
        for p in blobs.glob("*.incomplete"):
            with contextlib.suppress(OSError):
                if now - p.stat().st_mtime >= older_than_s:
                    freed += _unlink(p)
    return freed


def _prune_empty_dirs(top: Path) -> None:
    for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()
    with contextlib.suppress(OSError):
        top.rmdir()


def _unlink(p: Path) -> int:
    size = file_size(p)
    with contextlib.suppress(FileNotFoundError):
        p.unlink()
    return size


# --------------------------------------------------------------------------- pins


def record_pins(paths: ModelPaths, name: str, *, revision: str | None,
                files: dict[str, dict]) -> Path:
    """Write ``{path: {"size", "sha256"}}`` for ``name`` into the user's lock file (atomically)."""
    with user_files_locked(paths):
        pins = read_pins(paths)
        pins["models"][name] = {"revision": revision, "files": files,
                                "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        write_json_atomic(paths.pins_file, pins)
    return paths.pins_file


__all__ = ["ImportResult", "RemoveResult", "clean_stale_partials", "import_model",
           "record_pins", "remove_model", "user_files_locked"]
