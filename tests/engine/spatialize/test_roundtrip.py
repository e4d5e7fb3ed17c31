import numpy as np
import pytest

from engine.layout import Layout, LayoutObject
from engine.spatialize.render import SpatializeSettings
from engine.spatialize.roundtrip import roundtrip_error


def _layout(xs, label="car", duration=3.0):
    w = 0.3
    boxes = [(x - w / 2, 0.5, x + w / 2, 0.74) for x in xs]
    return Layout(duration, len(xs), len(xs) / duration,
                  objects=[LayoutObject(1, label, f"a {label}", "left_to_right", 0.9, boxes)])


@pytest.mark.parametrize("xs", [np.full(8, 0.25), np.linspace(0.2, 0.8, 8)])
def test_binaural_round_trip_puts_boxes_back(xs):
    noise = np.random.default_rng(0).standard_normal(3 * 22050) * 0.1
    result = roundtrip_error(_layout(xs), noise, 22050)
    assert result["frames"] == 8 and result["objects_found"] == 1
    assert result["x_mae"] < 0.03
    assert result["visibility_agreement"] == 1.0


def test_stereo_panning_round_trip_keeps_the_side():
    noise = np.random.default_rng(1).standard_normal(3 * 22050) * 0.1
    result = roundtrip_error(_layout(np.full(8, 0.2)), noise, 22050,
                             settings=SpatializeSettings(method="stereo"))
    after = [x for x in result["layout_after"].objects[0].x_centres() if x is not None]
    assert max(after) < 0.5  # level-only panning is read with less spread, but on its side
