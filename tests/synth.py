"""Synthetic test signals with a known answer (seeded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

HEAD_RADIUS_M = 0.0875
C = 343.0


def panned_noise(azimuth_deg, *, duration_s: float = 2.0, sr: int = 44100, seed: int = 0,
                 level: float = 0.1) -> np.ndarray:
    """White noise placed at ``azimuth_deg`` (scalar, or (start, end) for a linear sweep) with a
    spherical-head time difference and a level difference. Returns float32 (2, n); +az = right."""
    n = int(duration_s * sr)
    rng = np.random.default_rng(seed)
    src = rng.standard_normal(n) * level
    if np.ndim(azimuth_deg) == 0:
        az = np.full(n, float(azimuth_deg))
    else:
        az = np.linspace(azimuth_deg[0], azimuth_deg[1], n)
    rad = np.radians(az)
    itd = HEAD_RADIUS_M / C * (rad + np.sin(rad))  # > 0: source on the right, left ear late
    t = np.arange(n) / sr
    left = np.interp(t - np.clip(itd, 0, None), t, src)
    right = np.interp(t - np.clip(-itd, 0, None), t, src)
    gain = 10 ** (az / 90 * 6 / 20)
    return np.stack([left / np.sqrt(gain), right * np.sqrt(gain)]).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, sr: int = 44100, subtype: str = "FLOAT") -> Path:
    sf.write(str(path), np.asarray(samples).T, sr, subtype=subtype)
    return path
