"""Mp4Writer and probe_mp4 beyond sync (test_av_sync.py): the file's shape and settings, odd
sizes, mono sound, names it accepts, and that it lets go of what it opened."""

from __future__ import annotations

import errno
import os
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from engine.errors import BadInput
from engine.export.mp4 import AUDIO_LEAD_S, Mp4Writer, probe_mp4
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


@pytest.mark.parametrize("where", ["container", "sound"])
def test_a_stop_while_the_writer_opens_leaves_nothing(tmp_path, monkeypatch, where):
    # Ctrl+C or SIGTERM (raised as an exception in the main thread) can land after the
    # temporary file exists but before __enter__ returns, when ``with`` will not call
    # __exit__: the writer must undo the file itself (a SIGTERM mid-render left
    # ".v.mp4.*.part.mp4" behind under load).
    audio = tone_wav(tmp_path / "t.wav")
    if where == "container":
        real_open = av.open

        def boom(file, *args, **kwargs):
            if kwargs.get("mode") == "w":
                assert Path(file).exists()  # the temporary file is there when the stop lands
                raise KeyboardInterrupt
            return real_open(file, *args, **kwargs)
        monkeypatch.setattr(av, "open", boom)
    else:
        def boom(self, av):
            raise KeyboardInterrupt
        monkeypatch.setattr(Mp4Writer, "_open_audio", boom)
    writer = Mp4Writer(tmp_path / "a.mp4", fps=24, size=(64, 64), audio_path=audio,
                       duration_s=1.0)
    with pytest.raises(KeyboardInterrupt):
        with writer:
            pass
    # checked while the writer is still referenced: the garbage collector finalising its
    # file context later is no cleanup (a process stopping by a signal may never get there)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.wav"]
    del writer


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


# -- what the mutation run of mp4.py found untested (docs/testing.md) -----------------------

def decoded_audio(path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)


def frame_means(path) -> list[float]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray").mean() for f in c.decode(video=0)]


def test_audio_is_muxed_as_the_video_advances(tmp_path):
    # Bounded memory for hour-long files: after k frames the audio is muxed up to k / fps
    # (to within one AAC frame), not saved up for the end, and the sound thread encodes at
    # most AUDIO_LEAD_S ahead of the picture.
    audio = tone_wav(tmp_path / "t.wav", seconds=12.0)
    with Mp4Writer(tmp_path / "a.mp4", fps=24, size=(64, 48), audio_path=audio,
                   duration_s=12.0) as w:
        for k in range(1, 24 * 12, 7):
            w.write(np.zeros((48, 64, 3), np.uint8))
            now = w.frames_written / 24
            assert abs(w._audio_muxed_s - now) <= 1024 / SR
            # wait for the thread to fill what it may; it must stop at its lead
            for _ in range(200):
                if w._audio_thread.packets.full():
                    break
                time.sleep(0.005)
            # the queue's lead, plus a few packets: one waiting to be due, one waiting for
            # room, the encoder's one-frame delay
            ahead = w._audio_samples_out / SR - now
            assert ahead <= AUDIO_LEAD_S + 5 * 1024 / SR


def test_a_short_sound_track_is_kept_whole_then_silence_to_the_pictures_end(tmp_path):
    audio = tone_wav(tmp_path / "short.wav", seconds=0.5)
    out = write(tmp_path / "a.mp4", audio=audio, frames=24, duration=1.0)
    x = decoded_audio(out)
    info = probe_mp4(out)
    assert info["video"]["frames"] == 24
    assert info["audio"]["duration_s"] == pytest.approx(1.0, abs=1 / SR)
    # all of the recording is there, then silence (AAC's own padding may follow)
    assert np.abs(x[:, int(0.45 * SR):int(0.5 * SR)]).max() > 0.1
    assert np.abs(x[:, int(0.52 * SR):int(0.98 * SR)]).max() < 0.01
    assert SR <= x.shape[1] <= SR + 1024


