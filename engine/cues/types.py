"""Typed cue values: what the planner is told about the sound, per video frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..audio.tagging import Tag

CUES_SCHEMA = "spa2v.cues/1"


@dataclass
class SourceTrack:
    """One sounding source, tracked over the video frames.

    Arrays have shape ``(num_frames,)``. ``azimuth_deg`` follows SPEC.md (+90 fully right,
    -90 fully left; NaN where unknown). ``confidence`` in [0, 1] weighs how much the
    direction can be trusted (coherence, activity). ``proximity`` in [0, 1] is relative
    nearness (1 = the nearest this source gets); absolute distance is unknowable from level.
    """

    id: int
    azimuth_deg: np.ndarray
    confidence: np.ndarray
    loudness_db: np.ndarray
    active: np.ndarray
    proximity: np.ndarray
    motion: str = "static"
    motion_confidence: float = 0.0
    tags: list[Tag] = field(default_factory=list)
    # Optional (added by the spatial extractor; older readers ignore it): the numbers the
    # motion label rests on, e.g. {"lateral_deg": -120.0, "level_db": 1.2, ...}.
    evidence: dict[str, float] = field(default_factory=dict)
    # Optional (added by an audio-language listener; older readers ignore it): a few words
    # describing what the source sounds like, for the renderer's prompt.
    description: str | None = None

    @property
    def label(self) -> str | None:
        return self.tags[0].label if self.tags else None

    def mean_azimuth(self) -> float:
        w = np.where(self.active & np.isfinite(self.azimuth_deg), self.confidence, 0.0)
        if w.sum() <= 0:
            return float("nan")
        return float(np.sum(np.nan_to_num(self.azimuth_deg) * w) / w.sum())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "motion": self.motion,
            "motion_confidence": round(float(self.motion_confidence), 4),
            "tags": [t.to_dict() for t in self.tags],
            "azimuth_deg": _floats(self.azimuth_deg, 2), "confidence": _floats(self.confidence, 3),
            "loudness_db": _floats(self.loudness_db, 2), "active": [bool(a) for a in self.active],
            "proximity": _floats(self.proximity, 3),
            **({"evidence": {k: round(float(v), 4) for k, v in self.evidence.items()}}
               if self.evidence else {}),
            **({"description": self.description} if self.description else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "SourceTrack":
        return cls(
            id=int(d["id"]), azimuth_deg=_array(d["azimuth_deg"]),
            confidence=_array(d["confidence"]), loudness_db=_array(d["loudness_db"]),
            active=np.asarray(d["active"], dtype=bool), proximity=_array(d["proximity"]),
            motion=str(d.get("motion", "static")),
            motion_confidence=float(d.get("motion_confidence", 0.0)),
            tags=[Tag.from_dict(t) for t in d.get("tags", [])],
            evidence={str(k): float(v) for k, v in d.get("evidence", {}).items()},
            description=d.get("description") or None,
        )


@dataclass
class Cues:
    """Spatial and semantic cues for a clip, sampled once per video frame.

    Frame ``i`` covers audio time ``[i, i+1) * duration_s / num_frames``.
    """

    duration_s: float
    num_frames: int
    sample_rate: int
    mono: bool
    loudness_db: np.ndarray
    centroid_hz: np.ndarray
    onsets_s: list[float] = field(default_factory=list)
    sources: list[SourceTrack] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extractor: str = "basic"
    # Optional (added by the spatial extractor; older readers ignore it): cumulative pitch
    # drift of the mix per frame in semitones, 0 at the first frame. A pass-by drops in
    # pitch as it goes by (Doppler); a steady source stays near 0.
    pitch_drift_st: np.ndarray | None = None
    # Optional: how the stereo was read (engine.cues.stereo.StereoDecision.to_dict(): kind,
    # chosen "auto" or "user", confidence, spacing_m for a spaced pair, evidence); None for
    # mono input.
    stereo: dict[str, Any] | None = None

    @property
    def fps(self) -> float:
        return self.num_frames / self.duration_s

    def frame_centres_s(self) -> np.ndarray:
        return (np.arange(self.num_frames) + 0.5) * self.duration_s / self.num_frames

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": CUES_SCHEMA, "extractor": self.extractor,
            "duration_s": round(float(self.duration_s), 6), "num_frames": self.num_frames,
            "sample_rate": self.sample_rate, "mono": self.mono,
            "loudness_db": _floats(self.loudness_db, 2),
            "centroid_hz": _floats(self.centroid_hz, 1),
            "onsets_s": [round(float(t), 4) for t in self.onsets_s],
            "tags": [t.to_dict() for t in self.tags],
            "sources": [s.to_dict() for s in self.sources], "notes": list(self.notes),
            **({"pitch_drift_st": _floats(self.pitch_drift_st, 3)}
               if self.pitch_drift_st is not None else {}),
            **({"stereo": dict(self.stereo)} if self.stereo is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Cues":
        if d.get("schema") != CUES_SCHEMA:
            raise ValueError(f"not a {CUES_SCHEMA} document: schema={d.get('schema')!r}")
        return cls(
            duration_s=float(d["duration_s"]), num_frames=int(d["num_frames"]),
            sample_rate=int(d["sample_rate"]), mono=bool(d["mono"]),
            loudness_db=_array(d["loudness_db"]), centroid_hz=_array(d["centroid_hz"]),
            onsets_s=[float(t) for t in d.get("onsets_s", [])],
            sources=[SourceTrack.from_dict(s) for s in d.get("sources", [])],
            tags=[Tag.from_dict(t) for t in d.get("tags", [])],
            notes=list(d.get("notes", [])), extractor=str(d.get("extractor", "basic")),
            pitch_drift_st=(_array(d["pitch_drift_st"]) if d.get("pitch_drift_st") is not None
                            else None),
            stereo=dict(d["stereo"]) if isinstance(d.get("stereo"), dict) else None,
        )


def _floats(a: np.ndarray, nd: int) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), nd) for v in np.asarray(a, float)]


def _array(v) -> np.ndarray:
    return np.array([np.nan if x is None else x for x in v], dtype=float)
