"""The spatial guard: what was measured is binding, whatever a language model replies.

A model may name, describe and size the sources (within limits) and add context objects
(the scenery: a tree, a road); it may not move a measured source, hide it while it is heard,
or give it another motion. Objects carry the measured source they stand for
(``extra["source_id"]``); for every measured source the guard

1. links it: an object that names the source's sound but claims no source is taken to be
   it; a source no object stands for is put back from the rule-based layout (except sound
   that fills the scene, such as rain or a crowd, which the model may draw as background;
   that is the built-in tagger's word, never a listener's: an audio-language model that
   calls a dog "crowd" cannot make it vanish);
2. shows it in every frame where it is heard: a frame with no box gets the rule-based one;
3. holds it where it was heard: frame by frame, the group's mean x-centre is shifted to
   within ``tolerance`` of the measured x (docs/layout-format.md: ``x = 0.5 + az / 180``; frames with an
   unsure direction take it from the sure ones, as the rule-based planner does). Several
   objects for one source (a crowd) move together, so their spread survives;
4. keeps its size within ``SIZE_LIMITS`` of the rule-based box for the model's own name
   (that class's prior size times the measured proximity), for a source drawn as one object;
5. gives it the measured motion.

Mono input has no direction: x is the model's to choose there, and only a confident motion
(from loudness) binds.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from ..cues.types import Cues, SourceTrack
from ..layout import MAX_OBJECTS, Box, Layout, LayoutObject
from ..layout.screen import x_from_azimuth
from .heard import tagger_label
from .heuristic import boxes_for, plan_layout_from_cues, x_track
from .priors import AMBIENT

MIN_MOTION_CONFIDENCE = 0.6
TOLERANCE = 0.12          # of the frame width: 0.12 = about 22 degrees of azimuth
# A model's box may be a quarter to four times the rule-based one per side: room for a
# train that fills the frame as it arrives, none for a speck or a frame-filling dog.
SIZE_LIMITS = (0.25, 4.0)
_LATERAL = ("left_to_right", "right_to_left")


def apply_spatial_guard(layout: Layout, cues: Cues, *,
                        fallback: Callable[[], Layout] | None = None,
                        min_motion_confidence: float = MIN_MOTION_CONFIDENCE,
                        tolerance: float = TOLERANCE) -> tuple[Layout, list[str]]:
    """Make ``layout`` agree with the measured cues; returns a corrected copy and notes.

    Parameters
    ----------
    layout : a planned layout whose objects may carry ``extra["source_id"]``.
    cues : the measured cues (per-frame arrays of shape ``(num_frames,)``).
    fallback : makes the rule-based layout, whose object ``id`` is the source id (default:
        :func:`engine.planning.heuristic.plan_layout_from_cues` on ``cues``).
    min_motion_confidence : for mono input, the motion confidence from which the measured
        motion binds (stereo motion always binds).
    tolerance : how far (fraction of the width) an object group may sit from the measured x.
    """
    if layout.num_frames != cues.num_frames:
        raise ValueError(f"layout has {layout.num_frames} frames but the cues have "
                         f"{cues.num_frames}")
    made: list[Layout] = []

    def rule_based() -> Layout:
        if not made:
            made.append(fallback() if fallback is not None else plan_layout_from_cues(cues))
        return made[0]

    out = copy.deepcopy(layout)
    notes: list[str] = []
    sources = {s.id: s for s in cues.sources if np.any(s.active)}
    _link_by_label(out, sources, notes)
    _restore_missing(out, sources, rule_based, notes)
    for sid, src in sources.items():
        group = [o for o in out.objects if o.extra.get("source_id") == sid]
        if not group:
            continue
        try:
            reference = rule_based().object(sid)
        except KeyError:
            reference = None
        if reference is not None:
            _show_while_heard(group, src, reference, notes)
        if len(group) == 1:
            _limit_size(group[0], boxes_for(src, group[0].label, cues.mono), notes)
        if not cues.mono:
            _hold_direction(group, src, x_track(src, cues.mono), tolerance, notes)
        if not cues.mono or src.motion_confidence >= min_motion_confidence:
            for o in group:
                if o.motion != src.motion:
                    notes.append(f"set the motion of '{o.label}' to {src.motion} (measured "
                                 f"for S{sid}; the reply said {o.motion})")
                    o.motion = src.motion
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


def _restore_missing(layout: Layout, sources: dict[int, SourceTrack],
                     rule_based: Callable[[], Layout], notes: list[str]) -> None:
    """Every measured source is drawn: one the reply left out comes from the rule-based
    layout. If that would pass ``MAX_OBJECTS``, context objects (no source) make room."""
    linked = {o.extra.get("source_id") for o in layout.objects}
    for sid, src in sources.items():
        if sid in linked or (tagger_label(src) or "") in AMBIENT:
            continue
        try:
            obj = copy.deepcopy(rule_based().object(sid))
        except KeyError:
            continue
        if len(layout.objects) >= MAX_OBJECTS:
            context = [o for o in layout.objects if o.extra.get("source_id") is None]
            if not context:
                notes.append(f"could not put back S{sid}: the layout already has "
                             f"{MAX_OBJECTS} objects for measured sources")
                continue
            layout.objects.remove(context[-1])
            notes.append(f"left out the context object '{context[-1].label}' to make room "
                         f"for S{sid}")
        obj.id = max((o.id for o in layout.objects), default=0) + 1
        obj.extra["source_id"] = sid
        layout.objects.append(obj)
        notes.append(f"put back '{obj.label}' (S{sid}): the reply left out a measured source")


def _show_while_heard(group: list[LayoutObject], src: SourceTrack, reference: LayoutObject,
                      notes: list[str]) -> None:
    """A frame where the source is heard but none of its objects has a box gets the
    rule-based box (it is moved to the group's side by the direction hold afterwards)."""
    filled = 0
    for i, heard in enumerate(np.asarray(src.active, bool)):
        if heard and reference.boxes[i] is not None and all(o.boxes[i] is None for o in group):
            group[0].boxes[i] = reference.boxes[i]
            filled += 1
    if filled:
        notes.append(f"showed '{group[0].label}' in {filled} frame(s) where S{src.id} is "
                     "heard but the reply drew nothing")


def _limit_size(obj: LayoutObject, reference: list[Box | None], notes: list[str]) -> None:
    lo, hi = SIZE_LIMITS
    changed = 0
    for i, (b, r) in enumerate(zip(obj.boxes, reference)):
        if b is None or r is None:
            continue
        w, h = b[2] - b[0], b[3] - b[1]
        rw, rh = r[2] - r[0], r[3] - r[1]
        nw = float(np.clip(w, lo * rw, min(hi * rw, 1.0)))
        nh = float(np.clip(h, lo * rh, min(hi * rh, 1.0)))
        if abs(nw - w) > 1e-9 or abs(nh - h) > 1e-9:
            cx, cy = 0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3])
            cx = float(np.clip(cx, nw / 2, 1 - nw / 2))
            cy = float(np.clip(cy, nh / 2, 1 - nh / 2))
            obj.boxes[i] = (cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2)
            changed += 1
    if changed:
        notes.append(f"kept the size of '{obj.label}' within {lo:g}-{hi:g}x of what its class "
                     f"and measured nearness give, in {changed} frame(s)")


