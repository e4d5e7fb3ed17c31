"""``spa2v.vsl/1``: per video frame, a box and a label for each sounding object.

The file is described in docs/layout-format.md. Readers reject a file that breaks the rules with a message naming the
field, and never guess silently. Unknown keys are kept (``extra``) and written back.
"""

from __future__ import annotations

import json
import math
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadInput, LayoutError
from ..fileio import STDIN_HINT, STDIN_MESSAGE, read_json, write_json_atomic

SCHEMA = "spa2v.vsl/1"
MOTIONS = ("static", "left_to_right", "right_to_left", "approaching", "receding")
MAX_OBJECTS = 8
MAX_FRAMES = 10_000
MAX_TEXT = 500
MIN_FPS, MAX_FPS = 1e-3, 240.0  # layout frames a second

Box = tuple[float, float, float, float]

_TOP_KEYS = {"schema", "duration_s", "num_frames", "fps", "width", "height", "caption",
             "background", "negative_prompt", "planner", "objects"}
_OBJ_KEYS = {"id", "label", "prompt", "motion", "confidence", "boxes"}


@dataclass
class PlannerInfo:
    name: str = "heuristic"
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model}


@dataclass
class LayoutObject:
    id: int
    label: str
    prompt: str
    motion: str
    confidence: float
    boxes: list[Box | None]
    extra: dict[str, Any] = field(default_factory=dict)

    def visible_frames(self) -> list[int]:
        return [i for i, b in enumerate(self.boxes) if b is not None]

    def x_centres(self) -> list[float | None]:
        return [None if b is None else 0.5 * (b[0] + b[2]) for b in self.boxes]

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.extra)
        d.update({
            "id": self.id, "label": self.label, "prompt": self.prompt, "motion": self.motion,
            "confidence": round(float(self.confidence), 4),
            "boxes": [None if b is None else [round(float(v), 4) for v in b] for b in self.boxes],
        })
        return d


@dataclass
class Layout:
    duration_s: float
    num_frames: int
    fps: float
    width: int = 512
    height: int = 512
    caption: str = ""
    background: str = ""
    negative_prompt: str = "blurry, low quality"
    planner: PlannerInfo = field(default_factory=PlannerInfo)
    objects: list[LayoutObject] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def frame_time(self, i: int) -> float:
        """Start time (s) of video frame ``i``: frame i covers ``[i, i+1) * duration / N``."""
        return i * self.duration_s / self.num_frames

    def object(self, object_id: int) -> LayoutObject:
        for obj in self.objects:
            if obj.id == object_id:
                return obj
        raise KeyError(object_id)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.extra)
        d.update({
            "schema": SCHEMA, "duration_s": round(float(self.duration_s), 6),
            "num_frames": self.num_frames, "fps": round(float(self.fps), 6),
            "width": self.width, "height": self.height, "caption": self.caption,
            "background": self.background, "negative_prompt": self.negative_prompt,
            "planner": self.planner.to_dict(),
            "objects": [o.to_dict() for o in self.objects],
        })
        return d

    @classmethod
    def from_dict(cls, d: Any) -> "Layout":
        return _parse_layout(d)

    def validate(self) -> "Layout":
        """Re-check every rule (after edits); returns self or raises :class:`LayoutError`."""
        _parse_layout(json.loads(json.dumps(self.to_dict())))
        return self

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)


def load_layout(path: str | os.PathLike) -> Layout:
    path = Path(path)
    try:
        data = read_json(path, what="Layout file")
    except FileNotFoundError:
        if str(path) == "-":
            raise LayoutError(STDIN_MESSAGE.format(what="a layout"), hint=STDIN_HINT) from None
        raise LayoutError(f"Layout file not found: {path}.") from None
    except IsADirectoryError:
        raise LayoutError(f"Layout file {path} is a folder.") from None
    except UnicodeDecodeError:
        raise LayoutError(f"Layout file {path} is not UTF-8 text.") from None
    except BadInput as e:
        raise LayoutError(e.message, hint=e.hint) from None
    except OSError as e:  # no permission, an I/O error: a LayoutError, as the callers expect
        raise LayoutError(f"Layout file {path} cannot be read: {e.strerror or e}.") from None
    try:
        return _parse_layout(data)
    except LayoutError as e:
        raise LayoutError(f"{path}: {e.message}", hint=e.hint) from None
    except (TypeError, ValueError, OverflowError, AttributeError) as e:  # a shape no rule foresaw
        raise LayoutError(f"{path}: Invalid layout ({type(e).__name__}: {e}).") from None


def save_layout(layout: Layout, path: str | os.PathLike) -> None:
    layout.validate()
    write_json_atomic(path, layout.to_dict())


# -- validation -------------------------------------------------------------------------------

def _fail(field_name: str, problem: str) -> LayoutError:
    return LayoutError(f"Invalid layout: field '{field_name}' {problem}.")


def _number(d: dict, key: str, where: str, *, lo: float, hi: float, integer: bool = False):
    if key not in d:
        raise _fail(where + key, "is missing")
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _fail(where + key, f"must be a number, got {v!r}")
    if integer and not float(v).is_integer():
        raise _fail(where + key, f"must be a whole number, got {v!r}")
    if not math.isfinite(v) or not lo <= v <= hi:
        raise _fail(where + key, f"must be between {lo:g} and {hi:g}, got {v!r}")
    return int(v) if integer else float(v)


