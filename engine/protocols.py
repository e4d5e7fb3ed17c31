"""The small protocols that model-backed parts plug into: the planner and the renderer.

The engine ships one built-in implementation of each (rule-based planner, layout preview
renderer); ``models/`` adapts real model libraries (llama.cpp, Gemini, diffusers) to them, and
``models.backends`` chooses which to use. The sound tagger's protocol is lower down, in
:mod:`engine.audio.tagging`, since the cue extractor calls it; this module sits above the cues
(a plan request carries them) and below planning and rendering (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .audio.loudness import LoudnessTrack
from .cues.types import Cues
from .jobs import CancelToken, Job
from .layout import Layout


@dataclass
class PlanRequest:
    """Everything a planner gets: measured cues, the user's hint, the frame geometry."""

    cues: Cues
    hint: str | None = None
    audio_path: Path | None = None
    width: int = 512
    height: int = 512


@runtime_checkable
class Planner(Protocol):
    name: str

    def plan(self, request: PlanRequest, token: CancelToken) -> Job[Layout]:
        """A job that yields progress events and returns a valid :class:`Layout`."""
        ...


@dataclass(frozen=True)
class Frame:
    """A rendered video frame, RGB uint8 ``(H, W, 3)``; frame ``index`` of a stream at ``fps``."""

    image: np.ndarray
    index: int
    fps: float


@dataclass
class RenderSettings:
    """How to render. ``fps`` is the output (playback) rate; the layout's own rate may be lower
    (16 diffusion frames over a clip) and frames are then held or blended up to ``fps``."""

    renderer: str = "preview"
    fps: float = 24.0
    width: int | None = None
    height: int | None = None
    seed: int = 0
    steps: int = 25
    guidance_scale: float = 7.5
    memory_tier: str = "auto"
    options: dict[str, Any] = field(default_factory=dict)
    # Preview renderer: draw each object's name (off in exported videos unless asked for), and
    # the mix loudness over time (render_job reads it from the audio when the renderer wants it).
    labels: bool = False
    loudness: LoudnessTrack | None = None


@runtime_checkable
class Renderer(Protocol):
    name: str

    def render(self, layout: Layout, settings: RenderSettings, token: CancelToken) -> Job[None]:
        """A job that yields :class:`Frame` values in order (plus progress/preview/log events)."""
        ...