def confident_x(src: SourceTrack, min_confidence: float) -> np.ndarray:
    """Per frame, the x-centre the measured azimuth maps to where the direction is at least
    ``min_confidence`` sure (and the source heard), else NaN: where a reading alone would
    bind. The guard binds every heard frame (unsure ones take the sure ones' x, see
    :func:`engine.planning.heuristic.x_track`); this tells which frames had their own."""
    az = np.asarray(src.azimuth_deg, float)
    ok = (np.asarray(src.active, bool) & np.isfinite(az)
          & (np.nan_to_num(np.asarray(src.confidence, float)) >= min_confidence))
    return np.where(ok, x_from_azimuth(np.nan_to_num(az)), np.nan)


def _hold_direction(group: list[LayoutObject], src: SourceTrack, expected: np.ndarray,
                    tolerance: float, notes: list[str]) -> None:
    moved = 0
    heard = np.asarray(src.active, bool)
    for i, xe in enumerate(expected):
        boxes = [o.boxes[i] for o in group if o.boxes[i] is not None]
        if not heard[i] or not np.isfinite(xe) or not boxes:
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
        notes.append(f"moved {labels} in {moved} of {int(heard.sum())} heard frames {where}")


def _shift(b: Box, dx: float) -> Box:
    x0, y0, x1, y1 = b
    dx = float(np.clip(dx, -x0, 1.0 - x1))  # slide, never shrink, to stay inside the frame
    return (x0 + dx, y0, x1 + dx, y1)
