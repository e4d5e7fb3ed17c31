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


@runtime_checkable
class Tagger(Protocol):
    """Names what is sounding in a mono signal."""

    name: str

    def tag(self, mono: np.ndarray, sample_rate: int, *, top_k: int = 5) -> list[Tag]:
        """Best guesses first. ``mono``: float32 ``(n,)``. Empty list for no confident guess."""
        ...
