"""Placing two sources: where they overlap, cues read between them; the placement must not.

Level-only stereo (pan pots, coincident pairs) is built here by its own gain laws; rooms are
pyroomacoustics shoeboxes through the world bench's microphones
(see tests/engine/test_cues_counting.py)."""

import numpy as np
import pytest

from engine.cues.spatial import StepSpectra, coherent_powers

from tests.engine.test_cues_counting import SR, cues_of, in_room, syllables

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


def test_level_differences_are_read_net_of_a_coherent_room():
    # An XY pair hears a room's diffuse sound 0.71 coherent (engine.cues.diffuse): taken for
    # direct sound, it pulls the level difference toward 0 dB, the source toward the centre.
    g_l, g_r = 0.9, 0.3               # a source well to the left
    direct, room, gamma = 1.0, 0.8, 0.71
    p_l = np.array([[g_l ** 2 * direct + room]])
    p_r = np.array([[g_r ** 2 * direct + room]])
    s_lr = np.array([[g_l * g_r * direct + gamma * room + 0j]])
    st = StepSpectra(s_lr, p_l, p_r)
    truth = 20 * np.log10(g_r / g_l)  # -9.5 dB
    d_l, d_r = coherent_powers(st, np.array([gamma]))
    assert 10 * np.log10(d_r / d_l)[0, 0] == pytest.approx(truth, abs=0.05)
    d_l, d_r = coherent_powers(st)    # the room taken as incoherent
    assert abs(10 * np.log10(d_r / d_l)[0, 0]) < abs(truth) - 1.0


def test_a_coincident_pair_in_a_room_places_its_source_where_it_is():
    # Before the room's coherent sound was taken out of the level differences, this source
    # at -35 degrees read -28.
    y = in_room(syllables(6.0, seed=1), "xy110", -35, distance_m=1.5, rt60_s=0.3)
    az = placed(cues_of(y, kind="coincident"))
    assert len(az) == 1 and abs(az[0] + 35) <= 5, az
