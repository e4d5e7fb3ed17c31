import numpy as np
import pytest

from engine.errors import Cancelled
from engine.export.mp4 import Mp4Writer, probe_mp4
from engine.jobs import CancelToken, run_job
from engine.layout import Layout, LayoutObject
from engine.pipeline import render_job
from engine.protocols import RenderSettings
from engine.rendering.preview import PreviewRenderer, draw_frame, draw_backdrop
from tests.synth import panned_noise, write_wav


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
