"""The steady-trend test reads the level curve that 1/r gives a source moving at steady speed
towards or away from the microphones, not a straight line: approaching, the level rises ever
faster as the source nears; receding, it falls fast at first."""

import numpy as np
import pytest

from engine.cues.motion import (STEADY_TREND_R2, classify_motion, steady_motion_curve,
                                steady_motion_r2)

STEP_S = 0.05
T = (np.arange(120) + 0.5) * STEP_S  # 6 s of steps
U = (T - T.min()) / np.ptp(T)


def level_of_path(r0, r1):
    """Level (dB) of a source at steady speed from ``r0`` to ``r1`` metres, by 1/r."""
    r = r0 + (r1 - r0) * U
    return 20 * np.log10(r0 / r)


@pytest.mark.parametrize("r0, r1", [(7.0, 1.5), (1.5, 7.0), (10.0, 0.5), (0.5, 10.0)])
def test_the_curve_is_the_level_of_a_source_at_steady_speed(r0, r1):
    y = level_of_path(r0, r1) - 30.0
    change = 20 * np.log10(r0 / r1)
    assert np.allclose(steady_motion_curve(change, U), y + 30.0, atol=1e-9)
    assert steady_motion_r2(T, y) > 0.999
    line = np.corrcoef(T, y)[0, 1] ** 2
    # a straight line misses the curvature, the more the larger the change
    assert line < 0.999
    if abs(change) > 25:
        assert line < 0.9


def test_a_swell_and_fade_is_no_steady_motion():
    y = 10 * np.sin(np.pi * U)  # a static source's own swell: up 10 dB, then down again
    assert steady_motion_r2(T, y) < STEADY_TREND_R2


def test_flat_or_short_levels_explain_nothing():
    assert steady_motion_r2(T, np.zeros_like(T)) == 0.0
    assert steady_motion_r2(T[:2], np.array([0.0, 1.0])) == 0.0


def tracks(level_db):
    """Per-step tracks of a source at azimuth 20 whose level is ``level_db``; coherence and
    brightness do not change, so only the steadiness of the level can say it moves."""
    n = len(level_db)
    ones = np.ones(n)
    return (T, 20.0 * ones, ones, level_db, 0.9 * ones, np.zeros(n), ones.astype(bool),
            [0.1], STEP_S)


def test_a_steady_approach_with_uneven_takes_is_approaching():
    rng = np.random.default_rng(3)
    takes = np.repeat(rng.uniform(-2.0, 2.0, 12), 10)  # each 0.5 s event a little louder or softer
    label, _, ev = classify_motion(*tracks(level_of_path(10.0, 0.5) - 40.0 + takes))
    assert ev.level_db > 10.0
    assert label == "approaching"


def test_a_static_source_swelling_and_fading_stays_static():
    label, _, ev = classify_motion(*tracks(-30.0 + 10 * np.sin(np.pi * U) ** 2))
    assert label == "static"
