"""Several sources at once: DUET-style clustering of time-frequency bins on interaural cues.

When sounds overlap, each time-frequency bin is usually dominated by one of them (speech and
everyday sounds are sparse in time and frequency). So every bin gets its own direction: the
azimuth whose KEMAR interaural transfer function (level ratio and phase) best explains the
bin's observed ILD and IPD, ``cost(a) = (ILD - ILD_a)^2 / 2 sigma^2 + kappa (1 - cos(IPD -
IPD_a))``. Comparing against the full measured transfer function resolves the phase
ambiguity above 700 Hz that defeats a plain phase-to-delay conversion. A histogram of those
directions, weighted by bin energy and coherence, shows one peak per source
(:func:`bin_histograms`); :func:`find_sources` follows the peaks over time and keeps up to
three; :func:`source_masks` assigns each bin to the nearest source for per-source analysis
(its own direction track, loudness and tag).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..binaural.hrtf import HrirSet, default_hrirs
from .spatial import AnalysisGrid, StepSpectra, coherent_powers

BIN_BAND_HZ = (200.0, 8000.0)
SIGMA_ILD_DB = 3.0
KAPPA_IPD = 2.0
HIST_STEP_DEG = 2.0


@dataclass(frozen=True, eq=False)
class BinModel:
    """Per-bin interaural model for one analysis grid: ``azimuth_deg`` ``(A,)``,
    ``ild_db`` ``(F', A)`` and unit ``phasor`` ``(F', A)`` (of ``H_L conj(H_R)``) for the bins
    selected by ``sel`` ``(F,)``."""

    azimuth_deg: np.ndarray
    sel: np.ndarray
    ild_db: np.ndarray
    phasor_re: np.ndarray
    phasor_im: np.ndarray


@functools.lru_cache(maxsize=4)
def bin_model(grid: AnalysisGrid, hrirs: HrirSet | None = None) -> BinModel:
    """The model from an HRIR set (default: shipped KEMAR) at the grid's sample rate."""
    h = (hrirs or default_hrirs(grid.sample_rate)).resampled(grid.sample_rate)
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)
    filters, delays = h.interpolate(az)  # (A, 2, taps), (A, 2)
    freqs = grid.freqs
    spec = np.fft.rfft(filters.astype(float), grid.n_fft, axis=-1)  # (A, 2, F)
    spec *= np.exp(-2j * np.pi * freqs[None, None, :] * delays[:, :, None])
    sel = (freqs >= BIN_BAND_HZ[0]) & (freqs <= BIN_BAND_HZ[1])
    hl, hr = spec[:, 0, sel], spec[:, 1, sel]
    # Smooth magnitudes over +-1 bin: single-bin pinna notches are too sharp to match reliably.
    ml = gaussian_filter1d(np.abs(hl) ** 2, 1.0, axis=1)
    mr = gaussian_filter1d(np.abs(hr) ** 2, 1.0, axis=1)
    ild = 10 * np.log10((mr + 1e-12) / (ml + 1e-12))
    cross = hl * np.conj(hr)
    ph = cross / (np.abs(cross) + 1e-20)
    return BinModel(az, sel, ild.T.astype(np.float32), ph.real.T.astype(np.float32),
                    ph.imag.T.astype(np.float32))


def bin_costs(st: StepSpectra, model: BinModel, sel_steps=slice(None)):
    """Observed per-bin cues of steps ``sel_steps``: ``(ild (S, F'), u_re, u_im, weight)``."""
    s_lr = st.s_lr[sel_steps][:, model.sel]
    p_l = st.p_l[sel_steps][:, model.sel]
    p_r = st.p_r[sel_steps][:, model.sel]
    sub = StepSpectra(s_lr, p_l, p_r)
    d_l, d_r = coherent_powers(sub)
    ild = (10 * np.log10((d_r + 1e-20) / (d_l + 1e-20))).astype(np.float32)
    mag = np.abs(s_lr) + 1e-20
    u_re = (s_lr.real / mag).astype(np.float32)
    u_im = (s_lr.imag / mag).astype(np.float32)
    energy = p_l + p_r
    msc = np.abs(s_lr) ** 2 / (p_l * p_r + 1e-20)
    share = energy / (energy.sum(axis=1, keepdims=True) + 1e-20)
    weight = (share * np.clip((msc - 0.3) / 0.7, 0.0, 1.0)).astype(np.float32)
    return ild, u_re, u_im, weight


def bin_directions(ild, u_re, u_im, model: BinModel) -> np.ndarray:
    """Index into ``model.azimuth_deg`` of each bin's best-matching azimuth ``(S, F')``."""
    out = np.empty(ild.shape, dtype=np.int16)
    for s0 in range(0, ild.shape[0], 64):
        s1 = min(ild.shape[0], s0 + 64)
        d = ild[s0:s1, :, None] - model.ild_db[None]
        cost = d * d * (1 / (2 * SIGMA_ILD_DB ** 2))
        cost -= KAPPA_IPD * (u_re[s0:s1, :, None] * model.phasor_re[None]
                             + u_im[s0:s1, :, None] * model.phasor_im[None])
        out[s0:s1] = np.argmin(cost, axis=2)
    return out


def bin_histograms(st: StepSpectra, grid: AnalysisGrid, model: BinModel) -> np.ndarray:
    """Per-step direction histograms ``(S, A)``: the weight of bins pointing at each azimuth."""
    ild, u_re, u_im, weight = bin_costs(st, model)
    idx = bin_directions(ild, u_re, u_im, model)
    s, _ = idx.shape
    a = len(model.azimuth_deg)
    flat = (np.arange(s)[:, None] * a + idx).ravel()
    return np.bincount(flat, weights=weight.ravel(), minlength=s * a).reshape(s, a)


