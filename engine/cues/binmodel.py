"""The per-bin interaural model and the per-step direction histograms built with it.

Every time-frequency bin gets its own direction: the azimuth whose interaural transfer
function (level ratio and phase; KEMAR's for a dummy head) best explains the bin's observed
ILD and IPD, ``cost(a) = (ILD - ILD_a)^2 / 2 sigma^2 + kappa (1 - cos(IPD - IPD_a))``.
Comparing against the full transfer function resolves the phase ambiguity above 700 Hz that
defeats a plain phase-to-delay conversion. A histogram of those directions, weighted by bin
level and coherence, shows one peak per source (:func:`bin_histograms`); the source finder
(:mod:`engine.cues.separation`), the two-source fits (:mod:`engine.cues.pairfit`) and the
per-source masks (:mod:`engine.cues.multisource`) all read the same :class:`BinModel`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..binaural.hrtf import HrirSet, default_hrirs
from .spatial import AnalysisGrid, StepSpectra, coherent_powers, level_coherence

BIN_BAND_HZ = (200.0, 8000.0)
SIGMA_ILD_DB = 3.0
KAPPA_IPD = 2.0
HIST_STEP_DEG = 2.0
# A pan pot turned fully to one side gives an infinite level difference; what is measured
# stops at the noise floor. 60 dB is beyond any microphone pair's or head's difference (KEMAR
# reaches 45 dB in single bins).
MAX_MODEL_ILD_DB = 60.0
# A bin counts in the histograms by its excess coherence above this floor (MSC over the
# 3-step smoothing, about 6 independent frames). In a reverberant recording the floor is
# higher: a room's diffuse sound alone reaches an estimated MSC above x with probability
# (1 - x)^5 for 6 frames (17 % above 0.3, 1 % above 0.6), and a bin that holds a source
# and the room reads a direction between the source and nowhere; above 0.6 the direct
# sound holds at least about 3/4 of the bin (sqrt(0.6) = 0.77 for an incoherent room).
MSC_FLOOR = 0.3
ROOM_MSC_FLOOR = 0.6


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
    # Level-only stereo (engine.audio.stereo_kinds.LEVEL_ONLY): bins are weighted by
    # :func:`engine.cues.spatial.level_coherence` instead of the MSC.
    level_only: bool = False


@functools.lru_cache(maxsize=16)
def bin_model(grid: AnalysisGrid, hrirs: HrirSet | None = None) -> BinModel:
    """The model from an HRIR set (default: shipped KEMAR) at the grid's sample rate."""
    h = (hrirs or default_hrirs(grid.sample_rate)).resampled(grid.sample_rate)
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)
    filters, delays = h.interpolate(az)  # (A, 2, taps), (A, 2)
    freqs = grid.freqs
    spec = np.fft.rfft(filters.astype(float), grid.n_fft, axis=-1)  # (A, 2, F)
    spec *= np.exp(-2j * np.pi * freqs[None, None, :] * delays[:, :, None])
    sel = (freqs >= BIN_BAND_HZ[0]) & (freqs <= BIN_BAND_HZ[1])
    # Smooth magnitudes over +-1 bin: single-bin pinna notches are too sharp to match reliably.
    return transfer_model(az, sel, spec[:, 0, sel], spec[:, 1, sel], smooth_bins=1.0)


