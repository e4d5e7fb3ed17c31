"""Interaural cues per analysis step: GCC-PHAT time difference, per-band level difference,
coherence, and their fusion into an azimuth likelihood.

Analysis runs on a short-time Fourier transform (23 ms Hann windows, 50 % overlap). Four
consecutive frames form one **step** (46 ms at 44.1 kHz): cross- and auto-spectra are summed
over the step, which gives a per-bin magnitude-squared coherence (MSC). A direct sound is
coherent between the ears (MSC near 1); reverberation and independent noise are not (MSC near
1/4 for four frames), so MSC weights every cue:

- **ITD** by GCC-PHAT: the phase-transform cross-spectrum, weighted per bin by MSC squared
  over 150 Hz - 6 kHz, steered to the calibrated ITD of every candidate azimuth (a steered
  response, so several peaks survive when several sources sound);
- **ILD** per third-octave band (500 Hz - 16 kHz) from the *coherent* part of each bin's power:
  the incoherent power N that both ears share is removed first (solve
  ``(P_L - N)(P_R - N) = |S_LR|^2``), which undoes the pull toward 0 dB that reverberation and
  noise cause;
- **fusion**: a log-likelihood over the frontal azimuth grid (-90..90 degrees, 1 degree),
  ``kappa * gcc(az) - sum_b w_b (ILD_b - ILD_b(az))^2 / (2 sigma^2)``, with the calibration
  of :mod:`engine.cues.calibration`. The tracker (:mod:`engine.cues.tracking`) smooths it.

Sign conventions: ITD > 0 and ILD > 0 mean the sound is on the right (reaches the right ear
first / louder), matching SPEC azimuth (+90 = right).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STEP_FRAMES = 4
GCC_BAND_HZ = (150.0, 6000.0)
GCC_SPLIT_HZ = 1200.0
KAPPA_ITD = 12.0
KAPPA_ILD = 6.0
SIGMA_ILD_DB = 2.0


@dataclass(frozen=True)
class AnalysisGrid:
    """STFT geometry for a sample rate: ``n_fft`` about 23 ms, hop half of it."""

    sample_rate: int
    n_fft: int
    hop: int

    @classmethod
    def for_rate(cls, sample_rate: int) -> "AnalysisGrid":
        n_fft = 1 << int(round(np.log2(0.0232 * sample_rate)))
        return cls(int(sample_rate), n_fft, n_fft // 2)

    @property
    def step_s(self) -> float:
        return STEP_FRAMES * self.hop / self.sample_rate

    @property
    def freqs(self) -> np.ndarray:
        return np.fft.rfftfreq(self.n_fft, 1 / self.sample_rate)


def third_octave_edges(lo: float = 500.0, hi: float = 16000.0) -> np.ndarray:
    """Band edges (Hz) of third-octave bands covering ``[lo, hi]``."""
    n = int(np.ceil(3 * np.log2(hi / lo)))
    return lo * 2.0 ** (np.arange(n + 1) / 3)


def stft(x: np.ndarray, grid: AnalysisGrid) -> np.ndarray:
    """Complex STFT ``(C, T, F)`` of ``x`` ``(C, n)``; frame t starts at sample ``t * hop``.

    T is ``n // hop`` frames (the last ones zero-padded), so step boundaries fall on
    ``STEP_FRAMES * hop`` samples whatever the chunking.
    """
    x = np.asarray(x, dtype=np.float32)
    c, n = x.shape
    frames = max(1, n // grid.hop)
    pad = frames * grid.hop + grid.n_fft - n
    xp = np.concatenate([x, np.zeros((c, max(0, pad)), np.float32)], axis=1)
    idx = np.lib.stride_tricks.sliding_window_view(xp, grid.n_fft, axis=1)[:, ::grid.hop][:, :frames]
    win = _hann(grid.n_fft)
    from scipy.fft import rfft  # float32 in, complex64 out: half the work of numpy's float64
    return rfft(idx * win, axis=-1, workers=1)


def _hann(n: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


@dataclass
class StepSpectra:
    """Cross/auto spectra summed over each step: ``s_lr`` ``(S, F)`` complex, ``p_l``/``p_r``
    ``(S, F)`` real. ``s_lr = sum X_L conj(X_R)``."""

    s_lr: np.ndarray
    p_l: np.ndarray
    p_r: np.ndarray

    @property
    def msc(self) -> np.ndarray:
        """Magnitude-squared coherence per step and bin, in [0, 1]."""
        return np.abs(self.s_lr) ** 2 / (self.p_l * self.p_r + 1e-20)


def frame_powers(spec: np.ndarray) -> np.ndarray:
    """Each channel's power per STFT frame and bin ``(C, T, F)``, float32, from the STFT
    ``(C, T, F)``."""
    return spec.real ** 2 + spec.imag ** 2


def step_spectra(spec: np.ndarray, power: np.ndarray | None = None) -> StepSpectra:
    """Sum the STFT ``(2, T, F)`` into steps of ``STEP_FRAMES`` frames (a partial last step is
    dropped; callers pass whole steps). ``power``: its :func:`frame_powers`, when the caller
    has them already."""
    s = spec.shape[1] // STEP_FRAMES
    xl = spec[0, :s * STEP_FRAMES].reshape(s, STEP_FRAMES, -1)
    xr = spec[1, :s * STEP_FRAMES].reshape(s, STEP_FRAMES, -1)
    s_lr = np.sum(xl * np.conj(xr), axis=1)
    if power is None:
        power = frame_powers(spec[:, :s * STEP_FRAMES])
    p_l, p_r = (power[c, :s * STEP_FRAMES].reshape(s, STEP_FRAMES, -1).sum(axis=1)
                for c in range(2))
    return StepSpectra(s_lr, p_l, p_r)


def level_coherence(st: StepSpectra) -> np.ndarray:
    """Coherence for level-only stereo (coincident pairs, pan pots) ``(S, F)`` in [0, 1]: the
    squared share of the power that is coherent, ``((D_L + D_R) / (P_L + P_R))^2`` with the
    direct powers of :func:`coherent_powers`. It equals the MSC where both channels are
    equally loud, and stays 1 where one channel is silent (a sound panned hard to one side is
    all direct sound, though its MSC is undefined)."""
    d_l, d_r = coherent_powers(st)
    return ((d_l + d_r) / (st.p_l + st.p_r + 1e-20)) ** 2


def incoherent_power(p_l, p_r, cross, gamma: float = 0.0):
    """The power ``N`` in each channel that is not one direct sound, when a part ``gamma N``
    of it is coherent across the channels (a diffuse field at a coincident pair; 0: none):
    the smaller root of ``(P_L - N)(P_R - N) = (C - gamma N)^2``, ``C`` the cross-power
    (``|S_LR|`` for ``gamma`` 0), held below 0.9 of the quieter channel."""
    a = 1.0 - gamma ** 2
    b = p_l + p_r
    if gamma:
        b = b - 2 * gamma * cross
    c = p_l * p_r - cross ** 2
    # In place from here: a few passes over every step and bin, not a temporary each.
    root = b * b
    root -= 4 * a * c
    np.sqrt(np.maximum(root, 0.0, out=root), out=root)
    root += b
    root += 1e-30
    n = np.divide(2 * c, root, out=root)  # the smaller root, stable for a near 0 too
    return np.clip(n, 0.0, 0.9 * np.minimum(p_l, p_r), out=n)


def coherent_powers(st: StepSpectra) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin direct (coherent) powers ``(D_L, D_R)``: each ear's power minus the
    incoherent power ``N`` both share, from ``(P_L - N)(P_R - N) = |S_LR|^2``."""
    n = incoherent_power(st.p_l, st.p_r, np.abs(st.s_lr))
    return st.p_l - n, st.p_r - n


