"""The rule-based planner: measured cues in, a Video Scene Layout out, no model needed.

x follows the measured azimuth (docs/layout-format.md: ``x_center = 0.5 + az / 180``), size follows the
class prior scaled by relative proximity, vertical placement follows the class prior, and the
motion label is the track's. Frames where a source is quiet keep its last position; frames
before it is first heard and after it is last heard have no box.
"""

from __future__ import annotations

import re

import numpy as np

from ..cues.types import Cues, SourceTrack
from ..jobs import CancelToken, Job, Progress
from ..layout import MAX_OBJECTS, Box, Layout, LayoutObject, PlannerInfo
from .heard import KEY, heard_as_source
from ..layout.screen import x_from_azimuth
from ..protocols import PlanRequest
from .priors import known_noun, prior_for

MIN_CONFIDENCE = 0.05
UNNAMED_LABEL = "sound source"  # a source the tagger could not name
UNNAMED_PROMPT = "a source of sound"
# Size law: a box is ``prior * (SIZE_FAR + SIZE_SPAN * proximity)`` wide and high, so the
# farthest a source gets is 0.6x its class prior and the nearest 1.2x. Spatialize inverts it.
SIZE_FAR = 0.6
SIZE_SPAN = 0.6
_MOTION_WORDS = {
    "static": "", "left_to_right": "moving from left to right",
    "right_to_left": "moving from right to left", "approaching": "coming closer",
    "receding": "moving away",
}


class HeuristicPlanner:
    """The built-in planner (signal processing and class priors)."""

    name = "heuristic"

    def plan(self, request: PlanRequest, token: CancelToken) -> Job[Layout]:
        token.raise_if_cancelled()
        yield Progress("plan", 0.0)
        layout = plan_layout_from_cues(request.cues, hint=request.hint,
                                       width=request.width, height=request.height)
        yield Progress("plan", 1.0)
        return layout


def plan_layout_from_cues(cues: Cues, *, hint: str | None = None, width: int = 512,
                          height: int = 512) -> Layout:
    """A layout with one object per tracked source.

    Parameters
    ----------
    cues : per-frame cues; each source in ``cues.sources`` becomes an object.
    hint : the user's words for what is sounding ("a red car", "a dog and a bird"); names the
        sources (left to right when several are given) instead of the tagger.
    width, height : frame size in pixels.
    """
    sources = [s for s in cues.sources if np.any(s.active)][:MAX_OBJECTS]
    names = _names_from_hint(hint, len(sources))
    order = np.argsort([_mean_x(s) for s in sources]) if sources else []
    objects = []
    for rank, k in enumerate(order):
        src = sources[k]
        if names:
            prompt = names[min(rank, len(names) - 1)]
            label = _noun(prompt)
        else:
            label = src.label or UNNAMED_LABEL
            prompt = src.description if src.label and src.description else default_prompt(label)
        objects.append(LayoutObject(
            id=src.id, label=label, prompt=prompt, motion=src.motion,
            confidence=_confidence(src, cues.mono),
            boxes=boxes_for(src, label, cues.mono),
            extra={KEY: heard_as_source(src)} if src.tags else {},
        ))
    objects.sort(key=lambda o: o.id)
    background = prior_for(objects[0].label).background if objects else "an empty room"
    return Layout(
        duration_s=cues.duration_s, num_frames=cues.num_frames, fps=cues.fps,
        width=width, height=height, caption=_caption(objects, background),
        background=background, planner=PlannerInfo("heuristic", None), objects=objects,
    )


def default_prompt(label: str) -> str:
    """What the renderer is asked to draw for an object known only by its name: 'a dog',
    'an owl' (the studio renames prompts that still follow this rule)."""
    if label == UNNAMED_LABEL:
        return UNNAMED_PROMPT
    return f"{'an' if label[:1].lower() in 'aeiou' else 'a'} {label}"


def _mean_x(src: SourceTrack) -> float:
    az = src.mean_azimuth()
    return 0.5 if not np.isfinite(az) else float(x_from_azimuth(az))


def x_track(src: SourceTrack, mono: bool) -> np.ndarray:
    """Per-frame measured x-centre ``(num_frames,)``; unknown or unconfident frames are filled
    from confident ones; mono input (no direction) is the centre throughout."""
    n = len(src.azimuth_deg)
    if mono:
        return np.full(n, 0.5)
    x = x_from_azimuth(src.azimuth_deg)
    good = np.isfinite(x) & (src.confidence >= MIN_CONFIDENCE)
    if not good.any():
        return np.full(n, 0.5)
    idx = np.arange(n)
    return np.interp(idx, idx[good], x[good])


def boxes_for(src: SourceTrack, label: str, mono: bool) -> list[Box | None]:
    """The rule-based boxes of a source drawn as ``label``: the class prior's size scaled by
    measured proximity, at the measured x, from the first to the last frame it is heard."""
    prior = prior_for(label)
    xs = x_track(src, mono)
    active = np.flatnonzero(src.active)
    first, last = int(active[0]), int(active[-1])
    prox = np.clip(np.nan_to_num(src.proximity, nan=0.5), 0.0, 1.0)
    out: list[Box | None] = []
    for i in range(len(xs)):
        if i < first or i > last:
            out.append(None)
            continue
        scale = SIZE_FAR + SIZE_SPAN * prox[i]
        w = min(0.95, prior.width * scale)
        h = min(0.95, prior.height * scale)
        cx = float(np.clip(xs[i], w / 2, 1 - w / 2))
        # Nearer things sit lower in the frame (perspective), within the prior's band.
        cy = float(np.clip(prior.y_center + 0.08 * (prox[i] - 0.5), h / 2, 1 - h / 2))
        out.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    return out


def _confidence(src: SourceTrack, mono: bool) -> float:
    if mono:
        return 0.1
    c = src.confidence[src.active]
    return float(np.clip(np.mean(c) if c.size else 0.0, 0.0, 1.0))


def _caption(objects: list[LayoutObject], background: str) -> str:
    if not objects:
        return f"An empty scene, {background}."
    parts = []
    for o in objects:
        words = _MOTION_WORDS.get(o.motion, "")
        parts.append(f"{o.prompt} {words}".strip())
    text = " and ".join(parts)
    return f"{text[0].upper()}{text[1:]} in {background}."


def _names_from_hint(hint: str | None, count: int) -> list[str]:
    if not hint or not hint.strip():
        return []
    text = " ".join(hint.split())[:200]
    # commas and semicolons of any script (CJK's full-width ones and the ideographic comma)
    parts = [p.strip() for p in re.split(r"[,;\u3001\uff0c\uff1b]|\band\b", text) if p.strip()]
    return parts if count > 1 else [text]


def _noun(phrase: str) -> str:
    """The head noun of a short phrase: 'a big red car' -> 'car'. Words of any script
    count ('ein Hund' -> 'hund', '犬' -> '犬'); the small words and priors are English."""
    words = re.findall(r"[^\W\d_][\w'-]*", phrase.lower())
    stop = {"a", "an", "the", "some", "of", "with", "in", "on", "at", "from", "to", "and"}
    words = [w for w in words if w not in stop]
    if not words:
        return UNNAMED_LABEL
    noun = known_noun(words)  # a noun we have a prior for wins ("a dog barking" -> "dog")
    if noun is not None:
        return noun
    return words[-1] if len(words) <= 2 else words[0]
