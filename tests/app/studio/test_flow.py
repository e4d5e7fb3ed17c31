"""The main path in the window: import (dialog-free and by drag and drop), see the sound, plan,
edit a box with the mouse and undo it, render, cancel, export, save and reopen, recover."""

import json
import os

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from engine.export.mp4 import probe_mp4
from engine.layout import load_layout
from engine.project import find_recoverable

from tests.synth import panned_noise, write_wav

from .helpers import drag, finished, import_clip, plan, view_point, wait_job


def drop_file(window, *paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_drop_a_file_shows_the_sound(qtbot, window, clip):
    drop_file(window, clip)
    job = window.queue.jobs[-1]
    assert job.kind == "import"
    finished(qtbot, job)
    doc = window.doc
    assert doc.audio.channels == 2 and doc.duration_s == pytest.approx(2.0, abs=0.01)
    kinds = [k for k, *_ in window.timeline.canvas.lanes()]
    assert kinds[:3] == ["ruler", "wave", "wave"]
    assert "azimuth" in kinds and "loudness" in kinds and "onsets" in kinds
    # The sweep goes from right to left: the measured azimuth falls.
    az = doc.cues.sources[0].azimuth_deg
    good = np.isfinite(az)
    assert az[good][:3].mean() > 20 and az[good][-3:].mean() < -20
    window.timeline.canvas.grab()  # paints every lane without error
    assert window.act_plan.isEnabled() and not window.act_render.isEnabled()


def test_a_drop_of_several_files_opens_the_sound_and_names_the_rest(qtbot, window, clip,
                                                                      tmp_path):
    # The first file was taken whatever it was: the notes were refused, the sound ignored.
    notes = tmp_path / "notes.txt"
    notes.write_text("take 3 was the good one")
    other = write_wav(tmp_path / "b.wav", panned_noise(30, duration_s=1.0, seed=5))
    drop_file(window, notes, clip, other)
    text, level = window.last_message
    assert level == "warning" and "notes.txt, b.wav" in text and clip.name in text
    job = window.queue.jobs[-1]
    assert job.kind == "import" and job.title == f"Import {clip.name}"
    finished(qtbot, job)
    assert window.doc.project.audio_path == clip


def test_import_of_a_bad_file_says_why(qtbot, window, tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros((4410, 2), np.float32), 44100)
    job = window.import_audio(silent)
    wait_job(qtbot, job)
    assert job.state == "failed" and "silent" in job.message
    assert window.last_message[1] == "error" and window.banner.isVisible()
    assert window.doc.audio is None


def test_plan_edit_with_the_mouse_and_undo(qtbot, window, clip):
    import_clip(qtbot, window, clip)
    window.hint_edit.setText("a red car")
    layout = plan(qtbot, window)
    obj = layout.objects[0]
    assert obj.label == "car" and obj.motion == "right_to_left"
    assert window.doc.undo_stack.undoText() == "Plan layout"
    frame = window.doc.current_frame()
    before = obj.boxes[frame]
    canvas = window.canvas
    assert obj.id in canvas.items_by_id
    cx, cy = (before[0] + before[2]) / 2, (before[1] + before[3]) / 2
    drag(qtbot, canvas.viewport(), view_point(canvas, cx, cy), view_point(canvas, cx - 0.2, cy + 0.1))
    after = window.doc.layout.object(obj.id).boxes[frame]
    assert after[0] == pytest.approx(before[0] - 0.2, abs=0.02)
    assert after[1] == pytest.approx(before[1] + 0.1, abs=0.02)
    assert after[2] - after[0] == pytest.approx(before[2] - before[0], abs=1e-3)  # moved, not resized
    assert window.doc.undo_stack.undoText() == "Move box"
    window.act_undo.trigger()
    assert window.doc.layout.object(obj.id).boxes[frame] == pytest.approx(before)
    window.act_redo.trigger()
    assert window.doc.layout.object(obj.id).boxes[frame] == pytest.approx(after)
    # Resize from the bottom-right corner.
    drag(qtbot, canvas.viewport(), view_point(canvas, after[2], after[3]),
         view_point(canvas, after[2] + 0.05, after[3] + 0.05))
    resized = window.doc.layout.object(obj.id).boxes[frame]
    assert resized[0] == pytest.approx(after[0], abs=1e-3)
    assert resized[2] == pytest.approx(min(1.0, after[2] + 0.05), abs=0.02)
    window.act_undo.trigger()
    window.act_undo.trigger()
    window.act_undo.trigger()  # back past the plan: no layout
    assert window.doc.layout is None and not window.act_render.isEnabled()


def test_a_drag_while_the_playhead_moves_lands_on_the_frame_it_started_on(qtbot, window, clip):
    """Playback moves the playhead (and the canvas's frame) under a drag: the drag used to
    vanish with its box, redrawn for the next frame, and the edit was lost without a word."""
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    doc, canvas = window.doc, window.canvas
    oid = doc.layout.objects[0].id
    frame = doc.current_frame()
    x0, y0, x1, y1 = doc.layout.object(oid).boxes[frame]
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    before = doc.undo_stack.count()
    vp = canvas.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view_point(canvas, cx, cy))
    qtbot.mouseMove(vp, view_point(canvas, cx - 0.05, cy))
    doc.step_frame(1)  # as playback does
    qtbot.mouseMove(vp, view_point(canvas, cx - 0.1, cy))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_point(canvas, cx - 0.1, cy))
    assert doc.undo_stack.count() == before + 1
    moved = doc.layout.object(oid).boxes[frame]
    assert moved[0] == pytest.approx(x0 - 0.1, abs=0.01)
    assert canvas._frame == doc.current_frame() == frame + 1  # the view caught up


