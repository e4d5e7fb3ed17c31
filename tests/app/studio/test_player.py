"""Playback on an output device (a stand-in for sounddevice's OutputStream): seeking while
playing, and the end of the sound."""

import sys
import types

import numpy as np
import pytest


class FakeOutputStream:
    """Takes frames only when the test pulls them (``pull``), as a device would."""

    opened: list["FakeOutputStream"] = []
    latency = 0.05

    def __init__(self, *, samplerate, channels, dtype, callback):
        self.callback, self.channels = callback, channels
        FakeOutputStream.opened.append(self)

    def start(self):
        pass

    def stop(self):
        pass

    def close(self):
        pass

    def pull(self, frames: int) -> np.ndarray:
        out = np.full((frames, self.channels), np.nan, np.float32)
        self.callback(out, frames, None, None)
        return out


@pytest.fixture
def player(qtbot, monkeypatch):
    from spa2v_app.studio.app import create_app
    from spa2v_app.studio.player import AudioPlayer
    create_app()
    FakeOutputStream.opened = []
    monkeypatch.setitem(sys.modules, "sounddevice",
                        types.SimpleNamespace(OutputStream=FakeOutputStream))
    p = AudioPlayer(use_device=True)
    ramp = np.tile(np.arange(48000, dtype=np.float32) / 48000, (2, 1))  # 1 s, sample = time
    p.set_audio(ramp, 48000)
    yield p
    p.stop()


def test_seeking_while_playing_keeps_the_device_open(qtbot, player):
    changes = []
    player.playing_changed.connect(changes.append)
    player.play(0.0)
    for t in (0.2, 0.4, 0.6):  # a drag on the timeline: a seek on every mouse move
        player.seek(t)
    # Each seek closed the device and opened it again (and flickered Play / Pause).
    assert len(FakeOutputStream.opened) == 1 and changes == [True]
    out = FakeOutputStream.opened[0].pull(4)
    assert out[0, 0] == pytest.approx(0.6, abs=1e-4) and player.playing


def test_playback_on_a_device_ends_at_the_end(qtbot, player):
    ended = []
    player.playing_changed.connect(ended.append)
    player.play(0.9)
    stream = FakeOutputStream.opened[0]
    stream.pull(4800)
    stream.pull(4800)  # past the end: the rest is silence
    # The position is what was handed over less the latency: it never reached 1.0, so the
    # player played on for ever.
    qtbot.waitUntil(lambda: ended == [True, False], timeout=2000)
    assert not player.playing
