"""Picture and sound stay together in the exported MP4, measured on the decoded file.

A click in the audio at a known time and a white marker frame in the video at the same time
go through the real render path (``render_job`` -> :class:`Mp4Writer`); the file is decoded
with PyAV and the two events located on each stream's own clock (pts x time base). They must
agree within one video frame, and the two streams must end together within one AAC frame.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.export.mp4 import Mp4Writer, probe_mp4
from engine.jobs import CancelToken, run_job
from engine.layout import Layout
from engine.pipeline import render_job
from engine.protocols import Frame, RenderSettings
from tests.synth import write_wav

av = pytest.importorskip("av")

SR = 44100
FPS = 24.0
AAC_FRAME = 1024  # samples per AAC frame


class MarkerRenderer:
    """Black frames at ``rate`` per second with one white frame starting at ``marker_s``."""

    name = "marker"

    def __init__(self, rate: float, marker_s: float):
        self.rate, self.marker_s = rate, marker_s

    def render(self, layout, settings, token):
        n = int(round(layout.duration_s * self.rate))
        marker = int(round(self.marker_s * self.rate))
        for i in range(n):
            image = np.full((64, 64, 3), 255 if i == marker else 0, np.uint8)
            yield Frame(image, i, self.rate)


def click_wav(path, duration_s: float, click_s: float):
    """Quiet noise (so the encoder has something to code) and a 2 ms click at ``click_s``."""
    rng = np.random.default_rng(3)
    x = 0.001 * rng.standard_normal((2, int(round(duration_s * SR)))).astype(np.float32)
    k = int(round(click_s * SR))
    x[:, k:k + int(0.002 * SR)] = 0.9
    return write_wav(path, x)


def video_marker_s(path) -> float:
    """Start time of the first white frame (a held marker lasts several frames), from its pts."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = [(float(f.pts * s.time_base), f.to_ndarray(format="gray").mean())
                  for f in c.decode(s)]
    frames.sort()
    white = [t for t, level in frames if level > 128]
    assert white and all(level < 50 or level > 200 for _, level in frames)
    return white[0]


def decoded_audio(path) -> tuple[np.ndarray, float]:
    """The audio's decoded samples (mono, the encoder's priming removed as a player does) and
    the time of the first of them on the file's clock."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        chunks, start = [], None
        for f in c.decode(s):
            if start is None:
                start = float(f.pts * s.time_base)
            chunks.append(f.to_ndarray().mean(axis=0))
    return np.concatenate(chunks), start


def audio_click_s(path) -> float:
    x, start = decoded_audio(path)
    return start + int(np.argmax(np.abs(x))) / SR


def stream_ends(path) -> tuple[float, float]:
    """(end of the last video frame, end of the last audio sample) on the file's clock."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        last = max(float(f.pts * v.time_base) for f in c.decode(v))
    x, start = decoded_audio(path)
    return last + 1 / FPS, start + x.size / SR


def layout(duration_s: float, frames: int) -> Layout:
    return Layout(duration_s=duration_s, num_frames=frames, fps=frames / duration_s,
                  caption="c", background="b")


def render(tmp_path, *, duration_s: float, rate: float, marker_s: float, audio_s=None):
    audio = click_wav(tmp_path / "click.wav", audio_s or duration_s, marker_s)
    out = tmp_path / "out.mp4"
    run_job(render_job(audio, layout(duration_s, int(round(duration_s * rate))), out,
                       renderer=MarkerRenderer(rate, marker_s),
                       settings=RenderSettings(fps=FPS, width=64, height=64),
                       token=CancelToken()))
    return out


