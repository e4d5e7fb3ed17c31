"""The main window: recording, timeline, layout canvas, preview, render queue, status bar.

It wires the panels to one :class:`StudioDocument` and one :class:`JobQueue`, and turns user
actions into jobs. Every long step (import, plan, render, export, thumbnails, downloads) runs
on a worker thread through the queue; the window only reacts to signals.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSlider,
                               QAbstractSpinBox, QApplication, QComboBox, QDialog, QDockWidget,
                               QHBoxLayout, QLabel, QLineEdit, QMainWindow, QSizePolicy,
                               QToolBar, QToolButton, QVBoxLayout, QWidget)

from engine.audio.stereo_kinds import PANNED, SPACED
from engine.errors import SpA2VError
from engine.project import discard_autosave
from models import readiness
from models.backends import DEFAULT_PLANNER, DEFAULT_RENDERER

from . import accessible, theme
from .canvas import LayoutCanvas
from .dialogs import KeysDialog, SceneDialog, SettingsDialog, fill_backend_combo
from .document import StudioDocument
from .job_actions import SOUND_SUFFIXES, JobActions
from .player import AudioPlayer
from .preview_panel import PreviewPanel
from .project_actions import ProjectActions
from .queue_panel import QueuePanel, format_eta
from .record_panel import STEREO_QUESTION, PanLawCombo, RecordPanel, SpacingBox, StereoCombo
from .model.recording import list_input_devices
from .model.settings import StudioSettings, save_settings
from .model.stereo import heard_as, stereo_choices
from .timeline import TimelineView
from .workers import CANCELLED, RUNNING, JobQueue, QueuedJob


# Narrower than this, the toolbar's buttons drop their names (design: the whole toolbar
# with names needs about 1270 px).
COMPACT_BELOW_PX = 1270


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


def tip_with_keys(a: QAction, tip: str) -> str:
    """``tip`` and the action's keys: "Redo (Ctrl+Y, Ctrl+Shift+Z)"."""
    keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts())
    return f"{tip} ({keys})" if keys else tip


