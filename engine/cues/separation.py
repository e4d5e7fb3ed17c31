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
