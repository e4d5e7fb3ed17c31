"""Blocks: runs of :data:`BLOCK_STEPS` analysis steps (5 x 46 ms = 0.23 s at 44.1 kHz).

Several cues are judged per block rather than per step: the two-source covariance fits
(:mod:`engine.cues.pairfit`), the residual-histogram peaks and the low-band paths of
:mod:`engine.cues.separation`, the pitch shift of :mod:`engine.cues.spectral`. A quarter of
a second is long enough to hold hundreds of time-frequency bins and short enough that a
source moving at 40 degrees per second stays within one histogram peak.
"""

from __future__ import annotations

import numpy as np

BLOCK_STEPS = 5


def blocks(a: np.ndarray, mean: bool = False) -> np.ndarray:
    """Sum (or mean) consecutive ``BLOCK_STEPS`` rows of ``a`` ``(S, ...)`` into ``(K, ...)``;
    a partial last block is kept (padded with zeros for sums, its last row for means)."""
    k = -(-a.shape[0] // BLOCK_STEPS)
    pad = k * BLOCK_STEPS - a.shape[0]
    if pad:
        a = np.concatenate([a, np.repeat(a[-1:], pad, axis=0) if mean else
                            np.zeros((pad,) + a.shape[1:], a.dtype)])
    out = a.reshape(k, BLOCK_STEPS, *a.shape[1:])
    return out.mean(axis=1) if mean else out.sum(axis=1)
