"""The recorded replies (``recorded_replies.json``) and replies built to break limits."""

from __future__ import annotations

import json
from pathlib import Path

RECORDED = json.loads((Path(__file__).parent / "recorded_replies.json").read_text("utf-8"))
GOOD = RECORDED["good"]


def too_many_objects(n: int = 50) -> str:
    obj = {"source": 0, "label": "person", "prompt": "a person", "motion": "static",
           "boxes": [[50, 60, 10, 30]] * 5}
    return json.dumps({"caption": "A crowd.", "background": "a square", "objects": [obj] * n})


def huge_caption(n: int = 5000) -> str:
    d = json.loads(GOOD)
    d["caption"] = "word " * (n // 5)
    return json.dumps(d)


def huge_reply(n: int = 1_000_000) -> str:
    return GOOD[:-1] + ',"padding":"' + "x" * n + '"}'


def deep_nesting(depth: int = 9_000) -> str:
    return "[" * depth + "]" * depth


def not_a_number() -> str:
    return GOOD.replace("[25,72,18,20]", "[NaN,72,18,20]", 1)
