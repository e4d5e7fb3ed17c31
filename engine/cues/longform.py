"""Cues for long recordings in bounded memory: read a chunk at a time, measure each chunk at a
fixed analysis rate, and resample the joined tracks to the frames the layout asks for.

A 3-hour 48 kHz stereo file is 4 GB as float32; chunks of a minute keep the peak near 25 MB
of samples whatever the length.
"""

from __future__ import annotations

import os
from collections import defaultdict

import numpy as np

from ..audio.io import SILENCE_DBFS, Audio, audio_info, load_audio, sound_peak
from ..errors import BadInput
from ..jobs import CancelToken, Job, Log, stage_progress
from ..audio.tagging import Tagger
from ..layout.screen import x_from_azimuth
from .extract import extract_cues
from .types import Cues, SourceTrack, Tag

LONG_INPUT_S = 600.0
CHUNK_S = 60.0
ANALYSIS_FPS = 4.0


def extract_cues_chunked(path: str | os.PathLike, *, num_frames: int, tagger: Tagger | None,
                         token: CancelToken, chunk_s: float = CHUNK_S,
                         analysis_fps: float = ANALYSIS_FPS, max_sources: int = 3,
                         stereo: str | None = None, spacing_m: float | None = None,
                         pan_law: str | None = None) -> Job[Cues]:
    """Measure a long file chunk by chunk; returns cues with ``num_frames`` frames.

    Each chunk is analysed at ``analysis_fps`` frames per second; sources are linked across
    chunk boundaries by azimuth; the joined tracks are then averaged into ``num_frames``
    frames (confidence-weighted azimuth, power-mean loudness). The kind of stereo
    (``stereo``, see :mod:`engine.cues.stereo`) is decided once, on the first chunk with
    sound, and kept for the rest.
    """
    info = audio_info(path)
    duration = info.duration_s
    n_chunks = max(1, int(np.ceil(duration / chunk_s)))
    report = stage_progress("analyse")
    parts: list[Cues] = []
    peak = 0.0
    notes: list[str] = []
    kind, spacing, law, decided = stereo, spacing_m, pan_law, None
    for k in range(n_chunks):
        token.raise_if_cancelled()
        start = k * chunk_s
        span = min(chunk_s, duration - start)
        if span <= 1.0 / analysis_fps and parts:
            break
        audio = load_audio(path, start_s=start, duration_s=span, validate=False)
        peak = max(peak, _repair(audio, notes, start))
        frames = max(1, int(round(span * analysis_fps)))
        if peak > 0 or k == n_chunks - 1:
            parts.append(extract_cues(audio, num_frames=frames, tagger=tagger, token=token,
                                      max_sources=max_sources, stereo=kind, spacing_m=spacing,
                                      pan_law=law))
            if decided is None and parts[-1].stereo is not None:
                decided = parts[-1].stereo
                kind, spacing = decided["kind"], decided.get("spacing_m")
                law = decided.get("pan_law", law)
        else:
            parts.append(extract_cues(_quiet(audio), num_frames=frames, token=token,
                                      max_sources=max_sources, stereo=kind, spacing_m=spacing,
                                      pan_law=law))
        yield report((k + 1) / n_chunks, f"{start + span:.0f} of {duration:.0f} s")
    if peak <= 10 ** (SILENCE_DBFS / 20):
        raise BadInput(f"{info.path.name} is silent; there is no sound to place.",
                       hint="Check the input level or pick another file.")
    for note in dict.fromkeys(notes):
        yield Log(note, "warning")
    joined = join_cues(parts)
    joined.notes = list(dict.fromkeys(parts[0].notes + notes))
    out = resample_cues(joined, num_frames)
    out.stereo = decided
    return out


def _repair(audio: Audio, notes: list[str], start: float) -> float:
    x = audio.samples
    finite = np.isfinite(x)
    if not finite.all():
        x[~finite] = 0.0
        notes.append(f"NaN or infinite samples near {start:.0f} s were set to silence.")
    return sound_peak(x)   # a chunk of DC offset alone (a converter's pause) holds no sound


def _quiet(audio: Audio) -> Audio:
    # A silent leading chunk: give the extractor a whisper of noise so it can run uniformly.
    rng = np.random.default_rng(0)
    audio.samples = (rng.standard_normal(audio.samples.shape) * 1e-7).astype(np.float32)
    return audio


