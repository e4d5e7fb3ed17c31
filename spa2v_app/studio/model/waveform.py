"""Waveform envelopes for drawing at any zoom, and a light onset finder for the timeline.

The timeline draws one min/max pair per pixel column. Reducing raw samples every repaint
would cost O(samples); instead the audio is reduced once to min/max per block of
:data:`BLOCK` samples (5 ms at 48 kHz) and columns are made from the blocks. No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

BLOCK = 256


@dataclass
class Waveform:
    """Min/max envelopes ``[shape=(channels, num_blocks)]`` of ``BLOCK``-sample blocks."""

    mins: np.ndarray
    maxs: np.ndarray
    sample_rate: int
    num_samples: int

    @property
    def channels(self) -> int:
        return int(self.mins.shape[0])

    @cached_property
    def peak(self) -> float:
        """The largest absolute sample value over all channels (0 for silence)."""
        return float(max(np.abs(self.mins).max(initial=0.0), np.abs(self.maxs).max(initial=0.0)))

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate

    @classmethod
    def from_samples(cls, samples: np.ndarray, sample_rate: int) -> "Waveform":
        """``samples``: float32 ``(channels, n)``."""
        x = np.atleast_2d(np.asarray(samples, np.float32))
        ch, n = x.shape
        nb = max(1, -(-n // BLOCK))
        padded = np.zeros((ch, nb * BLOCK), np.float32)
        padded[:, :n] = x
        blocks = padded.reshape(ch, nb, BLOCK)
        return cls(blocks.min(axis=2), blocks.max(axis=2), int(sample_rate), n)

    def columns(self, t0: float, t1: float, ncols: int, channel: int
                ) -> tuple[np.ndarray, np.ndarray]:
        """Min and max of ``channel`` for ``ncols`` equal columns spanning ``[t0, t1)`` s.

        Columns past the end of the audio are NaN (drawn as nothing).
        """
        ncols = max(1, int(ncols))
        ch = min(channel, self.channels - 1)
        edges = np.linspace(t0, t1, ncols + 1) * self.sample_rate / BLOCK
        nb = self.mins.shape[1]
        lo = np.clip(np.floor(edges[:-1]).astype(np.int64), 0, nb)
        hi = np.clip(np.maximum(np.ceil(edges[1:]).astype(np.int64), lo + 1), 0, nb)
        valid = lo < nb
        out_min = np.full(ncols, np.nan, np.float32)
        out_max = np.full(ncols, np.nan, np.float32)
        if valid.any():
            # Columns are contiguous, so reduceat over [lo_k, lo_k+1) gives each column's span;
            # slicing the array at the last column's end bounds the final segment.
            starts = lo[valid]
            end = int(hi[valid][-1])
            mins = np.minimum.reduceat(self.mins[ch][:end], starts)
            maxs = np.maximum.reduceat(self.maxs[ch][:end], starts)
            out_min[valid], out_max[valid] = mins, maxs
        return out_min, out_max


def find_onsets(samples: np.ndarray, sample_rate: int, *, hop_s: float = 0.01,
                threshold_db: float = 9.0, min_gap_s: float = 0.12) -> list[float]:
    """Times (s) where the level jumps by ``threshold_db`` within ~30 ms: claps, barks, knocks.

    A stand-in used only when the cue extractor gives no onsets; the spatial cue work may give
    better ones in ``Cues.onsets_s``.
    """
    x = np.atleast_2d(np.asarray(samples, np.float32)).mean(axis=0)
    hop = max(1, int(hop_s * sample_rate))
    n = len(x) // hop
    if n < 4:
        return []
    energy = np.mean(x[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1)
    level = 10 * np.log10(energy + 1e-10)
    floor = np.max(level) - 50.0
    rise = level[3:] - np.minimum.reduce([level[:-3], level[1:-2], level[2:-1]])
    onsets: list[float] = []
    for i in np.flatnonzero((rise > threshold_db) & (level[3:] > floor)):
        t = (i + 3) * hop / sample_rate
        if not onsets or t - onsets[-1] >= min_gap_s:
            onsets.append(round(float(t), 4))
    return onsets
