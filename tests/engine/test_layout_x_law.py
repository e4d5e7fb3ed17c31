"""The azimuth-to-x law in its one home (engine/layout/screen.py) and its users agreeing with
it: SPEC.md section 2, ``x_center = 0.5 + az / 180`` clipped to [0, 1], a direction behind the
listener shown at its mirrored frontal azimuth. The planner's and the guard's output over
-90..90 degrees is also tested in tests/engine/planning.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import BadInput
from engine.layout import screen
from engine.planning.guard import confident_x  # noqa: E402
from engine.planning.heuristic import plan_layout_from_cues  # noqa: E402
from tests.engine.planning.cuekit import cues, track  # noqa: E402

FRONT = [(-90, 0.0), (-60, 1 / 6), (0, 0.5), (60, 5 / 6), (90, 1.0)]
# behind the listener: the mirrored frontal direction (front/back ambiguity)
BEHIND = [(180, 0.5), (-180, 0.5), (120, 5 / 6), (-120, 1 / 6), (150, 0.5 + 30 / 180),
          (-100, 0.5 - 80 / 180), (270, 0.0), (-270, 1.0), (450, 1.0)]


def _mirrored_frontal_deg(az_deg):
    # front/back mirror written another way than the code: the frontal direction with the same
    # sine (same left/right lateral position) is arcsin(sin(az))
    return np.degrees(np.arcsin(np.sin(np.radians(az_deg))))


def test_the_law_all_the_way_round():
    az = np.arange(-720.0, 720.5, 0.5)
    for fov in (180.0, 120.0, 60.0, 360.0):
        want = np.clip(0.5 + _mirrored_frontal_deg(az) / fov, 0.0, 1.0)
        np.testing.assert_allclose(screen.x_from_azimuth(az, fov_deg=fov), want, atol=1e-9,
                                   err_msg=f"fov {fov}")


def test_a_narrow_view_pins_sides_to_the_edges():
    x = screen.x_from_azimuth([-80.0, -30.0, 0.0, 30.0, 80.0], fov_deg=60.0)
    np.testing.assert_allclose(x, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-12)
    az = screen.azimuth_from_x([-0.5, 0.0, 0.25, 1.0, 1.5], fov_deg=60.0)
    np.testing.assert_allclose(az, [-30.0, -30.0, -15.0, 30.0, 30.0], atol=1e-12)


@pytest.mark.parametrize("fov", [10.0, 360.0])
def test_the_widest_and_narrowest_views_are_accepted(fov):
    assert float(screen.x_from_azimuth(0.0, fov_deg=fov)) == 0.5
    assert float(screen.azimuth_from_x(1.0, fov_deg=fov)) == fov / 2


@pytest.mark.parametrize("fov", [9.5, 360.5, 0.0, -180.0])
def test_views_outside_10_to_360_degrees_are_refused(fov):
    for law in (screen.x_from_azimuth, screen.azimuth_from_x):
        with pytest.raises(BadInput, match=f"got {fov:g}"):
            law(0.5, fov_deg=fov)


@pytest.mark.parametrize("az, x", FRONT + BEHIND)
def test_the_law(az, x):
    assert float(screen.x_from_azimuth(az)) == pytest.approx(x, abs=0.01)


def test_unknown_stays_unknown_and_shapes_are_kept():
    x = screen.x_from_azimuth(np.array([[np.nan, 0.0], [90.0, -90.0]]))
    assert x.shape == (2, 2) and np.isnan(x[0, 0])
    np.testing.assert_allclose(x[0, 1:], 0.5)
    np.testing.assert_allclose(x[1], [1.0, 0.0])


def test_the_inverse_over_the_frame():
    xs = np.linspace(0, 1, 11)
    np.testing.assert_allclose(screen.x_from_azimuth(screen.azimuth_from_x(xs)), xs,
                               atol=1e-12)
    np.testing.assert_allclose(screen.azimuth_from_x([0.0, 0.5, 1.0]), [-90, 0, 90])


@pytest.mark.parametrize("az, x", FRONT + BEHIND)
def test_the_guard_uses_the_law(az, x):
    np.testing.assert_allclose(confident_x(track(1, az), 0.6), x, atol=0.01)


@pytest.mark.parametrize("az, x", FRONT + BEHIND)
def test_the_rule_based_planner_uses_the_law(az, x):
    (o,) = plan_layout_from_cues(cues(track(1, az, label="bird",
                                            proximity=(0.0, 0.0)))).objects
    for b in o.boxes:
        w = b[2] - b[0]
        assert 0.5 * (b[0] + b[2]) == pytest.approx(np.clip(x, w / 2, 1 - w / 2), abs=0.01)
