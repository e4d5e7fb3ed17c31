"""The window as a user meets it: shortcuts, a toolbar that fits a laptop screen, renames that
carry through to the prompt and caption, recovery after a crash, the render queue, settings."""

import pytest
from PySide6.QtGui import QKeySequence

from .helpers import finished, import_clip, plan


def _press(qtbot, window, keys: str) -> None:
    seq = QKeySequence(keys)
    combo = seq[0]
    qtbot.keyClick(window, combo.key(), combo.keyboardModifiers())


class X11Keys(QKeySequence):
    """QKeySequence with X11's standard Redo (Ctrl+Shift+Z only; offscreen Qt has Ctrl+Y too)."""

    def __init__(self, *args):
        if args and args[0] == QKeySequence.StandardKey.Redo:
            args = ("Ctrl+Shift+Z",)
        super().__init__(*args)


def planned_and_active(qtbot, window, clip):
    """The clip imported and planned, the window active so that its shortcuts fire; its doc."""
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window.doc


@pytest.mark.parametrize("keys", ["platform", "x11"])
def test_redo_by_ctrl_y_and_ctrl_shift_z(qtbot, make_window, clip, monkeypatch, keys):
    if keys == "x11":
        monkeypatch.setattr("spa2v_app.studio.main_window.QKeySequence", X11Keys)
    window = make_window()
    doc = planned_and_active(qtbot, window, clip)
    doc.add_object("dog")
    assert len(doc.layout.objects) == 2
    for redo in ("Ctrl+Y", "Ctrl+Shift+Z"):
        _press(qtbot, window, "Ctrl+Z")
        assert len(doc.layout.objects) == 1
        _press(qtbot, window, redo)
        assert len(doc.layout.objects) == 2, redo


def test_keyboard_only_select_nudge_delete_undo(qtbot, window, clip):
    """Edit without the mouse: ] / [ select, Shift+arrows move the box (one undo step a press,
    none at the frame's edge), Del deletes, Ctrl+Z / Ctrl+Shift+Z undo and redo."""
    doc = planned_and_active(qtbot, window, clip)
    doc.add_object("dog")
    first, dog = [o.id for o in doc.layout.objects]
    assert doc.selected_id == dog
    _press(qtbot, window, "]")
    assert doc.selected_id == first
    _press(qtbot, window, "[")
    assert doc.selected_id == dog
    frame = doc.current_frame()
    x0, y0, x1, y1 = doc.layout.object(dog).boxes[frame]
    steps = doc.undo_stack.count()
    _press(qtbot, window, "Shift+Right")
    _press(qtbot, window, "Shift+Down")
    assert doc.layout.object(dog).boxes[frame] == pytest.approx((x0 + 0.01, y0 + 0.01,
                                                                 x1 + 0.01, y1 + 0.01))
    assert doc.current_frame() == frame and doc.undo_stack.count() == steps + 2
    for _ in range(80):  # into the top edge: it stops there, and no empty undo steps
        _press(qtbot, window, "Shift+Up")
    assert doc.layout.object(dog).boxes[frame][1] == 0.0
    assert doc.undo_stack.count() < steps + 2 + 80
    _press(qtbot, window, "Delete")
    assert [o.id for o in doc.layout.objects] == [first]
    _press(qtbot, window, "Ctrl+Z")
    assert dog in {o.id for o in doc.layout.objects}
    _press(qtbot, window, "Ctrl+Shift+Z")
    assert dog not in {o.id for o in doc.layout.objects}


@pytest.mark.parametrize("keys", ["platform", "x11"])
def test_no_two_actions_share_a_shortcut(make_window, monkeypatch, keys):
    if keys == "x11":
        monkeypatch.setattr("spa2v_app.studio.main_window.QKeySequence", X11Keys)
    window = make_window()
    from PySide6.QtGui import QAction
    seen: dict[str, str] = {}
    for action in window.findChildren(QAction):
        for seq in action.shortcuts():
            key = seq.toString()
            assert key not in seen, (key, seen.get(key), action.text())  # ambiguous: dead
            seen[key] = action.text()
    assert seen["Ctrl+Y"] == seen["Ctrl+Shift+Z"] == window.act_redo.text()


