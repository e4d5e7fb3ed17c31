"""The engine's job API: analyse, plan, render and export, as cancellable generator jobs.

The CLI drives these with :func:`engine.jobs.run_job` and prints the events; the desktop app
runs them on worker threads and turns the events into signals. Backends (tagger, planner,
renderer) are passed in, so the engine never decides which model library to import.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .audio import Audio, audio_info, load_audio
from .audio.io import check_not_silent
from .audio.loudness import read_loudness_track
from .audio.stereo_kinds import DEFAULT_STEREO, SPACING_ASSUMED
from .audio.tagging import Tagger
from .cues.types import Cues
from .errors import BadInput, Cancelled, SpA2VError
from .export.mp4 import Mp4Writer
from .fileio import refuse_overwriting_inputs
from .jobs import CancelToken, Job, Log, Progress, stage_progress, sub_job
from .layout import Layout
from .planning.fallback import plan_or_fall_back
from .planning.heuristic import HeuristicPlanner
from .protocols import Frame, Planner, PlanRequest, Renderer, RenderSettings
from .rendering.activity import attach_loudness

if TYPE_CHECKING:  # listening pulls in the stereo cue models (scipy.ndimage, 0.4 s to import),
    # which a render from a saved plan never needs: imported where a listener is asked
    from .naming.listening import Listener

DEFAULT_FRAMES = 16
MIN_FRAMES, MAX_FRAMES = 1, 10_000


@dataclass
class PlanSettings:
    """How to plan. Give ``num_frames`` (spread over the whole clip) or ``fps``."""

    num_frames: int | None = DEFAULT_FRAMES
    fps: float | None = None
    hint: str | None = None
    width: int = 512
    height: int = 512
    max_sources: int = 3
    # How the stereo was made (engine.audio.stereo_kinds.STEREO_CHOICES); "auto" decides.
    stereo: str = DEFAULT_STEREO
    # A spaced pair's microphone spacing in metres, when known (else assumed; see
    # engine.cues.stereo.check_spacing for the accepted range).
    spacing_m: float | None = None
    # A pan-pot mix's pan law (engine.audio.stereo_kinds.PAN_LAWS), when known (else constant
    # power, -3dB); used only when the recording is read as panned.
    pan_law: str | None = None

    def frames_for(self, duration_s: float) -> int:
        if self.fps is not None:
            if not 0 < self.fps <= 60:
                raise BadInput(f"--fps must be more than 0 and at most 60, got {self.fps:g}.")
            n = int(round(duration_s * self.fps))
        else:
            n = int(DEFAULT_FRAMES if self.num_frames is None else self.num_frames)
        if not MIN_FRAMES <= n <= MAX_FRAMES:
            raise BadInput(f"The plan would have {n} frames; use between {MIN_FRAMES} and "
                           f"{MAX_FRAMES} (--frames or --fps).")
        return n

    def check_layout_rate(self, duration_s: float) -> None:
        """A layout holds between MIN_FPS and MAX_FPS frames a second (the file's rule): say
        so before the work, not as "field 'fps' must be between ..." once it is done (2000
        frames over a 3 s clip, 1 frame over 3 hours)."""
        from .layout.schema import MAX_FPS, MIN_FPS
        if duration_s <= 0:  # a length the header does not give: the layout's check stands
            return
        n = self.frames_for(duration_s)
        rate = n / duration_s
        if rate > MAX_FPS:
            raise BadInput(f"{n} frames over {duration_s:.1f} s would be {rate:.0f} a second; "
                           f"a layout holds at most {MAX_FPS:g}.",
                           hint=f"Use --frames {int(MAX_FPS * duration_s)} or fewer.")
        if rate < MIN_FPS:
            raise BadInput(f"{n} frame(s) over {duration_s / 60:.0f} minutes would be fewer "
                           f"than one in {1 / MIN_FPS:g} s, which a layout does not hold.",
                           hint=f"Use --frames {math.ceil(MIN_FPS * duration_s)} or more.")


def analyse_job(audio_path: str | os.PathLike, settings: PlanSettings, *,
                tagger: Tagger | None, token: CancelToken) -> Job[tuple[Audio, Cues]]:
    """Load and validate the audio, then measure its cues."""
    # Imported here: the cue extractor pulls in scipy.ndimage (about 0.3 s of start-up), which
    # rendering a saved plan never needs.
    from .cues import longform
    from .cues.extract import extract_cues

    report = stage_progress("analyse")
    yield report(0.0, "reading audio")
    info = audio_info(audio_path)
    if info.duration_s > longform.LONG_INPUT_S:
        # Long input: chunked analysis in bounded memory. ``audio`` is then only a short head
        # of the file (for callers that want a look at the samples). The chunks do not see
        # the whole file's offset: a file of a DC offset alone crashed them.
        check_not_silent(audio_path)
        yield Log(f"{info.path.name} is {info.duration_s / 60:.0f} minutes long; analysing it "
                  f"in {longform.CHUNK_S:.0f} s chunks.")
        num_frames = settings.frames_for(info.duration_s)
        cues = yield from longform.extract_cues_chunked(
            audio_path, num_frames=num_frames, tagger=tagger, token=token,
            chunk_s=longform.CHUNK_S, max_sources=settings.max_sources, stereo=settings.stereo,
            spacing_m=settings.spacing_m, pan_law=settings.pan_law)
        head = load_audio(audio_path, duration_s=min(info.duration_s, longform.CHUNK_S),
                          validate=False)
        yield from _spacing_warning(cues)
        return head, cues
    audio = load_audio(audio_path)
    for note in audio.notes:
        yield Log(note, "warning")
    token.raise_if_cancelled()
    num_frames = settings.frames_for(audio.duration_s)
    yield report(0.3, "measuring spatial cues")
    cues = extract_cues(audio, num_frames=num_frames, tagger=tagger, token=token,
                        max_sources=settings.max_sources, stereo=settings.stereo,
                        spacing_m=settings.spacing_m, pan_law=settings.pan_law)
    yield report(1.0, f"{len(cues.sources)} source(s)")
    yield from _spacing_warning(cues)
    return audio, cues


def _spacing_warning(cues: Cues):
    """A spaced pair whose spacing nothing in the recording told: every direction scales
    with the spacing assumed, so the user is told (:meth:`StereoDecision.describe`)."""
    if (cues.stereo or {}).get("spacing_from") == SPACING_ASSUMED:
        from .cues.stereo import StereoDecision
        yield Log(StereoDecision.from_dict(cues.stereo).describe(), "warning")


def plan_job(audio_path: str | os.PathLike, settings: PlanSettings, *, planner: Planner,
             tagger: Tagger | None, token: CancelToken,
             listener: Listener | None = None) -> Job[tuple[Layout, Cues]]:
    """Audio -> cues -> (listening) -> layout. A planner that fails falls back to the
    built-in one (:mod:`engine.planning.fallback`); a listener that fails leaves the
    tagger's names."""
    settings.check_layout_rate(audio_info(audio_path).duration_s)
    audio, cues = yield from sub_job(
        analyse_job(audio_path, settings, tagger=tagger, token=token), start=0.0, end=0.4)
    heard = None
    if listener is not None and any(s.active.any() for s in cues.sources):
        heard = yield from _listen(listener, audio, cues, token)
    request = PlanRequest(cues=cues, hint=settings.hint, audio_path=Path(audio_path),
                          width=settings.width, height=settings.height)
    layout = yield from sub_job(plan_or_fall_back(planner, request, token), start=0.5, end=1.0,
                                stage="plan")
    if heard is not None:
        if isinstance(planner, HeuristicPlanner) and heard.background:
            layout.background = heard.background  # heard, not a class prior's guess
        layout.extra["listener"] = {"name": listener.name, "model": heard.model,
                                    "caption": heard.caption, "background": heard.background}
    if cues.stereo is not None:
        layout.extra["stereo"] = dict(cues.stereo)  # SPEC section 2: the layout records it
    layout.validate()
    attach_loudness(layout, cues)  # each object's measured level, for the preview's pulses
    yield Progress("plan", 1.0)
    return layout, cues


def _listen(listener: Listener, audio: Audio, cues: Cues, token: CancelToken):
    """Ask the listener; its names go first in each source's tags. On failure the tagger's
    names stand and the user is told why."""
    from .naming.listening import apply_to_cues, listen_request
    try:
        result = yield from sub_job(listener.listen(listen_request(audio, cues), token),
                                    start=0.4, end=0.5, stage="listen")
    except SpA2VError as e:
        if isinstance(e, Cancelled):
            raise
        yield Log(f"The audio listener failed ({e}); the sound tagger's names stand.",
                  "warning")
        return None
    for note in apply_to_cues(cues, result):
        yield Log(f"Listener ({result.model}): {note}.")
    return result


def render_job(audio_path: str | os.PathLike | None, layout: Layout, out_path: str | os.PathLike,
               *, renderer: Renderer, settings: RenderSettings,
               token: CancelToken) -> Job[Path]:
    """Render the layout and write an MP4 with the audio, atomically. The sound may itself be
    a video (an .mp4 with sound): the output must not be that file, which would be replaced."""
    out_path = Path(out_path)
    refuse_overwriting_inputs(out_path, [audio_path])
    duration_s = layout.duration_s
    if audio_path is not None:
        info = audio_info(audio_path)
        if info.duration_s > 0 and abs(info.duration_s - layout.duration_s) > max(0.5, 0.05 * layout.duration_s):
            raise BadInput(
                f"The plan is {layout.duration_s:.1f} s long but the audio is "
                f"{info.duration_s:.1f} s.", hint="Plan this audio again, or pick the audio the "
                "plan was made from.")
        if info.duration_s > 0:
            # The video is as long as the sound: a plan a little longer than it (within the
            # check above) no longer runs on in silence, nor a shorter one cuts the sound.
            duration_s = info.duration_s
    width = settings.width or layout.width
    height = settings.height or layout.height
    if width % 2 or height % 2:  # the MP4 (H.264, yuv420p) takes even sizes (Mp4Writer)
        yield Log(f"The frame is {width}x{height}; H.264 takes even sizes, so the video is "
                  f"{width // 2 * 2}x{height // 2 * 2}. Give --size to choose.", "warning")
    if audio_path is not None and settings.loudness is None and getattr(
            renderer, "wants_loudness", False):
        settings = replace(settings, loudness=read_loudness_track(audio_path))
    with Mp4Writer(out_path, fps=settings.fps, size=(width, height), audio_path=audio_path,
                   duration_s=duration_s) as writer:
        yield from frames_to(renderer.render(layout, settings, token),
                             lambda f: writer.write_held(f.image, f.index, f.fps), token)
        yield Progress("export", 1.0, 0.0, f"{writer.frames_written} frames")
    return out_path


def frames_to(render: Job[None], on_frame, token: CancelToken) -> Job[int]:
    """Drive a renderer's job: hand each :class:`Frame` to ``on_frame``, pass the other events
    on, check for cancel after each; returns the number of frames."""
    count = 0
    while True:
        try:
            event = next(render)
        except StopIteration:
            return count
        if isinstance(event, Frame):
            on_frame(event)
            count += 1
        else:
            yield event
        token.raise_if_cancelled()
