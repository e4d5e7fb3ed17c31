import numpy as np
import pytest

from engine.errors import BadInput, Cancelled
from engine.export.mp4 import Mp4Writer, check_av_sync, probe_mp4
from engine.jobs import CancelToken, run_job
from engine.layout import Layout, LayoutObject
from engine.pipeline import render_job
from engine.protocols import RenderSettings
from engine.rendering.preview import PreviewRenderer, draw_frame, draw_backdrop
from tests.synth import AUDIO_FORMATS, panned_noise, write_audio_as, write_wav


def layout_for(duration=2.0, n=8):
    boxes = [(0.1 + 0.08 * i, 0.4, 0.3 + 0.08 * i, 0.7) for i in range(n)]
    return Layout(duration_s=duration, num_frames=n, fps=n / duration, caption="a car",
                  background="a city street",
                  objects=[LayoutObject(1, "car", "a car", "left_to_right", 0.9, boxes)])


def test_mp4_has_both_streams_with_matching_durations(tmp_path):
    audio = write_wav(tmp_path / "a.wav", panned_noise(30, duration_s=2.0))
    out = tmp_path / "out.mp4"
    run_job(render_job(audio, layout_for(), out, renderer=PreviewRenderer(),
                       settings=RenderSettings(fps=24, width=256, height=256), token=CancelToken()))
    info = probe_mp4(out)
    assert info["video"]["codec"] == "h264" and info["video"]["pix_fmt"] == "yuv420p"
    assert info["audio"]["codec"] == "aac" and info["audio"]["channels"] == 2
    assert info["video"]["frames"] == 48
    assert info["video"]["duration_s"] == pytest.approx(2.0, abs=1 / 24)
    assert info["audio"]["duration_s"] == pytest.approx(info["video"]["duration_s"], abs=0.05)


@pytest.mark.parametrize("ext", sorted(AUDIO_FORMATS))
def test_every_input_format_gives_audio_as_long_as_the_video(tmp_path, ext):
    # MP3 and raw AAC once gave a 0.03 s audio track: pts counted in samples, decoder time base.
    sr = 48000 if ext == ".opus" else 44100
    audio = write_audio_as(tmp_path / f"a{ext}", panned_noise(30, duration_s=2.0, sr=sr), sr)
    out = tmp_path / "out.mp4"
    run_job(render_job(audio, layout_for(), out, renderer=PreviewRenderer(),
                       settings=RenderSettings(fps=12, width=64, height=64), token=CancelToken()))
    info = probe_mp4(out)
    assert info["audio"]["duration_s"] == pytest.approx(2.0, abs=0.1)
    assert info["audio"]["duration_s"] == pytest.approx(info["video"]["duration_s"], abs=0.1)
    check_av_sync(out)  # the check `spa2v check --video` runs agrees


