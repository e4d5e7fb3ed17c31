"""The Video Scene Layout (``spa2v.vsl/1``): typed model, validation, JSON round-trip."""

from .schema import (
    MAX_OBJECTS,
    MOTIONS,
    SCHEMA,
    Box,
    Layout,
    LayoutObject,
    PlannerInfo,
    load_layout,
    save_layout,
)
from .interpolate import box_at_time, boxes_for_fps, interpolate_keyframes, video_frame_count

__all__ = [
    "MAX_OBJECTS", "MOTIONS", "SCHEMA", "Box", "Layout", "LayoutObject", "PlannerInfo",
    "load_layout", "save_layout", "box_at_time", "boxes_for_fps", "interpolate_keyframes",
    "video_frame_count",
]
