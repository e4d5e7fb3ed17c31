"""Follow one object through a video: from a box the user gives, or the largest moving region.

Trackers (OpenCV primitives; opencv-python-headless 5 has no CSRT or KCF, and its DaSiamRPN,
Nano and Vit trackers need network weights):

- ``template`` (default): normalised cross-correlation (``cv2.matchTemplate``) of a slowly
  updated template, searched around the position predicted from the last velocity, at three
  scales (so approaching objects keep their box). A match scoring below 0.5 counts as lost;
  while lost the whole frame is searched and the object is taken back at 0.6 or better.
- ``mil``: OpenCV's MIL tracker, its answer checked against the template the same way (MIL
  never says it has lost anything by itself).

Without a box, the object is the largest region that differs from the video's median frame
(frame differencing against a background that moving things do not stay in). Tracking runs
forwards and backwards from the frame where the object is found or given. When the object is
lost in more than half of the video, :func:`track_object` raises :class:`BadInput`: a sound
following a tracker's guesses would be worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import BadInput
from ..jobs import CancelToken
from ..layout import Box, Layout, LayoutObject, PlannerInfo
from .video import VideoClip

TRACKERS = ("template", "mil")
ACCEPT_SCORE = 0.5
REACQUIRE_SCORE = 0.6
UPDATE_SCORE = 0.8
MAX_LOST_FRACTION = 0.5
MIN_REGION_FRACTION = 0.0015
MAX_REGION_FRACTION = 0.6
_CONTEXT = 0.15  # template includes this fraction of background around the box, each side
_SCALES = (1 / 1.05, 1.0, 1.05)


@dataclass
class ObjectTrack:
    """One object's box in each analysis frame of a video.

    Attributes
    ----------
    boxes : list of Box or None [len=T]
        Normalised ``[x0, y0, x1, y1]``; None where the object was lost or outside the frame.
    scores : np.ndarray [shape=(T,)] match score of each frame (0 where lost).
    start_frame : the frame the tracker started from (given or found box).
    clip : the video the track belongs to.
    method : tracker name.
    """

    boxes: list[Box | None]
    scores: np.ndarray
    start_frame: int
    clip: VideoClip
    method: str = "template"

    @property
    def lost_fraction(self) -> float:
        return sum(b is None for b in self.boxes) / max(1, len(self.boxes))

    def to_layout(self, *, label: str = "object", prompt: str | None = None,
                  object_id: int = 1) -> Layout:
        """A one-object layout with one frame per analysis frame of the video."""
        n = len(self.boxes)
        duration = self.clip.duration_s
        w, h = (int(np.clip(v, 64, 4096)) for v in self.clip.size)
        obj = LayoutObject(id=object_id, label=label, prompt=prompt or f"a {label}",
                           motion=motion_from_boxes(self.boxes),
                           confidence=float(np.clip(1.0 - self.lost_fraction, 0, 1)),
                           boxes=list(self.boxes))
        name = self.clip.path.name if self.clip.path else "video"
        return Layout(duration_s=duration, num_frames=n, fps=n / duration, width=w, height=h,
                      caption=f"{obj.prompt} tracked in {name}.", background="",
                      planner=PlannerInfo("tracker", self.method), objects=[obj])


def motion_from_boxes(boxes: list[Box | None]) -> str:
    """The layout motion label of a box track (same thresholds as the cue extractor)."""
    idx = [i for i, b in enumerate(boxes) if b is not None]
    if len(idx) < 3:
        return "static"
    t = np.asarray(idx, dtype=float) / max(1, len(boxes) - 1)
    x = np.array([0.5 * (boxes[i][0] + boxes[i][2]) for i in idx])
    slope = np.polyfit(t, x, 1)[0]
    if abs(slope) >= 0.2:
        return "left_to_right" if slope > 0 else "right_to_left"
    area = np.array([(boxes[i][2] - boxes[i][0]) * (boxes[i][3] - boxes[i][1]) for i in idx])
    growth = np.polyfit(t, np.log(area), 1)[0]
    if abs(growth) >= np.log(1.5):
        return "approaching" if growth > 0 else "receding"
    return "static"


# -- finding the object -----------------------------------------------------------------------

def find_moving_region(clip: VideoClip) -> tuple[int, Box]:
    """The largest region that differs from the median frame, and the frame it is largest in.

    Returns
    -------
    (frame_index, box) with ``box`` normalised.

    Raises BadInput when nothing moves (a still video, or one without the object), or when
    the whole picture changes (a moving camera), where only a given box can say what to follow.
    """
    frames = clip.frames
    t, h, w = frames.shape
    name = clip.path.name if clip.path else "The video"
    hint = "Give --box x0,y0,x1,y1 around the object in the first frame."
    if t < 2:
        raise BadInput(f"{name} has a single frame, so nothing moves in it.", hint=hint)
    sample = np.unique(np.linspace(0, t - 1, min(t, 48)).round().astype(int))
    blurred = np.stack([cv2.GaussianBlur(frames[i], (5, 5), 0) for i in sample])
    background = np.median(blurred, axis=0).astype(np.uint8)
    diffs = np.abs(blurred.astype(np.int16) - background.astype(np.int16)).astype(np.uint8)
    # Sensor and compression noise sets the threshold: most pixels are background, so the
    # median absolute difference measures the noise.
    noise = float(np.median(diffs))
    threshold = max(18.0, 6.0 * noise)
    k = max(3, int(round(min(h, w) / 60)) | 1)
    open_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    close_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    best = (0, -1, None)
    for j, d in enumerate(diffs):
        mask = (d > threshold).astype(np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, open_kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, close_kernel)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        if count <= 1:
            continue
        c = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        area = int(stats[c, cv2.CC_STAT_AREA])
        if area > best[0]:
            x, y, bw, bh = (int(v) for v in stats[c, :4])
            best = (area, int(sample[j]), (x / w, y / h, (x + bw) / w, (y + bh) / h))
    area, index, box = best
    if box is None or area < max(16, MIN_REGION_FRACTION * w * h):
        raise BadInput(f"No moving object found in {name}: nothing differs from the still "
                       "background.", hint=hint)
    if area > MAX_REGION_FRACTION * w * h:
        raise BadInput(f"{name}: most of the picture changes (a moving camera or a cut), so the "
                       "moving object cannot be told from the background.", hint=hint)
    return index, box


# -- trackers ---------------------------------------------------------------------------------

def _prep(frame: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(frame, (0, 0), 1.0).astype(np.float32)


def _with_context(box_px: np.ndarray) -> np.ndarray:
    x, y, w, h = box_px
    return np.array([x - _CONTEXT * w, y - _CONTEXT * h, w * (1 + 2 * _CONTEXT),
                     h * (1 + 2 * _CONTEXT)])


def _crop(frame: np.ndarray, rect: np.ndarray, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Crop ``rect`` (x, y, w, h; may leave the frame) from a frame padded by ``pad`` pixels of
    replicated border; returns the crop and its top-left in frame coordinates."""
    padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    x0 = int(np.clip(np.floor(rect[0]) + pad, 0, padded.shape[1] - 1))
    y0 = int(np.clip(np.floor(rect[1]) + pad, 0, padded.shape[0] - 1))
    x1 = int(np.clip(np.ceil(rect[0] + rect[2]) + pad, x0 + 1, padded.shape[1]))
    y1 = int(np.clip(np.ceil(rect[1] + rect[3]) + pad, y0 + 1, padded.shape[0]))
    return padded[y0:y1, x0:x1], np.array([x0 - pad, y0 - pad], dtype=float)


