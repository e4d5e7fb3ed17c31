"""The constant-power pan law over the whole circle and the 1/r gain at its limits."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import BadInput
from engine.spatialize.panning import pan_gains, render_panned


def law(az_front):
    """left = cos(theta), right = sin(theta), theta = (az + 90) / 180 * pi / 2, az in [-90, 90]."""
    theta = (np.asarray(az_front, float) + 90.0) / 180.0 * np.pi / 2
    return np.cos(theta), np.sin(theta)


@pytest.mark.parametrize("az", [-90, -60, -30, 0, 30, 60, 90])
def test_front_azimuths_follow_the_law(az):
    left, right = pan_gains(az)
    want_l, want_r = law(az)
    assert left == pytest.approx(want_l, abs=1e-12) and right == pytest.approx(want_r, abs=1e-12)


@pytest.mark.parametrize("behind, front", [(180, 0), (-180, 0), (120, 60), (-120, -60),
                                           (100, 80), (-100, -80), (150, 30), (-150, -30)])
def test_a_source_behind_pans_like_its_front_mirror(behind, front):
    assert pan_gains(behind) == pytest.approx(law(front), abs=1e-12)


@pytest.mark.parametrize("wrapped, front", [(270, -90), (-270, 90), (360, 0), (420, 60),
                                            (-330, 30), (540, 0)])
def test_angles_wrap_around_the_circle(wrapped, front):
    assert pan_gains(wrapped) == pytest.approx(law(front), abs=1e-12)


def test_arrays_keep_their_shape_and_stay_constant_power():
    az = np.linspace(-400, 400, 81).reshape(9, 9)
    left, right = pan_gains(az)
    assert left.shape == right.shape == (9, 9)
    np.testing.assert_allclose(left ** 2 + right ** 2, 1.0, atol=1e-12)
    assert np.all(left >= -1e-12) and np.all(right >= -1e-12)


def test_render_applies_the_gains_sample_by_sample():
    x = np.random.default_rng(2).standard_normal(1000)
    out = render_panned(x, 1000, azimuth_deg=30)
    left, right = law(30)
    np.testing.assert_allclose(out[0], x * left, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[1], x * right, rtol=1e-5, atol=1e-6)


def test_paths_are_interpolated_between_control_points():
    n = 1000
    ones = np.ones(n)
    out = render_panned(ones, 1000, azimuth_deg=[-90, 90], times_s=[0.0, 1.0])
    az = np.linspace(-90, 90, n + 1)[:-1]  # sample i at i / 1000 s
    want_l, want_r = law(az)
    np.testing.assert_allclose(out[0], want_l, atol=1e-5)
    np.testing.assert_allclose(out[1], want_r, atol=1e-5)


def test_distance_gain_is_one_over_r_from_the_reference():
    x = np.ones(100)
    at = lambda **kw: float(render_panned(x, 100, azimuth_deg=-90, **kw)[0, 0])  # noqa: E731
    assert at(distance_m=1.0) == pytest.approx(1.0)
    assert at(distance_m=2.0) == pytest.approx(0.5)
    assert at(distance_m=2.0, reference_distance_m=4.0) == pytest.approx(2.0)
    # nearer than 0.2 m is held at 0.2 m: a finite gain for a source on the listener
    assert at(distance_m=0.2) == pytest.approx(5.0)
    assert at(distance_m=0.05) == pytest.approx(5.0)
    assert at(distance_m=0.0) == pytest.approx(5.0)


@pytest.mark.parametrize("mono", [np.zeros(0), np.zeros((2, 10)), np.zeros((1, 10))])
def test_only_a_non_empty_mono_signal_is_panned(mono):
    with pytest.raises(BadInput, match=r"non-empty mono signal of shape \(n,\)"):
        render_panned(mono, 8000, azimuth_deg=0)


def test_output_is_float32_left_then_right():
    out = render_panned(np.ones(10, np.float64), 10, azimuth_deg=-90)
    assert out.dtype == np.float32 and out.shape == (2, 10)
    assert np.all(out[0] == 1.0) and np.all(np.abs(out[1]) < 1e-7)


# -- what the mutation run of panning.py found untested (docs/testing.md) -------------------

@pytest.mark.parametrize("behind, front", [(90.5, 89.5), (-90.5, -89.5)])
def test_just_behind_the_side_folds_to_just_in_front(behind, front):
    assert pan_gains(behind) == pytest.approx(law(front), abs=1e-12)


def test_a_distance_path_is_interpolated_like_the_azimuth():
    out = render_panned(np.ones(1000), 1000, azimuth_deg=-90, distance_m=[1.0, 3.0],
                        times_s=[0.0, 1.0])
    r = np.linspace(1.0, 3.0, 1001)[:-1]
    np.testing.assert_allclose(out[0], 1.0 / r, rtol=1e-5)


@pytest.mark.parametrize("kw, name", [(dict(azimuth_deg=np.nan), "azimuth_deg"),
                                      (dict(azimuth_deg=0, distance_m=np.inf), "distance_m")])
def test_bad_paths_are_named(kw, name):
    with pytest.raises(BadInput, match=rf"^{name} holds NaN or infinite values\.$"):
        render_panned(np.ones(10), 10, **kw)
