"""How loud each object is at each moment, so the preview can show which thing sounds when.

Two measurements are combined:

* each object's own level per layout frame (``objects[].loudness_db``, written at planning
  time by :func:`attach_loudness` from the measured source tracks): *who* is sounding, at the
  layout's rate (16 frames over a clip by default, so about 0.6 s apart for 10 s);
* the loudness of the whole mix at video rate (``engine.audio.loudness``, 50 values a second):
  *when*, with the timing of each bark or horn.

An object's level at time t is its own level (interpolated between frame centres) plus how
far the mix at t stands above or below the mix's own level averaged over that layout frame:
power shared out in the proportions the source tracks measured. Activity is that level on a
30 dB scale below the loudest object level of the clip (0 = silent, 1 = as loud as it gets).
"""

from __future__ import annotations

import numpy as np

from ..audio.loudness import LoudnessTrack, loudness_track, read_loudness_track
from ..cues.types import Cues
from ..layout import Layout, LayoutObject

__all__ = ["ActivityMeter", "LoudnessTrack", "attach_loudness", "loudness_track", "own_levels",
           "read_loudness_track"]

RANGE_DB = 30.0       # the level range shown, below the clip's loudest object level
LOUDNESS_KEY = "loudness_db"


def attach_loudness(layout: Layout, cues: Cues) -> None:
    """Write each object's measured level per layout frame into ``objects[].loudness_db``.

    An object stands for the source with id ``extra["source_id"]`` when a planner set it, else
    for the source with its own id (the rule-based planner's objects). Objects without a
    measured source, or whose frames do not match the cues', are left as they are.
    """
    sources = {s.id: s for s in cues.sources}
    for obj in layout.objects:
        sid = obj.extra.get("source_id", obj.id)
        src = sources.get(sid) if isinstance(sid, int) else None
        if src is None or len(src.loudness_db) != layout.num_frames:
            continue
        obj.extra[LOUDNESS_KEY] = [None if not np.isfinite(v) else round(float(v), 1)
                                   for v in src.loudness_db]


def own_levels(obj: LayoutObject, num_frames: int) -> np.ndarray | None:
    """The object's per-frame level (dB, NaN where unknown), or None when it has none."""
    raw = obj.extra.get(LOUDNESS_KEY)
    if not isinstance(raw, list) or len(raw) != num_frames:
        return None
    values = np.array([v if isinstance(v, (int, float)) else np.nan for v in raw], np.float64)
    return values if np.isfinite(values).any() else None


class ActivityMeter:
    """Activity in [0, 1] of each object of a layout at any time (see the module docstring)."""

    def __init__(self, layout: Layout, track: LoudnessTrack | None = None):
        self.layout, self.track = layout, track
        n = layout.num_frames
        self._centres = (np.arange(n) + 0.5) * layout.duration_s / n
        self._own = {o.id: own_levels(o, n) for o in layout.objects}
        known = [v[np.isfinite(v)] for v in self._own.values() if v is not None]
        peaks = [float(v.max()) for v in known if v.size]
        if peaks:
            self.peak_db = max(peaks)
        elif track is not None:
            self.peak_db = float(np.percentile(track.db, 99))
        else:
            self.peak_db = None
        if track is not None:
            span = layout.duration_s / n
            self._mix_frames = np.array([track.mean_over(i * span, (i + 1) * span)
                                         for i in range(n)])

    def level_db(self, obj: LayoutObject, t: float) -> float | None:
        own = self._own.get(obj.id)
        if own is not None:
            good = np.isfinite(own)
            level = float(np.interp(t, self._centres[good], own[good]))
            if self.track is not None:
                mix_frame = float(np.interp(t, self._centres, self._mix_frames))
                # Fine timing from the mix, at most +-12 dB around the object's own level.
                level += float(np.clip(self.track.at(t) - mix_frame, -12.0, 12.0))
            return level
        if self.track is not None:
            return self.track.at(t)
        return None

    def activity(self, obj: LayoutObject, t: float) -> float:
        """0 (silent, or nothing known) to 1 (the loudest level of the clip)."""
        level = self.level_db(obj, t)
        if level is None or self.peak_db is None or not np.isfinite(level - self.peak_db):
            return 0.0
        return float(np.clip((level - (self.peak_db - RANGE_DB)) / RANGE_DB, 0.0, 1.0))
