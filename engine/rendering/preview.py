"""The layout preview renderer: what users see before any diffusion model is installed.

A calm backdrop chosen from the layout's ``background`` words (sky and ground gradients, a
horizon, a vignette), each object as a labelled card in its box with a soft shadow and a
motion arrow, boxes moving smoothly between layout frames, and a timeline bar with the
playhead and one lane per object showing when it is on screen. Pure OpenCV and numpy.
"""

from __future__ import annotations

import colorsys
import zlib

import cv2
import numpy as np

from ..jobs import CancelToken, Job, Preview, stage_progress
from ..layout import Layout, box_at_time
from ..protocols import Frame, RenderSettings

TIMELINE_H = 28
FONT = cv2.FONT_HERSHEY_DUPLEX

# (sky top, sky bottom, ground top, ground bottom, horizon y) in RGB, by keywords.
_SCENES = [
    (("night",), ((12, 16, 40), (40, 44, 80), (30, 30, 38), (14, 14, 20), 0.55)),
    (("street", "city", "road", "highway", "garage", "crossing"),
     ((120, 170, 225), (200, 222, 240), (92, 96, 104), (58, 60, 66), 0.52)),
    (("forest", "park", "pasture", "farm", "field", "meadow", "hills", "countryside", "railway"),
     ((110, 170, 230), (205, 228, 242), (92, 150, 78), (50, 98, 46), 0.50)),
    (("savanna", "desert"), ((150, 190, 230), (240, 220, 180), (214, 178, 110), (170, 128, 70), 0.55)),
    (("sky", "airport", "runway"), ((70, 130, 210), (185, 215, 245), (120, 124, 128), (84, 88, 92), 0.70)),
    (("river", "water", "waterfall", "gorge", "sea", "beach"),
     ((120, 175, 225), (210, 230, 245), (64, 128, 170), (30, 82, 120), 0.52)),
    (("storm", "rain"), ((70, 80, 96), (130, 138, 150), (70, 76, 80), (40, 44, 48), 0.52)),
    (("room", "hall", "stage", "kitchen", "studio", "office"),
     ((222, 210, 190), (236, 228, 212), (150, 112, 80), (110, 80, 56), 0.62)),
]
_DEFAULT_SCENE = ((125, 170, 220), (214, 230, 242), (120, 150, 100), (76, 104, 66), 0.54)


class PreviewRenderer:
    """Draws the layout, fast enough to preview any length of audio on a laptop CPU."""

    name = "preview"

    def render(self, layout: Layout, settings: RenderSettings, token: CancelToken) -> Job[None]:
        width = settings.width or layout.width
        height = settings.height or layout.height
        fps = settings.fps
        count = max(1, int(round(layout.duration_s * fps)))
        backdrop = draw_backdrop(layout.background, width, height - TIMELINE_H)
        report = stage_progress("render")
        for k in range(count):
            if k % 8 == 0:
                token.raise_if_cancelled()
            t = (k + 0.5) / fps
            image = draw_frame(layout, t, backdrop)
            if k % 24 == 0:
                yield report(k / count, f"frame {k + 1}/{count}")
                yield Preview(image, k, count, "render")
            yield Frame(image, k, fps)
        yield report(1.0, f"{count} frames")


