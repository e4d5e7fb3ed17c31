"""Recording and crash recovery as a demanding user meets them: a full disk, an unusable
folder, a kill, a close or a logout mid-take, overflows, silence, limits, other rates, the
keyboard, damaged recovery copies. The user is told what is wrong, in words; every frame that
reached the disk is counted, kept, and offered back."""

import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import spa2v_app.studio.model.recording as recording
from spa2v_app.studio.model.recording import InputDevice, Recorder
from tests.app.studio.fake_stream import FakeInputStream, fake_stream_factory

from .helpers import wait_job

SR = 48000


def known_signal(seconds=1.0):
    rng = np.random.default_rng(7)
    return (0.2 * rng.standard_normal((int(SR * seconds), 2))).astype(np.float32)


def wait_for_error(rec, seconds=10.0):
    deadline = time.monotonic() + seconds
    while rec.check() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return rec.check()


def test_a_disk_that_fills_up_is_named_and_the_count_is_what_was_kept(tmp_path, monkeypatch):
    real_write = sf.SoundFile.write
    calls = []

    def write(self, data):
        calls.append(len(data))
        if len(calls) > 20:
            raise RuntimeError("System error.")  # what libsndfile says for ENOSPC
        return real_write(self, data)
    monkeypatch.setattr(sf.SoundFile, "write", write)
    monkeypatch.setattr(recording, "_free_bytes", lambda folder: 0)
    rec = Recorder(tmp_path, sample_rate=SR, subtype="FLOAT",
                   stream_factory=fake_stream_factory(speed=8.0))
    path = rec.start()
    error = wait_for_error(rec)
    assert error == f"The recording stopped: the disk holding {tmp_path} is full."
    time.sleep(0.1)  # the device goes on sending until the window polls and stops
    result = rec.stop()
    assert result.frames == sf.info(str(path)).frames == 20 * 1024
    assert result.duration_s == pytest.approx(20 * 1024 / SR)


def test_a_full_disk_at_the_start_says_so_and_leaves_no_empty_file(tmp_path, monkeypatch):
    def refuse(path, *a, **kw):
        Path(path).touch()  # libsndfile creates the file, then fails to write its header
        raise RuntimeError(f"Error opening {path!r}: System error.")
    monkeypatch.setattr(sf, "SoundFile", refuse)
    monkeypatch.setattr(recording, "_free_bytes", lambda folder: 0)
    rec = Recorder(tmp_path / "recordings", stream_factory=fake_stream_factory())
    with pytest.raises(RuntimeError, match="the disk holding .*recordings is full"):
        rec.start()
    assert list((tmp_path / "recordings").iterdir()) == []


def test_an_unusable_recordings_folder_is_a_message_not_a_stuck_panel(qtbot, tmp_path):
    from spa2v_app.studio.app import create_app
    from spa2v_app.studio.record_panel import RecordPanel
    create_app()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    panel = RecordPanel(lambda: blocker / "recordings", stream_factory=fake_stream_factory(),
                        list_devices=lambda: ([InputDevice(0, "mic", 2, 48000.0)], None))
    qtbot.addWidget(panel)
    messages = []
    panel.message.connect(lambda text, level: messages.append((text, level)))
    panel.start()
    assert not panel.recording and not panel.button.isChecked()
    [(text, level)] = messages
    assert level == "error" and text.startswith("Cannot record: could not write to ")
    assert "recordings folder in Settings" in text
    assert panel.stop() is None  # nothing half-started to stop


KILLED_RECORDING = """
import os, signal, sys
from PySide6.QtCore import QTimer
from spa2v_app.studio.app import create_app
from spa2v_app.studio.main_window import MainWindow
from spa2v_app.studio.model.recording import InputDevice
from spa2v_app.studio.model.settings import StudioSettings
from tests.app.studio.fake_stream import fake_stream_factory
app = create_app()
settings = StudioSettings(recordings_dir=sys.argv[1])
settings.remember_stereo("Fake stereo mic", "spaced")
settings.remember_spacing("Fake stereo mic", 0.17)
w = MainWindow(settings, stream_factory=fake_stream_factory(speed=4.0), use_audio_device=False,
               session_id="doomed",
               list_devices=lambda: ([InputDevice(0, "Fake stereo mic", 2, 48000.0)], None))
w.show()
w.act_record.trigger()
print("recording", w.record_panel.recorder.path, flush=True)
QTimer.singleShot(1500, lambda: os.kill(os.getpid(), signal.SIGKILL))
app.exec()
"""


