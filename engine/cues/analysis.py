"""The first pass over a stereo recording: per-step cues for the whole mix, in bounded memory.

Audio is analysed in chunks of :data:`CHUNK_S` seconds with :data:`MARGIN_S` of context on
each side (so smoothing and tracking near chunk edges see what they would see in one piece);
only compact per-step and per-block summaries are kept, so hours of audio fit in memory
(recordings of a few minutes also keep their step spectra, :data:`SPECTRA_CACHE_BYTES`, so
the per-source second pass need not compute them again):

- per step (46 ms): the tracked azimuth of the dominant source, its spread and confidence,
  power, coherence, high-frequency balance, centroid, ITD and mean ILD;
- per step, the DUET-style histograms of per-bin directions (bin weights and coherent
  energy, 2 degree grid; :mod:`engine.cues.binmodel`), and the steered GCC-PHAT of the
  band below 500 Hz (where a source with little energy higher up is still heard);
- per block (5 steps, 0.23 s): the pitch shift against the previous block, and the
  interaural covariance of a few dozen bins (for the two-source fit of
  :mod:`engine.cues.pairfit`);
- onset times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..jobs import CancelToken, Job, Progress
from . import spectral
from .calibration import CueCalibration
from .pairfit import BIN_STRIDE, step_covariances
from .binmodel import MSC_FLOOR, ROOM_MSC_FLOOR, BinModel, bin_histograms
from .blocks import BLOCK_STEPS, blocks as _blocks
from .diffuse import band_diffuse_coherence, wetness
from .frames import activity_mask, rough_activity
from .spatial import (STEP_FRAMES, AnalysisGrid, StepSpectra, frame_powers, spatial_steps,
                      steered_gcc, step_spectra, stft)
from .separation import PAIR_MAX_WET
from .tracking import AzimuthTrack, track_azimuth

CHUNK_S = 30.0
MARGIN_S = 3.0
# Recordings whose per-chunk step spectra fit in this much memory keep them for the
# per-source second pass (about 10 minutes at 44.1 kHz); longer ones compute them again.
SPECTRA_CACHE_BYTES = 256 * 2 ** 20
SMOOTH_STEPS = 7  # cross-spectra averaged over ~0.3 s: reverberation and noise average out
LOW_BAND_HZ = (80.0, 500.0)


def _empty(*shape):
    return field(default_factory=lambda: np.zeros(shape), repr=False)


@dataclass(kw_only=True)
class StepCues:
    """Per-step (``S``) and per-block (``K``) summaries of a whole recording (built with
    keywords: many of the fields are same-shaped arrays). The mix's cues fill every field;
    a separated source's cues (:mod:`engine.cues.multisource`) leave the histogram, GCC and
    pitch fields empty."""

    step_s: float
    azimuth_deg: np.ndarray
    spread_deg: np.ndarray
    confidence: np.ndarray
    power: np.ndarray
    coherence: np.ndarray
    hf_db: np.ndarray
    centroid_hz: np.ndarray
    itd_s: np.ndarray
    ild_db: np.ndarray
    # Per step: the direction histograms of :func:`engine.cues.binmodel.bin_histograms`
    # ``(S, A)`` and the steered GCC-PHAT in two bands ``(S, 2, A)`` on a 2 degree grid.
    step_hist: np.ndarray = _empty(0, 0)
    step_energy: np.ndarray = _empty(0, 0)
    step_gcc: np.ndarray = _empty(0, 0)
    # Per block: the pitch shift against the previous block (semitones) and its quality.
    pitch_shift_st: np.ndarray = _empty(0)
    pitch_quality: np.ndarray = _empty(0)
    onsets_s: list[float] = field(default_factory=list)
    # Per onset (aligned with ``onsets_s``): the direction of the first 4 frames from the
    # onset (:func:`onset_directions`, degrees) and how clear it is (the step confidence).
    onset_az: np.ndarray = _empty(0)
    onset_weight: np.ndarray = _empty(0)
    ild_gain: float = 1.0
    # Per block: interaural covariances ``(K, F, 4)`` of a few bins, and those bins'
    # frequencies (:func:`engine.cues.pairfit.step_covariances`); ``None`` for per-source
    # cues.
    pair_cov: np.ndarray | None = None
    pair_freqs: np.ndarray | None = None
    # Per step: steered GCC-PHAT of the low band (LOW_BAND_HZ) on a 2 degree grid ``(S, A)``
    # and its bin weight ``(S,)``: where a source with little energy above it is heard.
    low_gcc: np.ndarray | None = None
    low_weight: np.ndarray | None = None
    # Per chunk of :func:`chunk_spans`: the raw and 3-step smoothed step spectra and the
    # step power spectrum, when the recording is short enough to keep them
    # (SPECTRA_CACHE_BYTES) for the second pass; ``None`` otherwise or once it is done.
    chunk_spectra: list | None = field(default=None, repr=False)
    # Per step: power below LOW_BAND_HZ[1] and in 1-8 kHz ``(S, 2)``: whether the low band
    # rises and falls with the rest (one source) or on its own.
    band_power: np.ndarray | None = None
    # Per step: the mix's track (and its spread) weighted by every step that holds the sound
    # (:func:`engine.cues.frames.activity_mask`) instead of the rough floor the counting
    # stages' track uses; the one source's track when only one is heard (the same arrays as
    # ``azimuth_deg`` where the two weights agree). ``None`` for a separated source's cues.
    sounding_azimuth_deg: np.ndarray | None = None
    sounding_spread_deg: np.ndarray | None = None

    @property
    def times_s(self) -> np.ndarray:
        return (np.arange(len(self.power)) + 0.5) * self.step_s

    @property
    def block_s(self) -> float:
        return self.step_s * BLOCK_STEPS


def smooth_spectra(st: StepSpectra, steps: int) -> StepSpectra:
    """Centred moving average of the step spectra over ``steps`` steps."""
    if steps <= 1 or st.p_l.shape[0] < 2:
        return st
    # The cross-spectrum's real and imaginary parts, seen as the interleaved columns of one
    # float32 array, are averaged like the powers.
    ri = np.ascontiguousarray(st.s_lr, np.complex64).view(np.float32)
    s_lr = _moving_mean(ri, steps).view(np.complex64)
    return StepSpectra(s_lr, _moving_mean(st.p_l, steps), _moving_mean(st.p_r, steps))


def _moving_mean(a: np.ndarray, k: int) -> np.ndarray:
    """Centred mean over ``k`` rows (axis 0) with the end rows repeated beyond the ends (as
    ``scipy.ndimage.uniform_filter1d(..., mode="nearest")``), float32. Summed as ``k``
    shifted copies of whole rows: no running sum, so a sum of powers cannot go negative,
    and 4-5 times faster than the filter, which walks down each column on its own."""
    a = np.asarray(a, np.float32)
    n = a.shape[0]
    left, right = k // 2, k - 1 - k // 2
    pad = np.concatenate([np.repeat(a[:1], left, axis=0), a, np.repeat(a[-1:], right, axis=0)])
    out = pad[:n] + pad[1:n + 1]  # k >= 2 (smooth_spectra passes shorter windows through)
    for i in range(2, k):
        out += pad[i:i + n]
    out *= np.float32(1.0 / k)
    return out


def chunk_spans(n: int, sr: int, grid: AnalysisGrid) -> list[tuple[int, int, int, int]]:
    """``(read_start, core_start, core_end, read_end)`` sample spans, aligned to whole blocks."""
    block = STEP_FRAMES * BLOCK_STEPS * grid.hop
    core = max(block, int(CHUNK_S * sr) // block * block)
    margin = int(MARGIN_S * sr) // block * block
    if n <= core + 2 * margin:
        return [(0, 0, n, n)]
    spans = []
    for start in range(0, n, core):
        end = min(n, start + core)
        spans.append((max(0, start - margin), start, end, min(n, end + margin)))
    return spans


def analyse_mix_job(stereo: np.ndarray, sample_rate: int, cal: CueCalibration, model: BinModel,
                    *, token: CancelToken | None = None,
                    report: Callable[[float, str], Progress] | None = None) -> Job[StepCues]:
    """Analyse ``stereo`` ``(2, n)`` chunk by chunk (see module docstring); yields progress."""
    grid = AnalysisGrid.for_rate(sample_rate)
    n = stereo.shape[1]
    step_len = STEP_FRAMES * grid.hop
    parts: dict[str, list] = {k: [] for k in (
        "az", "spread", "conf", "power", "coh", "hf", "cent", "itd", "ild", "hist", "energy",
        "gcc", "logspec", "pcov", "low_gcc", "low_w", "bands", "az_all", "spread_all")}
    onsets: list[float] = []
    onset_dirs: list[np.ndarray] = []
    gains: list[float] = []
    low_bins = (grid.freqs >= LOW_BAND_HZ[0]) & (grid.freqs <= LOW_BAND_HZ[1])
    high_bins = (grid.freqs >= 1000.0) & (grid.freqs <= 8000.0)
    spans = chunk_spans(n, sample_rate, grid)
    incoherent_room = band_diffuse_coherence(cal) ** 2 < MSC_FLOOR
    # raw (complex64 + 2 float32), smoothed (the same) and power (float32) per step and bin
    keep = (sum(r1 - r0 for r0, _, _, r1 in spans) // step_len + len(spans)) * \
        len(grid.freqs) * 36 <= SPECTRA_CACHE_BYTES
    kept: list | None = [] if keep else None
    for ci, (r0, c0, c1, r1) in enumerate(spans):
        if token is not None:
            token.raise_if_cancelled()
        x = stereo[:, r0:r1]
        spec = stft(x, grid)
        frame_power = frame_powers(spec)  # the steps and the onsets read the same powers
        raw = step_spectra(spec, frame_power)
        st = smooth_spectra(raw, SMOOTH_STEPS)
        ss = spatial_steps(st, grid, cal)
        active = rough_activity(ss.power)
        # The rough floor (6 dB over the chunk's 10th percentile) is the source itself when
        # it never stops: a pass-by's quieter ends then weigh nothing and the track holds
        # still there. Counting keeps that track (heard with every step, a steady sound
        # beside an intermittent one hides the second: docs/hearing.md, "the track through
        # a whole sweep"); a single source is placed by the track that hears it throughout.
        sounding = activity_mask(ss.power, step_s=grid.step_s).astype(float)
        track, whole = _mix_tracks(ss, active, sounding, cal, grid.step_s)
        pspec = spectral.step_power_spectrum(raw.p_l, raw.p_r)
        sm3 = smooth_spectra(raw, 3)
        if kept is not None:
            kept.append((raw, sm3, pspec))
        a, b = (c0 - r0) // step_len, (c1 - r0 + step_len - 1) // step_len
        b = min(b, len(ss.power))
        w = ss.band_weight[a:b]
        parts["az"].append(track.azimuth_deg[a:b])
        parts["spread"].append(track.spread_deg[a:b])
        parts["az_all"].append(whole.azimuth_deg[a:b])
        parts["spread_all"].append(whole.spread_deg[a:b])
        parts["conf"].append(ss.confidence[a:b])
        parts["power"].append(spectral.power_to_ms(pspec[a:b], grid))
        parts["coh"].append(ss.coherence[a:b])
        parts["hf"].append(spectral.hf_balance_db(pspec[a:b], grid))
        parts["cent"].append(spectral.centroid_hz(pspec[a:b], grid))
        parts["itd"].append(ss.itd_s[a:b])
        parts["ild"].append(np.sum(ss.ild_db[a:b] * w, axis=1) / (w.sum(axis=1) + 1e-9))
        # A reverberant chunk (as separation reads a recording, engine.cues.diffuse.wetness)
        # counts only the bins its direct sound dominates (binmodel.ROOM_MSC_FLOOR), where
        # the room is incoherent at this pair (its own MSC below the ordinary floor; not a
        # coincident pair's room, which reads MSC 0.5 everywhere).
        room = (incoherent_room and wetness(ss.coherence, active > 0, cal) > PAIR_MAX_WET)
        counts, energies = bin_histograms(sm3, grid, model, ild_gain=ss.ild_gain,
                                          msc_floor=ROOM_MSC_FLOOR if room else MSC_FLOOR)
        low, low_w = steered_gcc(sm3, sm3.msc, grid, cal.itd_band_s(0), band_hz=LOW_BAND_HZ,
                                 return_weight=True)
        parts["low_gcc"].append(low[a:b, ::2].astype(np.float16))  # 2 degree grid
        parts["low_w"].append(low_w[a:b, 0])
        total = raw.p_l[a:b] + raw.p_r[a:b]
        parts["bands"].append(np.stack([total[:, low_bins].sum(axis=1),
                                        total[:, high_bins].sum(axis=1)], axis=1))
        parts["pcov"].append(_blocks(step_covariances(raw.p_l[a:b], raw.p_r[a:b],
                                                      raw.s_lr[a:b], model)))
        parts["hist"].append(counts[a:b])
        parts["energy"].append(energies[a:b])
        parts["gcc"].append(ss.gcc_bands[a:b, :, ::2].astype(np.float16))  # 2 degree grid
        gains.append(ss.ild_gain)
        parts["logspec"].append(
            _blocks(np.log(spectral.log_frequency_power(pspec[a:b], grid) + 1e-12), mean=True))
        flux = spectral.spectral_flux(frame_power)
        frame_s = grid.hop / sample_rate
        here = [f for f in spectral.pick_onsets(flux, frame_s)
                if c0 / sample_rate <= (r0 + f * grid.hop) / sample_rate < c1 / sample_rate]
        onsets.extend(round(float((r0 + f * grid.hop) / sample_rate), 4) for f in here)
        onset_dirs.append(onset_directions(spec, np.asarray(here, int), grid, cal, ss.ild_gain))
        if report is not None:
            yield report((ci + 1) / len(spans), f"chunk {ci + 1}/{len(spans)}")
    cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    shift, quality = _pitch_shifts(cat["logspec"])
    return StepCues(step_s=grid.step_s, azimuth_deg=cat["az"], spread_deg=cat["spread"],
                    confidence=cat["conf"], power=cat["power"], coherence=cat["coh"],
                    hf_db=cat["hf"], centroid_hz=cat["cent"], itd_s=cat["itd"],
                    ild_db=cat["ild"], step_hist=cat["hist"], step_energy=cat["energy"],
                    step_gcc=cat["gcc"], pitch_shift_st=shift, pitch_quality=quality,
                    onsets_s=onsets, onset_az=_cat(onset_dirs, 0), onset_weight=_cat(onset_dirs, 1),
                    ild_gain=float(np.median(gains)) if gains else 1.0,
                    pair_cov=cat["pcov"], low_gcc=cat["low_gcc"], low_weight=cat["low_w"],
                    band_power=cat["bands"], chunk_spectra=kept,
                    pair_freqs=grid.freqs[model.sel][::BIN_STRIDE],
                    sounding_azimuth_deg=cat["az_all"], sounding_spread_deg=cat["spread_all"])


def _mix_tracks(ss, active: np.ndarray, sounding: np.ndarray, cal: CueCalibration,
                step_s: float) -> tuple[AzimuthTrack, AzimuthTrack]:
    """The chunk's track weighted by the rough activity floor and the one weighted by every
    sounding step (the same track where the two agree; else both in one pass over the
    steps). Tracking runs on a 2 degree grid: a quarter of the work; the posterior mean is
    finer."""
    loglik, grid = ss.loglik[:, ::2], cal.azimuth_deg[::2]
    if np.array_equal(sounding > 0, active > 0):
        track = track_azimuth(loglik, ss.confidence * active, grid, step_s=step_s)
        return track, track
    both = track_azimuth(np.stack([loglik, loglik]),
                         np.stack([ss.confidence * active, ss.confidence * sounding]), grid,
                         step_s=step_s)
    return tuple(AzimuthTrack(both.azimuth_deg[k], both.spread_deg[k], both.posterior[k])
                 for k in range(2))


def onset_directions(spec: np.ndarray, frames: np.ndarray, grid: AnalysisGrid,
                     cal: CueCalibration, ild_gain: float) -> np.ndarray:
    """Where each onset came from: ``(2, N)`` azimuth (degrees) and confidence of the first
    :data:`STEP_FRAMES` frames from each onset frame in ``frames``, read without smoothing.

    The precedence effect: when a sound starts, its direct sound reaches the microphones
    before any reflection, and the room's reverberation takes a whole reverberation time
    to build up, so the first tens of milliseconds of an onset say where the sound that
    started is, even where the steady sound is mostly room. A reflection never starts
    anything, so onsets place the sources that are there and no others.
    """
    if frames.size == 0:
        return np.zeros((2, 0))
    idx = np.minimum(frames[:, None] + np.arange(STEP_FRAMES)[None, :], spec.shape[1] - 1)
    xl, xr = spec[0][idx], spec[1][idx]  # (N, STEP_FRAMES, F)
    st = StepSpectra(np.sum(xl * np.conj(xr), axis=1),
                     np.sum(xl.real ** 2 + xl.imag ** 2, axis=1),
                     np.sum(xr.real ** 2 + xr.imag ** 2, axis=1))
    ss = spatial_steps(st, grid, cal, ild_gain=ild_gain)
    return np.stack([cal.azimuth_deg[np.argmax(ss.loglik, axis=1)], ss.confidence])


def _cat(parts: list[np.ndarray], row: int) -> np.ndarray:
    return np.concatenate([p[row] for p in parts]) if parts else np.zeros(0)


def _pitch_shifts(logspec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-block pitch shift (semitones, against the previous block) and match quality."""
    if logspec.shape[0] < 2:
        return np.zeros(logspec.shape[0]), np.zeros(logspec.shape[0])
    drift, quality = spectral.pitch_drift_semitones(logspec)
    shift = np.concatenate([[0.0], np.diff(drift)])
    return shift, np.concatenate([[0.0], quality])
