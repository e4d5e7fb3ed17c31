"""Heads that are not KEMAR: a head's size is read from the recording (issue 14: the held-out
part's other head grew phantom sources; users' own heads are not the dummy head)."""

import numpy as np
import pytest

from engine.audio.io import Audio
from engine.binaural import render_binaural
from engine.binaural.hrtf import default_hrirs
from engine.cues.calibration import default_calibration, pink_noise, scaled_calibration
from engine.cues.extract import extract_cues
from engine.cues.stereo import HEAD_SCALES, resolve_stereo

SR = 16000


def bursts(seconds=4.0, seed=0):
    """Pink noise in bursts (a source that starts and stops, as most do)."""
    rng = np.random.default_rng(seed)
    x = 0.1 * pink_noise(int(seconds * SR), rng)
    gate = (np.arange(x.size) // int(0.25 * SR)) % 3 != 2
    return x * gate


def through(scale, az, x=None, **kw):
    head = default_hrirs(SR).scaled(scale)
    return render_binaural(bursts() if x is None else x, SR, azimuth_deg=az, distance_m=2.0,
                           hrtf=head, **kw).astype(np.float32)


def test_a_larger_head_delays_by_its_scale_and_shadows_lower_frequencies():
    base = default_hrirs(SR)
    big = base.scaled(1.1)
    i = int(np.argmin(np.abs(base.azimuth_deg - 60)))
    itd = lambda h: h.delays_s[i, 0] - h.delays_s[i, 1]  # noqa: E731
    assert itd(big) == pytest.approx(1.1 * itd(base), rel=1e-6)
    # H_s(f) = H(s f): the larger head's level difference at f is the smaller one's at 1.1 f.
    n = 4096
    f = np.fft.rfftfreq(n, 1 / SR)
    ild = lambda h: 20 * np.log10(np.abs(np.fft.rfft(h.filters[i, 1], n)) + 1e-9) - \
        20 * np.log10(np.abs(np.fft.rfft(h.filters[i, 0], n)) + 1e-9)  # noqa: E731
    band = (f >= 1000) & (f <= 6000)
    moved = np.interp(1.1 * f[band], f, ild(base))
    assert np.mean(np.abs(ild(big)[band] - moved)) < 1.0
    assert np.mean(np.abs(ild(big)[band] - ild(base)[band])) > 2 * np.mean(
        np.abs(ild(big)[band] - moved))
    assert base.scaled(1.0) is base


def test_the_scaled_table_follows_the_scaled_head():
    cal, big = default_calibration(), scaled_calibration(1.1)
    assert np.allclose(big.itd_s, 1.1 * cal.itd_s)
    assert np.allclose(big.itd_band_s(0), 1.1 * cal.itd_band_s(0))
    e = cal.band_edges_hz
    centres = np.sqrt(e[:-1] * e[1:])
    a = int(np.argmin(np.abs(cal.azimuth_deg - 45)))
    assert big.ild_db[a, 3] == pytest.approx(np.interp(np.log(1.1 * centres[3]), np.log(centres),
                                                        cal.ild_db[a]))
    assert scaled_calibration(1.0) is cal


@pytest.mark.parametrize("scale", [0.9, 1.0, 1.1, 1.2])
def test_a_heads_size_is_read_from_a_dry_recording(scale):
    y = through(scale, -50.0)
    decision = resolve_stereo("binaural", y, SR)
    assert decision.head_scale == pytest.approx(scale)
    assert decision.to_dict()["head_scale"] == pytest.approx(scale)
    if scale != 1.0:
        assert ("larger" if scale > 1 else "smaller") in decision.describe()


def test_a_source_in_the_middle_or_a_room_says_nothing_about_size():
    assert resolve_stereo("binaural", through(1.2, 0.0), SR).head_scale == 1.0
    # A crude room: the source and 24 quieter sounds from all around, each through the head.
    rng = np.random.default_rng(3)
    room = through(1.0, -50.0)
    for az in np.linspace(-180, 180, 24, endpoint=False):
        room = room + through(1.0, az, x=0.08 * pink_noise(int(4.0 * SR), rng))
    assert resolve_stereo("binaural", room, SR).head_scale == 1.0
    assert min(HEAD_SCALES) < 1.0 < max(HEAD_SCALES)


@pytest.mark.parametrize("scale, az", [(1.2, -45.0), (1.2, 70.0), (0.85, 70.0)])
def test_one_source_through_another_head_is_one_object_where_it_is(scale, az):
    # Read through KEMAR's own tables, a head 20 % larger puts a source at -45 degrees at
    # -53 and one at 70 degrees at 74 with a phantom at 53; a smaller one pulls 70 to 59.
    cues = extract_cues(Audio(through(scale, az), SR), num_frames=8, stereo="auto")
    assert cues.stereo["kind"] == "binaural"
    assert cues.stereo["head_scale"] == pytest.approx(scale)
    assert len(cues.sources) == 1
    assert np.nanmedian(cues.sources[0].azimuth_deg) == pytest.approx(az, abs=2.0)


def test_a_head_of_another_shape_is_read_through_kemars_own():
    # A model head: a sphere's time difference and a level difference flat over frequency.
    # No size of KEMAR explains it (its misfit still falls at the range's end): scale 1.
    from tests.synth import panned_noise
    for az in (-60, 25):
        y = np.asarray(panned_noise(az), np.float32)
        assert resolve_stereo("binaural", y, 44100).head_scale == 1.0
