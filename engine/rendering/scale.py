"""The preview's fixed pixel sizes in frames larger than the default.

Boxes are shares of the frame, so the objects, their rings, shadows and rims follow the frame.
A few sizes are in pixels: the timeline strip, the names' letters and margins, the longest
motion blur, and the backdrops' fine detail (windows, grass tufts, planks, ripples). They are
those of the 512x512 default, whose picture above the timeline is DESIGN_PICTURE_PX high, and a
larger picture draws them larger by its shorter side over the default's (:func:`frame_scale`).
Never smaller: the studio's 384 px layout view keeps them. Until round 11 they stayed fixed,
so a 1920x1080 export drew 15 px names, a 28 px timeline and 4 px windows, a third of their
size in the default's picture.
"""

from __future__ import annotations

TIMELINE_H = 28        # design: the timeline strip's height at the default size
DESIGN_PICTURE_PX = 512 - TIMELINE_H


def frame_scale(width: int, picture_height: int) -> float:
    """How much larger than at the 512x512 default the fixed pixel sizes are drawn in a picture
    ``width`` x ``picture_height`` (the frame above the timeline): its shorter side over the
    default's, at least 1."""
    return max(1.0, min(width, picture_height) / DESIGN_PICTURE_PX)


def scaled(px: float, scale: float) -> int:
    """``px`` at ``scale``, rounded, at least 1."""
    return max(1, int(round(px * scale)))
