"""Each source's own signal for naming: beamformed to its measured direction, head colouring
undone, quiet where it does not sound (synthetic binaural scenes); soft masks for the
stereo kinds without a head."""

import numpy as np
import pytest
from scipy.signal import welch

from engine.binaural import render_binaural
from engine.cues.binmodel import bin_model
from engine.cues.spatial import STEP_FRAMES, AnalysisGrid
from engine.cues.spatial import stft
from engine.cues.signals import MASK_FLOOR, soft_masks, source_signals

SR = 44100
GRID = AnalysisGrid.for_rate(SR)


def _place(x, az, seconds):
    return render_binaural(x, SR, azimuth_deg=np.array([az, az]),
                           distance_m=np.array([2.0, 2.0]), times_s=np.array([0.0, seconds]))


def _steps(y):
    return y.shape[1] // (STEP_FRAMES * GRID.hop)


def _band_db(y, ref, f_lo, f_hi):
    f, p = welch(y, SR, nperseg=2048)
    _, p0 = welch(ref, SR, nperseg=2048)
    sel = (f >= f_lo) & (f <= f_hi)
    return 10 * np.log10(p[sel] / p0[sel])


@pytest.mark.parametrize("az", [-60.0, 30.0])
def test_steering_to_the_measured_direction_undoes_the_heads_colouring(az):
    noise = np.random.default_rng(0).standard_normal(3 * SR) * 0.05
    y = _place(noise, az, 3.0)
    s = _steps(y)
    steered = source_signals(y, SR, np.full((1, s), az), np.ones((1, s)))[0]
    mirrored = source_signals(y, SR, np.full((1, s), -az), np.ones((1, s)))[0]
    mono = y.mean(axis=0)
    # White noise stays nearly white (within a few dB over 300 Hz-6 kHz) when steered to
    # where it is; the plain downmix and a beam to the mirror side colour it much more.
    spread = lambda v: float(np.ptp(_band_db(v, noise[:v.size], 300, 6000)))
    assert spread(steered) < 0.5 * spread(mono)
    assert spread(steered) < 0.5 * spread(mirrored)


def test_soft_masks_keep_every_bin_and_favour_each_sources_side():
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal(2 * SR) * 0.05 for _ in range(2))
    y = _place(a, -60, 2.0) + _place(b, 60, 2.0)
    spec = stft(y, GRID)
    s = spec.shape[1] // STEP_FRAMES
    masks = soft_masks(spec, np.stack([np.full(s, -60.0), np.full(s, 60.0)]), bin_model(GRID))
    assert masks.shape == (2, s, spec.shape[2])
    assert masks.min() >= MASK_FLOOR - 1e-6                # never a few sparse bins
    assert 0.3 < masks.mean() < 0.7


def test_each_of_two_sources_keeps_more_of_itself_than_of_the_other():
    rng = np.random.default_rng(2)
    t = np.arange(2 * SR) / SR
    low = 0.1 * np.sin(2 * np.pi * 440 * t) * (1 + 0.1 * rng.standard_normal(t.size))
    high = 0.05 * rng.standard_normal(t.size)
    y = _place(low, -60, 2.0) + _place(high, 60, 2.0)
    s = _steps(y)
    out = source_signals(y, SR, np.stack([np.full(s, -60.0), np.full(s, 60.0)]),
                         np.ones((2, s)), model=bin_model(GRID))
    f, p_left = welch(out[0], SR, nperseg=4096)
    _, p_right = welch(out[1], SR, nperseg=4096)
    tone = np.argmin(np.abs(f - 440))
    hiss = (f > 3000) & (f < 8000)
    assert p_left[tone] > 10 * p_right[tone]               # the tone is the left source's
    assert p_right[hiss].sum() > 3 * p_left[hiss].sum()    # the hiss is the right one's


def _flutter_db(v, block=1024):
    """How much the level of a steady sound wobbles from one 23 ms block to the next (dB)."""
    n = v.size // block
    e = 10 * np.log10(np.mean(v[:n * block].reshape(n, block).astype(float) ** 2, axis=1))
    return float(np.std(e[5:-5]))


def test_separating_two_steady_sources_does_not_make_them_flutter():
    # A time-frequency mask that shares each bin by the posterior of the moment modulates a
    # steady sound step by step (a masked helicopter was named a growling lion); the beam is
    # a slowly changing linear filter and leaves a steady sound as steady as it was.
    rng = np.random.default_rng(4)
    a, b = (rng.standard_normal(3 * SR) * 0.05 for _ in range(2))
    y = _place(a, -50, 3.0) + _place(b, 40, 3.0)
    s = _steps(y)
    out = source_signals(y, SR, np.stack([np.full(s, -50.0), np.full(s, 40.0)]),
                         np.ones((2, s)), model=bin_model(GRID))
    for own in out:
        assert _flutter_db(own) < 1.5 * _flutter_db(a)
    # and each still holds more of its own source than of the other (delays are small)
    corr = lambda u, v: abs(np.corrcoef(u[:min(u.size, v.size)], v[:min(u.size, v.size)])[0, 1])
    lag = lambda u, v: max(corr(u[k:], v) for k in range(0, 160, 4))
    assert lag(out[0], a) > 2 * lag(out[0], b) and lag(out[1], b) > 2 * lag(out[1], a)


def test_long_silences_of_the_source_are_quietened_in_place_short_ones_kept():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(6 * SR) * 0.05                  # another sound goes on throughout
    y = _place(x, 0.0, 6.0)
    s = _steps(y)
    power = np.ones(s)
    power[int(0.25 * s):int(0.75 * s)] = 1e-9               # the source is away for 3 s
    power[int(0.05 * s):int(0.10 * s)] = 1e-9               # and pauses for 0.3 s
    out = source_signals(y, SR, np.zeros((1, s)), power[None])[0]
    assert out.size == s * STEP_FRAMES * GRID.hop           # time kept: nothing spliced
    rms = lambda a, b: np.sqrt(np.mean(out[int(a * out.size):int(b * out.size)] ** 2))
    assert rms(0.35, 0.65) < 0.1 * rms(0.8, 0.95)          # the long absence: -20 dB or more
    assert rms(0.06, 0.09) > 0.5 * rms(0.8, 0.95)          # a short pause is the sound's own


def test_a_source_that_never_sounds_gives_an_empty_signal_and_bad_shapes_are_named():
    y = np.zeros((2, SR), np.float32)
    s = _steps(y)
    assert source_signals(y, SR, np.zeros((1, s)), np.zeros((1, s)))[0].size == 0
    with pytest.raises(ValueError, match="differ"):
        source_signals(y, SR, np.zeros((1, s)), np.zeros((2, s)))
    with pytest.raises(ValueError, match="bin model"):
        source_signals(y, SR, np.zeros((2, s)), np.ones((2, s)))
