"""The studio's long work as engine-style generator jobs (no Qt): import, plan, render, export.

Each function returns a job (a generator of Progress/Preview/Log events that returns its
result) built on :mod:`engine.pipeline`; :mod:`.workers` runs them on threads. Backends are
made inside the job, on the worker thread, so that a slow import (torch for diffusion) never
blocks the window, and a missing one becomes a message instead of a crash.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.audio import Audio, audio_info
from engine.audio.loudness import LoudnessTrack, loudness_track
from engine.audio.stereo_kinds import DEFAULT_STEREO
from engine.cues.types import Cues
from engine.errors import BadInput, ModelMissing
from engine.fileio import write_failed
from engine.jobs import CancelToken, Job, Log, Progress, stage_progress, sub_job
from engine.layout import Layout
from engine.pipeline import PlanSettings, analyse_job, frames_to, plan_job, render_job
from engine.protocols import RenderSettings
from models.backends import (DEFAULT_PLANNER, RENDERERS, make_planner_or_built_in, make_renderer,
                             settings_for)

from .waveform import Waveform, find_onsets

DISPLAY_CUE_RATE = 8.0  # cue frames per second on the timeline (a plan has its own rate)
# A long sound is held for the timeline and playback at the highest of these rates that keeps
# it within LONG_SOUND_SAMPLES a channel (512 MB of float32 stereo; the player holds a copy):
# 10 minutes keep 48 kHz, 30 minutes 32 kHz, 3 hours 8 kHz (design: memory over fidelity).
STUDIO_RATES = (48000, 44100, 32000, 24000, 22050, 16000, 11025, 8000)
LONG_SOUND_SAMPLES = 2 ** 26
THUMB_WIDTH = 256
MAX_THUMBS = 160


@dataclass
class ImportResult:
    path: Path
    audio: Audio
    cues: Cues
    waveform: Waveform
    notes: list[str] = field(default_factory=list)
    loudness: LoudnessTrack | None = None  # the mix's level over time: the preview's pulses


def display_frames(duration_s: float) -> int:
    return int(np.clip(round(duration_s * DISPLAY_CUE_RATE), 16, 4000))


_tagger_lock = threading.Lock()
_tagger: tuple = ()


def make_tagger_quietly():
    """The sound tagger, or (None, why not). Made once per process and shared by jobs:
    building its ONNX session holds the GIL for a while, which would stall the window on
    every plan."""
    global _tagger
    with _tagger_lock:
        if not _tagger:
            _tagger = _new_tagger()
        return _tagger


def _new_tagger():
    try:
        from models.backends import make_tagger
        tagger = make_tagger()
        getattr(tagger, "check", lambda: None)()  # a damaged model: said, not 'sound source'
        return tagger, None
    except ModelMissing as e:
        from models.yamnet import how_to_install
        return None, f"No sound tagger ({e.message.rstrip('.')}); sounds are named 'sound source'. {how_to_install()}."
    except Exception as e:  # a broken optional backend must not stop an import
        return None, f"The sound tagger failed to load ({type(e).__name__}: {e})."


def refuse_streams(path: Path) -> None:
    """A pipe, socket or device is not a sound file: reading one blocks a worker for ever,
    past any cancel, and the studio then aborted on exit (a project can name any path). The
    command line reads them (``spa2v plan <(sox ...)``); the studio needs a file it can seek."""
    if path.exists() and not path.is_dir() and not path.is_file():
        raise BadInput(f"{path} is not a file but a pipe or a device; the studio reads sound "
                       "files only.", hint="Save the sound to a file and import that.")


def import_job(path: str | os.PathLike, token: CancelToken, *, use_tagger: bool = True,
               stereo: str = DEFAULT_STEREO, spacing_m: float | None = None,
               pan_law: str | None = None) -> Job[ImportResult]:
    """Read and check the audio, measure its cues at timeline resolution (reading the stereo
    as ``stereo`` says it was recorded, a spaced pair ``spacing_m`` apart and a pan-pot mix
    through its ``pan_law`` when known), build
    the waveform."""
    path = Path(path)
    refuse_streams(path)
    info = audio_info(path)
    tagger, why = make_tagger_quietly() if use_tagger else (None, None)
    if why:
        yield Log(why, "warning")
    settings = PlanSettings(num_frames=display_frames(info.duration_s), stereo=stereo,
                            spacing_m=spacing_m, pan_law=pan_law)
    audio, cues = yield from sub_job(analyse_job(path, settings, tagger=tagger, token=token),
                                     start=0.0, end=0.85, stage="import")
    token.raise_if_cancelled()
    if audio.duration_s < info.duration_s - 0.5:
        # A long file was analysed in chunks and only its head came back: the timeline, the
        # waveform and playback need all of it.
        audio = yield from whole_sound_job(path, audio, info, token)
    waveform = Waveform.from_samples(audio.samples, audio.sample_rate)
    loudness = loudness_track(audio.samples, audio.sample_rate)
    if not cues.onsets_s:
        cues.onsets_s = find_onsets(audio.samples, audio.sample_rate)
    warm_render_modules()
    yield Progress("import", 1.0, 0.0, f"{audio.duration_s:.1f} s, {audio.channels} ch")
    return ImportResult(path, audio, cues, waveform, list(audio.notes), loudness)


def whole_sound_job(path: Path, head: Audio, info, token: CancelToken) -> Job[Audio]:
    """All of a long sound (``head`` is its start, ``info`` its :class:`AudioInfo`), read a
    chunk at a time at the file's rate and resampled as one stream (no seams between chunks)
    to the highest :data:`STUDIO_RATES` rate that fits :data:`LONG_SOUND_SAMPLES`."""
    import soxr

    from engine.audio import load_audio
    from engine.cues import longform
    native, duration_s = info.sample_rate, info.duration_s
    rate = next((r for r in STUDIO_RATES if r <= native and r * duration_s <= LONG_SOUND_SAMPLES),
                min(native, STUDIO_RATES[-1]))
    stream = soxr.ResampleStream(native, rate, head.channels, dtype="float32", quality="HQ")
    # Filled in place (a list of chunks joined at the end would hold the sound twice), time
    # first: the cut to the length filled stays one block, and the player (which wants
    # (n, channels)) uses it as it is instead of copying it.
    frames = np.zeros((int(duration_s * rate) + rate, head.channels), np.float32)
    filled, t = 0, 0.0
    while t < duration_s:
        token.raise_if_cancelled()
        chunk = load_audio(path, start_s=t, duration_s=longform.CHUNK_S, max_rate=native,
                           validate=False).samples
        t += longform.CHUNK_S
        out = stream.resample_chunk(chunk.T, last=t >= duration_s)[:len(frames) - filled]
        frames[filled:filled + len(out)] = out
        filled += len(out)
        yield Progress("import", 0.85 + 0.1 * min(1.0, t / duration_s), None,
                       "reading the whole sound")
    return Audio(frames[:filled].T, rate, head.path, list(head.notes),
                 source_channels=head.source_channels)


def warm_render_modules() -> None:
    """Import what a render needs (PyAV, OpenCV) now, on this worker: importing dozens of C
    extension modules holds the GIL, and doing it when the first render starts froze the
    window for ~80 ms."""
    import av  # noqa: F401
    import cv2  # noqa: F401

    import engine.export.mp4  # noqa: F401
    import engine.rendering.preview  # noqa: F401


def choose_listener(use_listener: bool = True):
    """What names the sounds, as ``spa2v plan`` chooses without ``--listener``: the audio
    listener when its model is installed, else the built-in tagger. Returns ``(listener or
    None, the line that says which)``."""
    from models.audio_listener import TAGGER_NOTE, default_listener

    if not use_listener:
        return None, f"{TAGGER_NOTE}."
    return default_listener()


def listener_status(layout: Layout, *, asked: bool) -> str:
    """For the status bar after a plan: which listener named its sounds. ``asked``: an audio
    listener was asked (its absence from the layout means it failed)."""
    heard = layout.extra.get("listener") or {}
    if heard.get("model"):
        return f"sounds named by the audio listener {heard['model']}"
    return "sounds named by the built-in tagger" + (" (the audio listener failed)"
                                                    if asked else "")


def studio_plan_job(audio_path: str | os.PathLike, settings: PlanSettings, token: CancelToken,
                    *, planner: str = DEFAULT_PLANNER, llm_model_path: str = "",
                    api_key: str | None = None, use_tagger: bool = True,
                    send_audio: bool = True, listener=None) -> Job[tuple[Layout, Cues]]:
    """Plan as ``spa2v plan`` does. ``listener``: the audio listener from
    :func:`choose_listener` (on this worker: it reads the models folder), or None for the
    tagger's names; it runs in its own worker process, which a cancel ends."""
    report = stage_progress("plan")
    yield report(0.0, f"loading the {planner} planner")
    # send_audio: the settings' visible choice whether Gemini hears the clip (never dropped:
    # settings_for passes it to the planners that take it).
    chosen, why = make_planner_or_built_in(planner, model_path=llm_model_path, api_key=api_key,
                                           send_audio=send_audio)
    if why:
        yield Log(why, "warning")
    tagger, why = make_tagger_quietly() if use_tagger else (None, None)
    if why:
        yield Log(why, "warning")
    token.raise_if_cancelled()
    return (yield from plan_job(audio_path, settings, planner=chosen, tagger=tagger, token=token,
                                listener=listener))


