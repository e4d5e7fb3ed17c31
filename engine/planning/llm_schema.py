"""The planner's reply: its JSON schema, a grammar-safe form of it, and strict parsing into a
:class:`~engine.layout.Layout`.

A reply names boxes at the keyframes of the cue table only, as ``[x, y, w, h]`` (centre and
size in whole percent), and the engine interpolates the frames between. Centre-and-size boxes
cannot be inside out, so any reply the grammar allows becomes a valid layout after clipping.

Replies are data from outside: every field is checked (type, range, length, characters), the
checks do not trust the grammar, and nothing in a reply ever names a file.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..layout import MAX_OBJECTS, MOTIONS, Box, Layout, LayoutObject, PlannerInfo
from ..layout import interpolate_keyframes
from .llm_prompt import CueSummary

MAX_CAPTION = 120
MAX_BACKGROUND = 60
MAX_LABEL = 24
MAX_PROMPT = 64
MIN_BOX_PCT = 2
MAX_REPLY_CHARS = 20_000
_PUNCTUATION = set(" ,.;:!?'\"()&+-%#*")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})

# GBNF for one string character: printable ASCII without the quote, the backslash (so no
# escapes at all) and the slash. llama-cpp-python 0.3.36's converter allows any byte except
# '"' and '\\' here, raw control characters included.
SAFE_CHAR_RULE = r'char ::= [a-zA-Z0-9 ,.;:!?' + "'" + r'()&+%#*\x2D]'
# Every string starts with a letter or digit, so no text field is blank after trimming.
FIRST_CHAR_RULE = "first-char ::= [a-zA-Z0-9]"
# No optional whitespace between JSON tokens: compact replies, and a hard bound on length.
SAFE_SPACE_RULE = 'space ::= ""'


class ReplyProblems(ValueError):
    """A reply that cannot be used; ``problems`` lists what to fix, in the model's terms."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def reply_schema(summary: CueSummary, *, max_objects: int = MAX_OBJECTS,
                 for_grammar: bool = True) -> dict[str, Any]:
    """JSON schema of a reply for this cue summary.

    ``for_grammar`` writes integer ranges as enums (llama-cpp-python's converter ignores
    ``minimum``/``maximum`` on integers); otherwise as ranges, for Gemini's structured output
    (whose enums are for strings).
    """
    k = len(summary.keyframes)

    def int_range(lo: int, hi: int) -> dict[str, Any]:
        if for_grammar:
            return {"enum": list(range(lo, hi + 1))}
        return {"type": "integer", "minimum": lo, "maximum": hi}

    coord = int_range(0, 100)
    size = int_range(MIN_BOX_PCT, 100)
    box = {"type": "array", "items": coord, "minItems": 4, "maxItems": 4}
    if for_grammar:  # x, y, w, h: sizes have their own range
        box = {"type": "array", "prefixItems": [coord, coord, size, size]}
    sources = [0] + summary.source_ids()
    obj = {
        "type": "object",
        "properties": {
            "source": {"enum": sources} if for_grammar else int_range(0, max(sources)),
            "label": _text(MAX_LABEL, 1),
            "prompt": _text(MAX_PROMPT, 1),
            "motion": {"type": "string", "enum": list(MOTIONS)},
            "boxes": {"type": "array", "items": {"anyOf": [box, {"type": "null"}]},
                      "minItems": k, "maxItems": k},
        },
        "required": ["source", "label", "prompt", "motion", "boxes"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "caption": _text(MAX_CAPTION, 1),
            "background": _text(MAX_BACKGROUND, 1),
            "objects": {"type": "array", "items": obj, "maxItems": max_objects},
        },
        "required": ["caption", "background", "objects"],
        "additionalProperties": False,
    }


def _text(max_len: int, min_len: int = 0) -> dict[str, Any]:
    return {"type": "string", "minLength": min_len, "maxLength": max_len}


def patch_gbnf(grammar: str) -> str:
    """Make a grammar from llama-cpp-python's JSON-schema converter safe and bounded.

    Replaces the ``char`` rule (the converter's lets raw control characters and escapes into
    strings) and the ``space`` rule (optional whitespace) with :data:`SAFE_CHAR_RULE` and
    :data:`SAFE_SPACE_RULE`, and makes each string's first character :data:`FIRST_CHAR_RULE`.
    Raises ``ValueError`` when a rule is not where it is expected, so a changed converter
    fails loudly instead of silently loosening the grammar.
    """
    replacements = {"char": SAFE_CHAR_RULE, "space": SAFE_SPACE_RULE}
    lines = grammar.splitlines()
    found = set()
    for i, line in enumerate(lines):
        name = line.split("::=", 1)[0].strip()
        if name in replacements:
            lines[i] = replacements[name]
            found.add(name)
    if "space" not in found:
        raise ValueError("grammar has no 'space' rule to replace")
    if "char" not in found and '"\\""' in grammar:
        raise ValueError("grammar has strings but no 'char' rule to replace")
    if "char" in found:
        lines = [line.replace('::= "\\"" char', '::= "\\"" first-char') for line in lines]
        lines.append(FIRST_CHAR_RULE)
    out = "\n".join(lines)
    if "[^" in out:
        raise ValueError("grammar still has a negated character class")
    return out + "\n"


