"""Cue extraction: from stereo audio to per-video-frame spatial and semantic cues.

This first extractor hears one source: per video frame it estimates the interaural time
difference (GCC-PHAT) and level difference, maps them to azimuth with a spherical-head model,
and measures loudness, spectral centroid and activity. The spatial-hearing work replaces it
with calibrated, tracked, multi-source cues behind the same signature.
"""

from __future__ import annotations

import numpy as np

from ..audio.io import Audio
from ..jobs import CancelToken
from ..protocols import Tagger
from .types import Cues, SourceTrack

SPEED_OF_SOUND = 343.0
HEAD_RADIUS_M = 0.0875
MAX_ITD_S = HEAD_RADIUS_M / SPEED_OF_SOUND * (np.pi / 2 + 1)  # Woodworth at 90 degrees


def extract_cues(audio: Audio, *, num_frames: int, tagger: Tagger | None = None,
                 token: CancelToken | None = None, max_sources: int = 3) -> Cues:
    """Measure cues once per video frame.

    Parameters
    ----------
    audio : Audio with samples ``[shape=(1 or 2, n)]``.
    num_frames : video frames; frame i covers ``[i, i+1) * duration / num_frames``.
    tagger : names what is sounding (optional).
    max_sources : upper bound on separated sources (this extractor finds at most one).
    """
    x = audio.samples
    sr = audio.sample_rate
    n = x.shape[-1]
    edges = np.linspace(0, n, num_frames + 1).astype(int)
    az = np.full(num_frames, np.nan)
    conf = np.zeros(num_frames)
    loud = np.full(num_frames, -120.0)
    centroid = np.zeros(num_frames)
    for i in range(num_frames):
        if token is not None:
            token.raise_if_cancelled()
        seg = x[:, edges[i]:edges[i + 1]]
        if seg.shape[-1] < 64:
            continue
        rms = float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))
        loud[i] = 20 * np.log10(max(rms, 1e-6))
        centroid[i] = _centroid(seg.mean(axis=0), sr)
        if audio.is_mono:
            continue
        itd, coherence = _gcc_phat(seg[0], seg[1], sr)
        ild_db = 10 * np.log10((np.mean(seg[1] ** 2) + 1e-12) / (np.mean(seg[0] ** 2) + 1e-12))
        az_itd = _itd_to_azimuth(itd)
        az_ild = float(np.clip(ild_db / 20.0, -1, 1) * 90.0)
        az[i] = 0.7 * az_itd + 0.3 * az_ild
        conf[i] = coherence
    # Active: within 30 dB of the loudest frame and above a -75 dBFS floor.
    active = (loud >= loud.max() - 30.0) & (loud > -75.0)
    conf = np.where(active, conf, 0.0)
    proximity = _proximity(loud, active)
    notes = list(audio.notes)
    tags = tagger.tag(audio.mono(), sr) if tagger is not None else []
    source = SourceTrack(
        id=1, azimuth_deg=az, confidence=conf, loudness_db=loud, active=active,
        proximity=proximity, tags=list(tags),
    )
    source.motion, source.motion_confidence = _motion(source)
    return Cues(duration_s=audio.duration_s, num_frames=num_frames, sample_rate=sr,
                mono=audio.is_mono, loudness_db=loud, centroid_hz=centroid, onsets_s=[],
                sources=[source], tags=list(tags), notes=notes, extractor="basic")


def _gcc_phat(left: np.ndarray, right: np.ndarray, sr: int) -> tuple[float, float]:
    """Delay of the right ear behind the left (s, > 0 when the source is on the left) and
    the peak height of the PHAT correlation as a 0..1 coherence."""
    nfft = 1 << int(np.ceil(np.log2(2 * len(left))))
    L = np.fft.rfft(left, nfft)
    R = np.fft.rfft(right, nfft)
    cross = L * np.conj(R)
    cross /= np.abs(cross) + 1e-12
    cc = np.fft.irfft(cross, nfft)
    max_lag = int(np.ceil(MAX_ITD_S * sr))
    cc = np.concatenate([cc[-max_lag:], cc[:max_lag + 1]])
    k = int(np.argmax(cc))
    lag = k - max_lag
    if 0 < k < len(cc) - 1:  # parabolic interpolation for sub-sample lag
        a, b, c = cc[k - 1], cc[k], cc[k + 1]
        denom = a - 2 * b + c
        if denom != 0:
            lag += 0.5 * (a - c) / denom
    return -lag / sr, float(np.clip(cc[k], 0.0, 1.0))


def _itd_to_azimuth(itd_s: float) -> float:
    """Invert Woodworth's ITD(az) = r/c (az + sin az); positive ITD (left leads) = left."""
    target = float(np.clip(-itd_s, -MAX_ITD_S, MAX_ITD_S)) * SPEED_OF_SOUND / HEAD_RADIUS_M
    grid = np.linspace(-np.pi / 2, np.pi / 2, 721)
    return float(np.degrees(np.interp(target, grid + np.sin(grid), grid)))


def _centroid(mono: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    freqs = np.fft.rfftfreq(len(mono), 1 / sr)
    return float(np.sum(freqs * spec) / (np.sum(spec) + 1e-12))


def _proximity(loud: np.ndarray, active: np.ndarray) -> np.ndarray:
    if not active.any():
        return np.zeros_like(loud)
    peak = loud[active].max()
    # 6 dB per halving of distance (1/r): map level below the peak to relative nearness.
    return np.where(active, np.clip(10 ** ((loud - peak) / 20.0), 0.0, 1.0), 0.0)


def _motion(src: SourceTrack) -> tuple[str, float]:
    idx = np.flatnonzero(src.active & np.isfinite(src.azimuth_deg))
    if len(idx) >= 3:
        x = 0.5 + np.clip(src.azimuth_deg[idx], -90, 90) / 180.0
        slope, _ = np.polyfit(idx / max(1, len(src.active) - 1), x, 1, w=src.confidence[idx] + 1e-3)
        if abs(slope) >= 0.2:
            return ("left_to_right" if slope > 0 else "right_to_left"), float(min(1.0, abs(slope)))
    idx = np.flatnonzero(src.active)
    if len(idx) >= 3:
        slope_db, _ = np.polyfit(idx / max(1, len(src.active) - 1), src.loudness_db[idx], 1)
        if abs(slope_db) >= 6.0:
            return ("approaching" if slope_db > 0 else "receding"), float(min(1.0, abs(slope_db) / 20))
    return "static", 0.5
