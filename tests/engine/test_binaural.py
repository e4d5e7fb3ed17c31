"""The KEMAR binaural renderer: sides, exactness on the measured grid, distance, Doppler,
rooms, and the SOFA azimuth convention."""

import h5py
import numpy as np
import pytest
from scipy.signal import fftconvolve

from engine.binaural import Room, default_hrirs, load_sofa, render_binaural
from engine.binaural.render import diffuse_tail_ir
from engine.errors import BadInput

SR = 44100


def noise(seconds=1.0, seed=0, sr=SR):
    return np.random.default_rng(seed).standard_normal(int(seconds * sr)) * 0.1


def level_db(x):
    return 10 * np.log10(np.mean(np.asarray(x, float) ** 2) + 1e-20)


@pytest.mark.parametrize("az", [-90, -45, -10, 10, 45, 90])
def test_left_is_left_right_is_right(az):
    y = render_binaural(noise(), SR, azimuth_deg=az, distance_m=1.0)
    ild = level_db(y[1]) - level_db(y[0])
    assert np.sign(ild) == np.sign(az)  # + = right louder
    # The ear nearer the source hears it first: cross-correlation peaks on its side.
    cc = np.correlate(y[0, 2000:6000], y[1, 2000:6000], mode="full")
    lag = int(np.argmax(cc)) - 3999  # > 0: left lags right
    assert np.sign(lag) == np.sign(az)


def test_static_render_matches_the_measured_response():
    h = default_hrirs(SR)
    x = noise()
    for i in np.nonzero(np.isin(h.azimuth_deg, [-60.0, 0.0, 35.0, 120.0]))[0]:
        ref = np.stack([fftconvolve(x, h.raw(i)[ear])[:x.size] for ear in range(2)])
        y = render_binaural(x, SR, azimuth_deg=h.azimuth_deg[i], distance_m=1.0,
                            air_absorption=False)
        err = level_db((y - ref)[:, 1000:]) - level_db(ref[:, 1000:])
        assert err < -30  # within 3 % in amplitude


def test_gain_follows_inverse_distance():
    x = noise()
    near = render_binaural(x, SR, azimuth_deg=20, distance_m=2.0, air_absorption=False)
    far = render_binaural(x, SR, azimuth_deg=20, distance_m=4.0, air_absorption=False)
    assert level_db(near) - level_db(far) == pytest.approx(6.02, abs=0.05)


def test_air_absorbs_high_frequencies_with_distance():
    x = noise()
    a = render_binaural(x, SR, azimuth_deg=0, distance_m=1.0)
    b = render_binaural(x, SR, azimuth_deg=0, distance_m=60.0) * 60.0  # undo 1/r
    fa, fb = np.abs(np.fft.rfft(a[0])), np.abs(np.fft.rfft(b[0]))
    f = np.fft.rfftfreq(a.shape[1], 1 / SR)
    low, high = (f > 300) & (f < 800), (f > 10000) & (f < 14000)
    assert 20 * np.log10(fb[low].mean() / fa[low].mean()) == pytest.approx(0.0, abs=0.5)
    assert 20 * np.log10(fb[high].mean() / fa[high].mean()) < -6.0


def test_doppler_raises_pitch_on_approach_and_lowers_it_after():
    f0, seconds = 1000.0, 4.0
    t = np.arange(int(seconds * SR)) / SR
    tone = 0.1 * np.sin(2 * np.pi * f0 * t)
    times = np.linspace(0, seconds, 81)
    x = 20.0 * (times / seconds * 2 - 1)  # 10 m/s, closest at the middle, 3 m away
    az = np.rad2deg(np.arctan2(x, 3.0))
    y = render_binaural(tone, SR, azimuth_deg=az, distance_m=np.hypot(x, 3.0), times_s=times,
                        doppler=True)
    mid = y.mean(axis=0)

    def peak_hz(seg):
        spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size), 8 * seg.size))
        return np.argmax(spec) * SR / (8 * seg.size)

    early = peak_hz(mid[int(0.3 * SR):int(1.0 * SR)])
    late = peak_hz(mid[int(3.0 * SR):int(3.7 * SR)])
    # Radial speed there is about 9.7 m/s (10 m/s along the road): f = f0 c / (c -+ v).
    assert early == pytest.approx(f0 * 343 / (343 - 9.7), rel=0.004)
    assert late == pytest.approx(f0 * 343 / (343 + 9.7), rel=0.004)


