"""Each source's own signal, for naming: beamformed to its measured direction, while it sounds.

A tagger trained on ordinary recordings names a sound best when it hears it as a microphone
in front of it would. A binaural recording is not that: the head and the ears colour every
source by direction (KEMAR's ear-canal resonance lifts 2-5 kHz by about 15 dB, and the
L+R downmix of a source off to the side comb-filters it at the interaural delay). So for
each measured source, over the frames where it sounds:

1. **Beamform.** A minimum-variance distortionless (MVDR) beam per frequency bin: it passes
   the direct path from the source's measured azimuth unchanged (the head's transfer
   function there, with its colouring taken out, is the steering vector) and, within that,
   lets through as little power as it can, so whatever comes from elsewhere (another
   source, the room's reflections, noise) is what it takes out. With two ears it can put a
   null on one other direction. The ears' covariance is averaged over ``COV_WINDOW_S``, so
   the beam is a slowly changing linear filter: it never modulates the sound frame by frame
   (a time-frequency mask did, and a helicopter or a cow masked that way was heard as a
   growling lion). Diagonal loading (``LOADING``, -10 dB of the mean ear power) keeps it
   robust where the real head or the room's direct path differs from KEMAR's (with much
   loading the beam becomes plain delay-and-sum), and where two directions cannot be told
   apart (low frequencies, a head is small there) it adds rather than nulls. With one
   source heard there is no other direction to null: its signal is the delay-and-sum beam
   (each ear's phase at the azimuth undone, the nearer ear weighted more), which is what
   MVDR tends to when what else reaches the ears is uncorrelated between them; on the
   held-out rooms MVDR was no better for one source (9 against 10 of 40 named right).
2. **Equalize.** The head's smoothed (third-octave) gain at that azimuth is divided out,
   within +-12 dB, and not below 300 Hz, where a head is acoustically small and the HRIR
   measurement (its loudspeaker) says nothing.
3. **Gate in time.** Silences of the source (its own presence mask) of two seconds or more
   are quietened by 30 dB in place, with short ramps, within its loudest ``max_s`` seconds;
   the tagger then hears the source, not the other source or the noise between its events.
   A source that takes turns with others (``sounds_in``: its own turns) is gated the same
   way outside them whatever its mask holds (gaps under ``GATE_MIN_GAP_S`` between turns
   still pass): there the mask holds what sounds near its place (a car passing the dog's
   side).

Non-binaural stereo (spaced or coincident microphones, pan-pot mixes) has no head to undo:
there the signal is the plain mid channel and, with several sources, a soft time-frequency
mask from the measured directions (each bin shared by the posterior of the interaural model
of :mod:`engine.cues.separation`, never below ``MASK_FLOOR``) does the separating.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.ndimage import median_filter, uniform_filter, uniform_filter1d

from ..binaural.hrtf import default_hrirs
from .frames import presence_mask
from .binmodel import KAPPA_IPD, SIGMA_ILD_DB, BinModel, bin_costs
from .spatial import STEP_FRAMES, AnalysisGrid, step_spectra, stft

MASK_FLOOR = 0.1          # -20 dB: what a mask leaves of bins that fit another source better
GATE_FLOOR = 0.03         # -30 dB: what is left of the steps where the source is silent
EQ_LIMIT_DB = 12.0        # the head's colouring is undone within this range
EQ_LOW_HZ = 300.0         # below this the correction is held flat (see module docstring)
STEER_STEP_DEG = 2.0
STEER_SMOOTH_S = 0.5      # the beam follows the source, not the tracker's jitter
# The ears' covariance for the beam is averaged over this long: ~85 STFT frames per bin
# (a 2 x 2 matrix needs a few), and a source moves a few degrees at most meanwhile except
# in a close pass-by.
COV_WINDOW_S = 1.0
LOADING = 0.1             # diagonal loading of the covariance, relative to the mean ear power
# Shorter silences are the sound's own rhythm (an engine revving down beside a river reads
# as absent in its mask): gating them chops the sound into something else.
GATE_MIN_GAP_S = 2.0
GATE_RAMP_S = 0.1         # the gate opens and closes over this long, never in one step


def source_signals(stereo: np.ndarray, sample_rate: int, azimuth_steps: np.ndarray,
                   power_steps: np.ndarray, *, model: BinModel | None = None,
                   binaural: bool = True, max_s: float = 10.0, ild_gain: float = 1.0,
                   sounds_in: np.ndarray | None = None) -> list[np.ndarray]:
    """Each source's beamformed, equalized and gated mono signal (module docstring).

    Parameters
    ----------
    stereo : np.ndarray [shape=(2, n)]
        The recording, channel 0 = left.
    sample_rate : int
    azimuth_steps : np.ndarray [shape=(P, S)]
        Each source's measured azimuth per analysis step (SPEC convention; NaN = unknown).
    power_steps : np.ndarray [shape=(P, S)]
        Each source's own power per step (from its mask when there are several): where and
        how loud it sounds.
    model : the interaural bin model of the analysis grid (masks need it when ``P > 1``).
    binaural : whether the head's colouring is there to undo.
    max_s : at most this many seconds per source (its loudest span).
    ild_gain : the recording's ILD strength relative to KEMAR's (reverberation shrinks it).
    sounds_in : np.ndarray [shape=(P, S)], bool, optional
        The steps each source can sound in at most (a source that takes turns: its own
        turns); its mask's power elsewhere is another sound near its place. None: all.

    Returns
    -------
    list of np.ndarray [shape=(m,)], float32, one per source; empty where it never sounds.
    """
    stereo = np.asarray(stereo, dtype=np.float32)
    az = np.atleast_2d(np.asarray(azimuth_steps, dtype=float))
    power = np.atleast_2d(np.asarray(power_steps, dtype=float))
    if stereo.ndim != 2 or stereo.shape[0] != 2:
        raise ValueError(f"stereo must have shape (2, n), got {stereo.shape}")
    if az.shape != power.shape:
        raise ValueError(f"azimuth_steps {az.shape} and power_steps {power.shape} differ")
    if az.shape[0] > 1 and model is None:
        raise ValueError("several sources need the bin model for their masks")
    grid = AnalysisGrid.for_rate(sample_rate)
    step_len = STEP_FRAMES * grid.hop
    n_steps = min(az.shape[1], stereo.shape[1] // step_len)
    out = []
    for p in range(az.shape[0]):
        # Where the source is there at all (as its boxes are): steps deep in silence only. A
        # stricter activity split would chop a revving engine beside a river into growls.
        active = presence_mask(power[p, :n_steps])
        if sounds_in is not None:
            active &= np.asarray(sounds_in[p, :n_steps], bool)
        span = _loudest_active_span(power[p, :n_steps], active,
                                    int(np.ceil(max_s / grid.step_s)))
        if span is None:
            out.append(np.zeros(0, np.float32))
            continue
        s0, s1 = span
        spec = stft(stereo[:, s0 * step_len:s1 * step_len], grid)  # (2, T, F)
        t_frames = (s1 - s0) * STEP_FRAMES
        spec = spec[:, :t_frames]
        own_az = _filled(az[p, s0:s1], grid.step_s)
        y = _steered(spec, own_az, grid, binaural, null_others=az.shape[0] > 1)
        if az.shape[0] > 1 and not binaural:  # the beam separates binaural sources
            others = np.stack([_filled(az[q, s0:s1], grid.step_s) for q in range(az.shape[0])])
            mask = soft_masks(spec, others, model, ild_gain=ild_gain)[p]  # (S', F)
            y = y * np.repeat(mask, STEP_FRAMES, axis=0)[:t_frames]
        # Quiet the steps where the source does not sound, in place: cutting them out would
        # splice its events into one unnatural run (a lion's roars read as a rumble).
        gate = _gate(active[s0:s1], grid.step_s)
        gate = np.repeat(gate, STEP_FRAMES)[:t_frames]
        out.append(_overlap_add(y * gate[:, None], grid)[:int(round(max_s * sample_rate))])
    return out


def soft_masks(spec: np.ndarray, azimuth_steps: np.ndarray, model: BinModel, *,
               ild_gain: float = 1.0) -> np.ndarray:
    """Soft masks ``(P, S, F)`` from each source's measured azimuth per step ``(P, S)``.

    In the directional band a bin's share is the posterior of the sources under the
    interaural model (ILD misfit over ``2 sigma^2`` minus ``kappa`` times the phase fit, as
    in :func:`engine.cues.multisource.assign_masks`, but soft); below and above the band,
    each source keeps its energy-weighted share of the band's lowest and highest octave.
    Every share is at least ``MASK_FLOOR``.
    """
    st = step_spectra(spec)
    p_count, s_count = azimuth_steps.shape
    s_count = min(s_count, st.p_l.shape[0])
    ild, u_re, u_im, _, energy = bin_costs(st, model, ild_gain=ild_gain)
    idx = np.clip(np.round((azimuth_steps[:, :s_count] - model.azimuth_deg[0]) /
                           (model.azimuth_deg[1] - model.azimuth_deg[0])).astype(int),
                  0, len(model.azimuth_deg) - 1)
    cost = np.empty((p_count, s_count, ild.shape[1]), dtype=np.float64)
    for p in range(p_count):
        d = ild[:s_count] - model.ild_db.T[idx[p]]
        cost[p] = d * d / (2 * SIGMA_ILD_DB ** 2) - KAPPA_IPD * (
            u_re[:s_count] * model.phasor_re.T[idx[p]] + u_im[:s_count] * model.phasor_im.T[idx[p]])
    post = np.exp(-(cost - cost.min(axis=0, keepdims=True)))
    post /= post.sum(axis=0, keepdims=True)
    # One bin's level and phase difference is a noisy reading: pool each share with its
    # neighbours (3 steps x 3 bins) so the mask does not flicker into musical noise.
    post = uniform_filter(post, size=(1, 3, 3), mode="nearest")
    band = np.nonzero(model.sel)[0]
    n_edge = max(1, band.size // 6)
    e = (energy[:s_count] + 1e-20)[None]
    masks = np.empty((p_count, s_count, st.p_l.shape[1]))
    below = np.arange(st.p_l.shape[1]) < band[0]
    for edge, bins in ((slice(0, n_edge), below & ~model.sel), (slice(-n_edge, None),
                                                                  ~below & ~model.sel)):
        share = (post[:, :, edge] * e[:, :, edge]).sum(axis=2) / e[:, :, edge].sum(axis=2)
        masks[:, :, bins] = share[:, :, None]
    masks[:, :, model.sel] = post
    return np.maximum(masks, MASK_FLOOR).astype(np.float32)


def _steered(spec: np.ndarray, az_steps: np.ndarray, grid: AnalysisGrid,
             binaural: bool, *, null_others: bool = True) -> np.ndarray:
    """The beamformed, equalized mono STFT ``(T, F)`` (steps 1 and 2 of the module
    docstring); ``T`` is ``STEP_FRAMES`` times the number of steps in ``az_steps``.
    ``null_others``: other sources are heard (else delay-and-sum, see the module docstring)."""
    if not binaural:
        return 0.5 * (spec[0] + spec[1])
    steer, eq, das = _steering_table(grid)
    n_steps = az_steps.size
    k = np.clip(np.round((az_steps + 90.0) / STEER_STEP_DEG).astype(int), 0, len(eq) - 1)
    if not null_others:
        weights = np.repeat(das[k], STEP_FRAMES, axis=0)[:spec.shape[1]]  # (T, 2, F)
        return np.einsum("tef,etf->tf", weights, spec)
    x = spec[:, :n_steps * STEP_FRAMES].reshape(2, n_steps, STEP_FRAMES, -1)
    # The ears' covariance per step, averaged over COV_WINDOW_S, loaded on its diagonal.
    size = max(1, int(round(COV_WINDOW_S / grid.step_s)))
    r00 = uniform_filter1d((np.abs(x[0]) ** 2).sum(axis=1).astype(np.float64), size, axis=0,
                           mode="nearest")
    r11 = uniform_filter1d((np.abs(x[1]) ** 2).sum(axis=1).astype(np.float64), size, axis=0,
                           mode="nearest")
    r01 = (x[0] * np.conj(x[1])).sum(axis=1).astype(np.complex128)
    r01 = (uniform_filter1d(r01.real, size, axis=0, mode="nearest")
           + 1j * uniform_filter1d(r01.imag, size, axis=0, mode="nearest"))
    load = LOADING * 0.5 * (r00 + r11) + 1e-20
    r00, r11 = r00 + load, r11 + load
    # w = R^-1 d / (d^H R^-1 d), with the 2 x 2 inverse written out (its determinant cancels).
    d0, d1 = steer[k, 0], steer[k, 1]  # (S, F) each
    n0 = r11 * d0 - r01 * d1
    n1 = r00 * d1 - np.conj(r01) * d0
    den = np.real(np.conj(d0) * n0 + np.conj(d1) * n1)
    g0 = (np.conj(n0) / den * eq[k])[:, None]  # conj(w) with the EQ, per step: (S, 1, F)
    g1 = (np.conj(n1) / den * eq[k])[:, None]
    y = g0 * x[0] + g1 * x[1]
    return y.reshape(n_steps * STEP_FRAMES, -1).astype(np.complex64)


@functools.lru_cache(maxsize=4)
def _steering_table(grid: AnalysisGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per azimuth (-90..90 in ``STEER_STEP_DEG``): the steering vector ``(A, 2, F)`` (each
    ear's direct-path transfer function divided by the head's smoothed gain, so that its
    mean power over the ears is about one), the limited EQ ``(A, F)`` that undoes that
    gain, and the delay-and-sum weights ``(A, 2, F)`` (each ear's phase undone, the ears
    weighted by their smoothed gains, the EQ applied) for a source heard alone (module
    docstring, steps 1-2)."""
    hrirs = default_hrirs(grid.sample_rate)
    az = np.arange(-90.0, 90.0 + 1e-9, STEER_STEP_DEG)
    filters, delays = hrirs.interpolate(az)  # (A, 2, taps), (A, 2)
    freqs = grid.freqs
    h = np.fft.rfft(filters, n=grid.n_fft, axis=-1)  # filters are shorter than a frame
    h = h * np.exp(-2j * np.pi * freqs * delays[..., None])
    mag = _third_octave_smooth(np.abs(h), freqs)  # (A, 2, F)
    gain = np.sqrt(0.5 * (mag[:, 0] ** 2 + mag[:, 1] ** 2))  # the head's colouring (A, F)
    ref = np.median(gain[:, (freqs >= EQ_LOW_HZ) & (freqs <= 8000.0)], axis=1, keepdims=True)
    eq_db = -20 * np.log10(gain / ref + 1e-12)
    eq_db = np.clip(eq_db, -EQ_LIMIT_DB, EQ_LIMIT_DB)
    low = freqs < EQ_LOW_HZ
    eq_db[:, low] = eq_db[:, [int(np.argmax(~low))]]
    # The beam passes gain * source; the EQ takes the gain out (relative to ref, in limits).
    eq = 10 ** (eq_db / 20)
    steer = h / (gain[:, None, :] + 1e-12)
    ear_weight = mag / (mag.sum(axis=1, keepdims=True) + 1e-12)
    das = np.exp(-1j * np.angle(h)) * ear_weight * eq[:, None, :]
    return steer.astype(np.complex128), eq.astype(np.float64), das.astype(np.complex64)


