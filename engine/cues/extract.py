"""Cue extraction: from stereo audio to per-video-frame spatial and semantic cues.

Stages (each in its own module):

1. :mod:`engine.cues.analysis`: one pass over the recording in chunks: interaural cues
   (GCC-PHAT ITD, per-band ILD, coherence; :mod:`engine.cues.spatial`) fused into an azimuth
   likelihood calibrated on the MIT KEMAR HRTF (:mod:`engine.cues.calibration`) and smoothed
   by an HMM tracker (:mod:`engine.cues.tracking`); loudness, centroid, onsets, pitch drift
   (:mod:`engine.cues.spectral`); per-bin direction histograms.
2. :mod:`engine.cues.separation`: how many sources (up to ``max_sources``) and where; for
   more than one, a second pass tracks each on its own time-frequency mask.
3. Per source: activity, proximity, motion label (:mod:`engine.cues.motion`), tags on its
   own (masked) signal; everything resampled to the video frames.

Mono input gives one source with unknown direction (NaN azimuth, confidence 0) and a note.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..audio.io import MIN_ANALYSIS_S, Audio, too_short_message
from ..audio.stereo_kinds import SPACED, check_stereo
from ..errors import BadInput
from ..jobs import CancelToken, Job, run_job, stage_progress
from ..audio.tagging import Tagger
from .signals import source_signals
from .analysis import StepCues, analyse_mix_job
from .calibration import default_calibration
from .diffuse import band_diffuse_coherence, wetness
from .frames import (activity_mask, frame_mean, presence_mask, proximity_from_level,
                     sounding_frames)
from .motion import PAIR_MAX_WET, classify_motion, level_envelope, pair_distance_change
from .multisource import analyse_sources_job
from .binmodel import bin_model
from .blocks import BLOCK_STEPS
from .separation import find_sources
from .spatial import AnalysisGrid
from .stereo import calibration_for, model_for, resolve_stereo
from .types import Cues, SourceTrack, Tag

EXTRACTOR = "spatial/1"
TAG_MAX_S = 10.0
MIN_APART_DEG = 15.0
MAX_BELOW_DB = 12.0
DIRECT_EVIDENCE = ("mix", "gcc", "pair", "dry pair", "corroborated", "low band", "onset", "turns",
                   "chord")
SEPARATED_LEVEL_MIN_DB = 9.0  # a masked level also moves with how the bins are shared


def extract_cues(audio: Audio, *, num_frames: int, tagger: Tagger | None = None,
                 token: CancelToken | None = None, max_sources: int = 3,
                 stereo: str | None = None, spacing_m: float | None = None,
                 pan_law: str | None = None) -> Cues:
    """Measure cues once per video frame.

    Parameters
    ----------
    audio : Audio with samples ``[shape=(1 or 2, n)]``, channel 0 = left.
    num_frames : video frames; frame i covers ``[i, i+1) * duration / num_frames``.
    tagger : names what is sounding (optional); each separated source is tagged on its own
        masked signal.
    token : cancel flag, checked between chunks and stages.
    max_sources : upper bound on separated sources (1 to 3).
    stereo : how the recording was made (:data:`engine.audio.stereo_kinds.STEREO_CHOICES`);
        ``None`` or ``"auto"`` decides from the recording (:mod:`engine.cues.stereo`).
    spacing_m : a spaced pair's microphone spacing, when known (else estimated).
    pan_law : a pan-pot mix's pan law (:data:`engine.audio.stereo_kinds.PAN_LAWS`), when
        known (else constant power).

    Returns
    -------
    Cues with one :class:`SourceTrack` per source found.
    """
    return run_job(extract_cues_job(audio, num_frames=num_frames, tagger=tagger, token=token,
                                    max_sources=max_sources, stereo=stereo,
                                    spacing_m=spacing_m, pan_law=pan_law))


def extract_cues_job(audio: Audio, *, num_frames: int, tagger: Tagger | None = None,
                     token: CancelToken | None = None, max_sources: int = 3,
                     stereo: str | None = None, spacing_m: float | None = None,
                     pan_law: str | None = None) -> Job[Cues]:
    """:func:`extract_cues` as a job: yields progress (with ETA) and returns the Cues."""
    if int(num_frames) < 1:
        raise BadInput(f"num_frames must be at least 1, got {num_frames}.")
    if not 1 <= int(max_sources) <= 3:
        raise BadInput(f"max_sources must be 1, 2 or 3, got {max_sources}.")
    num_frames = int(num_frames)
    sr = int(audio.sample_rate)
    if audio.samples.shape[-1] < int(MIN_ANALYSIS_S * sr):
        raise BadInput(too_short_message(audio.path, audio.duration_s),
                       hint="Use a longer recording.")
    choice = check_stereo(stereo)
    report = stage_progress("cues")
    stereo = audio.stereo()
    grid = AnalysisGrid.for_rate(sr)
    if audio.is_mono:
        decision = None
        cal, model = default_calibration(), bin_model(grid)
        mask_model = model
    else:
        decision = resolve_stereo(choice, stereo, sr, spacing_m=spacing_m, pan_law=pan_law)
        tables = decision.tables
        cal = calibration_for(decision.kind, **tables)
        model = model_for(decision.kind, grid, **tables)
        mask_model = model_for(decision.kind, grid, for_masks=True, **tables)
    steps = yield from analyse_mix_job(
        stereo, sr, cal, model, token=token,
        report=lambda f, d="": report(0.6 * f, f"listening: {d}"))
    duration = audio.duration_s
    notes = list(audio.notes)
    if decision is not None and decision.chosen != "user":
        notes.append(decision.describe())
    mix_active = activity_mask(steps.power)
    if audio.is_mono:
        sources = [_mono_source(steps, mix_active, duration, num_frames)]
    else:
        specs = find_sources(steps, mix_active, max_sources=max_sources, model=model, cal=cal)
        per_source = [steps]
        heard: list[np.ndarray | None] = [None]
        turns: list[np.ndarray | None] = [None]
        if len(specs) > 1:
            separated = yield from analyse_sources_job(
                stereo, sr, specs, cal, mask_model, steps, token=token,
                report=lambda f, d="": report(0.6 + 0.3 * f, f"separating: {d}"))
            spec_of = {id(s): sp for s, sp in zip(separated, specs)}
            separated = _distinct(separated, specs)
            if len(separated) > 1:
                per_source = separated
                turns = [_turns(spec_of[id(s)]) for s in separated]
                heard = [None if k is None else _heard_span(k) for k in turns]
        if len(per_source) == 1 and steps.sounding_azimuth_deg is not None:
            # One source: placed by the mix's track that hears every step it sounds in (a
            # pass-by's quieter ends included), not the one the counting stages read.
            per_source = [replace(steps, azimuth_deg=steps.sounding_azimuth_deg,
                                  spread_deg=steps.sounding_spread_deg)]
        sources = [_source_track(k + 1, s, steps, duration, num_frames,
                                 separated=len(per_source) > 1, heard=h,
                                 diffuse=_room_diffuse(cal),
                                 omni_pair=_dry_omni_pair(decision, steps, mix_active, cal))
                   for k, (s, h) in enumerate(zip(per_source, heard))]
        if len(per_source) > 1:
            notes.append(f"Heard {len(per_source)} sources at once; each is tracked on its own "
                         "time-frequency mask.")
    steps.chunk_spectra = None  # kept for the second pass only
    if token is not None:
        token.raise_if_cancelled()
    mix_tags: list[Tag] = []
    if tagger is not None:
        yield report(0.92, "naming sounds")
        if audio.is_mono:
            mix_tags = _tag(tagger, audio.mono(), sr, notes)
            sources[0].tags = list(mix_tags)
        else:  # each source's own signal: steered to it, masked, while it sounds
            # Only a head colours a source by direction; other pairs are steered plainly.
            # A source that takes turns is heard in its own turns only: between them its mask
            # holds whatever sounds near its place (a car passing the dog's side).
            own = source_signals(stereo, sr, np.stack([s.azimuth_deg for s in per_source]),
                                 np.stack([s.power for s in per_source]), model=mask_model,
                                 sounds_in=_sounds_in(per_source, turns),
                                 max_s=TAG_MAX_S, ild_gain=per_source[0].ild_gain,
                                 binaural=decision is not None and decision.kind == "binaural")
            for src, mono in zip(sources, own):
                src.tags = _tag(tagger, mono, sr, notes) if mono.size else []
            # One source heard: its steered signal is the whole recording's best hearing, so
            # the mix is named by it (the tagger runs once); several: the mix on its own.
            mix_tags = (list(sources[0].tags) if len(sources) == 1
                        else _tag(tagger, audio.mono(), sr, notes))
    t = steps.times_s
    loud = frame_mean(t, 10 * np.log10(steps.power + 1e-12), None, duration, num_frames)
    centroid = frame_mean(t, np.nan_to_num(steps.centroid_hz), steps.power, duration, num_frames)
    yield report(1.0, f"{len(sources)} source(s)")
    return Cues(duration_s=duration, num_frames=num_frames, sample_rate=sr, mono=audio.is_mono,
                loudness_db=loud, centroid_hz=centroid, onsets_s=list(steps.onsets_s),
                sources=sources, tags=mix_tags, notes=notes, extractor=EXTRACTOR,
                pitch_drift_st=_pitch_drift(steps, duration, num_frames),
                stereo=None if decision is None else decision.to_dict())


def _pitch_drift(steps: StepCues, duration: float, num_frames: int) -> np.ndarray:
    """Cumulative pitch drift (semitones) at each frame centre, from the per-block shifts."""
    shift = np.asarray(steps.pitch_shift_st, dtype=float)
    if shift.size == 0:
        return np.zeros(num_frames)
    t = (np.arange(shift.size) + 1.0) * steps.step_s * BLOCK_STEPS
    centres = (np.arange(num_frames) + 0.5) * duration / num_frames
    drift = np.interp(centres, t, np.cumsum(shift))
    return drift - drift[0]


def _distinct(sources: list[StepCues], specs) -> list[StepCues]:
    """Drop a separated source whose own track ends up on top of an earlier (stronger) one
    (the mask found a second view of the same sound, not a second sound), or, when only the
    bin histograms found it, that is far quieter than the loudest (what is left over from
    the others' masks). The mix's own track, a steady GCC peak, a two-source fit, a
    histogram track the fits confirm and a low-band path are evidence enough on their own:
    masks that give one source the bins both share understate the other's level, by 15-20 dB
    where one sound is far broader than the other."""
    level = [10 * np.log10(np.percentile(s.power, 90) + 1e-20) for s in sources]
    top = max(level)
    kept: list[StepCues] = []
    for s, lv, spec in zip(sources, level, specs):
        if lv < top - MAX_BELOW_DB and spec.origin not in DIRECT_EVIDENCE:
            continue
        if all(np.median(np.abs(s.azimuth_deg - k.azimuth_deg)) >= MIN_APART_DEG for k in kept):
            kept.append(s)
    return kept


def _turns(spec) -> np.ndarray | None:
    """The steps in which the mix's own track heard a source that takes turns with others
    (``origin`` "turns", :func:`engine.cues.separation._turn_sources`: the steps the turn
    assignment gave it), else None (the source sounds wherever its mask says)."""
    if spec.origin != "turns" or not spec.seen.any():
        return None
    return np.asarray(spec.seen, bool)


def _sounds_in(per_source: list[StepCues], turns: list[np.ndarray | None]
               ) -> np.ndarray | None:
    """``(P, S)``: the steps each source can sound in (its turns, :func:`_turns`; every step
    for a source found otherwise), or None when no source takes turns."""
    if all(k is None for k in turns):
        return None
    n = len(per_source[0].power)
    out = np.ones((len(per_source), n), bool)
    for row, k in zip(out, turns):
        if k is not None:
            m = min(n, len(k))
            row[:m] = k[:m]
            row[m:] = False
    return out


def _heard_span(turns: np.ndarray) -> np.ndarray:
    """The steps from a source's first turn (:func:`_turns`) to its last. Before its first
    turn and after its last, its mask holds only what lies near the place it is held at
    (noise, a room's tail, another source passing), which would put its box on screen before
    it sounds or after it has gone."""
    k = np.flatnonzero(turns)
    span = np.zeros(len(turns), bool)
    span[k[0]:k[-1] + 1] = True
    return span


def _source_track(sid: int, s: StepCues, mix: StepCues, duration: float,
                  num_frames: int, *, separated: bool = False,
                  diffuse: float | None = None, omni_pair: bool = False,
                  heard: np.ndarray | None = None) -> SourceTrack:
    """Per-frame track of one source from its per-step cues (``diffuse``: the kind of
    stereo's diffuse-field coherence, for the motion test; ``omni_pair``: a dry spaced pair
    of omnis, whose level difference reads a lone source's distance; ``heard``: the steps
    the source can be present in, :func:`_heard_span`)."""
    t = s.times_s
    active = activity_mask(s.power)
    level = 10 * np.log10(s.power + 1e-12)
    weight = s.confidence * active
    pair = (pair_distance_change(s.itd_s, s.ild_db, active)
            if omni_pair and not separated else None)
    label, mconf, ev = classify_motion(t, s.azimuth_deg, weight, level, s.coherence, s.hf_db,
                                       active, mix.onsets_s, s.step_s,
                                       level_min_db=SEPARATED_LEVEL_MIN_DB if separated else None,
                                       diffuse=diffuse, pair_distance=pair)
    present = presence_mask(s.power)
    if heard is not None and len(heard) == len(present):
        present &= heard
    az = frame_mean(t, s.azimuth_deg, weight + 1e-3, duration, num_frames)
    conf_steps = np.clip(s.confidence / 0.5, 0, 1) * np.exp(-(s.spread_deg / 20.0) ** 2)
    conf = frame_mean(t, conf_steps * active, None, duration, num_frames)
    act_frames = sounding_frames(t, present, duration, num_frames)
    loud = frame_mean(t, level, None, duration, num_frames)
    prox = frame_mean(t, _proximity(level, present, label, s.step_s), None, duration, num_frames)
    track = SourceTrack(id=sid, azimuth_deg=az, confidence=np.clip(np.nan_to_num(conf), 0, 1),
                        loudness_db=loud, active=act_frames, proximity=np.clip(prox, 0, 1),
                        motion=label, motion_confidence=mconf)
    track.evidence = {"lateral_deg": ev.lateral_deg, "level_db": ev.level_db,
                      "coherence": ev.coherence, "hf_db": ev.hf_db,
                      "self_decay": float(ev.self_decay), "score_db": ev.score_db,
                      "coherence_expected": ev.coherence_expected}
    if np.isfinite(ev.pair_distance_db):  # only where a dry omni pair's geometry was read
        track.evidence["pair_distance_db"] = ev.pair_distance_db
    return track


def _room_diffuse(cal) -> float | None:
    """The diffuse-field coherence the motion test reads a room's direct share with
    (:func:`engine.cues.motion.expected_coherence_change`), for the kinds of stereo where
    distance moves it: a head's and a spaced pair's follow from their geometry. A pan-pot
    mix's reverb send follows the source's level, not a distance, and a coincident pair's
    depends on capsules that the recording seldom tells (a Blumlein pair read as XY
    cardioids): ``None``, no room test."""
    return None if cal.level_only else band_diffuse_coherence(cal)


def _dry_omni_pair(decision, steps: StepCues, active: np.ndarray, cal) -> bool:
    """Whether the recording is a spaced pair of omnis with no room heard, the one kind whose
    level difference is distance's alone (:func:`engine.cues.motion.pair_distance_change`):
    not a pair whose spacing was read from its capsules' level differences (ORTF: their
    directivity adds its own), and as dry as :data:`engine.cues.motion.PAIR_MAX_WET` (a
    room's reflections make the level difference a pattern of where the source stands)."""
    return (decision is not None and decision.kind == SPACED
            and decision.spacing_from != "levels"
            and wetness(steps.coherence, active > 0, cal) <= PAIR_MAX_WET)


def _proximity(level: np.ndarray, present: np.ndarray, motion: str, step_s: float) -> np.ndarray:
    """Relative nearness per step. A source judged not to change distance (static) is at its
    nearest throughout: its own swells and fades (a bark, an engine revving) are not
    distance. Otherwise the level envelope (running maximum over 2 s, so the gaps between
    events do not read as moving away) gives it by 1/r."""
    if motion == "static":
        return np.ones_like(level)
    env = level_envelope(level, present, step_s, window_s=2.0)
    return proximity_from_level(env)


def _mono_source(steps: StepCues, active: np.ndarray, duration: float,
                 num_frames: int) -> SourceTrack:
    t = steps.times_s
    level = 10 * np.log10(steps.power + 1e-12)
    present = presence_mask(steps.power)
    env = level_envelope(level, present, steps.step_s, window_s=2.0)
    act_frames = sounding_frames(t, present, duration, num_frames)
    return SourceTrack(
        id=1, azimuth_deg=np.full(num_frames, np.nan), confidence=np.zeros(num_frames),
        loudness_db=frame_mean(t, level, None, duration, num_frames), active=act_frames,
        proximity=np.clip(frame_mean(t, proximity_from_level(env), None, duration,
                                     num_frames), 0, 1),
        motion="static", motion_confidence=0.0)


def _tag(tagger: Tagger, mono: np.ndarray, sr: int, notes: list[str]) -> list[Tag]:
    mono = np.asarray(mono, dtype=np.float32)
    if mono.size > TAG_MAX_S * sr:
        mono = _loudest_span(mono, sr, TAG_MAX_S)
    mono = _levelled(mono, sr)
    try:
        return list(tagger.tag(mono, sr, top_k=5))
    except Exception as e:  # a tagger failure must not lose the spatial cues
        notes.append(f"The sound tagger failed ({type(e).__name__}: {e}); sources are unnamed.")
        return []


def _levelled(mono: np.ndarray, sr: int) -> np.ndarray:
    """Bring the sound to -20 dBFS (RMS of its louder half, peak kept below full scale).

    The quantised tagger names quiet recordings poorly (a chainsaw at -26 dBFS reads as a
    cow, at -6 dBFS as a chainsaw); where a sound sits does not depend on its level, but
    what it is called should not either.
    """
    hop = max(1, int(0.05 * sr))
    n = mono.size // hop
    if n == 0:
        return mono
    e = np.sort(np.mean(mono[:n * hop].reshape(n, hop).astype(float) ** 2, axis=1))[n // 2:]
    rms = float(np.sqrt(np.mean(e)))
    if rms <= 1e-7:
        return mono
    gain = min(10 ** (-20 / 20) / rms, 0.99 / (float(np.max(np.abs(mono))) + 1e-12))
    return (mono * gain).astype(np.float32)


def _loudest_span(mono: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    """The ``seconds``-long span with the most energy (1 s resolution)."""
    hop = sr
    n = mono.size // hop
    e = np.add.reduceat(mono[:n * hop] ** 2, np.arange(0, n * hop, hop)) if n else np.zeros(1)
    k = int(seconds)
    if n <= k:
        return mono[:int(seconds * sr)]
    sums = np.convolve(e, np.ones(k), mode="valid")
    start = int(np.argmax(sums)) * hop
    return mono[start:start + int(seconds * sr)]