class TemplateTracker:
    """Normalised cross-correlation tracking with motion prediction and scale search."""

    name = "template"

    def __init__(self, frame: np.ndarray, box_px: np.ndarray):
        self.box = np.asarray(box_px, dtype=float)  # x, y, w, h in analysis pixels
        self.velocity = np.zeros(2)
        self.lost = False
        img = _prep(frame)
        self.template = self._patch(img, self.box)
        if float(self.template.std()) < 2.0:
            raise BadInput("The box covers a featureless patch (one flat colour), which cannot "
                           "be followed.", hint="Draw the box tightly around the object.")

    def _patch(self, img: np.ndarray, box: np.ndarray) -> np.ndarray:
        ctx = _with_context(box)
        size = (max(4, int(round(ctx[2]))), max(4, int(round(ctx[3]))))
        pad = int(max(size)) + 2
        crop, origin = _crop(img, ctx, pad)
        # Sample exactly the (sub-pixel) rectangle by resizing the integer crop around it.
        return cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32)

    def update(self, frame: np.ndarray, *,
               hint: np.ndarray | None = None) -> tuple[np.ndarray | None, float]:
        """The object's box ``(x, y, w, h)`` in ``frame`` (None when lost) and the match score.
        ``hint`` is another tracker's box: search around it instead of the predicted spot."""
        img = _prep(frame)
        h, w = img.shape
        best = (-1.0, None, 1.0)
        for s in _SCALES:
            cand = self.box.copy()
            cand[2:] *= s
            ctx = _with_context(cand)
            tw, th = max(4, int(round(ctx[2]))), max(4, int(round(ctx[3])))
            if self.lost and hint is None:  # search everywhere
                region = np.array([-tw / 2, -th / 2, w + tw, h + th])
            else:
                centre = (self.box[:2] + self.box[2:] / 2 + self.velocity if hint is None
                          else hint[:2] + hint[2:] / 2)
                margin = max(8.0, 0.75 * max(self.box[2], self.box[3]),
                             2.0 * float(np.hypot(*self.velocity)))
                region = np.array([centre[0] - tw / 2 - margin, centre[1] - th / 2 - margin,
                                   tw + 2 * margin, th + 2 * margin])
            pad = int(max(tw, th)) + 2
            crop, origin = _crop(img, region, pad)
            if crop.shape[0] < th or crop.shape[1] < tw:
                continue
            templ = cv2.resize(self.template, (tw, th), interpolation=cv2.INTER_LINEAR)
            res = np.nan_to_num(cv2.matchTemplate(crop, templ, cv2.TM_CCOEFF_NORMED), nan=0.0)
            _, peak, _, loc = cv2.minMaxLoc(res)
            peak -= 0.01 * (s != 1.0)  # prefer the same size when scores tie
            if peak > best[0]:
                top_left = origin + np.array(loc, dtype=float) + _sub_pixel(res, loc)
                box = np.array([top_left[0] + _CONTEXT * cand[2], top_left[1] + _CONTEXT * cand[3],
                                cand[2], cand[3]])
                best = (peak, box, s)
        peak, box, _ = best
        need = REACQUIRE_SCORE if self.lost else ACCEPT_SCORE
        if box is None or peak < need:
            self.lost = True
            self.velocity[:] = 0.0
            return None, max(0.0, peak)
        move = (box[:2] + box[2:] / 2) - (self.box[:2] + self.box[2:] / 2)
        self.velocity = move if self.lost else 0.6 * move + 0.4 * self.velocity
        self.lost = False
        if peak >= UPDATE_SCORE:  # adapt slowly to a changing look, never from a poor match
            current = self._patch(img, box)
            old = cv2.resize(self.template, current.shape[::-1], interpolation=cv2.INTER_LINEAR)
            self.template = 0.85 * old + 0.15 * current
        self.box = box
        return box.copy(), peak