def test_frames_past_the_end_are_dropped(tmp_path):
    out = tmp_path / "a.mp4"
    with Mp4Writer(out, fps=24, size=(64, 48), audio_path=None, duration_s=1.0) as w:
        for _ in range(30):
            w.write(np.zeros((48, 64, 3), np.uint8))
        for i in range(8, 12):  # held frames from beyond the clip's end
            w.write_held(np.zeros((48, 64, 3), np.uint8), i, 8.0)
        assert w.frames_written == 24
    assert probe_mp4(out)["video"]["frames"] == 24


@pytest.mark.parametrize("src_fps", [16.0, 23.0])
def test_held_frames_show_the_source_frame_of_their_time(tmp_path, src_fps):
    # output frame k (centre (k + 0.5) / 24 s) shows the source frame covering that time
    out = tmp_path / "held.mp4"
    n = int(src_fps)
    levels = [int(v) for v in np.linspace(10, 245, n)]
    with Mp4Writer(out, fps=24, size=(64, 48), audio_path=None, duration_s=1.0) as w:
        for i, level in enumerate(levels):
            w.write_held(np.full((48, 64, 3), level, np.uint8), i, src_fps)
    means = frame_means(out)
    assert len(means) == 24
    for k, m in enumerate(means):
        assert m == pytest.approx(levels[int((k + 0.5) / 24 * src_fps)], abs=4), k


def test_frames_of_another_size_or_with_alpha_are_fitted(tmp_path):
    out = tmp_path / "a.mp4"
    with Mp4Writer(out, fps=8, size=(64, 48), audio_path=None, duration_s=0.5) as w:
        w.write(np.full((48, 32, 3), 200, np.uint8))    # narrower
        w.write(np.full((24, 64, 3), 200, np.uint8))    # lower
        rgba = np.zeros((48, 64, 4), np.uint8)
        rgba[..., 1], rgba[..., 3] = 180, 255            # green, opaque
        w.write(rgba)
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert all(f.shape == (48, 64, 3) for f in frames)
    assert abs(frames[0].mean() - 200) < 4 and abs(frames[1].mean() - 200) < 4
    assert frames[2][..., 1].mean() > 150 and frames[2][..., 0].mean() < 30


def test_a_video_file_with_sound_can_be_the_sound(tmp_path):
    # an M4A with cover art, or a video, has a picture stream beside the sound
    first = write(tmp_path / "first.mp4", audio=tone_wav(tmp_path / "t.wav"), frames=24)
    second = write(tmp_path / "second.mp4", audio=first, frames=24)
    info = probe_mp4(second)
    assert info["audio"]["channels"] == 2
    assert info["audio"]["duration_s"] == pytest.approx(1.0, abs=1024 / SR)


@pytest.mark.parametrize("subtype", ["FLOAT", "PCM_16", "PCM_24"])
def test_more_than_two_channels_keep_the_first_two_as_left_and_right(tmp_path, subtype):
    # The analysis places sounds from the first two channels; the export downmixed all four
    # (a quad file's rear pair mixed into both sides), so the sound heard was not the one
    # placed: here a tone only on the left came out on both sides.
    t = np.arange(SR) / SR
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    x = np.stack([tone, 0 * t, 0.3 * np.sin(2 * np.pi * 1000 * t), tone]).astype(np.float32)
    quad = write_wav(tmp_path / "quad.wav", x, subtype=subtype)
    out = write(tmp_path / "a.mp4", audio=quad, frames=24)
    assert probe_mp4(out)["audio"]["channels"] == 2
    y = decoded_audio(out)[:, 2048:SR - 2048]
    assert np.abs(y[0]).max() == pytest.approx(0.3, abs=0.03)
    assert np.abs(y[1]).max() < 0.01
    # and the left is the tone alone, not mixed with the third channel's
    spectrum = np.abs(np.fft.rfft(y[0]))
    freqs = np.fft.rfftfreq(y.shape[1], 1 / SR)
    assert spectrum[np.argmin(np.abs(freqs - 1000))] < 0.01 * spectrum.max()