def object_color(label: str) -> tuple[int, int, int]:
    """A stable, pleasant colour per label (RGB)."""
    hue = (zlib.crc32(label.lower().encode()) % 360) / 360.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.55, 0.55)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_backdrop(background: str, width: int, height: int) -> np.ndarray:
    """RGB uint8 ``(height, width, 3)`` scene for the background description."""
    words = background.lower()
    scene = next((s for keys, s in _SCENES if any(k in words for k in keys)), _DEFAULT_SCENE)
    sky0, sky1, gr0, gr1, horizon = scene
    hy = int(height * horizon)
    img = np.empty((height, width, 3), np.float32)
    t = np.linspace(0, 1, max(1, hy))[:, None]
    img[:hy] = (np.array(sky0) * (1 - t) + np.array(sky1) * t)[:, None, :]
    t = np.linspace(0, 1, max(1, height - hy))[:, None] ** 0.8
    img[hy:] = (np.array(gr0) * (1 - t) + np.array(gr1) * t)[:, None, :]
    # Soft haze at the horizon and a vignette give depth without any texture noise.
    ys = np.arange(height)[:, None]
    haze = np.exp(-((ys - hy) / (0.05 * height + 1)) ** 2)[..., None]
    img = img * (1 - 0.25 * haze) + 255 * 0.25 * haze
    yy, xx = np.mgrid[0:height, 0:width]
    r = np.sqrt(((xx - width / 2) / (width / 2)) ** 2 + ((yy - height / 2) / (height / 2)) ** 2)
    img *= (1 - 0.22 * np.clip(r - 0.55, 0, 1))[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def draw_frame(layout: Layout, t: float, backdrop: np.ndarray) -> np.ndarray:
    """One preview frame at time ``t`` s: backdrop, object cards, timeline. RGB uint8."""
    h, w = backdrop.shape[:2]
    canvas = backdrop.copy()
    # Draw far (small) objects first so near ones overlap them.
    items = []
    for obj in layout.objects:
        box = box_at_time(layout, obj, t)
        if box is not None:
            items.append(((box[2] - box[0]) * (box[3] - box[1]), obj, box))
    for _, obj, box in sorted(items, key=lambda it: it[0]):
        _draw_card(canvas, obj.label, obj.motion, box)
    timeline = _draw_timeline(layout, t, w)
    return np.ascontiguousarray(np.vstack([canvas, timeline]))


def _draw_card(img: np.ndarray, label: str, motion: str, box) -> None:
    h, w = img.shape[:2]
    x0, y0, x1, y1 = int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)
    x1, y1 = max(x1, x0 + 8), max(y1, y0 + 8)
    color = object_color(label)
    radius = max(4, min(x1 - x0, y1 - y0) // 6)
    # Shadow: blurred dark rounded rect, offset down-right, blended in a local patch.
    pad = radius + 8
    px0, py0 = max(0, x0 - pad), max(0, y0 - pad)
    px1, py1 = min(w, x1 + pad + 6), min(h, y1 + pad + 6)
    patch = img[py0:py1, px0:px1]
    mask = np.zeros(patch.shape[:2], np.float32)
    _rounded_rect(mask, (x0 - px0 + 4, y0 - py0 + 6, x1 - px0 + 4, y1 - py0 + 6), radius, 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=5)
    patch[:] = (patch * (1 - 0.35 * mask[..., None])).astype(np.uint8)
    # Card body, a lighter header band, and an outline.
    card = np.zeros(patch.shape[:2], np.float32)
    _rounded_rect(card, (x0 - px0, y0 - py0, x1 - px0, y1 - py0), radius, 1.0)
    fill = np.array(color, np.float32)
    patch[:] = (patch * (1 - 0.82 * card[..., None]) + fill * 0.82 * card[..., None]).astype(np.uint8)
    _rounded_rect(img, (x0, y0, x1, y1), radius, tuple(int(c * 0.6) for c in color), thickness=2)
    # Label centred in the card, scaled to fit.
    text = label.upper()
    scale = 0.5
    (tw, th), _ = cv2.getTextSize(text, FONT, scale, 1)
    scale = float(np.clip(scale * 0.8 * (x1 - x0) / max(tw, 1), 0.3, 1.1))
    (tw, th), _ = cv2.getTextSize(text, FONT, scale, 1)
    tx, ty = (x0 + x1 - tw) // 2, (y0 + y1 + th) // 2
    cv2.putText(img, text, (tx + 1, ty + 1), FONT, scale, (0, 0, 0), 2, cv2.LINE_AA)
    cv2.putText(img, text, (tx, ty), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
    _motion_glyph(img, motion, (x0, y0, x1, y1), ty + 6)


def _motion_glyph(img, motion: str, box, y_text: int) -> None:
    x0, y0, x1, y1 = box
    cx = (x0 + x1) // 2
    y = min(y1 - 8, y_text + 20)  # below the label, clear of the arrowhead's wings
    span = max(10, (x1 - x0) // 4)
    white = (255, 255, 255)
    if motion == "left_to_right":
        cv2.arrowedLine(img, (cx - span, y), (cx + span, y), white, 2, cv2.LINE_AA, tipLength=0.35)
    elif motion == "right_to_left":
        cv2.arrowedLine(img, (cx + span, y), (cx - span, y), white, 2, cv2.LINE_AA, tipLength=0.35)
    elif motion in ("approaching", "receding"):
        r_out, r_in = max(6, span // 2), max(3, span // 4)
        cv2.circle(img, (cx, y), r_out, white, 1 if motion == "receding" else 2, cv2.LINE_AA)
        cv2.circle(img, (cx, y), r_in, white, 2 if motion == "receding" else 1, cv2.LINE_AA)


def _rounded_rect(img, box, r: int, color, thickness: int = -1) -> None:
    x0, y0, x1, y1 = (int(v) for v in box)
    r = int(max(1, min(r, (x1 - x0) // 2, (y1 - y0) // 2)))
    if thickness < 0:
        cv2.rectangle(img, (x0 + r, y0), (x1 - r, y1), color, -1, cv2.LINE_AA)
        cv2.rectangle(img, (x0, y0 + r), (x1, y1 - r), color, -1, cv2.LINE_AA)
        for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
            cv2.circle(img, (cx, cy), r, color, -1, cv2.LINE_AA)
        return
    cv2.line(img, (x0 + r, y0), (x1 - r, y0), color, thickness, cv2.LINE_AA)
    cv2.line(img, (x0 + r, y1), (x1 - r, y1), color, thickness, cv2.LINE_AA)
    cv2.line(img, (x0, y0 + r), (x0, y1 - r), color, thickness, cv2.LINE_AA)
    cv2.line(img, (x1, y0 + r), (x1, y1 - r), color, thickness, cv2.LINE_AA)
    for (cx, cy), ang in (((x0 + r, y0 + r), 180), ((x1 - r, y0 + r), 270),
                          ((x1 - r, y1 - r), 0), ((x0 + r, y1 - r), 90)):
        cv2.ellipse(img, (cx, cy), (r, r), ang, 0, 90, color, thickness, cv2.LINE_AA)


def _draw_timeline(layout: Layout, t: float, width: int) -> np.ndarray:
    bar = np.full((TIMELINE_H, width, 3), 28, np.uint8)
    n = layout.num_frames
    lanes = layout.objects[:4]
    lane_h = max(2, (TIMELINE_H - 10) // max(1, len(lanes)))
    for j, obj in enumerate(lanes):
        color = object_color(obj.label)
        y = 4 + j * lane_h
        for i, b in enumerate(obj.boxes):
            if b is not None:
                xa, xb = int(i / n * width), int((i + 1) / n * width)
                cv2.rectangle(bar, (xa, y), (max(xa, xb - 1), y + lane_h - 2), color, -1)
    frac = min(1.0, max(0.0, t / layout.duration_s))
    cv2.rectangle(bar, (0, TIMELINE_H - 4), (int(frac * width), TIMELINE_H - 1), (235, 235, 235), -1)
    x = int(frac * (width - 1))
    cv2.line(bar, (x, 0), (x, TIMELINE_H - 1), (255, 255, 255), 1)
    return bar