def test_a_recording_killed_mid_way_is_offered_back_at_the_next_start(qtbot, make_window,
                                                                      tmp_path, monkeypatch):
    import os
    import signal
    import subprocess
    import sys

    from PySide6.QtWidgets import QMessageBox

    root = Path(__file__).resolve().parents[3]
    folder = tmp_path / "recordings"  # the make_window fixture's recordings folder
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run([sys.executable, "-c", KILLED_RECORDING, str(folder)], cwd=root,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == -signal.SIGKILL, run.stdout + run.stderr
    wav = Path(run.stdout.split()[1])
    kept = sf.info(str(wav)).frames
    assert kept > SR  # 1.5 s at 4x: about 6 s recorded, all but the last flush on disk
    window = make_window(session_id="next-start")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a:
                        asked.append(text) or QMessageBox.StandardButton.Open)
    window.offer_recovery()
    assert len(asked) == 1 and str(wav) in asked[0] and f"{kept / SR:.1f} s" in asked[0]
    wait_job(qtbot, window.queue.jobs[-1])
    assert window.doc.project.audio_path == wav
    assert window.doc.stereo == "spaced" and window.doc.spacing_m == pytest.approx(0.17)
    window.offer_recovery()  # offered once, and the WAV stays
    assert len(asked) == 1 and wav.exists()


def test_a_stopped_recording_is_held_until_its_project_holds_it(qtbot, make_window,
                                                               monkeypatch):
    import json

    from PySide6.QtWidgets import QMessageBox

    from spa2v_app.studio.model.paths import autosave_dir
    from spa2v_app.studio.model.recording import marker_path
    window = make_window()
    window.act_record.trigger()
    qtbot.waitUntil(lambda: window.record_panel.recorder.elapsed_s > 0.5, timeout=10_000)
    wav = window.record_panel.recorder.path
    window.act_record.trigger()
    # Stopped, being imported: a crash now must still find it (the marker names this process).
    assert json.loads(marker_path(wav).read_text())["pid"] == os.getpid()
    wait_job(qtbot, window.queue.jobs[-1])
    assert window.doc.project.audio_path == wav
    assert not marker_path(wav).exists()  # the project holds it now ...
    [copy] = autosave_dir().glob("*.autosave.json")  # ... and so does its recovery copy
    assert str(wav) in copy.read_text()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a: asked.append(a)
                        or QMessageBox.StandardButton.Open)
    window.offer_recovery()
    assert asked == []


STOPPED_THEN_KILLED = KILLED_RECORDING.replace(
    "QTimer.singleShot(1500, lambda: os.kill(os.getpid(), signal.SIGKILL))",
    "QTimer.singleShot(1500, lambda: (w.act_record.trigger(), "
    "os.kill(os.getpid(), signal.SIGKILL)))")


def test_a_recording_stopped_but_not_yet_imported_when_killed_is_offered_back(
        qtbot, make_window, tmp_path, monkeypatch):
    import signal
    import subprocess
    import sys

    from PySide6.QtWidgets import QMessageBox
    assert STOPPED_THEN_KILLED != KILLED_RECORDING
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run([sys.executable, "-c", STOPPED_THEN_KILLED,
                          str(tmp_path / "recordings")], cwd=root, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == -signal.SIGKILL, run.stdout + run.stderr
    wav = Path(run.stdout.split()[1])
    window = make_window(session_id="next-start")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a:
                        asked.append(text) or QMessageBox.StandardButton.Open)
    window.offer_recovery()
    assert len(asked) == 1 and str(wav) in asked[0]


class Overflowed:
    """sounddevice's CallbackFlags with input_overflow set."""

    input_overflow = True

    def __bool__(self) -> bool:
        return True