@dataclass
class SpatialSteps:
    """Per-step spatial cues (``S`` steps, ``A`` azimuths, ``B`` bands).

    Attributes
    ----------
    loglik : (S, A) fused log-likelihood over the calibration's azimuth grid (max 0).
    gcc : (S, A) weighted GCC-PHAT steered to each azimuth's ITD, in [-1, 1].
    confidence : (S,) in [0, 1]: GCC peak height times mean coherence.
    itd_s : (S,) the ITD at the GCC peak (seconds, + = right ear first).
    ild_db : (S, B) coherent-part ILD per band (dB, + = right louder).
    band_weight : (S, B) how much each band's ILD counts (coherence x energy share).
    coherence : (S,) energy-weighted mean MSC over 300 Hz - 8 kHz.
    power : (S,) mean power of both ears (linear, per STFT frame).
    """

    loglik: np.ndarray
    gcc: np.ndarray
    confidence: np.ndarray
    itd_s: np.ndarray
    ild_db: np.ndarray
    band_weight: np.ndarray
    coherence: np.ndarray
    power: np.ndarray
    ild_gain: float = 1.0
    gcc_bands: np.ndarray | None = None  # (S, 2, A): below and above GCC_SPLIT_HZ


def spatial_steps(st: StepSpectra, grid: AnalysisGrid, cal, *,
                  ild_gain: float | None = None) -> SpatialSteps:
    """Cues and azimuth log-likelihood for each step (see module docstring).

    ``cal`` is a :class:`engine.cues.calibration.CueCalibration`. ``ild_gain`` scales the
    calibrated ILDs before matching; ``None`` estimates it from these steps
    (:func:`estimate_ild_gain`).
    """
    freqs = grid.freqs
    # Level-only stereo: one channel silent is a source at the edge, not an incoherent bin.
    msc = level_coherence(st) if cal.level_only else st.msc
    # Two bands, combined into the full-band GCC: a source that only has low (or only high)
    # frequencies still shows its own peak in one of them (see separation).
    # Each band is steered to the ITD the head gives in that band.
    lo, w_lo = steered_gcc(st, msc, grid, cal.itd_band_s(0),
                           band_hz=(GCC_BAND_HZ[0], GCC_SPLIT_HZ), return_weight=True)
    hi, w_hi = steered_gcc(st, msc, grid, cal.itd_band_s(1),
                           band_hz=(GCC_SPLIT_HZ, GCC_BAND_HZ[1]), return_weight=True)
    if cal.polarity is not None:
        # At lag 0 the GCC is the mean cos IPD: +1 in phase, -1 with one channel inverted.
        # Steered with each azimuth's sign, it says which of a figure-of-eight pair's
        # quadrants the sound came from (the level alone reads the same in two).
        lo, hi = lo * cal.polarity[None], hi * cal.polarity[None]
    gcc = (lo * w_lo + hi * w_hi) / (w_lo + w_hi + 1e-9)
    peak = np.argmax(gcc, axis=1)
    gcc_peak = gcc[np.arange(len(peak)), peak]
    itd = cal.itd_s[peak]

    band = (freqs >= 300) & (freqs <= 8000)
    total = st.p_l + st.p_r
    energy = total[:, band]
    coherence = np.sum(msc[:, band] * energy, axis=1) / (np.sum(energy, axis=1) + 1e-20)

    ild, w = band_ild(st, msc, grid, cal.band_edges_hz)
    if ild_gain is None and cal.level_only:
        ild_gain = 1.0  # no delay to tell the azimuth apart from the level
    if ild_gain is None:
        ild_gain = estimate_ild_gain(cal.azimuth_deg[peak], gcc_peak, ild, w, cal)
    # Without time differences the GCC-PHAT says nothing about direction (nor how clear
    # it is), so level-only stereo is as confident as it is coherent.
    clarity = 1.0 if cal.level_only else np.clip(gcc_peak, 0.0, 1.0)
    conf = clarity * np.clip(coherence, 0.0, 1.0)
    loglik = fuse(gcc, ild, w, cal, ild_gain)
    power = 0.5 * np.mean(total, axis=1) / STEP_FRAMES
    return SpatialSteps(loglik, gcc, conf, itd, ild, w, coherence, power, float(ild_gain),
                        np.stack([lo, hi], axis=1))


