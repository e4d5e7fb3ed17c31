"""The main window: recording, timeline, layout canvas, preview, render queue, status bar.

It wires the panels to one :class:`StudioDocument` and one :class:`JobQueue`, and turns user
actions into jobs. Every long step (import, plan, render, export, thumbnails, downloads) runs
on a worker thread through the queue; the window only reacts to signals.
"""

from __future__ import annotations

import copy
import os
import uuid
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDialog, QDockWidget, QFileDialog, QHBoxLayout,
                               QLabel, QLineEdit, QMainWindow, QMessageBox, QToolBar,
                               QToolButton, QVBoxLayout, QWidget)

from engine.errors import SpA2VError
from engine.layout import save_layout
from engine.pipeline import PlanSettings
from engine.project import discard_autosave, find_recoverable, write_autosave
from engine.protocols import RenderSettings

from . import availability, tasks, theme
from .canvas import LayoutCanvas
from .dialogs import ExportDialog, ExportRequest, SceneDialog, SettingsDialog, fill_backend_combo
from .document import StudioDocument
from .paths import autosave_dir, data_dir
from .player import AudioPlayer
from .preview_panel import PREVIEW_SIDE, PreviewPanel
from .queue_panel import QueuePanel
from .record_panel import RecordPanel
from .secrets import gemini_key
from .settings import StudioSettings, save_settings
from .timeline import TimelineView
from .workers import JobQueue, QueuedJob, to_qimage

AUDIO_PATTERNS = ("*.wav *.flac *.ogg *.oga *.opus *.mp3 *.m4a *.aac *.aif *.aiff *.w64 *.caf "
                  "*.rf64 *.wma *.webm *.mka *.mp4 *.mov *.mkv")
PROJECT_FILTER = "SpA2V project (*.spa2v)"


class LayoutEditor(QWidget):
    """The canvas with its toolbar: frame stepping, add/delete/rename, keyframes, scene."""

    def __init__(self, window: "MainWindow"):
        super().__init__(window)
        self.doc = window.doc
        self.canvas = LayoutCanvas(self.doc, self)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 0)
        for action in (window.act_prev, window.act_next):
            bar.addWidget(self._button(action))
        self.frame_label = QLabel("")
        self.frame_label.setMinimumWidth(150)
        bar.addWidget(self.frame_label)
        bar.addStretch(1)
        for action in (window.act_add, window.act_props, window.act_key, window.act_delete,
                       window.act_scene):
            bar.addWidget(self._button(action))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.canvas, 1)
        self.doc.time_changed.connect(self._update_label)
        self.doc.layout_changed.connect(self._update_label)
        self._update_label()

    @staticmethod
    def _button(action: QAction) -> QToolButton:
        b = QToolButton()
        b.setDefaultAction(action)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        b.setAutoRaise(True)
        return b

    def _update_label(self, *_) -> None:
        lay = self.doc.layout
        if lay is None:
            self.frame_label.setText(f"{self.doc.time_s:.2f} s")
        else:
            self.frame_label.setText(f"Frame {self.doc.current_frame() + 1}/{lay.num_frames}"
                                     f"  ·  {self.doc.time_s:.2f} s")