def test_input_overflows_are_reported_not_just_counted(qtbot, window):
    def factory(**kw):
        stream = FakeInputStream(speed=4.0, **kw)
        feed, sent = stream.callback, []

        def callback(data, frames, time_info, status):
            sent.append(frames)
            feed(data, frames, time_info, Overflowed() if len(sent) in (5, 9) else status)
        stream.callback = callback
        return stream
    panel = window.record_panel
    panel.stream_factory = factory
    window.act_record.trigger()
    qtbot.waitUntil(lambda: panel.recorder.xruns == 2, timeout=10_000)
    qtbot.waitUntil(lambda: "overflowed 2 times" in panel.note.text(), timeout=5_000)
    window.act_record.trigger()
    text, level = window.last_message
    assert level == "warning" and text.startswith("The input overflowed 2 times")
    assert "short gaps" in text
    wait_job(qtbot, window.queue.jobs[-1])


def test_closing_while_recording_asks_and_keeps_the_recording_for_the_next_start(
        qtbot, make_window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    window = make_window()
    del window.ask_stop_recording  # the fixture's stand-in: ask for real
    panel = window.record_panel
    window.act_record.trigger()
    qtbot.waitUntil(lambda: panel.recorder.elapsed_s > 1.0, timeout=10_000)
    path = panel.recorder.path
    asked, answer = [], [QMessageBox.StandardButton.Cancel]
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a:
                        asked.append(text) or answer[0])
    assert not window.close()  # Cancel: it goes on recording
    assert panel.recording and str(path) in asked[0] and "next start" in asked[0]
    answer[0] = QMessageBox.StandardButton.Yes
    assert window.close()
    assert not panel.recording and sf.info(str(path)).frames > SR
    answer[0] = QMessageBox.StandardButton.Open
    later = make_window(session_id="next-start")
    later.offer_recovery()
    assert len(asked) == 3 and str(path) in asked[2]
    wait_job(qtbot, later.queue.jobs[-1])
    assert later.doc.project.audio_path == path


TERMINATED = """
import sys
from spa2v_app.studio.app import create_app, end_on_signals
from spa2v_app.studio.main_window import MainWindow
from spa2v_app.studio.model.recording import InputDevice
from spa2v_app.studio.model.settings import StudioSettings
from tests.app.studio.fake_stream import fake_stream_factory
app = create_app()
w = MainWindow(StudioSettings(recordings_dir=sys.argv[1]),
               stream_factory=fake_stream_factory(speed=4.0), use_audio_device=False,
               session_id="logged-out",
               list_devices=lambda: ([InputDevice(0, "Fake stereo mic", 2, 48000.0)], None))
w.show()
end_on_signals(app, w)
w.doc.set_stereo("coincident")  # unsaved work
w.act_record.trigger()
print("recording", w.record_panel.recorder.path, flush=True)
sys.exit(app.exec())
"""


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_sigterm_while_recording_ends_cleanly_and_keeps_the_work(qtbot, make_window, tmp_path,
                                                                monkeypatch, signame):
    import json
    import os
    import signal
    import subprocess
    import sys

    from PySide6.QtWidgets import QMessageBox

    from spa2v_app.studio.model.recording import marker_path
    root = Path(__file__).resolve().parents[3]
    folder = tmp_path / "recordings"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.Popen([sys.executable, "-c", TERMINATED, str(folder)], cwd=root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wav = Path(child.stdout.readline().split()[1])
    time.sleep(1.0)
    sig = getattr(signal, signame)  # a logout, or Ctrl+C in the terminal
    child.send_signal(sig)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 128 + sig, err
    assert "Traceback" not in err
    assert json.loads(marker_path(wav).read_text())["pid"] is None  # stopped, not cut off
    assert sf.info(str(wav)).frames > SR  # its header closed on everything written
    window = make_window(session_id="next-start")
    [copy] = window.recoverable()  # the unsaved project, written at the signal and kept
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a:
                        asked.append(text) or QMessageBox.StandardButton.Yes)
    window.offer_recovery()
    assert window.doc.stereo == "coincident" and len(asked) == 2 and str(wav) in asked[1]