def test_object_add_rename_keyframes_delete(qtbot, window, clip):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    doc = window.doc
    heard = doc.layout.objects[0].label  # whatever the tagger heard the noise as
    new_id = doc.add_object("dog")
    assert doc.selected_id == new_id and len(doc.layout.objects) == 2
    doc.update_object(new_id, label="bird", prompt="a small bird", motion="left_to_right")
    assert doc.layout.object(new_id).label == "bird"
    # Keyframes at frames 2 and 10: the frames between follow a straight line.
    doc.set_time(doc.frame_time(2))
    doc.move_box(new_id, 2, (0.0, 0.1, 0.2, 0.3))
    window.toggle_keyframe()
    doc.set_time(doc.frame_time(10))
    window.toggle_keyframe()
    doc.move_box(new_id, 10, (0.8, 0.1, 1.0, 0.3))
    boxes = doc.layout.object(new_id).boxes
    assert boxes[6][0] == pytest.approx(0.4, abs=1e-3)
    assert boxes[12] == pytest.approx((0.35, 0.35, 0.65, 0.65))  # outside the keys: untouched
    lanes = [p for k, _, _, p in window.timeline.canvas.lanes() if k == "object"]
    assert [o.label for o in lanes] == [heard, "bird"]
    window.timeline.canvas.grab()
    window.act_delete.trigger()
    assert [o.label for o in doc.layout.objects] == [heard]
    for _ in range(7):  # delete, move, key, key, move, edit, add
        window.act_undo.trigger()
    assert len(doc.layout.objects) == 1 and doc.undo_stack.undoText() == "Plan layout"


def test_add_object_from_the_canvas_menu_on_a_full_layout_says_why(qtbot, window, clip):
    """The 9th object: the canvas's right-click "Add object" let the refusal escape its slot
    (a traceback on stderr, nothing on screen) where Ctrl+Shift+A shows it in the banner."""
    from engine.layout import MAX_OBJECTS
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    doc = window.doc
    while len(doc.layout.objects) < MAX_OBJECTS:
        doc.add_object("dog")
    steps = doc.undo_stack.count()
    said = []
    doc.message.connect(lambda text, level: said.append((level, text)))
    menu = window.canvas.context_menu(None)  # right-click on no box
    [add] = [a for a in menu.actions() if a.text() == "Add object"]
    add.trigger()
    assert len(doc.layout.objects) == MAX_OBJECTS and doc.undo_stack.count() == steps
    assert said and said[-1][0] == "error" and f"at most {MAX_OBJECTS}" in said[-1][1]
    window.add_object()  # Ctrl+Shift+A: the same refusal
    assert len(doc.layout.objects) == MAX_OBJECTS and doc.undo_stack.count() == steps


