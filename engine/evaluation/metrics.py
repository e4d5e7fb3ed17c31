"""Layout similarity (LTSim, MaxIoU, DocSim) and spatial-hearing scores on Layout pairs.

Layouts here are videos: each metric is computed per frame on the boxes visible in that
frame of both layouts, and averaged over the frames where either layout shows something
(a frame where only one of them shows a box scores 0). Boxes are ``[x0, y0, x1, y1]`` in
[0, 1]. With ``use_labels=False`` every box counts as the same label (geometry only).

- **LTSim** (Otani et al., "LTSim: Layout Transportation-based Similarity Measure for
  Evaluating Layout Generation", 2024): ``exp(-W)`` where W is the optimal-transport cost
  between the two box sets with uniform mass, element cost
  ``0.5 * (1 - (GIoU + 1) / 2) + 0.5 * [labels differ]``. Uniform-mass transport between
  sets of n and m elements is solved exactly as an assignment between n*m copies.
- **MaxIoU** (Kikuchi et al., "Constrained Graphic Layout Generation via Latent
  Optimization", ACM MM 2021): for each label, the Hungarian matching of that label's boxes
  that maximises total IoU; the sum over labels divided by ``max(n, m)`` (unmatched boxes
  score 0).
- **DocSim** (Patil et al., "READ: Recursive Autoencoders for Document Layout Generation",
  CVPR-W 2020): pair weight ``sqrt(min(area1, area2)) * 2 ** (-centre_distance - 2 *
  size_difference)`` for same-label boxes (0 otherwise), size difference ``|w1 - w2| + |h1 -
  h2|``; the maximum-weight matching's total divided by ``max(n, m)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..layout import Layout


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def giou(a, b) -> float:
    """Generalised IoU (Rezatofighi et al., 2019), in [-1, 1]."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = _area(a) + _area(b) - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    if union <= 0 or hull <= 0:
        return -1.0
    return inter / union - (hull - union) / hull


def _area(b) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


Element = tuple[tuple[float, float, float, float], str]


def ltsim_frame(a: list[Element], b: list[Element]) -> float:
    """LTSim of two box sets (see module docstring). Both empty: 1; one empty: 0."""
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    n, m = len(a), len(b)
    cost = np.array([[0.5 * (1 - (giou(ba, bb) + 1) / 2) + 0.5 * (la != lb)
                      for bb, lb in b] for ba, la in a])
    # Uniform masses 1/n and 1/m: transport between m copies of each a and n of each b is an
    # assignment problem (the transport polytope's vertices are such assignments).
    big = np.repeat(np.repeat(cost, m, axis=0), n, axis=1)
    r, c = linear_sum_assignment(big)
    return float(np.exp(-big[r, c].mean()))


def max_iou_frame(a: list[Element], b: list[Element]) -> float:
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    total = 0.0
    for label in {l for _, l in a} & {l for _, l in b}:
        ba = [x for x, l in a if l == label]
        bb = [x for x, l in b if l == label]
        m = np.array([[iou(p, q) for q in bb] for p in ba])
        r, c = linear_sum_assignment(-m)
        total += float(m[r, c].sum())
    return total / max(len(a), len(b))


def docsim_weight(a, b) -> float:
    ca = np.array([(a[0] + a[2]) / 2, (a[1] + a[3]) / 2])
    cb = np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])
    dc = float(np.linalg.norm(ca - cb))
    ds = abs((a[2] - a[0]) - (b[2] - b[0])) + abs((a[3] - a[1]) - (b[3] - b[1]))
    return float(np.sqrt(min(_area(a), _area(b))) * 2.0 ** (-dc - 2.0 * ds))


def docsim_frame(a: list[Element], b: list[Element]) -> float:
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    w = np.array([[docsim_weight(p, q) if lp == lq else 0.0 for q, lq in b] for p, lp in a])
    r, c = linear_sum_assignment(-w)
    return float(w[r, c].sum()) / max(len(a), len(b))


def frame_elements(layout: Layout, i: int, *, use_labels: bool = True) -> list[Element]:
    return [(tuple(o.boxes[i]), o.label if use_labels else "") for o in layout.objects
            if o.boxes[i] is not None]