def test_a_damaged_recovery_copy_is_reported_and_set_aside(window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from spa2v_app.studio.model.paths import autosave_dir
    folder = autosave_dir()
    folder.mkdir(parents=True, exist_ok=True)
    damaged = folder / "scene-0123456789ab.autosave.json"
    damaged.write_bytes(b'{"schema": "spa2v.project/1", "layout": {"fra\x00\x00\x00')
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a: asked.append(a)
                        or QMessageBox.StandardButton.Yes)
    window.offer_recovery()
    text, level = window.last_message
    assert level == "error" and "could not be read" in text and str(damaged) in text
    assert f"kept as {damaged}.unreadable" in text
    assert not damaged.exists() and Path(f"{damaged}.unreadable").exists() and asked == []
    window.last_message = ("", "info")
    window.offer_recovery()  # said once: the next start is not bothered again
    assert window.last_message == ("", "info")


def test_a_recovery_copy_that_fails_to_load_is_not_offered_at_every_start(window, monkeypatch):
    import json

    from PySide6.QtWidgets import QMessageBox

    from spa2v_app.studio.model.paths import autosave_dir
    folder = autosave_dir()
    folder.mkdir(parents=True, exist_ok=True)
    broken = folder / "untitled-0123456789ab.autosave.json"
    broken.write_text(json.dumps({
        "schema": "spa2v.project/1", "name": "scene", "layout": "not a layout",
        "autosave": {"project_path": None, "saved_at": "2026-12-01T10:00:00+00:00",
                     "pid": -1, "session": "dead"}}))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a: asked.append(a)
                        or QMessageBox.StandardButton.Yes)
    window.offer_recovery()
    text, level = window.last_message
    assert len(asked) == 1 and level == "error" and text.startswith("Could not recover")
    assert f"kept as {broken}.unreadable" in text
    window.offer_recovery()
    assert len(asked) == 1


def test_a_device_at_another_rate_records_at_its_own(qtbot, window):
    panel = window.record_panel
    panel.refresh_devices([InputDevice(0, "Fake stereo mic", 2, 48000.0),
                           InputDevice(5, "Bluetooth headset", 1, 16000.0),
                           InputDevice(6, "Old interface", 2, 44100.0)], None)
    assert panel.rate_box.currentData() == 48000
    panel.device_box.setCurrentIndex(1)
    assert panel.rate_box.currentData() == 16000
    assert "16 kHz (the device's)" in panel.rate_box.currentText()
    window.act_record.trigger()
    qtbot.waitUntil(lambda: panel.recorder.elapsed_s > 0.5, timeout=10_000)
    window.act_record.trigger()
    wait_job(qtbot, window.queue.jobs[-1])
    info = sf.info(str(window.doc.project.audio_path))
    assert info.samplerate == 16000 and info.channels == 1
    panel.device_box.setCurrentIndex(2)
    assert panel.rate_box.currentData() == 44100
    assert [panel.rate_box.itemData(i) for i in range(panel.rate_box.count())] == [
        44100, 48000, 96000]  # the headset's rate went with it


def test_a_recording_stops_at_the_engines_limit_not_a_frame_over(tmp_path, monkeypatch):
    from engine.audio.io import audio_info
    monkeypatch.setattr(recording, "MAX_DURATION_S", 1.0, raising=False)
    rec = Recorder(tmp_path, sample_rate=44100, stream_factory=fake_stream_factory(speed=8.0))
    path = rec.start()  # 1024-frame blocks do not divide 44100 frames
    assert wait_for_error(rec).startswith("Recordings stop at ")
    result = rec.stop()
    assert result.frames == sf.info(str(path)).frames == 44100
    assert audio_info(path).duration_s <= 1.0  # what the engine checks at import


