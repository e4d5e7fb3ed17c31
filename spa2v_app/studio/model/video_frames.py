"""The frame of a rendered video at any time, decoded as the playhead moves.

The studio's preview used to show a render through its timeline thumbnails: at most
``MAX_THUMBS`` (160) frames evenly spread over the video, so during playback of a 10-minute
render a new picture came only every 3.75 s. Holding every frame instead would take
gigabytes (14 400 frames of 512x512 RGB is 11 GB). :class:`VideoFrames` keeps the video open
and decodes it the way a player does: forward from the frame shown, one or two frames per
playback tick, and it seeks (to the keyframe before the time, then decodes forward) only on
a jump: backwards, or further ahead than :data:`JUMP_S`. It holds two decoded frames at most.
"""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

# design: further ahead than this a move of the playhead is a jump (a click, a drag) and the
# video is seeked; playback advances 1/30 s a tick, a frame or two of any render.
JUMP_S = 1.0
EPS = 1e-6


class VideoFrames:
    """Frames of the video at ``path`` by time, scaled to ``width`` pixels wide (the video's
    own width if ``None``; even heights are kept in proportion). Not thread-safe: one user."""

    def __init__(self, path: str | os.PathLike, width: int | None = None):
        import av

        self.path = str(path)
        self._container = av.open(self.path)
        self._stream = self._container.streams.video[0]
        self._width = width
        self._frames = None       # the decoder's iterator
        self._current = None      # (start time s, av.VideoFrame) shown for the last time asked
        self._next = None         # the frame after it, already decoded (its start ends ours)
        self._image: np.ndarray | None = None
        self.decoded = 0          # frames decoded so far (for tests and benchmarks)
        self.seeks = 0

    def close(self) -> None:
        self._frames = self._current = self._next = self._image = None
        self._container.close()

    def __enter__(self) -> "VideoFrames":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def is_jump(self, t: float) -> bool:
        """Whether showing ``t`` takes a seek (not a few frames' decoding forward)."""
        cur = self._current
        at_end = cur is not None and self._next is None  # the last frame: it shows from here on
        return cur is None or t < cur[0] - EPS or (t > cur[0] + JUMP_S and not at_end)

    def frame_at(self, t: float) -> np.ndarray | None:
        """RGB uint8 of the frame showing at ``t`` s (the first frame before the video's start,
        the last after its end; ``None`` for a video with no frames)."""
        if self.is_jump(t):
            self._seek(t)
        while self._next is not None and self._next[0] <= t + EPS:
            self._current, self._image = self._next, None
            self._next = self._decode()
        return self._picture()

    def _seek(self, t: float) -> None:
        self.seeks += 1
        stream = self._stream
        base = stream.time_base or Fraction(1, 1_000_000)
        start = stream.start_time or 0
        target = start + int(max(0.0, t) / base)
        # to the keyframe at or before t; the frames up to t are decoded by frame_at
        self._container.seek(target, stream=stream, backward=True, any_frame=False)
        self._frames = self._container.decode(stream)
        self._current, self._image = self._decode(), None
        self._next = self._decode() if self._current is not None else None
        if self._current is not None and self._current[0] > t + EPS and t > 0:
            # landed after t (a stream whose index put the keyframe late): from the start
            self._container.seek(start, stream=stream, backward=True, any_frame=False)
            self._frames = self._container.decode(stream)
            self._current, self._image = self._decode(), None
            self._next = self._decode() if self._current is not None else None

    def _decode(self):
        if self._frames is None:
            return None
        try:
            frame = next(self._frames)
        except StopIteration:
            self._frames = None
            return None
        self.decoded += 1
        return (float(frame.time if frame.time is not None else 0.0), frame)

    def _picture(self) -> np.ndarray | None:
        if self._current is None:
            return None
        if self._image is None:
            frame = self._current[1]
            if self._width and self._width != frame.width:
                height = max(2, int(round(frame.height * self._width / frame.width / 2)) * 2)
                self._image = frame.to_ndarray(format="rgb24", width=self._width, height=height)
            else:
                self._image = frame.to_ndarray(format="rgb24")
        return self._image

    @property
    def time_s(self) -> float | None:
        """Start time of the frame last returned."""
        return None if self._current is None else self._current[0]
