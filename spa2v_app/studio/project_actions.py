"""The window's project actions: new, open, recent, save, recovery copies and crash recovery.

A mixin of :class:`.main_window.MainWindow`. Files are written atomically by
:mod:`engine.project`. A recovery copy (the engine's autosave) is written a moment after each
change, debounced: :data:`RECOVERY_DELAY_MS` after the last edit, and at least every
:data:`RECOVERY_MAX_WAIT_S` during a long run of edits (a drag), so a crash loses at most a
second or so of work without writing the file on every mouse move.
"""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from engine.errors import SpA2VError
from engine.project import (PROJECT_SUFFIX, discard_autosave, find_recoverable,
                            find_unreadable_autosaves, set_aside_autosave, write_autosave)

from .model.paths import autosave_dir
from .model.recording import find_cut_off_recordings
from .model.stereo import known_pan_law, known_spacing, known_stereo

PROJECT_FILTER = "SpA2V project (*.spa2v)"
RECOVERY_DELAY_MS = 1000
RECOVERY_MAX_WAIT_S = 5.0


def local_time(iso: str) -> str:
    """An ISO timestamp (as the engine writes them, in UTC) in the user's local time."""
    try:
        when = _dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso or "an unknown time"
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    when = when.astimezone()
    day = "today" if when.date() == _dt.datetime.now().astimezone().date() else \
        when.strftime("%a %d %b %Y")
    return f"{day} at {when.strftime('%H:%M:%S')}"


def describe_recovery(recovery) -> str:
    """“scene.spa2v” for a saved project; for an untitled one, which sound it was made from."""
    if recovery.project_path is not None:
        return f"“{recovery.project_path.name}”"
    try:
        audio = recovery.load().audio_path
    except Exception:  # an unreadable copy still gets offered; loading it will say why
        audio = None
    return "an untitled project" + (f" made from {audio.name}" if audio else "")