def test_record_panel_finds_a_microphone_plugged_in_after_start(make_window):
    from spa2v_app.studio.model.recording import InputDevice
    plugged: list = []
    window = make_window(list_devices=lambda: (list(plugged), None if plugged else "No input"))
    panel, dock = window.record_panel, window.docks["record"]
    assert panel.devices == [] and not panel.button.isEnabled()
    plugged.append(InputDevice(4, "USB stereo mic", 2, 48000.0))
    dock.hide()
    dock.show()  # the user opens the panel again
    assert [d.name for d in panel.devices] == ["USB stereo mic"] and panel.button.isEnabled()
    assert panel.note.text() != "No input"


@pytest.mark.parametrize("size", [(1024, 640), (1280, 720), (1366, 768), (1440, 900)])
def test_main_actions_stay_in_the_toolbar_on_a_laptop_screen(qtbot, window, size):
    from PySide6.QtWidgets import QToolButton
    window.resize(*size)
    qtbot.waitUntil(lambda: window.size().toTuple() == size)
    qtbot.wait(50)
    tb = window.toolbar
    for action in (window.act_record, window.act_import, window.act_play, window.act_plan,
                   window.act_render, window.act_export, window.act_undo, window.act_redo,
                   window.act_settings):
        button = tb.widgetForAction(action)
        assert button.isVisible() and tb.rect().contains(button.geometry()), action.text()
    for widget in (window.hint_edit, window.planner_combo, window.renderer_combo):
        assert widget.isVisible() and tb.rect().contains(widget.geometry())
    ext = tb.findChild(QToolButton, "qt_toolbar_ext_button")
    assert ext is None or not ext.isVisible()


def test_object_and_render_lanes_in_view_with_several_sources(qtbot, window, clip):
    """1280x720, three tracked sources, three objects, a render: no scrolling to reach the
    layout lanes (each source used to add its own azimuth lane above them)."""
    import dataclasses

    from PySide6.QtGui import QImage

    from engine.cues.types import Tag
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    doc = window.doc
    src = doc.cues.sources[0]
    doc.project.cues = dataclasses.replace(doc.cues, sources=[
        dataclasses.replace(src, id=k, tags=[Tag(name, 0.9)]) for k, name in enumerate(("car", "dog", "bird"))])
    doc.cues_changed.emit()
    doc.add_object("dog")
    doc.add_object("bird")
    thumb = QImage(32, 18, QImage.Format.Format_RGB888)
    doc.set_thumbnails([(0.0, thumb), (1.0, thumb)])
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.size().toTuple() == (1280, 720))
    qtbot.wait(50)
    tl, area = window.timeline.canvas, window.timeline.area
    visible = area.viewport().height()
    y, wanted = 0, []
    for kind, _, h, _ in tl.lanes():
        if kind in ("object", "thumbs"):
            wanted.append((kind, y + h))
        y += h
    assert len(wanted) == 4
    assert area.verticalScrollBar().value() == 0
    assert all(bottom <= visible for _, bottom in wanted), (visible, wanted)


def test_waveforms_are_drawn_filled(qtbot, window, tmp_path):
    """A quiet recording (peak -20 dBFS) still draws as a filled shape that covers most of its
    lane, not a hairline along the middle."""
    import numpy as np
    from PySide6.QtGui import QColor, QImage, QPainter

    from spa2v_app.studio import theme
    from tests.synth import panned_noise, write_wav
    quiet = panned_noise(0, duration_s=2.0, seed=1, level=0.03)
    import_clip(qtbot, window, write_wav(tmp_path / "quiet.wav", quiet))
    tl = window.timeline.canvas
    tl.fit()
    kind, _, h, channel = tl.lanes()[1]
    assert kind == "wave"
    img = QImage(tl.width(), h, QImage.Format.Format_RGB32)
    img.fill(theme.BASE)
    p = QPainter(img)
    from PySide6.QtCore import QRectF
    from spa2v_app.studio.timeline import HEADER_W
    r = QRectF(HEADER_W, 0, tl.content_w, h)
    tl._paint_wave(p, r, channel)
    p.end()
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine() // 4, 4)
    lane = arr[:, HEADER_W: HEADER_W + int(tl.content_w * 0.9), :3].astype(int)
    base = np.array(QColor(theme.BASE).getRgb()[:3])[::-1]  # BGRA in memory
    inked = np.abs(lane - base).sum(axis=2) > 60
    assert inked.mean() > 0.4, inked.mean()