class MilTracker:
    """OpenCV's MIL tracker proposes where the object went; a template search around that
    spot pins it down and says when it is lost (MIL lags fast motion by a few pixels and never
    reports losing anything)."""

    name = "mil"

    def __init__(self, frame: np.ndarray, box_px: np.ndarray):
        self.check = TemplateTracker(frame, box_px)
        self.tracker = cv2.TrackerMIL_create()
        self.tracker.init(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), _int_rect(box_px))

    def update(self, frame: np.ndarray) -> tuple[np.ndarray | None, float]:
        ok, rect = self.tracker.update(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
        hint = np.asarray(rect, dtype=float) if ok else None
        box, score = self.check.update(frame, hint=hint)
        if box is not None and (hint is None or np.hypot(*(box[:2] - hint[:2])) > 4):
            # MIL drifted: restart it where the template found the object.
            self.tracker = cv2.TrackerMIL_create()
            self.tracker.init(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), _int_rect(box))
        return box, score


def _int_rect(box_px) -> tuple[int, int, int, int]:
    x, y, w, h = box_px
    return int(round(x)), int(round(y)), max(2, int(round(w))), max(2, int(round(h)))


def _sub_pixel(res: np.ndarray, loc: tuple[int, int]) -> np.ndarray:
    """Parabolic refinement of a correlation peak (keeps slow motion from stair-stepping)."""
    x, y = loc
    out = np.zeros(2)
    for axis, (i, n) in enumerate(((x, res.shape[1]), (y, res.shape[0]))):
        if 0 < i < n - 1:
            a = res[y, x - 1] if axis == 0 else res[y - 1, x]
            b = res[y, x]
            c = res[y, x + 1] if axis == 0 else res[y + 1, x]
            denom = a - 2 * b + c
            if denom < 0:
                out[axis] = float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))
    return out


