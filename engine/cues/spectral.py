"""Monaural cues per analysis step: loudness, spectral centroid, high-frequency balance,
onsets, and pitch drift (the Doppler hint of a pass-by).

All of them are computed from the same STFT as the interaural cues
(:mod:`engine.cues.spatial`), on the mid signal (mean power of both ears).
"""

from __future__ import annotations

import functools

import numpy as np

from .spatial import STEP_FRAMES, AnalysisGrid

HF_BAND_HZ = (4000.0, 12000.0)
MID_BAND_HZ = (500.0, 2000.0)
PITCH_RANGE_HZ = (150.0, 6000.0)
PITCH_BINS_PER_OCTAVE = 96


def step_power_spectrum(p_l: np.ndarray, p_r: np.ndarray) -> np.ndarray:
    """Mean power spectrum of both ears per frame of each step ``(S, F)``, from the ears'
    powers summed over each step's frames (:func:`engine.cues.spatial.step_spectra`)."""
    return (p_l + p_r) * np.float32(0.5 / STEP_FRAMES)


def loudness_db(power: np.ndarray) -> np.ndarray:
    """dBFS of a per-step mean power ``(S,)`` (power of the windowed frame spectrum, scaled so
    that a full-scale sine reads about -3 dB, as RMS dBFS does)."""
    return 10 * np.log10(np.maximum(power, 1e-12))


def power_to_ms(power_spec: np.ndarray, grid: AnalysisGrid) -> np.ndarray:
    """Mean-square signal level per step from a power spectrum ``(S, F)`` (Parseval for a
    Hann-windowed rfft, one-sided)."""
    win_energy = 0.375 * grid.n_fft  # sum of hann^2
    scale = np.full(power_spec.shape[-1], 2.0)
    scale[0] = 1.0
    if grid.n_fft % 2 == 0:
        scale[-1] = 1.0
    return (power_spec @ scale) / (grid.n_fft * win_energy)


def centroid_hz(power_spec: np.ndarray, grid: AnalysisGrid) -> np.ndarray:
    """Spectral centroid per step ``(S,)`` in Hz (NaN for silent steps)."""
    f = grid.freqs
    tot = power_spec.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, power_spec @ f / tot, np.nan)


def hf_balance_db(power_spec: np.ndarray, grid: AnalysisGrid) -> np.ndarray:
    """High-frequency balance per step: dB of 4-12 kHz power over 0.5-2 kHz power. Distance
    lowers it (air absorbs highs; reverberation tails are duller)."""
    f = grid.freqs
    hf = power_spec[:, (f >= HF_BAND_HZ[0]) & (f < HF_BAND_HZ[1])].sum(axis=1)
    mid = power_spec[:, (f >= MID_BAND_HZ[0]) & (f < MID_BAND_HZ[1])].sum(axis=1)
    # Undefined (NaN) where a band is empty: a separated source that owns no bin of a band
    # in a step (hard masks) would otherwise read +-200 dB there.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((hf > 0) & (mid > 0), 10 * np.log10(hf / mid), np.nan)


def spectral_flux(frame_power: np.ndarray) -> np.ndarray:
    """Half-wave rectified log-magnitude flux per STFT frame ``(T,)`` (mid of both ears), on
    48 bands of equal width in frequency (a tenth of the cost of every bin, same onsets),
    from the ears' powers per frame ``(2, T, F)`` (:func:`engine.cues.spatial.frame_powers`)."""
    power = frame_power.mean(axis=0)
    f = power.shape[1]
    k = 48
    edges = np.linspace(1, f, k + 1).astype(int)
    bands = np.add.reduceat(power, edges[:-1], axis=1) / np.diff(edges)
    mag = np.log1p(100.0 * np.sqrt(bands))
    d = np.diff(mag, axis=0, prepend=mag[:1])
    return np.maximum(d, 0.0).mean(axis=1)


def pick_onsets(flux: np.ndarray, frame_s: float, *, min_gap_s: float = 0.08,
                delta: float = 0.02) -> np.ndarray:
    """Frame indices of onsets: local maxima of flux above a moving median plus ``delta``."""
    from scipy.ndimage import maximum_filter1d, median_filter
    if flux.size < 3:
        return np.zeros(0, dtype=int)
    med = median_filter(flux, size=max(3, int(0.5 / frame_s) | 1), mode="nearest")
    local = maximum_filter1d(flux, size=max(3, int(min_gap_s / frame_s) | 1), mode="nearest")
    return np.nonzero((flux >= local) & (flux > med + delta) & (flux > 2 * med))[0]


