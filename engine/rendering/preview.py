"""The layout preview renderer: what users see before any diffusion model is installed.

Each object is drawn as a colour pictogram of what it is (pictograms.py) on a backdrop that
fits the scene (backdrops.py: road, sky, room, field, water, stage), moving smoothly between
the layout's boxes. What the picture says:

* where: the box. Nearer things have bigger, lower boxes (the planner's size law) and stand on
  a soft ground shadow; flying things cast none.
* which way: a thing moving right to left faces left (sprites are mirrored as needed, knowing
  which way each drawing faces); a passing vehicle gets a little horizontal motion blur, as a
  camera with a half-frame shutter would see it.
* when it sounds: the object swells slightly and sends out rings in step with its own
  loudness (activity.py), so a viewer sees which thing makes which sound and when.
* labels (optional): the noun under each object, on in the studio's layout view, off in
  exported videos unless asked for (``RenderSettings.labels``, ``spa2v render --labels``).

A timeline strip at the bottom shows when each object is on screen and the playhead. OpenCV
and numpy (labels: TrueType fonts through Pillow, text.py); sprites, shadows and backdrops are cached, so a frame costs about a
millisecond per object.
"""

from __future__ import annotations

import colorsys
import zlib
from functools import lru_cache

import cv2
import numpy as np

from ..jobs import CancelToken, Job, Log, Preview, stage_progress
from ..layout import Layout, LayoutObject, box_at_time, video_frame_count
from ..protocols import Frame, RenderSettings
from .activity import ActivityMeter, LoudnessTrack
from .backdrops import (AIRBORNE, FLIERS, RAIL, SKY_LINE, WEATHER, WEATHER_SIDE, Scene,
                        draw_backdrop, scene_for)
from .pictograms import Pictogram, pictogram
from .scale import DESIGN_PICTURE_PX, TIMELINE_H, frame_scale, scaled  # noqa: F401 (re-exported)
from .text import LABEL_PX, fitted, label_sprite, missing_note

# TIMELINE_H, the names' size and margins and MAX_BLUR_PX are at the 512x512 default's size,
# drawn larger in a larger frame (scale.py).
SHUTTER = 0.5          # share of a frame interval the virtual shutter is open (motion blur)
MAX_BLUR_PX = 28       # at the default size (frame_scale)
PULSE = 0.08           # how much an object swells at full loudness
RING_SPEED = 1.6       # rings sent out per second
FILL = 1.15            # a sprite's side as a multiple of its box height (emoji have margins)
# A dark drawing (musical notes, paw prints, a crowd's silhouettes: mean Rec. 601 luma under
# RIM_DARK, about 0.43 of white) on a dark part of the picture (the luma under it below
# RIM_DARK too: the dark stage, a night scene) gets a light rim, as the labels get a dark one,
# or it melts into the picture. On a lit backdrop colour tells them apart (a brown horse on
# green grass has about the grass's luma and reads well), so no rim there. Design.
RIM_DARK = 110
RIM_COLOR = (236, 236, 236)


def timeline_height(width: int, picture_height: int) -> int:
    """The timeline strip's height under a picture of that size."""
    return scaled(TIMELINE_H, frame_scale(width, picture_height))


def picture_height(width: int, height: int) -> int:
    """The height of the picture above the timeline in a ``width`` x ``height`` frame (the
    timeline takes the rest: ``height - picture_height``)."""
    ph = height - TIMELINE_H
    for _ in range(8):  # the timeline is under a tenth of the frame: this settles at once
        ph = height - timeline_height(width, ph)
    return ph


