"""Export and settings dialogs, and the small scene dialog (caption and background)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog,
                               QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox,
                               QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from models import readiness

from .accessible import name_control, name_form_fields
from .model.secrets import BadKey, KeyringUnavailable, gemini_key_source, store_gemini_key
from .model.settings import DEVICES, MEMORY_TIERS, VIDEO_SIZES, StudioSettings, parse_size


MODEL_COLUMNS = ("Model", "Role", "Needed for", "Size", "State", "")


def with_suffix_added(base: Path, suffix: str) -> Path:
    """``base`` with ``suffix`` appended: ``take.01`` -> ``take.01.mp4`` (``with_suffix`` would
    give ``take.mp4``, another file)."""
    return base.with_name(base.name + suffix)


def _path_row(edit: QLineEdit, browse) -> QWidget:
    w = QWidget()
    row = QHBoxLayout(w)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, 1)
    b = QPushButton("Browse…")
    b.clicked.connect(browse)
    row.addWidget(b)
    return w


def fill_backend_combo(combo: QComboBox, items: list[readiness.Readiness], current: str) -> None:
    """One entry per backend; unavailable ones are disabled with the reason as tooltip."""
    combo.clear()
    model = combo.model()
    for k, a in enumerate(items):
        combo.addItem(a.title, a.name)
        combo.setItemData(k, a.reason, Qt.ItemDataRole.ToolTipRole)
        if not a.ready:
            model.item(k).setEnabled(False)
            combo.setItemText(k, f"{a.title} (unavailable)")
    names = [a.name for a in items if a.ready]
    combo.setCurrentIndex([a.name for a in items].index(current if current in names else names[0]))


@dataclass
class ExportRequest:
    mp4: Path | None
    frames_dir: Path | None
    layout_json: Path | None
    renderer: str
    fps: float
    reuse_render: bool
    size: tuple[int, int] | None = None  # width, height of the video and frames; None: the layout's


class ExportDialog(QDialog):
    def __init__(self, base: Path, *, renderer: str, fps: float, can_reuse: bool,
                 size: str = "", layout_size: tuple[int, int] = (512, 512),
                 render_size: str | None = None, parent: QWidget | None = None):
        """``size``: the frame size last chosen ("WxH", "" for the layout's own,
        ``layout_size``); ``render_size``: the size of the last render, which "Use the last
        render" copies (only when the size asked for is that one)."""
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setMinimumWidth(520)
        self.mp4_on = QCheckBox("Video (MP4, with the original audio)")
        self.mp4_on.setChecked(True)
        self.mp4 = QLineEdit(str(with_suffix_added(base, ".mp4")))
        self.frames_on = QCheckBox("Frames (one PNG per video frame)")
        self.frames = QLineEdit()
        self.json_on = QCheckBox("Layout (spa2v.vsl/1 JSON)")
        self.json_on.setChecked(True)
        self.json = QLineEdit()
        # The frames folder and the JSON go beside the MP4 and follow it when it moves, until
        # the user picks a place for them.
        self._own = {self.frames: False, self.json: False}
        self._confirmed: set[Path] = set()  # files Browse… already asked to replace
        for edit in self._own:
            edit.textEdited.connect(lambda _=None, e=edit: self._own.__setitem__(e, True))
        self.mp4.textChanged.connect(self._follow_mp4)
        self._follow_mp4(self.mp4.text())
        self.renderer = QComboBox()
        fill_backend_combo(self.renderer, readiness.renderers(), renderer)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(fps)
        self.fps.setSuffix(" fps")
        # Frame size: before, a video was always the layout's size (512 x 512 when planned
        # here), while video makers post 16:9 HD and phones' upright 9:16.
        self.size = QComboBox()
        own = f"{layout_size[0] // 2 * 2}x{layout_size[1] // 2 * 2}"
        if own not in dict(map(reversed, VIDEO_SIZES)):
            w, h = own.split("x")
            self.size.addItem(f"The layout's, {w} × {h}", own)
        for text, key in VIDEO_SIZES:
            self.size.addItem(text, key)
        self.size.setCurrentIndex(max(0, self.size.findData(size or own)))
        self.size.setToolTip("Width × height of the video and the frames")
        self._render_size = render_size
        self.reuse = QCheckBox("Use the last render (it matches the layout): no re-rendering")
        self.reuse.setVisible(can_reuse)
        self.reuse.setChecked(can_reuse)
        self.size.currentIndexChanged.connect(self._size_changed)
        self._size_changed()
        form = QFormLayout(self)
        rows = ((self.mp4, "Video file", lambda: self._save_as(self.mp4, "MP4 (*.mp4)")),
                (self.frames, "Frames folder", self._pick_folder),
                (self.json, "Layout file", lambda: self._save_as(self.json, "JSON (*.json)")))
        paths = {}
        for edit, name, browse in rows:  # "File" twice: named apart for a screen reader
            paths[edit] = _path_row(edit, browse)
            name_control(paths[edit], name)
        form.addRow(self.mp4_on)
        form.addRow("   File", paths[self.mp4])
        form.addRow(self.reuse)
        form.addRow(self.frames_on)
        form.addRow("   Folder", paths[self.frames])
        form.addRow(self.json_on)
        form.addRow("   File", paths[self.json])
        form.addRow("Renderer", self.renderer)
        form.addRow("Frame size", self.size)
        form.addRow("Frame rate", self.fps)
        note = QLabel("Files appear only when complete; the render queue shows progress.")
        note.setObjectName("hint")
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        name_form_fields(form)

    def _size_changed(self, _=None) -> None:
        """The last render is copied only at its own size: another size is rendered anew."""
        same = self._render_size is None or self.size.currentData() == self._render_size
        self.reuse.setEnabled(same)
        self.reuse.setToolTip("" if same else f"The last render is {self._render_size}: "
                              "another size is rendered anew")

    def _follow_mp4(self, text: str) -> None:
        mp4 = Path(text.strip() or "untitled.mp4")
        if not self._own[self.frames]:
            self.frames.setText(str(mp4.parent / f"{mp4.stem}_frames"))
        if not self._own[self.json]:
            self.json.setText(str(mp4.with_suffix(".json")))

    def _save_as(self, edit: QLineEdit, filt: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export to", edit.text(), filt)
        if path:
            self._confirmed.add(Path(path))
            if edit in self._own:
                self._own[edit] = True
            edit.setText(path)

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Parent folder for the frames",
                                                str(Path(self.frames.text()).parent))
        if path:
            self._own[self.frames] = True
            self.frames.setText(str(Path(path) / Path(self.frames.text()).name))

    def accept(self) -> None:
        """Export, after asking before a file that is there is replaced (the names were typed
        or proposed, and no file dialog has asked)."""
        req = self.request()
        there = [p for p in (req.mp4, req.layout_json)
                 if p is not None and p.is_file() and p not in self._confirmed]
        if there:
            names = " and ".join(p.name for p in there)
            answer = QMessageBox.question(
                self, "Replace?", f"{names} already {'exist' if len(there) > 1 else 'exists'} "
                f"in {there[0].parent}. Replace {'them' if len(there) > 1 else 'it'}?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return  # the dialog stays open for another name
        super().accept()

    def request(self) -> ExportRequest:
        return ExportRequest(
            mp4=Path(self.mp4.text()) if self.mp4_on.isChecked() else None,
            frames_dir=Path(self.frames.text()) if self.frames_on.isChecked() else None,
            layout_json=Path(self.json.text()) if self.json_on.isChecked() else None,
            renderer=self.renderer.currentData(), fps=self.fps.value(),
            reuse_render=self.reuse.isVisible() and self.reuse.isEnabled()
            and self.reuse.isChecked(),
            size=parse_size(self.size.currentData()))

    def chosen_size(self) -> str:
        """The frame size chosen, "WxH" (what the settings remember)."""
        return self.size.currentData()


class SceneDialog(QDialog):
    def __init__(self, caption: str, background: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Scene")
        self.setMinimumWidth(460)
        form = QFormLayout(self)
        self.caption = QLineEdit(caption)
        self.background = QLineEdit(background)
        self.background.setToolTip("Where it happens: 'a city street', 'a forest'")
        form.addRow("Caption", self.caption)
        form.addRow("Background", self.background)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


# Keys that are no action of a menu's: a panel's own, Qt's.
OTHER_KEYS = (
    ("Canvas", "The selected box's menu (keyframe, hide, delete)", "Menu / Shift+F10"),
    ("Canvas", "During a drag: put the box back", "Esc"),
    ("Timeline", "Zoom in / out while the timeline has the focus", "+ / -"),
    ("Record panel", "How was this recorded? (then Up / Down)", "Alt+D"),
    ("Everywhere", "Move the focus to the next / previous control", "Tab / Shift+Tab"),
    ("Everywhere", "Press the focused button, tick the box, open the list", "Space"),
    ("Dialogs", "The default button (OK, Export) / Cancel", "Enter / Esc"),
)


def menu_keys(menubar) -> list[tuple[str, str, str]]:
    """(menu, action, keys) for every action of ``menubar``'s menus that has keys, in menu
    order (submenus too): the list is read from the actions, so it cannot fall out of step."""
    rows = []

    def walk(title: str, menu) -> None:
        for a in menu.actions():
            if a.menu() is not None:
                walk(title, a.menu())
            elif a.shortcuts():
                keys = " or ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                                   for k in a.shortcuts())
                rows.append((title, a.text().replace("&", "").rstrip("…"), keys))
    for top in menubar.actions():
        if top.menu() is not None:
            walk(top.text().replace("&", ""), top.menu())
    return rows


class KeysDialog(QDialog):
    """Help > Keyboard shortcuts: every key of the window, by menu (there was no list in the
    app: the keys were only beside the menu entries and in tooltips)."""

    def __init__(self, menubar, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(620, 560)
        self.menubar = menubar
        table = QTableWidget(0, 3)
        table.setHorizontalHeaderLabels(("Where", "What it does", "Keys"))
        table.setAccessibleName("Keyboard shortcuts")
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setTabKeyNavigation(False)  # Tab leaves the table for Close, not cell by cell
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(table)
        lay.addWidget(buttons)
        self.fill()

    def fill(self) -> None:
        """The keys as the menus have them now."""
        rows = menu_keys(self.menubar) + list(OTHER_KEYS)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))

    def rows(self) -> list[tuple[str, ...]]:
        t = self.table
        return [tuple(t.item(r, c).text() for c in range(3)) for r in range(t.rowCount())]


def gemini_sending_note() -> str:
    """What goes to Google with Gemini, said as it is (issue 15): the audio is the sound file
    itself, byte for byte, tags and all, within the inline limit (models.gemini_planner)."""
    from models.gemini_planner import MAX_INLINE_AUDIO_BYTES
    return ("The key is kept in the OS keyring, never in a file. With Gemini the measured cues "
            "and your hint are sent to Google; while the box below is ticked, the sound file "
            "too, as it is on disk: with any tags it carries (title, artist, place), up to "
            f"{MAX_INLINE_AUDIO_BYTES // 2**20} MB (a larger file or a video is not sent).")


class SettingsDialog(QDialog):
    """Models (folder, downloads), compute (device, memory tier), planner (choice, LLM file,
    Gemini key in the OS keyring), general (recordings folder)."""

    def __init__(self, settings: StudioSettings, parent: QWidget | None = None, *,
                 download=None):
        """``download(name)`` queues a model download (None: downloads unavailable)."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumSize(620, 440)
        self.settings = settings
        self.download = download
        tabs = QTabWidget()
        tabs.addTab(self._models_page(), "Models")
        tabs.addTab(self._compute_page(), "Compute")
        tabs.addTab(self._planner_page(), "Planner")
        tabs.addTab(self._general_page(), "General")
        self.tabs = tabs
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(tabs)
        lay.addWidget(buttons)

    # -- pages --------------------------------------------------------------------------------
    def _models_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        form = QFormLayout()
        self.models_dir = QLineEdit(self.settings.models_dir)
        form.addRow("Models folder", _path_row(self.models_dir, lambda: self._folder(self.models_dir)))
        name_form_fields(form)
        lay.addLayout(form)
        self.model_table = QTableWidget(0, len(MODEL_COLUMNS))
        self.model_table.setHorizontalHeaderLabels(MODEL_COLUMNS)
        self.model_table.setAccessibleName("Models")
        # Tab goes to the rows' buttons and on to OK: cell by cell it never left the table.
        self.model_table.setTabKeyNavigation(False)
        self.model_table.verticalHeader().hide()
        self.model_table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.model_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.model_table.setWordWrap(False)
        header = self.model_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.model_table, 1)
        self.models_note = QLabel("")
        self.models_note.setObjectName("hint")
        self.models_note.setWordWrap(True)
        lay.addWidget(self.models_note)
        self._fill_models(readiness.downloads())
        return page

    def _fill_models(self, dl: readiness.Readiness) -> None:
        """One row per registry model: what it is, what needs it, its size and state, and a
        Download (when downloads work) or Import… button for a missing one."""
        table = self.model_table
        table.setRowCount(0)
        try:
            from models.registry import human_bytes, list_statuses
            statuses = list_statuses()
        except Exception as e:  # no registry, an unreadable models folder: say so, keep the dialog
            self.models_note.setText(f"Could not list the models: {e}")
            return
        self.models_note.setText("" if dl.ready else f"Downloads unavailable: {dl.reason}. "
                                 "Import a file you already have instead.")
        for row, st in enumerate(statuses):
            table.insertRow(row)
            cells = (st.title + (" (default)" if st.default else ""),
                     st.role.replace("_", " "), readiness.role_use(st.role),
                     human_bytes(st.expected_bytes) if st.expected_bytes else "built in",
                     # which file is missing or broken, in the row, not only in a tooltip
                     f"{st.state}: {st.detail}" if st.state in ("partial", "corrupt") and st.detail
                     else st.state)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{st.name} ({st.role}); licence {st.licence}. {st.detail}".strip())
                table.setItem(row, col, item)
            table.setCellWidget(row, len(cells), self._model_button(st.name, st.state, dl.ready))
        table.resizeColumnsToContents()

    def _model_button(self, name: str, state: str, can_download: bool) -> QWidget:
        if state == "installed":
            return QLabel("")
        if can_download and self.download is not None:
            b = QPushButton("Download")
            b.setToolTip(f"Queue a download of {name} (the render queue shows progress)")
            b.clicked.connect(lambda: self.download(name))
        else:
            b = QPushButton("Import…")
            b.setToolTip(f"Use a copy of {name} you already have (a file or folder)")
            b.clicked.connect(lambda: self._import_model(name))
        b.setObjectName(f"model-{name}")
        b.setAccessibleName(f"{b.text().rstrip('…')} {name}")  # a "Download" per row: which
        return b

    def _import_model(self, name: str, path: str | None = None) -> None:
        if path is None:
            path = self._ask_import_path(name)
        if not path:
            return
        try:
            from models.local_store import import_model
            import_model(path, as_name=name)
        except Exception as e:  # BadInput and anything the checks raise: say it here
            self.models_note.setText(f"Could not import {Path(path).name}: {e}")
            return
        self._fill_models(readiness.downloads())
        self.models_note.setText(f"Imported {Path(path).name} as {name}.")

    def _ask_import_path(self, name: str) -> str:
        """A model of several files (the listener's model and projector, SD1.5's folders) is
        imported as the folder that holds them: a file picker alone could not, and the refusal
        of one file said "Import the folder that holds those files instead", which this
        dialog had no way to do. A one-file model: the file (any name; checked for format)."""
        try:
            from models.registry import load_registry
            files = load_registry().get(name).files
        except Exception:  # noqa: BLE001 - no registry: the file picker, as before
            files = ()
        if len(files) > 1:
            return QFileDialog.getExistingDirectory(
                self, f"Import {name}: the folder that holds "
                f"{', '.join(Path(f.path).name for f in files[:3])}"
                f"{', ...' if len(files) > 3 else ''}", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, f"Import {name}", str(Path.home()),
                                              "Weights (*.gguf *.safetensors);;All files (*)")
        return path

    def _compute_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(self.settings.device)
        if not readiness.has_library("torch"):
            self.device.setEnabled(False)
            self.device.setToolTip("Only the CPU without torch (pip install 'spa2v-studio[diffusion]').")
        self.memory = QComboBox()
        self.memory.addItems(MEMORY_TIERS)
        self.memory.setCurrentText(self.settings.memory_tier)
        self.memory.setToolTip("How much of the diffusion model stays on the GPU: 'auto' picks "
                               "from the free memory; the offload tiers fit smaller GPUs.")
        self.steps = QSpinBox()
        self.steps.setRange(1, 150)
        self.steps.setValue(self.settings.steps)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(self.settings.seed)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(self.settings.video_fps)
        self.renderer = QComboBox()
        fill_backend_combo(self.renderer, readiness.renderers(), self.settings.renderer)
        form.addRow("Renderer", self.renderer)
        form.addRow("Device", self.device)
        form.addRow("Memory tier", self.memory)
        form.addRow("Denoising steps", self.steps)
        form.addRow("Seed", self.seed)
        form.addRow("Video frame rate", self.fps)
        name_form_fields(form)
        return page

    def _planner_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.planner = QComboBox()
        fill_backend_combo(self.planner, readiness.planners(self.settings.llm_model_path), self.settings.planner)
        self.frames = QSpinBox()
        self.frames.setRange(1, 10_000)
        self.frames.setValue(self.settings.plan_frames)
        self.llm_path = QLineEdit(self.settings.llm_model_path)
        self.llm_path.setPlaceholderText("default: the registry's planner model")
        self.llm_path.editingFinished.connect(self._refill_planners)
        self.gemini = QLineEdit()
        self.gemini.setEchoMode(QLineEdit.EchoMode.Password)
        self.gemini.setPlaceholderText({"environment": "set by GEMINI_API_KEY",
                                        "keyring": "stored in the OS keyring",
                                        "none": "paste a key to store it"}[gemini_key_source()])
        self.key_note = QLabel(gemini_sending_note())
        self.gemini_audio = QCheckBox("Send the audio to Google (Gemini listens to it)")
        self.gemini_audio.setChecked(self.settings.gemini_send_audio)
        self.key_note.setObjectName("hint")
        self.key_note.setWordWrap(True)
        forget = QPushButton("Forget key")
        forget.clicked.connect(lambda: self._store_key(""))
        form.addRow("Planner", self.planner)
        form.addRow("Layout frames", self.frames)
        form.addRow("LLM file (GGUF)", _path_row(self.llm_path, self._pick_gguf))
        form.addRow("Gemini API key", self.gemini)
        form.addRow("", forget)
        form.addRow("", self.gemini_audio)
        form.addRow(self.key_note)
        name_form_fields(form)
        return page

    def _general_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.recordings = QLineEdit(self.settings.recordings_dir)
        form.addRow("Recordings folder", _path_row(self.recordings, lambda: self._folder(self.recordings)))
        name_form_fields(form)
        return page

    # -- helpers ------------------------------------------------------------------------------
    def _folder(self, edit: QLineEdit) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder", edit.text())
        if path:
            edit.setText(path)

    def _pick_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "LLM file", self.llm_path.text(), "GGUF (*.gguf)")
        if path:
            self.llm_path.setText(path)
            self._refill_planners()

    def _refill_planners(self) -> None:
        """Your own GGUF makes the llama planner available without the registry's model."""
        chosen = self.planner.currentData()
        fill_backend_combo(self.planner, readiness.planners(self.llm_path.text().strip()), chosen)

    def _store_key(self, key: str) -> bool:
        try:
            store_gemini_key(key)
        except KeyringUnavailable as e:
            self.key_note.setText(f"Could not store the key: {e}.")
            return False
        except BadKey as e:
            self.key_note.setText(f"Key not stored: {e}. Paste it again.")
            return False
        self.key_note.setText("Key stored in the OS keyring." if key else "Key removed.")
        return True

    def accept(self) -> None:
        folder = Path(self.models_dir.text().strip() or self.settings.models_dir).expanduser()
        if folder.exists() and not folder.is_dir():  # every model would be 'missing' after OK
            self.tabs.setCurrentIndex(0)
            self.models_note.setText(f"The models folder {folder} is a file, not a folder; "
                                     "choose a folder.")
            return
        if self.gemini.text().strip() and not self._store_key(self.gemini.text()):
            self.tabs.setCurrentIndex(2)
            return  # keep the dialog open so the user sees why
        super().accept()

    def apply(self) -> StudioSettings:
        s = self.settings
        s.models_dir = self.models_dir.text().strip() or s.models_dir
        s.device = self.device.currentText()
        s.memory_tier = self.memory.currentText()
        s.steps, s.seed, s.video_fps = self.steps.value(), self.seed.value(), self.fps.value()
        s.renderer = self.renderer.currentData()
        s.planner = self.planner.currentData()
        s.plan_frames = self.frames.value()
        s.llm_model_path = self.llm_path.text().strip()
        s.gemini_send_audio = self.gemini_audio.isChecked()
        s.recordings_dir = self.recordings.text().strip() or s.recordings_dir
        return s
