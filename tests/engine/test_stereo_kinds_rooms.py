"""Kinds of stereo beyond the dry constructed scenes of test_cues_stereo: ORTF (cardioids
17 cm apart), recordings with a room in them (a coincident pair's coherent diffuse field
against a pan-pot mix's decorrelated reverb send), ``--spacing`` given for every kind, and
how the world bench scores ``auto``'s decisions."""

import numpy as np
import pytest

from engine.audio.io import Audio
from engine.audio.stereo_kinds import STEREO_KINDS, check_spacing
from engine.cues.calibration import pink_noise
from engine.cues.extract import extract_cues
from engine.cues.spatial import StepSpectra, coherent_powers
from engine.cues.stereo import (TYPICAL_SPACING_M, capsule_diffuse_coherence, coincident_gains,
                                detect_stereo, heard_gains, resolve_stereo, spacing_estimate)
from engine.errors import BadInput
from engine.evaluation.mics import ORTF_SPACING_M, true_spacing
from engine.evaluation.world_bench import WorldScore, stereo_decisions
from engine.layout.screen import x_from_azimuth
from tests.engine.test_cues_stereo import SCENES, cues, delayed, diffuse, pan_pot, source

SR = 16000
C = 343.0


def ortf(x, az, spacing_m=ORTF_SPACING_M):
    """Cardioids at +-55 degrees, ``spacing_m`` apart, a far source at ``az``: a delay and a
    level difference that is the same at every frequency."""
    gl, gr = coincident_gains(az, angle_deg=110.0)
    tau = spacing_m * np.sin(np.radians(az)) / C  # + = the right capsule hears it first
    return np.stack([gl * delayed(x, max(tau, 0.0)), gr * delayed(x, max(-tau, 0.0))])


def xy_room(x, az):
    """An XY pair (90 degrees) in a crude room: the direct sound plus a diffuse field through
    the same pair (coherence 0.75, in phase, at every frequency)."""
    gl, gr = coincident_gains(az, angle_deg=90.0)
    room = diffuse(lambda s, a: np.stack([g * s for g in coincident_gains(a, angle_deg=90.0)]),
                   level=0.04)
    return np.stack([gl * x, gr * x]) + room


def bursts(seconds=3.0, seed=0):
    """Pink-noise bursts of 0.3 s with 0.3 s gaps: a sound with pauses, in which a room's
    tail is heard on its own."""
    x = source(seconds, seed)
    t = np.arange(len(x)) / SR
    return x * ((t % 0.6) < 0.3)