# -- tracking a whole clip --------------------------------------------------------------------

def track_object(clip: VideoClip, *, box: Box | None = None, box_time_s: float = 0.0,
                 tracker: str = "template", max_lost_fraction: float = MAX_LOST_FRACTION,
                 token: CancelToken | None = None) -> ObjectTrack:
    """Track one object through ``clip``.

    Parameters
    ----------
    clip : analysis frames (:func:`engine.spatialize.video.read_video`).
    box : normalised ``[x0, y0, x1, y1]`` around the object at ``box_time_s``; None finds the
        largest moving region.
    tracker : ``template`` or ``mil``.
    max_lost_fraction : refuse a track lost in more than this fraction of the frames.

    Returns
    -------
    ObjectTrack with one box (or None) per analysis frame.
    """
    if tracker not in TRACKERS:
        raise BadInput(f"Unknown tracker {tracker!r}.", hint=f"Use one of: {', '.join(TRACKERS)}.")
    if box is None:
        start, box = find_moving_region(clip)
    else:
        _check_box(box)
        if not 0.0 <= box_time_s <= clip.duration_s:
            raise BadInput(f"The box time {box_time_s:g} s is outside the video "
                           f"(0 to {clip.duration_s:.1f} s).")
        start = int(np.argmin(np.abs(clip.times_s - box_time_s)))
    boxes, scores = run_tracker(clip, box, start, tracker=tracker, token=token)
    track = ObjectTrack(boxes, scores, start, clip, tracker)
    if track.lost_fraction > max_lost_fraction:
        name = clip.path.name if clip.path else "the video"
        raise BadInput(f"The object was lost in {track.lost_fraction:.0%} of {name}; it is "
                       "not in the picture most of the time, or the tracker cannot follow it.",
                       hint="Give --box x0,y0,x1,y1 around the object at a time it is clearly "
                            "visible (--box-time S), or pick another video.")
    return track


def run_tracker(clip: VideoClip, box: Box, start: int, *, tracker: str = "template",
                token: CancelToken | None = None) -> tuple[list[Box | None], np.ndarray]:
    """Boxes (normalised, or None where lost) and scores for every frame, tracking forwards
    and backwards from frame ``start`` where the object is at ``box``."""
    frames = clip.frames
    t, h, w = frames.shape
    box_px = np.array([box[0] * w, box[1] * h, (box[2] - box[0]) * w, (box[3] - box[1]) * h])
    make = TemplateTracker if tracker == "template" else MilTracker
    boxes: list[Box | None] = [None] * t
    scores = np.zeros(t)
    boxes[start] = _normalised(box_px, w, h)
    scores[start] = 1.0
    for direction in (1, -1):
        trk = make(frames[start], box_px)
        i = start + direction
        while 0 <= i < t:
            if token is not None and i % 16 == 0:
                token.raise_if_cancelled()
            found, score = trk.update(frames[i])
            scores[i] = score if found is not None else 0.0
            boxes[i] = None if found is None else _normalised(found, w, h)
            i += direction
    return boxes, scores


