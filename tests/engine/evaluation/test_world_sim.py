"""The world bench's simulators and split: every microphone hears a source at -60 degrees on
the left, rooms decay at their RT60, and the tune/held-out split is deterministic and disjoint.
No shared data needed (KEMAR falls back to the shipped set)."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyroomacoustics")

from engine.audio.stereo_kinds import STEREO_KINDS  # noqa: E402
from engine.evaluation.mics import (MIC_NAMES, SETS, SPACINGS_M, make_microphone,  # noqa: E402
                                    mic_spec, mics_for, pan_gains, sphere_hrirs)
from engine.evaluation.rooms import RoomSpec, render_moving, room_response  # noqa: E402
from engine.evaluation.sources import SourceInfo  # noqa: E402
from engine.evaluation.world import (WorldScene, _spatialise, make_world_scenes,  # noqa: E402
                                     recording_part, room_part, split_catalogue)
from engine.evaluation import scenes as legacy  # noqa: E402
from engine.cues.calibration import pink_noise  # noqa: E402

SR = 44100
ROOM = RoomSpec("small", (4.2, 3.4, 2.7), 0.35, (1.6, 1.9, 1.4), 30.0)
# For direction tests: a drier room, the source inside the critical distance (~0.7 m here), so
# the direct sound is what a plain cross-correlation hears.
NEAR_ROOM = replace(ROOM, rt60_s=0.25)


def _direction(az_deg, r=2.0):
    a = np.radians(az_deg)
    return np.array([r * np.cos(a), r * np.sin(a), 0.0])


def _lead_and_level(y):
    """(lag in samples by which the left channel leads: > 0 left first, level R/L in dB)."""
    left, right = y
    n = 1 << int(np.ceil(np.log2(2 * len(left))))
    cross = np.fft.rfft(right, n) * np.conj(np.fft.rfft(left, n))
    cc = np.fft.irfft(cross / (np.abs(cross) + 1e-12), n)
    max_lag = 64
    cc = np.concatenate([cc[-max_lag:], cc[:max_lag + 1]])
    lag = int(np.argmax(np.abs(cc))) - max_lag  # a Blumlein pair's side lobe is anti-phase
    level = 10 * np.log10(np.sum(right ** 2) / np.sum(left ** 2))
    return lag, level


def _heard(mic_name, room, az):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(int(0.4 * SR))
    if mic_spec(mic_name).stereo == "panned":
        return _lead_and_level(pan_gains(np.full(len(x), az / 90.0), mic_name) * x)
    mic = make_microphone(mic_name, spacing_m=0.3)
    where = _direction(az, 1.0)
    r = 2.0 if room is None else 0.6
    return _lead_and_level(render_moving(x, where[None] * r, room, mic, sample_rate=SR))


@pytest.mark.parametrize("room", [None, NEAR_ROOM], ids=["dry", "room"])
@pytest.mark.parametrize("mic", MIC_NAMES)
def test_a_source_at_minus_60_is_heard_on_the_left(mic, room):
    lag, level = _heard(mic, room, -60.0)
    stereo = mic_spec(mic).stereo
    if stereo in ("binaural", "spaced"):
        assert lag > 0, f"{mic}: the left channel should lead (lag {lag})"
    else:  # coincident and panned pairs have no time difference to speak of
        assert abs(lag) <= 1
    if stereo != "spaced":
        assert level < -3.0, f"{mic}: the left channel should be louder ({level:.1f} dB)"
    # The mirror image is heard on the right.
    lag_r, level_r = _heard(mic, room, 60.0)
    assert np.sign(lag_r) == -np.sign(lag) and np.sign(level_r) == -np.sign(level)


def test_every_microphone_names_a_stereo_kind_and_a_set():
    for name in MIC_NAMES:
        spec = mic_spec(name)
        assert spec.stereo in STEREO_KINDS and spec.part in (*SETS, "both")
    assert {mic_spec(m).stereo for m in mics_for("tune")} == set(STEREO_KINDS)
    assert {mic_spec(m).stereo for m in mics_for("held-out")} == set(STEREO_KINDS)
    assert set(mics_for("tune")) & set(mics_for("held-out")) == {"spaced"}
    assert not set(SPACINGS_M["tune"]) & set(SPACINGS_M["held-out"])
    assert mics_for("held-out", "coincident") == ["xy110"]
    with pytest.raises(ValueError):
        mics_for("tune", "sphere")


def test_room_response_decays_at_its_rt60():
    import pyroomacoustics as pra
    for rt60 in (0.3, 0.7):
        room = replace(ROOM, rt60_s=rt60)
        h = room_response(room, make_microphone("spaced", spacing_m=0.2), _direction(150),
                          sample_rate=SR)
        # T20-style estimate (the response stops at RT60, so -60 dB is extrapolated)
        est = pra.experimental.measure_rt60(h[0], fs=SR, decay_db=20)
        assert est == pytest.approx(rt60, rel=0.25)


def test_sphere_head_time_difference_grows_towards_the_side():
    h = sphere_hrirs(SR)
    delays = h.interpolate_delays(np.array([0.0, 30.0, 90.0]))
    itd = (delays[:, 0] - delays[:, 1]) * 1e6  # right ear first: left delay larger
    assert abs(itd[0]) < 20 and 150 < itd[1] < itd[2] < 900


def _fake(ids):
    return [SourceInfo(i, "dog" if k % 2 else "car", "events", "test", "", Path(f"/x/{i}.flac"),
                       category="voices" if k % 3 == 0 else "animals")
            for k, i in enumerate(ids)]


def test_split_is_deterministic_and_disjoint():
    cat = _fake([f"rec{k:03d}" for k in range(300)])
    tune, held = split_catalogue(cat, "tune"), split_catalogue(cat, "held-out")
    assert {s.id for s in tune}.isdisjoint({s.id for s in held})
    assert len(tune) + len(held) == len(cat)
    assert 0.25 < len(held) / len(cat) < 0.42
    # The rule depends on the recording alone, not on the catalogue's order or contents.
    assert [recording_part(s) for s in cat] == [recording_part(s) for s in _fake(
        [s.id for s in cat])]
    assert split_catalogue(list(reversed(cat)), "held-out") == list(reversed(held))


def test_scenes_of_a_set_use_only_that_sets_recordings_rooms_and_microphones():
    cat = _fake([f"rec{k:03d}" for k in range(60)])
    seen = {}
    for part in SETS:
        scenes = make_world_scenes(cat, part, kinds=("static", "pair"), duration_s=2.0, seed=4)
        again = make_world_scenes(cat, part, kinds=("static", "pair"), duration_s=2.0, seed=4)
        assert [s.describe() for s in scenes] == [s.describe() for s in again]
        for s in scenes:
            assert all(recording_part(r) == part for r in s.sources)
            assert s.mic in mics_for(part)
            if s.room is not None:
                assert room_part(s.room) == part
                for p in s.paths:  # every source inside the room, 0.5 m or more away
                    assert np.all(p.distance_m > 0.49)
            if s.spacing_m is not None:
                assert s.spacing_m in SPACINGS_M[part]
        seen[part] = scenes
    rooms = [{s.room.key() for s in seen[p] if s.room} for p in SETS]
    assert rooms[0] and rooms[1] and rooms[0].isdisjoint(rooms[1])


def test_the_microphones_of_a_row_hear_different_recordings_whatever_the_pool_size():
    # 48 held-out recordings: 48 divides the 1344 slots from one microphone to the next, so
    # every held-out microphone used to hear the same recording in a condition and kind.
    ids = [f"rec{k:03d}" for k in range(400)]
    held = [i for i in ids if recording_part(_fake([i])[0]) == "held-out"][:48]
    cat = _fake(held + [i for i in ids if recording_part(_fake([i])[0]) == "tune"][:60])
    for per_kind in (1, 2):
        scenes = make_world_scenes(cat, "held-out", kinds=("approach", "pair"),
                                   per_kind=per_kind, seed=0)
        rows = {}
        for s in scenes:
            rows.setdefault((s.condition, s.kind), []).append(s.sources[0].id)
        for row in rows.values():  # every clip of a row: its own recording
            assert len(set(row)) == len(row)
    # A subset run still draws the full run's clips.
    full = {s.name: s.describe() for s in make_world_scenes(cat, "held-out", seed=2)}
    one = make_world_scenes(cat, "held-out", mics=["ortf"], kinds=("approach",), seed=2)
    assert one and all(full[s.name] == s.describe() for s in one)


@pytest.mark.parametrize("mic", MIC_NAMES)
def test_every_microphone_renders_the_approach_paths_1_over_r(mic):
    # Pink noise on the bench's approach path (7 -> 1.5 m at steady speed): the level at the
    # microphone, block by block, follows 1/r within 2 dB (a microphone that dropped or
    # doubled the spreading would be 12 dB off at the end).
    d, hop = 3.0, int(0.25 * SR)
    x = pink_noise(int(d * SR), np.random.default_rng(1))
    path = legacy._radial(np.random.default_rng(0), d, True)
    scene = WorldScene("s", "tune", "approach", "dry", mic, d, [], [path], 3, gains_db=[0.0],
                       heights_m=[0.0], spacing_m=0.3 if mic == "spaced" else None)
    y = _spatialise(scene, x.copy(), path, 0.0, np.random.default_rng(0))
    m = len(x) // hop
    r = np.interp(np.arange(len(x)) / SR, path.times_s, path.distance_m)
    ideal = 10 * np.log10((1 / r ** 2)[:m * hop].reshape(m, hop).mean(1))
    heard = 10 * np.log10((y ** 2).sum(0)[:m * hop].reshape(m, hop).mean(1)
                          / (x ** 2)[:m * hop].reshape(m, hop).mean(1))
    off = heard - ideal
    assert np.ptp(ideal) > 11
    assert np.max(np.abs(off - off.mean())) < 2.0


def test_a_moving_source_pans_across_and_shifts_in_pitch():
    n = 2 * SR
    t = np.arange(n) / SR
    tone = np.sin(2 * np.pi * 1000 * t)
    blocks = np.arange(0, 2.0 + 0.1, 0.1)
    # Left to right at 2 m: louder on the left first, on the right at the end.
    az = np.interp(blocks, [0, 2], [-60, 60])
    sweep = np.stack([_direction(a) for a in az])
    y = render_moving(tone, sweep, None, make_microphone("xy90"), sample_rate=SR)
    first, last = y[:, :SR // 2], y[:, -SR // 2:]
    assert np.sum(first[0] ** 2) > 3 * np.sum(first[1] ** 2)
    assert np.sum(last[1] ** 2) > 3 * np.sum(last[0] ** 2)
    # Straight at the pair at 20 m/s: Doppler 1000 Hz * c / (c - v).
    ahead = np.stack([_direction(0.0, 30.0 - 20.0 * b) for b in blocks])
    y = render_moving(tone, ahead, None, make_microphone("spaced", spacing_m=0.2),
                      sample_rate=SR)
    seg = y[0, SR // 2: SR // 2 + SR]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), 8 * len(seg)))
    f = np.fft.rfftfreq(8 * len(seg), 1 / SR)[np.argmax(spec)]
    assert f == pytest.approx(1000 * 343 / (343 - 20), abs=3)


@pytest.mark.parametrize("mic,spacing", [("spaced", 0.45), ("spaced", 0.1), ("ortf", None)])
def test_a_moving_source_through_a_spaced_pair_stays_in_both_channels(mic, spacing):
    """A sweep from -70 to +70 degrees, dry, 2 m: the channels of a spaced or near-coincident
    pair differ by only what its spacing and capsules make (never tens of dB) at every
    moment, and the channel on the source's side leads."""
    noise = np.random.default_rng(3).standard_normal(3 * SR)
    blocks = np.arange(0, 3.0 + 0.1, 0.1)
    az = np.interp(blocks, [0, 3], [-70, 70])
    sweep = np.stack([_direction(a) for a in az])
    pair = make_microphone(mic, spacing_m=spacing or 0.3)
    y = render_moving(noise, sweep, None, pair, sample_rate=SR)
    # ORTF cardioids at +-55 degrees: at most 20 log10(1 / (0.5 + 0.5 cos 125)) ~ 13.5 dB.
    limit_db = 3.0 if mic == "spaced" else 14.0
    # (0.45 m: the largest lag, 58 samples, within what _lead_and_level looks at.)
    pieces = y[:, :30 * (y.shape[1] // 30)].reshape(2, 30, -1)
    for i in range(30):
        piece = pieces[:, i]
        level = 10 * np.log10(np.sum(piece[1] ** 2) / np.sum(piece[0] ** 2))
        assert abs(level) < limit_db, f"{mic}: piece {i} channels {level:.1f} dB apart"
        side = np.interp((i + 0.5) / 30 * 3.0, [0, 3], [-70, 70])
        if abs(side) > 20:
            lag, _ = _lead_and_level(piece)
            assert np.sign(lag) == -np.sign(side), f"{mic}: piece {i} at {side:.0f} deg, lag {lag}"


def test_an_omni_response_matches_pyroomacoustics_own():
    """Our image-source placement, tail and high-pass against pyroomacoustics' compute_rir
    for the same room (omni at the centre): the first 30 ms line up, and so does the decay."""
    import pyroomacoustics as pra
    from engine.evaluation.rooms import _absorption
    src = np.array([1.2, -0.5, 0.2])
    ours = room_response(ROOM, make_microphone("spaced", spacing_m=0.002), src,
                         sample_rate=SR)[0]
    e_abs, _ = _absorption(ROOM.dims_m, ROOM.rt60_s)
    box = pra.ShoeBox(list(ROOM.dims_m), fs=SR, materials=pra.Material(e_abs), max_order=25,
                      air_absorption=False)
    box.add_source(ROOM.to_room(src))
    box.add_microphone(np.asarray(ROOM.mic_m))
    box.compute_rir()
    ref = box.rir[0][0]
    n = int(0.03 * SR)
    cc = np.correlate(ref[:n + 200], ours[:n + 200], mode="full")
    lag = int(np.argmax(cc)) - (n + 199)
    a, b = ours[:n], ref[lag:lag + n]
    assert 0 <= lag < 100  # pyroomacoustics' fractional-delay filter is centred (40 samples)
    assert np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b) > 0.9
    rt_ours = pra.experimental.measure_rt60(ours, fs=SR, decay_db=20)
    rt_ref = pra.experimental.measure_rt60(ref, fs=SR, decay_db=20)
    assert rt_ours == pytest.approx(rt_ref, rel=0.15)


def test_far_sources_lose_high_frequencies_to_the_air():
    mic = make_microphone("spaced", spacing_m=0.2)
    f = np.fft.rfftfreq(8192, 1 / SR)

    def db_at(d, hz):
        h = room_response(None, mic, np.array([d, 0.0, 0.0]), sample_rate=SR)[0] * d
        return 20 * np.log10(np.abs(np.fft.rfft(h, 8192))[np.argmin(np.abs(f - hz))])

    # ISO 9613-1 (20 C, 50 % RH): about 0.1 dB/m at 8 kHz, 0.33 dB/m at 16 kHz.
    assert db_at(1.0, 16000) - db_at(10.0, 16000) == pytest.approx(2.9, abs=0.6)
    assert abs(db_at(1.0, 500) - db_at(10.0, 500)) < 0.1


def test_a_subset_run_draws_the_same_clips_as_the_full_run():
    cat = _fake([f"rec{k:03d}" for k in range(60)])
    full = {s.name: s.describe() for s in make_world_scenes(cat, "tune", per_kind=2, seed=1)}
    one = make_world_scenes(cat, "tune", mics=["xy90"], kinds=("pair", "static"), per_kind=1,
                            seed=1)
    assert one and all(full[s.name] == s.describe() for s in one)
