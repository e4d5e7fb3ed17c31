"""Placing two sources: where they overlap, cues read between them; the placement must not.

Level-only stereo (pan pots, coincident pairs) is built here by its own gain laws."""

import numpy as np
import pytest

from tests.engine.test_cues_counting import SR, cues_of, syllables

TURNS = [(0.9, 2.1), (2.9, 4.1), (4.9, 5.9)]


def pan(mono, az):
    """Constant-power pan pot (SPEC section 2): L = cos t, R = sin t, t = (az/90 + 1) pi/4."""
    t = (np.asarray(az, float) / 90 + 1) * np.pi / 4
    return np.stack([np.cos(t) * mono, np.sin(t) * mono])


def xy(mono, az):
    """Coincident cardioids 100 degrees apart (the coincident model's own pair)."""
    g = [0.5 + 0.5 * np.cos(np.radians(az - off)) for off in (-50.0, 50.0)]
    return np.stack([g[0] * mono, g[1] * mono])


def placed(cues):
    return sorted(float(np.median(s.azimuth_deg)) for s in cues.sources)


@pytest.mark.parametrize("law,kind,a_az,b_az,seed", [
    (pan, "panned", -40, 30, 2), (xy, "coincident", -40, 30, 2),
    (pan, "panned", -60, 20, 4), (xy, "coincident", -20, 50, 6)])
def test_two_overlapping_sources_in_level_only_stereo_sit_where_they_are(
        law, kind, a_az, b_az, seed):
    # One sound all the time, the other in bursts over it, the same pink spectrum: no bin is
    # ever the second one's alone, so per-bin directions and the mix's track read between
    # the two (main placed the pan-pot case at -30 and +6 degrees).
    a = syllables(6.0, seed=seed)
    b = syllables(6.0, seed=seed + 1, bursts=TURNS)
    az = placed(cues_of(law(a, a_az) + law(b, b_az), kind=kind))
    assert len(az) == 2, az
    assert abs(az[0] - a_az) <= 5 and abs(az[1] - b_az) <= 5, az


@pytest.mark.parametrize("path", [np.full(6 * SR, -40.0), np.linspace(-60.0, 40.0, 6 * SR)])
def test_one_source_in_a_pan_mix_is_one_object_still_or_moving(path):
    # A single source keeps every covariance on the circle of single directions: a sweep's
    # points lie along an arc, never inside it as two sources' mixtures do.
    cues = cues_of(pan(syllables(6.0, seed=2), path), kind="panned")
    assert len(cues.sources) == 1, placed(cues)