def _normalised(box_px: np.ndarray, w: int, h: int) -> Box | None:
    """Clip to the frame; None when less than a third of the box is inside (it has left)."""
    x, y, bw, bh = box_px
    x0, y0 = max(0.0, x), max(0.0, y)
    x1, y1 = min(float(w), x + bw), min(float(h), y + bh)
    if x1 <= x0 or y1 <= y0 or (x1 - x0) * (y1 - y0) < bw * bh / 3:
        return None
    return (x0 / w, y0 / h, x1 / w, y1 / h)


def _check_box(box) -> None:
    if len(box) != 4 or not all(np.isfinite(v) for v in box):
        raise BadInput(f"A box needs four numbers x0,y0,x1,y1; got {box!r}.")
    x0, y0, x1, y1 = box
    if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        raise BadInput(f"The box {tuple(round(v, 3) for v in box)} must satisfy "
                       "0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 (fractions of the frame).")


def parse_box(text: str, size: tuple[int, int] | None = None) -> Box:
    """``"x0,y0,x1,y1"`` as fractions of the frame, or as pixels when any value is over 1
    (then ``size`` = (width, height) of the video converts them)."""
    try:
        values = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        raise BadInput(f"--box must be four numbers x0,y0,x1,y1, got {text!r}.") from None
    if len(values) != 4:
        raise BadInput(f"--box must be four numbers x0,y0,x1,y1, got {text!r}.")
    if any(v > 1.0 for v in values):
        if size is None:
            raise BadInput("A box in pixels needs the video's size.")
        w, h = size
        values = [values[0] / w, values[1] / h, values[2] / w, values[3] / h]
    box = tuple(float(v) for v in values)
    _check_box(box)
    return box  # type: ignore[return-value]


def track_layout_objects(clip: VideoClip, layout: Layout, *, tracker: str = "template",
                         token: CancelToken | None = None) -> tuple[list[list[Box | None]], list[str]]:
    """Follow each layout object through a video made from (or for) that layout.

    Each object is picked up at its first box, at that frame's time in the video. Objects that
    cannot be picked up or are lost stay unboxed there; nothing is refused, since how well the
    video shows the layout is what is being measured.

    Returns
    -------
    (tracks, notes) : one list of boxes per object (one per analysis frame), and what went
    wrong, in words.
    """
    if tracker not in TRACKERS:
        raise BadInput(f"Unknown tracker {tracker!r}.", hint=f"Use one of: {', '.join(TRACKERS)}.")
    tracks, notes = [], []
    for obj in layout.objects:
        visible = obj.visible_frames()
        if not visible:
            tracks.append([None] * len(clip.frames))
            continue
        i = visible[0]
        t = (i + 0.5) * layout.duration_s / layout.num_frames
        start = int(np.argmin(np.abs(clip.times_s - t)))
        try:
            boxes, _ = run_tracker(clip, obj.boxes[i], start, tracker=tracker, token=token)
        except BadInput as e:
            notes.append(f"Object {obj.id} ({obj.label}) could not be picked up in the video: "
                         f"{e.message}")
            boxes = [None] * len(clip.frames)
        lost = sum(b is None for b in boxes) / max(1, len(boxes))
        if lost > MAX_LOST_FRACTION:
            notes.append(f"Object {obj.id} ({obj.label}) was not found in {lost:.0%} of the video.")
        tracks.append(boxes)
    return tracks, notes