def test_av_sync_check_names_a_short_sound_track(tmp_path):
    short = write_wav(tmp_path / "short.wav", panned_noise(0, duration_s=0.3))
    out = tmp_path / "broken.mp4"
    # The writer pads a short sound with silence to the picture's end; a broken mux, made
    # here by cutting the sound at 0.3 s, is what the check is for.
    with Mp4Writer(out, fps=12, size=(64, 64), audio_path=short, duration_s=0.3) as w:
        w.total_frames = 24
        w.write(np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(BadInput, match="sound track is 0.3 s long but its picture is 2.0 s"):
        check_av_sync(out)


@pytest.mark.parametrize("sr", [8000, 192000])
def test_rates_aac_cannot_take_are_resampled_for_the_encoder(tmp_path, sr):
    audio = write_wav(tmp_path / "hr.wav", panned_noise(30, duration_s=1.0, sr=sr), sr=sr)
    out = tmp_path / "out.mp4"
    run_job(render_job(audio, layout_for(1.0, 4), out, renderer=PreviewRenderer(),
                       settings=RenderSettings(fps=12, width=64, height=64), token=CancelToken()))
    info = probe_mp4(out)
    assert info["audio"]["duration_s"] == pytest.approx(1.0, abs=0.1)
    check_av_sync(out)


def test_nan_samples_are_muxed_as_silence(tmp_path):
    x = panned_noise(30, duration_s=1.0)
    x[:, 1000:1100] = np.nan  # under 1 %: planning repairs it, so the export must too
    audio = write_wav(tmp_path / "nan.wav", x)
    out = tmp_path / "out.mp4"
    run_job(render_job(audio, layout_for(1.0, 4), out, renderer=PreviewRenderer(),
                       settings=RenderSettings(fps=12, width=64, height=64), token=CancelToken()))
    import av
    with av.open(str(out)) as c:
        decoded = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    assert np.isfinite(decoded).all() and np.abs(decoded).max() > 0.05
    check_av_sync(out)


def test_low_rate_frames_are_held_to_the_playback_rate(tmp_path):
    out = tmp_path / "held.mp4"
    colors = [np.full((64, 64, 3), c, np.uint8) for c in (0, 120, 250, 60)]
    with Mp4Writer(out, fps=24, size=(64, 64), audio_path=None, duration_s=2.0) as w:
        for i, img in enumerate(colors):  # 4 frames over 2 s = 2 fps
            w.write_held(img, i, 2.0)
    import av
    with av.open(str(out)) as c:
        means = [f.to_ndarray(format="rgb24").mean() for f in c.decode(video=0)]
    assert len(means) == 48
    # Frame k at (k + 0.5)/24 s shows source frame floor(t * 2).
    for k in (0, 11, 12, 30, 47):
        src = int((k + 0.5) / 24 * 2)
        assert means[k] == pytest.approx(colors[src].mean(), abs=6)


def test_cancel_leaves_nothing_at_the_output(tmp_path):
    audio = write_wav(tmp_path / "a.wav", panned_noise(30, duration_s=2.0))
    out = tmp_path / "out.mp4"
    token = CancelToken()
    job = render_job(audio, layout_for(), out, renderer=PreviewRenderer(),
                     settings=RenderSettings(fps=24, width=128, height=128), token=token)
    next(job)
    token.cancel()
    with pytest.raises(Cancelled):
        run_job(job)
    assert list(tmp_path.iterdir()) == [audio]


def test_a_video_used_as_the_sound_is_never_rendered_over(tmp_path):
    # The studio imports a video's sound and proposes <its stem>.mp4 beside it for the export:
    # the render was renamed over the user's video.
    wav = write_wav(tmp_path / "a.wav", panned_noise(30, duration_s=1.0))
    video = tmp_path / "holiday.mp4"
    settings = RenderSettings(fps=12, width=64, height=64)
    run_job(render_job(wav, layout_for(1.0, 4), video, renderer=PreviewRenderer(),
                       settings=settings, token=CancelToken()))
    before = video.read_bytes()
    with pytest.raises(BadInput, match="is also an input"):
        run_job(render_job(video, layout_for(1.0, 4), tmp_path / "." / "holiday.mp4",
                           renderer=PreviewRenderer(), settings=settings, token=CancelToken()))
    assert video.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "holiday.mp4"]


def test_preview_draws_the_object_where_its_box_is():
    layout = layout_for()
    backdrop = draw_backdrop(layout.background, 256, 228)
    frame = draw_frame(layout, 0.05, backdrop)
    assert frame.shape == (256, 256, 3)
    diff = np.abs(frame[:228].astype(int) - backdrop.astype(int)).sum(axis=2) > 30
    ys, xs = np.nonzero(diff)
    box = layout.objects[0].boxes[0]
    assert xs.mean() / 256 == pytest.approx(0.5 * (box[0] + box[2]), abs=0.05)
    assert abs(xs.mean() / 256 - 0.5) > 0.2  # it really is on the left, not centred
