"""The two peers the benchmark prints beside the product, both planned by the same rule-based
planner so that only the hearing differs:

- :func:`centre_cues`: one static source in the centre of the frame, which is all a planner
  that hears in mono (every audio LLM, Gemini included) can place; it may still be named.
- :func:`plain_cues`: a plain binaural baseline with no calibration and no tracking: per
  video frame, broadband GCC-PHAT on the frame's samples mapped to azimuth with Woodworth's
  spherical head, the broadband level difference mapped linearly (20 dB = 90 degrees), fused
  0.7 / 0.3; one source; motion from straight-line trends of x and loudness.
"""

from __future__ import annotations

import numpy as np

from ..audio.io import Audio
from ..cues.types import Cues, SourceTrack, Tag
from ..layout.screen import x_from_azimuth
from ..acoustics import SPEED_OF_SOUND

HEAD_RADIUS_M = 0.0875
MAX_ITD_S = HEAD_RADIUS_M / SPEED_OF_SOUND * (np.pi / 2 + 1)


def _frame_levels(audio: Audio, num_frames: int) -> np.ndarray:
    x = audio.samples
    edges = np.linspace(0, x.shape[-1], num_frames + 1).astype(int)
    out = np.full(num_frames, -120.0)
    for i in range(num_frames):
        seg = x[:, edges[i]:edges[i + 1]]
        if seg.shape[-1]:
            out[i] = 20 * np.log10(max(float(np.sqrt(np.mean(seg.astype(float) ** 2))), 1e-6))
    return out


def centre_cues(audio: Audio, *, num_frames: int, tags: list[Tag] | None = None) -> Cues:
    """A centred, static, always-present source (see module docstring)."""
    loud = _frame_levels(audio, num_frames)
    src = SourceTrack(id=1, azimuth_deg=np.zeros(num_frames), confidence=np.full(num_frames, 0.5),
                      loudness_db=loud, active=np.ones(num_frames, bool),
                      proximity=np.full(num_frames, 0.5), motion="static",
                      motion_confidence=0.5, tags=list(tags or []))
    return Cues(audio.duration_s, num_frames, audio.sample_rate, audio.is_mono, loud,
                np.zeros(num_frames), sources=[src], tags=list(tags or []),
                extractor="peer/centre")


def plain_cues(audio: Audio, *, num_frames: int, tags: list[Tag] | None = None) -> Cues:
    """Uncalibrated, untracked GCC-PHAT + ILD (see module docstring)."""
    x = audio.stereo()
    sr = audio.sample_rate
    edges = np.linspace(0, x.shape[-1], num_frames + 1).astype(int)
    az = np.zeros(num_frames)
    conf = np.zeros(num_frames)
    loud = _frame_levels(audio, num_frames)
    for i in range(num_frames):
        seg = x[:, edges[i]:edges[i + 1]].astype(float)
        if seg.shape[-1] < 64:
            continue
        itd, coherence = _gcc_phat(seg[0], seg[1], sr)
        ild = 10 * np.log10((np.mean(seg[1] ** 2) + 1e-12) / (np.mean(seg[0] ** 2) + 1e-12))
        az[i] = 0.7 * _woodworth_azimuth(itd) + 0.3 * float(np.clip(ild / 20.0, -1, 1) * 90.0)
        conf[i] = coherence
    active = (loud >= loud.max() - 30.0) & (loud > -75.0)
    peak = loud[active].max() if active.any() else 0.0
    prox = np.where(active, np.clip(10 ** ((loud - peak) / 20.0), 0, 1), 0.0)
    src = SourceTrack(id=1, azimuth_deg=az, confidence=np.where(active, conf, 0.0),
                      loudness_db=loud, active=active, proximity=prox, tags=list(tags or []))
    src.motion, src.motion_confidence = _trend_motion(src)
    return Cues(audio.duration_s, num_frames, sr, audio.is_mono, loud, np.zeros(num_frames),
                sources=[src], tags=list(tags or []), extractor="peer/plain")


def _gcc_phat(left: np.ndarray, right: np.ndarray, sr: int) -> tuple[float, float]:
    """ITD (s, > 0 when the right ear leads: source on the right) and PHAT peak height."""
    nfft = 1 << int(np.ceil(np.log2(2 * len(left))))
    cross = np.fft.rfft(left, nfft) * np.conj(np.fft.rfft(right, nfft))
    cross /= np.abs(cross) + 1e-12
    cc = np.fft.irfft(cross, nfft)
    max_lag = int(np.ceil(MAX_ITD_S * sr))
    cc = np.concatenate([cc[-max_lag:], cc[:max_lag + 1]])
    k = int(np.argmax(cc))
    lag = float(k - max_lag)
    if 0 < k < len(cc) - 1:
        a, b, c = cc[k - 1], cc[k], cc[k + 1]
        if a - 2 * b + c != 0:
            lag += 0.5 * (a - c) / (a - 2 * b + c)
    # cc peaks at the lag by which the left channel trails the right.
    return lag / sr, float(np.clip(cc[k], 0.0, 1.0))


def _woodworth_azimuth(itd_s: float) -> float:
    target = float(np.clip(itd_s, -MAX_ITD_S, MAX_ITD_S)) * SPEED_OF_SOUND / HEAD_RADIUS_M
    grid = np.linspace(-np.pi / 2, np.pi / 2, 721)
    return float(np.degrees(np.interp(target, grid + np.sin(grid), grid)))


def _trend_motion(src: SourceTrack) -> tuple[str, float]:
    idx = np.flatnonzero(src.active)
    if len(idx) >= 3:
        t = idx / max(1, len(src.active) - 1)
        x = x_from_azimuth(src.azimuth_deg[idx])
        slope = np.polyfit(t, x, 1, w=src.confidence[idx] + 1e-3)[0]
        if abs(slope) >= 0.2:
            return ("left_to_right" if slope > 0 else "right_to_left"), float(min(1, abs(slope)))
        slope_db = np.polyfit(t, src.loudness_db[idx], 1)[0]
        if abs(slope_db) >= 6.0:
            return ("approaching" if slope_db > 0 else "receding"), float(min(1, abs(slope_db) / 20))
    return "static", 0.5
