"""A studio project on disk: the audio, its cues, the edited layout, the renders and settings.

One JSON file (``*.spa2v``, schema ``spa2v.project/1``) written atomically. The audio is
referenced, not copied: by a path relative to the project file (so a project folder can be
moved as a whole) and by its absolute path (so a project saved away from its audio still finds
it). Autosaves are the same document plus an ``autosave`` block, kept in one folder so that a
crashed session's work can be found and offered back at the next start.

No Qt here: the desktop app wraps these values in its own view-models.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cues.types import Cues
from .errors import BadInput, LayoutError
from .fileio import read_json, write_json_atomic
from .layout import Layout

PROJECT_SCHEMA = "spa2v.project/1"
PROJECT_VERSION = 1
PROJECT_SUFFIX = ".spa2v"
AUTOSAVE_SUFFIX = ".autosave.json"


def _newer_schema(schema: Any) -> bool:
    """``spa2v.project/2`` and later: a project this version cannot read, but a project."""
    family, _, number = str(schema).rpartition("/")
    current = PROJECT_SCHEMA.rpartition("/")[2]
    return family == PROJECT_SCHEMA.rpartition("/")[0] and number.isdigit() \
        and int(number) > int(current)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class RenderRecord:
    """A finished render: the MP4 and what made it."""

    path: Path
    renderer: str = "preview"
    created: str = field(default_factory=_now)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, base: Path | None) -> dict[str, Any]:
        return {"path": _rel(self.path, base), "path_abs": str(self.path.absolute()),
                "renderer": self.renderer, "created": self.created,
                "settings": dict(self.settings)}

    @classmethod
    def from_dict(cls, d: dict, base: Path | None) -> "RenderRecord":
        rel, absolute = d.get("path"), d.get("path_abs")
        if not isinstance(rel, str) or not (absolute is None or isinstance(absolute, str)):
            raise TypeError("a render's path must be text")
        return cls(path=_resolve(rel, absolute, base) or Path(rel),
                   renderer=str(d.get("renderer", "preview")),
                   created=str(d.get("created", "")), settings=dict(d.get("settings") or {}))


@dataclass
class Project:
    """Everything the studio edits. ``path`` is where it was last saved (None: untitled)."""

    audio_path: Path | None = None
    cues: Cues | None = None
    layout: Layout | None = None
    renders: list[RenderRecord] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    name: str = "Untitled"
    path: Path | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self, base: Path | None = None) -> dict[str, Any]:
        """The project document. Paths are written relative to ``base`` (the project's folder)
        when they lie under it, and absolute as well."""
        return {
            "schema": PROJECT_SCHEMA, "version": PROJECT_VERSION, "name": self.name,
            "saved_at": _now(),
            "audio": None if self.audio_path is None else {
                "path": _rel(self.audio_path, base), "path_abs": str(self.audio_path.absolute())},
            "cues": None if self.cues is None else self.cues.to_dict(),
            "layout": None if self.layout is None else self.layout.to_dict(),
            "renders": [r.to_dict(base) for r in self.renders],
            "settings": self.settings,
        }

    @classmethod
    def from_dict(cls, d: Any, base: Path | None = None, *, where: str = "The project") -> "Project":
        """The project in document ``d``; any shape this app did not write is a
        :class:`BadInput` naming ``where`` and the field, never another exception."""
        if not isinstance(d, dict) or d.get("schema") != PROJECT_SCHEMA:
            got = d.get("schema") if isinstance(d, dict) else type(d).__name__
            if _newer_schema(got):
                raise BadInput(f"{where} was saved by a newer SpA2V Studio (schema {got!r}).",
                               hint="Update SpA2V Studio to open it.")
            raise BadInput(f"{where} is not a SpA2V project (schema {got!r}).",
                           hint="Open a .spa2v file saved by SpA2V Studio.")
        version = d.get("version", 1)
        if isinstance(version, bool) or not isinstance(version, int):
            raise BadInput(f"{where}: field 'version' must be a whole number, got {version!r}.")
        if version > PROJECT_VERSION:
            raise BadInput(f"{where} was saved by a newer SpA2V Studio (version {version!r}).",
                           hint="Update SpA2V Studio to open it.")
        notes: list[str] = []
        audio_path = None
        if d.get("audio") is not None:
            a = _field(d, "audio", dict, where)
            rel, absolute = _field(a, "path", str, where, "audio."), _field(a, "path_abs", str, where, "audio.")
            if not rel and not absolute:
                raise BadInput(f"{where}: field 'audio' names no file.")
            audio_path = _resolve(rel, absolute, base)
            if audio_path is None:
                audio_path = Path(absolute or rel)
                notes.append(f"The project's audio {audio_path} is missing; import it again "
                             "to play, plan or render.")
            notes += _outside_note("audio", rel, audio_path, base)
        cues = None
        if d.get("cues") is not None:
            try:
                cues = Cues.from_dict(d["cues"])
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
                notes.append(f"The stored cues could not be read ({type(e).__name__}: {e}); "
                             "plan again to remeasure.")
        layout = None
        if d.get("layout") is not None:
            try:
                layout = Layout.from_dict(d["layout"])
            except LayoutError as e:
                raise BadInput(f"{where} holds a broken layout: {e.message}",
                               hint="Fix the field in the file, or plan again.") from None
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
                raise BadInput(f"{where} holds a broken layout ({type(e).__name__}: {e}).",
                               hint="Fix the field in the file, or plan again.") from None
        settings = _field(d, "settings", dict, where) or {}
        renders = []
        for i, r in enumerate(_field(d, "renders", list, where) or []):
            try:
                record = RenderRecord.from_dict(r, base)
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
                notes.append(f"{where}: render {i + 1} could not be read and was left out.")
                continue
            renders.append(record)
            notes += _outside_note(f"render {record.path.name}",
                                   r.get("path") if isinstance(r.get("path"), str) else None,
                                   record.path, base)
        name = _field(d, "name", str, where)
        return cls(audio_path=audio_path, cues=cues, layout=layout, renders=renders,
                   settings=settings, name=safe_project_name(name), notes=notes)


def safe_project_name(name: str | None) -> str:
    """A project name fit to name files with: one path component, no control characters
    (a project file may say ``"name": "../../x"``; exports are named after the project)."""
    text = "".join(c for c in str(name or "") if ord(c) >= 32).replace("\\", "/")
    text = text.rsplit("/", 1)[-1].strip()
    return text if text not in ("", ".", "..") else "Untitled"


def _field(d: dict, key: str, kind: type, where: str, prefix: str = ""):
    """``d[key]`` when it is absent, null or of ``kind``; else a :class:`BadInput`."""
    v = d.get(key)
    if v is not None and (not isinstance(v, kind) or isinstance(v, bool)):
        names = {dict: "an object", list: "a list", str: "text"}
        raise BadInput(f"{where}: field '{prefix}{key}' must be {names[kind]}, got "
                       f"{type(v).__name__}.", hint="Open an autosave or a backup of it instead.")
    return v


def _outside_note(what: str, rel: str | None, resolved: Path, base: Path | None) -> list[str]:
    """A note when a relative path climbs out of the project's folder (this app never writes
    such a path: files outside the folder are stored absolute). The path is shown resolved."""
    if not rel or base is None or Path(rel).is_absolute() or ".." not in Path(rel).parts:
        return []
    try:
        Path(resolved).resolve().relative_to(Path(base).resolve())
        return []
    except ValueError:
        return [f"The project's {what} path {rel} leads outside the project's folder, to "
                f"{Path(resolved).resolve()}."]


def save_project(project: Project, path: str | os.PathLike) -> Path:
    """Write the project atomically to ``path`` (``.spa2v`` is added when missing)."""
    path = Path(path)
    if path.suffix.lower() != PROJECT_SUFFIX:
        path = path.with_name(path.name + PROJECT_SUFFIX)
    if path.is_dir():
        raise BadInput(f"{path} is a folder; give the project a file name.")
    if project.layout is not None:
        project.layout.validate()
    if project.name in ("", "Untitled"):
        project.name = path.stem
    write_json_atomic(path, project.to_dict(path.parent.absolute()))
    project.path = path
    return path


def load_project(path: str | os.PathLike) -> Project:
    """Read a project file; the message of any error names the file and what to do."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"Project file not found: {path}.")
    try:
        data = read_json(path, what="Project file")
    except UnicodeDecodeError as e:
        raise BadInput(f"{path.name} is not a readable project file ({e}).",
                       hint="Open an autosave or a backup of it instead.") from None
    except BadInput as e:
        raise BadInput(f"{path.name} is not a readable project file ({e.message})",
                       hint="Open an autosave or a backup of it instead.") from None
    except OSError as e:
        raise BadInput(f"{path.name} cannot be read ({e.strerror or e}).") from None
    project = Project.from_dict(data, path.parent.absolute(), where=path.name)
    project.path = path
    return project


