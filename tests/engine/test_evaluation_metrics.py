"""Layout metrics against hand-computed values, and object matching for the bench."""

import numpy as np
import pytest
from scipy.optimize import linprog

from engine.evaluation import metrics
from engine.layout import Layout, LayoutObject


def layout(objs, n=2):
    """``objs``: list of (label, box or per-frame boxes, motion)."""
    out = []
    for k, (label, boxes, motion) in enumerate(objs):
        if isinstance(boxes, tuple):
            boxes = [boxes] * n
        out.append(LayoutObject(k + 1, label, f"a {label}", motion, 1.0, list(boxes)))
    return Layout(duration_s=float(n), num_frames=n, fps=1.0, objects=out)


A = (0.1, 0.2, 0.4, 0.6)
B = (0.5, 0.2, 0.9, 0.6)


def test_iou_and_giou_known_values():
    assert metrics.iou(A, A) == pytest.approx(1.0)
    assert metrics.iou(A, B) == 0.0
    # Hull of A and B is 0.8 x 0.4; union 0.12 + 0.16.
    assert metrics.giou(A, B) == pytest.approx(0 - (0.32 - 0.28) / 0.32)
    half = (0.1, 0.2, 0.25, 0.6)
    assert metrics.iou(A, half) == pytest.approx(0.5)


def test_identical_layouts_score_perfectly():
    lay = layout([("car", A, "static"), ("dog", B, "static")])
    assert metrics.ltsim(lay, lay) == pytest.approx(1.0)
    assert metrics.max_iou(lay, lay) == pytest.approx(1.0)
    # DocSim of a box with itself is sqrt(area); averaged over the matched pairs.
    expect = (np.sqrt(0.3 * 0.4) + np.sqrt(0.4 * 0.4)) / 2
    assert metrics.docsim(lay, lay) == pytest.approx(expect)


def test_label_mismatch_costs_half_in_ltsim_and_all_in_maxiou():
    a = layout([("car", A, "static")])
    b = layout([("dog", A, "static")])
    assert metrics.ltsim(a, b) == pytest.approx(np.exp(-0.5))
    assert metrics.max_iou(a, b) == 0.0
    assert metrics.docsim(a, b) == 0.0
    assert metrics.max_iou(a, b, use_labels=False) == pytest.approx(1.0)


def test_docsim_weight_formula():
    c = (0.2, 0.2, 0.5, 0.6)  # A moved right by 0.1, same size
    w = metrics.docsim_weight(A, c)
    assert w == pytest.approx(np.sqrt(0.12) * 2 ** (-0.1))
    wider = (0.1, 0.2, 0.5, 0.6)  # centre moves 0.05, width grows 0.1
    assert metrics.docsim_weight(A, wider) == pytest.approx(np.sqrt(0.12) * 2 ** (-0.05 - 0.2))


def test_ltsim_transport_is_exact_for_unequal_counts():
    rng = np.random.default_rng(0)
    for _ in range(5):
        def boxes(k):
            xy = rng.uniform(0, 0.5, (k, 2))
            wh = rng.uniform(0.1, 0.4, (k, 2))
            return [(tuple(np.r_[p, p + s]), str(rng.integers(2))) for p, s in zip(xy, wh)]
        a, b = boxes(3), boxes(2)
        got = metrics.ltsim_frame(a, b)
        cost = np.array([[0.5 * (1 - (metrics.giou(x, y) + 1) / 2) + 0.5 * (lx != ly)
                          for y, ly in b] for x, lx in a])
        n, m = cost.shape
        a_eq = np.zeros((n + m, n * m))
        for i in range(n):
            a_eq[i, i * m:(i + 1) * m] = 1
        for j in range(m):
            a_eq[n + j, j::m] = 1
        res = linprog(cost.ravel(), A_eq=a_eq, b_eq=np.r_[np.full(n, 1 / n), np.full(m, 1 / m)],
                      bounds=(0, None))
        assert got == pytest.approx(np.exp(-res.fun), rel=1e-9)


def test_frames_where_only_one_layout_shows_a_box_score_zero():
    a = layout([("car", [A, None], "static")])
    b = layout([("car", [A, A], "static")])
    assert metrics.ltsim(a, b) == pytest.approx(0.5)
    assert metrics.max_iou(a, b) == pytest.approx(0.5)


def test_match_objects_pairs_by_position_and_clips_targets_to_the_frame():
    truth = layout([("car", A, "left_to_right"), ("dog", B, "static")])
    pred = layout([("dog", (0.55, 0.2, 0.95, 0.6), "static"), ("car", A, "static")])
    m = {x.truth_id: x for x in metrics.match_objects(pred, truth)}
    assert m[1].pred_id == 2 and m[1].x_error == pytest.approx(0.0) and not m[1].motion_ok
    assert m[2].pred_id == 1 and m[2].x_error == pytest.approx(0.05) and m[2].motion_ok
    # A true x of 0.98 cannot be a 0.3-wide box's centre; the target is clipped to 0.85.
    edge = layout([("car", (0.7, 0.2, 1.0, 0.6), "static")])
    (only,) = metrics.match_objects(edge, edge, truth_x=[np.full(2, 0.98)])
    assert only.x_error == pytest.approx(0.0)
    missing = metrics.match_objects(layout([]), truth)
    assert all(x.pred_id is None and x.x_error == 0.5 for x in missing)
