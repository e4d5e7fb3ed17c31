"""What a language-model planner is told: the measured cues as a compact table, and the prompt.

Language models (and Gemini's audio input) mix stereo down before they listen, so they cannot
hear left from right. The planner therefore never asks them to: the cues measured by signal
processing are summarised at a few keyframes and given as numbers, including the screen ``x``
each direction maps to (docs/layout-format.md: ``x_center = 0.5 + az / 180``), so the model copies a number
instead of doing geometry.

The same summary type describes the in-context examples in ``resources/planner_examples/``,
so an example's table is rendered by exactly the code that renders the user's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cues.types import Cues, SourceTrack

MAX_TABLE_SOURCES = 6
MAX_KEYFRAMES = 6
MIN_KEYFRAMES = 3
KEYFRAME_SPACING_S = 2.5
MAX_HINT_CHARS = 300

SYSTEM_PROMPT = """\
You plan a short video from sound. Source directions were measured: trust them. Coordinates \
are percent: x 0 left .. 100 right, y 0 top .. 100 bottom; a source's x column is where it \
belongs.
Reply with JSON only: caption, background, objects. Each object: source (S number whose sound \
it makes, 0 if none), label (short common noun), prompt (a few words), motion (static, \
left_to_right, right_to_left, approaching, receding), boxes (one per keyframe: [x, y, w, h] \
centre and size, or null when not visible).
Rules: draw every source in each keyframe it is heard, within 10 of its x; nearer means \
bigger; real proportions; ground things low, flying things high; a crowd or flock is several \
objects with one source; sound that fills the scene (rain, wind) goes in caption and \
background, not boxes; at most 8 objects; plain words."""


@dataclass(frozen=True)
class CueRow:
    """One source at one keyframe. ``azimuth_deg`` is None where the source is silent."""

    azimuth_deg: float | None
    confidence: float
    loudness_db: float | None
    proximity: float | None

    @property
    def x_pct(self) -> int | None:
        if self.azimuth_deg is None:
            return None
        return int(round(50 + float(np.clip(self.azimuth_deg, -90, 90)) / 1.8))

    def to_list(self) -> list | None:
        if self.azimuth_deg is None:
            return None
        return [round(self.azimuth_deg), round(self.confidence, 2),
                None if self.loudness_db is None else round(self.loudness_db),
                None if self.proximity is None else round(self.proximity, 2)]

    @classmethod
    def from_list(cls, v: list | None) -> "CueRow":
        if v is None:
            return cls(None, 0.0, None, None)
        az, conf, db, near = v
        return cls(float(az), float(conf), None if db is None else float(db),
                   None if near is None else float(near))


@dataclass
class SourceSummary:
    """A tracked source: what the tagger thinks it is, its motion, and one row per keyframe."""

    id: int
    tags: list[tuple[str, float]]
    motion: str
    motion_confidence: float
    rows: list[CueRow]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "tags": [[t, round(s, 2)] for t, s in self.tags],
                "motion": self.motion, "motion_confidence": round(self.motion_confidence, 2),
                "rows": [r.to_list() for r in self.rows]}

    @classmethod
    def from_dict(cls, d: dict) -> "SourceSummary":
        return cls(id=int(d["id"]), tags=[(str(t), float(s)) for t, s in d.get("tags", [])],
                   motion=str(d.get("motion", "static")),
                   motion_confidence=float(d.get("motion_confidence", 0.0)),
                   rows=[CueRow.from_list(r) for r in d["rows"]])


@dataclass
class CueSummary:
    """The cues at ``keyframes`` (video frame indices, first and last frame included)."""

    duration_s: float
    num_frames: int
    keyframes: list[int]
    sources: list[SourceSummary] = field(default_factory=list)
    mono: bool = False

    @property
    def times_s(self) -> list[float]:
        """Centre time (s) of each keyframe's video frame."""
        return [(k + 0.5) * self.duration_s / self.num_frames for k in self.keyframes]

    def source_ids(self) -> list[int]:
        return [s.id for s in self.sources]

    def to_dict(self) -> dict[str, Any]:
        return {"duration_s": self.duration_s, "num_frames": self.num_frames,
                "keyframes": list(self.keyframes), "mono": self.mono,
                "sources": [s.to_dict() for s in self.sources]}

    @classmethod
    def from_dict(cls, d: dict) -> "CueSummary":
        summary = cls(duration_s=float(d["duration_s"]), num_frames=int(d["num_frames"]),
                      keyframes=[int(k) for k in d["keyframes"]], mono=bool(d.get("mono", False)),
                      sources=[SourceSummary.from_dict(s) for s in d.get("sources", [])])
        for s in summary.sources:
            if len(s.rows) != len(summary.keyframes):
                raise ValueError(f"source {s.id} has {len(s.rows)} rows for "
                                 f"{len(summary.keyframes)} keyframes")
        return summary