# -- autosave and recovery --------------------------------------------------------------------

@dataclass
class Recovery:
    """An autosave left behind by a session that did not close cleanly."""

    autosave_path: Path
    project_path: Path | None
    saved_at: str
    name: str

    def load(self) -> Project:
        data = read_json(self.autosave_path, what="Autosave")
        base = self.project_path.parent.absolute() if self.project_path else None
        project = Project.from_dict(data, base, where=self.autosave_path.name)
        project.path = self.project_path
        return project


def autosave_path(autosave_dir: str | os.PathLike, project_path: Path | None,
                  session_id: str) -> Path:
    """One autosave per project file (per session for untitled projects)."""
    key = str(Path(project_path).absolute()) if project_path else f"untitled:{session_id}"
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
    stem = Path(project_path).stem if project_path else "untitled"
    return Path(autosave_dir) / f"{stem}-{digest}{AUTOSAVE_SUFFIX}"


def write_autosave(project: Project, autosave_dir: str | os.PathLike, *, session_id: str,
                   pid: int | None = None) -> Path:
    """Write the project's autosave atomically and return its path.

    ``pid`` marks the file as belonging to a live process, so a second running studio does
    not offer it for recovery.
    """
    dest = autosave_path(autosave_dir, project.path, session_id)
    base = project.path.parent.absolute() if project.path else None
    doc = project.to_dict(base)
    doc["autosave"] = {"project_path": str(project.path.absolute()) if project.path else None,
                       "saved_at": _now(), "pid": os.getpid() if pid is None else pid,
                       "session": session_id}
    write_json_atomic(dest, doc)
    return dest


