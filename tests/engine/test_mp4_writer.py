"""Mp4Writer and probe_mp4 beyond sync (test_av_sync.py): the file's shape and settings, odd
sizes, mono sound, names it accepts, and that it lets go of what it opened."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest

from engine.errors import BadInput
from engine.export.mp4 import Mp4Writer, probe_mp4
from tests.synth import write_wav

av = pytest.importorskip("av")
SR = 44100


def tone_wav(path, seconds=1.0, channels=2):
    t = np.arange(int(seconds * SR)) / SR
    x = np.tile(0.2 * np.sin(2 * np.pi * 440 * t), (channels, 1)).astype(np.float32)
    return write_wav(path, x)


def write(path, *, fps=24.0, size=(64, 48), audio=None, duration=1.0, frames=None, crf=20,
          image=None):
    rng = np.random.default_rng(0)
    with Mp4Writer(path, fps=fps, size=size, audio_path=audio, duration_s=duration,
                   crf=crf) as w:
        for _ in range(frames or 1):
            img = image if image is not None else rng.integers(0, 256, (size[1], size[0], 3),
                                                               dtype=np.uint8)
            w.write(img)
    return path


def test_probe_reports_what_the_file_holds(tmp_path):
    out = write(tmp_path / "a.mp4", fps=24, size=(64, 48), audio=tone_wav(tmp_path / "t.wav"),
                frames=24)
    info = probe_mp4(out)
    v, a = info["video"], info["audio"]
    assert (v["codec"], v["width"], v["height"], v["pix_fmt"]) == ("h264", 64, 48, "yuv420p")
    assert v["fps"] == pytest.approx(24.0) and v["frames"] == 24
    assert v["duration_s"] == pytest.approx(1.0, abs=1 / 24)
    assert (a["codec"], a["sample_rate"], a["channels"]) == ("aac", SR, 2)
    assert a["duration_s"] == pytest.approx(1.0, abs=1024 / SR)
    silent = probe_mp4(write(tmp_path / "s.mp4"))
    assert silent["audio"] is None and silent["video"]["frames"] == 24


def test_ntsc_rates_are_kept_exactly(tmp_path):
    out = write(tmp_path / "a.mp4", fps=30000 / 1001, duration=1.0)
    with av.open(str(out)) as c:
        assert c.streams.video[0].average_rate == Fraction(30000, 1001)
    assert probe_mp4(out)["video"]["frames"] == 30


def test_odd_sizes_are_rounded_down_to_even(tmp_path):
    out = tmp_path / "odd.mp4"
    with Mp4Writer(out, fps=8, size=(65, 49), audio_path=None, duration_s=0.5) as w:
        assert (w.width, w.height) == (64, 48)
        w.write(np.zeros((49, 65, 3), np.uint8))  # resized to the stream's size
    v = probe_mp4(out)["video"]
    assert (v["width"], v["height"]) == (64, 48)


def test_a_very_short_clip_still_gets_one_frame(tmp_path):
    out = write(tmp_path / "a.mp4", fps=24, duration=0.01)
    assert probe_mp4(out)["video"]["frames"] == 1


def test_a_mono_recording_stays_mono(tmp_path):
    out = write(tmp_path / "m.mp4", audio=tone_wav(tmp_path / "m.wav", channels=1))
    assert probe_mp4(out)["audio"]["channels"] == 1


@pytest.mark.parametrize("name", ["a.mp4", "a.M4V", "a.mov", "a.MP4"])
def test_mp4_family_names_are_accepted(tmp_path, name):
    assert probe_mp4(write(tmp_path / name))["video"]["codec"] == "h264"


@pytest.mark.parametrize("name", ["a.avi", "a.mkv", "a"])
def test_other_names_are_refused_before_anything_is_written(tmp_path, name):
    with pytest.raises(BadInput, match=rf"Output {name} must end in \.mp4\."):
        Mp4Writer(tmp_path / name, fps=24, size=(64, 64), audio_path=None, duration_s=1.0)
    assert list(tmp_path.iterdir()) == []


def test_no_frames_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(BadInput, match=r"^No video frames were rendered\.$"):
        with Mp4Writer(tmp_path / "a.mp4", fps=24, size=(64, 64), audio_path=None,
                       duration_s=1.0):
            pass
    assert list(tmp_path.iterdir()) == []


def test_the_index_comes_first_so_the_file_plays_while_it_downloads(tmp_path):
    data = write(tmp_path / "a.mp4", frames=3).read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")


def test_the_quality_setting_reaches_the_encoder(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    fine = write(tmp_path / "fine.mp4", crf=10, image=image, frames=4)
    coarse = write(tmp_path / "coarse.mp4", crf=40, image=image, frames=4)
    assert fine.stat().st_size > 2 * coarse.stat().st_size


def open_files_under(folder) -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            out.append(target)
    return out


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_the_audio_file_is_closed_after_the_export(tmp_path):
    audio = tone_wav(tmp_path / "t.wav")
    write(tmp_path / "a.mp4", audio=audio, frames=24)
    assert open_files_under(tmp_path) == []
    with pytest.raises(RuntimeError):  # and after a failed export too
        with Mp4Writer(tmp_path / "b.mp4", fps=24, size=(64, 64), audio_path=audio,
                       duration_s=1.0):
            raise RuntimeError("render failed")
    assert open_files_under(tmp_path) == []
    assert not (tmp_path / "b.mp4").exists()
