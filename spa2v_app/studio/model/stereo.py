""""How was this recorded?": the studio's side of the kinds of stereo (no Qt).

The names, labels and descriptions live in :mod:`engine.audio.stereo_kinds`; this module only
turns them into what the studio shows: the list for the choosers and the "Heard as" line that
reports ``auto``'s decision (the layout's or the cues' ``extra.stereo``).
"""

from __future__ import annotations

from engine.audio.stereo_kinds import (AUTO, DEFAULT_PAN_LAW, DEFAULT_STEREO, DESCRIPTIONS,
                                       LABELS, MAX_SPACING_M, MIN_SPACING_M, PAN_LAW_DESCRIPTIONS,
                                       PAN_LAW_LABELS, PAN_LAWS, SPACING_ASSUMED,
                                       STEREO_CHOICES, check_stereo_kind)


def stereo_choices() -> list[tuple[str, str, str]]:
    """``(kind, label, description)`` for each choice, ``auto`` first."""
    return [(k, LABELS[k], DESCRIPTIONS[k]) for k in STEREO_CHOICES]


def known_stereo(value: object) -> str:
    """``value`` if it names a choice, else the default: a stale preference or project field
    must not stop the studio from opening."""
    try:
        return check_stereo_kind(str(value)) if isinstance(value, str) else DEFAULT_STEREO
    except ValueError:
        return DEFAULT_STEREO


def known_spacing(value: object) -> float | None:
    """A spaced pair's spacing in metres if ``value`` is one the engine accepts
    (:data:`~engine.audio.stereo_kinds.MIN_SPACING_M` to ``MAX_SPACING_M``), else ``None``
    (not known: the engine estimates it). A stale preference must not stop the studio."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if MIN_SPACING_M <= value <= MAX_SPACING_M else None


def pan_law_choices() -> list[tuple[str, str, str]]:
    """``(law, label, description)`` for each pan law, the default first."""
    return [(law, PAN_LAW_LABELS[law], PAN_LAW_DESCRIPTIONS[law]) for law in PAN_LAWS]


def known_pan_law(value: object) -> str | None:
    """A pan-pot mix's law if ``value`` names one of
    :data:`~engine.audio.stereo_kinds.PAN_LAWS` exactly, else ``None`` (not known: the
    engine assumes constant power). A stale preference must not stop the studio."""
    return value if isinstance(value, str) and value in PAN_LAWS else None


def kind_name(kind: str) -> str:
    """The label as it reads inside a sentence ("spaced pair (phone)")."""
    label = LABELS[kind]
    return label[:1].lower() + label[1:]


def heard_as(decision: dict | None) -> str:
    """One line saying how the sound was read: ``auto``'s kind and how sure it was, or the
    user's own choice; empty when there is no decision (mono audio, an old project)."""
    if not isinstance(decision, dict) or decision.get("kind") not in LABELS:
        return ""
    name = kind_name(decision["kind"])
    # A spaced pair's spacing that nothing in the recording told: every direction scales
    # with it, so say how to give it.
    gap = (", spacing assumed: set it if you know it"
           if decision.get("spacing_from") == SPACING_ASSUMED else "")
    law = known_pan_law(decision.get("pan_law"))
    if law is not None and law != DEFAULT_PAN_LAW:
        gap = f", {PAN_LAW_LABELS[law]} pan law"
    if decision.get("chosen", AUTO) != AUTO:
        return f"Read as: {name} (your choice){gap}"
    try:
        sure = float(decision.get("confidence", 0.0))
    except (TypeError, ValueError):
        sure = 0.0
    return f"Heard as: {name}, {100 * min(1.0, max(0.0, sure)):.0f} % sure{gap}"