def fuse(gcc: np.ndarray, ild: np.ndarray, w: np.ndarray, cal, ild_gain: float) -> np.ndarray:
    """Fused log-likelihood ``(S, A)``: steered GCC plus a robust ILD match.

    The ILD term is a weighted *mean* over bands of ``log(1 + u^2 / 2)`` with
    ``u = (ILD_b - g ILD_b(az)) / sigma``: heavy-tailed, so one band with a pinna notch or a
    reflection cannot outvote the others, and normalised so that the two cues keep their
    balance whatever the number of bands.
    """
    # The level term is smooth in azimuth: evaluate it every 3 degrees and interpolate.
    coarse, up = _coarse_grid(len(cal.azimuth_deg))
    model = (ild_gain * cal.ild_db[coarse]).astype(np.float32)  # (A', B)
    # log1p(u^2 / 2) for every step, azimuth and band, in place (the largest array here).
    u2 = ild.astype(np.float32)[:, None, :] - model[None, :, :]
    np.square(u2, out=u2)
    u2 /= SIGMA_ILD_DB ** 2
    u2 *= 0.5
    np.log1p(u2, out=u2)
    wsum = w.sum(axis=1, keepdims=True) + 1e-9
    reliability = np.clip(wsum / 3.0, 0.0, 1.0)  # few usable bands: the level cue says less
    ild_term = -np.einsum("sab,sb->sa", u2, w.astype(np.float32)) / wsum
    ild_term = (ild_term * reliability) @ up
    loglik = KAPPA_ITD * gcc + KAPPA_ILD * ild_term
    return loglik - loglik.max(axis=1, keepdims=True)


