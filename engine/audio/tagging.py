"""What a sound tagger gives and how it is called: :class:`Tag` and the :class:`Tagger` protocol.

They sit with the audio, at the bottom of the engine, because the cue extractor calls a tagger
on its separated signals and the cue types carry its tags; ``models/yamnet.py`` implements it.
The planner's and the renderer's protocols are in :mod:`engine.protocols`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Tag:
    """One guess at what is sounding: ``label`` a short noun ("car"), ``source_class`` the
    tagger's own class name ("Vehicle horn, car horn, honking")."""

    label: str
    score: float
    source_class: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(float(self.score), 4),
                "source_class": self.source_class}

    @classmethod
    def from_dict(cls, d: dict) -> "Tag":
        return cls(str(d["label"]), float(d["score"]), str(d.get("source_class", "")))


@dataclass(frozen=True)
class TimeWeights:
    """A weight per time step of a signal (``values[i]`` covers ``[i, i + 1) * step_s``).

    A tagger that pools its verdicts over time lets the steps it is given more weight count
    more (:meth:`over` averages the weight over a span).
    """

    values: np.ndarray
    step_s: float
    mass: np.ndarray | None = None  # how much each step's weight counts in a mean (its power)

    def over(self, start_s: float, end_s: float) -> float:
        """The (``mass``-weighted) mean weight over ``[start_s, end_s)``; a span beyond the
        end takes the last step."""
        v = np.asarray(self.values, dtype=float)
        if v.size == 0:
            return 1.0
        i0 = int(np.clip(np.floor(start_s / self.step_s), 0, v.size - 1))
        i1 = int(np.clip(np.ceil(end_s / self.step_s), i0 + 1, v.size))
        m = np.ones(v.size) if self.mass is None else np.asarray(self.mass, dtype=float)
        total = m[i0:i1].sum()
        return float((v[i0:i1] * m[i0:i1]).sum() / total) if total > 0 else float(v[i0:i1].mean())


@runtime_checkable
class Tagger(Protocol):
    """Names what is sounding in a mono signal."""

    name: str

    def tag(self, mono: np.ndarray, sample_rate: int, *, top_k: int = 5,
            weights: TimeWeights | None = None) -> list[Tag]:
        """Best guesses first. ``mono``: float32 ``(n,)``. Empty list for no confident guess.
        ``weights``: how much each moment of ``mono`` should count (None: all alike)."""
        ...
