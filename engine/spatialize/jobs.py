"""The spatialize and check jobs: what ``spa2v spatialize``, ``spa2v check`` and the studio run.

Both are generators of :mod:`engine.jobs` events that return their result, and check the
cancel token between stages (and between objects, and every few video frames). Each object's
render runs on a thread of its own, reporting its progress four times a second and stopping
at a cancel (ten minutes of sound in a room take minutes).

- :func:`spatialize_job` renders mono sounds along a layout's objects, or along an object
  tracked through a video, writes the stereo file atomically, and optionally writes an MP4
  with the video stream copied and the new sound as AAC.
- :func:`check_job` scores an audio file against a layout, a video, or both (a layout's
  objects tracked through a video rendered from it).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..audio import Audio, audio_info, load_audio
from ..audio.io import write_audio_into
from ..errors import BadInput, Cancelled, ModelMissing
from ..fileio import atomic_path
from ..evaluation.agreement import (
    DEFAULT_TOLERANCE,
    AgreementReport,
    layout_boxes_per_frame,
    layout_flow_curve,
    measured_positions,
    mirrored_boxes,
    optical_flow_curve,
    spatial_alignment,
    timing_agreement,
)
from ..jobs import CancelToken, Job, Log, stage_progress
from ..export.mp4 import check_av_sync
from ..layout import Layout
from .mux import mux_audio
from .render import (
    LENGTH_TOLERANCE_FRACTION,
    LENGTH_TOLERANCE_S,
    SpatializeSettings,
    fit_to_duration,
    normalise_peak,
    render_path,
)
from .paths import path_from_object
from .tracking import parse_box, track_layout_objects, track_object
from .video import read_video

AUDIO_SUFFIXES = (".wav", ".flac")
# Spatialize and check hold the whole sound in memory (no chunks, unlike planning), and
# spatialize each object's render along with its per-sample paths. Measured peaks at 44.1 kHz:
# spatialize about 0.5 GB a minute of clip (2.5 GB for 5 minutes, one object, binaural; an
# hour was killed by the system at 24 GB, with no word), check about 6 GB an hour. Longer
# sounds are refused before any work (design: what a 16 GB machine holds, with room to spare).
MAX_SPATIALIZE_S = 600.0  # as long as a video can be tracked (video.MAX_VIDEO_S)
MAX_CHECK_S = 3600.0
_SPATIALIZE_MEMORY = "about half a gigabyte a minute"


def _refuse_too_long(what: str, duration_s: float, command: str, limit_s: float,
                     per: str) -> None:
    """:class:`BadInput` before any work when ``what`` (a file's name, or "The clip") is
    longer than ``command`` takes."""
    def length(s: float) -> str:
        return f"{s / 60:.0f} minutes" if s >= 90 else f"{s:.0f} s"
    if duration_s > limit_s:
        raise BadInput(f"{what} is {length(duration_s)} long; {command} holds the whole sound "
                       f"in memory ({per}) and takes up to {length(limit_s)}.",
                       hint="Trim the sound to the part you want, and plan that.")
Sounds = str | os.PathLike | Mapping[int | None, str | os.PathLike]


def spatialize_job(sounds: Sounds, out_path: str | os.PathLike, *, layout: Layout | None = None,
                   video_path: str | os.PathLike | None = None, box=None,
                   box_time_s: float = 0.0, tracker: str = "template", label: str = "object",
                   settings: SpatializeSettings | None = None,
                   mux_path: str | os.PathLike | None = None,
                   token: CancelToken) -> Job[Path]:
    """Render mono sound(s) where the objects are and write a stereo file.

    Parameters
    ----------
    sounds : one mono file for every object, or ``{object_id: file}`` with an optional
        ``None`` key for the objects not listed. Stereo files are mixed to mono.
    out_path : the .wav or .flac to write (atomically).
    layout : where the objects are. Without it, ``video_path`` is tracked instead.
    video_path : a video to track one object through (when ``layout`` is None) and, with
        ``mux_path``, to put the new sound under.
    box : ``(x0, y0, x1, y1)`` around the object at ``box_time_s`` in the video, as fractions
        of the frame or pixels (numbers or the text "x0,y0,x1,y1"); None finds the largest
        moving region.
    tracker : ``template`` or ``mil``.
    label : what the tracked object is (its class prior sets how box size maps to distance).
    settings : method, room, Doppler, fit, level.
    mux_path : also write this MP4: the video stream of ``video_path`` plus the new sound.

    Returns
    -------
    Path of the written audio file.
    """
    # 1. Check inputs before any work, so nothing is half-written.
    settings = (settings or SpatializeSettings()).validate()
    out_path = Path(out_path)
    if out_path.suffix.lower() not in AUDIO_SUFFIXES:
        raise BadInput(f"Output {out_path.name} must end in {' or '.join(AUDIO_SUFFIXES)}.")
    if layout is None and video_path is None:
        raise BadInput("Spatialize needs a layout (--plan) or a video (--video) to say where "
                       "the sound is.")
    if mux_path is not None and video_path is None:
        raise BadInput("Writing an MP4 (--mux) needs the video (--video).")
    if mux_path is not None and Path(mux_path).suffix.lower() != ".mp4":
        raise BadInput(f"Output {Path(mux_path).name} must end in .mp4.")
    if layout is not None:
        _refuse_too_long("The clip", layout.duration_s, "spatialize", MAX_SPATIALIZE_S,
                         _SPATIALIZE_MEMORY)
    report = stage_progress("spatialize")
    yield report(0.0, "reading")

    # 2. Where the objects are: the layout, or a track through the video.
    if layout is None:
        yield report(0.02, "reading the video")
        clip = read_video(video_path, token=token)
        yield report(0.1, f"tracking through {len(clip.frames)} frames")
        track = track_object(clip, box=_box(box, clip), box_time_s=box_time_s, tracker=tracker,
                             token=token)
        layout = track.to_layout(label=label)
        yield Log(f"Tracked the {label} in {1 - track.lost_fraction:.0%} of the video "
                  f"({layout.objects[0].motion.replace('_', ' ')}).")
    token.raise_if_cancelled()

    # 3. Sounds, one per object, fitted to the clip.
    by_object = _sounds_by_object(sounds, layout)
    _refuse_too_long("The clip", layout.duration_s, "spatialize", MAX_SPATIALIZE_S,
                     _SPATIALIZE_MEMORY)
    for path in dict.fromkeys(by_object.values()):
        _refuse_too_long(Path(path).name, audio_info(path).duration_s, "spatialize",
                         MAX_SPATIALIZE_S, _SPATIALIZE_MEMORY)
    loaded: dict[Path, Audio] = {}
    for path in dict.fromkeys(by_object.values()):
        audio = load_audio(path)
        for note in audio.notes:
            if "is mono" not in note:
                yield Log(note, "warning")
        if audio.channels == 2:
            yield Log(f"{path.name} is stereo; its channels are mixed to one mono sound.")
        loaded[path] = audio
    sample_rate = loaded[next(iter(by_object.values()))].sample_rate
    fitted: dict[int, np.ndarray] = {}
    for oid, path in by_object.items():
        mono = _resampled(loaded[path].mono(), loaded[path].sample_rate, sample_rate)
        fitted[oid] = fit_to_duration(mono, sample_rate, layout.duration_s, fit=settings.fit,
                                      name=path.name)
    yield report(0.2, f"{len(fitted)} object(s)")

    # 4. Render each object along its path and mix.
    n = int(round(layout.duration_s * sample_rate))
    mix = np.zeros((2, n))
    placed = [o for o in layout.objects if o.id in fitted and o.visible_frames()]
    for obj in layout.objects:
        if obj.id in fitted and not obj.visible_frames():
            yield Log(f"Object {obj.id} ({obj.label}) has no box in any frame; it stays silent.",
                      "warning")
    if not placed:
        raise BadInput("No object with a sound has a box in any frame.",
                       hint="Give the objects boxes in the editor.")
    for k, obj in enumerate(placed):
        token.raise_if_cancelled()
        path = path_from_object(layout, obj, fov_deg=settings.fov_deg,
                                near_distance_m=settings.near_distance_m)
        # Minutes of sound in a room take minutes: the render runs on a thread of its own
        # and reports as it goes, so the progress (and its ETA) moves and a cancel is heard.
        render = functools.partial(render_path, fitted[obj.id], sample_rate, path, settings)
        for done in _while_running(render, token):
            if isinstance(done, float):
                yield report(0.2 + 0.65 * (k + done) / len(placed), f"placing the {obj.label}")
            else:
                mix += done
        yield report(0.2 + 0.65 * (k + 1) / len(placed), f"{obj.label} placed")
    stereo = normalise_peak(mix, peak_dbfs=settings.peak_dbfs, normalize=settings.normalize)
    token.raise_if_cancelled()

    # 5. Write the audio, then the MP4 if asked. The audio takes its name only once the MP4
    # is made too: a mux that fails (a full disk, a cancel) leaves the file that was there.
    with atomic_path(out_path) as audio_tmp:
        write_audio_into(audio_tmp, stereo, sample_rate, subtype="PCM_24", dest=out_path)
        if mux_path is not None:
            yield report(0.9, "writing the MP4")
            how = mux_audio(video_path, stereo, sample_rate, mux_path, token=token)
            if how == "reencode":
                yield Log("The video's codec cannot be copied into an MP4; it was re-encoded "
                          "as H.264.", "warning")
    yield report(1.0, f"{settings.method}, {len(placed)} object(s)")
    return out_path


PROGRESS_EVERY_S = 0.25  # how often a long render on its thread reports


def _while_running(render, token: CancelToken):
    """Run ``render(progress=...)`` on a thread; yield the share done (a float) every
    :data:`PROGRESS_EVERY_S` while it runs, then its result. A cancel, or this generator being
    closed, stops the render at its next report."""
    state = {"fraction": 0.0, "result": None, "error": None}
    stop = threading.Event()

    def progress(fraction: float) -> None:
        state["fraction"] = fraction
        if stop.is_set() or token.cancelled:
            raise Cancelled()

    def work() -> None:
        try:
            state["result"] = render(progress=progress)
        except BaseException as e:  # handed to the job's thread, raised there
            state["error"] = e

    thread = threading.Thread(target=work, name="spatialize", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(PROGRESS_EVERY_S)
            if thread.is_alive():
                yield float(state["fraction"])
    finally:
        stop.set()
        thread.join()
    if state["error"] is not None:
        raise state["error"]
    yield state["result"]


def _sounds_by_object(sounds: Sounds, layout: Layout) -> dict[int, Path]:
    """Object id -> sound file, from one file or a mapping with an optional default."""
    if isinstance(sounds, (str, os.PathLike)):
        mapping: dict[int | None, Path] = {None: Path(sounds)}
    else:
        mapping = {k: Path(v) for k, v in sounds.items()}
    ids = [o.id for o in layout.objects]
    unknown = [k for k in mapping if k is not None and k not in ids]
    if unknown:
        raise BadInput(f"The layout has no object with id {unknown[0]}.",
                       hint=f"Its objects are: {', '.join(f'{o.id} ({o.label})' for o in layout.objects) or 'none'}.")
    default = mapping.get(None)
    out = {o.id: mapping.get(o.id, default) for o in layout.objects}
    out = {k: v for k, v in out.items() if v is not None}
    if not out:
        raise BadInput("No object of the layout has a sound to place." if layout.objects else
                       "The layout has no objects to place a sound at.",
                       hint="Give one sound for all objects, or --object ID=FILE.")
    return out


def _box(box, clip):
    """A box given as text ("x0,y0,x1,y1", fractions or pixels) or as numbers."""
    if box is None:
        return None
    if isinstance(box, str):
        return parse_box(box, clip.size)
    return parse_box(",".join(str(float(v)) for v in box), clip.size)


def _resampled(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return x
    import soxr
    return soxr.resample(x.astype(np.float64), rate, target, quality="HQ")


def check_job(audio_path: str | os.PathLike, *, layout: Layout | None = None,
              video_path: str | os.PathLike | None = None, box=None, box_time_s: float = 0.0,
              tracker: str = "template", tolerance: float = DEFAULT_TOLERANCE,
              fov_deg: float = 180.0, token: CancelToken) -> Job[AgreementReport]:
    """Score how well ``audio_path`` agrees with a layout, a video, or both.

    Parameters
    ----------
    audio_path : the stereo sound (any format :func:`engine.audio.load_audio` reads, an MP4's
        audio track included).
    layout : boxes to check against. With ``video_path`` too, its objects are tracked through
        the video (picked up at their first boxes) and the video's boxes are scored: does the
        rendered video put things where the sound is?
    video_path : a video; alone, one object is tracked (from ``box`` or the largest moving
        region) and motion peaks come from its optical flow.
    tolerance : box widening for spatial alignment (fraction of the frame width).

    Returns
    -------
    AgreementReport with the spatial score (None for mono audio) and AV-Align.
    """
    if layout is None and video_path is None:
        raise BadInput("Check needs a layout (--plan) or a video (--video) to compare with.")
    if not 0.0 <= tolerance <= 0.5:
        raise BadInput(f"The tolerance must be between 0 and 0.5 of the frame width, got "
                       f"{tolerance:g}.")
    report = stage_progress("check")
    yield report(0.0, "reading the audio")
    _refuse_too_long(Path(audio_path).name, audio_info(audio_path).duration_s, "check",
                     MAX_CHECK_S, "about 6 GB an hour")
    audio = load_audio(audio_path)
    notes: list[str] = []
    token.raise_if_cancelled()
    if video_path is not None:
        yield report(0.1, "reading the video")
        # read_video first: it says what is wrong with a missing, empty or non-video file.
        clip = read_video(video_path, token=token)
        # A video whose own sound track is cut short is damaged (an MP3 muxed with the wrong
        # time base once gave 0.03 s of sound under 4 s of picture).
        check_av_sync(video_path, slack_s=LENGTH_TOLERANCE_S,
                      slack_fraction=LENGTH_TOLERANCE_FRACTION)
        _check_durations(audio, clip.duration_s, "video")
        yield report(0.2, f"tracking through {len(clip.frames)} frames")
        if layout is not None:
            tracks, notes = track_layout_objects(clip, layout, tracker=tracker, token=token)
            if all(all(b is None for b in t) for t in tracks):
                raise BadInput("None of the layout's objects could be found in the video.",
                               hint="Check that the video was rendered from this plan.")
        else:
            tracks = [track_object(clip, box=_box(box, clip), box_time_s=box_time_s,
                                   tracker=tracker, token=token).boxes]
        boxes_per_frame = [[t[i] for t in tracks if t[i] is not None]
                           for i in range(len(clip.frames))]
        yield report(0.5, "measuring motion")
        flow = optical_flow_curve(clip.frames, pixel_scale=clip.scale)
        fps, motion_source = clip.fps, "optical flow"
    else:
        _check_durations(audio, layout.duration_s, "plan")
        boxes_per_frame = layout_boxes_per_frame(layout)
        flow = layout_flow_curve(layout)
        fps, motion_source = layout.fps, "layout box motion"
    token.raise_if_cancelled()
    yield report(0.7, "measuring the sound's direction")
    mirrored = None
    if audio.is_mono:
        spatial = None
        notes.append(f"{Path(audio_path).name} is mono: it has no direction to compare.")
    else:
        measured = measured_positions(audio, len(boxes_per_frame), fov_deg=fov_deg, token=token)
        spatial = spatial_alignment(measured, boxes_per_frame, tolerance=tolerance)
        # The verdict needs boxes that stand for where things are: a plan's, or a track the
        # user anchored with --box. A track found by motion alone can follow background (a
        # still object that leaves: the lion example's own right video read as swapped).
        if layout is not None or box is not None or video_path is None:
            mirrored = spatial_alignment(measured, mirrored_boxes(boxes_per_frame),
                                         tolerance=tolerance)
        else:
            notes.append("Left and right not judged: the object was found by motion alone, "
                         "which can follow the background, so the score may be off too; give "
                         "--box (where it is at --box-time) or --plan for a verdict.")
        if spatial.scored == 0:
            notes.append("No frame has a sound with a clear direction; the spatial score is "
                         "not defined.")
            spatial = mirrored = None
    yield report(0.85, "onsets and motion peaks")
    try:
        timing = timing_agreement(audio.mono(), audio.sample_rate, flow, fps,
                                  motion_source=motion_source)
    except ModelMissing as e:  # librosa is an extra; the spatial score stands on its own
        timing = None
        notes.append(f"No AV-Align score: {e}")
    yield report(1.0)
    return AgreementReport(spatial, timing, notes, mirrored)


def _check_durations(audio: Audio, duration_s: float, what: str) -> None:
    if abs(audio.duration_s - duration_s) > max(LENGTH_TOLERANCE_S,
                                                LENGTH_TOLERANCE_FRACTION * duration_s):
        raise BadInput(f"The {what} is {duration_s:.1f} s long but the audio is "
                       f"{audio.duration_s:.1f} s.",
                       hint=f"Compare the audio with the {what} made for it.")