def log_frequency_power(power_spec: np.ndarray, grid: AnalysisGrid) -> np.ndarray:
    """A linear power spectrum ``(S, F)`` on the log-spaced bins ``(S, K)`` of
    :func:`log_frequency_matrix`, multiplied by the matrix's rows that are not all zero
    (the bins of :data:`PITCH_RANGE_HZ`: the same sums, a quarter of the work)."""
    rows, m = _log_frequency_rows(grid)
    return power_spec[:, rows] @ m


@functools.lru_cache(maxsize=8)
def _log_frequency_rows(grid: AnalysisGrid) -> tuple[slice, np.ndarray]:
    m = log_frequency_matrix(grid)
    used = np.flatnonzero(m.any(axis=1))
    rows = slice(int(used[0]), int(used[-1]) + 1)
    band = m[rows]
    band.setflags(write=False)
    return rows, band


def log_frequency_matrix(grid: AnalysisGrid) -> np.ndarray:
    """Sparse-ish ``(F, K)`` matrix mapping a linear power spectrum to log-spaced bins
    (:data:`PITCH_BINS_PER_OCTAVE` per octave over :data:`PITCH_RANGE_HZ`), by linear
    interpolation in frequency."""
    lo, hi = PITCH_RANGE_HZ
    hi = min(hi, 0.45 * grid.sample_rate)
    k = int(np.log2(hi / lo) * PITCH_BINS_PER_OCTAVE)
    centres = lo * 2.0 ** (np.arange(k) / PITCH_BINS_PER_OCTAVE)
    f = grid.freqs
    pos = np.interp(centres, f, np.arange(len(f)))
    i0 = np.floor(pos).astype(int)
    w = pos - i0
    m = np.zeros((len(f), k), dtype=np.float32)
    m[i0, np.arange(k)] += 1 - w
    m[np.minimum(i0 + 1, len(f) - 1), np.arange(k)] += w
    return m


def pitch_drift_semitones(frame_logspec: np.ndarray, *, max_shift: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative pitch drift per video frame (semitones, 0 at the first frame) and the
    per-transition match quality in [0, 1].

    ``frame_logspec`` ``(N, K)`` is each frame's log power on the log-frequency grid. The
    shift between consecutive frames is where their normalised cross-correlation peaks
    (parabolic refinement), so a spectrum that slides down as a whole (a Doppler drop) reads
    as a negative drift, while a change of timbre mostly lowers the match quality.
    """
    n = frame_logspec.shape[0]
    drift = np.zeros(n)
    quality = np.zeros(max(0, n - 1))
    if n < 2:
        return drift, quality
    z = frame_logspec - frame_logspec.mean(axis=1, keepdims=True)
    z /= np.linalg.norm(z, axis=1, keepdims=True) + 1e-12
    lags = np.arange(-max_shift, max_shift + 1)
    k = z.shape[1]
    # Cross-correlation of each consecutive pair at every lag, all pairs at once.
    cc_all = np.stack([np.sum(z[:-1, max(0, -l):k - max(0, l)] * z[1:, max(0, l):k - max(0, -l)],
                              axis=1) for l in lags], axis=1)  # (n - 1, L)
    shifts = np.zeros(n - 1)
    for i, cc in enumerate(cc_all):
        j = int(np.argmax(cc))
        frac = 0.0
        if 0 < j < len(lags) - 1:
            den = cc[j - 1] - 2 * cc[j] + cc[j + 1]
            frac = 0.5 * (cc[j - 1] - cc[j + 1]) / den if abs(den) > 1e-12 else 0.0
        shifts[i] = lags[j] + float(np.clip(frac, -0.5, 0.5))
        quality[i] = max(0.0, float(cc[j]))
    st_per_bin = 12.0 / PITCH_BINS_PER_OCTAVE
    drift[1:] = np.cumsum(shifts * quality) * st_per_bin
    return drift, quality