def _rename(window, oid, label, prompt=None):
    from spa2v_app.studio.canvas import ObjectDialog
    obj = window.doc.layout.object(oid)
    dlg = ObjectDialog(obj.label, obj.prompt, obj.motion, window)
    dlg.label.setText(label)
    if prompt is not None:
        dlg.prompt.setText(prompt)
    window.doc.update_object(oid, **dlg.values())  # what OK in the dialog does
    dlg.deleteLater()


def test_rename_carries_into_the_prompt_and_caption(qtbot, window, clip):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    doc = window.doc
    oid = doc.layout.objects[0].id
    _rename(window, oid, "boat")
    assert doc.layout.object(oid).prompt == "a boat"
    assert "boat" in doc.layout.caption.lower()
    _rename(window, oid, "truck")
    obj = doc.layout.object(oid)
    assert (obj.label, obj.prompt) == ("truck", "a truck")
    assert "truck" in doc.layout.caption and "boat" not in doc.layout.caption.lower()
    _rename(window, oid, "owl")
    assert doc.layout.object(oid).prompt == "an owl"
    window.act_undo.trigger()
    assert doc.layout.object(oid).prompt == "a truck"  # one undoable step


def test_rename_keeps_what_the_user_wrote(qtbot, window, clip):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    doc = window.doc
    oid = doc.layout.objects[0].id
    _rename(window, oid, "boat", prompt="a sailing yacht at dusk")  # both changed at once
    assert doc.layout.object(oid).prompt == "a sailing yacht at dusk"
    doc.update_scene(caption="Sunset over the bay.")
    _rename(window, oid, "ship")
    assert doc.layout.object(oid).prompt == "a sailing yacht at dusk"
    assert doc.layout.caption == "Sunset over the bay."


KILLED_SESSION = r"""
import os, signal, sys
from pathlib import Path
from PySide6.QtCore import QTimer
from spa2v_app.studio.app import create_app
from spa2v_app.studio.main_window import MainWindow
from spa2v_app.studio.model.settings import StudioSettings
app = create_app()
w = MainWindow(StudioSettings(), use_audio_device=False, session_id="doomed",
               list_devices=lambda: ([], "no microphone here"))
w.show()

def planned(job):
    job.on_finished = (lambda done: lambda r: (done(r), edit()))(job.on_finished)

def edit():
    w.doc.add_object("bird", "a small bird")
    print("edited", flush=True)
    QTimer.singleShot(3000, lambda: os.kill(os.getpid(), signal.SIGKILL))

def imported(job):
    job.on_finished = (lambda done: lambda r: (done(r), planned(w.plan())))(job.on_finished)

imported(w.import_audio(Path(sys.argv[1])))
app.exec()
"""


def test_killed_3_s_after_an_edit_the_edit_is_recovered(qtbot, make_window, clip):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run([sys.executable, "-c", KILLED_SESSION, str(clip)], cwd=root, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == -signal.SIGKILL and "edited" in run.stdout, run.stdout + run.stderr
    window = make_window(session_id="next-start")
    found = window.recoverable()
    assert len(found) == 1
    assert window.recover(found[0])
    objects = window.doc.layout.objects
    assert [o.prompt for o in objects][-1] == "a small bird" and window.doc.dirty


def test_recovery_question_names_the_project_in_local_time(qtbot, window, clip, tmp_path,
                                                          monkeypatch):
    import datetime as dt
    import json

    from PySide6.QtWidgets import QMessageBox
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    assert window._save_to(tmp_path / "harbour scene.spa2v")
    window.doc.add_object("boat")
    auto = window.autosave()
    saved_at = json.loads(auto.read_text())["autosave"]["saved_at"]  # UTC, ISO 8601
    window.session_id = "next-start"  # as a later session sees the copy
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda parent, title, text, *a: asked.append(text)
                        or QMessageBox.StandardButton.Discard)
    window.offer_recovery()
    assert auto.exists() is False and len(asked) == 1
    text = asked[0]
    local = dt.datetime.fromisoformat(saved_at).astimezone()
    assert "“harbour scene.spa2v”" in text and "sweep" not in text  # not the sound's name
    assert local.strftime("%H:%M:%S") in text and saved_at not in text


