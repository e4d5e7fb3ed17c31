"""A wide spaced pair's histograms: every bin votes for all the directions its phase allows
(spatial aliasing above c / 2d), and against the directions half a turn away."""

import numpy as np
import pytest

from engine.cues.analysis import smooth_spectra
from engine.cues.binmodel import alias_votes, bin_histograms
from engine.cues.spatial import AnalysisGrid, step_spectra, stft
from engine.cues.stereo import SPEED_OF_SOUND, model_for, spaced_delay_s

SR = 44100
SPACING = 0.6
GRID_AZ = np.arange(-90.0, 90.0 + 1e-9, 2.0)


def _through_pair(x: np.ndarray, az: float) -> np.ndarray:
    """``x`` at azimuth ``az`` through two omnis ``SPACING`` apart: a pure (fractional) delay."""
    f = np.fft.rfftfreq(len(x), 1 / SR)
    spec = np.fft.rfft(x)
    tau = spaced_delay_s(az, SPACING)
    return np.stack([np.fft.irfft(spec * np.exp(-1j * np.pi * f * tau), len(x)),
                     np.fft.irfft(spec * np.exp(1j * np.pi * f * tau), len(x))])


def _clip_histogram(azimuths: list[float], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = sum(_through_pair(rng.standard_normal(3 * SR), a) for a in azimuths)
    grid = AnalysisGrid.for_rate(SR)
    st = smooth_spectra(step_spectra(stft(y.astype(np.float32), grid)), 3)
    model = model_for("spaced", grid, spacing_m=SPACING)
    counts, energies = bin_histograms(st, grid, model)
    assert counts.min() >= 0 and energies.min() >= 0
    return model.azimuth_deg, counts.sum(axis=0)


def _peaks(az: np.ndarray, total: np.ndarray) -> list[tuple[float, float]]:
    """Local maxima, largest first, as (azimuth, height over the largest)."""
    i = [k for k in range(1, len(total) - 1)
         if total[k] > total[k - 1] and total[k] >= total[k + 1]]
    i.sort(key=lambda k: -total[k])
    return [(float(az[k]), float(total[k] / total.max())) for k in i]


def test_the_model_of_a_wide_pair_reads_the_whole_band():
    grid = AnalysisGrid.for_rate(SR)
    model = model_for("spaced", grid, spacing_m=SPACING)
    assert model.max_delay_s == pytest.approx(SPACING / SPEED_OF_SOUND)
    # The masks' model and the other kinds' models are not pure-delay histogram models.
    assert model_for("spaced", grid, spacing_m=SPACING, for_masks=True).max_delay_s == 0
    assert model_for("coincident", grid).max_delay_s == 0


@pytest.mark.parametrize("az", [-55.0, 30.0])
def test_each_alias_of_a_bin_fits_its_phase(az):
    freqs = np.array([250.0, 1000.0, 4000.0, 7900.0])
    tau = float(spaced_delay_s(az, SPACING))
    phase = -2 * np.pi * freqs * tau  # the cross-spectrum's phase for a pure delay
    idx, share = alias_votes(np.cos(phase)[None], np.sin(phase)[None], freqs,
                             SPACING / SPEED_OF_SOUND, GRID_AZ)
    d_max = SPACING / SPEED_OF_SOUND
    for j, f in enumerate(freqs):
        used = share[0, j] > 0
        # as many directions as whole turns fit in the pair's delay range at f
        assert used.sum() in (np.floor(2 * d_max * f), np.floor(2 * d_max * f) + 1)
        assert share[0, j].sum() == pytest.approx(1.0, abs=1e-5)
        assert np.any(np.abs(GRID_AZ[idx[0, j][used]] - az) <= 1.0)  # the truth is one
        # every direction named explains the phase (to the grid's 2 degree rounding)
        alias_tau = spaced_delay_s(GRID_AZ[idx[0, j][used]], SPACING)
        slack = 2 * np.pi * f * d_max * np.radians(1.0) + 1e-6
        assert np.all(np.abs(np.angle(np.exp(1j * (-2 * np.pi * f * alias_tau - phase[j]))))
                      <= slack)
    # a low bin has one direction, a high one many
    assert (share[0, 0] > 0).sum() == 1 and (share[0, -1] > 0).sum() > 20


def test_a_phase_no_delay_explains_goes_to_the_nearer_end():
    # At 150 Hz a 60 cm pair's largest delay turns the phase by only 0.98 rad.
    f = np.array([150.0])
    idx, share = alias_votes(np.cos([-2.0])[None], np.sin([-2.0])[None], f,
                             SPACING / SPEED_OF_SOUND, GRID_AZ)
    assert (share > 0).sum() == 1 and GRID_AZ[idx[0, 0][share[0, 0] > 0][0]] == 90.0


def test_two_noises_through_a_60cm_pair_give_two_peaks():
    az, total = _clip_histogram([-40.0, 40.0])
    peaks = _peaks(az, total)
    found = sorted(a for a, _ in peaks[:2])
    assert abs(found[0] + 40) <= 4 and abs(found[1] - 40) <= 4
    # the mean delay of two sources sharing the bins (0 degrees) is no peak of its own
    assert all(h < 0.5 * peaks[1][1] for _, h in peaks[2:])


@pytest.mark.parametrize("az_true", [-60.0, 24.0])
def test_one_source_through_a_60cm_pair_gives_one_peak(az_true):
    az, total = _clip_histogram([az_true], seed=1)
    peaks = _peaks(az, total)
    assert abs(peaks[0][0] - az_true) <= 2
    assert all(h < 0.25 for _, h in peaks[1:])
