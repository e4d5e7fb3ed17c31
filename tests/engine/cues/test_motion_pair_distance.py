"""A dry spaced pair of omnis reads a source's distance from its level difference: 1/r
spreading makes the nearer microphone louder by ``20 log10(r_far / r_near)``, about
``8.69 c |tau| / r`` dB, so the level difference over the delay goes as ``1 / r`` whatever the
source's own loudness does. Constructed pairs: pink noise reaching each microphone with its
own delay and 1/r gain."""

import numpy as np

from engine.audio.io import Audio
from engine.cues.calibration import pink_noise
from engine.cues.extract import extract_cues
from engine.cues.motion import pair_distance_change
from engine.cues.stereo import SPEED_OF_SOUND

SR = 16000
SECONDS = 6.0
SPACING_M = 0.3


def omni_pair(r_start, r_end, az_deg, own_ramp_db=0.0, seed=0):
    """Pink noise moving along a ray at ``az_deg`` from ``r_start`` to ``r_end`` m (steady
    speed), heard by two omnis ``SPACING_M`` apart; its own level goes through
    ``own_ramp_db`` (dB, start to end)."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * SR)
    t = np.arange(n) / SR
    x = 0.05 * pink_noise(n, rng) * 10 ** (own_ramp_db * (t / SECONDS - 0.5) / 20)
    r = np.linspace(r_start, r_end, n)
    src = np.stack([r * np.sin(np.radians(az_deg)), r * np.cos(np.radians(az_deg))])
    out = []
    for mx in (-SPACING_M / 2, SPACING_M / 2):  # left, right
        dist = np.hypot(src[0] - mx, src[1])
        out.append(np.interp(t - dist / SPEED_OF_SOUND, t, x, left=0.0) / dist)
    return np.stack(out).astype(np.float32)


def motion(y):
    cues = extract_cues(Audio(y, SR), num_frames=16, stereo="spaced", spacing_m=SPACING_M,
                        max_sources=1)
    return cues.sources[0].motion, cues.sources[0].evidence


def test_a_source_coming_closer_through_an_omni_pair_is_approaching():
    label, ev = motion(omni_pair(7.0, 1.5, 40.0))
    # the level difference grew as 1/r: most of 20 log10(7 / 1.5) = 13.4 dB between the thirds
    assert ev["pair_distance_db"] > 6.0
    assert label == "approaching"


def test_a_static_source_rising_by_itself_stays_static():
    label, ev = motion(omni_pair(3.0, 3.0, 40.0, own_ramp_db=10.0))
    # a steady 10 dB rise, which alone reads as coming closer ...
    assert ev["level_db"] > 8.0
    # ... while the pair's level difference says the distance stayed put
    assert abs(ev["pair_distance_db"]) < 1.0
    assert label == "static"


def steps(ild, tau, n=90):
    rng = np.random.default_rng(1)
    return (np.full(n, tau), np.full(n, ild) + 0.01 * rng.standard_normal(n),
            np.ones(n, bool))


def test_the_reading_needs_an_omni_pairs_level_difference():
    # 0.3 dB towards the earlier microphone at 500 us: 1/r at 5 m, a distance reading
    tau, ild, act = steps(0.3, 500e-6)
    change, sure = pair_distance_change(tau, ild, act)
    assert abs(change) < 0.5 and sure < 1.0
    # 5 dB at the same delay is more than 1/r gives even at 0.5 m: directional capsules
    assert pair_distance_change(*steps(5.0, 500e-6)) is None
    # louder at the later microphone: not 1/r spreading either
    assert pair_distance_change(*steps(-0.3, 500e-6)) is None
    # no delay to read a side from (a source in the middle)
    assert pair_distance_change(*steps(0.3, 0.0)) is None
