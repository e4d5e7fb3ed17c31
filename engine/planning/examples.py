"""The in-context example bank and retrieval by cue and tag similarity (SpA2V's in-context
learning: the planner is shown the few worked examples most like the clip at hand).

Each example in ``resources/planner_examples/*.json`` is a cue summary (the same type the
prompt table is rendered from), an optional hint, and the reply a good planner gives:
``{"id", "title", "hint", "cues": CueSummary.to_dict(), "reply": {...}}``.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .llm_prompt import CueSummary, SourceSummary

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "resources" / "planner_examples"
CUE_WEIGHT = 0.6   # the rest is tag-word overlap


@dataclass(frozen=True)
class PlannerExample:
    id: str
    title: str
    summary: CueSummary
    hint: str | None
    reply: dict[str, Any]

    def reply_text(self) -> str:
        """The reply as the model should write it: compact JSON."""
        return json.dumps(self.reply, separators=(",", ":"), ensure_ascii=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PlannerExample":
        return cls(id=str(d["id"]), title=str(d.get("title", "")),
                   summary=CueSummary.from_dict(d["cues"]), hint=d.get("hint"),
                   reply=dict(d["reply"]))


def load_example_bank(folder: str | Path | None = None) -> tuple[PlannerExample, ...]:
    """All examples in ``folder`` (default: the bundled bank), sorted by id."""
    return _load(str(Path(folder) if folder is not None else EXAMPLES_DIR))


@functools.lru_cache(maxsize=4)
def _load(folder: str) -> tuple[PlannerExample, ...]:
    out = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            out.append(PlannerExample.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"planner example {path.name} is malformed: {e}") from None
    return tuple(sorted(out, key=lambda e: e.id))


def source_features(source: SourceSummary) -> np.ndarray:
    """What one source's cues look like, for similarity: shape ``(9,)``.

    Motion kind weighted by its confidence (static, lateral, approaching, receding), mean
    direction confidence, mean |azimuth| / 90, lateral span / 180, loudness rising, falling.
    """
    f = np.zeros(9)
    kind = {"left_to_right": 1, "right_to_left": 1, "approaching": 2, "receding": 3}
    f[kind.get(source.motion, 0)] = source.motion_confidence
    rows = [r for r in source.rows if r.azimuth_deg is not None]
    if rows:
        az = np.array([r.azimuth_deg for r in rows])
        f[4] = np.mean([r.confidence for r in rows])
        f[5] = np.mean(np.abs(az)) / 90
        f[6] = (az.max() - az.min()) / 180
        dbs = [r.loudness_db for r in rows if r.loudness_db is not None]
        trend = (dbs[-1] - dbs[0]) / 20 if len(dbs) >= 2 else 0.0
        f[7], f[8] = np.clip(trend, 0, 1), np.clip(-trend, 0, 1)
    return f


def cue_similarity(a: CueSummary, b: CueSummary) -> float:
    """How alike two clips' cues are, in [0, 1].

    Each source is matched to its most similar source in the other clip (cosine of
    :func:`source_features`), both ways, so a dog-and-passing-car clip is close to a
    passing-car example; the source count and mono-ness count a little on their own.
    """
    fa = [source_features(s) for s in a.sources]
    fb = [source_features(s) for s in b.sources]
    if not fa or not fb:
        match = 1.0 if not fa and not fb else 0.0
    else:
        sims = np.array([[_cosine(x, y) for y in fb] for x in fa])
        match = 0.5 * (sims.max(axis=1).mean() + sims.max(axis=0).mean())
    count = 1.0 / (1.0 + abs(len(fa) - len(fb)))
    mono = 1.0 if a.mono == b.mono else 0.0
    return float(0.7 * match + 0.15 * count + 0.15 * mono)


def _cosine(x: np.ndarray, y: np.ndarray) -> float:
    d = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y) / d if d > 0 else 0.0


def tag_words(summary: CueSummary, hint: str | None = None) -> set[str]:
    """Lower-case words of the sources' tags (and the hint), singular, for overlap."""
    text = " ".join(t for s in summary.sources for t, _ in s.tags) + " " + (hint or "")
    words = set()
    for w in re.findall(r"[a-z]+", text.lower()):
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        if len(w) > 2:
            words.add(w)
    return words


def similarity(a: CueSummary, b: CueSummary, *, hint_a: str | None = None,
               hint_b: str | None = None) -> float:
    """``CUE_WEIGHT`` x :func:`cue_similarity` + the rest x Jaccard overlap of tag words."""
    wa, wb = tag_words(a, hint_a), tag_words(b, hint_b)
    jac = len(wa & wb) / len(wa | wb) if wa | wb else 0.0
    return CUE_WEIGHT * cue_similarity(a, b) + (1 - CUE_WEIGHT) * jac


def retrieve_examples(summary: CueSummary, bank: tuple[PlannerExample, ...] | list, *,
                      k: int = 3, hint: str | None = None) -> list[PlannerExample]:
    """The ``k`` examples most like ``summary``, best first (ties broken by id)."""
    scored = sorted(bank, key=lambda e: (-similarity(summary, e.summary, hint_a=hint,
                                                     hint_b=e.hint), e.id))
    return list(scored[:k])