def keyframe_indices(duration_s: float, num_frames: int) -> list[int]:
    """Frames the planner places boxes at: about one every 2.5 s, 3 to 6 of them.

    The engine interpolates between them (``interpolate_keyframes``); few keyframes keep the
    model's reply short, and cue motion over a clip of seconds is smooth at that spacing.
    """
    if num_frames <= MIN_KEYFRAMES:
        return list(range(num_frames))
    count = 1 + math.ceil(duration_s / KEYFRAME_SPACING_S)
    count = int(np.clip(count, MIN_KEYFRAMES, MAX_KEYFRAMES))
    keys = np.unique(np.round(np.linspace(0, num_frames - 1, count)).astype(int))
    return [int(k) for k in keys]


def summarize_cues(cues: Cues, *, keyframes: list[int] | None = None) -> CueSummary:
    """Cue values at a few keyframes, for a language model.

    Parameters
    ----------
    cues : per-frame cues (arrays of shape ``(num_frames,)`` per source).
    keyframes : frame indices to sample; by default :func:`keyframe_indices`.

    Each keyframe row averages the frames within a quarter of the keyframe spacing around it,
    weighting direction by confidence, so that one noisy frame does not decide the row. The
    most active sources come first, at most ``MAX_TABLE_SOURCES`` of them.
    """
    n = cues.num_frames
    keys = keyframes if keyframes is not None else keyframe_indices(cues.duration_s, n)
    spacing = (n - 1) / max(1, len(keys) - 1)
    half = max(0, int(round(spacing / 4)))
    ranked = sorted((s for s in cues.sources if np.any(s.active)),
                    key=lambda s: (-int(np.sum(s.active)), s.id))[:MAX_TABLE_SOURCES]
    sources = [_summarize_source(s, keys, half, cues.mono) for s in sorted(ranked, key=lambda s: s.id)]
    return CueSummary(duration_s=float(cues.duration_s), num_frames=n, keyframes=list(keys),
                      sources=sources, mono=bool(cues.mono))


def _summarize_source(src: SourceTrack, keys: list[int], half: int, mono: bool) -> SourceSummary:
    n = len(src.azimuth_deg)
    rows = []
    for k in keys:
        sl = slice(max(0, k - half), min(n, k + half + 1))
        active = np.asarray(src.active[sl], bool)
        az = np.asarray(src.azimuth_deg[sl], float)
        conf = np.clip(np.nan_to_num(np.asarray(src.confidence[sl], float)), 0, 1)
        use = active & np.isfinite(az)
        if not use.any():
            rows.append(CueRow(None, 0.0, None, None))
            continue
        w = conf[use]
        az_mean = float(np.average(az[use], weights=w)) if w.sum() > 0 else float(az[use].mean())
        db = np.asarray(src.loudness_db[sl], float)[use]
        near = np.asarray(src.proximity[sl], float)[use]
        rows.append(CueRow(
            azimuth_deg=0.0 if mono else float(np.clip(az_mean, -90, 90)),
            confidence=0.0 if mono else float(conf[use].mean()),
            loudness_db=_finite_mean(db), proximity=_finite_mean(near)))
    tags = [(t.label, float(t.score)) for t in src.tags[:3]]
    return SourceSummary(id=src.id, tags=tags, motion=src.motion,
                         motion_confidence=float(src.motion_confidence), rows=rows)