@pytest.mark.parametrize("rate, marker_s", [(FPS, 1.0), (4.0, 1.25)])
def test_a_click_and_its_marker_frame_play_together(tmp_path, rate, marker_s):
    # rate 4: low-rate frames held up to 24 fps by the writer, as diffusion frames are
    out = render(tmp_path, duration_s=2.0, rate=rate, marker_s=marker_s)
    v, a = video_marker_s(out), audio_click_s(out)
    assert v == pytest.approx(marker_s, abs=0.5 / FPS)  # the marker is where it was drawn
    assert abs(a - v) < 1 / FPS, f"audio click at {a:.3f} s, marker frame at {v:.3f} s"


def test_audio_and_video_end_together(tmp_path):
    out = render(tmp_path, duration_s=2.0, rate=FPS, marker_s=1.0)
    video_end, audio_end = stream_ends(out)
    assert video_end == pytest.approx(2.0, abs=0.5 / FPS)
    assert abs(audio_end - video_end) <= AAC_FRAME / SR


def test_longer_audio_is_kept_whole_under_the_last_frame(tmp_path):
    # The audio file runs 0.4 s past the layout (within the pipeline's tolerance): the video
    # is as long as the sound (the end of the recording was cut before), the last frame held.
    out = render(tmp_path, duration_s=2.0, rate=FPS, marker_s=1.0, audio_s=2.4)
    video_end, audio_end = stream_ends(out)
    assert video_end == pytest.approx(2.4, abs=0.5 / FPS)
    assert abs(audio_end - video_end) <= AAC_FRAME / SR


@pytest.mark.parametrize("audio_s", [2.01, 2.4, 1.7, 0.1])
def test_the_picture_and_the_sound_end_together_at_the_sounds_end(tmp_path, audio_s):
    # The picture is whole frames covering the sound, the sound padded with silence to the
    # picture's end. Before, the picture was round(plan length x fps) frames and the sound
    # the plan's length: 2.01 s of sound under 2.0 s of picture, 1.7 s of sound under 2.0 s
    # of picture, 0.1 s of sound under 0.083 s of picture.
    plan_s = 2.0 if audio_s > 1 else audio_s
    out = render(tmp_path, duration_s=plan_s, rate=FPS, marker_s=min(1.0, audio_s / 2),
                 audio_s=audio_s)
    info = probe_mp4(out)
    frames = int(np.ceil(audio_s * FPS - 1e-3))
    assert info["video"]["frames"] == frames
    assert info["video"]["duration_s"] == pytest.approx(frames / FPS, abs=1e-6)
    # (the audio track's edit list counts whole milliseconds)
    assert info["audio"]["duration_s"] == pytest.approx(frames / FPS, abs=1e-3)


def test_a_sound_that_decodes_longer_than_its_file_says_ends_with_the_picture(tmp_path,
                                                                            monkeypatch):
    # An M4A made by FFmpeg says 7.0 s (its edit list) but decodes with the encoder's
    # padding, 7.0124 s, and plans are that long: the sound ran 12 ms past the picture. The
    # file's own length counts; here the container's word is played by audio_info.
    from engine import pipeline
    real = pipeline.audio_info
    monkeypatch.setattr(pipeline, "audio_info",
                        lambda path: replace(real(path), frames=int(1.5 * SR)))
    out = render(tmp_path, duration_s=1.5124, rate=FPS, marker_s=0.5, audio_s=1.5124)
    info = probe_mp4(out)
    assert info["video"]["duration_s"] == pytest.approx(1.5, abs=1e-6)
    assert info["audio"]["duration_s"] == pytest.approx(1.5, abs=1e-3)


def test_writer_without_audio_holds_the_last_frame_to_the_end(tmp_path):
    out = tmp_path / "silent.mp4"
    with Mp4Writer(out, fps=FPS, size=(64, 64), audio_path=None, duration_s=1.0) as w:
        w.write(np.full((64, 64, 3), 200, np.uint8))
    with av.open(str(out)) as c:
        assert not c.streams.audio
        levels = [f.to_ndarray(format="gray").mean() for f in c.decode(video=0)]
    assert len(levels) == int(FPS) and min(levels) > 150