def test_unreadable_sound_is_named_and_nothing_is_written(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF nothing here")
    with pytest.raises(BadInput, match=r"Cannot read the audio to mux from junk\.wav"):
        write(tmp_path / "a.mp4", audio=junk)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.wav"]


def test_a_failure_on_the_sound_thread_fails_the_export_and_leaves_nothing(tmp_path, monkeypatch):
    # The sound is decoded and encoded on a thread of its own; what goes wrong there must
    # reach the caller as it did when the sound was encoded on the caller's thread.
    audio = tone_wav(tmp_path / "t.wav", seconds=3.0)
    real = Mp4Writer._decode_audio

    def breaks_halfway(self):
        for k, frame in enumerate(real(self)):
            if k == 20:
                raise RuntimeError("unreadable sound")
            yield frame

    monkeypatch.setattr(Mp4Writer, "_decode_audio", breaks_halfway)
    out = tmp_path / "a.mp4"
    with pytest.raises(RuntimeError, match="unreadable sound"):
        with Mp4Writer(out, fps=24, size=(64, 48), audio_path=audio, duration_s=3.0) as w:
            for _ in range(72):
                w.write(np.zeros((48, 64, 3), np.uint8))
    assert not out.exists()
    assert open_files_under(tmp_path) == []


class _CloseFails:
    """A container whose close writes the index into a full disk (as faststart's final move
    does when the disk runs out at the end)."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def close(self):
        self._real.close()
        raise OSError(errno.ENOSPC, "No space left on device")


def _close_fails(monkeypatch):
    real_open = Mp4Writer._open

    def opens(self, av_module, tmp):
        real_open(self, av_module, tmp)
        self._container = _CloseFails(self._container)

    monkeypatch.setattr(Mp4Writer, "_open", opens)


@pytest.mark.parametrize("old", [False, True])
def test_a_disk_that_fills_while_the_file_is_closed_leaves_no_broken_video(tmp_path, monkeypatch,
                                                                           old):
    # A full tmpfs failed only when the container was closed; the half-written file was
    # then renamed to the output as if the export had worked (no moov atom: unplayable),
    # replacing the video that was there.
    out = tmp_path / "a.mp4"
    if old:
        write(out, audio=tone_wav(tmp_path / "t.wav"), frames=24)
        before = out.read_bytes()
    _close_fails(monkeypatch)
    with pytest.raises(BadInput, match=r"Could not write .*a\.mp4: No space left on device"):
        write(out, audio=tone_wav(tmp_path / "t.wav"), frames=24)
    if old:
        assert out.read_bytes() == before
    else:
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["a.mp4"] if old else []) + ["t.wav"]


def test_a_close_that_fails_after_a_cancel_reports_the_cancel(tmp_path, monkeypatch):
    _close_fails(monkeypatch)
    out = tmp_path / "a.mp4"
    with pytest.raises(KeyboardInterrupt):
        with Mp4Writer(out, fps=24, size=(64, 48), audio_path=None, duration_s=1.0) as w:
            w.write(np.zeros((48, 64, 3), np.uint8))
            raise KeyboardInterrupt
    assert not out.exists()


@pytest.mark.parametrize("size", [(64, 48), (1280, 720)])
def test_the_colour_conversion_is_tagged_so_players_do_not_guess(tmp_path, size):
    # The frames are converted with BT.601's matrix in limited range; the stream said
    # nothing, and players take an untagged stream of 720 lines or more for BT.709, shifting
    # every colour of an HD export. The tag is in the file, and decoding by it gives the
    # colours back.
    from av.video.reformatter import ColorRange, Colorspace
    red = np.zeros((size[1], size[0], 3), np.uint8)
    red[..., 0] = 200
    out = write(tmp_path / "a.mp4", size=size, image=red, frames=2)
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert cc.color_range == ColorRange.MPEG
        assert cc.colorspace in (Colorspace.ITU601, Colorspace.SMPTE170M)
        frame = next(c.decode(video=0))
        rgb = frame.reformat(format="rgb24", src_colorspace=cc.colorspace,
                             src_color_range=cc.color_range).to_ndarray()
    assert np.abs(rgb.reshape(-1, 3).mean(axis=0) - (200, 0, 0)).max() < 6
