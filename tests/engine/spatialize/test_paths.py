import numpy as np
import pytest

from engine.errors import BadInput
from engine.layout import Layout, LayoutObject
from engine.planning.priors import prior_for
from engine.spatialize.paths import (
    MIN_PROXIMITY,
    azimuth_from_x,
    distance_from_box,
    path_from_object,
    proximity_from_box,
    x_from_azimuth,
)


def _layout(boxes, label="car", duration=4.0):
    n = len(boxes)
    return Layout(duration, n, n / duration,
                  objects=[LayoutObject(1, label, f"a {label}", "static", 0.9, boxes)])


def test_azimuth_is_the_inverse_of_the_spec_mapping():
    x = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    assert azimuth_from_x(x) == pytest.approx([-90, -45, 0, 45, 90])
    assert x_from_azimuth(azimuth_from_x(x)) == pytest.approx(x)
    assert azimuth_from_x(0.75, fov_deg=90) == pytest.approx(22.5)


def test_a_source_behind_is_shown_at_its_mirrored_frontal_azimuth():
    assert x_from_azimuth(150.0) == pytest.approx(x_from_azimuth(30.0))
    assert x_from_azimuth(-170.0) == pytest.approx(x_from_azimuth(-10.0))


@pytest.mark.parametrize("proximity", [0.2, 0.5, 1.0])
def test_box_size_inverts_the_planners_size_law(proximity):
    prior = prior_for("dog")
    scale = 0.6 + 0.6 * proximity  # what the heuristic planner draws
    w, h = prior.width * scale, prior.height * scale
    box = (0.5 - w / 2, 0.6 - h / 2, 0.5 + w / 2, 0.6 + h / 2)
    assert proximity_from_box(box, "dog") == pytest.approx(proximity, rel=1e-6)
    assert distance_from_box(box, "dog", near_distance_m=2.0) == pytest.approx(2.0 / proximity)


def test_bigger_boxes_are_nearer_and_tiny_ones_stay_finite():
    sizes = [0.02, 0.1, 0.2, 0.4, 0.8]
    d = [distance_from_box((0.1, 0.1, 0.1 + s, 0.1 + s), None) for s in sizes]
    assert all(a >= b for a, b in zip(d, d[1:])) and d[0] > d[-1]
    assert d[0] == pytest.approx(1.5 / MIN_PROXIMITY)


def test_path_has_a_point_at_each_visible_frame_centre_and_sounds_only_while_visible():
    b = (0.1, 0.4, 0.3, 0.6)
    layout = _layout([None, b, b, None, (0.7, 0.4, 0.9, 0.6)], duration=5.0)
    path = path_from_object(layout, layout.objects[0])
    assert path.times_s == pytest.approx([1.5, 2.5, 4.5])
    assert path.azimuth_deg == pytest.approx([-54, -54, 54])  # x 0.2 and 0.8
    assert path.visible_spans_s == [(1.0, 3.0), (4.0, 5.0)]
    sr = 1000
    g = path.gain(5 * sr, sr)
    assert g[:990].max() == 0.0 and g[1100:2900].min() == 1.0
    assert g[3100:3900].max() == 0.0 and g[4100:].min() == 1.0
    assert np.all(np.diff(g[990:1030]) >= 0)  # a fade, not a click


def test_object_without_boxes_is_refused():
    layout = _layout([None, None])
    with pytest.raises(BadInput, match="no box"):
        path_from_object(layout, layout.objects[0])