def transfer_model(az: np.ndarray, sel: np.ndarray, hl: np.ndarray, hr: np.ndarray, *,
                   smooth_bins: float = 0.0, level_only: bool = False) -> BinModel:
    """The model from the left and right transfer functions ``(A, F')`` of the grid bins
    ``sel`` ``(F,)`` at azimuths ``az`` ``(A,)`` (any stereo kind: a head, two spaced
    microphones, a coincident pair, a pan law)."""
    ml, mr = np.abs(hl) ** 2, np.abs(hr) ** 2
    if smooth_bins > 0:
        ml = gaussian_filter1d(ml, smooth_bins, axis=1)
        mr = gaussian_filter1d(mr, smooth_bins, axis=1)
    ild = np.clip(10 * np.log10((mr + 1e-12) / (ml + 1e-12)), -MAX_MODEL_ILD_DB, MAX_MODEL_ILD_DB)
    cross = hl * np.conj(hr)
    ph = cross / (np.abs(cross) + 1e-20)
    # A channel that is silent has no phase: call it in phase.
    ph = np.where(np.abs(cross) > 1e-9 * (ml + mr + 1e-30), ph, 1.0)
    return BinModel(np.asarray(az, float), sel, ild.T.astype(np.float32),
                    ph.real.T.astype(np.float32), ph.imag.T.astype(np.float32), level_only)


def bin_costs(st: StepSpectra, model: BinModel, sel_steps=slice(None), ild_gain: float = 1.0,
              msc_floor: float = MSC_FLOOR):
    """Observed per-bin cues of steps ``sel_steps``: ``(ild (S, F'), u_re, u_im, weight,
    energy)``.

    ``ild_gain`` (see :func:`engine.cues.spatial.estimate_ild_gain`) rescales the observed
    ILDs to KEMAR's strength, so reverberation does not pull every bin toward the centre.
    ``weight`` counts a bin by how clearly it stands above the step's quiet bins (log-level,
    0 at 40 dB below the step's loudest bin, 1 at its top) times its excess coherence over
    ``msc_floor`` (:data:`MSC_FLOOR`, :data:`ROOM_MSC_FLOOR`), so a quieter source still owns
    the bins it dominates; ``energy`` is ``P_L + P_R`` times the same excess.
    """
    s_lr = st.s_lr[sel_steps][:, model.sel]
    p_l = st.p_l[sel_steps][:, model.sel]
    p_r = st.p_r[sel_steps][:, model.sel]
    sub = StepSpectra(s_lr, p_l, p_r)
    d_l, d_r = coherent_powers(sub)
    ild = (10 * np.log10((d_r + 1e-20) / (d_l + 1e-20)) / max(ild_gain, 0.25)).astype(np.float32)
    mag = np.abs(s_lr) + 1e-20
    u_re = (s_lr.real / mag).astype(np.float32)
    u_im = (s_lr.imag / mag).astype(np.float32)
    energy = p_l + p_r
    if model.level_only:
        msc = level_coherence(sub)
    else:
        msc = np.abs(s_lr) ** 2 / (p_l * p_r + 1e-20)
    db = 10 * np.log10(energy + 1e-20)
    level = np.clip((db - (db.max(axis=1, keepdims=True) - 40.0)) / 40.0, 0.0, 1.0)
    excess = np.clip((msc - msc_floor) / (1.0 - msc_floor), 0.0, 1.0)
    weight = (level * excess).astype(np.float32)
    return ild, u_re, u_im, weight, (energy * excess).astype(np.float32)


def bin_directions(ild, u_re, u_im, model: BinModel) -> np.ndarray:
    """Index into ``model.azimuth_deg`` of each bin's best-matching azimuth ``(S, F')``."""
    return _best_directions(ild, u_re, u_im, model, with_cost=False)[0]


def best_directions(ild, u_re, u_im, model: BinModel) -> tuple[np.ndarray, np.ndarray]:
    """Each bin's best-matching azimuth (index, ``(S, F')``) and its cost there.

    The cost expands into three products per bin: ``-ILD m_a / s^2 + m_a^2 / 2 s^2 - k (u .
    p_a)``; the returned cost adds back what is the same for every azimuth (``ILD^2 / 2
    s^2 + k``), so it is the full ``cost(a)`` of the module docstring, 0 where the bin is
    exactly one of the model's directions."""
    return _best_directions(ild, u_re, u_im, model, with_cost=True)