def test_an_edit_writes_the_recovery_copy_within_seconds(qtbot, window, clip):
    from spa2v_app.studio.model.paths import autosave_dir
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    for f in autosave_dir().glob("*"):
        f.unlink()
    window.doc.add_object("bird")
    qtbot.waitUntil(lambda: any(autosave_dir().glob("*")), timeout=3000)


def test_export_paths_follow_the_chosen_mp4_folder(qtbot, tmp_path):
    from spa2v_app.studio.dialogs import ExportDialog
    dlg = ExportDialog(tmp_path / "a" / "truck", renderer="preview", fps=24, can_reuse=False)
    qtbot.addWidget(dlg)
    assert dlg.json.text() == str(tmp_path / "a" / "truck.json")
    dlg.mp4.setText(str(tmp_path / "b" / "final.mp4"))  # what Browse… does
    req = dlg.request()
    assert req.layout_json == tmp_path / "b" / "final.json"
    dlg.frames_on.setChecked(True)
    assert dlg.request().frames_dir == tmp_path / "b" / "final_frames"
    qtbot.keyClicks(dlg.json, "x")  # the user types their own JSON path: it stays
    own = dlg.json.text()
    dlg.mp4.setText(str(tmp_path / "c" / "other.mp4"))
    assert dlg.json.text() == own and dlg.frames.text() == str(tmp_path / "c" / "other_frames")


def test_queue_lists_user_jobs_and_offers_the_render_folder(qtbot, window, clip, tmp_path,
                                                             monkeypatch):
    from PySide6.QtGui import QDesktopServices

    from .helpers import finished
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    job = window.render(tmp_path / "out" / "a-very-long-name-for-a-render-of-the-harbour.mp4",
                        fps=6)
    finished(qtbot, job)
    qtbot.waitUntil(lambda: not window.queue.busy(), timeout=30_000)
    kinds = {j.kind for j in window.queue.jobs}
    assert {"thumbnails", "check"} <= kinds  # the helpers ran ...
    listed = {window.queue_panel.rows[j.id][1].job.kind for j in window.queue.jobs
              if j.id in window.queue_panel.rows}
    assert listed == {"import", "plan", "render"}  # ... but are not rows
    row = window.queue_panel.row(job)
    assert row.title.toolTip() == job.title
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    assert row.folder_button.isVisibleTo(row)
    row.folder_button.click()
    assert opened == [str(tmp_path / "out")]


def test_queue_scrolls_to_the_running_job_and_says_when_cancelled(qtbot, window, clip,
                                                                   tmp_path, monkeypatch):
    from spa2v_app.studio.model import tasks

    from .helpers import wait_job
    from .test_flow import SlowRenderer
    monkeypatch.setattr(tasks, "make_renderer_for", lambda name, device="auto": SlowRenderer())
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    window.resize(1280, 720)
    jobs = [window.render(tmp_path / f"r{k}.mp4", fps=24) for k in range(8)]
    lst = window.queue_panel.list
    for j in jobs[:-1]:  # cancel each as it starts: the next one down the list runs
        qtbot.waitUntil(lambda: j.state == "running", timeout=20_000)
        window.queue.cancel(j)
        wait_job(qtbot, j)
    last = jobs[-1]
    qtbot.waitUntil(lambda: last.state == "running", timeout=20_000)
    item = window.queue_panel.rows[last.id][0]
    assert lst.verticalScrollBar().maximum() > 0  # more rows than fit
    assert lst.viewport().rect().contains(lst.visualItemRect(item))
    window.act_cancel.trigger()
    wait_job(qtbot, last)
    assert last.state == "cancelled"
    assert window.status_job.text().startswith("Cancelled: ") and "r7.mp4" in window.status_job.text()