def test_a_recording_stops_before_its_wav_passes_4_gb(tmp_path, monkeypatch):
    # 96 kHz, 24-bit stereo: 576,000 bytes a second, so the 4 GiB comes at 2 h 4 min.
    assert recording.recording_limit(96000, 2, "PCM_24") == (
        715653119, "Recordings at 96 kHz stop at 2 h 4 min: a WAV file holds 4 GB.")
    assert recording.recording_limit(48000, 2, "PCM_24") == (
        3 * 3600 * 48000, "Recordings stop at 3 hours.")
    monkeypatch.setattr(recording, "WAV_MAX_BYTES", 96000 * 6 // 2)  # half a second
    rec = Recorder(tmp_path, sample_rate=96000, stream_factory=fake_stream_factory(speed=8.0))
    path = rec.start()
    assert "a WAV file holds 4 GB" in wait_for_error(rec)
    assert rec.stop().frames == sf.info(str(path)).frames == 48000


def test_recording_by_keyboard_and_space_after_a_click_does_not_stop_the_take(qtbot, window):
    from PySide6.QtCore import Qt

    from .test_window import _press
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    panel = window.record_panel
    _press(qtbot, window, "Ctrl+R")
    assert panel.recording
    _press(qtbot, window, "Ctrl+R")
    assert not panel.recording
    wait_job(qtbot, window.queue.jobs[-1])
    qtbot.mouseClick(panel.button, Qt.MouseButton.LeftButton)  # Record, by the mouse
    assert panel.recording
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_Space)  # play / pause
    assert panel.recording, "Space pressed the focused Stop button"
    _press(qtbot, window, "Ctrl+R")
    assert not panel.recording
    wait_job(qtbot, window.queue.jobs[-1])
    panel.button.setFocus(Qt.FocusReason.TabFocusReason)  # still reached by Tab
    assert panel.button.hasFocus()


def test_every_toolbar_tip_names_its_keys(window):
    for action in (window.act_record, window.act_import, window.act_plan, window.act_render,
                   window.act_export, window.act_undo, window.act_redo, window.act_play):
        keys = action.shortcuts()
        assert keys and all(k.toString() in action.toolTip() for k in keys), action.toolTip()


def test_undo_tips_follow_the_edit_and_name_the_keys(qtbot, window, clip):
    from .helpers import import_clip, plan
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    window.doc.add_object("dog")
    assert window.act_undo.toolTip().startswith("Undo ") and "Ctrl+Z" in window.act_undo.toolTip()
    assert window.act_undo.toolTip() != "Undo (Ctrl+Z)"  # names the edit


def test_the_record_timer_counts_hours_past_an_hour():
    from spa2v_app.studio.record_panel import elapsed_text
    assert elapsed_text(0.0) == "0:00.0"
    assert elapsed_text(59.96) == "0:59.9"  # never rounds up to a minute not yet recorded
    assert elapsed_text(247.3) == "4:07.3"
    assert elapsed_text(3847.25) == "1:04:07.2"
    assert elapsed_text(3 * 3600) == "3:00:00.0"


def test_a_recording_stays_offered_when_its_recovery_copy_cannot_be_written(qtbot, window,
                                                                            monkeypatch):
    import spa2v_app.studio.project_actions as project_actions
    from spa2v_app.studio.model.recording import marker_path

    def full(*a, **kw):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(project_actions, "write_autosave", full)
    window.act_record.trigger()
    qtbot.waitUntil(lambda: window.record_panel.recorder.elapsed_s > 0.5, timeout=10_000)
    wav = window.record_panel.recorder.path
    window.act_record.trigger()
    wait_job(qtbot, window.queue.jobs[-1])
    assert window.doc.project.audio_path == wav and window.doc.dirty
    assert marker_path(wav).exists()  # no recovery copy holds it: a crash must still find it


def test_started_on_a_file_the_waiting_work_is_mentioned_and_in_the_file_menu(
        qtbot, window, monkeypatch):
    import json

    from PySide6.QtWidgets import QMessageBox

    from spa2v_app.studio.model.paths import autosave_dir
    window.mention_recovery()
    assert window.last_message == ("", "info")  # nothing waits: nothing said
    window.act_recover.trigger()
    assert window.last_message[0].startswith("Nothing to recover")
    folder = autosave_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "untitled-0123456789ab.autosave.json").write_text(json.dumps({
        "schema": "spa2v.project/1", "name": "harbour", "settings": {"stereo": "binaural"},
        "autosave": {"project_path": None, "saved_at": "2026-12-01T10:00:00+00:00",
                     "pid": -1, "session": "dead"}}))
    window.mention_recovery()
    text, level = window.last_message
    assert level == "warning" and "File > Recover unsaved work" in text
    assert window.act_recover in window.menuBar().actions()[0].menu().actions()
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes)
    window.act_recover.trigger()
    assert window.doc.stereo == "binaural" and window.doc.dirty


