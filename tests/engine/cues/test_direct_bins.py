"""In a reverberant recording the direction histograms count only the bins the direct sound
dominates (binmodel.ROOM_MSC_FLOOR): a room's diffuse sound reaches a middling coherence by
chance and reads a direction between the source and nowhere. Dry recordings keep the lower
floor (their low-coherence bins are mixtures of sources, not a room)."""

import numpy as np
import pytest

from engine.binaural import render_binaural
from engine.cues import analysis
from engine.cues.analysis import analyse_mix_job
from engine.cues.binmodel import MSC_FLOOR, ROOM_MSC_FLOOR, bin_costs
from engine.cues.calibration import pink_noise
from engine.cues.spatial import AnalysisGrid, StepSpectra
from engine.cues.stereo import calibration_for, model_for
from engine.jobs import run_job

from .test_motion_room import SR, diffuse_tail


def test_a_bin_counts_by_its_coherence_above_the_floor():
    grid = AnalysisGrid.for_rate(SR)
    model = model_for("binaural", grid)
    f = len(grid.freqs)
    # two steps of equal level: one bin coherence 0.5 (a middling bin), one 1.0
    p = np.ones((1, f), np.float32)
    for msc, floor, counts in ((0.5, MSC_FLOOR, True), (0.5, ROOM_MSC_FLOOR, False),
                               (1.0, ROOM_MSC_FLOOR, True)):
        st = StepSpectra(np.full((1, f), np.sqrt(msc), np.complex64), p, p)
        weight = bin_costs(st, model, msc_floor=floor)[3]
        assert (weight.max() > 0) == counts, (msc, floor)


def away_share(y, monkeypatch, floor):
    monkeypatch.setattr(analysis, "ROOM_MSC_FLOOR", floor)
    cal = calibration_for("binaural")
    model = model_for("binaural", AnalysisGrid.for_rate(SR))
    steps = run_job(analyse_mix_job(y, SR, cal, model))
    h = np.asarray(steps.step_hist).sum(axis=0)
    az = model.azimuth_deg
    return float(h[np.abs(az + 40) > 20].sum() / max(h.sum(), 1e-12))


@pytest.fixture
def source():
    rng = np.random.default_rng(5)
    n = 6 * SR
    x = 0.1 * pink_noise(n, rng)
    direct = render_binaural(x, SR, azimuth_deg=-40, distance_m=1.0, air_absorption=False)
    return x, direct[:, :n], rng


def test_a_room_fills_the_histogram_less_with_the_room_floor(source, monkeypatch):
    x, direct, rng = source
    y = (direct + diffuse_tail(x, rng, gain=0.6)).astype(np.float32)
    plain = away_share(y, monkeypatch, MSC_FLOOR)
    room = away_share(y, monkeypatch, ROOM_MSC_FLOOR)
    assert room < 0.8 * plain


def test_a_dry_recording_keeps_its_histograms(source, monkeypatch):
    _, direct, _ = source
    y = direct.astype(np.float32)
    assert away_share(y, monkeypatch, ROOM_MSC_FLOOR) == pytest.approx(
        away_share(y, monkeypatch, MSC_FLOOR))