def max_reply_chars(schema: dict[str, Any]) -> int:
    """The longest reply (in characters, compact JSON) that ``schema`` allows.

    With the patched grammar every string character is one ASCII byte and every token is at
    least one byte, so this bounds the reply's token count too: generation capped here always
    closes its JSON.
    """
    if "enum" in schema:
        return max(len(json.dumps(v)) for v in schema["enum"])
    if "anyOf" in schema:
        return max(max_reply_chars(s) for s in schema["anyOf"])
    kind = schema.get("type")
    if kind == "string":
        return 2 + int(schema["maxLength"])
    if kind == "null":
        return 4
    if kind == "integer":
        return 16
    if kind == "array":
        if "prefixItems" in schema:
            items = [max_reply_chars(s) for s in schema["prefixItems"]]
            return 2 + sum(items) + len(items) - 1
        count = int(schema["maxItems"])
        return 2 + count * max_reply_chars(schema["items"]) + max(0, count - 1)
    if kind == "object":
        props = schema["properties"]
        inner = sum(len(json.dumps(k)) + 1 + max_reply_chars(v) for k, v in props.items())
        return 2 + inner + len(props) - 1
    raise ValueError(f"no length bound for schema {schema!r}")


# -- parsing ----------------------------------------------------------------------------------

@dataclass
class ParsedPlan:
    """A usable reply, as a layout, with notes about what was dropped or adjusted."""

    layout: Layout
    notes: list[str] = field(default_factory=list)


def parse_reply(text: str, summary: CueSummary, *, planner: PlannerInfo, width: int = 512,
                height: int = 512, source_confidence: dict[int, float] | None = None
                ) -> ParsedPlan:
    """Check a reply and turn it into a layout, or raise :class:`ReplyProblems`.

    Parameters
    ----------
    text : the model's reply (a JSON object, possibly in a Markdown code fence).
    summary : the cue summary the prompt showed; its keyframes place the boxes.
    planner : recorded in the layout (name and model file or id).
    source_confidence : per source id, the object confidence to record (default 0.5).
    """
    data = load_json(text)
    problems: list[str] = []
    caption = clean_text(data.get("caption"), "caption", MAX_CAPTION, problems)
    background = clean_text(data.get("background"), "background", MAX_BACKGROUND, problems)
    objs = data.get("objects")
    if not isinstance(objs, list):
        raise ReplyProblems(problems + ["'objects' must be a list"])
    if len(objs) > MAX_OBJECTS:
        raise ReplyProblems(problems + [f"'objects' has {len(objs)} entries; at most "
                                        f"{MAX_OBJECTS} are allowed"])
    notes: list[str] = []
    objects: list[LayoutObject] = []
    known = set(summary.source_ids())
    conf = source_confidence or {}
    for i, o in enumerate(objs):
        obj = _parse_object(o, i, summary, known, conf, problems, notes)
        if obj is not None:
            obj.id = len(objects) + 1
            objects.append(obj)
    if problems:
        raise ReplyProblems(problems)
    n = summary.num_frames
    layout = Layout(duration_s=summary.duration_s, num_frames=n, fps=n / summary.duration_s,
                    width=width, height=height, caption=caption or "",
                    background=background or "", planner=planner, objects=objects)
    layout.validate()  # the layout's own rules, as any reader checks them
    return ParsedPlan(layout, notes)