def _best_directions(ild, u_re, u_im, model: BinModel, *, with_cost: bool):
    inv = np.float32(1 / SIGMA_ILD_DB ** 2)
    w = np.stack([-model.ild_db * inv, -KAPPA_IPD * model.phasor_re,
                  -KAPPA_IPD * model.phasor_im], axis=1).astype(np.float32)  # (F', 3, A)
    c = (0.5 * inv * model.ild_db ** 2).astype(np.float32)  # (F', A)
    x = np.stack([ild, u_re, u_im], axis=2).astype(np.float32)  # (S, F', 3)
    out = np.empty(ild.shape, dtype=np.int16)
    low = np.empty(ild.shape, dtype=np.float32) if with_cost else None
    for s0 in range(0, ild.shape[0], 64):
        s1 = min(ild.shape[0], s0 + 64)
        cost = np.matmul(x[s0:s1].transpose(1, 0, 2), w).transpose(1, 0, 2) + c[None]
        best = np.argmin(cost, axis=2)
        out[s0:s1] = best
        if with_cost:  # the minimum is the cost at its index
            low[s0:s1] = np.take_along_axis(cost, best[..., None], axis=2)[..., 0]
    if not with_cost:
        return out, None
    return out, low + 0.5 * inv * np.asarray(ild, np.float32) ** 2 + np.float32(KAPPA_IPD)


def model_misfit(st: StepSpectra, model: BinModel) -> float:
    """How badly ``model`` explains the bins of ``st``: the weighted mean over bins (weights of
    :func:`bin_costs`) of each bin's cost at its best azimuth. A bin that holds one source
    heard through the model's microphones matches one azimuth's level ratio and phase
    together; through other microphones (another head) its pair matches none, at any
    azimuth. Every other bin, as the histograms."""
    ild, u_re, u_im, weight, _ = bin_costs(st, model)
    keep = slice(0, None, 2)
    half = BinModel(model.azimuth_deg, model.sel, model.ild_db[keep], model.phasor_re[keep],
                    model.phasor_im[keep], model.level_only)
    _, cost = best_directions(ild[:, keep], u_re[:, keep], u_im[:, keep], half)
    w = weight[:, keep]
    return float(np.sum(cost * w) / (np.sum(w) + 1e-9))


def bin_histograms(st: StepSpectra, grid: AnalysisGrid, model: BinModel, *,
                   ild_gain: float = 1.0,
                   msc_floor: float = MSC_FLOOR) -> tuple[np.ndarray, np.ndarray]:
    """Per-step direction histograms ``(S, A)`` twice: bin weights (for finding sources) and
    coherent bin energy (for telling whether two directions rise and fall together); bins
    count by their coherence above ``msc_floor`` (:func:`bin_costs`).

    Every other frequency bin of every other step is used: the histograms are statistics over
    hundreds of bins, and this quarters the cost of the direction search.
    """
    n_steps = st.p_l.shape[0]
    ild, u_re, u_im, weight, energy = bin_costs(st, model, sel_steps=slice(0, None, 2),
                                                ild_gain=ild_gain, msc_floor=msc_floor)
    keep = slice(0, None, 2)
    half = BinModel(model.azimuth_deg, model.sel, model.ild_db[keep], model.phasor_re[keep],
                    model.phasor_im[keep], model.level_only)
    idx = bin_directions(ild[:, keep], u_re[:, keep], u_im[:, keep], half)
    weight, energy = weight[:, keep], energy[:, keep]
    s, _ = idx.shape
    a = len(model.azimuth_deg)
    flat = (np.arange(s)[:, None] * a + idx).ravel()
    counts = np.bincount(flat, weights=weight.ravel(), minlength=s * a).reshape(s, a)
    energies = np.bincount(flat, weights=energy.ravel(), minlength=s * a).reshape(s, a)
    # Every other step was measured (the cross-spectra are smoothed over three anyway); each
    # measured step stands for the one after it too.
    counts = np.repeat(counts, 2, axis=0)[:n_steps]
    energies = np.repeat(energies, 2, axis=0)[:n_steps]
    return counts.astype(np.float32), energies.astype(np.float32)
