"""Boxes between layout frames: keyframe interpolation and resampling to a playback rate."""

from __future__ import annotations

import math

import numpy as np

from .schema import Box, Layout, LayoutObject


def interpolate_keyframes(keyframes: dict[int, Box | None], num_frames: int) -> list[Box | None]:
    """Per-frame boxes from sparse keyframes ``{frame: box or None}``.

    Between two visible keyframes the box moves linearly; a ``None`` keyframe hides the object
    until the next visible keyframe; before the first and after the last keyframe the nearest
    keyframe holds.
    """
    if not keyframes:
        return [None] * num_frames
    keys = sorted(k for k in keyframes if 0 <= k < num_frames)
    if not keys:
        return [None] * num_frames
    out: list[Box | None] = []
    for i in range(num_frames):
        before = [k for k in keys if k <= i]
        after = [k for k in keys if k >= i]
        k0 = before[-1] if before else after[0]
        k1 = after[0] if after else before[-1]
        b0, b1 = keyframes[k0], keyframes[k1]
        if b0 is None or (k0 == k1):
            out.append(b0 if b0 is not None else None)
            continue
        if b1 is None:
            out.append(b0)
            continue
        t = (i - k0) / (k1 - k0)
        out.append(tuple(float((1 - t) * a + t * b) for a, b in zip(b0, b1)))  # type: ignore
    return out


def box_at_time(layout: Layout, obj: LayoutObject, t: float, *, smooth: bool = True) -> Box | None:
    """The object's box at time ``t`` seconds.

    Each layout frame's box is taken at the centre of the frame's time span; with ``smooth``
    the box moves linearly between neighbouring centres (so motion is fluid at any playback
    rate); without it the frame's box is held for its whole span.
    """
    n = layout.num_frames
    pos = t * n / layout.duration_s - 0.5
    if not smooth:
        i = int(np.clip(np.floor(t * n / layout.duration_s), 0, n - 1))
        return obj.boxes[i]
    i0 = int(np.clip(np.floor(pos), 0, n - 1))
    i1 = min(i0 + 1, n - 1)
    w = float(np.clip(pos - i0, 0.0, 1.0)) if pos >= 0 else 0.0
    b0, b1 = obj.boxes[i0], obj.boxes[i1]
    if b0 is None and b1 is None:
        return None
    if b0 is None:
        return b1 if w >= 0.5 else None
    if b1 is None:
        return b0 if w < 0.5 else None
    return tuple((1 - w) * a + w * b for a, b in zip(b0, b1))  # type: ignore


def video_frame_count(duration_s: float, fps: float) -> int:
    """How many frames at ``fps`` a video of ``duration_s`` seconds has: enough to cover all
    of it (the last frame may run past the end by less than a frame, never stop short of it;
    a thousandth of a frame of rounding in the duration is forgiven)."""
    return max(1, math.ceil(duration_s * fps - 1e-3))


def boxes_for_fps(layout: Layout, obj: LayoutObject, fps: float,
                  *, smooth: bool = True) -> list[Box | None]:
    """The object's boxes resampled to ``fps`` output frames over the layout's duration."""
    count = video_frame_count(layout.duration_s, fps)
    return [box_at_time(layout, obj, (k + 0.5) / fps, smooth=smooth) for k in range(count)]