# -- finding sources in the histograms ------------------------------------------------------

PEAK_MIN_SHARE = 0.14      # a peak must hold this share of its block's coherent energy
PEAK_HALF_WIDTH_DEG = 8.0  # a peak's mass is summed over +-8 degrees
MIN_SEPARATION_DEG = 16.0
TRACK_MIN_SHARE = 0.2      # a kept source holds this share of the clip's coherent energy ...
TRACK_MIN_PRESENCE = 0.3   # ... over at least this fraction of the active blocks
GATE_DEG = 10.0            # a peak joins a track within this (plus 5 deg per missed block)


@dataclass
class SourceSpec:
    """A source found in the direction histograms: coarse azimuth per block ``(K,)``
    (filled across the blocks where it was not seen), where it was seen, and its share of
    the clip's coherent energy."""

    block_az: np.ndarray
    seen: np.ndarray
    share: float


def _block_peaks(h: np.ndarray, az: np.ndarray) -> list[tuple[float, float]]:
    """``(azimuth, mass share)`` of the peaks of one normalised, smoothed histogram row."""
    step = az[1] - az[0]
    half = int(round(PEAK_HALF_WIDTH_DEG / step))
    sep = int(round(MIN_SEPARATION_DEG / step))
    peaks = []
    order = np.argsort(h)[::-1]
    taken = np.zeros(len(h), bool)
    for i in order[:12]:
        if taken[i] or h[i] < 0.25 * h[order[0]]:
            continue
        lo, hi = max(0, i - half), min(len(h), i + half + 1)
        mass = float(h[lo:hi].sum())
        taken[max(0, i - sep):i + sep + 1] = True
        if mass >= PEAK_MIN_SHARE:
            # Centroid within the peak: finer than the 2 degree grid.
            peaks.append((float(np.sum(h[lo:hi] * az[lo:hi]) / (h[lo:hi].sum() + 1e-12)), mass))
    return peaks


def find_sources(steps, mix_active: np.ndarray, *, max_sources: int = 3) -> list[SourceSpec]:
    """Up to ``max_sources`` sources from the per-block direction histograms of ``steps``
    (a :class:`engine.cues.analysis.StepCues`); sorted by energy share. Always at least one
    (the whole mix) when anything is active."""
    from .analysis import BLOCK_STEPS
    hist = np.asarray(steps.block_hist, dtype=float)
    k_count, _ = hist.shape
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)
    n_steps = len(mix_active)
    block_active = np.array([mix_active[b * BLOCK_STEPS:(b + 1) * BLOCK_STEPS].any()
                             for b in range(k_count)]) if n_steps else np.zeros(k_count, bool)
    whole = SourceSpec(np.zeros(k_count), block_active.copy(), 1.0)
    if max_sources <= 1 or block_active.sum() < 3:
        return [whole]
    tot = hist.sum(axis=1, keepdims=True)
    norm = np.where(tot > 0, hist / np.maximum(tot, 1e-20), 0.0)
    norm = gaussian_filter1d(gaussian_filter1d(norm, 1.0, axis=1, mode="nearest"),
                             1.0, axis=0, mode="nearest")
    tracks: list[dict] = []
    for b in np.nonzero(block_active)[0]:
        peaks = sorted(_block_peaks(norm[b], az), key=lambda p: -p[1])
        used: set[int] = set()
        for a, mass in peaks:
            best, best_d = None, None
            for ti, tr in enumerate(tracks):
                if ti in used:
                    continue
                gap = b - tr["blocks"][-1]
                d = abs(a - tr["az"][-1])
                if gap <= 12 and d <= GATE_DEG + 5.0 * (gap - 1) and (best_d is None or d < best_d):
                    best, best_d = ti, d
            if best is None:
                tracks.append({"blocks": [b], "az": [a], "mass": [mass]})
                used.add(len(tracks) - 1)
            else:
                tr = tracks[best]
                tr["blocks"].append(b)
                tr["az"].append(a)
                tr["mass"].append(mass)
                used.add(best)
    n_active = max(1, int(block_active.sum()))
    kept = []
    for tr in tracks:
        presence = len(tr["blocks"]) / n_active
        share = float(np.sum(tr["mass"])) / n_active
        if presence >= TRACK_MIN_PRESENCE and share >= TRACK_MIN_SHARE:
            kept.append((share, tr))
    kept.sort(key=lambda p: -p[0])
    kept = _drop_duplicates(kept)[:max_sources]
    if len(kept) <= 1:
        return [whole]
    specs = []
    for share, tr in kept:
        blocks = np.asarray(tr["blocks"])
        seen = np.zeros(k_count, bool)
        seen[blocks] = True
        specs.append(SourceSpec(np.interp(np.arange(k_count), blocks, tr["az"]), seen, share))
    return specs


def _drop_duplicates(kept: list) -> list:
    """Two tracks that stay within the separation distance are one source seen twice."""
    out: list = []
    for share, tr in kept:
        dup = False
        for _, other in out:
            common = sorted(set(tr["blocks"]) & set(other["blocks"]))
            a1 = np.interp(tr["blocks"], tr["blocks"], tr["az"])
            if common:
                d = np.abs(np.interp(common, tr["blocks"], tr["az"])
                           - np.interp(common, other["blocks"], other["az"]))
                dup = float(np.median(d)) < MIN_SEPARATION_DEG
            else:
                dup = abs(float(np.median(a1)) - float(np.median(other["az"]))) < MIN_SEPARATION_DEG
            if dup:
                break
        if not dup:
            out.append((share, tr))
    return out
