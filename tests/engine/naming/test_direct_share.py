"""How much of a source's excerpt is direct sound, per step (engine.cues.signals.direct_shares),
and the time weights a tagger pools by (engine.audio.tagging.TimeWeights)."""

import numpy as np

from engine.audio.tagging import TimeWeights
from engine.binaural import render_binaural
from engine.cues.signals import direct_shares
from engine.cues.spatial import AnalysisGrid, step_spectra, stft

SR = 44100


def _place(x, az, seconds):
    return render_binaural(x, SR, azimuth_deg=np.array([az, az]),
                           distance_m=np.array([2.0, 2.0]), times_s=np.array([0.0, seconds]))


def _shares(y):
    # The steps' power and coherence as the cue analysis measures them (energy-weighted MSC
    # over 300 Hz - 8 kHz).
    grid = AnalysisGrid.for_rate(SR)
    st = step_spectra(stft(y.astype(np.float32), grid))
    band = (grid.freqs >= 300) & (grid.freqs <= 8000)
    energy = (st.p_l + st.p_r)[:, band]
    coherence = (st.msc[:, band] * energy).sum(axis=1) / energy.sum(axis=1)
    power = energy.sum(axis=1)
    (w,) = direct_shares(power[None], coherence[None], SR)
    return w, grid.step_s


def test_a_source_in_a_free_field_is_direct_sound_throughout():
    noise = np.random.default_rng(0).standard_normal(3 * SR) * 0.05
    w, _ = _shares(_place(noise, 35.0, 3.0))
    assert np.percentile(w.values, 10) > 0.9


def test_moments_drowned_in_diffuse_sound_count_less():
    rng = np.random.default_rng(1)
    y = _place(rng.standard_normal(4 * SR) * 0.05, -30.0, 4.0)
    # The second half: sound from everywhere (independent at the two ears), 6 dB above it.
    y[:, 2 * SR:] += rng.standard_normal((2, 2 * SR)) * 0.1
    w, step_s = _shares(y)
    first = w.over(0.2, 1.8)
    second = w.over(2.2, 3.8)
    assert first > 0.9
    assert second < 0.6 * first


def test_time_weights_average_by_mass_and_hold_the_last_step():
    w = TimeWeights(np.array([1.0, 0.0, 0.5]), 0.5, mass=np.array([3.0, 1.0, 0.0]))
    assert w.over(0.0, 1.0) == 0.75  # (3 * 1 + 1 * 0) / 4
    assert w.over(5.0, 6.0) == 0.5  # beyond the end: the last step (its mass is 0: plain)
    assert abs(TimeWeights(np.array([0.2, 0.4]), 1.0).over(0.0, 2.0) - 0.3) < 1e-12
