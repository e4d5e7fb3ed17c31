"""Read a video into small greyscale frames for tracking and motion measures.

Tracking and optical flow do not need full resolution or frame rate: frames are scaled so the
longer side is at most ``max_side`` pixels (320 keeps a car of 40 px at 1080p still 12 px
wide) and thinned to at most ``max_fps`` (15 per second follow any motion a tracker can). The
whole clip is held in memory (10 minutes at 320x180 and 15 fps is about 500 MB), which lets
the tracker run backwards from the frame where the object is found.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadInput
from ..jobs import CancelToken

MAX_VIDEO_S = 600.0
DEFAULT_MAX_SIDE = 320
DEFAULT_MAX_FPS = 15.0


@dataclass
class VideoClip:
    """Greyscale analysis frames of a video.

    Attributes
    ----------
    frames : np.ndarray [shape=(T, h, w), dtype=uint8]
    times_s : np.ndarray [shape=(T,)] presentation time of each kept frame.
    duration_s : length of the video stream.
    size : (width, height) of the original video in pixels.
    path : where it was read from.
    """

    frames: np.ndarray
    times_s: np.ndarray
    duration_s: float
    size: tuple[int, int]
    path: Path | None = None

    @property
    def fps(self) -> float:
        """Analysis frame rate (kept frames per second)."""
        return len(self.frames) / self.duration_s

    @property
    def scale(self) -> float:
        """Original pixels per analysis pixel."""
        return self.size[0] / self.frames.shape[2]


def read_video(path: str | os.PathLike, *, max_side: int = DEFAULT_MAX_SIDE,
               max_fps: float = DEFAULT_MAX_FPS, token: CancelToken | None = None) -> VideoClip:
    """Decode the first video stream of ``path`` into a :class:`VideoClip`.

    Raises BadInput for a missing file, a file without a video stream, an undecodable or empty
    one, or one longer than :data:`MAX_VIDEO_S`.
    """
    import av
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"Video file not found: {path}.")
    try:
        container = av.open(str(path))
    except Exception as e:
        raise BadInput(f"{path.name} is not a video this app can read ({type(e).__name__}).",
                       hint="Use an MP4, MOV, MKV or WebM file.") from None
    with container:
        if not container.streams.video:
            raise BadInput(f"{path.name} has no video stream.", hint="Give a video file.")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        duration = _stream_duration(container, stream)
        if duration is not None and duration > MAX_VIDEO_S:
            raise BadInput(f"{path.name} is {duration / 60:.0f} minutes long; tracking handles "
                           f"up to {MAX_VIDEO_S / 60:.0f} minutes.", hint="Trim the video first.")
        w, h = int(stream.codec_context.width), int(stream.codec_context.height)
        if w <= 0 or h <= 0:
            raise BadInput(f"{path.name}: the video stream has no frame size.")
        k = min(1.0, max_side / max(w, h))
        aw, ah = max(16, int(round(w * k))) // 2 * 2, max(16, int(round(h * k))) // 2 * 2
        # Keep every stride-th frame: a whole-number stride keeps the kept frames evenly spaced,
        # which the layout's "frame i covers [i, i+1) * duration / N" rule assumes.
        rate = float(stream.average_rate or 0)
        stride = max(1, int(np.ceil(rate / max_fps - 1e-6))) if rate > 0 else 1
        frames, times = [], []
        last_t = 0.0
        try:
            for i, frame in enumerate(container.decode(stream)):
                t = float(frame.time) if frame.time is not None else (i / rate if rate else 0.0)
                last_t = max(last_t, t)
                if i % stride:
                    continue
                if len(frames) % 16 == 0 and token is not None:
                    token.raise_if_cancelled()
                frames.append(frame.reformat(width=aw, height=ah, format="gray").to_ndarray())
                times.append(t)
        except (av.error.FFmpegError, ValueError) as e:
            if not frames:
                raise BadInput(f"Could not decode {path.name} ({e}).") from None
        if not frames:
            raise BadInput(f"{path.name} holds no video frames.")
        if duration is None or duration <= 0:
            duration = last_t + (1.0 / rate if rate else 0.04)
    times_s = np.asarray(times, dtype=float)
    times_s -= times_s[0]  # some files start at a non-zero timestamp
    duration = max(float(duration), float(times_s[-1]) + 1e-3)
    if duration > MAX_VIDEO_S:
        raise BadInput(f"{path.name} is {duration / 60:.0f} minutes long; tracking handles up "
                       f"to {MAX_VIDEO_S / 60:.0f} minutes.", hint="Trim the video first.")
    return VideoClip(np.stack(frames), times_s, duration, (w, h), path)


def _stream_duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None