def test_renders_are_named_after_the_current_sound(qtbot, window, clip, tmp_path):
    import shutil
    import_clip(qtbot, window, clip)
    assert window._save_to(tmp_path / "first project.spa2v")
    second = shutil.copy(clip, tmp_path / "harbour.wav")
    import_clip(qtbot, window, second)
    assert window.default_render_path().name == "harbour-1.mp4"


def test_models_tab_is_a_table_with_a_button_per_missing_model(qtbot, window, monkeypatch,
                                                               tmp_path):
    from PySide6.QtWidgets import QPushButton

    from models import readiness
    from models.registry import list_statuses
    from spa2v_app.studio.dialogs import MODEL_COLUMNS, SettingsDialog
    statuses = list_statuses()
    asked = []
    monkeypatch.setattr(readiness, "downloads",
                        lambda: readiness.Readiness("downloads", True, ""))
    dlg = SettingsDialog(window.settings, window, download=asked.append)
    qtbot.addWidget(dlg)
    table = dlg.model_table
    assert table.rowCount() == len(statuses) > 0 and table.columnCount() == len(MODEL_COLUMNS)
    for row, st in enumerate(statuses):
        assert table.item(row, 0).text().startswith(st.title)
        assert table.item(row, 2).text(), st.role  # which feature needs it
        assert table.item(row, 4).text().startswith(st.state)
    missing = [row for row, st in enumerate(statuses) if st.state != "installed"]
    assert missing
    button = table.cellWidget(missing[0], len(MODEL_COLUMNS) - 1)
    assert isinstance(button, QPushButton) and button.text() == "Download"
    button.click()
    assert asked == [statuses[missing[0]].name]
    # Without downloads the same rows offer Import…, which says why a bad file is refused.
    monkeypatch.setattr(readiness, "downloads",
                        lambda: readiness.Readiness("downloads", False, "no network"))
    dlg2 = SettingsDialog(window.settings, window, download=None)
    qtbot.addWidget(dlg2)
    button = dlg2.model_table.cellWidget(missing[0], len(MODEL_COLUMNS) - 1)
    assert button.text() == "Import…" and "no network" in dlg2.models_note.text()
    bad = tmp_path / "weights.ckpt"  # a pickle checkpoint: never loaded
    bad.write_bytes(b"\x80\x04junk")
    dlg2._import_model(statuses[missing[0]].name, str(bad))
    assert dlg2.models_note.text().startswith("Could not import weights.ckpt")
    # A cut-short file: the hint told to run "spa2v models download NAME --force", a literal
    # NAME, and a download where downloads are unavailable.
    cut = tmp_path / "model.safetensors"
    cut.write_bytes(b"junk" * 100)
    dlg2._import_model(statuses[missing[0]].name, str(cut))
    note = dlg2.models_note.text()
    assert note.startswith("Could not import model.safetensors") and "NAME" not in note
    assert "complete copy" in note


def test_a_narrower_window_shows_a_visible_overflow_arrow(qtbot, window):
    import numpy as np
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QToolButton
    window.resize(880, 700)  # (below 1024 px even the names-less toolbar runs out of room)
    qtbot.waitUntil(lambda: window.width() == 880)
    qtbot.wait(50)
    ext = window.toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    assert ext.isVisible()
    img = ext.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.array([[img.pixelColor(x, y).value() for x in range(img.width())]
                       for y in range(img.height())])
    assert (pixels > 160).sum() >= 20  # a light arrow on the dark toolbar