def join_cues(parts: list[Cues]) -> Cues:
    """Concatenate consecutive chunks' cues; sources are linked to the nearest azimuth of the
    previous chunk's end (within 30 degrees), else start a new track."""
    total_frames = sum(p.num_frames for p in parts)
    offsets = np.cumsum([0] + [p.num_frames for p in parts])
    t_offsets = np.cumsum([0.0] + [p.duration_s for p in parts])
    tracks: dict[int, dict[str, np.ndarray]] = {}
    meta: dict[int, dict] = {}
    last_az: dict[int, float] = {}
    next_id = 1
    for k, part in enumerate(parts):
        used: set[int] = set()
        for src in part.sources:
            start_az = _edge_azimuth(src, first=True)
            match = None
            if np.isfinite(start_az):
                cands = [(abs(az - start_az), tid) for tid, az in last_az.items()
                         if tid not in used and np.isfinite(az)]
                if cands and min(cands)[0] <= 30.0:
                    match = min(cands)[1]
            if match is None:
                match = next_id
                next_id += 1
                tracks[match] = _empty_track(total_frames)
                meta[match] = {"tags": defaultdict(float), "motions": defaultdict(float)}
            used.add(match)
            sl = slice(offsets[k], offsets[k + 1])
            for name in ("azimuth_deg", "confidence", "loudness_db", "active", "proximity"):
                tracks[match][name][sl] = getattr(src, name)
            for tag in src.tags:
                meta[match]["tags"][(tag.label, tag.source_class)] = max(
                    meta[match]["tags"][(tag.label, tag.source_class)], tag.score)
            meta[match]["motions"][src.motion] += src.motion_confidence * part.duration_s
            last_az[match] = _edge_azimuth(src, first=False)
    sources = []
    for tid, arrays in tracks.items():
        tags = sorted((Tag(label, score, cls) for (label, cls), score in meta[tid]["tags"].items()),
                      key=lambda t: -t.score)
        motions = meta[tid]["motions"]
        motion = max(motions, key=motions.get) if motions else "static"
        sources.append(SourceTrack(id=tid, tags=tags, motion=motion,
                                   motion_confidence=float(min(1.0, motions.get(motion, 0.0)
                                                               / max(t_offsets[-1], 1e-9))),
                                   **arrays))
    all_tags: dict[str, Tag] = {}
    for part in parts:
        for tag in part.tags:
            if tag.label not in all_tags or tag.score > all_tags[tag.label].score:
                all_tags[tag.label] = tag
    return Cues(
        duration_s=float(t_offsets[-1]), num_frames=total_frames, sample_rate=parts[0].sample_rate,
        mono=parts[0].mono, loudness_db=np.concatenate([p.loudness_db for p in parts]),
        centroid_hz=np.concatenate([p.centroid_hz for p in parts]),
        onsets_s=[t + t_offsets[k] for k, p in enumerate(parts) for t in p.onsets_s],
        sources=sources, tags=sorted(all_tags.values(), key=lambda t: -t.score),
        extractor=parts[0].extractor + "+chunked",
    )


def resample_cues(cues: Cues, num_frames: int) -> Cues:
    """Average per-frame tracks into ``num_frames`` equal spans of the clip."""
    if num_frames == cues.num_frames:
        return cues
    src_t = cues.frame_centres_s()
    edges = np.linspace(0.0, cues.duration_s, num_frames + 1)
    bins = np.clip(np.searchsorted(edges, src_t, side="right") - 1, 0, num_frames - 1)

    def mean(values, weights=None):
        out = np.full(num_frames, np.nan)
        for j in range(num_frames):
            sel = bins == j
            if not sel.any():
                continue
            v = values[sel]
            w = np.ones_like(v) if weights is None else weights[sel]
            ok = np.isfinite(v) & (w > 0)
            if ok.any():
                out[j] = float(np.sum(v[ok] * w[ok]) / np.sum(w[ok]))
        return _fill(out)

    def power_mean_db(db):
        return 10 * np.log10(np.maximum(mean(10 ** (np.asarray(db) / 10)), 1e-12))

    sources = []
    for s in cues.sources:
        w = s.confidence * s.active
        active = np.array([bool(np.any(s.active[bins == j])) for j in range(num_frames)])
        azimuth = mean(s.azimuth_deg, w + 1e-9)
        motion, motion_conf = _lateral_trend(azimuth, active) or (s.motion, s.motion_confidence)
        sources.append(SourceTrack(
            id=s.id, azimuth_deg=azimuth,
            confidence=mean(np.asarray(s.confidence, float)), loudness_db=power_mean_db(s.loudness_db),
            active=active, proximity=mean(np.asarray(s.proximity, float)), motion=motion,
            motion_confidence=motion_conf, tags=list(s.tags)))
    return Cues(duration_s=cues.duration_s, num_frames=num_frames, sample_rate=cues.sample_rate,
                mono=cues.mono, loudness_db=power_mean_db(cues.loudness_db),
                centroid_hz=mean(np.asarray(cues.centroid_hz, float)), onsets_s=list(cues.onsets_s),
                sources=sources, tags=list(cues.tags), notes=list(cues.notes),
                extractor=cues.extractor)


def _lateral_trend(azimuth: np.ndarray, active: np.ndarray) -> tuple[str, float] | None:
    """A slow crossing that no single chunk sees: the x-centre moves by a fifth of the frame
    or more over the whole clip (same threshold as the per-chunk motion rule)."""
    idx = np.flatnonzero(active & np.isfinite(azimuth))
    if len(idx) < 3:
        return None
    x = x_from_azimuth(azimuth[idx])
    slope = np.polyfit(idx / max(1, len(azimuth) - 1), x, 1)[0]
    if abs(slope) < 0.2:
        return None
    return ("left_to_right" if slope > 0 else "right_to_left"), float(min(1.0, abs(slope)))


def _edge_azimuth(src: SourceTrack, *, first: bool) -> float:
    idx = np.flatnonzero(src.active & np.isfinite(src.azimuth_deg))
    if not len(idx):
        return float("nan")
    pick = idx[: max(1, len(idx) // 4)] if first else idx[-max(1, len(idx) // 4):]
    return float(np.nanmedian(src.azimuth_deg[pick]))


def _empty_track(n: int) -> dict[str, np.ndarray]:
    return {"azimuth_deg": np.full(n, np.nan), "confidence": np.zeros(n),
            "loudness_db": np.full(n, -120.0), "active": np.zeros(n, bool),
            "proximity": np.zeros(n)}


def _fill(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    if ok.all() or not ok.any():
        return x
    idx = np.arange(len(x))
    return np.interp(idx, idx[ok], x[ok])
