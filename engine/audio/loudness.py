"""The loudness of a whole mix over time, at video rate (the preview's rings keep its timing)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

TRACK_RATE = 50.0     # mix loudness values per second (20 ms hops)
MAX_TRACK_S = 3600.0  # longer files are not read again at render time


@dataclass(frozen=True)
class LoudnessTrack:
    """Loudness of the whole mix: ``db`` ``(n,)`` in dBFS at ``rate`` values per second."""

    db: np.ndarray
    rate: float

    def at(self, t: float) -> float:
        i = int(np.clip(t * self.rate, 0, len(self.db) - 1))
        return float(self.db[i])

    def mean_over(self, t0: float, t1: float) -> float:
        """Level (dB) of the mean power over ``[t0, t1)``."""
        i0 = int(np.clip(t0 * self.rate, 0, len(self.db) - 1))
        i1 = int(np.clip(np.ceil(t1 * self.rate), i0 + 1, len(self.db)))
        return float(10 * np.log10(np.mean(10 ** (self.db[i0:i1] / 10)) + 1e-12))


def loudness_track(samples: np.ndarray, sample_rate: int, *, rate: float = TRACK_RATE
                   ) -> LoudnessTrack:
    """Mix loudness of ``samples`` ``(channels, n)``: RMS of the channel mean over windows of
    two hops (40 ms at the default rate), in dBFS. NaN and inf samples count as silence, as
    the MP4 export mutes them."""
    mono = np.nan_to_num(np.asarray(samples, np.float32).mean(axis=0), nan=0.0, posinf=0.0,
                         neginf=0.0)
    hop = max(1, int(round(sample_rate / rate)))
    count = max(1, int(np.ceil(len(mono) / hop)))
    padded = np.zeros((count + 1) * hop, np.float32)
    padded[:len(mono)] = mono
    power = (padded.reshape(-1, hop) ** 2).mean(axis=1)
    power = 0.5 * (power[:-1] + power[1:])
    return LoudnessTrack(10 * np.log10(power + 1e-10), sample_rate / hop)


def read_loudness_track(audio_path: str | os.PathLike) -> LoudnessTrack | None:
    """The mix loudness of an audio file, or None when it is too long to read again."""
    from .io import audio_info, load_audio

    if audio_info(audio_path).duration_s > MAX_TRACK_S:
        return None
    audio = load_audio(audio_path, validate=False)
    return loudness_track(audio.samples, audio.sample_rate)