def test_zoomed_in_azimuth_track_spans_the_view(qtbot, window, clip):
    """Only the segments in view are drawn, and none of those is missing at either edge."""
    import numpy as np
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    from spa2v_app.studio import theme
    from spa2v_app.studio.timeline import HEADER_W
    import_clip(qtbot, window, clip)
    tl = window.timeline.canvas
    tl.fit()
    tl.set_zoom(tl.pps * 6)  # the middle sixth of the clip
    kind, _, h, sources = next(lane for lane in tl.lanes() if lane[0] == "azimuth")
    img = QImage(tl.width(), h, QImage.Format.Format_RGB32)
    img.fill(theme.BASE)
    p = QPainter(img)
    tl._paint_track(p, QRectF(HEADER_W, 0, tl.content_w, h), sources[0],
                    tl._frame_xs(window.doc.cues.num_frames, window.doc.cues.duration_s))
    p.end()
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine() // 4, 4)
    lane = arr[:, HEADER_W: HEADER_W + tl.content_w, :3].astype(int)
    base = np.array(theme.BASE.getRgb()[:3])[::-1]
    inked_columns = (np.abs(lane - base).sum(axis=2) > 30).any(axis=0)
    assert inked_columns.mean() > 0.9 and inked_columns[:5].any() and inked_columns[-5:].any()


def test_a_half_installed_model_names_the_missing_file_in_its_row(qtbot, window, monkeypatch,
                                                                   tmp_path):
    from models.registry import load_registry
    from spa2v_app.studio.dialogs import SettingsDialog
    from tests.models.tiny_gguf import write_tiny_llama

    monkeypatch.delenv("SPA2V_REGISTRY", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    entry = load_registry().get("listener-audio-default")
    folder = tmp_path / "models" / entry.name  # the studio's SPA2V_MODELS_DIR
    folder.mkdir(parents=True)
    write_tiny_llama(folder / entry.files[0].path, seed=0)  # the text model, no projector
    dlg = SettingsDialog(window.settings, window)
    qtbot.addWidget(dlg)
    rows = [dlg.model_table.item(r, 4).text() for r in range(dlg.model_table.rowCount())]
    assert f"partial: missing {entry.files[1].path}" in rows


def test_an_llm_file_chosen_in_settings_makes_the_llama_planner_choosable(qtbot, window, monkeypatch,
                                                                           tmp_path):
    """The Planner page's 'LLM file (GGUF)' used to change nothing: without the registry's
    planner model the llama entry stayed '(unavailable)' in every planner combo."""
    from models import readiness
    from spa2v_app.studio.dialogs import SettingsDialog
    from tests.models.tiny_gguf import write_tiny_llama

    real = readiness.has_library
    monkeypatch.setattr(readiness, "has_library", lambda name: name == "llama_cpp" or real(name))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))  # no registry planner model
    dlg = SettingsDialog(window.settings, window)
    qtbot.addWidget(dlg)
    llama = dlg.planner.findData("llama")
    assert not dlg.planner.model().item(llama).isEnabled()
    own = write_tiny_llama(tmp_path / "my-llm.gguf", seed=0)
    dlg.llm_path.setText(str(own))
    dlg.llm_path.editingFinished.emit()
    assert dlg.planner.model().item(llama).isEnabled()
    dlg.planner.setCurrentIndex(llama)
    settings = dlg.apply()
    assert settings.planner == "llama" and settings.llm_model_path == str(own)
    window.refresh_backends()  # the main window's combo follows the settings
    assert window.planner_combo.model().item(window.planner_combo.findData("llama")).isEnabled()


def test_tab_goes_through_the_window_as_it_reads(qtbot, window, clip):
    from PySide6.QtCore import Qt
    doc = planned_and_active(qtbot, window, clip)
    assert doc.layout is not None
    assert window.focusWidget() is window.canvas  # Space plays, as before
    window.stereo_combo.setFocus()
    sections = {"toolbar": window.toolbar, "record": window.record_panel,
                "canvas": window.editor, "queue": window.queue_panel,
                "timeline": window.timeline}
    order = []
    for _ in range(40):
        w = window.focusWidget()
        name = next((k for k, panel in sections.items() if panel.isAncestorOf(w)), None)
        if name and (not order or order[-1] != name):
            order.append(name)
        qtbot.keyClick(w, Qt.Key.Key_Tab)
    # It went toolbar, record, queue, timeline, toolbar again, ... and the canvas last.
    first = order[:order.index("timeline") + 1]
    assert first == ["toolbar", "record", "canvas", "queue", "timeline"], order


