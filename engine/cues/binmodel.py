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
from dataclasses import dataclass, replace

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
    # A pure delay (two omnidirectional microphones ``d`` apart): the largest delay, ``d /
    # c`` (s); 0 for any other model. Its bin-weight histograms of dry steps use the whole
    # band, each bin voting for every direction its phase allows (:func:`bin_histograms`);
    # all else reads ``sel``.
    max_delay_s: float = 0.0


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
    sub = StepSpectra(st.s_lr[sel_steps][:, model.sel], st.p_l[sel_steps][:, model.sel],
                      st.p_r[sel_steps][:, model.sel])
    d_l, d_r = coherent_powers(sub)
    ild = (10 * np.log10((d_r + 1e-20) / (d_l + 1e-20)) / max(ild_gain, 0.25)).astype(np.float32)
    return (ild, *_phase_weights(sub, model.level_only, msc_floor))


def _phase_weights(sub: StepSpectra, level_only: bool, msc_floor: float):
    """``(u_re, u_im, weight, energy)`` of :func:`bin_costs` for the bins of ``sub``."""
    s_lr, p_l, p_r = sub.s_lr, sub.p_l, sub.p_r
    mag = np.abs(s_lr) + 1e-20
    u_re = (s_lr.real / mag).astype(np.float32)
    u_im = (s_lr.imag / mag).astype(np.float32)
    energy = p_l + p_r
    if level_only:
        msc = level_coherence(sub)
    else:
        msc = np.abs(s_lr) ** 2 / (p_l * p_r + 1e-20)
    db = 10 * np.log10(energy + 1e-20)
    level = np.clip((db - (db.max(axis=1, keepdims=True) - 40.0)) / 40.0, 0.0, 1.0)
    excess = np.clip((msc - msc_floor) / (1.0 - msc_floor), 0.0, 1.0)
    weight = (level * excess).astype(np.float32)
    return u_re, u_im, weight, (energy * excess).astype(np.float32)


def alias_votes(u_re: np.ndarray, u_im: np.ndarray, freqs: np.ndarray, max_delay_s: float,
                azimuth_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every direction a bin's phase allows for a pure delay, in closed form: ``(S, F', K)``
    indices into ``azimuth_deg`` (a uniform grid) and each one's share of the bin (``1 / k``
    for a bin with ``k`` directions, 0 for unused slots).

    A pair ``d`` apart delays a source at ``az`` by ``tau = d sin(az) / c``, which turns the
    cross-spectrum's phase by ``-2 pi f tau``. Above ``c / 2d`` a bin's phase ``phi`` fits
    several delays, ``tau_m = -(phi + 2 pi m) / (2 pi f)`` with ``|tau_m| <= d / c`` (spatial
    aliasing), equally well; the bin cannot tell which, so it votes for all of them alike.
    The true delay is the same in every bin while the aliases move with frequency, so summed
    over the bins of a step the true direction stands up and the aliases spread out (why the
    GCC-PHAT, which sums all frequencies, is not fooled). A bin whose phase fits no delay
    within the pair's reach (noise, or a spacing read short) votes for the nearer end."""
    # In units of the largest delay: x = tau / (d / c) in [-1, 1], x = sin(az).
    f = np.asarray(freqs, np.float32)[None, :, None]
    period = (1.0 / (f * max_delay_s)).astype(np.float32)
    x0 = np.arctan2(u_im, u_re).astype(np.float32)[:, :, None] * (-0.5 / np.pi) * period
    k_max = int(np.floor(2 * max_delay_s * float(np.max(freqs)))) + 2
    m0 = np.ceil((-1.0 - x0) / period)
    x = x0 + (m0 + np.arange(k_max, dtype=np.float32)[None, None, :]) * period
    ok = x <= 1.0
    k = ok.sum(axis=2, keepdims=True)
    none = k[..., 0] == 0
    if none.any():  # no delay within reach: the nearer end (the first slot is past d / c)
        near = np.where(x[..., 0] - 1.0 <= -1.0 - (x[..., 0] - period[..., 0]), 1.0, -1.0)
        x[..., 0] = np.where(none, near, x[..., 0])
        ok[..., 0] |= none
        k = np.maximum(k, 1)
    lut = _sine_lut(len(azimuth_deg), float(azimuth_deg[0]),
                    float(azimuth_deg[1] - azimuth_deg[0]))
    cell = ((x + 1.0) * (0.5 * len(lut))).astype(np.int32)
    idx = lut[np.clip(cell, 0, len(lut) - 1)]
    share = np.where(ok, np.float32(1.0) / k, np.float32(0.0)).astype(np.float32)
    return idx, share


SINE_CELLS = 8192  # the delay-to-azimuth table's cells over [-d/c, d/c]: finer than the grid


@functools.lru_cache(maxsize=4)
def _sine_lut(n: int, a0: float, step: float) -> np.ndarray:
    """The azimuth grid index nearest ``asin(x)`` for :data:`SINE_CELLS` cells of ``x`` in
    [-1, 1] (cell centres)."""
    x = (np.arange(SINE_CELLS) + 0.5) / SINE_CELLS * 2.0 - 1.0
    az = np.degrees(np.arcsin(x))
    return np.clip(np.rint((az - a0) / step), 0, n - 1).astype(np.int64)


