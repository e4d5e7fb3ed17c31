import numpy as np
import pytest

from engine.evaluation.agreement import (
    av_align,
    layout_flow_curve,
    motion_peaks,
    onset_times,
    optical_flow_curve,
    spatial_alignment,
)
from engine.layout import Layout, LayoutObject


def test_spatial_alignment_counts_x_inside_widened_boxes():
    boxes = [[(0.1, 0.4, 0.3, 0.6)], [(0.1, 0.4, 0.3, 0.6)], [], [(0.6, 0.4, 0.8, 0.6)]]
    measured = np.array([[0.2, 0.38, 0.5, np.nan]])
    a = spatial_alignment(measured, boxes, tolerance=0.1)
    # frame 0 inside, frame 1 inside the widened box (0.38 <= 0.4), frame 2 has no box,
    # frame 3 is not heard.
    assert a.scored == 3 and a.aligned_fraction == pytest.approx(2 / 3)
    assert a.x_mae == pytest.approx((0.0 + 0.18 + 0.5) / 3)
    strict = spatial_alignment(measured, boxes, tolerance=0.0)
    assert strict.aligned_fraction == pytest.approx(1 / 3)


def test_av_align_is_intersection_over_union_within_one_frame():
    score, matched = av_align(np.array([0.5, 1.0, 2.0]), np.array([0.52, 1.5]), fps=10)
    assert matched == 1 and score == pytest.approx(1 / 4)
    # Each motion peak matches one onset only.
    score, matched = av_align(np.array([1.0, 1.01]), np.array([1.0]), fps=10)
    assert matched == 1 and score == pytest.approx(1 / 2)
    assert av_align(np.zeros(0), np.zeros(0), fps=10) == (0.0, 0)


def _bursts(sr, truth, *, seed=0, kind="click"):
    """Quiet noise with a decaying burst (or a decaying tone) starting at each ``truth`` time."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(3.5 * sr)) * 1e-3
    for k, t in enumerate(truth):
        i, n = int(t * sr), int(0.07 * sr)
        if kind == "click":
            x[i:i + n] += rng.standard_normal(n) * np.exp(-np.arange(n) / (0.011 * sr))
        else:  # a plucked string (harmonics 1/h), a different pitch each time
            m = int(0.6 * sr)  # long enough to die away (-100 dB): an abrupt end clicks
            f, t = 220.0 * 2 ** (k / 3), np.arange(m) / sr
            tone = sum(np.sin(2 * np.pi * h * f * t) / h for h in range(1, int(sr / 4 / f)))
            x[i:i + m] += tone * np.exp(-t / 0.05)
    return x


@pytest.mark.parametrize("sr", [16000, 22050, 44100, 48000])
@pytest.mark.parametrize("kind", ["click", "tone"])
def test_onsets_are_found_where_they_are_at_any_rate(sr, kind):
    pytest.importorskip("librosa")
    truth = [0.4, 1.1, 1.9, 2.5]
    found = onset_times(_bursts(sr, truth, kind=kind), sr)
    assert len(found) == len(truth)
    # within 1.5 hops (the detector's own resolution: 23 ms) of where each sound starts
    assert np.abs(found - truth).max() < 0.035


def test_without_librosa_the_check_keeps_its_spatial_score_and_says_why(tmp_path, monkeypatch):
    import sys

    from engine.errors import ModelMissing
    from engine.spatialize.jobs import check_job
    from engine.jobs import CancelToken, run_job
    from tests.synth import panned_noise, write_wav

    monkeypatch.setitem(sys.modules, "librosa", None)  # import librosa -> ImportError
    with pytest.raises(ModelMissing, match="analysis"):
        onset_times(_bursts(22050, [0.5]), 22050)
    clip = write_wav(tmp_path / "left.wav", panned_noise(-60, duration_s=2.0))
    boxes = [(0.05, 0.4, 0.3, 0.6)] * 8
    layout = Layout(2.0, 8, 4.0, objects=[LayoutObject(1, "dog", "a dog", "static", 1.0, boxes)])
    report = run_job(check_job(clip, layout=layout, token=CancelToken()))
    assert report.timing is None and report.to_dict()["timing"] is None
    assert any("librosa" in n for n in report.notes) and "n/a" in report.summary()
    assert report.spatial is not None and report.spatial.aligned_fraction > 0.8


def test_motion_peaks_need_a_local_maximum_of_a_tenth_of_a_pixel():
    flow = np.array([0.0, 0.5, 0.2, 0.05, 0.08, 0.05, 0.3, 0.3, 1.0, 0.0])
    assert motion_peaks(flow, fps=2.0) == pytest.approx([0.5, 4.0])


def test_layout_flow_peaks_where_a_box_jumps():
    n = 8
    boxes = [(0.1, 0.4, 0.3, 0.6)] * 4 + [(0.6, 0.4, 0.8, 0.6)] * 4
    layout = Layout(4.0, n, 2.0, objects=[LayoutObject(1, "dog", "a dog", "static", 1.0, boxes)])
    flow = layout_flow_curve(layout)
    assert np.argmax(flow) == 4
    assert flow[4] == pytest.approx(0.2 * 0.2 * 0.5 * 512)
    assert motion_peaks(flow, layout.fps) == pytest.approx([2.0])


def test_optical_flow_sees_a_step_of_motion():
    frames = np.zeros((6, 64, 64), np.uint8)
    rng = np.random.default_rng(0)
    tex = (rng.uniform(0, 255, (16, 16))).astype(np.uint8)
    xs = [10, 10, 10, 16, 16, 16]  # the patch jumps 6 px into frame 3
    for i, x in enumerate(xs):
        frames[i, 24:40, x:x + 16] = tex
    flow = optical_flow_curve(frames)
    assert np.argmax(flow) == 3 and flow[1] < 0.01
