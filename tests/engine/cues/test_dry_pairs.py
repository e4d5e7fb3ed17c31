"""Two sources in a dry recording: the mix's track swings between them, the exact two-source
fits do not (engine.cues.separation: _mix_apart, _dry_pair_sources, _settle_on_fits)."""

import numpy as np
import pytest

from engine.cues.separation import MIX_PATH_TOLERANCE_DEG, NEAR_DEG, SourceSpec, _mix_apart
from tests.engine.test_cues_counting import SR, cues_of, syllables
from tests.engine.test_cues_pairs import pan, xy
from tests.synth import within

STEP_S = 0.046


def test_the_mix_track_keeps_to_its_own_source_where_it_swings_to_the_other():
    # A static source at -50 and one sweeping from +70 to -10; the mix's track follows the
    # sweep while it is louder (steps 40-70) and reads between on the way back.
    n = 130
    sweep = np.linspace(70.0, -10.0, n)
    track = np.full(n, -50.0)
    track[40:70] = sweep[40:70]
    track[70:80] = np.linspace(sweep[69], -50.0, 10)
    active = np.ones(n, bool)
    specs = [SourceSpec(track, active, 1.0, origin="mix"),
             SourceSpec(sweep, active, 0.5, origin="pair")]
    out = _mix_apart(specs, active, STEP_S)
    # Readings within the path's tolerance stay (they are the source's own); the rest take
    # the path.
    assert np.all(np.abs(out[0].step_az + 50.0) <= MIX_PATH_TOLERANCE_DEG), out[0].step_az
    assert np.allclose(out[0].step_az[40:72], -50.0, atol=1.0)
    assert out[1] is specs[1]
    # Nothing to keep apart from: one source, or a track everywhere on the other source.
    assert _mix_apart(specs[:1], active, STEP_S) == specs[:1]
    on_top = [SourceSpec(sweep + 0.5 * NEAR_DEG, active, 1.0, origin="mix"), specs[1]]
    assert _mix_apart(on_top, active, STEP_S)[0] is on_top[0]


def bursts(n_bursts, length_s, duration_s=6.0, start_s=0.3):
    gap = (duration_s - start_s) / n_bursts
    return [(start_s + k * gap, start_s + k * gap + length_s) for k in range(n_bursts)]


def tones(duration_s, f0, *, seed, spans=None):
    """A harmonic sound (an engine, a voice, a horn: harmonics of ``f0`` up to 6 kHz at 1/k,
    swelling about three times a second), or with ``spans`` only within them. Two such
    sounds on different fundamentals share few bins, as everyday sounds do (pink noises
    share every bin, which no recording of two real sounds does)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * SR)
    t = np.arange(n) / SR
    y = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) / k
            for k in range(1, int(6000 // f0) + 1))
    y = 0.05 * y * (0.6 + 0.4 * np.sin(2 * np.pi * 3.1 * t + seed))
    return within(y, spans, SR)


@pytest.mark.parametrize("law,kind,seed", [(pan, "panned", 2), (xy, "coincident", 5)])
def test_a_sparse_second_source_over_a_steady_one_is_counted_dry(law, kind, seed):
    # A steady hum at -55 and short calls at +50 over it (a quarter of the time): too few
    # blocks for the histograms or the pair path (main: one object), but each block with a
    # call is two point sources exactly.
    a = tones(6.0, 170.0, seed=seed)
    b = tones(6.0, 610.0, seed=seed + 1, spans=bursts(5, 0.12))
    cues = cues_of(law(a, -55.0) + law(b, 50.0), kind=kind)
    az = sorted(float(np.median(s.azimuth_deg)) for s in cues.sources)
    assert len(az) == 2, az
    assert abs(az[0] + 55) <= 6 and abs(az[1] - 50) <= 6, az


def test_a_static_source_beside_a_moving_one_each_where_it_is():
    # A pan-pot mix: a hum held at -40, a tone swept from +70 to 0 beside it. Steps and
    # masked bins that hold both read between the two (main placed the sweep 4-8 degrees
    # too far in); the blocks' exact two-source fits do not.
    a = tones(6.0, 190.0, seed=3)
    b = tones(6.0, 470.0, seed=4)
    cues = cues_of(pan(a, -40.0) + pan(b, np.linspace(70.0, 0.0, a.size)), kind="panned")
    assert len(cues.sources) == 2
    static, moving = sorted(cues.sources, key=lambda s: float(np.median(s.azimuth_deg)))
    want = 70.0 - 70.0 * (np.arange(16) + 0.5) / 16
    assert np.max(np.abs(static.azimuth_deg + 40)) <= 4, static.azimuth_deg
    assert np.max(np.abs(moving.azimuth_deg - want)) <= 4, moving.azimuth_deg


def test_one_source_dry_has_no_exact_two_source_blocks():
    # A single source, still or sweeping, through a pan pot and an XY pair: one direction
    # explains every block, so the dry pair rule finds nothing to add.
    for law, kind in ((pan, "panned"), (xy, "coincident")):
        for path in (np.full(6 * SR, -30.0), np.linspace(-70.0, 60.0, 6 * SR)):
            cues = cues_of(law(syllables(6.0, seed=7), path), kind=kind)
            assert len(cues.sources) == 1, [float(np.median(s.azimuth_deg))
                                            for s in cues.sources]


def _exact_fits(a_deg, b_deg, r1, r2):
    from engine.cues.pairfit import PairFit
    from engine.cues.separation import _BlockPairs
    k = len(a_deg)
    fit = PairFit(np.asarray(a_deg, float), np.asarray(b_deg, float), np.asarray(r1, float),
                  np.asarray(r2, float))
    zeros = np.zeros(k)
    return _BlockPairs(np.ones(k, bool), zeros, zeros, np.zeros(k, bool), zeros, 0.5, 0.35, fit)


def test_a_direction_the_exact_fits_never_place_is_not_a_source():
    from engine.cues.blocks import BLOCK_STEPS
    from engine.cues.separation import _contradicted
    # Twenty blocks, each two point sources at -54 and +50 exactly (residual 0.001 against
    # one source's 0.1): a third source sounding in them would leave the fits inexact.
    k = 20
    pf = _exact_fits([-54.0] * k, [50.0] * k, [0.1] * k, [0.001] * k)
    active = np.ones(k * BLOCK_STEPS, bool)
    at = lambda az: SourceSpec(np.full(k * BLOCK_STEPS, az), active, 0.3, origin="gcc")
    assert _contradicted(at(8.0), pf, active)
    assert not _contradicted(at(50.0), pf, active) and not _contradicted(at(-52.0), pf, active)
    # Inexact blocks (a room, a third sound) say nothing either way.
    loose = _exact_fits([-54.0] * k, [50.0] * k, [0.1] * k, [0.05] * k)
    assert not _contradicted(at(8.0), loose, active)