class MainWindow(JobActions, ProjectActions, QMainWindow):
    def __init__(self, settings: StudioSettings, *, stream_factory=None, use_audio_device=True,
                 session_id: str | None = None, list_devices=None):
        """``stream_factory`` and ``list_devices`` stand in for the microphone (tests,
        screenshots); see :class:`.record_panel.RecordPanel`."""
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
        self._make_panels(stream_factory, list_devices)
        self._make_menus_and_toolbar()
        self._make_status_bar()
        self._connect()
        self._stereo_changed(self.doc.stereo)
        self._make_recovery_timer()
        self._update_actions()
        self._update_title()
        self.restore_window_layout()
        self._set_tab_order()
        self._name_for_screen_readers()

    # -- construction -------------------------------------------------------------------------
    def _name_for_screen_readers(self) -> None:
        """Widgets with neither text nor a label were announced as nothing."""
        for widget, name in ((self.canvas, "Layout canvas"),
                             (self.canvas.viewport(), "Layout canvas"),
                             (self.queue_panel.list, "Render queue"),
                             (self.timeline.area, "Timeline"),
                             (self.timeline.canvas, "Timeline")):
            widget.setAccessibleName(name)

    def _set_tab_order(self) -> None:
        """Tab goes as the window reads: the toolbar's fields, the Record panel, the layout
        canvas and its buttons, the render queue, the timeline (it followed the order the
        panels were built in: the queue and timeline before the toolbar, the canvas last)."""
        def focusable(panel: QWidget) -> list[QWidget]:
            return [w for w in panel.findChildren(QWidget)
                    if w.focusPolicy() & Qt.FocusPolicy.TabFocus and w.isVisibleTo(self)]
        chain = []
        for panel in (self.toolbar, self.record_panel, self.editor, self.queue_panel,
                      self.timeline):
            chain += focusable(panel)
        for a, b in zip(chain, chain[1:]):
            QWidget.setTabOrder(a, b)
        # The window starts with the canvas focused, not the chain's first field: Space on a
        # focused combo box opens it (and swallowed Ctrl+R) instead of playing.
        self.canvas.setFocus()

    def panels(self) -> list[tuple[QWidget, QWidget]]:
        """(panel, the control that takes the focus in it), in the window's reading order, for
        the panels in view: the toolbar, the Record panel, the canvas, the queue, the
        timeline (the order Tab goes)."""
        out = []
        for panel, first in ((self.toolbar, self.stereo_combo),
                             (self.record_panel, self.record_panel.device_box),
                             (self.editor, self.canvas),
                             (self.queue_panel, self.queue_panel.list),
                             (self.timeline, self.timeline.area)):
            if panel.isVisible() and first.isVisible() and first.isEnabled():
                out.append((panel, first))
        return out

    def focus_panel(self, step: int) -> None:
        """F6 / Shift+F6: the focus to the next / previous panel."""
        panels = self.panels()
        if not panels:
            return
        focus = QApplication.focusWidget()
        at = next((k for k, (panel, _) in enumerate(panels)
                   if focus is not None and (panel is focus or panel.isAncestorOf(focus))), None)
        k = (0 if step > 0 else len(panels) - 1) if at is None else (at + step) % len(panels)
        panels[k][1].setFocus(Qt.FocusReason.TabFocusReason)

    def _undo_tips(self, *_) -> None:
        stack = self.doc.undo_stack
        for a, word, what in ((self.act_undo, "Undo", stack.undoText()),
                              (self.act_redo, "Redo", stack.redoText())):
            a.setToolTip(tip_with_keys(a, f"{word} {what}".strip()))

    def _action(self, text: str, slot, shortcut=None, icon: str | None = None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:  # a key, or a list of keys
            a.setShortcuts([QKeySequence(k) for k in shortcut] if isinstance(shortcut, list)
                           else [QKeySequence(shortcut)])
        if icon:
            a.setIcon(theme.icon(icon))
        a.setToolTip(tip_with_keys(a, tip or text))
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _make_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.act_new = self._action("New project", self.new_project, K.New)
        self.act_open = self._action("Open project…", self.open_project_dialog, K.Open, "open")
        self.act_recover = self._action(
            "Recover unsaved work…", self.recover_from_menu, None, None,
            "Unsaved work and a cut-off recording left by a session that did not close cleanly")
        self.act_save = self._action("Save project", self.save_project, K.Save, "save")
        self.act_save_as = self._action("Save project as…", self.save_project_as, K.SaveAs)
        self.act_import = self._action("Import audio…", self.import_dialog, "Ctrl+I", "import",
                                       "Import a sound file")
        self.act_export = self._action("Export…", self.export_dialog, "Ctrl+E", "export",
                                       "Export MP4, PNG frames, layout JSON")
        self.act_spatialize = self._action(
            "Spatialize a sound…", self.spatialize_dialog, "Ctrl+Alt+S", None,
            "Place a mono sound along the objects' paths (binaural, KEMAR HRTF)")
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
        # Both, on every platform: QKeySequence.Redo is Ctrl+Y on Windows but Ctrl+Shift+Z on
        # X11, where adding Ctrl+Shift+Z again made the shortcut ambiguous (and dead).
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        self.act_redo.setIcon(theme.icon("redo"))
        # Their text follows the undo stack ("Undo Move box"): so do their tips, with the
        # keys, as every other action's. Bound methods: Qt drops them with the window.
        self.doc.undo_stack.undoTextChanged.connect(self._undo_tips)
        self.doc.undo_stack.redoTextChanged.connect(self._undo_tips)
        self._undo_tips()
        self.addActions([self.act_undo, self.act_redo])
        self.act_add = self._action("Add object", self.add_object, "Ctrl+Shift+A", "add")
        self.act_delete = self._action("Delete object", self.delete_object, K.Delete, "delete")
        # Their own icons: they had Settings' gear and Plan's boxes, beside those buttons.
        self.act_props = self._action("Rename / properties…", self.edit_object, "F2", "rename",
                                      "Rename the selected object, change its prompt or motion")
        self.act_key = self._action("Set / remove keyframe", self.toggle_keyframe, "K", "key",
                                    "Pin the selected box on this frame as a keyframe")
        # The box menu's entry (right-click) had no other way in: not from the keyboard.
        self.act_hide = self._action("Hide on this frame", self.hide_on_frame, None, None,
                                     "Hide the selected object on this frame (a hidden keyframe)")
        self.act_scene = self._action("Scene…", self.edit_scene, None, "scene",
                                      "Edit the caption and background")
        self.act_prev = self._action("Previous frame", lambda: self.step_frame(-1),
                                     "Left", "prev")
        self.act_next = self._action("Next frame", lambda: self.step_frame(1), "Right", "next")
        # The playhead to either end of the clip, as in any player or editor (there was no
        # way but dragging, or Left held for hundreds of frames).
        self.act_start = self._action("Go to the start", lambda: self.seek(0.0), "Home", None,
                                      "Move the playhead to the start of the clip")
        self.act_end = self._action("Go to the end", lambda: self.seek(self.doc.duration_s),
                                    "End", None, "Move the playhead to the end of the clip")
        self.act_settings = self._action("Settings…", self.settings_dialog, "Ctrl+,", "settings")
        self.act_keys = self._action("Keyboard shortcuts", self.keys_dialog, K.HelpContents, None,
                                     "Every key of the studio")
        # The banner went only by a click: from the keyboard it could not be dismissed.
        self.act_dismiss = self._action("Dismiss the message", lambda: self.banner.hide(), "Esc",
                                        None, "Hide the message above the canvas")
        # From panel to panel in one key, as in most editors: Tab walks every control of
        # the Record panel and every job's buttons on the way to the timeline.
        self.act_next_panel = self._action("Next panel", lambda: self.focus_panel(1), "F6", None,
                                           "Move the focus to the next panel")
        self.act_prev_panel = self._action("Previous panel", lambda: self.focus_panel(-1),
                                           "Shift+F6", None,
                                           "Move the focus to the previous panel")
        # The timeline's zoom from anywhere (its own +/- work only while it has the focus,
        # which Tab reaches last and a click on the lanes gives).
        self.act_zoom_in = self._action("Zoom in", lambda: self.timeline.zoom(2.0),
                                        ["Ctrl+=", "Ctrl++"], None, "Zoom the timeline in")
        self.act_zoom_out = self._action("Zoom out", lambda: self.timeline.zoom(0.5), "Ctrl+-",
                                         None, "Zoom the timeline out")
        self.act_zoom_fit = self._action("Show the whole clip", lambda: self.timeline.canvas.fit(),
                                         "Ctrl+0", None, "Fit the whole clip in the timeline")
        # The keyboard's drag: Left/Right step frames, so Shift+arrows move the selected box.
        self.act_nudge = [self._action(f"Move box {name}",
                                       lambda _=False, d=d: self.nudge(*d), key, None,
                                       "Move the selected box by 1 % of the frame")
                          for name, key, d in (("left", "Shift+Left", (-1, 0)),
                                               ("right", "Shift+Right", (1, 0)),
                                               ("up", "Shift+Up", (0, -1)),
                                               ("down", "Shift+Down", (0, 1)))]
        # ... and Ctrl+Shift+arrows move its right and bottom edges: resizing was a drag only.
        self.act_grow = [self._action(f"Make box {name}",
                                      lambda _=False, d=d: self.grow(*d), key, None,
                                      "Move the selected box's right or bottom edge by 1 % of "
                                      "the frame")
                         for name, key, d in (("narrower", "Ctrl+Shift+Left", (-1, 0)),
                                              ("wider", "Ctrl+Shift+Right", (1, 0)),
                                              ("shorter", "Ctrl+Shift+Up", (0, -1)),
                                              ("taller", "Ctrl+Shift+Down", (0, 1)))]
        self.act_cycle = [self._action(text, lambda _=False, s=s: self.select_next(s), key, None,
                                       "Select an object without the mouse")
                          for text, key, s in (("Select next object", "]", 1),
                                               ("Select previous object", "[", -1))]

    def _make_panels(self, stream_factory, list_devices) -> None:
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

        # Rescanning restarts PortAudio, which would cut off a playing output stream.
        self.record_panel = RecordPanel(
            lambda: self.settings.recordings_dir, stream_factory=stream_factory,
            settings=self.settings,
            list_devices=list_devices or (
                lambda: list_input_devices(rescan=self.player.backend != "device"
                                           or not self.player.playing)))
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
            dock.installEventFilter(self)  # keys in a floating panel (eventFilter)
            # Qt's title bar buttons are icons without a tooltip: say what they do, and that
            # the View menu brings a closed panel back.
            for name, tip in (("qt_dockwidget_floatbutton", f"Float the {title} panel in a "
                               "window of its own (double-click its title to dock it again)"),
                              ("qt_dockwidget_closebutton", f"Close the {title} panel "
                               f"(View > {title} brings it back)")):
                button = dock.findChild(QAbstractButton, name)
                if button is not None:
                    button.setToolTip(tip)
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
        m.addActions([self.act_save, self.act_save_as, self.act_recover])
        m.addSeparator()
        m.addActions([self.act_import, self.act_export])
        m.addSeparator()
        m.addActions([self.act_settings, self.act_quit])
        m = mb.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_add, self.act_props, self.act_key, self.act_hide, self.act_delete,
                      self.act_scene])
        # The names the selected object was heard as: the timeline offers them on a right-click
        # of its lane's header only, which no key reaches.
        self.heard_as_menu = m.addMenu("Name as heard")
        self.heard_as_menu.aboutToShow.connect(self._fill_heard_as)
        m.addSeparator()
        m.addActions(self.act_cycle + self.act_nudge + self.act_grow)
        m = mb.addMenu("&Sound")
        m.addActions([self.act_record, self.act_play, self.act_prev, self.act_next,
                      self.act_start, self.act_end])
        m.addSeparator()
        self.stereo_menu = m.addMenu(STEREO_QUESTION)
        self.stereo_menu.setToolTipsVisible(True)
        group = QActionGroup(self)
        self.stereo_actions = {}
        for kind, label, description in stereo_choices():
            act = self.stereo_menu.addAction(label)
            act.setToolTip(description)
            act.setCheckable(True)
            act.setData(kind)
            group.addAction(act)
            act.triggered.connect(lambda _=False, k=kind: self.doc.set_stereo(k))
            self.stereo_actions[kind] = act
        m = mb.addMenu("&Layout")
        m.addActions([self.act_plan, self.act_render, self.act_cancel])
        m.addSeparator()
        m.addAction(self.act_spatialize)
        self.planner_menu = m.addMenu("Planner")
        self.renderer_menu = m.addMenu("Renderer")
        m = mb.addMenu("&View")
        m.addActions([self.act_zoom_in, self.act_zoom_out, self.act_zoom_fit])
        m.addSeparator()
        m.addAction(self.act_dismiss)
        m.addActions([self.act_next_panel, self.act_prev_panel])
        m.addSeparator()
        for dock in self.docks.values():
            m.addAction(dock.toggleViewAction())
        m.addSeparator()
        # The layout view always names its objects; rendered videos only when asked for.
        self.act_video_labels = m.addAction("Object names in rendered videos")
        self.act_video_labels.setCheckable(True)
        self.act_video_labels.setChecked(self.settings.video_labels)
        self.act_video_labels.toggled.connect(self._set_video_labels)
        m = mb.addMenu("&Help")
        m.addAction(self.act_keys)
        m.addSeparator()
        m.addAction("About SpA2V Studio", self._about)

        # Everything must fit 1280 px: short button texts (iconText), combos sized to a dozen
        # characters (their lists show the full names), a hint field that gives way first.
        for action, short in ((self.act_import, "Import"), (self.act_plan, "Plan"),
                              (self.act_export, "Export")):
            action.setIconText(short)
        tb = QToolBar("Main", self)
        tb.setObjectName("toolbar-main")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addActions([self.act_record, self.act_import])
        # How the project's sound was recorded: set before or after an import (a recording
        # brings its input's answer); planning reads the sound as this.
        self.stereo_combo = StereoCombo()
        self.stereo_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.stereo_combo.setMinimumContentsLength(9)
        tb.addWidget(self.stereo_combo)
        # ... and for a spaced pair, how far apart the microphones are (optional).
        self.spacing_box = SpacingBox()
        self.spacing_action = tb.addWidget(self.spacing_box)
        self.spacing_action.setVisible(False)
        # ... and for a pan-pot mix, its pan law (constant power unless said).
        self.pan_law_combo = PanLawCombo()
        self.pan_law_action = tb.addWidget(self.pan_law_combo)
        self.pan_law_action.setVisible(False)
        # The Record panel asks the same of its input: said apart by a screen reader.
        for box in (self.stereo_combo, self.spacing_box, self.pan_law_combo):
            box.setAccessibleName(f"{box.accessibleName()} (the project's sound)")
        tb.addSeparator()
        tb.addAction(self.act_play)
        tb.addSeparator()
        self.hint_edit = QLineEdit()
        self.hint_edit.setPlaceholderText("What is sounding? e.g. 'a red car' (optional)")
        self.hint_edit.setToolTip("What is sounding? e.g. 'a red car' (optional): the planner "
                                  "uses it to name the sound")
        self.hint_edit.setAccessibleName("What is sounding?")
        self.hint_edit.setMinimumWidth(150)
        self.hint_edit.setMaximumWidth(340)
        self.hint_edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        # Enter after typing what is sounding plans with it (it did nothing: Ctrl+L was needed).
        self.hint_edit.returnPressed.connect(
            lambda: self.act_plan.isEnabled() and self.act_plan.trigger())
        tb.addWidget(self.hint_edit)
        self.planner_combo = QComboBox()
        self.planner_combo.setToolTip("Planner")
        self.planner_combo.setAccessibleName("Planner")  # no label: said as its value
        tb.addWidget(self.planner_combo)
        tb.addAction(self.act_plan)
        tb.addSeparator()
        self.renderer_combo = QComboBox()
        self.renderer_combo.setToolTip("Renderer")
        self.renderer_combo.setAccessibleName("Renderer")
        tb.addWidget(self.renderer_combo)
        for combo in (self.planner_combo, self.renderer_combo):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        tb.addActions([self.act_render, self.act_export])
        tb.addSeparator()
        tb.addActions([self.act_undo, self.act_redo])
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        tb.addAction(self.act_settings)
        for a in (self.act_undo, self.act_redo, self.act_settings, self.act_play):
            w = tb.widgetForAction(a)
            if w is not None:
                w.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.addToolBar(tb)
        self.toolbar = tb
        # Below ~1150 px the last buttons move behind Qt's overflow button, whose stock arrow is
        # dark on this dark theme: give it a visible one.
        more = tb.findChild(QToolButton, "qt_toolbar_ext_button")
        if more is not None:
            more.setIcon(theme.icon("next"))
            more.setToolTip("More actions")
        self.refresh_backends()

    def _make_status_bar(self) -> None:
        sb = self.statusBar()
        self.status_job = QLabel("Ready")
        self.status_backend = QLabel("")
        self.status_stereo = QLabel("")
        self.status_stereo.setToolTip(STEREO_QUESTION + " What the sound was read as")
        sb.addWidget(self.status_job, 1)
        sb.addPermanentWidget(self.status_stereo)
        sb.addPermanentWidget(self.status_backend)
        self._update_status()

    def _connect(self) -> None:
        d = self.doc
        d.message.connect(self.show_message)
        d.dirty_changed.connect(lambda _: self._update_title())
        d.path_changed.connect(self._update_title)
        d.layout_changed.connect(self._update_actions)
        d.audio_changed.connect(self._audio_changed)
        d.sound_needed.connect(self._read_sound_again)
        d.stereo_changed.connect(self._stereo_changed)
        d.layout_changed.connect(self._update_heard_as)
        d.cues_changed.connect(self._update_heard_as)
        self.stereo_combo.currentIndexChanged.connect(
            lambda _: self.doc.set_stereo(self.stereo_combo.kind()))
        self.spacing_box.valueChanged.connect(
            lambda _: self.doc.set_spacing_m(self.spacing_box.spacing_m()))
        self.pan_law_combo.currentIndexChanged.connect(
            lambda _: self.doc.set_pan_law(self.pan_law_combo.pan_law()))
        self.record_panel.stereo_changed.connect(lambda _: self._save_settings())
        d.selection_changed.connect(lambda _: self._update_actions())
        d.time_changed.connect(lambda _: self._update_actions())
        # Any change worth keeping asks for a recovery copy (written a moment later). Bound
        # methods, not lambdas: Qt drops them with the window, before the undo stack's
        # teardown emits.
        for sig in (d.undo_stack.indexChanged, d.dirty_changed, d.renders_changed,
                    d.audio_changed):
            sig.connect(self.schedule_recovery)
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
            self.banner.setText(f"{text}   (click or Esc to dismiss)")
            self.banner.show()
            self.banner.setAccessibleName("Warning" if level == "warning" else "Error")
            accessible.announce(self.banner)

    def refresh_backends(self) -> None:
        for combo in (self.planner_combo, self.renderer_combo):
            combo.blockSignals(True)
        fill_backend_combo(self.planner_combo, readiness.planners(self.settings.llm_model_path), self.settings.planner)
        fill_backend_combo(self.renderer_combo, readiness.renderers(), self.settings.renderer)
        for combo in (self.planner_combo, self.renderer_combo):
            combo.blockSignals(False)
        for menu, items, attr in ((self.planner_menu, readiness.planners(self.settings.llm_model_path), "planner"),
                                  (self.renderer_menu, readiness.renderers(), "renderer")):
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
        self.settings.planner = self.planner_combo.currentData() or DEFAULT_PLANNER
        self.settings.renderer = self.renderer_combo.currentData() or DEFAULT_RENDERER
        # The combos are narrow on a laptop screen: the full name is in the tooltip.
        self.planner_combo.setToolTip(f"Planner: {self.planner_combo.currentText()}")
        self.renderer_combo.setToolTip(f"Renderer: {self.renderer_combo.currentText()}")
        self._update_status()

    def _update_status(self) -> None:
        if hasattr(self, "status_backend"):
            self.status_backend.setText(
                f"Planner: {self.settings.planner}   ·   Renderer: {self.settings.renderer}   ·   "
                f"Device: {readiness.device_summary(self.settings.device)}"
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
        self.act_start.setEnabled(self.doc.duration_s > 0)
        self.act_end.setEnabled(self.doc.duration_s > 0)
        self.act_add.setEnabled(self.doc.duration_s > 0)
        for a in (self.act_delete, self.act_props, self.act_key, self.act_hide, *self.act_nudge,
                  *self.act_grow):
            a.setEnabled(selected)
        self.heard_as_menu.setEnabled(selected)
        for a in self.act_cycle:
            a.setEnabled(bool(have_layout and self.doc.layout.objects))
        self.act_scene.setEnabled(have_layout)
        self.act_prev.setEnabled(have_layout or self.doc.cues is not None)
        self.act_next.setEnabled(have_layout or self.doc.cues is not None)

    def _audio_changed(self) -> None:
        audio = self.doc.audio
        self.player.set_audio(None if audio is None else audio.samples,
                              audio.sample_rate if audio is not None else 48000)
        self._update_actions()

    def _read_sound_again(self, path) -> None:
        if path.exists():
            self.import_audio(path, attach_only=True)
        else:
            self.show_message(f"{path} is not there any more: import it again to play, plan "
                              "or render.", "warning")

    def _stereo_changed(self, kind: str) -> None:
        self.stereo_combo.set_kind(kind)
        self.stereo_actions[kind].setChecked(True)
        self.spacing_box.set_spacing_m(self.doc.spacing_m)
        self.spacing_action.setVisible(kind == SPACED)
        self.pan_law_combo.set_pan_law(self.doc.pan_law)
        self.pan_law_action.setVisible(kind == PANNED)

    def _update_heard_as(self, *_) -> None:
        """The status bar says how the sound was read: the plan's decision, else the import's."""
        lay, cues = self.doc.layout, self.doc.cues
        decision = lay.extra.get("stereo") if lay is not None else None
        if decision is None and cues is not None:
            decision = cues.stereo
        self.status_stereo.setText(heard_as(decision))

    def _playing_changed(self, playing: bool) -> None:
        self.act_play.setIcon(theme.icon("pause" if playing else "play"))
        self._update_status()

    def _recording_changed(self, recording: bool) -> None:
        self.act_record.setText("Stop recording" if recording else "Record")
        self.act_record.setIcon(theme.icon("stop", theme.RECORD) if recording else theme.icon("record"))

    def _job_changed(self, job: QueuedJob) -> None:
        running = [j for j in self.queue.running() if not j.helper] or self.queue.running()
        if running:
            j = running[-1]
            # The queue's wording: "2734 s left" here, "45 min 34 s left" in the queue.
            self.status_job.setText(f"{j.title}: {j.fraction:.0%}"
                                    + (f", {format_eta(j.eta_s)}" if j.eta_s else ""))
        elif job.state == CANCELLED and not job.helper:
            # Say what became of it: the progress line would otherwise just read "Ready".
            self.status_job.setText(f"Cancelled: {job.title}"
                                    + ("; no file was written" if job.kind == "render" else ""))
        else:
            self.status_job.setText("Ready")
        if job.kind == "render" and job.done:
            self.preview.show_live(None)

    def _job_preview(self, job: QueuedJob, image) -> None:
        if job.kind in ("render", "export"):
            self.preview.show_live(image, f"{job.title} · {job.fraction:.0%}")

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

    def nudge(self, dx: int, dy: int) -> None:
        if self.doc.selected_id >= 0 and self.doc.layout is not None:
            self._guard(self.doc.nudge_box, self.doc.selected_id, self.doc.current_frame(), dx, dy)

    def grow(self, dw: int, dh: int) -> None:
        if self.doc.selected_id >= 0 and self.doc.layout is not None:
            self._guard(self.doc.grow_box, self.doc.selected_id, self.doc.current_frame(), dw, dh)

    def step_frame(self, delta: int) -> None:
        """Left / Right: to the previous or next layout frame, playing on from there when
        playing (the player's next tick put the playhead back where the sound was)."""
        self.doc.step_frame(delta)
        if self.player.playing:
            self.player.seek(self.doc.time_s)

    def select_next(self, step: int) -> None:
        ids = [o.id for o in self.doc.layout.objects] if self.doc.layout is not None else []
        if ids:
            at = ids.index(self.doc.selected_id) if self.doc.selected_id in ids else -step
            self.doc.select(ids[(at + step) % len(ids)])

    def hide_on_frame(self) -> None:
        if self.doc.selected_id >= 0 and self.doc.layout is not None:
            self._guard(self.doc.hide_box, self.doc.selected_id, self.doc.current_frame())

    def _fill_heard_as(self) -> None:
        menu = self.heard_as_menu
        menu.clear()
        lay, oid = self.doc.layout, self.doc.selected_id
        if lay is not None and oid in {o.id for o in lay.objects}:
            self.timeline.canvas.heard_menu(lay.object(oid), menu)

    def toggle_keyframe(self) -> None:
        from .model.layout_edit import keyframes
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

    def settings_dialog(self) -> None:
        dl = readiness.downloads()
        dlg = SettingsDialog(self.settings, self, download=self.download_model if dl.ready else None)
        shown = self.settings.models_dir
        if dlg.exec() == QDialog.DialogCode.Accepted:
            dlg.apply()
            # Only a folder the user changed here replaces the one in use: an SPA2V_MODELS_DIR
            # set for this run (not what the field shows) was replaced by OK on any setting.
            if self.settings.models_dir != shown:
                os.environ["SPA2V_MODELS_DIR"] = self.settings.models_dir
            self.refresh_backends()
            self._save_settings()

    def _set_video_labels(self, on: bool) -> None:
        self.settings.video_labels = bool(on)
        self._save_settings()

    def keys_dialog(self) -> KeysDialog:
        """Help > Keyboard shortcuts (F1): beside the window, not in its way."""
        dlg = getattr(self, "_keys_dialog", None)
        if dlg is None:
            dlg = self._keys_dialog = KeysDialog(self.menuBar(), self)
        dlg.fill()
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()
        return dlg

    def _about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        from engine.rendering.pictograms import ATTRIBUTION

        QMessageBox.about(self, "About SpA2V Studio",
                          "SpA2V Studio turns stereo sound into a video whose objects sit and "
                          f"move where the sound says.\n\n{ATTRIBUTION} "
                          "See resources/pictograms/LICENCE.txt.")

    def restore_window_layout(self) -> None:
        """The size, place and panels the window had when it was last closed."""
        from PySide6.QtCore import QByteArray
        # A hand-edited or damaged value is ignored (Qt refuses what it cannot read), as any
        # bad preference is: it must not stop the studio from starting.
        s = self.settings
        if s.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(s.window_geometry.encode("ascii", "ignore")))
        if s.window_state:
            self.restoreState(QByteArray.fromBase64(s.window_state.encode("ascii", "ignore")))

    def keep_window_layout(self) -> None:
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode("ascii")
        self.settings.window_state = bytes(self.saveState().toBase64()).decode("ascii")

    def _save_settings(self) -> None:
        try:
            save_settings(self.settings)
        except OSError as e:
            self.statusBar().showMessage(f"Could not save settings: {e}", 8000)

    # -- window events ------------------------------------------------------------------------
    def _key_for_the_focused_control(self, event) -> bool:
        """Space presses the button, ticks the box or opens the list that has the focus,
        as everywhere: it played the sound instead (Play's key is the window's, and a button
        leaves Space to shortcuts), so a user who Tabbed to Record or Clear finished could not
        press it. Elsewhere (the canvas, the timeline, the queue) Space plays. Home and End
        likewise stay a focused list's, table's, spin box's or scroll bar's (its first and
        last entry). Delete deletes the selected box only where boxes are: with the focus in
        the render queue or the Record panel it deleted a box the user was not looking at.
        True when ``event`` (a ShortcutOverride, which the focused control leaves to its
        window) is taken so."""
        if event.type() != QEvent.Type.ShortcutOverride \
                or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if event.key() == Qt.Key.Key_Delete:
            focus = QApplication.focusWidget()
            away = [getattr(self, name, None) for name in ("queue_panel", "record_panel")]
            if focus is not None and any(p is not None and (p is focus or p.isAncestorOf(focus))
                                         for p in away):
                event.accept()  # not a shortcut: the key goes to the focused control
                return True
            return False
        users = {Qt.Key.Key_Space: (QAbstractButton, QComboBox),
                 Qt.Key.Key_Home: (QComboBox, QAbstractItemView, QAbstractSpinBox,
                                   QAbstractSlider),
                 Qt.Key.Key_End: (QComboBox, QAbstractItemView, QAbstractSpinBox,
                                  QAbstractSlider)}.get(event.key())
        if users and isinstance(QApplication.focusWidget(), users):
            event.accept()  # not a shortcut: the key goes to the focused control
            return True
        return False

    def event(self, event) -> bool:
        return self._key_for_the_focused_control(event) or super().event(event)

    def eventFilter(self, watched, event) -> bool:
        """A floating panel is a window of its own, where the focused control's events stop:
        the same rule for Space, Home and End there."""
        return self._key_for_the_focused_control(event) or super().eventFilter(watched, event)

    def resizeEvent(self, event) -> None:
        """Below :data:`COMPACT_BELOW_PX` the toolbar's buttons show their icons only (their
        names stay in the tooltips; Render keeps its name, its icon being Play's) and its
        fields narrow, so that Render, Export, Undo and Redo stay in view on a 1024 px screen
        instead of going behind the overflow arrow."""
        super().resizeEvent(event)
        compact = self.width() < COMPACT_BELOW_PX
        style = (Qt.ToolButtonStyle.ToolButtonIconOnly if compact
                 else Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (self.act_record, self.act_import, self.act_plan, self.act_export):
            button = self.toolbar.widgetForAction(a)
            if button is not None and button.toolButtonStyle() != style:
                button.setToolButtonStyle(style)
        self.hint_edit.setMinimumWidth(90 if compact else 150)
        for combo in (self.planner_combo, self.renderer_combo):
            combo.setMinimumContentsLength(9 if compact else 12)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not files:
            return
        event.acceptProposedAction()
        self.open_dropped(files)

    def open_dropped(self, files: list[Path]) -> None:
        """Several files dropped at once: a project holds one sound, so the first project,
        else the first sound, is opened, and the banner names those left out (the first file
        was taken whatever it was: a text file beside a WAV was refused, the WAV ignored)."""
        kinds = ((".spa2v",), SOUND_SUFFIXES)
        chosen = next((f for suffixes in kinds for f in files if f.suffix.lower() in suffixes),
                      files[0])
        rest = [f.name for f in files if f != chosen]
        if chosen.suffix.lower() == ".spa2v":
            if not self.maybe_keep_changes():
                return
            self.banner.hide()  # an older message, about another project
            if not self.open_project(chosen):
                return  # its error stays in view
        else:
            self.banner.hide()  # an older message, about another sound
            self.settings.remember_folder(chosen)
            self.import_audio(chosen)
        if rest:
            self.show_message(f"Opened {chosen.name} only (a project holds one sound); not "
                              f"opened: {', '.join(rest)}.", "warning")

    def end_keeping_work(self, code: int) -> None:
        """The system ends the app (SIGTERM, SIGHUP): no questions. A recording is stopped
        and left for the next start to offer, the unsaved project's recovery copy is written
        now and kept (a clean close removes it), then the event loop ends with ``code``."""
        from PySide6.QtWidgets import QApplication
        if self.record_panel.recording:
            self.record_panel.stop(offer_at_next_start=True)
        self.autosave()
        self.autosave_file = None  # kept for the next start: nothing may discard it now
        self.player.stop()
        self.keep_window_layout()
        self._save_settings()
        QApplication.instance().exit(code)

    def ask_stop_recording(self) -> bool:
        """Closing while recording: True when the user says stop (the recording is then kept
        for the next start to offer), False to go on recording."""
        from PySide6.QtWidgets import QMessageBox
        rec = self.record_panel.recorder
        answer = QMessageBox.question(
            self, "Stop recording?",
            f"A recording is running ({self.record_panel.elapsed.text()}). Stop it and quit? "
            f"What was recorded stays in {rec.path} and is offered at the next start.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def ask_cancel_jobs(self) -> bool:
        """Closing with renders, exports or downloads not finished: True when the user says
        cancel them and quit (a 20-minute render was cancelled without a word)."""
        from PySide6.QtWidgets import QMessageBox
        pending = [j for j in self.queue.jobs if not j.done and not j.helper]
        if not pending:
            return True
        names = "; ".join(f"{j.title} ({j.fraction:.0%})" if j.state == RUNNING else
                          f"{j.title} (waiting)" for j in pending[:4])
        more = f" and {len(pending) - 4} more" if len(pending) > 4 else ""
        answer = QMessageBox.question(
            self, "Cancel the unfinished jobs?",
            f"Not finished: {names}{more}. Quit and cancel them? Nothing half-written is left "
            "behind; a cancelled render or export can be run again later.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:
        if self.record_panel.recording and not self.ask_stop_recording():
            event.ignore()
            return
        if not self.ask_cancel_jobs():
            event.ignore()  # the jobs, and a recording if any, go on
            return
        if not self.maybe_keep_changes():
            event.ignore()  # the recording, if any, goes on
            return
        if self.record_panel.recording:
            # The window is going: an import would never finish, so the next start offers it.
            self.record_panel.stop(offer_at_next_start=True)
        self.player.stop()
        self.queue.wait_all(10)
        discard_autosave(self.autosave_file)
        self.keep_window_layout()
        self._save_settings()
        event.accept()
