"""From a layout's box track to a sound path: azimuth and distance control points over time.

This is the inverse of the planner's placement rules, so that planning the spatialized sound
again puts the boxes back where they were:

- x: the default mapping (docs/layout-format.md) ``x_center = 0.5 + az / 180`` gives ``az = (x - 0.5) * 180``
  (``fov_deg`` other than 180 spreads the frame width over that many degrees instead);
- size: the heuristic planner draws a box ``prior * (0.6 + 0.6 * proximity)`` wide and high
  (:mod:`engine.planning.heuristic`), where proximity is relative amplitude, 1/r. So the box's
  size relative to the class prior gives proximity, and distance is ``near_distance_m /
  proximity``;
- time: layout frame i covers ``[i, i+1) * duration / N``; its box stands for the frame's
  centre, and the path moves linearly between centres (as :func:`engine.layout.box_at_time`);
- visibility: the object sounds only while it has a box (``gain`` 0 elsewhere, with short
  fades so that entries and exits do not click).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BadInput
from ..layout import Box, Layout, LayoutObject
from ..layout.screen import azimuth_from_x, x_from_azimuth  # noqa: F401 (re-exported)
from ..planning.heuristic import SIZE_FAR, SIZE_SPAN
from ..planning.priors import prior_for

MIN_PROXIMITY = 0.1   # a box this small or smaller sits at 10x the near distance
MAX_PROXIMITY = 2.0   # boxes bigger than the nearest planned size come closer still
DEFAULT_NEAR_M = 1.5
FADE_S = 0.02


@dataclass
class SourcePath:
    """Where one sound is over time, as control points.

    Attributes
    ----------
    times_s : np.ndarray [shape=(k,)]
        Increasing control-point times.
    azimuth_deg : np.ndarray [shape=(k,)]
        +90 fully right (docs/layout-format.md).
    distance_m : np.ndarray [shape=(k,)]
        Metres from the listener, > 0.
    visible_spans_s : list of (start, end)
        Time spans during which the object is on screen (and so sounds).
    duration_s : float
        Length of the clip the path belongs to.
    """

    times_s: np.ndarray
    azimuth_deg: np.ndarray
    distance_m: np.ndarray
    visible_spans_s: list[tuple[float, float]]
    duration_s: float

    def gain(self, n: int, sample_rate: int, *, fade_s: float = FADE_S) -> np.ndarray:
        """Per-sample on/off gain ``(n,)``: 1 inside visible spans, raised-cosine fades."""
        g = np.zeros(n)
        fade = max(1, int(round(fade_s * sample_rate)))
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)
        for start, end in self.visible_spans_s:
            a = int(round(start * sample_rate))
            b = min(n, int(round(end * sample_rate)))
            if b <= a:
                continue
            g[a:b] = 1.0
            if a > 0:  # fade in across the start, fade out across the end
                k = min(fade, b - a)
                g[a:a + k] = np.minimum(g[a:a + k], ramp[:k])
            if b < n:
                k = min(fade, b - a)
                g[b - k:b] = np.minimum(g[b - k:b], ramp[::-1][-k:])
        return g

    def at(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Azimuth and distance interpolated at times ``t_s`` (held outside the points)."""
        return (np.interp(t_s, self.times_s, self.azimuth_deg),
                np.interp(t_s, self.times_s, self.distance_m))


def proximity_from_box(box: Box, label: str | None) -> float:
    """Relative nearness (1 = the nearest size the planner draws) from box size vs the prior.

    Size is the geometric mean of width and height ratios, so hand-drawn boxes of another
    aspect still read sensibly.
    """
    prior = prior_for(label)
    w, h = box[2] - box[0], box[3] - box[1]
    scale = float(np.sqrt(max(w, 1e-6) / prior.width * max(h, 1e-6) / prior.height))
    return float(np.clip((scale - SIZE_FAR) / SIZE_SPAN, MIN_PROXIMITY, MAX_PROXIMITY))


def distance_from_box(box: Box, label: str | None, *,
                      near_distance_m: float = DEFAULT_NEAR_M) -> float:
    """Metres: ``near_distance_m / proximity`` (amplitude goes as 1/r)."""
    return near_distance_m / proximity_from_box(box, label)


def path_from_object(layout: Layout, obj: LayoutObject, *, fov_deg: float = 180.0,
                     near_distance_m: float = DEFAULT_NEAR_M) -> SourcePath:
    """The sound path of one layout object.

    Parameters
    ----------
    layout : the layout the object belongs to (timing).
    obj : the object; its boxes give x (azimuth) and size (distance).
    fov_deg : degrees of azimuth the frame width spans (default 180, docs/layout-format.md).
    near_distance_m : distance of a box drawn at the planner's nearest size for its label.

    Returns
    -------
    SourcePath with one control point per visible frame (at the frame's centre).
    """
    if near_distance_m <= 0:
        raise BadInput(f"near_distance_m must be positive, got {near_distance_m}.")
    visible = obj.visible_frames()
    if not visible:
        raise BadInput(f"Object {obj.id} ({obj.label}) has no box in any frame, so it has no "
                       "place to sound from.", hint="Give it a box in the editor, or leave it out.")
    n = layout.num_frames
    frame_s = layout.duration_s / n
    times = (np.asarray(visible, dtype=float) + 0.5) * frame_s
    boxes = [obj.boxes[i] for i in visible]
    x = np.array([0.5 * (b[0] + b[2]) for b in boxes])
    az = azimuth_from_x(x, fov_deg=fov_deg)
    dist = np.array([distance_from_box(b, obj.label, near_distance_m=near_distance_m)
                     for b in boxes])
    return SourcePath(times_s=times, azimuth_deg=az, distance_m=dist,
                      visible_spans_s=_spans(visible, frame_s), duration_s=layout.duration_s)


def _spans(frames: list[int], frame_s: float) -> list[tuple[float, float]]:
    """Runs of consecutive frames as (start_s, end_s)."""
    spans = []
    start = prev = frames[0]
    for f in frames[1:]:
        if f != prev + 1:
            spans.append((start * frame_s, (prev + 1) * frame_s))
            start = f
        prev = f
    spans.append((start * frame_s, (prev + 1) * frame_s))
    return spans