def _finite_mean(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else None


def render_cue_table(summary: CueSummary) -> str:
    """The cues as a few lines of text: one header line per source, one row per keyframe.

    Columns per source: ``az`` azimuth in degrees (-90 left .. +90 right), ``x`` the screen
    centre in percent that azimuth maps to, ``conf`` how far the direction can be trusted,
    ``dB`` loudness, ``near`` relative nearness (1 = the nearest this source gets); ``-`` where
    the source is silent.
    """
    step = summary.duration_s / max(1, len(summary.keyframes) - 1)
    lines = [f"clip {summary.duration_s:.1f} s; keyframes k0..k{len(summary.keyframes) - 1}, "
             f"every {step:.1f} s"]
    if summary.mono:
        lines.append("mono recording: directions unknown, x is a guess")
    if not summary.sources:
        lines.append("no distinct source was found")
        return "\n".join(lines)
    for s in summary.sources:
        tags = ", ".join(f"{t} {_tenths(sc)}" for t, sc in s.tags) or "unknown"
        lines.append(f"S{s.id}: {tags}; motion {s.motion} {_tenths(s.motion_confidence)}")
    header = "k | " + " | ".join(f"S{s.id} az x conf dB near" for s in summary.sources)
    lines.append(header)
    for i in range(len(summary.keyframes)):
        cells = [_cell(s.rows[i]) for s in summary.sources]
        lines.append(f"k{i} | " + " | ".join(cells))
    return "\n".join(lines)


def _cell(row: CueRow) -> str:
    if row.azimuth_deg is None:
        return "-"
    db = "?" if row.loudness_db is None else f"{row.loudness_db:.0f}"
    near = "?" if row.proximity is None else _tenths(row.proximity)
    return f"{row.azimuth_deg:+.0f} {row.x_pct} {_tenths(row.confidence)} {db} {near}"


def _tenths(v: float) -> str:
    """0.83 -> '.8', 1.0 -> '1': one token fewer per number for digit-wise tokenizers."""
    v = round(float(np.clip(v, 0.0, 1.0)), 1)
    return "1" if v >= 1.0 else f"{v:.1f}"[1:]


def clean_hint(hint: str | None) -> str | None:
    """The user's hint as one short line (control characters dropped, length capped)."""
    if not hint:
        return None
    text = " ".join("".join(c if c.isprintable() else " " for c in hint).split())
    return text[:MAX_HINT_CHARS] or None


def user_message(summary: CueSummary, hint: str | None) -> str:
    hint = clean_hint(hint)
    return f"Cues:\n{render_cue_table(summary)}\nHint: {hint or 'none'}"


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a chat: ``role`` is ``system``, ``user`` or ``assistant``. ``clip`` marks
    the user turn about the clip itself (not an example), where a backend that listens
    attaches the audio."""

    role: str
    content: str
    clip: bool = False


def build_messages(summary: CueSummary, hint: str | None,
                   examples: list[tuple[CueSummary, str | None, str]]) -> list[ChatMessage]:
    """System prompt, then each example as a user turn and the assistant's reply, then the
    clip's own cues. ``examples`` holds ``(summary, hint, reply JSON text)``."""
    messages = [ChatMessage("system", SYSTEM_PROMPT)]
    for ex_summary, ex_hint, ex_reply in examples:
        messages.append(ChatMessage("user", user_message(ex_summary, ex_hint)))
        messages.append(ChatMessage("assistant", ex_reply))
    messages.append(ChatMessage("user", user_message(summary, hint), clip=True))
    return messages