def test_the_timeline_zooms_from_the_view_menu_keys(qtbot, window, clip):
    doc = planned_and_active(qtbot, window, clip)
    canvas = window.timeline.canvas
    fitted = canvas.pps
    _press(qtbot, window, "Ctrl+=")
    assert canvas.pps == 2 * fitted
    _press(qtbot, window, "Ctrl+-")
    _press(qtbot, window, "Ctrl+-")
    assert canvas.pps == fitted / 2
    _press(qtbot, window, "Ctrl+0")
    assert canvas.pps == fitted and doc.duration_s > 0
    view = [m for m in window.menuBar().actions() if m.text() == "&View"][0].menu()
    assert window.act_zoom_in in view.actions()


def test_every_widget_tab_reaches_has_a_name_for_screen_readers(qtbot, window, clip):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QAccessible
    from PySide6.QtWidgets import QWidget
    planned_and_active(qtbot, window, clip)
    nameless = []
    for w in window.findChildren(QWidget):
        if w.isVisibleTo(window) and w.focusPolicy() & Qt.FocusPolicy.TabFocus:
            face = QAccessible.queryAccessibleInterface(w)
            if not face.text(QAccessible.Text.Name):
                nameless.append(f"{type(w).__name__} {w.toolTip()[:30]!r}")
    # The canvas, the queue and its rows' buttons, the timeline, the hint field had none.
    assert nameless == []


def test_the_banner_goes_with_esc(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.show_message("Cannot render: the sound is not there.", "error")
    assert window.banner.isVisible() and "Esc" in window.banner.text()
    # Only a click took it away: a keyboard user had it over the canvas for good.
    _press(qtbot, window, "Esc")
    assert not window.banner.isVisible()


def test_every_timeline_lane_says_what_it_shows(qtbot, window, clip):
    planned_and_active(qtbot, window, clip)
    canvas = window.timeline.canvas
    y, tips = 0, {}
    for kind, _title, h, _ in canvas.lanes():
        tips[kind] = canvas.lane_tip(y + h / 2)
        y += h
    # Only an object heard by a listener had a tooltip; nothing said how to read the lanes.
    assert set(tips) >= {"ruler", "wave", "object", "azimuth", "loudness", "onsets"}
    assert all(tips.values()), tips
    assert "left at the top" in tips["azimuth"] and "keyframes" in tips["object"]


def test_frame_steps_while_playing_move_the_sound_too(qtbot, window, clip):
    doc = planned_and_active(qtbot, window, clip)
    window.toggle_play()
    assert window.player.playing
    for _ in range(5):
        _press(qtbot, window, "Right")
    qtbot.wait(100)  # a few player ticks
    # The next tick put the playhead back where the sound was (about 0.1 s, frame 0).
    assert window.player.playing and doc.current_frame() >= 5
    window.toggle_play()


def test_object_lanes_of_one_name_are_numbered(qtbot, window, clip):
    doc = planned_and_active(qtbot, window, clip)
    for _ in range(3):
        doc.add_object("object")
    titles = [t for kind, t, _, _ in window.timeline.canvas.lanes() if kind == "object"]
    # Three lanes read "object", in the same colour.
    assert titles[1:] == ["object 1", "object 2", "object 3"]
    assert titles[0] == doc.layout.objects[0].label
    window.timeline.canvas.grab()


def test_the_status_bar_says_a_long_eta_as_the_queue_does(window):
    from spa2v_app.studio.queue_panel import format_eta
    from spa2v_app.studio.workers import RUNNING, QueuedJob
    job = QueuedJob(id=99, kind="render", title="Render long.mp4", make_job=lambda t: iter(()))
    job.state, job.fraction, job.eta_s = RUNNING, 0.25, 2734.0
    window.queue.jobs.append(job)
    window._job_changed(job)
    # "2734 s left" here, "45 min 34 s left" in the queue.
    assert window.status_job.text() == f"Render long.mp4: 25%, {format_eta(2734.0)}"
    assert "45 min 34 s left" in window.status_job.text()
    window.queue.jobs.remove(job)


def test_a_model_of_several_files_is_imported_as_its_folder(qtbot, window, monkeypatch,
                                                            tmp_path):
    """The Import… button only opened a file picker; for the listener (model + projector)
    with its own file names the refusal said "Import the folder that holds those files
    instead", which the dialog could not do."""
    pytest.importorskip("gguf")
    from PySide6.QtWidgets import QFileDialog

    from models import readiness
    from models.registry import list_statuses, load_registry
    from spa2v_app.studio.dialogs import MODEL_COLUMNS, SettingsDialog
    from tests.models.tiny_gguf import write_tiny_llama
    from tests.models.tiny_mmproj import write_tiny_audio_projector

    entry = load_registry().get("listener-audio-default")
    folder = tmp_path / "usb stick" / "Omni 7B"
    folder.mkdir(parents=True)
    model_file, projector_file = (f.path for f in entry.files)
    write_tiny_llama(folder / model_file)
    write_tiny_audio_projector(folder / projector_file, n_embd_text=64)
    asked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda *a, **k: asked.append("folder") or str(folder))
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a, **k: asked.append("file") or ("", ""))
    monkeypatch.setattr(readiness, "downloads",
                        lambda: readiness.Readiness("downloads", False, "no network"))
    dlg = SettingsDialog(window.settings, window, download=None)
    qtbot.addWidget(dlg)
    row = [s.name for s in list_statuses()].index("listener-audio-default")
    button = dlg.model_table.cellWidget(row, len(MODEL_COLUMNS) - 1)
    assert button.text() == "Import…"
    button.click()
    assert asked == ["folder"]
    assert dlg.models_note.text() == "Imported Omni 7B as listener-audio-default."
    assert dlg.model_table.item(row, 4).text() == "installed"


