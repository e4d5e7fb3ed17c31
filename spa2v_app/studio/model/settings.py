"""The studio's own preferences (not the project's): one JSON file in the config folder.

Secrets never go here: the Gemini API key lives in the OS keyring (see :mod:`.secrets`).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from engine.audio.stereo_kinds import DEFAULT_STEREO
from engine.fileio import write_json_atomic
from models.backends import DEFAULT_PLANNER, DEFAULT_RENDERER, PLANNERS, RENDERERS
from models.diffusion.memory import TIER_CHOICES as MEMORY_TIERS

from .paths import config_dir, default_models_dir, recordings_dir
from .stereo import known_pan_law, known_spacing, known_stereo

SETTINGS_SCHEMA = "spa2v.studio-settings/1"
DEVICES = ("auto", "cpu", "cuda")
# Frame sizes offered by Export (what video makers post): the square default and a square
# post, 16:9 HD, and a phone's upright 9:16. "WxH", as ``spa2v render --size`` takes it.
VIDEO_SIZES: tuple[tuple[str, str], ...] = (
    ("Square, 512 × 512", "512x512"),
    ("Square, 1080 × 1080", "1080x1080"),
    ("16:9, 1280 × 720 (720p)", "1280x720"),
    ("16:9, 1920 × 1080 (1080p)", "1920x1080"),
    ("Vertical 9:16, 1080 × 1920 (phones)", "1080x1920"),
)


def parse_size(text: str) -> tuple[int, int] | None:
    """``"1920x1080"`` -> ``(1920, 1080)``; ``None`` for anything else."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        return None
    return (w, h) if w > 0 and h > 0 else None


@dataclass
class StudioSettings:
    planner: str = DEFAULT_PLANNER
    renderer: str = DEFAULT_RENDERER
    llm_model_path: str = ""
    gemini_send_audio: bool = True  # Gemini hears the clip; off: it gets the cue table only
    models_dir: str = field(default_factory=lambda: str(default_models_dir()))
    recordings_dir: str = field(default_factory=lambda: str(recordings_dir()))
    device: str = "auto"
    memory_tier: str = "auto"
    plan_frames: int = 16
    video_fps: float = 24.0
    seed: int = 0
    steps: int = 25
    video_labels: bool = False  # object names in rendered videos (the layout view always has them)
    video_size: str = ""  # Export's frame size, "WxH" (VIDEO_SIZES); "": the layout's own
    input_device: str = ""
    input_channels: str = "1+2"
    sample_rate: int = 48000
    recent: list[str] = field(default_factory=list)
    # Where Open, Import and Save as… start: the folder of the last file opened, imported or
    # saved (home until then).
    last_folder: str = ""
    # The window's size and place, and its panels' (Qt's saveGeometry / saveState, base64).
    window_geometry: str = ""
    window_state: str = ""
    # "How was this recorded?" per input device name (a phone, a handheld XY recorder and a
    # dummy head each keep their own answer).
    stereo_by_device: dict[str, str] = field(default_factory=dict)
    # ... and, for a spaced pair, how far apart its microphones are (metres), when known.
    spacing_by_device: dict[str, float] = field(default_factory=dict)
    # ... and, for a pan-pot mix (a mixer or a game as the input), its pan law, when known.
    pan_law_by_device: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SETTINGS_SCHEMA, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "StudioSettings":
        """Unknown or mistyped keys fall back to defaults: a bad preference must not stop the
        app from starting."""
        s = cls()
        for f in fields(cls):
            if f.name not in d:
                continue
            value, kind = d[f.name], type(getattr(s, f.name))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
                setattr(s, f.name, value)
        if s.planner not in PLANNERS:
            s.planner = DEFAULT_PLANNER
        if s.renderer not in RENDERERS:
            s.renderer = DEFAULT_RENDERER
        if s.device not in DEVICES:
            s.device = "auto"
        if s.memory_tier not in MEMORY_TIERS:
            s.memory_tier = "auto"
        s.plan_frames = max(1, min(10_000, s.plan_frames))
        if s.video_size not in dict(map(reversed, VIDEO_SIZES)):
            s.video_size = ""
        s.stereo_by_device = {str(k): known_stereo(v) for k, v in s.stereo_by_device.items()
                              if isinstance(v, str)}
        s.spacing_by_device = {str(k): known_spacing(v) for k, v in s.spacing_by_device.items()
                               if known_spacing(v) is not None}
        s.pan_law_by_device = {str(k): v for k, v in s.pan_law_by_device.items()
                               if known_pan_law(v) is not None}
        return s

    def stereo_for(self, device_name: str) -> str:
        """How this input device records (the default, ``auto``, for one never answered)."""
        return self.stereo_by_device.get(device_name, DEFAULT_STEREO)

    def remember_stereo(self, device_name: str, kind: str) -> None:
        if device_name:
            self.stereo_by_device[device_name] = known_stereo(kind)

    def spacing_for(self, device_name: str) -> float | None:
        """This device's microphone spacing (m) as the user gave it; ``None``: not known."""
        return self.spacing_by_device.get(device_name)

    def remember_spacing(self, device_name: str, spacing_m: float | None) -> None:
        _remember(self.spacing_by_device, device_name, known_spacing(spacing_m))

    def pan_law_for(self, device_name: str) -> str | None:
        """This device's pan law as the user gave it; ``None``: not known."""
        return self.pan_law_by_device.get(device_name)

    def remember_pan_law(self, device_name: str, law: str | None) -> None:
        _remember(self.pan_law_by_device, device_name, known_pan_law(law))

    def add_recent(self, path: str | Path, limit: int = 8) -> None:
        p = str(Path(path).absolute())
        self.recent = [p] + [r for r in self.recent if r != p][: limit - 1]
        self.remember_folder(p)

    def remember_folder(self, path: str | Path) -> None:
        """``path`` (a file) was opened, imported or saved: the next dialog starts beside it."""
        self.last_folder = str(Path(path).absolute().parent)

    def start_folder(self) -> Path:
        """Where a file dialog opens: the last folder used while it exists, else home."""
        folder = Path(self.last_folder) if self.last_folder else None
        return folder if folder is not None and folder.is_dir() else Path.home()


def settings_path() -> Path:
    return config_dir() / "studio.json"


def load_settings() -> StudioSettings:
    with contextlib.suppress(OSError, ValueError, TypeError):
        return StudioSettings.from_dict(json.loads(settings_path().read_text(encoding="utf-8")))
    return StudioSettings()


def save_settings(settings: StudioSettings) -> None:
    write_json_atomic(settings_path(), settings.to_dict())


def _remember(by_device: dict, device_name: str, value) -> None:
    """Keep ``value`` for the input device ``device_name``, or forget it where ``value`` is
    ``None`` (not known); a recording with no device name remembers nothing."""
    if not device_name:
        return
    if value is None:
        by_device.pop(device_name, None)
    else:
        by_device[device_name] = value