class MainWindow(QMainWindow):
    def __init__(self, settings: StudioSettings, *, stream_factory=None, use_audio_device=True,
                 session_id: str | None = None):
        super().__init__()
        self.settings = settings
        os.environ.setdefault("SPA2V_MODELS_DIR", settings.models_dir)
        self.session_id = session_id or uuid.uuid4().hex[:12]
        self.doc = StudioDocument(self)
        self.queue = JobQueue(self)
        self.player = AudioPlayer(self, use_device=use_audio_device)
        self.autosave_file: Path | None = None
        self._warned: set[str] = set()
        self.last_message = ("", "info")
        self.setWindowTitle("SpA2V Studio")
        self.setAcceptDrops(True)
        self.resize(1440, 900)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)
        self._make_actions()
        self._make_panels(stream_factory)
        self._make_menus_and_toolbar()
        self._make_status_bar()
        self._connect()
        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start(settings.autosave_s * 1000)
        self._update_actions()
        self._update_title()

    # -- construction -------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, icon: str | None = None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if icon:
            a.setIcon(theme.icon(icon))
        shortcut_text = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        a.setToolTip(f"{tip or text} ({shortcut_text})" if shortcut_text else (tip or text))
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _make_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.act_new = self._action("New project", self.new_project, K.New)
        self.act_open = self._action("Open project…", self.open_project_dialog, K.Open, "open")
        self.act_save = self._action("Save project", self.save_project, K.Save, "save")
        self.act_save_as = self._action("Save project as…", self.save_project_as, K.SaveAs)
        self.act_import = self._action("Import audio…", self.import_dialog, "Ctrl+I", "import",
                                       "Import a sound file")
        self.act_export = self._action("Export…", self.export_dialog, "Ctrl+E", "export",
                                       "Export MP4, PNG frames, layout JSON")
        self.act_quit = self._action("Quit", self.close, K.Quit)
        self.act_record = self._action("Record", self.toggle_record, "Ctrl+R", "record",
                                       "Start or stop recording")
        self.act_plan = self._action("Plan layout", self.plan, "Ctrl+L", "plan",
                                     "Plan a layout from the sound")
        self.act_render = self._action("Render", self.render, "Ctrl+Return", "render",
                                       "Render the layout to a video")
        self.act_cancel = self._action("Cancel running job", self.cancel_running, "Ctrl+.",
                                       "cancel")
        self.act_play = self._action("Play / pause", self.toggle_play, Qt.Key.Key_Space, "play")
        self.act_undo = self.doc.undo_stack.createUndoAction(self, "Undo")
        self.act_undo.setShortcut(K.Undo)
        self.act_undo.setIcon(theme.icon("undo"))
        self.act_redo = self.doc.undo_stack.createRedoAction(self, "Redo")
        self.act_redo.setShortcuts([QKeySequence(K.Redo), QKeySequence("Ctrl+Shift+Z")])
        self.act_redo.setIcon(theme.icon("redo"))
        self.addActions([self.act_undo, self.act_redo])
        self.act_add = self._action("Add object", self.add_object, "Ctrl+Shift+A", "add")
        self.act_delete = self._action("Delete object", self.delete_object, K.Delete, "delete")
        self.act_props = self._action("Rename / properties…", self.edit_object, "F2", "settings",
                                      "Rename the selected object, change its prompt or motion")
        self.act_key = self._action("Set / remove keyframe", self.toggle_keyframe, "K", "key",
                                    "Pin the selected box on this frame as a keyframe")
        self.act_scene = self._action("Scene…", self.edit_scene, None, "plan",
                                      "Edit the caption and background")
        self.act_prev = self._action("Previous frame", lambda: self.doc.step_frame(-1),
                                     "Left", "prev")
        self.act_next = self._action("Next frame", lambda: self.doc.step_frame(1), "Right", "next")
        self.act_settings = self._action("Settings…", self.settings_dialog, "Ctrl+,", "settings")

    def _make_panels(self, stream_factory) -> None:
        self.editor = LayoutEditor(self)
        self.canvas = self.editor.canvas
        self.banner = QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.banner.mousePressEvent = lambda e: self.banner.hide()
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 0)
        lay.addWidget(self.banner)
        lay.addWidget(self.editor, 1)
        self.setCentralWidget(central)

        self.record_panel = RecordPanel(lambda: self.settings.recordings_dir,
                                        stream_factory=stream_factory)
        self.preview = PreviewPanel(self.doc)
        self.queue_panel = QueuePanel(self.queue)
        self.timeline = TimelineView(self.doc)
        self.docks = {}
        for key, title, widget, area in (
                ("record", "Record", self.record_panel, Qt.DockWidgetArea.LeftDockWidgetArea),
                ("preview", "Preview", self.preview, Qt.DockWidgetArea.RightDockWidgetArea),
                ("queue", "Render queue", self.queue_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                ("timeline", "Timeline", self.timeline, Qt.DockWidgetArea.BottomDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{key}")
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable)
            self.addDockWidget(area, dock)
            self.docks[key] = dock
        self.record_panel.setMinimumWidth(250)
        self.resizeDocks([self.docks["record"], self.docks["preview"]], [270, 380],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["timeline"]], [370], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["preview"], self.docks["queue"]], [320, 260],
                         Qt.Orientation.Vertical)

    def _make_menus_and_toolbar(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions([self.act_new, self.act_open])
        self.recent_menu = m.addMenu("Open recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        # QMenu.triggered passes the QAction (a per-action lambda would get a bool).
        self.recent_menu.triggered.connect(self._open_recent)
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addActions([self.act_import, self.act_export])
        m.addSeparator()
        m.addActions([self.act_settings, self.act_quit])
        m = mb.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_add, self.act_props, self.act_key, self.act_delete, self.act_scene])
        m = mb.addMenu("&Sound")
        m.addActions([self.act_record, self.act_play, self.act_prev, self.act_next])
        m = mb.addMenu("&Layout")
        m.addActions([self.act_plan, self.act_render, self.act_cancel])
        self.planner_menu = m.addMenu("Planner")
        self.renderer_menu = m.addMenu("Renderer")
        m = mb.addMenu("&View")
        for dock in self.docks.values():
            m.addAction(dock.toggleViewAction())

        tb = QToolBar("Main", self)
        tb.setObjectName("toolbar-main")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addActions([self.act_record, self.act_import])
        tb.addSeparator()
        tb.addAction(self.act_play)
        tb.addSeparator()
        self.hint_edit = QLineEdit()
        self.hint_edit.setPlaceholderText("What is sounding? e.g. 'a red car' (optional)")
        self.hint_edit.setMinimumWidth(240)
        self.hint_edit.setMaximumWidth(340)
        tb.addWidget(self.hint_edit)
        self.planner_combo = QComboBox()
        self.planner_combo.setToolTip("Planner")
        tb.addWidget(self.planner_combo)
        tb.addAction(self.act_plan)
        tb.addSeparator()
        self.renderer_combo = QComboBox()
        self.renderer_combo.setToolTip("Renderer")
        tb.addWidget(self.renderer_combo)
        tb.addActions([self.act_render, self.act_export])
        tb.addSeparator()
        tb.addActions([self.act_undo, self.act_redo])
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy())
        tb.addWidget(spacer)
        tb.addAction(self.act_settings)
        for a in (self.act_undo, self.act_redo, self.act_settings, self.act_play):
            w = tb.widgetForAction(a)
            if w is not None:
                w.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.addToolBar(tb)
        self.toolbar = tb
        self.refresh_backends()

    def _make_status_bar(self) -> None:
        sb = self.statusBar()
        self.status_job = QLabel("Ready")
        self.status_backend = QLabel("")
        sb.addWidget(self.status_job, 1)
        sb.addPermanentWidget(self.status_backend)
        self._update_status()

    def _connect(self) -> None:
        d = self.doc
        d.message.connect(self.show_message)
        d.dirty_changed.connect(lambda _: self._update_title())
        d.path_changed.connect(self._update_title)
        d.layout_changed.connect(self._update_actions)
        d.audio_changed.connect(self._audio_changed)
        d.selection_changed.connect(lambda _: self._update_actions())
        d.time_changed.connect(lambda _: self._update_actions())
        self.timeline.canvas.seek.connect(self.seek)
        self.player.position_changed.connect(d.set_time)
        self.player.playing_changed.connect(self._playing_changed)
        self.record_panel.recorded.connect(self._recorded)
        self.record_panel.message.connect(self.show_message)
        self.record_panel.recording_changed.connect(self._recording_changed)
        self.queue.changed.connect(self._job_changed)
        self.queue.log.connect(lambda job, msg, lvl: self.show_message(msg, lvl))
        self.queue.preview.connect(self._job_preview)
        self.planner_combo.currentIndexChanged.connect(self._backend_chosen)
        self.renderer_combo.currentIndexChanged.connect(self._backend_chosen)

    # -- messages and state -------------------------------------------------------------------
    def show_message(self, text: str, level: str = "info") -> None:
        colors = {"info": ("#1f3a2a", "#b6f0c8"), "warning": ("#3d3114", "#ffd98a"),
                  "error": ("#451c1f", "#ffb3b5")}
        bg, fg = colors.get(level, colors["info"])
        self.statusBar().showMessage(text, 8000)
        self.last_message = (text, level)
        # The banner says each warning once per session (a missing tagger is not news twice);
        # errors always show, since they answer what the user just did.
        if level == "warning" and text in self._warned:
            return
        self._warned.add(text)
        if level != "info":
            self.banner.setStyleSheet(f"background:{bg}; color:{fg};")
            self.banner.setText(f"{text}   (click to dismiss)")
            self.banner.show()

    def refresh_backends(self) -> None:
        for combo in (self.planner_combo, self.renderer_combo):
            combo.blockSignals(True)
        fill_backend_combo(self.planner_combo, availability.planners(), self.settings.planner)
        fill_backend_combo(self.renderer_combo, availability.renderers(), self.settings.renderer)
        for combo in (self.planner_combo, self.renderer_combo):
            combo.blockSignals(False)
        for menu, items, attr in ((self.planner_menu, availability.planners(), "planner"),
                                  (self.renderer_menu, availability.renderers(), "renderer")):
            menu.clear()
            menu.setToolTipsVisible(True)
            for a in items:
                act = menu.addAction(a.title + ("" if a.ready else " (unavailable)"))
                act.setEnabled(a.ready)
                act.setToolTip(a.reason)
                act.setCheckable(True)
                act.setChecked(getattr(self.settings, attr) == a.name)
                act.triggered.connect(lambda _=False, n=a.name, at=attr: self._choose(at, n))
        self._backend_chosen()

    def _choose(self, attr: str, name: str) -> None:
        combo = self.planner_combo if attr == "planner" else self.renderer_combo
        combo.setCurrentIndex(combo.findData(name))

    def _backend_chosen(self, *_) -> None:
        self.settings.planner = self.planner_combo.currentData() or "heuristic"
        self.settings.renderer = self.renderer_combo.currentData() or "preview"
        self._update_status()

    def _update_status(self) -> None:
        if hasattr(self, "status_backend"):
            self.status_backend.setText(
                f"Planner: {self.settings.planner}   ·   Renderer: {self.settings.renderer}   ·   "
                f"Device: {availability.device_summary(self.settings.device)}"
                + ("" if self.player.backend != "clock" else "   ·   Audio: silent"))

    def _update_title(self) -> None:
        self.setWindowTitle(f"{'• ' if self.doc.dirty else ''}{self.doc.title} — SpA2V Studio")

    def _update_actions(self) -> None:
        have_audio = self.doc.project.audio_path is not None and self.doc.audio is not None
        have_layout = self.doc.layout is not None
        selected = have_layout and self.doc.selected_id >= 0
        self.act_plan.setEnabled(have_audio)
        self.act_render.setEnabled(have_layout)
        self.act_export.setEnabled(have_layout)
        self.act_play.setEnabled(have_audio)
        self.act_add.setEnabled(self.doc.duration_s > 0)
        for a in (self.act_delete, self.act_props, self.act_key):
            a.setEnabled(selected)
        self.act_scene.setEnabled(have_layout)
        self.act_prev.setEnabled(have_layout)
        self.act_next.setEnabled(have_layout)

    def _audio_changed(self) -> None:
        audio = self.doc.audio
        self.player.set_audio(None if audio is None else audio.samples,
                              audio.sample_rate if audio is not None else 48000)
        self._update_actions()

    def _playing_changed(self, playing: bool) -> None:
        self.act_play.setIcon(theme.icon("pause" if playing else "play"))
        self._update_status()

    def _recording_changed(self, recording: bool) -> None:
        self.act_record.setText("Stop recording" if recording else "Record")
        self.act_record.setIcon(theme.icon("stop", theme.RECORD) if recording else theme.icon("record"))

    def _job_changed(self, job: QueuedJob) -> None:
        running = self.queue.running()
        if running:
            j = running[-1]
            self.status_job.setText(f"{j.title}: {j.fraction:.0%}"
                                    + (f", {int(j.eta_s)} s left" if j.eta_s else ""))
        else:
            self.status_job.setText("Ready")
        if job.kind == "render" and job.done:
            self.preview.show_live(None)

    def _job_preview(self, job: QueuedJob, image) -> None:
        if job.kind in ("render", "export"):
            self.preview.show_live(image, f"{job.title} · {job.fraction:.0%}")

    # -- sound --------------------------------------------------------------------------------
    def toggle_record(self) -> None:
        self.record_panel.toggle()

    def _recorded(self, result) -> None:
        if result.error:
            self.show_message(f"{result.error} The {result.duration_s:.1f} s recorded so far are "
                              f"kept in {result.path}.", "warning")
        if result.frames > 0:
            self.import_audio(result.path)

    def import_audio(self, path: str | Path, *, attach_only: bool = False) -> QueuedJob:
        """Read a sound file on a worker: waveform, cues; then it becomes the project's audio."""
        path = Path(path)

        def done(result: tasks.ImportResult) -> None:
            if attach_only:
                self.doc.attach_audio(result)
            else:
                self.doc.apply_import(result)
                self.timeline.canvas.fit()
            for note in result.notes:
                self.show_message(note, "warning")
            self.statusBar().showMessage(f"Imported {path.name} ({result.audio.duration_s:.1f} s)", 5000)

        return self.queue.submit("import", f"Import {path.name}",
                                 lambda token: tasks.import_job(path, token),
                                 concurrent=True, on_finished=done,
                                 on_failed=lambda m: self.show_message(m, "error"))

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import audio", str(Path.home()),
                                              f"Audio ({AUDIO_PATTERNS});;All files (*)")
        if path:
            self.import_audio(path)

    def toggle_play(self) -> None:
        if self.doc.audio is None:
            return
        self.player.toggle(None if self.player.playing else self.doc.time_s)

    def seek(self, t: float) -> None:
        self.doc.set_time(t)
        self.player.seek(self.doc.time_s)

    # -- plan, render, export -----------------------------------------------------------------
    def plan(self) -> QueuedJob | None:
        audio_path = self.doc.project.audio_path
        if audio_path is None:
            self.show_message("Record or import a sound first.", "warning")
            return None
        settings = PlanSettings(num_frames=self.settings.plan_frames,
                                hint=self.hint_edit.text().strip() or None)
        planner = self.settings.planner
        llm, key = self.settings.llm_model_path, gemini_key() if planner == "gemini" else None
        self.doc.project.settings.update(plan_frames=settings.num_frames, hint=settings.hint,
                                         planner=planner)

        def done(result) -> None:
            layout, _cues = result
            self.doc.apply_plan(layout)
            self.statusBar().showMessage(f"Planned {len(layout.objects)} object(s) with "
                                         f"{layout.planner.name}", 5000)

        def make(token):
            result = yield from tasks.studio_plan_job(audio_path, settings, token,
                                                      planner=planner, llm_model_path=llm,
                                                      api_key=key)
            tasks.warm_backdrops(result[0], PREVIEW_SIDE)
            return result

        return self.queue.submit(
            "plan", f"Plan ({planner})", make,
            on_finished=done, on_failed=lambda m: self.show_message(m, "error"))

    def render_settings(self, renderer: str | None = None, fps: float | None = None) -> RenderSettings:
        s = self.settings
        return RenderSettings(renderer=renderer or s.renderer, fps=fps or s.video_fps,
                              seed=s.seed, steps=s.steps, memory_tier=s.memory_tier)

    def default_render_path(self) -> Path:
        base = self.doc.project.path.parent / "renders" if self.doc.project.path else data_dir() / "renders"
        stem = self.doc.project.name or "untitled"
        k = len(self.doc.project.renders) + 1
        while (base / f"{stem}-{k}.mp4").exists():
            k += 1
        return base / f"{stem}-{k}.mp4"

    def render(self, out_path: str | Path | None = None, *, renderer: str | None = None,
               fps: float | None = None) -> QueuedJob | None:
        layout = self.doc.layout
        if layout is None:
            self.show_message("Plan a layout (Ctrl+L) or add an object first.", "warning")
            return None
        out = Path(out_path) if out_path else self.default_render_path()
        settings = self.render_settings(renderer, fps)
        layout = layout.validate()  # a snapshot: later edits do not change this job
        layout = copy.deepcopy(layout)
        audio_path = self.doc.project.audio_path
        device = self.settings.device

        def done(path) -> None:
            self.doc.add_render(Path(path), settings.renderer, {"fps": settings.fps,
                                                                "seed": settings.seed})
            self.statusBar().showMessage(f"Rendered {Path(path).name}", 5000)
            self.load_thumbnails(Path(path))

        return self.queue.submit(
            "render", f"Render {out.name} ({settings.renderer})",
            lambda token: tasks.studio_render_job(audio_path, layout, out, settings, token,
                                                  device=device),
            on_finished=done, on_failed=lambda m: self.show_message(m, "error"))

    def load_thumbnails(self, video: Path) -> QueuedJob:
        def make(token):
            # QImages are made on the worker too: 160 conversions would stall the window.
            thumbs = yield from tasks.thumbnails_job(video, token)
            return [(t, to_qimage(img)) for t, img in zip(thumbs.times_s, thumbs.images)]
        return self.queue.submit("thumbnails", f"Thumbnails of {video.name}", make,
                                 concurrent=True, on_finished=self.doc.set_thumbnails)

    def cancel_running(self) -> None:
        for job in self.queue.running():
            self.queue.cancel(job)

    def export_dialog(self) -> None:
        if self.doc.layout is None:
            return
        folder = self.doc.project.path.parent if self.doc.project.path else Path.home()
        base = folder / (self.doc.project.name or "untitled")
        dlg = ExportDialog(base, renderer=self.settings.renderer, fps=self.settings.video_fps,
                           can_reuse=self.doc.render_is_current(self.doc.latest_render()),
                           parent=self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.export(dlg.request())

    def export(self, req: ExportRequest) -> list[QueuedJob]:
        """Write what was asked: the layout JSON now, the video and frames as queued jobs."""
        jobs: list[QueuedJob] = []
        layout = self.doc.layout
        if layout is None:
            return jobs
        try:
            if req.layout_json is not None:
                save_layout(layout, req.layout_json)
                self.show_message(f"Wrote the layout to {req.layout_json}")
            if req.mp4 is not None:
                rec = self.doc.latest_render()
                if req.reuse_render and self.doc.render_is_current(rec):
                    jobs.append(self.queue.submit(
                        "export", f"Export {req.mp4.name}",
                        lambda token: _copy_job(rec.path, req.mp4),
                        on_failed=lambda m: self.show_message(m, "error")))
                else:
                    jobs.append(self.render(req.mp4, renderer=req.renderer, fps=req.fps))
            if req.frames_dir is not None:
                snap, settings = copy.deepcopy(layout), self.render_settings(req.renderer, req.fps)
                jobs.append(self.queue.submit(
                    "export", f"Export frames to {req.frames_dir.name}",
                    lambda token: tasks.png_frames_job(snap, req.frames_dir, settings, token,
                                                       device=self.settings.device),
                    on_finished=lambda p: self.show_message(f"Wrote PNG frames to {p}"),
                    on_failed=lambda m: self.show_message(m, "error")))
        except SpA2VError as e:
            self.show_message(str(e), "error")
        return jobs

    # -- layout edits -------------------------------------------------------------------------
    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except SpA2VError as e:
            self.show_message(str(e), "error")

    def add_object(self) -> None:
        self._guard(self.doc.add_object)

    def delete_object(self) -> None:
        if self.doc.selected_id >= 0:
            self._guard(self.doc.delete_object, self.doc.selected_id)

    def edit_object(self) -> None:
        if self.doc.selected_id >= 0:
            self.canvas.edit_object(self.doc.selected_id)

    def toggle_keyframe(self) -> None:
        from .layout_edit import keyframes
        oid = self.doc.selected_id
        if oid < 0 or self.doc.layout is None:
            return
        frame = self.doc.current_frame()
        if frame in keyframes(self.doc.layout.object(oid)):
            self._guard(self.doc.remove_keyframe, oid, frame)
        else:
            self._guard(self.doc.set_keyframe, oid, frame)

    def edit_scene(self) -> None:
        lay = self.doc.layout
        if lay is None:
            return
        dlg = SceneDialog(lay.caption, lay.background, self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self._guard(lambda: self.doc.update_scene(caption=dlg.caption.text(),
                                                      background=dlg.background.text()))

    # -- projects -----------------------------------------------------------------------------
    def new_project(self) -> None:
        if self.maybe_keep_changes():
            self.player.stop()
            discard_autosave(self.autosave_file)
            self.doc.new_project()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent:
            act = self.recent_menu.addAction(path)
            act.setEnabled(Path(path).exists())
            act.setData(path)
        if not self.settings.recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def _open_recent(self, action) -> None:
        path = action.data()
        if path and self.maybe_keep_changes():
            self.open_project(path)

    def open_project_dialog(self) -> None:
        if not self.maybe_keep_changes():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open project", str(Path.home()), PROJECT_FILTER)
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
        start = str(self.doc.project.path or Path.home() / f"{self.doc.project.name}.spa2v")
        path, _ = QFileDialog.getSaveFileName(self, "Save project", start, PROJECT_FILTER)
        return self._save_to(Path(path)) if path else False

    def _save_to(self, path: Path) -> bool:
        try:
            dest = self.doc.save(path)
        except (SpA2VError, OSError) as e:
            self.show_message(f"Could not save the project: {e}", "error")
            return False
        discard_autosave(self.autosave_file)
        self.autosave_file = None
        self.settings.add_recent(dest)
        self.statusBar().showMessage(f"Saved {dest}", 5000)
        return True

    def autosave(self) -> Path | None:
        """Write the autosave if there are unsaved changes (a timer calls this)."""
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
            self.show_message(f"Could not recover {recovery.autosave_path.name}: {e}", "error")
            return False
        self.doc.set_project(project, dirty=True)
        self._after_project_loaded(project)
        discard_autosave(recovery.autosave_path)
        self.autosave()
        self.show_message(f"Recovered unsaved work from {recovery.saved_at}. Save it to keep it.",
                          "warning")
        return True

    def offer_recovery(self) -> None:
        found = self.recoverable()
        if not found:
            return
        r = found[0]
        answer = QMessageBox.question(
            self, "Recover unsaved work?",
            f"SpA2V Studio did not close cleanly. Recover “{r.name}” from {r.saved_at}?",
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

    def settings_dialog(self) -> None:
        dl = availability.downloads()
        dlg = SettingsDialog(self.settings, self, download=self.download_model if dl.ready else None)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            dlg.apply()
            os.environ["SPA2V_MODELS_DIR"] = self.settings.models_dir
            self.autosave_timer.start(self.settings.autosave_s * 1000)
            self.refresh_backends()
            self._save_settings()

    def download_model(self, name: str) -> QueuedJob:
        def make(token):
            from models.download import download_job
            return download_job(name, token=token)
        return self.queue.submit("download", f"Download {name}", make,
                                 on_finished=lambda _: self.refresh_backends(),
                                 on_failed=lambda m: self.show_message(m, "error"))

    def _save_settings(self) -> None:
        try:
            save_settings(self.settings)
        except OSError as e:
            self.statusBar().showMessage(f"Could not save settings: {e}", 8000)

    # -- window events ------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not files:
            return
        event.acceptProposedAction()
        first = files[0]
        if first.suffix.lower() == ".spa2v":
            if self.maybe_keep_changes():
                self.open_project(first)
        else:
            self.import_audio(first)

    def closeEvent(self, event) -> None:
        if self.record_panel.recording:
            self.record_panel.stop()
        if not self.maybe_keep_changes():
            event.ignore()
            return
        self.player.stop()
        self.queue.wait_all(10)
        discard_autosave(self.autosave_file)
        self._save_settings()
        event.accept()


def _copy_job(src: Path, dest: Path):
    from engine.jobs import Progress
    yield Progress("export", 0.0)
    tasks.copy_file_atomic(src, dest)
    yield Progress("export", 1.0, 0.0)
    return dest