def _video_mean(pred: Layout, truth: Layout, fn, use_labels: bool) -> float:
    _check_pair(pred, truth)
    vals = []
    for i in range(truth.num_frames):
        a = frame_elements(pred, i, use_labels=use_labels)
        b = frame_elements(truth, i, use_labels=use_labels)
        if a or b:
            vals.append(fn(a, b))
    return float(np.mean(vals)) if vals else 1.0


def ltsim(pred: Layout, truth: Layout, *, use_labels: bool = True) -> float:
    """Mean per-frame LTSim of two layouts with the same frame count, in (0, 1]."""
    return _video_mean(pred, truth, ltsim_frame, use_labels)


def max_iou(pred: Layout, truth: Layout, *, use_labels: bool = True) -> float:
    return _video_mean(pred, truth, max_iou_frame, use_labels)


def docsim(pred: Layout, truth: Layout, *, use_labels: bool = True) -> float:
    return _video_mean(pred, truth, docsim_frame, use_labels)


def _check_pair(pred: Layout, truth: Layout) -> None:
    if pred.num_frames != truth.num_frames:
        raise ValueError(f"layouts differ in frame count: {pred.num_frames} vs "
                         f"{truth.num_frames}")


# -- spatial-hearing scores -----------------------------------------------------------------

@dataclass
class ObjectMatch:
    """A predicted object paired with a true one; ``x_error`` is their mean absolute x-centre
    distance over the true object's visible frames (fraction of the frame width)."""

    truth_id: int
    pred_id: int | None
    x_error: float
    motion_ok: bool
    label_ok: bool


def _x_track(obj, n: int) -> tuple[np.ndarray, np.ndarray]:
    """x-centres and widths per frame, with gaps held from the nearest visible frame."""
    xs = np.array([np.nan if b is None else 0.5 * (b[0] + b[2]) for b in obj.boxes])
    ws = np.array([np.nan if b is None else b[2] - b[0] for b in obj.boxes])
    good = np.isfinite(xs)
    if not good.any():
        return np.full(n, 0.5), np.full(n, 0.0)
    idx = np.nonzero(good)[0]
    return np.interp(np.arange(n), idx, xs[good]), np.interp(np.arange(n), idx, ws[good])


def match_objects(pred: Layout, truth: Layout, *, truth_x: list[np.ndarray] | None = None,
                  label_ok=None) -> list[ObjectMatch]:
    """Pair true and predicted objects (Hungarian on x-centre error); one entry per true
    object. A true object with no partner gets ``x_error`` 0.5, motion and label wrong.

    ``truth_x`` (one array per true object) gives the true x-centres unclipped; each frame's
    target is then clipped to keep the *predicted* box inside the frame, so a planner that
    heard the azimuth exactly scores 0 even when a wide box must stop at the frame edge.
    Without it, the true boxes' own centres are the targets.
    """
    _check_pair(pred, truth)
    n = truth.num_frames
    label_ok = label_ok or (lambda p, t: p == t)
    if not truth.objects:
        return []
    cost = np.full((len(truth.objects), max(1, len(pred.objects))), 0.5)
    for ti, t in enumerate(truth.objects):
        vis = np.array([b is not None for b in t.boxes])
        tx = _x_track(t, n)[0] if truth_x is None else np.asarray(truth_x[ti], float)
        for pi, p in enumerate(pred.objects):
            px, pw = _x_track(p, n)
            target = tx if truth_x is None else np.clip(tx, pw / 2, 1 - pw / 2)
            cost[ti, pi] = float(np.mean(np.abs(px - target)[vis])) if vis.any() else 0.0
    r, c = linear_sum_assignment(cost)
    out = []
    paired = dict(zip(r, c))
    for ti, t in enumerate(truth.objects):
        pi = paired.get(ti)
        if pi is None or pi >= len(pred.objects):
            out.append(ObjectMatch(t.id, None, 0.5, False, False))
            continue
        p = pred.objects[pi]
        out.append(ObjectMatch(t.id, p.id, float(cost[ti, pi]), p.motion == t.motion,
                               bool(label_ok(p.label, t.label))))
    return out