def test_render_preview_export_and_thumbnails(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    out = tmp_path / "out" / "clip.mp4"
    job = window.render(out, fps=12)
    finished(qtbot, job)
    info = probe_mp4(out)
    assert info["video"]["fps"] == pytest.approx(12) and info["audio"]["channels"] == 2
    assert window.doc.project.renders[-1].path == out
    qtbot.waitUntil(lambda: len(window.doc.thumbnails) > 0, timeout=20_000)
    assert window.doc.render_is_current(window.doc.latest_render())
    window.preview.refresh()
    assert window.preview._caption.startswith("render")
    # Export: reuse the render for the MP4, write PNG frames and the layout JSON.
    from spa2v_app.studio.dialogs import ExportRequest
    req = ExportRequest(mp4=tmp_path / "exp" / "final.mp4", frames_dir=tmp_path / "exp" / "frames",
                        layout_json=tmp_path / "exp" / "layout.json", renderer="preview",
                        fps=6, reuse_render=True)
    jobs = window.export(req)
    for j in jobs:
        finished(qtbot, j)
    assert (tmp_path / "exp" / "final.mp4").read_bytes() == out.read_bytes()
    pngs = sorted((tmp_path / "exp" / "frames").glob("frame_*.png"))
    assert len(pngs) == 12  # 2 s at 6 fps
    assert load_layout(tmp_path / "exp" / "layout.json").to_dict() == window.doc.layout.to_dict()
    assert not [p for p in (tmp_path / "exp").iterdir() if ".part" in p.name]
    # Where the video went, in full: the copy of the last render said nothing at all.
    said = []
    window.statusBar().messageChanged.connect(said.append)
    [video] = window.export(ExportRequest(mp4=tmp_path / "exp" / "again.mp4", frames_dir=None,
                                          layout_json=None, renderer="preview", fps=6,
                                          reuse_render=True))
    finished(qtbot, video)
    assert f"Exported the video to {tmp_path / 'exp' / 'again.mp4'}" in said
    [video] = window.export(ExportRequest(mp4=tmp_path / "exp" / "new.mp4", frames_dir=None,
                                          layout_json=None, renderer="preview", fps=6,
                                          reuse_render=False))
    finished(qtbot, video)
    qtbot.waitUntil(lambda: f"Exported the video to {tmp_path / 'exp' / 'new.mp4'}" in said)


def test_an_edit_made_while_rendering_makes_that_render_stale(qtbot, window, clip, tmp_path):
    """The render draws the layout it was queued with; an edit made while it runs is not in
    the video, so the export must not offer to reuse it as matching the layout."""
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    job = window.render(tmp_path / "r.mp4", renderer="preview")
    window.doc.add_object("dog")  # before the job's result comes back (same thread)
    finished(qtbot, job)
    assert window.doc.latest_render().path == tmp_path / "r.mp4"
    assert not window.doc.render_is_current(window.doc.latest_render())
    window.doc.undo_stack.undo()
    assert window.doc.render_is_current(window.doc.latest_render())


class SlowRenderer:
    """The preview renderer, slowed down so a cancel lands mid-render."""

    name = "preview"

    def __init__(self):
        from engine.rendering.preview import PreviewRenderer
        self.inner = PreviewRenderer()

    def render(self, layout, settings, token):
        import time
        for event in self.inner.render(layout, settings, token):
            time.sleep(0.02)
            token.raise_if_cancelled()
            yield event


def test_cancel_running_and_remove_queued(qtbot, window, clip, tmp_path, monkeypatch):
    from spa2v_app.studio.model import tasks
    monkeypatch.setattr(tasks, "make_renderer_for", lambda name, device="auto": SlowRenderer())
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    first = window.render(tmp_path / "a.mp4", fps=24)
    second = window.render(tmp_path / "b.mp4", fps=24)
    qtbot.waitUntil(lambda: first.state == "running" and first.fraction > 0, timeout=10_000)
    assert second.state == "queued"
    row = window.queue_panel.row(second)
    row.button.click()  # Remove
    assert second not in window.queue.jobs and second.state == "cancelled"
    window.act_cancel.trigger()
    wait_job(qtbot, first)
    assert first.state == "cancelled"
    assert not (tmp_path / "a.mp4").exists() and not (tmp_path / "b.mp4").exists()
    assert not list(tmp_path.glob(".a.mp4*"))  # no half-written file
    assert window.doc.project.renders == []


def test_save_reopen_and_recover(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    window.doc.add_object("bird")
    path = tmp_path / "proj" / "scene.spa2v"
    assert window._save_to(path)
    assert not window.doc.dirty and "scene.spa2v" in window.windowTitle()
    saved = window.doc.layout.to_dict()
    # Edit after saving, autosave, then "crash": a new window finds the autosave.
    window.doc.delete_object(window.doc.selected_id)
    auto = window.autosave()
    assert auto is not None and auto.exists()
    doc = json.loads(auto.read_text())
    assert doc["autosave"]["session"] == "test-session"
    window.new_project()
    assert window.doc.layout is None
    assert window.open_project(path)
    assert window.doc.layout.to_dict() == saved
    qtbot.waitUntil(lambda: window.doc.audio is not None, timeout=20_000)
    assert window.doc.audio.duration_s == pytest.approx(2.0, abs=0.01)
    # The crashed session's autosave (written above, then orphaned) is offered back.
    import shutil
    orphan = auto.with_name("crashed" + auto.name)
    shutil.copy(tmp_path / "proj" / "scene.spa2v", orphan)
    data = json.loads(orphan.read_text())
    data["autosave"] = {"project_path": str(path), "saved_at": "2026-01-01T00:00:00+00:00",
                        "pid": -1, "session": "dead"}
    data["layout"]["caption"] = "recovered caption"
    orphan.write_text(json.dumps(data))
    found = window.recoverable()
    assert [r.autosave_path for r in found] == [orphan]
    assert window.recover(found[0])
    assert window.doc.layout.caption == "recovered caption" and window.doc.dirty
    assert window.doc.project.path == path
    assert not orphan.exists() and find_recoverable(auto.parent, ignore_session="test-session") == []


def test_play_pause_moves_the_playhead(qtbot, window, clip):
    import_clip(qtbot, window, clip)
    assert window.act_play.isEnabled()
    window.seek(0.5)
    window.act_play.trigger()
    assert window.player.playing and window.player.backend == "clock"
    qtbot.waitUntil(lambda: window.doc.time_s > 0.8, timeout=5_000)
    window.act_play.trigger()
    assert not window.player.playing
    paused_at = window.doc.time_s
    qtbot.wait(100)
    assert window.doc.time_s == paused_at
    assert "silent" in window.status_backend.text()


def test_settings_dialog_refuses_a_key_with_a_stray_character(qtbot, window, monkeypatch):
    """A key pasted with a non-breaking space was stored, and every Gemini plan then fell
    back with "Gemini could not be reached (UnicodeEncodeError ...)"."""
    from spa2v_app.studio.dialogs import SettingsDialog

    def keyring_must_not_be_touched():
        raise AssertionError("the keyring was asked")
    monkeypatch.setattr("spa2v_app.studio.model.secrets._keyring", keyring_must_not_be_touched)
    dlg = SettingsDialog(window.settings, window)
    qtbot.addWidget(dlg)
    dlg.gemini.setText("AIza\u00a0Zq81x")
    dlg.accept()
    assert dlg.result() == 0 and dlg.tabs.currentIndex() == 2
    assert "Key not stored" in dlg.key_note.text() and "position 5" in dlg.key_note.text()
    assert "Zq81x" not in dlg.key_note.text()


def test_settings_dialog_applies_and_reports_a_missing_keyring(qtbot, window, monkeypatch):
    from spa2v_app.studio.model import secrets
    from spa2v_app.studio.dialogs import SettingsDialog

    def no_keyring(key):
        raise secrets.KeyringUnavailable("no OS keyring is running")
    monkeypatch.setattr("spa2v_app.studio.dialogs.store_gemini_key", no_keyring)
    dlg = SettingsDialog(window.settings, window)
    qtbot.addWidget(dlg)
    dlg.memory.setCurrentText("model_offload")
    dlg.gemini.setText("secret-key")
    dlg.accept()  # the key cannot be stored: the dialog stays open and says why
    assert dlg.result() == 0 and "no OS keyring" in dlg.key_note.text()
    dlg.gemini.setText("")
    dlg.accept()
    s = dlg.apply()
    assert s.memory_tier == "model_offload"
    assert "secret-key" not in json.dumps(s.to_dict())


def test_ok_in_settings_keeps_the_models_folder_of_the_environment(window, monkeypatch,
                                                                     tmp_path):
    from PySide6.QtWidgets import QDialog
    from spa2v_app.studio.dialogs import SettingsDialog
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "from-env"))
    monkeypatch.setattr(SettingsDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    window.settings_dialog()  # OK on another setting: the folder in use stays
    assert os.environ["SPA2V_MODELS_DIR"] == str(tmp_path / "from-env")

    def changed(self):
        self.models_dir.setText(str(tmp_path / "chosen"))
        return QDialog.DialogCode.Accepted
    monkeypatch.setattr(SettingsDialog, "exec", changed)
    window.settings_dialog()  # a folder chosen here is used
    assert os.environ["SPA2V_MODELS_DIR"] == str(tmp_path / "chosen")


def test_entry_point_is_the_package_main():
    import importlib
    studio = importlib.import_module("spa2v_app.studio")
    from spa2v_app.studio.app import build_parser
    import tomllib
    from pathlib import Path
    project = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    module, _, attr = project["project"]["gui-scripts"]["spa2v-studio"].partition(":")
    assert getattr(importlib.import_module(module), attr) is studio.main
    args = build_parser().parse_args(["song.wav", "--no-recovery"])
    assert args.paths == ["song.wav"] and args.no_recovery
    # A file manager's selection (the desktop entry's %F): it refused two paths and the
    # studio did not start; with %f, each file started a studio of its own.
    assert build_parser().parse_args(["a.wav", "b.wav"]).paths == ["a.wav", "b.wav"]
    entry = Path(__file__).resolve().parents[3] / "packaging" / "spa2v-studio.desktop"
    assert "Exec=spa2v-studio %F" in entry.read_text()
    assert r'spa2v-studio\" %F|' in (entry.parent / "install.sh").read_text()  # as installed


def test_timeline_zooms_scrolls_and_seeks(qtbot, window, clip):
    from PySide6.QtCore import QPoint
    import_clip(qtbot, window, clip)
    tl = window.timeline.canvas
    assert tl.visible_span()[1] == pytest.approx(2.0, rel=0.05)  # fitted to the clip
    pps = tl.pps
    window.timeline.zoom(4.0)
    assert tl.pps == pytest.approx(4 * pps)
    a, b = tl.visible_span()
    assert b - a == pytest.approx(0.5, rel=0.05)
    window.timeline.scroll.setValue(1000)
    assert tl.t0 == pytest.approx(1.0)
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.x_of(1.25)), 10))
    assert window.doc.time_s == pytest.approx(1.25, abs=0.01)
    tl.set_zoom(1e9)
    assert tl.pps == 4000.0
    tl.fit()
    assert tl.t0 == 0.0


