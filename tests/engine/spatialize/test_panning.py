import numpy as np
import pytest

from engine.spatialize.panning import pan_gains, render_panned


def _level_db(x):
    return 10 * np.log10(np.mean(np.asarray(x, float) ** 2) + 1e-20)


def test_constant_power_law():
    az = np.linspace(-90, 90, 37)
    left, right = pan_gains(az)
    assert left ** 2 + right ** 2 == pytest.approx(np.ones_like(az))
    assert pan_gains(-90) == pytest.approx((1.0, 0.0), abs=1e-12)
    assert pan_gains(90) == pytest.approx((0.0, 1.0), abs=1e-12)
    assert pan_gains(0)[0] == pytest.approx(np.sqrt(0.5))
    assert np.all(np.diff(right) > 0)  # moving right only ever raises the right channel
    assert pan_gains(135) == pytest.approx(pan_gains(45))  # behind pans like the front mirror


@pytest.mark.parametrize("az, louder", [(-60, 0), (-20, 0), (25, 1), (80, 1)])
def test_an_object_on_one_side_is_louder_in_that_channel(az, louder):
    x = np.random.default_rng(0).standard_normal(8000)
    out = render_panned(x, 8000, azimuth_deg=az)
    assert out.shape == (2, 8000) and out.dtype == np.float32
    diff = _level_db(out[louder]) - _level_db(out[1 - louder])
    expected = 20 * np.log10(np.tan((abs(az) + 90) / 180 * np.pi / 2))
    assert diff == pytest.approx(expected, abs=0.01)


def test_a_moving_path_crosses_and_distance_lowers_the_level():
    sr = 8000
    x = np.random.default_rng(1).standard_normal(4 * sr)
    out = render_panned(x, sr, azimuth_deg=[-80, 80], times_s=[0.0, 4.0])
    first, last = out[:, :sr], out[:, -sr:]
    assert _level_db(first[0]) - _level_db(first[1]) > 6
    assert _level_db(last[1]) - _level_db(last[0]) > 6
    near = render_panned(x, sr, azimuth_deg=0, distance_m=1.0)
    far = render_panned(x, sr, azimuth_deg=0, distance_m=4.0)
    assert _level_db(near) - _level_db(far) == pytest.approx(20 * np.log10(4), abs=0.01)
