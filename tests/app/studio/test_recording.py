"""Recording never loses sound: it is on disk as it is recorded, and kept when things fail."""

import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from spa2v_app.studio.model.recording import Recorder, channel_choices
from tests.app.studio.fake_stream import FakeFlags, FakeInputStream, fake_stream_factory

from .helpers import wait_job

SR = 48000


def known_signal(seconds=1.0):
    rng = np.random.default_rng(7)
    return (0.2 * rng.standard_normal((int(SR * seconds), 2))).astype(np.float32)


def test_recording_holds_exactly_what_the_device_sent(tmp_path):
    signal = known_signal(2.0)
    rec = Recorder(tmp_path, sample_rate=SR, subtype="FLOAT",
                   stream_factory=fake_stream_factory(signal=signal, speed=8.0))
    path = rec.start()
    time.sleep(0.15)
    result = rec.stop()
    assert result.error is None and result.path == path and result.frames > 0
    data, sr = sf.read(path, dtype="float32")
    assert sr == SR and data.shape == (result.frames, 2)
    np.testing.assert_array_equal(data, signal[: result.frames])


def test_channel_pair_is_picked_from_a_multichannel_device(tmp_path):
    signal = np.tile(np.array([[0.1, 0.2, 0.3, 0.4]], np.float32), (SR, 1))
    rec = Recorder(tmp_path, channels=(2, 3), sample_rate=SR, subtype="FLOAT",
                   stream_factory=fake_stream_factory(signal=signal, speed=8.0))
    path = rec.start()
    time.sleep(0.1)
    rec.stop()
    data, _ = sf.read(path, dtype="float32")
    np.testing.assert_allclose(data[:10], [[0.3, 0.4]] * 10)
    assert [c for _, c in channel_choices(4)][:2] == [(0, 1), (2, 3)]
    assert channel_choices(1) == [("1 (mono)", (0,))]


CRASH = """
import os, sys, time
import numpy as np
from spa2v_app.studio.model.recording import Recorder
from tests.app.studio.fake_stream import fake_stream_factory
rng = np.random.default_rng(7)
signal = (0.2 * rng.standard_normal((48000 * 4, 2))).astype(np.float32)
rec = Recorder(sys.argv[1], sample_rate=48000, subtype="FLOAT",
               stream_factory=fake_stream_factory(signal=signal, speed=4.0))
path = rec.start()
print(path, flush=True)
time.sleep(0.8)
os._exit(1)  # the app dies mid-recording: no stop(), no close()
"""


def test_recording_survives_an_abrupt_end_of_the_app(tmp_path):
    out = subprocess.run([sys.executable, "-c", CRASH, str(tmp_path)], capture_output=True,
                         text=True, timeout=60, cwd=str(__import__("pathlib").Path.cwd()))
    path = out.stdout.strip().splitlines()[0]
    data, sr = sf.read(path, dtype="float32")  # a valid WAV, not a broken header
    # 0.8 s at 4x speed is ~3.2 s of audio; flushes happen every 0.25 s of wall time.
    assert sr == SR and len(data) > SR // 2
    signal = known_signal(4.0)
    np.testing.assert_array_equal(data, signal[: len(data)])


def test_device_failure_keeps_the_recording_and_says_so(tmp_path):
    rec = Recorder(tmp_path, sample_rate=SR,
                   stream_factory=fake_stream_factory(speed=8.0, fail_after_s=0.5))
    path = rec.start()
    deadline = time.monotonic() + 10
    while rec.check() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "stopped unexpectedly" in rec.check()
    result = rec.stop()
    assert result.error and result.frames >= SR * 0.5
    assert sf.info(path).frames == result.frames


class VanishingStream(FakeInputStream):
    """A device unplugged mid-way without a word: the blocks stop, no finished callback comes,
    and stopping or closing the dead stream fails (as PortAudio does for a vanished device)."""

    def __init__(self, *, vanish_after_s: float, **kw):
        super().__init__(**kw)
        self.vanish_after_s = vanish_after_s

    def _run(self) -> None:
        period = self.blocksize / self.samplerate / self.speed
        while not self._stop.is_set() and self.frames_sent < self.vanish_after_s * self.samplerate:
            self.callback(self.block(self.frames_sent, self.blocksize), self.blocksize, None,
                          FakeFlags())
            self.frames_sent += self.blocksize
            self._stop.wait(period)

    def stop(self) -> None:
        super().stop()
        raise OSError("Error stopping stream: Device unavailable [PaErrorCode -9985]")

    def close(self) -> None:
        raise OSError("Error closing stream: Device unavailable [PaErrorCode -9985]")


def test_a_device_that_vanishes_silently_keeps_every_block_it_sent(tmp_path, monkeypatch):
    import spa2v_app.studio.model.recording as recording
    monkeypatch.setattr(recording, "STALL_S", 0.5)  # the stall rule, without the 2 s wait
    signal = known_signal(2.0)
    streams = []

    def factory(**kw):
        streams.append(VanishingStream(signal=signal, speed=8.0, vanish_after_s=0.6, **kw))
        return streams[-1]
    rec = Recorder(tmp_path, sample_rate=SR, subtype="FLOAT", stream_factory=factory)
    path = rec.start()
    deadline = time.monotonic() + 10
    while rec.check() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "sent no audio" in rec.check()
    result = rec.stop()  # the dead stream's errors do not escape
    assert result.error and result.frames == streams[0].frames_sent
    data, sr = sf.read(path, dtype="float32")  # playable, and holds every block sent
    assert sr == SR and len(data) == result.frames >= 0.6 * SR
    np.testing.assert_array_equal(data, signal[: len(data)])


def test_a_busy_device_leaves_no_empty_file(tmp_path):
    rec = Recorder(tmp_path, stream_factory=fake_stream_factory(start_error=OSError("busy")))
    with pytest.raises(RuntimeError, match="busy"):
        rec.start()
    assert list(tmp_path.glob("*.wav")) == []


def test_record_button_records_and_imports(qtbot, window):
    panel = window.record_panel
    assert panel.note.text() == ""
    window.act_record.trigger()
    assert panel.recording and "Recording to" in panel.note.text()
    qtbot.waitUntil(lambda: panel.recorder.elapsed_s > 1.2, timeout=10_000)
    qtbot.waitUntil(lambda: panel.meter.levels_db[0] > -40, timeout=5_000)
    elapsed = panel.elapsed.text()
    window.act_record.trigger()
    assert not panel.recording and elapsed != "0:00.0"
    job = window.queue.jobs[-1]
    assert job.kind == "import"
    wait_job(qtbot, job)
    assert job.state == "finished", job.message
    assert window.doc.audio.channels == 2 and window.doc.duration_s > 1.0
    assert window.doc.project.audio_path.parent.name == "recordings"


def test_mono_input_is_flagged(window):
    from spa2v_app.studio.model.recording import InputDevice
    window.record_panel.refresh_devices([InputDevice(3, "USB mono mic", 1, 44100.0)], None)
    assert "mono" in window.record_panel.note.text()
    assert window.record_panel.meter.names == ["M"]


def test_device_failure_in_the_window_keeps_and_imports(qtbot, window):
    window.record_panel.stream_factory = fake_stream_factory(speed=4.0, fail_after_s=1.0)
    window.act_record.trigger()
    qtbot.waitUntil(lambda: not window.record_panel.recording, timeout=10_000)
    text, level = window.last_message
    assert level == "warning" and "kept in" in text
    wait_job(qtbot, window.queue.jobs[-1])
    assert window.doc.audio is not None and window.doc.duration_s >= 0.9
    FakeInputStream.instances.clear()