def discard_autosave(path: str | os.PathLike | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            Path(path).unlink()


def find_recoverable(autosave_dir: str | os.PathLike, *, ignore_session: str | None = None
                     ) -> list[Recovery]:
    """Autosaves whose process is gone, newest first (unreadable ones are skipped: see
    :func:`find_unreadable_autosaves`)."""
    folder = Path(autosave_dir)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.glob("*" + AUTOSAVE_SUFFIX):
        try:
            doc = read_json(p, what="Autosave")
            meta = doc["autosave"]
            if not isinstance(meta, dict):
                continue
        except (OSError, ValueError, KeyError, TypeError, BadInput):
            continue
        if meta.get("session") == ignore_session or process_alive(meta.get("pid")):
            continue
        project_path = Path(meta["project_path"]) if meta.get("project_path") else None
        found.append(Recovery(p, project_path, str(meta.get("saved_at", "")),
                              str(doc.get("name") or "Untitled")))
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


UNREADABLE_SUFFIX = ".unreadable"


def find_unreadable_autosaves(autosave_dir: str | os.PathLike) -> list[tuple[Path, str]]:
    """Autosaves that cannot be read (damaged on disk: they are written atomically), each with
    why. They hold someone's unsaved work, so they are reported, not skipped in silence."""
    folder = Path(autosave_dir)
    if not folder.is_dir():
        return []
    bad = []
    for p in sorted(folder.glob("*" + AUTOSAVE_SUFFIX)):
        try:
            doc = read_json(p, what="Autosave")
        except UnicodeDecodeError:
            bad.append((p, f"Autosave {p} is not text."))
            continue
        except (OSError, BadInput) as e:
            bad.append((p, str(e)))
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("autosave"), dict):
            bad.append((p, f"Autosave {p} has no autosave block; it is not one this app "
                           "wrote whole."))
    return bad


def set_aside_autosave(path: str | os.PathLike) -> Path:
    """Rename an autosave that cannot be used to ``….unreadable``: never offered again, kept
    for a person to look at. Returns the new path."""
    dest = Path(str(path) + UNREADABLE_SUFFIX)
    os.replace(path, dest)
    return dest


def process_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


# -- paths ------------------------------------------------------------------------------------

def _rel(path: Path, base: Path | None) -> str:
    path = Path(path).absolute()
    if base is not None:
        with contextlib.suppress(ValueError):
            return path.relative_to(base).as_posix()
    return str(path)


def _resolve(rel: str | None, absolute: str | None, base: Path | None) -> Path | None:
    """The first of (relative to base, absolute) that exists, or None."""
    candidates = []
    if rel:
        p = Path(rel)
        candidates.append(p if p.is_absolute() or base is None else base / p)
    if absolute:
        candidates.append(Path(absolute))
    for c in candidates:
        try:
            if c.exists():
                return c.resolve()
        except OSError:  # a name no file system takes (too long): no such file either
            continue
    return None
