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
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cues.types import Cues
from .errors import BadInput, LayoutError
from .fileio import write_json_atomic
from .layout import Layout

PROJECT_SCHEMA = "spa2v.project/1"
PROJECT_VERSION = 1
PROJECT_SUFFIX = ".spa2v"
AUTOSAVE_SUFFIX = ".autosave.json"


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
        return cls(path=_resolve(d.get("path"), d.get("path_abs"), base) or Path(d["path"]),
                   renderer=str(d.get("renderer", "preview")),
                   created=str(d.get("created", "")), settings=dict(d.get("settings", {})))


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
        if not isinstance(d, dict) or d.get("schema") != PROJECT_SCHEMA:
            got = d.get("schema") if isinstance(d, dict) else type(d).__name__
            raise BadInput(f"{where} is not a SpA2V project (schema {got!r}).",
                           hint="Open a .spa2v file saved by SpA2V Studio.")
        version = d.get("version", 1)
        if not isinstance(version, int) or version > PROJECT_VERSION:
            raise BadInput(f"{where} was saved by a newer SpA2V Studio (version {version!r}).",
                           hint="Update SpA2V Studio to open it.")
        notes: list[str] = []
        audio_path = None
        if d.get("audio"):
            a = d["audio"]
            audio_path = _resolve(a.get("path"), a.get("path_abs"), base)
            if audio_path is None:
                audio_path = Path(a.get("path_abs") or a.get("path"))
                notes.append(f"The project's audio {audio_path} is missing; import it again "
                             "to play, plan or render.")
        cues = None
        if d.get("cues") is not None:
            try:
                cues = Cues.from_dict(d["cues"])
            except (KeyError, TypeError, ValueError) as e:
                notes.append(f"The stored cues could not be read ({e}); plan again to remeasure.")
        layout = None
        if d.get("layout") is not None:
            try:
                layout = Layout.from_dict(d["layout"])
            except LayoutError as e:
                raise BadInput(f"{where} holds a broken layout: {e.message}",
                               hint="Fix the field in the file, or plan again.") from None
        settings = d.get("settings") or {}
        if not isinstance(settings, dict):
            raise BadInput(f"{where}: field 'settings' must be an object.")
        renders = []
        for r in d.get("renders") or []:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                renders.append(RenderRecord.from_dict(r, base))
        return cls(audio_path=audio_path, cues=cues, layout=layout, renders=renders,
                   settings=settings, name=str(d.get("name") or "Untitled"), notes=notes)


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
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f"{path.name} is not a readable project file ({e}).",
                       hint="Open an autosave or a backup of it instead.") from None
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
        data = json.loads(self.autosave_path.read_text(encoding="utf-8"))
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
    """Autosaves whose process is gone, newest first (unreadable ones are skipped)."""
    folder = Path(autosave_dir)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.glob("*" + AUTOSAVE_SUFFIX):
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            meta = doc["autosave"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if meta.get("session") == ignore_session or _alive(meta.get("pid")):
            continue
        project_path = Path(meta["project_path"]) if meta.get("project_path") else None
        found.append(Recovery(p, project_path, str(meta.get("saved_at", "")),
                              str(doc.get("name") or "Untitled")))
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


def _alive(pid: Any) -> bool:
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
        if c.exists():
            return c
    return None