def test_a_gguf_that_aborts_llama_cpp_leaves_the_studio_running(qtbot, window, clip, tmp_path):
    """A llama with no layers passes every header check and aborts llama.cpp on loading: the
    Plan job ended the studio, the project's unsaved edits with it. The planner's worker
    process takes the abort; the plan is the built-in one, and the log says why."""
    pytest.importorskip("llama_cpp")
    from tests.models.tiny_gguf import Shape, write_tiny_llama

    gguf = write_tiny_llama(tmp_path / "no-layers.gguf", shape=Shape(n_layer=0))
    window.settings.planner, window.settings.llm_model_path = "llama", str(gguf)
    import_clip(qtbot, window, clip)
    warnings = []
    window.queue.log.connect(lambda job, msg, lvl: warnings.append(msg) if lvl == "warning" else None)
    job = window.plan()
    finished(qtbot, job, timeout=240_000)
    qtbot.waitUntil(lambda: window.doc.layout is not None)
    assert window.doc.layout.planner.name == "heuristic"
    assert any("could not load no-layers.gguf (llama.cpp stopped while loading" in w
               and "using the built-in planner" in w for w in warnings), warnings


def test_a_file_is_not_taken_as_the_models_folder(qtbot, window, tmp_path):
    """OK took it: every model then showed 'missing' and the models tab said "Could not read
    the model registry: Cannot read .../imported.json: [Errno 20] Not a directory"."""
    from spa2v_app.studio.dialogs import SettingsDialog

    notes = tmp_path / "models.txt"
    notes.write_text("my notes")
    before = window.settings.models_dir
    dlg = SettingsDialog(window.settings, window)
    qtbot.addWidget(dlg)
    dlg.tabs.setCurrentIndex(2)
    dlg.models_dir.setText(str(notes))
    dlg.accept()
    assert dlg.result() == 0 and dlg.tabs.currentIndex() == 0
    assert dlg.models_note.text() == (f"The models folder {notes} is a file, not a folder; "
                                      "choose a folder.")
    assert window.settings.models_dir == before and notes.read_text() == "my notes"
