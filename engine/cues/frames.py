"""From analysis steps to video frames: activity, proximity, and per-frame averages."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_closing, binary_opening

MIN_SPLIT_DB = 8.0
FLOOR_DBFS = -80.0


def frame_mean(times_s: np.ndarray, values: np.ndarray, weights: np.ndarray | None,
               duration_s: float, num_frames: int) -> np.ndarray:
    """Weighted mean of per-step ``values`` ``(S,)`` over each video frame ``(num_frames,)``.

    A step belongs to frame ``floor(t * N / duration)``. Frames that hold no step (frames
    shorter than a step) or no weight take the value interpolated at their centre.
    """
    values = np.asarray(values, dtype=float)
    n = int(num_frames)
    if values.size == 0:
        return np.full(n, np.nan)
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=float)
    idx = np.clip((times_s * n / duration_s).astype(int), 0, n - 1)
    good = np.isfinite(values)
    num = np.bincount(idx[good], (w * values)[good], minlength=n)
    den = np.bincount(idx[good], w[good], minlength=n)
    centres = (np.arange(n) + 0.5) * duration_s / n
    fill = np.interp(centres, times_s[good], values[good]) if good.any() else np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-12, num / np.maximum(den, 1e-300), fill)


def activity_mask(power: np.ndarray, *, step_s: float = 0.046) -> np.ndarray:
    """Which steps hold the sound ``(S,)`` bool, from their power.

    The step levels (dB) are split in two by Otsu's method; when the two groups are at least
    :data:`MIN_SPLIT_DB` apart, the quiet group is background (gaps between barks, noise),
    otherwise the sound never stops and every step above -80 dBFS is active. Runs shorter
    than 0.1 s are removed and gaps shorter than 0.15 s filled.
    """
    db = 10 * np.log10(np.asarray(power, dtype=float) + 1e-20)
    audible = db > FLOOR_DBFS
    if audible.sum() < 4:
        return audible
    thr = _otsu(db[audible])
    lo, hi = db[audible & (db < thr)], db[audible & (db >= thr)]
    if lo.size and hi.size and np.median(hi) - np.median(lo) >= MIN_SPLIT_DB:
        active = audible & (db >= thr)
    else:
        active = audible
    k_open = max(1, int(round(0.1 / step_s)))
    k_close = max(1, int(round(0.15 / step_s)))
    active = binary_closing(active, np.ones(k_close, bool), border_value=0) | active
    opened = binary_opening(active, np.ones(k_open, bool))
    return opened if opened.any() else active


def rough_activity(power: np.ndarray) -> np.ndarray:
    """0/1 per step: within 45 dB of the loud steps and 6 dB over the quiet floor (the 10th
    percentile). The steps the counting stages' track hears (``analysis``, per chunk); for a
    sound that never stops the floor is the source itself, so only its loudest steps count
    (see :func:`activity_mask` for the steps that hold a sound)."""
    db = 10 * np.log10(np.asarray(power, dtype=float) + 1e-20)
    hi = np.percentile(db, 95)
    lo = np.percentile(db, 10)
    return ((db > hi - 45) & (db > lo + 6)).astype(float) if hi - lo > 6 else np.ones_like(db)


def presence_mask(power: np.ndarray, *, span_db: float = 35.0) -> np.ndarray:
    """Which steps the source is *there* in ``(S,)`` bool: within ``span_db`` of its loud
    steps (99th percentile) and above -80 dBFS.

    Looser than :func:`activity_mask` on purpose: a receding car 20 dB down, or a dog
    between barks, is still in the scene (its box stays); only steps before it starts or
    after it ends, deep in silence, are absent.
    """
    db = 10 * np.log10(np.asarray(power, dtype=float) + 1e-20)
    if db.size == 0:
        return np.zeros(0, bool)
    return (db > FLOOR_DBFS) & (db > np.percentile(db, 99) - span_db)


MIN_PRESENCE_S = 0.1


def sounding_frames(times_s: np.ndarray, present: np.ndarray, duration_s: float,
                    num_frames: int) -> np.ndarray:
    """Which video frames ``(num_frames,)`` the source sounds in: any part of the frame, so
    a sound that starts late in a frame or stops early in one still has its box there.
    Presence shorter than :data:`MIN_PRESENCE_S` (a click of noise) does not count."""
    present = np.asarray(present, bool)
    if present.size == 0:
        return np.zeros(int(num_frames), bool)
    step_s = float(times_s[1] - times_s[0]) if len(times_s) > 1 else duration_s
    k = max(1, int(round(MIN_PRESENCE_S / step_s)))
    kept = binary_opening(present, np.ones(k, bool)) if present.sum() >= k else present
    kept = kept if kept.any() else present
    return frame_mean(times_s, kept.astype(float), None, duration_s, num_frames) > 0.0


def _otsu(x: np.ndarray) -> float:
    top = float(np.max(x))
    if top - float(np.min(x)) < MIN_SPLIT_DB:
        # One level (a DC offset, a steady tone): no split can be MIN_SPLIT_DB apart, and a
        # spread of a few float steps has no 64 finite bins (numpy refuses to make them).
        return top
    hist, edges = np.histogram(x, bins=64)
    centres = 0.5 * (edges[1:] + edges[:-1])
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(edges[int(np.argmax(between)) + 1])


def proximity_from_level(envelope_db: np.ndarray) -> np.ndarray:
    """Relative nearness in [0, 1] from a level envelope: 1 at the loudest, halving with each
    6 dB down (1/r spreading: distance doubles)."""
    env = np.asarray(envelope_db, dtype=float)
    if env.size == 0 or not np.isfinite(env).any():
        return np.zeros_like(env)
    return np.clip(10 ** ((env - np.nanmax(env)) / 20.0), 0.0, 1.0)