def test_moving_source_glides_without_clicks():
    y = render_binaural(noise(2.0), SR, azimuth_deg=[-80, 80], times_s=[0, 2.0], distance_m=2.0)
    hop = 2205
    ild = [level_db(y[1, i:i + hop]) - level_db(y[0, i:i + hop]) for i in range(0, y.shape[1] - hop, hop)]
    assert ild[0] < -5 and ild[-1] > 5
    assert np.max(np.abs(np.diff(ild))) < 4.0


def test_room_tail_decays_at_rt60():
    room = Room(rt60_s=0.6, image_order=0, seed=1)
    ir = diffuse_tail_ir(room, SR)
    e = np.cumsum((ir ** 2).sum(axis=0)[::-1])[::-1]  # Schroeder backward integration
    edc = 10 * np.log10(e / e[0])
    t5, t25 = np.argmax(edc < -5) / SR, np.argmax(edc < -25) / SR
    assert 3 * (t25 - t5) == pytest.approx(0.6, rel=0.2)


def test_room_lowers_coherence_but_keeps_the_side():
    x = noise(1.5)
    dry = render_binaural(x, SR, azimuth_deg=-50, distance_m=2.0)
    wet = render_binaural(x, SR, azimuth_deg=-50, distance_m=2.0, room=Room(rt60_s=0.5))
    assert level_db(wet) > level_db(dry)
    assert level_db(wet[0]) > level_db(wet[1])  # still louder on the left


def test_sofa_azimuth_is_converted_to_plus_right(tmp_path):
    # A tiny synthetic SOFA file: only the ear on the measured side gets an impulse.
    az_sofa = np.arange(0, 360, 90.0)
    ir = np.zeros((4, 2, 64))
    for k, a in enumerate(az_sofa):
        ear = 0 if a == 90 else 1 if a == 270 else None  # SOFA +90 = LEFT
        ir[k, :, 10] = 0.3
        if ear is not None:
            ir[k, ear, 10] = 1.0
    path = tmp_path / "tiny.sofa"
    with h5py.File(path, "w") as f:
        f["SourcePosition"] = np.stack([az_sofa, np.zeros(4), np.full(4, 1.4)], axis=1)
        f["Data.IR"] = ir
        f["Data.SamplingRate"] = np.array([SR], float)
    hrirs = load_sofa(path, taps=64)
    left = hrirs.raw(int(np.argmin(np.abs(hrirs.azimuth_deg + 90))))
    assert np.abs(left[0]).max() > 2 * np.abs(left[1]).max()  # -90 = left ear


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(BadInput, match="mono"):
        render_binaural(np.zeros((2, 100)), SR)
    with pytest.raises(BadInput, match="times_s"):
        render_binaural(noise(0.1), SR, azimuth_deg=[0, 10, 20], times_s=[0, 1])
    with pytest.raises(BadInput, match="NaN"):
        render_binaural(np.full(100, np.nan), SR)
    with pytest.raises(BadInput, match="rt60"):
        Room(rt60_s=0.0)


def test_other_sample_rates_work():
    y = render_binaural(noise(0.5, sr=16000), 16000, azimuth_deg=60, distance_m=1.0)
    assert y.shape == (2, 8000) and level_db(y[1]) > level_db(y[0]) + 3


@pytest.mark.parametrize("room", [None, Room(rt60_s=0.4)])
def test_progress_is_reported_through_the_render_and_changes_nothing(room):
    rng = np.random.default_rng(5)
    x = 0.1 * rng.standard_normal(3 * 44100)
    seen = []
    kwargs = dict(azimuth_deg=[-60, 60], times_s=[0, 3], room=room)
    with_progress = render_binaural(x, 44100, progress=seen.append, **kwargs)
    np.testing.assert_array_equal(with_progress, render_binaural(x, 44100, **kwargs))
    assert len(seen) > (8 if room else 1) and seen[-1] == 1.0
    assert all(b >= a for a, b in zip(seen, seen[1:]))


def test_what_progress_raises_stops_the_render():
    calls = []

    def stop(fraction):
        calls.append(fraction)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_binaural(np.ones(10 * 44100) * 0.1, 44100, room=Room(rt60_s=0.4), progress=stop)
    assert len(calls) == 3