_COARSE_CACHE: dict = {}


def _coarse_grid(a_count: int, step: int = 3):
    """Indices of every ``step``-th azimuth (ends included) and the ``(A', A)`` matrix that
    interpolates linearly from them back to the full grid."""
    if a_count not in _COARSE_CACHE:
        idx = np.unique(np.r_[np.arange(0, a_count, step), a_count - 1])
        up = np.zeros((len(idx), a_count), dtype=np.float32)
        for j in range(a_count):
            k = min(np.searchsorted(idx, j, side="right") - 1, len(idx) - 2)
            t = (j - idx[k]) / (idx[k + 1] - idx[k])
            up[k, j] += 1 - t
            up[k + 1, j] += t
        _COARSE_CACHE[a_count] = (idx, up)
    return _COARSE_CACHE[a_count]


def estimate_ild_gain(az_itd: np.ndarray, gcc_peak: np.ndarray, ild: np.ndarray,
                      w: np.ndarray, cal) -> float:
    """How strong this recording's level differences are relative to KEMAR's, in [0.25, 1.25].

    Fitted on steps where the time difference alone is informative (a clear GCC peak at 15 to
    70 degrees, where ITD is neither near zero nor saturated): least squares of the observed
    band ILDs on the calibrated ones at the ITD's azimuth. A dummy head reads near 1;
    reverberation, noise, spaced microphones or a smaller head read lower, and the level cue
    is then scaled down instead of dragging sources toward the centre. Too little evidence
    leaves it at 1.
    """
    sel = (np.abs(az_itd) >= 15) & (np.abs(az_itd) <= 70) & (gcc_peak > 0.3)
    if sel.sum() < 8:
        return 1.0
    a_idx = np.clip(np.round(az_itd[sel] - cal.azimuth_deg[0]).astype(int), 0,
                    len(cal.azimuth_deg) - 1)
    model = cal.ild_db[a_idx]  # (n, B)
    ww = w[sel] * gcc_peak[sel, None]
    den = np.sum(ww * model ** 2)
    if den <= 1e-9:
        return 1.0
    return float(np.clip(np.sum(ww * ild[sel] * model) / den, 0.25, 1.25))


