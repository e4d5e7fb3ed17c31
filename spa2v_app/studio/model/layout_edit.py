"""Edits to a layout, as pure functions (no Qt): move a box, keyframes, add/rename/delete.

Keyframes live in each object's ``extra["keyframes"]`` (``{"frame": box or null}``; the
layout file keeps unknown keys). An object without keyframes is edited frame by frame. Once an
object has keyframes, the frames *between* its first and last keyframe follow them (linear
interpolation; a null keyframe hides the object until the next one) and a box dragged on any
frame becomes a keyframe there; frames outside the keyed span keep what the planner gave.
"""

from __future__ import annotations

import copy
import re

from engine.errors import BadInput
from engine.layout import MAX_OBJECTS, MOTIONS, Box, Layout, LayoutObject, interpolate_keyframes
from engine.planning.heuristic import UNNAMED_LABEL, default_prompt

MIN_SIZE = 0.02  # a box narrower than 2 % of the frame cannot be grabbed again
NUDGE = 0.01  # one Shift+arrow key press moves the selected box by 1 % of the frame (design)


def clamp_box(box) -> Box:
    """Keep a box inside the frame and at least :data:`MIN_SIZE` wide and tall."""
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    w = min(1.0, max(MIN_SIZE, x1 - x0))
    h = min(1.0, max(MIN_SIZE, y1 - y0))
    x0 = min(max(0.0, x0), 1.0 - w)
    y0 = min(max(0.0, y0), 1.0 - h)
    return (x0, y0, x0 + w, y0 + h)


def keyframes(obj: LayoutObject) -> dict[int, Box | None]:
    raw = obj.extra.get("keyframes") or {}
    return {int(k): (None if v is None else tuple(float(c) for c in v)) for k, v in raw.items()}


def _store_keyframes(obj: LayoutObject, keys: dict[int, Box | None]) -> None:
    if keys:
        obj.extra["keyframes"] = {str(k): (None if b is None else [round(c, 4) for c in b])
                                  for k, b in sorted(keys.items())}
    else:
        obj.extra.pop("keyframes", None)


def _apply_keyframes(obj: LayoutObject, num_frames: int) -> None:
    keys = keyframes(obj)
    if not keys:
        return
    lo, hi = min(keys), max(keys)
    filled = interpolate_keyframes(keys, num_frames)
    for i in range(lo, hi + 1):
        obj.boxes[i] = filled[i]


def _check_frame(layout: Layout, frame: int) -> int:
    if not 0 <= frame < layout.num_frames:
        raise BadInput(f"Frame {frame} is outside the layout (0..{layout.num_frames - 1}).")
    return frame


def set_box(layout: Layout, object_id: int, frame: int, box: Box | None) -> Layout:
    """A copy of ``layout`` with the object's box on ``frame`` replaced (None hides it)."""
    out = copy.deepcopy(layout)
    obj = out.object(object_id)
    _check_frame(out, frame)
    box = None if box is None else clamp_box(box)
    keys = keyframes(obj)
    if keys:
        keys[frame] = box
        _store_keyframes(obj, keys)
        _apply_keyframes(obj, out.num_frames)
    else:
        obj.boxes[frame] = box
    return out.validate()


def set_keyframe(layout: Layout, object_id: int, frame: int) -> Layout:
    """Pin the object's current box on ``frame`` as a keyframe."""
    out = copy.deepcopy(layout)
    obj = out.object(object_id)
    keys = keyframes(obj)
    keys[_check_frame(out, frame)] = obj.boxes[frame]
    _store_keyframes(obj, keys)
    _apply_keyframes(obj, out.num_frames)
    return out.validate()


def remove_keyframe(layout: Layout, object_id: int, frame: int) -> Layout:
    out = copy.deepcopy(layout)
    obj = out.object(object_id)
    keys = keyframes(obj)
    keys.pop(frame, None)
    _store_keyframes(obj, keys)
    _apply_keyframes(obj, out.num_frames)
    return out.validate()


