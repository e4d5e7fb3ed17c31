"""Synthetic videos with a known answer: a textured square moving over a still background."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def square_track(num_frames: int, *, x_from: float = 0.15, x_to: float = 0.85,
                 y: float = 0.5, size: float = 0.2, appear: tuple[int, int] | None = None):
    """Normalised boxes of the square per frame (None where hidden)."""
    out = []
    for i in range(num_frames):
        if appear is not None and not appear[0] <= i < appear[1]:
            out.append(None)
            continue
        cx = x_from + (x_to - x_from) * i / max(1, num_frames - 1)
        out.append((cx - size / 2, y - size / 2, cx + size / 2, y + size / 2))
    return out


def write_square_video(path: Path, *, duration_s: float = 3.0, fps: float = 12.0,
                       size: tuple[int, int] = (192, 144), x_from: float = 0.15,
                       x_to: float = 0.85, square: float = 0.2, show_square: bool = True,
                       appear: tuple[int, int] | None = None, seed: int = 0,
                       audio: np.ndarray | None = None, sample_rate: int = 44100):
    """Write an H.264 MP4 of a textured square moving from ``x_from`` to ``x_to`` (centres,
    fractions of the width) over a smooth random background. Returns the boxes per frame
    (square side ``square`` of the frame height, as a fraction of each axis)."""
    import av
    import cv2
    w, h = size
    n = int(round(duration_s * fps))
    rng = np.random.default_rng(seed)
    background = cv2.GaussianBlur(rng.uniform(60, 200, (h, w)).astype(np.float32), (0, 0), 6)
    background = cv2.normalize(background, None, 70, 180, cv2.NORM_MINMAX)
    side = int(round(square * h))
    checker = ((np.indices((side, side)) // max(2, side // 4)).sum(axis=0) % 2) * 160 + 40
    tex = (checker + rng.normal(0, 8, (side, side))).clip(0, 255)
    boxes = []
    with av.open(str(path), "w", format="mp4") as c:
        vs = c.add_stream("libx264", rate=int(fps) if float(fps).is_integer() else fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"crf": "18", "preset": "veryfast"}
        as_ = None
        if audio is not None:
            as_ = c.add_stream("aac", rate=sample_rate)
            as_.layout = "stereo" if audio.shape[0] == 2 else "mono"
        for i in range(n):
            img = background.copy()
            cx = x_from + (x_to - x_from) * i / max(1, n - 1)
            visible = show_square and (appear is None or appear[0] <= i < appear[1])
            if visible:
                x0 = int(round(cx * w - side / 2))
                y0 = int(round(0.5 * h - side / 2))
                xa, xb = max(0, x0), min(w, x0 + side)
                ya, yb = max(0, y0), min(h, y0 + side)
                if xb > xa and yb > ya:
                    img[ya:yb, xa:xb] = tex[ya - y0:yb - y0, xa - x0:xb - x0]
                boxes.append((x0 / w, y0 / h, (x0 + side) / w, (y0 + side) / h))
            else:
                boxes.append(None)
            rgb = np.repeat(img.astype(np.uint8)[..., None], 3, axis=2)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            for p in vs.encode(frame):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        if as_ is not None:
            layout = "stereo" if audio.shape[0] == 2 else "mono"
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio, np.float32),
                                               format="fltp", layout=layout)
            frame.sample_rate = sample_rate
            frame.pts = 0
            for p in as_.encode(frame):
                c.mux(p)
            for p in as_.encode(None):
                c.mux(p)
    return boxes