class PreviewRenderer:
    """Draws the layout, fast enough to preview any length of audio on a laptop CPU."""

    name = "preview"
    wants_loudness = True  # render_job passes the mix loudness track (settings.loudness)

    def render(self, layout: Layout, settings: RenderSettings, token: CancelToken) -> Job[None]:
        # Even sizes, as the H.264 stream has: a plan 513 x 99 pixels was drawn so and every
        # frame then resized by a pixel for the MP4, blurring the whole picture a little.
        width = (settings.width or layout.width) // 2 * 2
        height = (settings.height or layout.height) // 2 * 2
        fps = settings.fps
        count = video_frame_count(layout.duration_s, fps)
        ph = picture_height(width, height)
        backdrop = layout_backdrop(layout, width, ph)
        meter = ActivityMeter(layout, settings.loudness)
        timeline = timeline_strip(layout, width, height - ph)
        report = stage_progress("render")
        note = missing_note(o.label.lower() for o in layout.objects) if settings.labels else None
        if note:  # once per video, not once per frame
            yield Log(note, "warning")
        for k in range(count):
            if k % 8 == 0:
                token.raise_if_cancelled()
            t = (k + 0.5) / fps
            image = draw_frame(layout, t, backdrop, labels=settings.labels, meter=meter,
                               timeline=timeline, fps=fps)
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


def layout_scene(layout: Layout) -> Scene:
    pics = [pictogram(o.label) for o in layout.objects]
    return scene_for(layout.background, tuple(p.noun for p in pics),
                     tuple(p.family for p in pics))


def layout_backdrop(layout: Layout, width: int, height: int) -> np.ndarray:
    """The backdrop for a layout: its background words, else what is in it (cached)."""
    return draw_backdrop(layout.background, width, height, scene=layout_scene(layout))


def draw_frame(layout: Layout, t: float, backdrop: np.ndarray, *, labels: bool = True,
               meter: ActivityMeter | None = None, timeline: np.ndarray | None = None,
               fps: float = 24.0) -> np.ndarray:
    """One preview frame at time ``t`` s: backdrop, objects, timeline. RGB uint8
    ``(backdrop height + timeline height, width, 3)`` (:func:`timeline_height` unless
    ``timeline`` is given).

    ``meter`` gives each object's loudness (none: no pulses or rings); ``timeline`` is the
    strip from :func:`timeline_strip` (drawn here when not given); ``fps`` sets the shutter
    time of the motion blur.
    """
    canvas = backdrop.copy()
    scale = frame_scale(canvas.shape[1], canvas.shape[0])
    items = []
    for obj in layout.objects:
        box = box_at_time(layout, obj, t)
        if box is not None:
            items.append((box[3], (box[2] - box[0]) * (box[3] - box[1]), obj, box))
    # Far things first: a box whose bottom is higher stands further away.
    items.sort(key=lambda it: (it[0], it[1]))
    for _, _, obj, box in items:  # tracks under everything, across the frame
        if pictogram(obj.label).noun in RAIL:
            _track(canvas, *_wheels(canvas, obj, box))
    anchors = []
    for _, _, obj, box in items:
        activity = meter.activity(obj, t) if meter is not None else 0.0
        anchors.append((obj.label, _draw_object(canvas, layout, obj, box, t, activity, fps,
                                                scale)))
    if labels:  # over every object, so a nearer thing cannot hide a farther one's name
        for label, (cx, y) in anchors:
            _label(canvas, label, cx, y)
    strip = timeline if timeline is not None else timeline_strip(
        layout, canvas.shape[1], scaled(TIMELINE_H, scale))
    return np.vstack([canvas, _playhead(strip, t / layout.duration_s)])


# ------------------------------------------------------------------------------ objects


def _velocity(layout: Layout, obj: LayoutObject, t: float) -> float:
    """Horizontal speed of the box centre, in frame widths per second (+ = rightwards)."""
    dt = 0.5 * layout.duration_s / layout.num_frames
    a = box_at_time(layout, obj, max(0.0, t - dt))
    b = box_at_time(layout, obj, min(layout.duration_s, t + dt))
    if a is None or b is None:
        return 0.0
    return ((b[0] + b[2]) - (a[0] + a[2])) / 2 / (2 * dt)


def _heading(obj: LayoutObject, velocity: float) -> str:
    if obj.motion == "left_to_right":
        return "right"
    if obj.motion == "right_to_left":
        return "left"
    if abs(velocity) > 0.02:
        return "right" if velocity > 0 else "left"
    return ""