class ProjectActions:
    """Project file actions of the main window (needs its doc, settings and player)."""

    # -- projects -----------------------------------------------------------------------------
    def new_project(self) -> None:
        if self.maybe_keep_changes():
            self.player.stop()
            discard_autosave(self.autosave_file)
            self.doc.new_project()

    def _fill_recent(self) -> None:
        """The name first, then its folder (a full path each, cut at the menu's edge, hid the
        names); a project that is gone says so; the list can be cleared."""
        self.recent_menu.clear()
        for path in self.settings.recent:
            p = Path(path)
            there = p.exists()
            act = self.recent_menu.addAction(f"{p.name}   —   {p.parent}"
                                             + ("" if there else "   (not found)"))
            act.setEnabled(there)
            act.setToolTip(path)
            act.setData(path)
        if not self.settings.recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
            return
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear the list").triggered.connect(self.clear_recent)

    def clear_recent(self) -> None:
        self.settings.recent = []
        self._save_settings()

    def _open_recent(self, action) -> None:
        path = action.data()
        if path and self.maybe_keep_changes():
            self.open_project(path)

    def open_project_dialog(self) -> None:
        if not self.maybe_keep_changes():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open project",
                                              str(self.settings.start_folder()), PROJECT_FILTER)
        if path:
            self.open_project(path)

    def open_project(self, path: str | Path) -> bool:
        try:
            project = self.doc.load_project(path)
        except SpA2VError as e:
            self.show_message(str(e), "error")
            return False
        self._after_project_loaded(project)
        self.settings.add_recent(path)
        self._save_settings()  # the recent list outlives a crash
        return True

    def _after_project_loaded(self, project) -> None:
        self.player.stop()
        if project.audio_path is not None and project.audio_path.exists():
            self.import_audio(project.audio_path, attach_only=True)
        rec = self.doc.latest_render()
        if rec is not None:
            self.load_thumbnails(rec.path)
        self._update_actions()

    def save_project(self) -> bool:
        if self.doc.project.path is None:
            return self.save_project_as()
        return self._save_to(self.doc.project.path)

    def save_project_as(self) -> bool:
        start = str(self.doc.project.path
                    or self.settings.start_folder() / f"{self.doc.project.name}.spa2v")
        path, _ = QFileDialog.getSaveFileName(self, "Save project", start, PROJECT_FILTER)
        if not path:
            return False
        dest = Path(path)
        if dest.suffix.lower() != PROJECT_SUFFIX:
            # The file dialog asked about "scene", which is not there; "scene.spa2v", which
            # the save writes, may be: it was replaced without a word.
            dest = dest.with_name(dest.name + PROJECT_SUFFIX)
            if dest.exists() and QMessageBox.question(
                    self, "Replace the project?",
                    f"{dest.name} already exists in {dest.parent}. Replace it?",
                    QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel) \
                    != QMessageBox.StandardButton.Yes:
                return False
        return self._save_to(dest)

    def _save_to(self, path: Path) -> bool:
        try:
            dest = self.doc.save(path)
        except (SpA2VError, OSError) as e:
            # Say what to do: the reason alone ("File exists", a full disk) left the user with
            # unsaved work and no way on.
            text = str(e).rstrip()
            self.show_message(f"Could not save the project: {text}{'' if text.endswith('.') else '.'} "
                              "Save it somewhere else with Save as… (Ctrl+Shift+S); until then "
                              "the recovery copy keeps your changes.", "error")
            self.autosave()
            return False
        discard_autosave(self.autosave_file)
        self.autosave_file = None
        self.settings.add_recent(dest)
        self._save_settings()
        self.statusBar().showMessage(f"Saved {dest}", 5000)
        return True

    def _make_recovery_timer(self) -> None:
        self._recovery_due_since: float | None = None
        self.recovery_timer = QTimer(self)
        self.recovery_timer.setSingleShot(True)
        self.recovery_timer.setInterval(RECOVERY_DELAY_MS)
        self.recovery_timer.timeout.connect(lambda: self.autosave())

    def schedule_recovery(self, *_) -> None:
        """A change happened: write the recovery copy once the edits pause."""
        if not self.doc.dirty:
            return
        now = time.monotonic()
        if self._recovery_due_since is None:
            self._recovery_due_since = now
        if now - self._recovery_due_since >= RECOVERY_MAX_WAIT_S:
            self.autosave()
        else:
            self.recovery_timer.start()  # restarts: the copy waits for a pause in the edits

    def autosave(self) -> Path | None:
        """Write the recovery copy if there are unsaved changes."""
        self._recovery_due_since = None
        self.recovery_timer.stop()
        if not self.doc.dirty:
            return None
        try:
            path = write_autosave(self.doc.project, autosave_dir(), session_id=self.session_id)
        except (OSError, ValueError, SpA2VError) as e:
            self.statusBar().showMessage(f"Autosave failed: {e}", 8000)
            return None
        if self.autosave_file is not None and self.autosave_file != path:
            discard_autosave(self.autosave_file)
        self.autosave_file = path
        return path

    def recoverable(self):
        return find_recoverable(autosave_dir(), ignore_session=self.session_id)

    def recover(self, recovery) -> bool:
        """Load an autosave left by a session that crashed; it stays unsaved (dirty)."""
        try:
            project = recovery.load()
        except (OSError, ValueError, SpA2VError) as e:
            self.show_message(f"Could not recover {recovery.autosave_path.name}: {e} "
                              f"{self._set_aside(recovery.autosave_path)}", "error")
            return False
        self.doc.set_project(project, dirty=True)
        self._after_project_loaded(project)
        discard_autosave(recovery.autosave_path)
        self.autosave()
        self.show_message(f"Recovered unsaved work saved {local_time(recovery.saved_at)}. "
                          "Save it to keep it.", "warning")
        return True

    def offer_recovery(self) -> None:
        """At start: the unsaved work of a session that did not close cleanly, then the
        recording it was making, if any (the recording becomes the project's sound, as it
        would have when stopped)."""
        self._offer_project_recovery()
        self.offer_cut_off_recording()

    def waiting_recovery(self) -> bool:
        """Is there work left by a session that did not close cleanly?"""
        return bool(self.recoverable() or find_unreadable_autosaves(autosave_dir())
                    or find_cut_off_recordings(self.settings.recordings_dir))

    def mention_recovery(self) -> None:
        """The studio was started on a file, so nothing was offered: say that something
        waits, and where to get it (it stays until then)."""
        if self.waiting_recovery():
            self.show_message("Unsaved work or a cut-off recording from a session that did not "
                              "close cleanly is waiting: File > Recover unsaved work… brings it "
                              "back.", "warning")

    def recover_from_menu(self) -> None:
        if not self.waiting_recovery():
            self.show_message("Nothing to recover: every session closed cleanly.", "info")
        elif self.maybe_keep_changes():
            self.offer_recovery()

    def offer_cut_off_recording(self) -> None:
        """Offer back the newest recording cut off by the end of an earlier session; it is
        imported read as its input was set up. Older ones (several sessions ended while
        recording) are named in the same question, since a project holds one sound: each was
        offered at a later start only, one start per recording."""
        found = find_cut_off_recordings(self.settings.recordings_dir)
        if not found:
            return
        cut, older = found[0], found[1:]
        also = "" if not older else (
            f"\n\nEarlier cut-off recordings are kept too (open them with Import): "
            + "; ".join(f"{o.path} ({o.duration_s:.1f} s)" for o in older) + ".")
        answer = QMessageBox.question(
            self, "Open the cut-off recording?",
            f"SpA2V Studio stopped while recording. The {cut.duration_s:.1f} s recorded are "
            f"kept in {cut.path}. Open it?{also}",
            QMessageBox.StandardButton.Open | QMessageBox.StandardButton.No)
        for c in found:
            c.forget()
        if answer != QMessageBox.StandardButton.Open:
            self.show_message(f"The cut-off recording is kept in {cut.path}.", "info")
            return
        about = cut.about
        stereo = known_stereo(about.get("stereo"))
        self.import_audio(cut.path, stereo=stereo, spacing_m=known_spacing(about.get("spacing_m")),
                          pan_law=known_pan_law(about.get("pan_law")))

    def _set_aside(self, path: Path) -> str:
        """Keep an unusable recovery copy out of every later start's way; say where it is."""
        try:
            return f"It is kept as {set_aside_autosave(path)}."
        except OSError as e:
            return f"It could not be set aside ({e})."

    def _offer_project_recovery(self) -> None:
        for path, problem in find_unreadable_autosaves(autosave_dir()):
            self.show_message(f"A recovery copy of unsaved work could not be read: {problem} "
                              f"{self._set_aside(path)}", "error")
        found = self.recoverable()
        if not found:
            return
        r = found[0]
        answer = QMessageBox.question(
            self, "Recover unsaved work?",
            f"SpA2V Studio did not close cleanly. Recover {describe_recovery(r)}, as it was "
            f"{local_time(r.saved_at)}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard)
        if answer == QMessageBox.StandardButton.Yes:
            self.recover(r)
        else:
            discard_autosave(r.autosave_path)

    def maybe_keep_changes(self) -> bool:
        """True when it is fine to drop the current project (saved, or the user said so)."""
        if not self.doc.dirty:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.doc.title}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save_project()
        return answer == QMessageBox.StandardButton.Discard