# Characters that reorder the text shown after them (the "Trojan Source" controls): a label
# could show other words than it holds, in the terminal and the studio alike.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def text_problem(v: str) -> str | None:
    """What is wrong with ``v`` as a layout text (a prompt, a label), or None. Control
    characters are the C0 and C1 sets and DEL (a tab passes), line and paragraph separators,
    and the bidirectional overrides; letters, emoji and their joiners of every script pass."""
    if any(c != "\t" and (unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI_CONTROLS)
           for c in v):
        return "contains control characters"
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: bytes that were not UTF-8 (an argument)
        return "is not text (it holds bytes that are not UTF-8)"
    if len(v) > MAX_TEXT:
        return f"is longer than {MAX_TEXT} characters"
    return None


def _text(d: dict, key: str, where: str, *, required: bool = True, allow_empty: bool = True,
          default: str = "") -> str:
    if key not in d:
        if required:
            raise _fail(where + key, "is missing")
        return default
    v = d[key]
    if not isinstance(v, str):
        raise _fail(where + key, f"must be text, got {type(v).__name__}")
    problem = text_problem(v)
    if problem:
        raise _fail(where + key, problem)
    if not allow_empty and not v.strip():
        raise _fail(where + key, "must not be empty")
    return v


def _box(v: Any, where: str) -> Box | None:
    if v is None:
        return None
    if not isinstance(v, (list, tuple)) or len(v) != 4:
        raise _fail(where, f"must be [x0, y0, x1, y1] or null, got {v!r}")
    out = []
    for c in v:
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c):
            raise _fail(where, f"must hold 4 numbers, got {v!r}")
        if not -1e-6 <= c <= 1 + 1e-6:
            raise _fail(where, f"coordinates must lie in [0, 1], got {v!r}")
        out.append(min(1.0, max(0.0, float(c))))
    x0, y0, x1, y1 = out
    if x1 <= x0 or y1 <= y0:
        raise _fail(where, f"needs x0 < x1 and y0 < y1, got {v!r}")
    return (x0, y0, x1, y1)


def _parse_layout(d: Any) -> Layout:
    if not isinstance(d, dict):
        raise LayoutError("Invalid layout: the top level must be a JSON object.")
    if d.get("schema") != SCHEMA:
        family, _, number = str(d.get("schema")).rpartition("/")
        newer = family == SCHEMA.rpartition("/")[0] and number.isdigit() and int(number) > 1
        raise LayoutError(f"Invalid layout: field 'schema' must be {SCHEMA!r}, got "
                          f"{d.get('schema')!r}.", hint="It was written by a newer spa2v: "
                          "update spa2v to read it." if newer else None)
    duration = _number(d, "duration_s", "", lo=1e-3, hi=24 * 3600)
    n = _number(d, "num_frames", "", lo=1, hi=MAX_FRAMES, integer=True)
    fps = _number(d, "fps", "", lo=MIN_FPS, hi=MAX_FPS)
    width = _number(d, "width", "", lo=64, hi=4096, integer=True) if "width" in d else 512
    height = _number(d, "height", "", lo=64, hi=4096, integer=True) if "height" in d else 512
    if abs(fps * duration - n) > max(1.0, 0.02 * n):
        raise _fail("fps", f"disagrees with num_frames / duration_s ({n} / {duration:g} s)")
    planner_d = d.get("planner", {"name": "unknown", "model": None})
    if not isinstance(planner_d, dict):
        raise _fail("planner", "must be an object")
    planner = PlannerInfo(
        name=_text(planner_d, "name", "planner.", default="unknown", required=False),
        model=None if planner_d.get("model") is None else _text(planner_d, "model", "planner."),
    )
    objs_raw = d.get("objects")
    if not isinstance(objs_raw, list):
        raise _fail("objects", "must be a list")
    if len(objs_raw) > MAX_OBJECTS:
        raise _fail("objects", f"has {len(objs_raw)} entries; at most {MAX_OBJECTS} are allowed")
    objects: list[LayoutObject] = []
    seen: set[int] = set()
    for k, o in enumerate(objs_raw):
        where = f"objects[{k}]."
        if not isinstance(o, dict):
            raise _fail(f"objects[{k}]", "must be an object")
        oid = _number(o, "id", where, lo=0, hi=1_000_000, integer=True)
        if oid in seen:
            raise _fail(where + "id", f"repeats id {oid}")
        seen.add(oid)
        motion = o.get("motion")
        if motion not in MOTIONS:
            raise _fail(where + "motion", f"must be one of {', '.join(MOTIONS)}; got {motion!r}")
        boxes_raw = o.get("boxes")
        if not isinstance(boxes_raw, list):
            raise _fail(where + "boxes", "must be a list")
        if len(boxes_raw) != n:
            raise _fail(where + "boxes", f"has {len(boxes_raw)} entries but num_frames is {n}")
        objects.append(LayoutObject(
            id=oid,
            label=_text(o, "label", where, allow_empty=False),
            prompt=_text(o, "prompt", where, allow_empty=False),
            motion=motion,
            confidence=_number(o, "confidence", where, lo=0, hi=1),
            boxes=[_box(b, f"{where}boxes[{i}]") for i, b in enumerate(boxes_raw)],
            extra={k2: v for k2, v in o.items() if k2 not in _OBJ_KEYS},
        ))
    return Layout(
        duration_s=duration, num_frames=n, fps=fps, width=width, height=height,
        caption=_text(d, "caption", ""), background=_text(d, "background", ""),
        negative_prompt=_text(d, "negative_prompt", "", required=False,
                              default="blurry, low quality"),
        planner=planner, objects=objects,
        extra={k: v for k, v in d.items() if k not in _TOP_KEYS},
    )
