"""What each source was heard as, kept in the layout so the studio can offer the alternatives.

One home for the ``heard_as`` key of a layout object's extra keys (SPEC.md section 3 lets a
project carry extra keys; ``spa2v.vsl/1`` readers ignore it)::

    "heard_as": {"listener": "tagger", "label": "truck", "description": null,
                 "candidates": [{"label": "truck", "score": 0.77, "class": "Truck"},
                                {"label": "vehicle", "score": 0.73, "class": "Vehicle"}]}
"""

from __future__ import annotations

from typing import Any

from ..cues.types import SourceTrack, Tag

KEY = "heard_as"
MAX_CANDIDATES = 5
LISTENER_CLASS = "audio-llm"  # ``Tag.source_class`` of a name an audio-language model gave


def heard_as(tags: list[Tag], *, listener: str = "tagger",
             description: str | None = None) -> dict[str, Any]:
    """The ``heard_as`` record for a source from its best-first tags."""
    top = tags[:MAX_CANDIDATES]
    return {"listener": listener, "label": top[0].label if top else None,
            "description": description,
            "candidates": [{"label": t.label, "score": round(float(t.score), 4),
                            "class": t.source_class} for t in top]}


def heard_as_source(src: SourceTrack) -> dict[str, Any]:
    by_listener = bool(src.tags) and src.tags[0].source_class == LISTENER_CLASS
    return heard_as(src.tags, listener="audio-llm" if by_listener else "tagger",
                    description=src.description)


def tagger_label(src: SourceTrack) -> str | None:
    """The name the built-in tagger gave a source, a listener's name set aside. A rule that
    lets a measured source go undrawn may rest on this, never on a language model's word
    (issue 15, section 3: whatever a model replies, every measured source is drawn)."""
    return next((t.label for t in src.tags if t.source_class != LISTENER_CLASS), None)


def candidates_of(extra: dict[str, Any]) -> list[str]:
    """The alternative names recorded in an object's extra keys, best first (may be empty)."""
    record = extra.get(KEY) or {}
    return [str(c["label"]) for c in record.get("candidates", []) if c.get("label")]


def heard_summary(extra: dict[str, Any]) -> str:
    """One line for people: what the object was heard as, by what, with the alternatives
    ("heard by the tagger as truck 77 %; also vehicle 73 %, car 20 %"); empty if unknown."""
    record = extra.get(KEY) or {}
    cands = record.get("candidates") or []
    if not cands:
        return ""
    by = "the audio listener" if record.get("listener") == "audio-llm" else "the tagger"
    first, rest = cands[0], cands[1:]
    text = f"heard by {by} as {first['label']} {round(100 * first['score'])} %"
    if rest:
        text += "; also " + ", ".join(f"{c['label']} {round(100 * c['score'])} %" for c in rest)
    if record.get("description"):
        text += f" ({record['description']})"
    return text

