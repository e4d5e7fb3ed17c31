"""Do picture and sound agree? A spatial score and a timing score between audio and boxes.

**Spatial alignment** (in the spirit of SAVGBench's and StereoSync's spatial AV-Align): per
video frame, the direction of each sounding source is measured from the stereo audio (the
product's own cue extractor) and turned into a screen x with the mapping of docs/layout-format.md
``x = 0.5 + az / 180``. The frame's sound counts as aligned when some object's box covers
that x, widened by ``tolerance`` (a fraction of the frame width) on each side. The score is
the aligned fraction of the frames where a source is heard with a direction; the mean
absolute distance from each measured x to the nearest box centre is reported beside it.

**AV-Align** (TempoTokens' definition, Yariv et al. 2024): audio onsets (librosa's onset
detector: spectral flux of a log-mel spectrogram, peak-picked) against video motion peaks
(local maxima of the mean optical-flow magnitude, Farneback, at least 0.1 pixel per frame).
An audio onset matches a motion peak less than one video frame away; the score is matched /
(onsets + peaks - matched), an intersection over union. For a layout without a video, the motion is that of its
boxes: a box moving rigidly moves its pixels by its centre's displacement, so the frame's mean
flow is the sum of each box's area fraction times its displacement in pixels.

**Mirrored**: the spatial score is taken a second time with the boxes flipped left to right;
when that one is high (:data:`MIRRORED_MIN`) and clearly higher (:data:`MIRRORED_GAIN`), the
summary says that left and right look swapped, so a mirrored video or swapped channels are
named rather than left to be read from a low score. The verdict is only as good as the boxes:
with a video and no plan or ``--box``, the object followed is the largest region that differs
from the median frame, and for an object that stands still and then leaves (the lion example's
preview) that region is its absence, so the track follows background and the score is wrong;
so the verdict is given only where the boxes are anchored (a plan, or the user's ``--box``),
and a track found by motion alone gets a note saying to give ``--box`` or ``--plan``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..audio.io import Audio
from ..errors import ModelMissing
from ..layout import Box, Layout

DEFAULT_TOLERANCE = 0.1
# "Left and right look swapped" (design): the picture mirrored puts at least this share of the
# heard frames inside a box, and this much more than the picture as it is.
MIRRORED_MIN = 0.7
MIRRORED_GAIN = 0.3
MIN_DIRECTION_CONFIDENCE = 0.05
FLOW_PEAK_MIN = 0.1  # pixels per frame, as in TempoTokens


@dataclass
class SpatialAgreement:
    """Measured sound direction against the boxes, per frame.

    Attributes
    ----------
    aligned_fraction : share of scored (source, frame) pairs whose x a box covers (0..1).
    x_mae : mean |measured x - nearest box centre x| over scored pairs (fractions of width).
    scored : how many (source, frame) pairs had a heard direction.
    measured_x : np.ndarray [shape=(S, N)] measured x per source and frame (NaN = not heard).
    tolerance : the widening used.
    """

    aligned_fraction: float
    x_mae: float
    scored: int
    measured_x: np.ndarray
    tolerance: float

    def to_dict(self) -> dict[str, Any]:
        return {"aligned_fraction": round(self.aligned_fraction, 4),
                "x_mae": round(self.x_mae, 4), "scored": self.scored,
                "tolerance": self.tolerance,
                "measured_x": [[None if not np.isfinite(v) else round(float(v), 4) for v in row]
                               for row in self.measured_x]}


@dataclass
class TimingAgreement:
    """AV-Align: audio onsets against motion peaks."""

    av_align: float
    onsets_s: list[float]
    motion_peaks_s: list[float]
    matched: int
    fps: float
    motion_source: str  # "optical flow" or "layout boxes"

    def to_dict(self) -> dict[str, Any]:
        return {"av_align": round(self.av_align, 4), "matched": self.matched, "fps": self.fps,
                "onsets_s": [round(t, 3) for t in self.onsets_s],
                "motion_peaks_s": [round(t, 3) for t in self.motion_peaks_s],
                "motion_source": self.motion_source}


@dataclass
class AgreementReport:
    """Both scores for one audio file against a layout or a video."""

    spatial: SpatialAgreement | None
    timing: TimingAgreement | None  # None without librosa (a note says so)
    notes: list[str] = field(default_factory=list)
    # The same score with the picture mirrored left to right (None: not measured).
    mirrored: SpatialAgreement | None = None

    @property
    def looks_mirrored(self) -> bool:
        """The sounds sit where the boxes would be with left and right swapped."""
        s, m = self.spatial, self.mirrored
        return (s is not None and m is not None and m.aligned_fraction >= MIRRORED_MIN
                and m.aligned_fraction >= s.aligned_fraction + MIRRORED_GAIN)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": "spa2v.agreement/1",
                "spatial": None if self.spatial is None else self.spatial.to_dict(),
                "timing": None if self.timing is None else self.timing.to_dict(),
                "mirrored_aligned_fraction": None if self.mirrored is None
                else round(self.mirrored.aligned_fraction, 4),
                "looks_mirrored": self.looks_mirrored,
                "notes": list(self.notes)}

    def summary(self) -> str:
        """Two lines for a terminal or a status bar (three when left and right look
        swapped)."""
        if self.spatial is None:
            s = "spatial alignment: n/a (no direction could be heard)"
        else:
            s = (f"spatial alignment: {self.spatial.aligned_fraction:.0%} of {self.spatial.scored} "
                 f"heard frames inside a box (tolerance {self.spatial.tolerance:g}), x error "
                 f"{self.spatial.x_mae:.3f}")
        if self.timing is None:
            t = "AV-Align: n/a (needs librosa: pip install 'spa2v-studio[analysis]')"
        else:
            t = (f"AV-Align: {self.timing.av_align:.3f} ({self.timing.matched} of "
                 f"{len(self.timing.onsets_s)} onsets and {len(self.timing.motion_peaks_s)} "
                 f"{self.timing.motion_source} peaks matched)")
        out = f"{s}\n{t}"
        if self.looks_mirrored:
            out += ("\nleft and right look swapped: with the picture mirrored, "
                    f"{self.mirrored.aligned_fraction:.0%} of the heard frames would be inside a "
                    "box (a mirrored picture, or the sound's channels the other way round)")
        return out


# -- spatial ----------------------------------------------------------------------------------

def spatial_alignment(measured_x: np.ndarray, boxes_per_frame: list[list[Box]], *,
                      tolerance: float = DEFAULT_TOLERANCE) -> SpatialAgreement:
    """Score measured sound positions against the boxes visible in each frame.

    Parameters
    ----------
    measured_x : np.ndarray [shape=(S, N)]
        Screen x of each of S sources in each of N frames; NaN where that source is not heard
        (quiet, or no direction).
    boxes_per_frame : list [len=N] of lists of boxes
        The boxes on screen in each frame (any object).
    tolerance : float
        Widening of each box on both sides, as a fraction of the frame width.

    Returns
    -------
    SpatialAgreement. A heard source in a frame without any box counts as not aligned.
    """
    mx = np.atleast_2d(np.asarray(measured_x, dtype=float))
    if mx.shape[1] != len(boxes_per_frame):
        raise ValueError(f"measured_x has {mx.shape[1]} frames but there are "
                         f"{len(boxes_per_frame)} frames of boxes")
    aligned = scored = 0
    errors = []
    for i, boxes in enumerate(boxes_per_frame):
        for x in mx[:, i]:
            if not np.isfinite(x):
                continue
            scored += 1
            if not boxes:
                errors.append(max(x, 1 - x))  # as far as the frame allows: nothing to match
                continue
            if any(b[0] - tolerance <= x <= b[2] + tolerance for b in boxes):
                aligned += 1
            errors.append(min(abs(x - 0.5 * (b[0] + b[2])) for b in boxes))
    return SpatialAgreement(
        aligned_fraction=aligned / scored if scored else float("nan"),
        x_mae=float(np.mean(errors)) if errors else float("nan"), scored=scored,
        measured_x=mx, tolerance=float(tolerance))


def mirrored_boxes(boxes_per_frame: list[list[Box]]) -> list[list[Box]]:
    """The boxes of a picture flipped left to right."""
    return [[(1.0 - b[2], b[1], 1.0 - b[0], b[3]) for b in boxes] for boxes in boxes_per_frame]


def measured_positions(audio: Audio, num_frames: int, *, fov_deg: float = 180.0,
                       token=None) -> np.ndarray:
    """Screen x ``(S, num_frames)`` of each source the cue extractor hears; NaN where a source
    is quiet or its direction is not confident. All NaN for mono audio."""
    from ..cues.extract import extract_cues
    from ..layout.screen import x_from_azimuth
    cues = extract_cues(audio, num_frames=num_frames, token=token)
    rows = []
    for src in cues.sources:
        ok = (np.asarray(src.active, bool) & np.isfinite(src.azimuth_deg)
              & (np.asarray(src.confidence) >= MIN_DIRECTION_CONFIDENCE))
        x = x_from_azimuth(np.nan_to_num(src.azimuth_deg), fov_deg=fov_deg)
        rows.append(np.where(ok, x, np.nan))
    if not rows:
        return np.full((1, num_frames), np.nan)
    return np.stack(rows)


def layout_boxes_per_frame(layout: Layout) -> list[list[Box]]:
    return [[o.boxes[i] for o in layout.objects if o.boxes[i] is not None]
            for i in range(layout.num_frames)]


# -- timing -----------------------------------------------------------------------------------

def onset_times(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    """Onset times (s) of a mono signal by librosa's onset detector with its defaults, which
    AV-Align was defined with: spectral flux of a 128-band log-mel spectrogram, normalised to
    [0, 1] and peak-picked (a peak beats its last 30 ms, clears the mean of the 100 ms around
    it by 0.07, and follows the previous onset by 30 ms or more). librosa's 512-sample hop and
    2048-sample window at 22.05 kHz are kept in time (23 ms, 93 ms) at other rates.

    Parameters
    ----------
    mono : np.ndarray [shape=(n,)]

    Raises :class:`~engine.errors.ModelMissing` without librosa (the ``analysis`` extra).
    """
    try:
        import librosa  # not on the plan path: only a check pays for its import
    except ImportError:
        raise ModelMissing("AV-Align's onset detection needs librosa.",
                           hint="pip install 'spa2v-studio[analysis]'") from None
    x = np.asarray(mono, dtype=np.float32)
    hop = max(1, int(round(sample_rate * 512 / 22050)))
    n_fft = 1 << int(np.ceil(np.log2(max(64, sample_rate * 2048 / 22050))))
    if x.size < n_fft:
        return np.zeros(0)
    strength = librosa.onset.onset_strength(y=x, sr=sample_rate, hop_length=hop, n_fft=n_fft)
    return librosa.onset.onset_detect(onset_envelope=strength, sr=sample_rate, hop_length=hop,
                                      units="time")


def motion_peaks(flow: np.ndarray, fps: float, *, min_flow: float = FLOW_PEAK_MIN) -> np.ndarray:
    """Times (s) of local maxima of a per-frame motion curve that reach ``min_flow``.

    ``flow[i]`` is the motion into frame i (``flow[0]`` repeats ``flow[1]``, as TempoTokens
    does), so a peak at i is at time ``i / fps``.
    """
    f = np.asarray(flow, dtype=float)
    peaks = [i for i in range(1, f.size - 1)
             if f[i - 1] < f[i] > f[i + 1] and f[i] >= min_flow]
    return np.asarray(peaks, dtype=float) / fps


def optical_flow_curve(frames: np.ndarray, *, pixel_scale: float = 1.0) -> np.ndarray:
    """Mean Farneback flow magnitude into each frame ``(T,)``, in original-video pixels.

    Parameters
    ----------
    frames : np.ndarray [shape=(T, h, w), dtype=uint8] greyscale.
    pixel_scale : original pixels per analysis pixel (flow is measured on small frames).
    """
    import cv2
    t = len(frames)
    if t < 2:
        return np.zeros(t)
    mags = [0.0]
    for i in range(1, t):
        flow = cv2.calcOpticalFlowFarneback(frames[i - 1], frames[i], None,
                                            0.5, 3, 15, 3, 5, 1.2, 0)
        mags.append(float(np.mean(np.hypot(flow[..., 0], flow[..., 1]))) * pixel_scale)
    mags[0] = mags[1]
    return np.asarray(mags)


def layout_flow_curve(layout: Layout) -> np.ndarray:
    """The mean optical flow a rigidly moving box would cause, per layout frame, in pixels."""
    n = layout.num_frames
    curve = np.zeros(n)
    for obj in layout.objects:
        for i in range(1, n):
            a, b = obj.boxes[i - 1], obj.boxes[i]
            if a is None or b is None:
                continue
            dx = 0.5 * ((b[0] + b[2]) - (a[0] + a[2])) * layout.width
            dy = 0.5 * ((b[1] + b[3]) - (a[1] + a[3])) * layout.height
            area = 0.5 * ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]))
            curve[i] += area * float(np.hypot(dx, dy))
    if n > 1:
        curve[0] = curve[1]
    return curve


def av_align(onsets_s: np.ndarray, peaks_s: np.ndarray, fps: float) -> tuple[float, int]:
    """Intersection over union of audio onsets and motion peaks (match within one frame).

    Each motion peak matches at most one onset. Returns (score, matched); 0 when both lists
    are empty.
    """
    used = np.zeros(len(peaks_s), dtype=bool)
    matched = 0
    for t in onsets_s:
        for j, p in enumerate(peaks_s):
            if not used[j] and abs(p - t) < 1.0 / fps:
                used[j] = True
                matched += 1
                break
    union = len(onsets_s) + len(peaks_s) - matched
    return (matched / union if union else 0.0), matched


def timing_agreement(mono: np.ndarray, sample_rate: int, flow: np.ndarray, fps: float, *,
                     motion_source: str) -> TimingAgreement:
    onsets = onset_times(mono, sample_rate)
    peaks = motion_peaks(flow, fps)
    score, matched = av_align(onsets, peaks, fps)
    return TimingAgreement(score, [float(t) for t in onsets], [float(t) for t in peaks],
                           matched, float(fps), motion_source)