def make_renderer_for(name: str, *, device: str = "auto"):
    """The renderer, given the device setting only when it takes one (the preview renderer
    draws on the CPU whatever the setting says)."""
    return make_renderer(name, **settings_for(RENDERERS, name, device=device))


def studio_render_job(audio_path: str | os.PathLike | None, layout: Layout,
                      out_path: str | os.PathLike, settings: RenderSettings, token: CancelToken,
                      *, device: str = "auto") -> Job[Path]:
    """Render and export the MP4 (with the original audio), atomically."""
    yield Progress("render", 0.0, None, f"loading the {settings.renderer} renderer")
    renderer = make_renderer_for(settings.renderer, device=device)
    token.raise_if_cancelled()
    return (yield from render_job(audio_path, layout, out_path, renderer=renderer,
                                  settings=settings, token=token))


def png_frames_job(layout: Layout, out_dir: str | os.PathLike, settings: RenderSettings,
                   token: CancelToken, *, device: str = "auto") -> Job[Path]:
    """Render every playback frame as ``frame_00000.png`` into ``out_dir``.

    Frames go to a hidden folder beside ``out_dir`` that is renamed into place at the end, so a
    cancelled or failed export leaves nothing half-written.
    """
    import cv2
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise BadInput(f"{out_dir} already exists and is not an empty folder.",
                       hint="Pick a new folder name for the frames.")
    renderer = make_renderer_for(settings.renderer, device=device)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".part", dir=out_dir.parent))
    except OSError as e:  # said as a write failure (where, why), not as a bug
        raise write_failed(out_dir, e) from None
    try:
        def write_png(frame) -> None:
            ok, png = cv2.imencode(".png", cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
            if not ok:
                raise BadInput(f"Could not encode frame {frame.index} as PNG.")
            (tmp / f"frame_{frame.index:05d}.png").write_bytes(png.tobytes())

        count = yield from frames_to(renderer.render(layout, settings, token), write_png, token)
        if count == 0:
            raise BadInput("No frames were rendered.")
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(tmp, out_dir)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):  # a full disk while writing frames, say
            raise write_failed(out_dir, e) from None
        raise
    yield Progress("export", 1.0, 0.0, f"{count} PNG frames")
    return out_dir