def steered_gcc(st: StepSpectra, msc: np.ndarray, grid: AnalysisGrid,
                itd_s: np.ndarray, *, band_hz: tuple[float, float] = GCC_BAND_HZ,
                return_weight: bool = False):
    """Weighted GCC-PHAT evaluated at the lags ``itd_s`` ``(A,)``: ``(S, A)`` in [-1, 1].

    Bin weights are MSC squared (so diffuse and noisy bins count less) within ``band_hz``;
    the phase transform whitens the source spectrum. With ``return_weight`` the per-step
    sum of bin weights ``(S, 1)`` comes back too, so that band-wise GCCs can be combined.
    """
    freqs = grid.freqs
    sel = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
    x = st.s_lr[:, sel]
    # The phase transform P = x / |x| in real arithmetic (numpy's complex division also
    # multiplies by the divisor's inverse: the same numbers, without complex temporaries).
    inv = 1 / (np.abs(x) + 1e-20)
    w = msc[:, sel] ** 2
    cos_t, sin_t = _steering(grid, itd_s.tobytes(), sel.tobytes())
    pw_re = (x.real * inv * w).astype(np.float32, copy=False)
    pw_im = (x.imag * inv * w).astype(np.float32, copy=False)
    # Re(P e^{j w tau}) = P_re cos - P_im sin; P = e^{-j w tau0} peaks at tau = tau0.
    cc = pw_re @ cos_t - pw_im @ sin_t
    wsum = np.sum(w, axis=1, keepdims=True)
    cc = cc / (wsum + 1e-9)
    return (cc, wsum) if return_weight else cc


_STEER_CACHE: dict = {}


def _steering(grid: AnalysisGrid, itd_key: bytes, sel_key: bytes):
    key = (grid, itd_key, sel_key)
    if key not in _STEER_CACHE:
        itd = np.frombuffer(itd_key, dtype=float)
        sel = np.frombuffer(sel_key, dtype=bool)
        omega = 2 * np.pi * grid.freqs[sel]
        phase = omega[:, None] * itd[None, :]
        _STEER_CACHE.clear() if len(_STEER_CACHE) > 16 else None
        _STEER_CACHE[key] = (np.cos(phase).astype(np.float32), np.sin(phase).astype(np.float32))
    return _STEER_CACHE[key]


def band_ild(st: StepSpectra, msc: np.ndarray, grid: AnalysisGrid,
             edges_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coherent-part ILD ``(S, B)`` per band and band weights ``(S, B)`` in [0, 1].

    A band's weight is its energy-weighted mean MSC times how much of the step's energy it
    holds (relative to the strongest band, square-rooted): empty bands carry no level cue.
    """
    m = _band_matrix(grid, edges_hz.tobytes())  # (F, B)
    d_l, d_r = coherent_powers(st)
    bl = d_l @ m
    br = d_r @ m
    ild = 10 * np.log10((br + 1e-20) / (bl + 1e-20))
    total = st.p_l + st.p_r
    e = total @ m
    coh = (total * msc) @ m / (e + 1e-20)
    share = np.sqrt(e / (e.max(axis=1, keepdims=True) + 1e-20))
    return ild, np.clip(coh, 0, 1) ** 2 * share


_BAND_CACHE: dict = {}


def _band_matrix(grid: AnalysisGrid, edges_key: bytes) -> np.ndarray:
    key = (grid, edges_key)
    if key not in _BAND_CACHE:
        edges = np.frombuffer(edges_key, dtype=float)
        f = grid.freqs
        m = np.zeros((len(f), len(edges) - 1), dtype=np.float32)
        for b in range(len(edges) - 1):
            m[(f >= edges[b]) & (f < edges[b + 1]), b] = 1.0
        _BAND_CACHE[key] = m
    return _BAND_CACHE[key]
