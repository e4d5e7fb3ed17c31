"""Recording where the disk or the folder fails: the user is told what is wrong, in words, and
every frame that reached the disk is counted and kept."""

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import spa2v_app.studio.model.recording as recording
from spa2v_app.studio.model.recording import InputDevice, Recorder
from tests.app.studio.fake_stream import fake_stream_factory

SR = 48000


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