def _third_octave_smooth(mag: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """RMS of ``mag`` over a third of an octave around each bin (last axis)."""
    power = np.concatenate([np.zeros(mag.shape[:-1] + (1,)), np.cumsum(mag ** 2, axis=-1)],
                           axis=-1)
    df = freqs[1] - freqs[0]
    lo = np.clip(np.floor(freqs * 2 ** (-1 / 6) / df).astype(int), 0, len(freqs) - 1)
    hi = np.clip(np.ceil(freqs * 2 ** (1 / 6) / df).astype(int) + 1, 1, len(freqs))
    hi = np.maximum(hi, lo + 1)
    return np.sqrt((power[..., hi] - power[..., lo]) / (hi - lo))


def _filled(az: np.ndarray, step_s: float) -> np.ndarray:
    """The steering azimuth per step: NaN (unknown direction) takes the source's median
    (all-NaN is straight ahead), then a running median over ``STEER_SMOOTH_S``: the
    tracker's step-to-step jitter would otherwise switch the beam and the mask every 46 ms,
    and that flutter is heard (a car's hum turns into a roar)."""
    az = np.asarray(az, dtype=float)
    good = np.isfinite(az)
    fill = float(np.median(az[good])) if good.any() else 0.0
    az = np.clip(np.where(good, az, fill), -90.0, 90.0)
    size = max(1, int(round(STEER_SMOOTH_S / step_s)) | 1)
    return median_filter(az, size=size, mode="nearest") if az.size > 1 else az


def _gate(active: np.ndarray, step_s: float) -> np.ndarray:
    """Per-step gain: 1 where the source sounds, ``GATE_FLOOR`` in silences of at least
    ``GATE_MIN_GAP_S``, with ``GATE_RAMP_S`` ramps (a gate that flickers with the mask's
    noise would itself be heard: a car's hum chopped into a growl)."""
    on = np.asarray(active, bool).copy()
    min_gap = max(1, int(round(GATE_MIN_GAP_S / step_s)))
    idx = np.flatnonzero(on)
    for a, b in zip(idx[:-1], idx[1:]):
        if 1 < b - a <= min_gap:
            on[a:b] = True
    gain = np.where(on, 1.0, GATE_FLOOR)
    return uniform_filter1d(gain, max(1, int(round(GATE_RAMP_S / step_s))), mode="nearest")


def _loudest_active_span(power: np.ndarray, active: np.ndarray,
                         max_steps: int) -> tuple[int, int] | None:
    """Steps ``[s0, s1)``: the ``max_steps`` window holding the most active energy."""
    if not active.any():
        return None
    e = np.where(active, power, 0.0)
    n = e.size
    if n <= max_steps:
        return 0, n
    c = np.concatenate([[0.0], np.cumsum(e)])
    start = int(np.argmax(c[max_steps:] - c[:-max_steps]))
    return start, start + max_steps


def _overlap_add(frames_spec: np.ndarray, grid: AnalysisGrid) -> np.ndarray:
    """Resynthesis of STFT frames ``(T, F)`` taken one hop apart (periodic Hann windows at
    50 % overlap sum to one, so the plain overlap-add is the inverse)."""
    if frames_spec.shape[0] == 0:
        return np.zeros(0, np.float32)
    frames = np.fft.irfft(frames_spec, grid.n_fft, axis=-1)
    t = frames.shape[0]
    y = np.zeros(t * grid.hop + grid.n_fft)
    for j in range(grid.n_fft // grid.hop):
        seg = frames[:, j * grid.hop:(j + 1) * grid.hop].reshape(-1)
        y[j * grid.hop:j * grid.hop + seg.size] += seg
    return y[:t * grid.hop].astype(np.float32)
