"""The coherent-to-diffuse ratio (engine.cues.diffuse.coherent_to_diffuse) and the room
histograms that read each bin's coherence as its direct share against the pair's own diffuse
coherence (binmodel.bin_costs with ``diffuse``)."""

import numpy as np
import pytest

from engine.binaural import render_binaural
from engine.cues.analysis import analyse_mix_job
from engine.cues.binmodel import ROOM_MSC_FLOOR, bin_costs
from engine.cues.calibration import pink_noise
from engine.cues.diffuse import coherent_to_diffuse, diffuse_coherence
from engine.cues.frames import activity_mask
from engine.cues.separation import find_sources
from engine.cues.spatial import AnalysisGrid, StepSpectra
from engine.cues.stereo import calibration_for, model_for
from engine.jobs import run_job

from .test_motion_room import SR, diffuse_tail


@pytest.mark.parametrize("gn", [0.0, 0.3, 0.71, -0.2])
@pytest.mark.parametrize("phase", [0.0, 1.0, 2.5])
def test_the_ratio_comes_back_from_a_mixed_coherence(gn, phase):
    ratio = np.array([0.1, 1.0, 5.0])
    mixed = (ratio * np.exp(1j * phase) + gn) / (ratio + 1)
    assert coherent_to_diffuse(mixed, gn) == pytest.approx(ratio, rel=1e-4)


def test_pure_diffuse_sound_has_no_direct_part_whatever_its_coherence():
    for gn in (0.0, 0.5, 0.71, 0.9):
        assert coherent_to_diffuse(np.array([gn + 0j]), gn)[0] == pytest.approx(0, abs=1e-6)


def test_a_coincident_pairs_room_gets_no_vote_in_a_room_histogram():
    """A bin holding only an XY pair's diffuse field (coherence 0.71 at every frequency)
    passes the raw-coherence floor (0.71^2 = 0.5 ...) only as long as the floor ignores
    the pair; read as direct share it is 0."""
    grid = AnalysisGrid.for_rate(SR)
    cal = calibration_for("coincident")
    model = model_for("coincident", grid)
    f = len(grid.freqs)
    gn = diffuse_coherence(cal, grid.freqs)
    p = np.ones((1, f), np.float32)
    st = StepSpectra((gn[None, :] * p).astype(np.complex64), p, p)
    raw = bin_costs(st, model, msc_floor=0.3)[3]
    room = bin_costs(st, model, msc_floor=ROOM_MSC_FLOOR,
                     diffuse=gn[model.sel].astype(np.float32))[3]
    assert raw.max() > 0.2
    assert room.max() == 0


def count(y, kind="binaural"):
    cal = calibration_for(kind)
    model = model_for(kind, AnalysisGrid.for_rate(SR))
    steps = run_job(analyse_mix_job(y, SR, cal, model))
    active = activity_mask(steps.power)
    return find_sources(steps, active, model=model, cal=cal)


def room_scene(azimuths, gain, seed):
    rng = np.random.default_rng(seed)
    n = 6 * SR
    y = np.zeros((2, n))
    for a in azimuths:
        x = 0.1 * pink_noise(n, rng)
        y += render_binaural(x, SR, azimuth_deg=a, distance_m=1.0, air_absorption=False)[:, :n]
        y += diffuse_tail(x, rng, gain=gain)
    return y.astype(np.float32)


def test_two_steady_noises_in_a_room_are_two():
    specs = count(room_scene((-40, 40), 0.3, seed=0))
    az = sorted(float(np.median(s.step_az)) for s in specs)
    assert len(specs) == 2
    assert az[0] == pytest.approx(-40, abs=8) and az[1] == pytest.approx(40, abs=8)


@pytest.mark.parametrize("seed", [0, 1])
def test_one_steady_noise_in_a_strong_room_stays_one(seed):
    assert len(count(room_scene((-40,), 1.0, seed=seed))) == 1
