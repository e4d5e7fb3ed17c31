"""The spatial guard: a language model may add, name, size and describe objects, but where the
cues are confident it may not move a source to another place or give it another motion.

Objects carry the measured source they stand for (``extra["source_id"]``). For each source the
guard compares the mean x-centre of its objects, frame by frame, with the x its measured
azimuth maps to (docs/layout-format.md: ``x = 0.5 + az / 180``) wherever the direction's confidence is high,
and shifts the group sideways just enough to come within ``tolerance``. Several objects for one
source (a crowd) move together, so their spread survives. A confident motion label overrides
the model's, and a clearly located, long-heard source the reply left out is put back from the
rule-based layout.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from ..cues.types import Cues, SourceTrack
from ..layout import MAX_OBJECTS, Box, Layout, LayoutObject
from ..layout.screen import x_from_azimuth

MIN_CONFIDENCE = 0.6
MIN_MOTION_CONFIDENCE = 0.6
TOLERANCE = 0.12          # of the frame width: 0.12 = about 22 degrees of azimuth
MIN_HEARD_FRACTION = 0.3  # a source heard for less of the clip may be left out of the picture
_LATERAL = ("left_to_right", "right_to_left")


def apply_spatial_guard(layout: Layout, cues: Cues, *,
                        fallback: Callable[[], Layout] | None = None,
                        min_confidence: float = MIN_CONFIDENCE,
                        min_motion_confidence: float = MIN_MOTION_CONFIDENCE,
                        tolerance: float = TOLERANCE) -> tuple[Layout, list[str]]:
    """Make ``layout`` agree with the confident cues; returns a corrected copy and notes.

    Parameters
    ----------
    layout : a planned layout whose objects may carry ``extra["source_id"]``.
    cues : the measured cues (per-frame arrays of shape ``(num_frames,)``).
    fallback : makes the rule-based layout, whose object ``id`` is the source id; used to put
        back a confidently located source the layout left out.
    min_confidence : direction confidence from which a frame's azimuth is binding.
    min_motion_confidence : motion confidence from which the measured motion is binding.
    tolerance : how far (fraction of the width) an object group may sit from the measured x.
    """
    if layout.num_frames != cues.num_frames:
        raise ValueError(f"layout has {layout.num_frames} frames but the cues have "
                         f"{cues.num_frames}")
    out = copy.deepcopy(layout)
    notes: list[str] = []
    sources = {s.id: s for s in cues.sources}
    _link_by_label(out, sources, notes)
    for sid, src in sources.items():
        group = [o for o in out.objects if o.extra.get("source_id") == sid]
        if not group:
            continue
        if not cues.mono:
            _hold_direction(group, src, min_confidence, tolerance, notes)
        if src.motion_confidence >= min_motion_confidence:
            for o in group:
                if o.motion != src.motion:
                    notes.append(f"set the motion of '{o.label}' to {src.motion} (measured "
                                 f"for S{sid}; the reply said {o.motion})")
                    o.motion = src.motion
    if not cues.mono and fallback is not None:
        _restore_missing(out, sources, fallback, min_confidence, notes)
    out.validate()
    return out, notes


def _link_by_label(layout: Layout, sources: dict[int, SourceTrack], notes: list[str]) -> None:
    """An object that names a source's sound but claims no source is taken to be that source
    (otherwise leaving ``source`` at 0 would slip past the guard)."""
    linked = {o.extra.get("source_id") for o in layout.objects}
    for o in layout.objects:
        sid = o.extra.get("source_id")
        if sid is not None and sid not in sources:
            o.extra["source_id"] = sid = None
        if sid is not None:
            continue
        for s in sources.values():
            words = {t.label.lower() for t in s.tags[:3]}
            if s.id not in linked and o.label.lower() in words:
                o.extra["source_id"] = s.id
                linked.add(s.id)
                notes.append(f"took '{o.label}' to be source S{s.id}")
                break


def confident_x(src: SourceTrack, min_confidence: float) -> np.ndarray:
    """Per frame, the x-centre the measured azimuth maps to where it is confident, else NaN."""
    az = np.asarray(src.azimuth_deg, float)
    ok = (np.asarray(src.active, bool) & np.isfinite(az)
          & (np.nan_to_num(np.asarray(src.confidence, float)) >= min_confidence))
    return np.where(ok, x_from_azimuth(np.nan_to_num(az)), np.nan)


def _hold_direction(group: list[LayoutObject], src: SourceTrack, min_confidence: float,
                    tolerance: float, notes: list[str]) -> None:
    expected = confident_x(src, min_confidence)
    moved = 0
    for i, xe in enumerate(expected):
        boxes = [o.boxes[i] for o in group if o.boxes[i] is not None]
        if not np.isfinite(xe) or not boxes:
            continue
        mean_x = float(np.mean([0.5 * (b[0] + b[2]) for b in boxes]))
        off = mean_x - xe
        if abs(off) <= tolerance:
            continue
        # Shift just to the edge of the tolerance: a continuous correction, no jumps.
        delta = -(off - np.sign(off) * tolerance)
        for o in group:
            if o.boxes[i] is not None:
                o.boxes[i] = _shift(o.boxes[i], delta)
        moved += 1
    if moved:
        labels = ", ".join(sorted({f"'{o.label}'" for o in group}))
        where = (f"along the path S{src.id} was heard on" if src.motion in _LATERAL else
                 f"to where S{src.id} was heard (azimuth {src.mean_azimuth():+.0f} deg)")
        notes.append(f"moved {labels} in {moved} of {len(expected)} frames {where}")


def _shift(b: Box, dx: float) -> Box:
    x0, y0, x1, y1 = b
    dx = float(np.clip(dx, -x0, 1.0 - x1))  # slide, never shrink, to stay inside the frame
    return (x0 + dx, y0, x1 + dx, y1)


def _restore_missing(layout: Layout, sources: dict[int, SourceTrack],
                     fallback: Callable[[], Layout], min_confidence: float,
                     notes: list[str]) -> None:
    linked = {o.extra.get("source_id") for o in layout.objects}
    missing = []
    for sid, s in sources.items():
        active = np.asarray(s.active, bool)
        if sid in linked or active.mean() < MIN_HEARD_FRACTION:
            continue
        conf = np.nan_to_num(np.asarray(s.confidence, float))[active]
        if conf.size and conf.mean() >= min_confidence:
            missing.append(sid)
    if not missing:
        return
    rule_based = fallback()
    for sid in missing:
        if len(layout.objects) >= MAX_OBJECTS:
            notes.append(f"could not put back S{sid}: the layout already has "
                         f"{MAX_OBJECTS} objects")
            continue
        try:
            obj = copy.deepcopy(rule_based.object(sid))
        except KeyError:
            continue
        obj.id = max((o.id for o in layout.objects), default=0) + 1
        obj.extra["source_id"] = sid
        layout.objects.append(obj)
        notes.append(f"put back '{obj.label}' (S{sid}): the reply left out a clearly "
                     "located source")