def add_object(layout: Layout, label: str = "object", *, prompt: str | None = None,
               box: Box = (0.35, 0.35, 0.65, 0.65)) -> tuple[Layout, int]:
    """A copy with a new static object visible on every frame; returns it and the new id."""
    if len(layout.objects) >= MAX_OBJECTS:
        raise BadInput(f"A layout holds at most {MAX_OBJECTS} objects.",
                       hint="Delete one before adding another.")
    label = _clean(label, "label")
    out = copy.deepcopy(layout)
    new_id = max((o.id for o in out.objects), default=0) + 1
    out.objects.append(LayoutObject(
        id=new_id, label=label, prompt=_clean(prompt or default_prompt(label), "prompt"),
        motion="static", confidence=1.0, boxes=[clamp_box(box)] * out.num_frames))
    return out.validate(), new_id


def delete_object(layout: Layout, object_id: int) -> Layout:
    out = copy.deepcopy(layout)
    out.objects = [o for o in out.objects if o.id != object_id]
    return out.validate()


def update_object(layout: Layout, object_id: int, *, label: str | None = None,
                  prompt: str | None = None, motion: str | None = None) -> Layout:
    """Rename an object or change its prompt or motion.

    A new name carries into the prompt and the caption where they still use the old one
    ("a boat" becomes "a truck", "A boat moving left..." likewise); a prompt given here, or one
    the user rewrote without the old name, is kept as written.
    """
    out = copy.deepcopy(layout)
    obj = out.object(object_id)
    old_label, old_prompt = obj.label, obj.prompt
    if prompt is not None:
        obj.prompt = _clean(prompt, "prompt")
    if label is not None:
        obj.label = _clean(label, "label")
        if obj.label != old_label and obj.prompt == old_prompt:
            obj.prompt = _renamed(old_prompt, old_label, obj.label)
            caption = _swap_phrase(out.caption, old_prompt, obj.prompt)
            out.caption = (caption if caption != out.caption
                           else _swap_name(out.caption, old_label, obj.label))
    if motion is not None:
        if motion not in MOTIONS:
            raise BadInput(f"Motion must be one of {', '.join(MOTIONS)}, got {motion!r}.")
        obj.motion = motion
    return out.validate()


def _renamed(prompt: str, old: str, new: str) -> str:
    if prompt == default_prompt(old):
        return default_prompt(new)
    return _swap_name(prompt, old, new)


def _swap_phrase(text: str, old: str, new: str) -> str:
    """Whole-phrase ``old`` replaced by ``new``, keeping a capital at the start."""
    def swap(m: re.Match) -> str:
        return new[:1].upper() + new[1:] if m.group(0)[:1].isupper() else new
    return re.sub(rf"\b{re.escape(old)}\b", swap, text, flags=re.IGNORECASE)


def _swap_name(text: str, old: str, new: str) -> str:
    """``old`` as a whole word (with its article, fixed for ``new``) replaced by ``new``."""
    pattern = re.compile(rf"\b(?:(an?)\s+)?{re.escape(old)}\b", re.IGNORECASE)

    def swap(m: re.Match) -> str:
        if not m.group(1):
            return new
        article = default_prompt(new).split()[0] if new != UNNAMED_LABEL else "a"
        return f"{article.capitalize() if m.group(1)[0].isupper() else article} {new}"
    return pattern.sub(swap, text)


def empty_layout(duration_s: float, num_frames: int, *, width: int = 512,
                 height: int = 512) -> Layout:
    """A layout with no objects, for drawing boxes by hand before (or instead of) planning."""
    return Layout(duration_s=duration_s, num_frames=num_frames, fps=num_frames / duration_s,
                  width=width, height=height, caption="", background="").validate()


def _clean(text: str, what: str) -> str:
    text = " ".join(str(text).split())
    if not text:
        raise BadInput(f"The {what} must not be empty.")
    if len(text) > 200:
        raise BadInput(f"The {what} is too long ({len(text)} characters; at most 200).")
    return text