def bin_directions(ild, u_re, u_im, model: BinModel) -> np.ndarray:
    """Index into ``model.azimuth_deg`` of each bin's best-matching azimuth ``(S, F')``.

    The cost expands into three products per bin (the ``ILD^2`` term is the same for every
    azimuth and drops out): ``-ILD m_a / s^2 + m_a^2 / 2 s^2 - k (u . p_a)``.
    """
    inv = np.float32(1 / SIGMA_ILD_DB ** 2)
    w = np.stack([-model.ild_db * inv, -KAPPA_IPD * model.phasor_re,
                  -KAPPA_IPD * model.phasor_im], axis=1).astype(np.float32)  # (F', 3, A)
    c = (0.5 * inv * model.ild_db ** 2).astype(np.float32)  # (F', A)
    x = np.stack([ild, u_re, u_im], axis=2).astype(np.float32)  # (S, F', 3)
    out = np.empty(ild.shape, dtype=np.int16)
    for s0 in range(0, ild.shape[0], 64):
        s1 = min(ild.shape[0], s0 + 64)
        cost = np.matmul(x[s0:s1].transpose(1, 0, 2), w).transpose(1, 0, 2) + c[None]
        out[s0:s1] = np.argmin(cost, axis=2)
    return out


def bin_histograms(st: StepSpectra, grid: AnalysisGrid, model: BinModel, *,
                   ild_gain: float = 1.0,
                   msc_floor: float = MSC_FLOOR,
                   aliases: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per-step direction histograms ``(S, A)`` twice: bin weights (for finding sources) and
    coherent bin energy (for telling whether two directions rise and fall together); bins
    count by their coherence above ``msc_floor`` (:func:`bin_costs`).

    A pure-delay model (``max_delay_s``, a spaced pair) finds sources in the whole band, each
    bin voting for all its aliases (:func:`alias_votes`), unless ``aliases`` is off (a room:
    its early reflections are delays as steady as the source's own, so they stand up from
    the aliases as well as the source does); its energy histogram stays on the model's
    unaliased band ``sel``: an aliased bin's share of every direction rises and falls with
    the bin's loud source, and would make every direction look comodulated with it.

    Every other frequency bin of every other step is used: the histograms are statistics over
    hundreds of bins, and this quarters the cost of the direction search.
    """
    n_steps = st.p_l.shape[0]
    if model.max_delay_s > 0:
        counts, energies = bin_histograms(st, grid, replace(model, max_delay_s=0.0),
                                          ild_gain=ild_gain, msc_floor=msc_floor)
        if aliases:
            counts = _alias_histogram(st, grid, model, msc_floor)
        return counts, energies
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


def _alias_histogram(st: StepSpectra, grid: AnalysisGrid, model: BinModel,
                     msc_floor: float) -> np.ndarray:
    """The bin-weight histograms of :func:`bin_histograms` for a pure delay (a spaced pair):
    every other bin of the whole band :data:`BIN_BAND_HZ`, every other step. Each bin votes
    for the directions its phase allows and against those its phase rules out most, half a
    turn away (:func:`alias_votes` of the inverted phase), its weight shared equally among
    each set: the two-point form of the GCC-PHAT's cosine. Two sources that share bins put
    the bins' phase at their mean delay in some bins and half a turn from it in the others,
    so that direction, steady across the band, gets as many votes against as for; each
    source keeps the bins it dominates. A step's sum below 0 in a direction is 0 there."""
    n_steps = st.p_l.shape[0]
    freqs = grid.freqs
    cols = np.nonzero((freqs >= BIN_BAND_HZ[0]) & (freqs <= BIN_BAND_HZ[1]))[0][::2]
    rows = slice(0, None, 2)
    sub = StepSpectra(st.s_lr[rows][:, cols], st.p_l[rows][:, cols], st.p_r[rows][:, cols])
    u_re, u_im, weight, _ = _phase_weights(sub, model.level_only, msc_floor)
    s, a = weight.shape[0], len(model.azimuth_deg)
    counts = np.zeros((s, a))
    for s0 in range(0, s, 64):  # bounded memory: (steps, bins, aliases) per piece
        s1 = min(s, s0 + 64)
        for sign in (1.0, -1.0):
            idx, share = alias_votes(sign * u_re[s0:s1], sign * u_im[s0:s1], freqs[cols],
                                     model.max_delay_s, model.azimuth_deg)
            flat = ((np.arange(s1 - s0)[:, None, None]) * a + idx).ravel()
            votes = (share * weight[s0:s1, :, None]).ravel()
            counts[s0:s1] += sign * np.bincount(flat, weights=votes,
                                                minlength=(s1 - s0) * a).reshape(s1 - s0, a)
    # each measured step stands for the one after it too (as in bin_histograms)
    return np.repeat(np.maximum(counts, 0.0), 2, axis=0)[:n_steps].astype(np.float32)