def load_json(text: Any) -> dict:
    if not isinstance(text, str):
        raise ReplyProblems(["the reply is not text"])
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyProblems([f"the reply is {len(text)} characters long; keep it under "
                             f"{MAX_REPLY_CHARS}"])
    body = text.strip()
    fence = re.match(r"^```[a-zA-Z]*\s*(.*?)\s*```$", body, re.S)
    if fence:
        body = fence.group(1)
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise ReplyProblems([f"the reply is not valid JSON ({_short(str(e))})"]) from None
    if not isinstance(data, dict):
        raise ReplyProblems(["the reply must be one JSON object"])
    return data


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _short(s: str, n: int = 80) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def clean_text(v: Any, name: str, max_len: int, problems: list[str]) -> str | None:
    if not isinstance(v, str):
        problems.append(f"'{name}' must be text")
        return None
    text = " ".join(v.translate(_QUOTES).split())
    if any(unicodedata.category(c)[0] == "C" for c in v):  # newlines and tabs too
        problems.append(f"'{name}' contains control characters")
        return None
    if "/" in text or "\\" in text:
        problems.append(f"'{name}' must be plain words, without slashes")
        return None
    bad = sorted({c for c in text if not (c.isalnum() or c in _PUNCTUATION)})
    if bad:
        problems.append(f"'{name}' contains characters that are not allowed: "
                        f"{''.join(bad)[:10]!r}")
        return None
    if not text:
        problems.append(f"'{name}' must not be empty")
        return None
    if len(text) > max_len:
        problems.append(f"'{name}' is {len(text)} characters long; at most {max_len}")
        return None
    return text


def _parse_object(o: Any, i: int, summary: CueSummary, known: set[int], conf: dict[int, float],
                  problems: list[str], notes: list[str]) -> LayoutObject | None:
    where = f"objects[{i}]"
    if not isinstance(o, dict):
        problems.append(f"{where} must be an object")
        return None
    before = len(problems)
    source = o.get("source", 0)
    if isinstance(source, bool) or not isinstance(source, int) or (
            source != 0 and source not in known):
        problems.append(f"{where}.source must be 0 or one of {sorted(known)}, got {_short(repr(source), 20)}")
    label = clean_text(o.get("label"), f"{where}.label", MAX_LABEL, problems)
    prompt = clean_text(o.get("prompt"), f"{where}.prompt", MAX_PROMPT, problems)
    motion = o.get("motion")
    if motion not in MOTIONS:
        problems.append(f"{where}.motion must be one of {', '.join(MOTIONS)}")
    boxes_raw = o.get("boxes")
    k = len(summary.keyframes)
    if not isinstance(boxes_raw, list) or len(boxes_raw) != k:
        problems.append(f"{where}.boxes must be a list of {k} entries (one per keyframe)")
        return None
    keyboxes: dict[int, Box | None] = {}
    for j, b in enumerate(boxes_raw):
        keyboxes[summary.keyframes[j]] = _keyframe_box(b, f"{where}.boxes[{j}]", problems)
    if len(problems) > before:
        return None
    if all(b is None for b in keyboxes.values()):
        notes.append(f"left out '{label}': it has no visible box")
        return None
    boxes = interpolate_keyframes(keyboxes, summary.num_frames)
    return LayoutObject(
        id=0, label=label.lower(), prompt=prompt, motion=motion,
        confidence=float(np.clip(conf.get(source, 0.5), 0.0, 1.0)), boxes=boxes,
        extra={"source_id": source or None},
    )


def _keyframe_box(b: Any, where: str, problems: list[str]) -> Box | None:
    """``[x, y, w, h]`` in percent (centre and size) -> ``(x0, y0, x1, y1)`` in [0, 1]."""
    if b is None:
        return None
    if not isinstance(b, list) or len(b) != 4 or any(
            isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
            for v in b):
        problems.append(f"{where} must be [x, y, w, h] (4 numbers) or null")
        return None
    x, y, w, h = (float(v) for v in b)
    if not (0 <= x <= 100 and 0 <= y <= 100 and MIN_BOX_PCT <= w <= 100
            and MIN_BOX_PCT <= h <= 100):
        problems.append(f"{where} needs x, y in 0..100 and w, h in {MIN_BOX_PCT}..100")
        return None
    x0, x1 = max(0.0, (x - w / 2) / 100), min(1.0, (x + w / 2) / 100)
    y0, y1 = max(0.0, (y - h / 2) / 100), min(1.0, (y + h / 2) / 100)
    return (x0, y0, x1, y1)


def layout_to_reply(layout: Layout, summary: CueSummary) -> dict[str, Any]:
    """The reply a model would have given for ``layout`` (for examples and tests): boxes at
    the summary's keyframes as centre and size in percent."""
    objects = []
    for o in layout.objects:
        boxes = []
        for k in summary.keyframes:
            b = o.boxes[k]
            boxes.append(None if b is None else [
                int(round(50 * (b[0] + b[2]))), int(round(50 * (b[1] + b[3]))),
                max(MIN_BOX_PCT, int(round(100 * (b[2] - b[0])))),
                max(MIN_BOX_PCT, int(round(100 * (b[3] - b[1]))))])
        objects.append({"source": int(o.extra.get("source_id") or 0), "label": o.label,
                        "prompt": o.prompt, "motion": o.motion, "boxes": boxes})
    return {"caption": layout.caption, "background": layout.background, "objects": objects}