def _base_side(w: int, h: int, box) -> float:
    """A sprite's side in pixels before it swells: its box's width, or its height with the
    drawing's margins (FILL), whichever is smaller."""
    return max(12.0, min((box[2] - box[0]) * w, (box[3] - box[1]) * h * FILL))


@lru_cache(maxsize=256)
def _foot(pic: Pictogram) -> float:
    """Where the drawing touches the ground: its lowest opaque row, share of its side."""
    rows = np.flatnonzero(pic.rgba[..., 3].max(axis=1) > 128)
    return float(rows[-1] + 1) / pic.rgba.shape[0] if rows.size else 1.0


def _wheels(canvas: np.ndarray, obj: LayoutObject, box) -> tuple[int, float]:
    """The row a ground object's drawing stands on (at rest size), and its side in pixels."""
    h, w = canvas.shape[:2]
    side = _base_side(w, h, box)
    bottom = box[3] * h + 0.06 * side  # as _draw_object places a ground object
    return int(round(bottom - side + _foot(pictogram(obj.label)) * side)), side


def _track(canvas: np.ndarray, y: int, side: float) -> None:
    """A railway track seen from the side along the whole width, its rail's top at row ``y``:
    ballast, sleepers' ends, a steel rail, scaled with the train standing on it."""
    h, w = canvas.shape[:2]
    rail = max(2, int(side / 36))
    bed = max(4, int(side / 11))
    y0, y1 = max(0, y + rail), min(h, y + rail + bed)
    if y0 < y1:
        canvas[y0:y1] = (canvas[y0:y1] * 0.25 + np.array([112, 104, 94]) * 0.75).astype(np.uint8)
        step = max(8, int(side / 5))
        for x in range(step // 3, w, step):
            cv2.rectangle(canvas, (x, y0), (x + max(3, step // 3), min(h - 1, y0 + bed // 2)),
                          (84, 62, 46), -1)
    if 0 <= y < h:
        canvas[max(0, y):min(h, y + rail)] = (176, 178, 186)
        canvas[min(h - 1, y + rail - 1)] = (96, 98, 106)


def _draw_object(canvas: np.ndarray, layout: Layout, obj: LayoutObject, box, t: float,
                 activity: float, fps: float, scale: float = 1.0) -> tuple[int, int]:
    """Draw one object; returns where its label goes (centre x, top y). ``scale``:
    :func:`frame_scale` of the canvas."""
    h, w = canvas.shape[:2]
    pic = pictogram(obj.label)
    x0, y0, x1, y1 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
    weather = pic.noun in WEATHER
    flying = pic.noun in AIRBORNE or pic.noun in FLIERS or weather
    base = _base_side(w, h, box)
    if weather:  # one cloud in the sky, not a cloud as big as the scene standing on the road
        base = min(base, WEATHER_SIDE * h)
    side = int(round(base * (1 + PULSE * activity) / 2)) * 2
    velocity = _velocity(layout, obj, t)
    heading = _heading(obj, velocity)
    mirror = bool(heading) and pic.faces in ("left", "right") and heading != pic.faces
    blur = 0
    if pic.family in ("vehicle", "engine") or flying:
        blur = int(min(MAX_BLUR_PX * scale, abs(velocity) * w * SHUTTER / max(fps, 1.0)) // 2 * 2)
    cx = 0.5 * (x0 + x1)
    bottom = 0.5 * (y0 + y1) + 0.5 * side if flying else y1 + 0.06 * side
    if weather:
        bottom = min(bottom, SKY_LINE * h)
    top = int(round(bottom - side))
    left = int(round(cx - side / 2))
    if not flying:
        _shadow(canvas, int(round(cx)), int(round(y1)), side)
    if activity > 0.02:
        _rings(canvas, (int(round(cx)), int(round(bottom - side / 2))), side, activity, t,
               object_color(obj.label))
    rgb, keep = _sprite_u8(pic, side, mirror, blur)
    x = left - (keep.shape[1] - side) // 2  # blurred: wider, centred
    if _needs_rim(canvas, pic, keep, x, top):
        _blend(canvas, *_rim_u8(pic, side, mirror, blur), x - _rim_px(side), top - _rim_px(side))
    _blend(canvas, rgb, keep, x, top)
    return int(round(cx)), int(round(bottom)) + scaled(4, scale)


@lru_cache(maxsize=64)
def _halved(pic: Pictogram, level: int) -> np.ndarray:
    """The picture halved ``level`` times (area averaging; level 0: the stored one)."""
    if level == 0:
        return pic.rgba
    src = _halved(pic, level - 1)
    side = max(1, src.shape[0] // 2)
    return cv2.resize(src, (side, side), interpolation=cv2.INTER_AREA)


def _source(pic: Pictogram, side: int) -> np.ndarray:
    """What a ``side``-pixel sprite is scaled from: the smallest halving of the stored picture
    that is still at least ``side`` (the stored one when larger). The pictures are stored
    large (pictograms.SPRITE_PX) so that 1080p is sharp; scaling every frame's sprite down
    from there would cost up to 50 times the pixels of one from a picture at most twice its
    size, and look the same."""
    level, size = 0, pic.rgba.shape[0]
    while size // 2 >= side and size // 2 >= 2:
        level, size = level + 1, size // 2
    return _halved(pic, level)


@lru_cache(maxsize=8)  # the frames use _sprite_u8's cache; this one only saves a rebuild
def _sprite(pic: Pictogram, side: int, mirror: bool, blur: int) -> tuple[np.ndarray, np.ndarray]:
    """Premultiplied RGB and alpha, float32 ``(side, side + blur, 3)`` and ``(..., 1)``."""
    src = _source(pic, side)
    # from at most twice the size, bilinear is as close to area averaging from the stored
    # picture (0.3 of a grey level on average) at a tenth of its time (0.1 ms, not 1-3 ms)
    rgba = cv2.resize(src, (side, side), interpolation=cv2.INTER_LINEAR
                      if side < src.shape[0] else cv2.INTER_CUBIC)
    rgba = rgba.astype(np.float32) / 255.0
    if mirror:
        rgba = rgba[:, ::-1]
    rgb = rgba[..., :3] * rgba[..., 3:4]
    alpha = rgba[..., 3:4]
    if blur:
        # Box blur along x of the premultiplied image: the smear a moving object leaves during
        # the exposure, with its edges fading (the sprite is padded so nothing is cut off).
        pad = ((0, 0), (blur // 2, blur // 2), (0, 0))
        rgb, alpha = np.pad(rgb, pad), np.pad(alpha, pad)
        kernel = np.full((1, blur + 1), 1.0 / (blur + 1), np.float32)
        rgb = cv2.filter2D(rgb, -1, kernel, borderType=cv2.BORDER_CONSTANT)
        alpha = cv2.filter2D(alpha, -1, kernel, borderType=cv2.BORDER_CONSTANT)[..., None]
    rgb = np.ascontiguousarray(rgb, np.float32) * 255.0
    return rgb, np.ascontiguousarray(alpha, np.float32)


@lru_cache(maxsize=96)  # up to 0.24 MB each at 200 px; sizes repeat while objects hold still
def _sprite_u8(pic: Pictogram, side: int, mirror: bool, blur: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_sprite` as uint8 for OpenCV's saturating arithmetic: the premultiplied colour
    and how much of the background shows through (255 (1 - alpha), repeated per channel)."""
    rgb, alpha = _sprite(pic, side, mirror, blur)
    keep = np.repeat(((1.0 - alpha) * 255.0 + 0.5).astype(np.uint8), 3, axis=2)
    return (rgb + 0.5).astype(np.uint8), keep


@lru_cache(maxsize=256)
def _luma(pic: Pictogram) -> float:
    """Mean Rec. 601 luma of the drawing's opaque pixels (0-255)."""
    a = pic.rgba[..., 3].astype(np.float32) / 255.0
    luma = pic.rgba[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return float((luma * a).sum() / max(a.sum(), 1.0))


def _needs_rim(canvas: np.ndarray, pic: Pictogram, keep: np.ndarray, left: int, top: int) -> bool:
    """Whether a dark drawing would stand on a dark part of the picture (see RIM_DARK)."""
    own = _luma(pic)
    if own >= RIM_DARK:
        return False
    h, w = canvas.shape[:2]
    sh, sw = keep.shape[:2]
    x0, y0, x1, y1 = max(0, left), max(0, top), min(w, left + sw), min(h, top + sh)
    if x0 >= x1 or y0 >= y1:
        return False
    behind = canvas[y0:y1:4, x0:x1:4].astype(np.float32) @ np.array([0.299, 0.587, 0.114],
                                                                   np.float32)
    cover = 1.0 - keep[y0 - top:y1 - top:4, x0 - left:x1 - left:4, 0].astype(np.float32) / 255
    if cover.sum() < 1.0:
        return False
    return float((behind * cover).sum() / cover.sum()) < RIM_DARK


def _rim_px(side: int) -> int:
    return max(2, side // 40)


@lru_cache(maxsize=32)
def _rim_u8(pic: Pictogram, side: int, mirror: bool, blur: int) -> tuple[np.ndarray, np.ndarray]:
    """A light outline around the sprite (its alpha grown by :func:`_rim_px`), premultiplied
    like :func:`_sprite_u8`, as big as the sprite plus the rim on each side."""
    _, alpha = _sprite(pic, side, mirror, blur)
    r = _rim_px(side)
    grown = cv2.dilate(np.pad(alpha[..., 0], r), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    grown = cv2.GaussianBlur(grown, (0, 0), sigmaX=max(0.6, r / 3))[..., None]
    rgb = (grown * np.asarray(RIM_COLOR, np.float32) + 0.5).astype(np.uint8)
    keep = np.repeat(((1.0 - grown) * 255.0 + 0.5).astype(np.uint8), 3, axis=2)
    return rgb, keep


def _blend(canvas: np.ndarray, rgb: np.ndarray, keep: np.ndarray, left: int, top: int) -> None:
    """Composite a premultiplied sprite (from :func:`_sprite_u8`, or a label's) with its top-left corner at
    (left, top), clipped: background x keep / 255 + colour, in uint8 (a tenth of the time of
    the same in float32)."""
    h, w = canvas.shape[:2]
    sh, sw = keep.shape[:2]
    cx0, cy0, cx1, cy1 = max(0, left), max(0, top), min(w, left + sw), min(h, top + sh)
    if cx0 >= cx1 or cy0 >= cy1:
        return
    sx0, sy0 = cx0 - left, cy0 - top
    region = canvas[cy0:cy1, cx0:cx1]
    k = keep[sy0:sy0 + cy1 - cy0, sx0:sx0 + cx1 - cx0]
    c = rgb[sy0:sy0 + cy1 - cy0, sx0:sx0 + cx1 - cx0]
    cv2.add(cv2.multiply(region, k, scale=1 / 255), c, dst=region)


@lru_cache(maxsize=128)
def _shadow_mask(side: int) -> np.ndarray:
    """A soft ellipse (float32 ``(hh, ww, 1)`` in [0, 1]) for an object ``side`` pixels big."""
    ww, hh = int(side * 0.95) + 8, int(side * 0.22) + 8
    m = np.zeros((hh, ww), np.float32)
    cv2.ellipse(m, (ww // 2, hh // 2), (int(side * 0.38), max(2, int(side * 0.06))), 0, 0, 360,
                1.0, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(m, (0, 0), sigmaX=max(1.0, side / 40))[..., None]


def _shadow(canvas: np.ndarray, cx: int, y: int, side: int) -> None:
    m = _shadow_mask(int(side // 4 * 4))
    hh, ww = m.shape[:2]
    left, top = cx - ww // 2, y - hh // 2
    h, w = canvas.shape[:2]
    x0, y0, x1, y1 = max(0, left), max(0, top), min(w, left + ww), min(h, top + hh)
    if x0 >= x1 or y0 >= y1:
        return
    region = canvas[y0:y1, x0:x1]
    region[:] = (region * (1.0 - 0.45 * m[y0 - top:y1 - top, x0 - left:x1 - left])).astype(np.uint8)


def _rings(canvas: np.ndarray, centre: tuple[int, int], side: int, activity: float, t: float,
           color: tuple[int, int, int]) -> None:
    """Two rings travelling outwards from the object, as bright as it is loud."""
    h, w = canvas.shape[:2]
    light = tuple(int(255 - 0.3 * (255 - c)) for c in color)
    thickness = max(2, side // 32)
    for k in range(2):
        phase = (t * RING_SPEED + k / 2) % 1.0
        radius = int(side * (0.45 + 0.5 * phase))
        strength = min(1.0, activity * (1.0 - phase) ** 1.2)
        if strength < 0.03:
            continue
        # Blend only the square the ring lies in (half the pixels of its largest one, on
        # average, and the same picture: elsewhere the blend would give back the canvas).
        reach = radius + thickness // 2 + 2
        x0, y0 = max(0, centre[0] - reach), max(0, centre[1] - reach)
        x1, y1 = min(w, centre[0] + reach + 1), min(h, centre[1] + reach + 1)
        if x0 >= x1 or y0 >= y1:
            continue
        region = canvas[y0:y1, x0:x1]
        overlay = region.copy()
        cv2.circle(overlay, (centre[0] - x0, centre[1] - y0), radius, light, thickness,
                   cv2.LINE_AA)
        cv2.addWeighted(overlay, strength, region, 1 - strength, 0, dst=region)


LABEL_MARGIN = 4  # pixels kept between a label and the frame's edge (at the default size)


def _label(canvas: np.ndarray, label: str, cx: int, y: int) -> None:
    """The label centred under the object (its letters' top at ``y``), in its own script
    (text.py), shortened with "..." to fit the frame's width and kept inside it, white on a
    dark outline; LABEL_PX high at the default size, larger in a larger frame (frame_scale)."""
    h, w = canvas.shape[:2]
    scale = frame_scale(w, h)
    px, margin = scaled(LABEL_PX, scale), scaled(LABEL_MARGIN, scale)
    rgb, keep, base = label_sprite(fitted(label.lower(), w - 2 * margin, px), px)
    th, tw = keep.shape[:2]
    # the baseline where the Hershey text had it: a cap height (10 px) under the anchor
    top = min(h - margin - base, y + px - base)
    x = min(max(margin, cx - tw // 2), max(margin, w - margin - tw))
    _blend(canvas, rgb, keep, x, top)


# ------------------------------------------------------------------------------ timeline


def timeline_strip(layout: Layout, width: int, height: int = TIMELINE_H) -> np.ndarray:
    """The timeline without its playhead: one lane per object (all of them, up to the
    layout's 8) showing when it is on screen. RGB uint8 ``(height, width, 3)``; its margins
    and the playhead's bar grow with ``height`` (:func:`timeline_height`)."""
    bar = np.full((height, width, 3), 28, np.uint8)
    n = layout.num_frames
    lanes = layout.objects
    s = height / TIMELINE_H
    top, bottom = scaled(4, s), scaled(6, s)  # above the lanes; below them, the playhead's bar
    lane_h = max(2, (height - top - bottom) // max(1, len(lanes)))
    for j, obj in enumerate(lanes):
        color = object_color(obj.label)
        y = top + j * lane_h
        for i, b in enumerate(obj.boxes):
            if b is not None:
                xa, xb = int(i / n * width), int((i + 1) / n * width)
                cv2.rectangle(bar, (xa, y), (max(xa, xb - 1), y + lane_h - 2), color, -1)
    return bar


def _playhead(strip: np.ndarray, frac: float) -> np.ndarray:
    bar = strip.copy()
    height, width = bar.shape[:2]
    s = height / TIMELINE_H
    frac = min(1.0, max(0.0, frac))
    bar[height - scaled(4, s):, :int(frac * width)] = 235
    line = scaled(1, s)
    x = min(width - line, int(frac * (width - 1)))
    bar[:, x:x + line] = 255
    return bar
