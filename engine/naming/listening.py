"""Listening with an audio-language model: what it is asked, what it may answer, and how the
answer joins the measured cues.

The listener (``models/audio_listener.py``: llama.cpp's audio input) hears each measured
source's own excerpt (steered, masked and gated as for the tagger, up to ``MAX_EXCERPT_S``)
and then the whole clip, with the tagger's best guesses as hints. It answers per source a
label, a short description and a confidence, plus a caption and a background for the scene.
It cannot hear left from right (llama.cpp mixes audio to mono), so it never places anything:
positions and motion stay the measured ones, and its names go where the tagger's went.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..audio.io import Audio
from ..cues.spatial import STEP_FRAMES, AnalysisGrid
from ..cues.stereo import model_for
from ..cues.types import Cues, Tag
from ..jobs import CancelToken, Job
from ..planning.llm_schema import (MAX_BACKGROUND, MAX_CAPTION, MAX_LABEL, ReplyProblems,
                                   clean_text, load_json)
from ..planning.heard import LISTENER_CLASS
from ..cues.signals import source_signals

MAX_EXCERPT_S = 30.0   # llama.cpp pads each audio chunk to 30 s (Whisper-style encoders)
MAX_DESCRIPTION = 80
MAX_HINTS = 3


@dataclass
class SourceExcerpt:
    """One measured source as the listener hears it: mono ``samples`` ``(n,)`` float32."""

    source_id: int
    samples: np.ndarray
    hints: list[Tag] = field(default_factory=list)


@dataclass
class ListenRequest:
    """Everything the listener gets; ``whole`` is the clip's mono mix (at most
    ``MAX_EXCERPT_S``), every signal at ``sample_rate``."""

    excerpts: list[SourceExcerpt]
    whole: np.ndarray
    sample_rate: int

    @property
    def source_ids(self) -> list[int]:
        return [e.source_id for e in self.excerpts]


@dataclass(frozen=True)
class SourceHeard:
    source_id: int
    label: str
    description: str
    confidence: float


@dataclass
class ListenResult:
    sources: list[SourceHeard]
    caption: str
    background: str
    model: str = ""

    def source(self, source_id: int) -> SourceHeard | None:
        return next((s for s in self.sources if s.source_id == source_id), None)


@runtime_checkable
class Listener(Protocol):
    """Names the measured sources by listening to them (``models/audio_listener.py``)."""

    name: str

    def listen(self, request: ListenRequest, token: CancelToken) -> Job[ListenResult]:
        """A job that yields progress and returns the answer; raises on failure."""
        ...


def listen_request(audio: Audio, cues: Cues, *, max_s: float = MAX_EXCERPT_S) -> ListenRequest:
    """Each measured source's own excerpt (see :mod:`engine.cues.signals`) and the whole
    clip, from the audio and its cues (per-frame azimuth and loudness stand in for the
    per-step ones the tagger had)."""
    sr = int(audio.sample_rate)
    whole = _loudest(audio.mono(), sr, max_s)
    sources = [s for s in cues.sources if np.any(s.active)]
    if audio.is_mono or not sources:
        return ListenRequest([SourceExcerpt(s.id, whole, list(s.tags[:MAX_HINTS]))
                              for s in sources[:1]], whole, sr)
    grid = AnalysisGrid.for_rate(sr)
    n_steps = audio.samples.shape[-1] // (STEP_FRAMES * grid.hop)
    t_steps = (np.arange(n_steps) + 0.5) * grid.step_s
    t_frames = cues.frame_centres_s()
    az, power = [], []
    for s in sources:
        a = np.asarray(s.azimuth_deg, float)
        ok = np.isfinite(a)
        az.append(np.interp(t_steps, t_frames[ok], a[ok]) if ok.any() else np.zeros(n_steps))
        level = np.where(np.asarray(s.active, bool), np.nan_to_num(s.loudness_db, nan=-120.0),
                         -120.0)
        power.append(10 ** (np.interp(t_steps, t_frames, level) / 10))
    stereo = cues.stereo or {}
    kind = stereo.get("kind", "binaural")  # how the pair was made (SPEC 2)
    model = model_for(kind, grid, spacing_m=stereo.get("spacing_m"),
                      pattern=stereo.get("pattern"), diffuse_share=stereo.get("diffuse_share"),
                      head_scale=stereo.get("head_scale"), pan_law=stereo.get("pan_law"))
    signals = source_signals(audio.stereo(), sr, np.stack(az), np.stack(power), model=model,
                             max_s=max_s, binaural=kind == "binaural")
    return ListenRequest([SourceExcerpt(s.id, sig, list(s.tags[:MAX_HINTS]))
                          for s, sig in zip(sources, signals) if sig.size], whole, sr)


def _loudest(y: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    n = int(seconds * sr)
    y = np.asarray(y, dtype=np.float32)
    if y.size <= n:
        return y
    c = np.concatenate([[0.0], np.cumsum(y.astype(np.float64) ** 2)])
    hop = max(1, sr // 10)
    sums = (c[n:] - c[:-n])[::hop]
    start = int(np.argmax(sums)) * hop
    return y[start:start + n]


# -- what the model is asked and may answer --------------------------------------------------

SYSTEM_PROMPT = """\
You name the sounds in a recording. Each numbered sound is one source, already separated; \
a sound-tagger's guesses are given as hints and may be wrong. Then you hear the whole clip.
Reply with JSON only: for every source its label (one short common noun for the thing making \
the sound, as a person would say it: dog, truck, violin, footsteps), a description (a few \
plain words for a picture of it) and your confidence from 0 to 100; then a caption for the \
scene and a background (where it could be). Plain words, no directions: where each source is \
was measured and is not yours to say."""


def prompt_parts(request: ListenRequest, marker: str) -> str:
    """The user turn, with ``marker`` where each audio goes (one per excerpt, then the
    whole clip, in that order)."""
    lines = []
    for e in request.excerpts:
        hints = ", ".join(f"{t.label} {round(100 * t.score)}" for t in e.hints[:MAX_HINTS])
        lines.append(f"Source S{e.source_id}: {marker} (tagger: {hints or 'nothing sure'})")
    lines.append(f"Whole clip: {marker}")
    return "\n".join(lines)


def reply_schema(source_ids: list[int]) -> dict[str, Any]:
    """JSON schema of an answer: one entry per source, in order (integers as enums, the
    form llama-cpp-python's grammar converter honours)."""
    items = [{
        "type": "object",
        "properties": {
            "source": {"enum": [sid]},
            "label": {"type": "string", "minLength": 1, "maxLength": MAX_LABEL},
            "description": {"type": "string", "minLength": 1, "maxLength": MAX_DESCRIPTION},
            "confidence": {"enum": list(range(0, 101, 5))},
        },
        "required": ["source", "label", "description", "confidence"],
        "additionalProperties": False,
    } for sid in source_ids]
    return {
        "type": "object",
        "properties": {
            "sources": {"type": "array", "prefixItems": items},
            "caption": {"type": "string", "minLength": 1, "maxLength": MAX_CAPTION},
            "background": {"type": "string", "minLength": 1, "maxLength": MAX_BACKGROUND},
        },
        "required": ["sources", "caption", "background"],
        "additionalProperties": False,
    }


def parse_reply(text: str, source_ids: list[int], *, model: str = "") -> ListenResult:
    """The answer, checked field by field (replies are data from outside; the grammar is
    not trusted). Raises :class:`ReplyProblems` listing what is wrong."""
    data = load_json(text)
    problems: list[str] = []
    caption = clean_text(data.get("caption"), "caption", MAX_CAPTION, problems)
    background = clean_text(data.get("background"), "background", MAX_BACKGROUND, problems)
    entries = data.get("sources")
    if not isinstance(entries, list):
        raise ReplyProblems(problems + ["'sources' must be a list"])
    heard: list[SourceHeard] = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or e.get("source") not in source_ids:
            problems.append(f"sources[{i}] must be an object for one of S{source_ids}")
            continue
        label = clean_text(e.get("label"), f"sources[{i}].label", MAX_LABEL, problems)
        words = clean_text(e.get("description"), f"sources[{i}].description",
                            MAX_DESCRIPTION, problems)
        conf = e.get("confidence")
        if isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0 <= conf <= 100:
            problems.append(f"sources[{i}].confidence must be a number from 0 to 100")
            continue
        if label and words:
            heard.append(SourceHeard(int(e["source"]), label.lower(), words, conf / 100.0))
    missing = sorted(set(source_ids) - {h.source_id for h in heard})
    if missing and not problems:
        problems.append(f"no answer for {', '.join(f'S{m}' for m in missing)}")
    if problems:
        raise ReplyProblems(problems)
    return ListenResult(heard, caption or "", background or "", model)


def apply_to_cues(cues: Cues, result: ListenResult) -> list[str]:
    """Put the listener's names first in each source's tags (the tagger's stay as the
    alternatives) and its descriptions on the sources; returns notes for the user."""
    notes = []
    for src in cues.sources:
        heard = result.source(src.id)
        if heard is None:
            continue
        src.tags = [Tag(heard.label, heard.confidence, LISTENER_CLASS)] + [
            t for t in src.tags if t.label != heard.label]
        src.description = heard.description
        notes.append(f"S{src.id} heard as {heard.label} ({heard.description})")
    return notes