@dataclass
class Thumbnails:
    """Decoded frames of a render: ``times_s[k]`` is the start time of ``images[k]`` (RGB)."""

    times_s: list[float]
    images: list[np.ndarray]


def thumbnails_job(video_path: str | os.PathLike, token: CancelToken, *,
                   width: int = THUMB_WIDTH, max_frames: int = MAX_THUMBS) -> Job[Thumbnails]:
    """Decode up to ``max_frames`` evenly spaced frames of an MP4, scaled to ``width``."""
    import av
    import cv2
    report = stage_progress("thumbnails")
    times: list[float] = []
    images: list[np.ndarray] = []
    with av.open(str(video_path)) as c:
        stream = c.streams.video[0]
        total = stream.frames or 0
        step = max(1, -(-total // max_frames)) if total else 1
        for k, frame in enumerate(c.decode(stream)):
            if k % 16 == 0:
                token.raise_if_cancelled()
            if k % step:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            h = max(1, int(round(rgb.shape[0] * width / rgb.shape[1])))
            images.append(cv2.resize(rgb, (width, h), interpolation=cv2.INTER_AREA))
            times.append(float(frame.time or 0.0))
            if total and len(images) % 16 == 0:
                yield report(k / total)
    yield report(1.0, f"{len(images)} frames")
    return Thumbnails(times, images)


def backdrop(layout: Layout | None, width: int, height: int) -> np.ndarray:
    """The preview renderer's backdrop for a layout, by the renderer's own rule (its
    background words, else what is in it; ``engine.rendering.preview.layout_backdrop``),
    read-only and cached there per scene and size; plan jobs warm it on their worker thread so that the window does not spend
    ~25 ms drawing it when the new layout arrives."""
    from engine.rendering.preview import draw_backdrop, layout_backdrop
    if layout is None:
        image = draw_backdrop("", width, height)
    else:
        image = layout_backdrop(layout, width, height)
    return image


def warm_backdrops(layout: Layout, preview_side: int) -> None:
    from engine.rendering.preview import picture_height
    backdrop(layout, layout.width, layout.height)
    w, h = preview_size(layout, preview_side)
    backdrop(layout, w, picture_height(w, h))


def preview_size(layout: Layout, side: int) -> tuple[int, int]:
    if layout.width >= layout.height:
        return side, max(64, int(side * layout.height / layout.width))
    return max(64, int(side * layout.width / layout.height)), side


def layout_fingerprint(layout: Layout | None) -> str:
    """A short hash of a layout, to tell whether a render still matches the edits."""
    if layout is None:
        return ""
    text = json.dumps(layout.to_dict(), sort_keys=True)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def copy_file_atomic(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    from engine.fileio import atomic_path
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    return Path(dest)