def test_recent_projects_menu(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    path = tmp_path / "r.spa2v"
    assert window._save_to(path)
    window._fill_recent()
    actions = window.recent_menu.actions()
    assert actions[0].data() == str(path.absolute()) and actions[0].isEnabled()
    window.new_project()
    window._open_recent(actions[0])
    assert window.doc.project.path == path.absolute() or window.doc.project.path == path
    # The name comes first (a full path each hid the names); a gone one says so; the list
    # could not be cleared.
    gone = tmp_path / "gone.spa2v"
    window.settings.add_recent(gone)
    window._fill_recent()
    texts = [a.text() for a in window.recent_menu.actions()]
    assert texts[0].startswith("gone.spa2v") and texts[0].endswith("(not found)")
    assert texts[1].startswith("r.spa2v") and str(tmp_path) in texts[1]
    next(a for a in window.recent_menu.actions() if a.text() == "Clear the list").trigger()
    assert window.settings.recent == []


def test_smoke_mode_imports_plans_and_renders(qtbot, window, clip, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QApplication

    from spa2v_app.studio import app as studio_app
    codes = []
    monkeypatch.setattr(QApplication.instance(), "exit", lambda code=0: codes.append(code))
    studio_app._smoke(window, clip, tmp_path / "smoke.mp4")
    qtbot.waitUntil(lambda: bool(codes), timeout=30_000)
    assert codes == [0] and window.doc.layout is not None and window.doc.project.renders


def test_smoke_entry_point_exits_0_and_leaves_nothing(clip, tmp_path, studio_folders):
    """The installed ``spa2v-studio`` entry point, run as a user runs it: exit 0 (not 134 from
    a thumbnail thread still running at exit), no temporary MP4 or recovery file left."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[3]
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    code = ("import sys; from importlib.metadata import entry_points; "
            "main = entry_points(group='gui_scripts')['spa2v-studio'].load(); "
            "sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "TMPDIR": str(tmp), "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run([sys.executable, "-c", code, "--smoke", str(clip)], cwd=root, env=env,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "smoke: ok" in run.stdout and "QThread" not in run.stderr
    # build.sh reads these two to judge a frozen app (the tagger it carries, PortAudio).
    assert "smoke: tagger: " in run.stdout and "smoke: recording: " in run.stdout
    # onnxruntime (the sound tagger's runtime) keeps a 51-byte session id, .ses, in TMPDIR
    # from its import on; it is shared by every run and not the smoke run's to remove.
    assert [p for p in tmp.iterdir() if p.name != ".ses"] == []
    data = tmp_path / "data"
    assert not data.exists() or not [p for p in data.rglob("*") if p.is_file()
                                     and "autosave" in str(p)]


def test_an_old_error_goes_when_another_sound_is_imported(qtbot, window, clip, tmp_path):
    short = write_wav(tmp_path / "blip.wav", panned_noise(30, duration_s=0.02, seed=5))
    wait_job(qtbot, window.import_audio(short))
    assert window.banner.isVisible() and "blip.wav" in window.banner.text()
    # It stayed over the next sound, imported and planned, until clicked.
    drop_file(window, clip)
    finished(qtbot, window.queue.jobs[-1])
    assert "blip.wav" not in window.banner.text() or not window.banner.isVisible()
    window.show_message("Rendering failed: the disk is full.", "error")
    plan(qtbot, window)
    assert not window.banner.isVisible() or "disk is full" not in window.banner.text()


def test_ctrl_period_cancels_the_job_the_status_bar_names(qtbot, window, clip, tmp_path,
                                                         monkeypatch):
    import threading

    from spa2v_app.studio.model import tasks
    import_clip(qtbot, window, clip)
    gate, real = threading.Event(), tasks.import_job

    def slow_import(path, token, **kw):
        gate.wait(30)
        return (yield from real(path, token, **kw))
    monkeypatch.setattr(tasks, "import_job", slow_import)
    monkeypatch.setattr(tasks, "make_renderer_for", lambda name, device="auto": SlowRenderer())
    plan(qtbot, window)
    other = write_wav(tmp_path / "other.wav", panned_noise(-30, duration_s=2.0, seed=4))
    importing = window.import_audio(other)
    render = window.render(tmp_path / "a.mp4", fps=24)
    qtbot.waitUntil(lambda: render.state == "running" and importing.state == "running")
    assert window.status_job.text().startswith(render.title)
    window.act_cancel.trigger()
    gate.set()
    wait_job(qtbot, render)
    wait_job(qtbot, importing)
    # Both were cancelled: the import running beside the render too.
    assert render.state == "cancelled" and importing.state == "finished"
