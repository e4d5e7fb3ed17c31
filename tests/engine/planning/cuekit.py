"""Cues with a known answer, built directly (no audio): sources at chosen azimuths."""

from __future__ import annotations

import numpy as np

from engine.cues.types import Cues, SourceTrack, Tag


def track(sid: int, az, *, n: int = 16, conf: float = 0.9, label: str | None = "dog",
          motion: str = "static", motion_confidence: float = 0.9, active=None,
          loudness=(-20.0, -20.0), proximity=(0.5, 0.5)) -> SourceTrack:
    """``az`` is a constant or ``(start, end)`` swept linearly over the frames."""
    azs = np.full(n, float(az)) if np.ndim(az) == 0 else np.linspace(az[0], az[1], n)
    act = np.ones(n, bool) if active is None else np.asarray(active, bool)
    return SourceTrack(
        id=sid, azimuth_deg=np.where(act, azs, np.nan), confidence=np.where(act, conf, 0.0),
        loudness_db=np.linspace(*loudness, n), active=act,
        proximity=np.linspace(*proximity, n), motion=motion,
        motion_confidence=motion_confidence,
        tags=[Tag(label, 0.8, label.title())] if label else [])


def cues(*sources: SourceTrack, duration_s: float = 10.0, mono: bool = False) -> Cues:
    n = len(sources[0].azimuth_deg) if sources else 16
    return Cues(duration_s=duration_s, num_frames=n, sample_rate=44100, mono=mono,
                loudness_db=np.full(n, -20.0), centroid_hz=np.full(n, 1000.0),
                sources=list(sources))


def dog_and_car(n: int = 16, duration_s: float = 10.0) -> Cues:
    """The benchmark scene: a dog static on the left, a car passing right to left."""
    return cues(track(1, -45, n=n, label="dog"),
                track(2, (70, -70), n=n, label="car", motion="right_to_left",
                      loudness=(-30, -18), proximity=(0.3, 1.0)),
                duration_s=duration_s)