def pan_with_send(x, az, send=0.5, seed=3):
    """A pan-pot mix with a stereo reverb send: the dry sound panned, plus a reverb (RT60
    about 0.4 s) that is decorrelated between the channels, as mixing reverbs are made."""
    rng = np.random.default_rng(seed)
    n = len(x)
    tails = np.stack([np.convolve(x, rng.standard_normal(SR // 4)
                                  * np.exp(-np.arange(SR // 4) / (0.06 * SR)))[:n]
                      for _ in range(2)])
    tails *= send * np.sqrt(np.mean(x ** 2) / np.mean(tails ** 2))
    return pan_pot(x, az) + tails


@pytest.mark.parametrize("az", [-50.0, 35.0])
def test_auto_reads_ortf_as_a_spaced_pair(az):
    # Its level differences are large (cardioids) but the same at every frequency, and it
    # has delays: not a head, not a level-only pair.
    d = detect_stereo(np.asarray(ortf(source(), az), np.float32), SR)
    assert d.kind == "spaced", d


@pytest.mark.parametrize("az", [-45.0, 30.0])
def test_auto_tells_a_coincident_pair_in_a_room_from_a_mix_with_a_reverb_send(az):
    xy = detect_stereo(np.asarray(xy_room(source(), az), np.float32), SR)
    assert xy.kind == "coincident", xy
    assert xy.evidence["diffuse_coherence"] >= 0.5
    mix = detect_stereo(np.asarray(pan_with_send(bursts(), az), np.float32), SR)
    assert mix.kind == "panned", mix
    assert mix.evidence["diffuse_coherence"] < 0.5


@pytest.mark.parametrize("az", [-45.0, 30.0])
def test_a_mix_whose_send_is_as_loud_as_its_dry_sound_is_still_level_only(az):
    # The send's decorrelated half squares into the doubled-phase GCC as noise, whose peak
    # strays from lag 0; the plain GCC still peaks at lag 0 in phase: no time difference.
    d = detect_stereo(np.asarray(pan_with_send(source(), az, send=1.0), np.float32), SR)
    assert d.kind == "panned", d
    assert d.evidence["time_share"] < 0.5

def test_a_centred_source_in_a_coherent_room_is_a_coincident_pair():
    # No level or time difference to read, but the room is heard coherent and in phase from
    # 400 Hz up: only coincident capsules hear a diffuse field so.
    d = detect_stereo(np.asarray(xy_room(source(), 0.0), np.float32), SR)
    assert d.kind == "coincident", d


def test_a_head_in_a_room_is_still_a_head():
    x = source()
    wet = SCENES["binaural"](x, -50.0) + diffuse(lambda s, a: SCENES["binaural"](s, a),
                                                 level=0.02)
    d = detect_stereo(np.asarray(wet, np.float32), SR)
    assert d.kind == "binaural", d


SPACED_KINDS = {
    "binaural": (SCENES["binaural"], None),
    "spaced 15 cm": (lambda x, az: np.stack([delayed(x, max(t, 0.0)), delayed(x, max(-t, 0.0))])
                     if (t := 0.15 * np.sin(np.radians(az)) / C) is not None else None, 0.15),
    "spaced 50 cm": (lambda x, az: np.stack([delayed(x, max(t, 0.0)), delayed(x, max(-t, 0.0))])
                     if (t := 0.5 * np.sin(np.radians(az)) / C) is not None else None, 0.5),
    "ortf": (ortf, ORTF_SPACING_M),
    "coincident": (SCENES["coincident"], None),
    "panned": (SCENES["panned"], None),
}
KIND_OF = {"spaced 15 cm": "spaced", "spaced 50 cm": "spaced", "ortf": "spaced"}


@pytest.mark.parametrize("name", list(SPACED_KINDS))
def test_minus_60_lands_on_the_left_for_every_kind_with_its_spacing_given(name):
    make, spacing = SPACED_KINDS[name]
    kind = KIND_OF.get(name, name)
    assert kind in STEREO_KINDS
    c = extract_cues(Audio(np.asarray(make(source(), -60.0), np.float32), SR), num_frames=8,
                     stereo=kind, spacing_m=spacing)
    az = float(np.median(c.sources[0].azimuth_deg))
    assert x_from_azimuth(az) < 0.3, (name, az)
    assert az == pytest.approx(-60.0, abs=8.0), (name, az)
    if spacing is not None:
        assert c.stereo["spacing_m"] == pytest.approx(spacing)


def test_spacing_is_checked_and_known_for_the_bench_pairs():
    assert check_spacing(None) is None and check_spacing("0.17") == pytest.approx(0.17)
    for bad in ("5", "-0.1", "nan", "wide", 0.0):
        with pytest.raises(BadInput):
            check_spacing(bad)
    assert true_spacing("ortf", None) == ORTF_SPACING_M
    assert true_spacing("spaced", 0.4) == 0.4 and true_spacing("xy90", None) is None


def _score(scene, system, stereo, heard, x):
    return WorldScore(scene, "tune", "static", "dry", "xy90", stereo, system, 1, 1, x, 1, 16, 0,
                      0, 0, heard_as=heard)


def test_auto_decisions_are_scored_strict_and_by_placement():
    scores = [_score("a", "spa2v", "coincident", "coincident", 0.02),   # right
              _score("b", "spa2v", "coincident", "panned", 0.030),      # wrong, placed alike
              _score("b", "spa2v-true", "coincident", "coincident", 0.025),
              _score("c", "spa2v", "coincident", "binaural", 0.20),     # wrong, placed worse
              _score("c", "spa2v-true", "coincident", "coincident", 0.02)]
    right, same, n = stereo_decisions(scores)["all"]
    assert (right, same, n) == (1, 2, 3)


def omni_room(x, az, spacing_m, seed=2, directions=48):
    """Omnis ``spacing_m`` apart: a source at ``az`` plus a diffuse field (independent noise
    from directions all over the sphere, each reaching the two omnis ``d cos / c`` apart)."""
    rng = np.random.default_rng(seed)
    tau = spacing_m * np.sin(np.radians(az)) / C
    out = np.stack([delayed(x, max(tau, 0.0)), delayed(x, max(-tau, 0.0))])
    v = rng.standard_normal((directions, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    for lateral in v[:, 1]:
        t = spacing_m * lateral / C
        s = 0.06 * pink_noise(len(x), rng)
        out = out + np.stack([delayed(s, max(t, 0.0) + 1e-3), delayed(s, max(-t, 0.0) + 1e-3)])
    return out


@pytest.mark.parametrize("spacing", [0.15, 0.4])
def test_a_spaced_pairs_spacing_is_read_from_its_room(spacing):
    # The diffuse field's coherence sinc(2 f d / c) names d whatever the source's direction.
    x = bursts()
    y = np.asarray(omni_room(x, 30.0, spacing), np.float32)
    found, source = spacing_estimate(y, SR)
    assert found == pytest.approx(spacing, rel=0.25) and source == "room"


def test_ortfs_spacing_is_read_from_its_level_and_delay():
    # Far omnis differ in level too little to say anything: the spacing stays assumed.
    y = np.asarray(ortf(source(), -50.0), np.float32)
    found, where = spacing_estimate(y, SR)
    assert found == pytest.approx(ORTF_SPACING_M, rel=0.15) and where == "levels"
    far = np.asarray(SPACED_KINDS["spaced 15 cm"][0](source(), -50.0), np.float32)
    assert spacing_estimate(far, SR) == (pytest.approx(TYPICAL_SPACING_M), "assumed")


def test_an_assumed_spacing_is_said_and_recorded():
    # A dry pair of omnis and one static source: nothing tells the spacing, so the decision
    # says it assumed one and how to give it; a spacing the user gave is theirs.
    far = np.asarray(SPACED_KINDS["spaced 15 cm"][0](source(), -50.0), np.float32)
    assumed = resolve_stereo("spaced", far, SR)
    assert assumed.spacing_from == "assumed"
    assert "assumed 25 cm apart" in assumed.describe() and "--spacing" in assumed.describe()
    assert assumed.to_dict()["spacing_from"] == "assumed"
    assert type(assumed).from_dict(assumed.to_dict()) == assumed
    given = resolve_stereo("spaced", far, SR, spacing_m=0.15)
    assert given.spacing_from == "given" and "assumed" not in given.describe()
    # a wider delay than 25 cm allows sets a floor: then the delays told it
    wide = np.asarray(SPACED_KINDS["spaced 50 cm"][0](source(), -70.0), np.float32)
    found, where = spacing_estimate(wide, SR)
    assert where == "delays" and found > TYPICAL_SPACING_M


def test_a_heads_delay_is_longer_at_low_frequencies_and_a_pairs_is_not():
    from engine.cues.stereo import HEAD_DIFFRACTION, _clear_steps, _diffraction, _features
    x = source()
    for make, is_head in ((SCENES["binaural"], True), (SCENES["spaced"], False),
                          (ortf, False)):
        f = _features(np.asarray(make(x, 50.0), np.float32), SR)
        ratio = _diffraction(f, _clear_steps(f))
        assert (ratio >= HEAD_DIFFRACTION) == is_head, (make, ratio)
        if not is_head:
            assert ratio == pytest.approx(1.0, abs=0.08)


def test_a_measure_that_could_not_be_taken_stays_out_of_the_strict_json():
    import json

    from engine.cues.stereo import StereoDecision
    d = StereoDecision("spaced", evidence={"time_share": 1.0, "head_shadow": float("nan")})
    out = json.loads(json.dumps(d.to_dict(), allow_nan=False))
    assert out["evidence"] == {"time_share": 1.0}


@pytest.mark.parametrize("pattern, angle", [(0.5, 100.0), (0.5, 90.0), (0.5, 110.0), (0.0, 90.0)])
def test_a_diffuse_field_at_two_capsules_is_as_coherent_as_their_patterns_say(pattern, angle):
    # sounds from every direction on the sphere, equally loud and independent: the coherence
    # is the patterns' product averaged over the sphere, normalised
    rng = np.random.default_rng(0)
    v = rng.standard_normal((200_000, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    half = np.radians(angle / 2)
    g_l = pattern + (1 - pattern) * (v[:, 0] * np.cos(half) - v[:, 1] * np.sin(half))
    g_r = pattern + (1 - pattern) * (v[:, 0] * np.cos(half) + v[:, 1] * np.sin(half))
    measured = np.mean(g_l * g_r) / np.sqrt(np.mean(g_l ** 2) * np.mean(g_r ** 2))
    assert capsule_diffuse_coherence(pattern, angle) == pytest.approx(measured, abs=0.01)


def test_the_table_expects_what_a_rooms_coherent_part_leaves_of_the_level_difference():
    az = np.arange(-90.0, 90.5, 10.0)
    gl, gr = coincident_gains(az)
    same = heard_gains(gl, gr, 0.0)
    assert np.allclose(same[0], gl) and np.allclose(same[1], gr)
    # The recording: direct gains plus N = share (a + b) / 2 of diffuse power in each
    # channel, gamma N of it coherent and in phase; the cues' incoherent split measures it.
    share, gamma = 1.0, capsule_diffuse_coherence()
    a, b = gl ** 2, gr ** 2
    n = share * (a + b) / 2
    st = StepSpectra((np.sqrt(a * b) + gamma * n)[:, None].astype(complex),
                     (a + n)[:, None], (b + n)[:, None])
    d_l, d_r = coherent_powers(st)
    measured = 10 * np.log10(d_r[:, 0] / d_l[:, 0])
    hl, hr = heard_gains(gl, gr, share)
    expected = 20 * np.log10(hr / hl)
    assert expected == pytest.approx(measured, abs=0.05)
    direct = 20 * np.log10(gr / gl)
    side = np.abs(az) >= 10
    assert np.all(np.abs(expected[side]) < np.abs(direct[side]) - 0.5)  # pulled in ...
    assert np.all(np.sign(expected[side]) == np.sign(az[side]))          # ... not across
    assert np.all(np.diff(expected) > 0)                                 # still one-to-one


def _xy_in_room(az, level, angle=100.0):
    gl, gr = coincident_gains(az, angle_deg=angle)
    x = source()
    room = diffuse(lambda s, a: np.stack([g * s for g in coincident_gains(a, angle_deg=angle)]),
                   level=level)
    return np.asarray(np.stack([gl * x, gr * x]) + room, np.float32)


def test_the_diffuse_share_is_read_from_the_recording():
    dry = resolve_stereo("coincident", _xy_in_room(-40.0, 0.0), SR)
    assert dry.diffuse_share is None and "diffuse_share" not in dry.to_dict()
    # two dry sources at other level ratios over each other in every bin look like a
    # diffuse field bin by bin, but the recording is as coherent as a dry one: no room
    a, b = source(seed=4), source(seed=5) * (np.arange(3 * SR) % SR < SR // 2)
    two = np.stack([g * a for g in coincident_gains(-40.0)]) + \
        np.stack([g * b for g in coincident_gains(30.0)])
    assert resolve_stereo("coincident", two.astype(np.float32), SR).diffuse_share is None
    shares = [resolve_stereo("coincident", _xy_in_room(-40.0, lv), SR).diffuse_share
              for lv in (0.02, 0.03)]
    assert 0.2 < shares[0] < shares[1]  # more room, more share
    assert "diffuse_share" in resolve_stereo("coincident", _xy_in_room(-40.0, 0.03),
                                             SR).to_dict()
    # a Blumlein pair hears its room incoherent (coherence 0): nothing to undo
    blumlein = np.stack([g * source() for g in coincident_gains(-100.0, angle_deg=90.0,
                                                                  pattern=0.0)])
    assert resolve_stereo("coincident", blumlein.astype(np.float32), SR).diffuse_share is None


@pytest.mark.parametrize("az", [-70.0, 50.0])
def test_a_coincident_pair_in_a_room_is_not_pulled_to_the_middle(az):
    # the room's diffuse field is as loud as the direct sound (share about 1.4): read as if
    # dry, the level difference put -70 at -32 and 50 at 27
    c = cues(_xy_in_room(az, 0.03), stereo="coincident")
    assert len(c.sources) == 1
    assert float(np.median(c.sources[0].azimuth_deg)) == pytest.approx(az, abs=8.0)


def test_planning_tells_the_user_an_assumed_spacing(tmp_path):
    # What a user sees: `spa2v plan` (the pipeline's analysis) warns that the spacing was
    # assumed and how to give it; told the spacing, it does not.
    import soundfile as sf

    from engine.jobs import CancelToken, Log, run_job
    from engine.pipeline import PlanSettings, analyse_job
    far = np.asarray(SPACED_KINDS["spaced 15 cm"][0](source(), -50.0), np.float32)
    path = tmp_path / "phone.wav"
    sf.write(str(path), far.T, SR)

    def warnings(settings):
        events = []
        run_job(analyse_job(path, settings, tagger=None, token=CancelToken()), events.append)
        return [e.message for e in events if isinstance(e, Log) and e.level == "warning"]

    said = warnings(PlanSettings(num_frames=8, stereo="spaced"))
    assert any("assumed 25 cm apart" in m and "--spacing" in m for m in said), said
    assert not any("assumed" in m for m in warnings(
        PlanSettings(num_frames=8, stereo="spaced", spacing_m=0.15)))


def reflections(make_pair, x, az, count=8, seed=0, gain=0.8, rt60_s=0.3):
    """A room of discrete echoes: the direct sound at ``az`` plus ``count`` copies 2-82 ms
    later from random directions, each through the same microphones, ``gain`` decayed by
    60 dB per ``rt60_s``. Unlike :func:`diffuse` (independent sounds), every echo is the
    source's own sound, so the GCC-PHATs see its lags."""
    rng = np.random.default_rng(seed)
    out = make_pair(x, az)
    for _ in range(count):
        t = 2e-3 + rng.uniform(0.0, 0.08)
        out = out + gain * 10 ** (-3 * t / rt60_s) * make_pair(delayed(x, t),
                                                               rng.uniform(-180.0, 180.0))
    return out


def blumlein(x, az):
    return np.stack([g * x for g in coincident_gains(az, angle_deg=90.0, pattern=0.0)])


@pytest.mark.parametrize("seed, az, count", [(6, 60.0, 8), (29, -65.0, 12)])
def test_a_blumlein_pair_among_echoes_is_told_by_its_inverted_steps_at_lag_0(seed, az, count):
    # A source in the side quadrant reaches one figure-of-eight's rear lobe: heard at lag 0
    # with one channel inverted. Echoes from the other quadrants come in the other polarity,
    # which lowers the doubled-phase GCC's peak at lag 0 under 0.5 (main counted too few
    # steps and said "binaural, confidence 0") or moves it to an echo's lag in most steps
    # (main read a spaced pair). No head or spaced pair hears a sound inverted at lag 0.
    y = np.asarray(reflections(blumlein, source(3.0, seed), az, count=count, seed=seed + 10,
                               gain=1.0 if count > 8 else 0.8), np.float32)
    d = resolve_stereo("auto", y, SR)
    assert d.kind == "coincident" and d.pattern == 0.0, d
    if count > 8:  # most steps timed by the echoes: decided before head or pair
        assert d.evidence["time_share"] >= 0.5 and d.evidence["inverted_at_zero"] >= 4, d


@pytest.mark.parametrize("seed, az, count", [(6, 60.0, 8), (29, -65.0, 12), (9, -40.0, 8)])
@pytest.mark.parametrize("name", ["binaural", "spaced 50 cm", "ortf"])
def test_heads_and_spaced_pairs_among_the_same_echoes_are_not_read_as_coincident(name, seed,
                                                                                 az, count):
    make = SPACED_KINDS[name][0]
    y = np.asarray(reflections(make, source(3.0, seed), az, count=count, seed=seed + 10,
                               gain=1.0 if count > 8 else 0.8), np.float32)
    d = detect_stereo(y, SR)
    assert d.kind != "coincident", d
    assert d.evidence.get("inverted_at_zero", 0.0) < 4, d