def test_a_silent_input_is_said_while_recording_not_after(qtbot, window):
    from spa2v_app.studio.record_panel import SILENT_NOTE
    panel = window.record_panel
    quiet = np.full((SR, 2), 10 ** (-70 / 20), np.float32)  # a muted input's hiss, -70 dBFS
    loud = known_signal(1.0)
    panel.stream_factory = fake_stream_factory(signal=quiet, speed=4.0)
    window.act_record.trigger()
    qtbot.waitUntil(lambda: panel.note.text() == SILENT_NOTE, timeout=10_000)
    assert "-60 dBFS" in SILENT_NOTE
    window.act_record.trigger()
    wait_job(qtbot, window.queue.jobs[-1])
    assert "silent" in window.last_message[0]  # the import refuses it, as the note said
    panel.stream_factory = fake_stream_factory(signal=np.concatenate([quiet, quiet, quiet, loud]),
                                               speed=4.0)
    window.act_record.trigger()
    qtbot.waitUntil(lambda: panel.note.text() == SILENT_NOTE, timeout=10_000)
    qtbot.waitUntil(lambda: panel.note.text().startswith("Recording to"), timeout=10_000)
    window.act_record.trigger()
    wait_job(qtbot, window.queue.jobs[-1])


def test_an_answer_changed_mid_take_reaches_the_marker(qtbot, window):
    import json

    from spa2v_app.studio.model.recording import marker_path
    panel = window.record_panel
    window.act_record.trigger()
    qtbot.waitUntil(lambda: panel.recorder.elapsed_s > 0.3, timeout=10_000)
    marker = marker_path(panel.recorder.path)
    assert json.loads(marker.read_text())["about"]["stereo"] == "auto"
    panel.stereo_box.setCurrentIndex(panel.stereo_box.findData("spaced"))
    panel.spacing_box.setValue(21)
    about = json.loads(marker.read_text())["about"]
    assert about["stereo"] == "spaced" and about["spacing_m"] == pytest.approx(0.21)
    assert about["device"] == "Fake stereo mic"
    window.act_record.trigger()
    wait_job(qtbot, window.queue.jobs[-1])


def test_every_cut_off_recording_is_named_in_one_question(qtbot, make_window, tmp_path,
                                                         monkeypatch):
    # Three sessions ended while recording: only the newest was offered, the others one start
    # each, later (a project holds one sound, so one question names them all).
    import json

    from PySide6.QtWidgets import QMessageBox

    from spa2v_app.studio.model.recording import find_cut_off_recordings, marker_path
    folder = tmp_path / "recordings"  # the make_window fixture's recordings folder
    folder.mkdir()
    takes = []
    for k, seconds in enumerate((1.0, 2.0, 3.0)):
        wav = folder / f"recording-2026120{k + 1}-120000.wav"
        sf.write(str(wav), known_signal(seconds), SR)
        os.utime(wav, (1_000_000 + k, 1_000_000 + k))
        marker_path(wav).write_text(json.dumps({"pid": -1, "about": {}}))
        takes.append(wav)
    window = make_window(session_id="next-start")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a:
                        asked.append(text) or QMessageBox.StandardButton.Open)
    window.offer_recovery()
    assert len(asked) == 1 and all(str(wav) in asked[0] for wav in takes)
    assert "3.0 s recorded are kept in " + str(takes[2]) in asked[0]
    assert "(1.0 s)" in asked[0] and "(2.0 s)" in asked[0]
    wait_job(qtbot, window.queue.jobs[-1])
    assert window.doc.project.audio_path == takes[2]
    assert find_cut_off_recordings(folder) == [] and all(wav.exists() for wav in takes)
