"""Every kind of stereo on small synthetic scenes: a source at -60 degrees lands on the left
whatever the microphones, ``auto`` tells the kinds apart on constructed examples, and a pan
pot turned hard left puts the object at the left edge."""

import numpy as np
import pytest

from engine.audio.io import Audio
from engine.audio.stereo_kinds import STEREO_KINDS, check_stereo
from engine.binaural import render_binaural
from engine.cues.calibration import pink_noise
from engine.cues.extract import extract_cues
from engine.audio.stereo_kinds import PAN_LAWS, check_pan_law
from engine.cues.stereo import (StereoDecision, calibration_for, coincident_gains, detect_stereo,
                                model_for, pan_gains, pan_law_gains, resolve_stereo,
                                spaced_delay_s)
from engine.cues.spatial import AnalysisGrid
from engine.errors import BadInput
from engine.layout.screen import x_from_azimuth

SR = 16000


def source(seconds=3.0, seed=0):
    return 0.1 * pink_noise(int(seconds * SR), np.random.default_rng(seed))


def delayed(x, tau_s):
    """``x`` delayed by ``tau_s`` seconds (a fractional delay, by phase in the spectrum)."""
    n = len(x)
    f = np.fft.rfftfreq(2 * n, 1 / SR)
    return np.fft.irfft(np.fft.rfft(x, 2 * n) * np.exp(-2j * np.pi * f * tau_s), 2 * n)[:n]


def spaced_pair(x, az, spacing_m):
    tau = float(spaced_delay_s(az, spacing_m))  # + = the right microphone hears it first
    return np.stack([delayed(x, max(tau, 0.0)), delayed(x, max(-tau, 0.0))])


def coincident_pair(x, az, angle_deg=90.0, pattern=0.5):
    gl, gr = coincident_gains(az, angle_deg=angle_deg, pattern=pattern)
    return np.stack([gl * x, gr * x])


def pan_pot(x, az):
    gl, gr = pan_gains(az)
    return np.stack([gl * x, gr * x])


def diffuse(make_pair, seconds=3.0, seed=1, level=0.05):
    """A crude room: 24 independent sounds from all around, through the same microphones."""
    rng = np.random.default_rng(seed)
    out = 0
    for az in np.linspace(-180, 180, 24, endpoint=False):
        out = out + make_pair(level * pink_noise(int(seconds * SR), rng), az)
    return out


SCENES = {
    "binaural": lambda x, az: render_binaural(x, SR, azimuth_deg=az, distance_m=2.0),
    "spaced": lambda x, az: spaced_pair(x, az, 0.25),
    "coincident": lambda x, az: coincident_pair(x, az, 90.0),
    "panned": pan_pot,
}


def cues(signal, **kw):
    return extract_cues(Audio(np.asarray(signal, np.float32), SR), num_frames=8, **kw)


@pytest.mark.parametrize("kind", STEREO_KINDS)
@pytest.mark.parametrize("told", [True, False])
def test_a_source_at_minus_60_lands_on_the_left_for_every_kind(kind, told):
    c = cues(SCENES[kind](source(), -60.0), stereo=kind if told else "auto")
    assert len(c.sources) == 1
    az = float(np.median(c.sources[0].azimuth_deg))
    x = float(x_from_azimuth(az))
    assert x < 0.3, (kind, az)
    if told:  # with the right mapping the direction itself comes back
        assert az == pytest.approx(-60.0, abs=8.0), (kind, az)
    assert c.stereo["kind"] == kind or not told


def test_other_coincident_pairs_read_close_to_the_truth():
    for angle in (90.0, 110.0):
        c = cues(coincident_pair(source(), 40.0, angle), stereo="coincident")
        assert float(np.median(c.sources[0].azimuth_deg)) == pytest.approx(40.0, abs=6.0)


def test_a_spaced_pair_with_its_spacing_given_reads_delays_by_that_spacing():
    x = source()
    # unknown, a narrow pair (a phone) reads nearer the middle, but on the right side
    c = cues(spaced_pair(x, -60.0, 0.15), stereo="spaced")
    assert -60.0 < float(np.median(c.sources[0].azimuth_deg)) < -20.0
    for spacing in (0.1, 0.4):
        c = cues(spaced_pair(x, 30.0, spacing), stereo="spaced", spacing_m=spacing)
        assert float(np.median(c.sources[0].azimuth_deg)) == pytest.approx(30.0, abs=4.0)
        assert c.stereo["spacing_m"] == pytest.approx(spacing)


def test_a_mix_with_its_pan_law_given_reads_pans_by_that_law():
    # A source panned half right (p = 0.5: 45 degrees) through the -6 dB law: told the law it
    # comes back at 45 degrees; read through constant power (the default, and auto's) it is
    # placed further out (0.75 / 0.25 is a 9.5 dB difference: constant power's at 53 deg).
    x = source()
    gl, gr = pan_law_gains(0.5, "-6dB")
    mix = np.stack([gl * x, gr * x])
    told = cues(mix, stereo="panned", pan_law="-6dB")
    assert told.stereo["pan_law"] == "-6dB"
    assert float(np.median(told.sources[0].azimuth_deg)) == pytest.approx(45.0, abs=3.0)
    for kw in ({"stereo": "panned"}, {"stereo": "auto"}, {"stereo": "panned",
                                                          "pan_law": "-3dB"}):
        c = cues(mix, **kw)
        assert c.stereo["kind"] == "panned" and c.stereo["pan_law"] == "-3dB"
        assert float(np.median(c.sources[0].azimuth_deg)) > 50.0, kw
    # auto told the law uses it when it hears a pan-pot mix, as with a spacing
    c = cues(mix, stereo="auto", pan_law="6dB")
    assert c.stereo["pan_law"] == "-6dB"
    assert float(np.median(c.sources[0].azimuth_deg)) == pytest.approx(45.0, abs=3.0)


def test_the_pan_laws_meet_at_the_edges_and_differ_at_the_centre():
    p = np.array([-1.0, 0.0, 1.0])
    centre = {"-3dB": -3.01, "-4.5dB": -4.52, "-6dB": -6.02}
    for law in PAN_LAWS:
        gl, gr = pan_law_gains(p, law)
        assert gl[0] == pytest.approx(1.0) and gr[0] == pytest.approx(0.0, abs=1e-8)
        assert gl[2] == pytest.approx(0.0, abs=1e-8) and gr[2] == pytest.approx(1.0)
        assert 20 * np.log10(gl[1]) == pytest.approx(centre[law], abs=0.01)
        assert gl[1] == pytest.approx(gr[1])
    # the default and the engine's azimuth form are constant power
    assert np.allclose(np.stack(pan_gains([-45.0, 30.0])),
                       np.stack(pan_law_gains([-0.5, 1 / 3], "-3dB")))


def test_a_pan_law_is_recorded_only_for_a_pan_pot_mix_and_a_bad_one_refused():
    x = source()
    c = cues(spaced_pair(x, 30.0, 0.25), stereo="spaced", pan_law="-6dB")
    assert "pan_law" not in c.stereo  # ignored for another kind, as --spacing is
    assert calibration_for("spaced", pan_law="-6dB") is calibration_for("spaced")
    d = StereoDecision.from_dict(cues(pan_pot(x, 20.0), stereo="panned",
                                      pan_law="-4.5dB").stereo)
    assert d.pan_law == "-4.5dB" and "-4.5 dB pan law" in d.describe()
    assert check_pan_law(None) is None and check_pan_law(" -4.5 dB") == "-4.5dB"
    for bad in ("-5dB", "linear", "", "45"):
        with pytest.raises(BadInput) as e:
            check_pan_law(bad)
        assert "\n" not in str(e.value) and all(law in str(e.value) for law in PAN_LAWS)
    with pytest.raises(BadInput):
        cues(pan_pot(x, 20.0), stereo="panned", pan_law="-5dB")


def test_a_wide_spaced_pair_keeps_its_bin_model_below_the_alias_frequency():
    grid = AnalysisGrid.for_rate(44100)
    narrow = model_for("spaced", grid, spacing_m=0.15)
    wide = model_for("spaced", grid, spacing_m=0.5)
    assert grid.freqs[wide.sel].max() <= 343.0 / (2 * 0.5) + 1 or grid.freqs[wide.sel].max() <= 500
    assert wide.sel.sum() < narrow.sel.sum()
    cal = calibration_for("spaced", spacing_m=0.5)
    assert cal.itd_s[-1] == pytest.approx(0.5 / 343.0)
    assert not cal.level_only and calibration_for("panned").level_only


@pytest.mark.parametrize("kind,scene", [
    ("binaural", lambda x: SCENES["binaural"](x, -50.0)),
    ("binaural", lambda x: SCENES["binaural"](x, 30.0)),
    ("spaced", lambda x: spaced_pair(x, -50.0, 0.15)),
    ("spaced", lambda x: spaced_pair(x, 35.0, 0.45)),
    ("panned", lambda x: pan_pot(x, -90.0)),
    ("panned", lambda x: np.concatenate([pan_pot(x[:24000], 40.0),
                                         pan_pot(source(seed=5)[:24000], 90.0)], axis=1)),
    ("coincident", lambda x: coincident_pair(x, -45.0)
     + diffuse(lambda s, a: coincident_pair(s, a))),
])
def test_auto_tells_the_kinds_apart(kind, scene):
    d = detect_stereo(np.asarray(scene(source()), np.float32), SR)
    assert d.kind == kind, d
    assert 0.0 <= d.confidence <= 1.0


def test_auto_is_unsure_when_everything_is_in_the_middle():
    d = detect_stereo(np.stack([source(), source()]).astype(np.float32), SR)
    assert d.confidence == 0.0


def test_a_sound_panned_hard_left_sits_at_the_left_edge():
    c = cues(pan_pot(source(), -90.0))
    assert c.stereo["kind"] == "panned"
    assert float(np.median(c.sources[0].azimuth_deg)) < -85.0


def test_the_decision_is_recorded_and_a_bad_choice_refused():
    c = cues(SCENES["spaced"](source(), 40.0))
    assert c.stereo["chosen"] == "auto" and c.stereo["kind"] == "spaced"
    assert any("spaced" in n for n in c.notes)
    assert check_stereo(None) == "auto" and check_stereo(" Panned ") == "panned"
    with pytest.raises(BadInput):
        check_stereo("ambisonic")
    with pytest.raises(BadInput):
        cues(SCENES["panned"](source(), 0.0), stereo="mono")


def test_a_blumlein_pairs_inverted_side_is_read_as_coincident():
    # Figure-of-eights at +-45 degrees: a source at 70 degrees reaches the left capsule's
    # rear lobe, inverted; a delay could never do that to every frequency at once.
    x = source()
    d = detect_stereo(np.asarray(coincident_pair(x, 70.0, 90.0, pattern=0.0), np.float32), SR)
    assert d.kind == "coincident", d
    assert d.evidence["inverted"] >= 4


def test_near_spaced_microphones_are_not_a_head():
    # 0.4 m apart, the source 0.4 m away at 60 degrees: the near microphone is 7 dB louder
    # at every frequency (1/r), which a head's shadow, growing with frequency, is not.
    x = source()
    spacing, r, az = 0.4, 0.4, np.radians(60.0)
    src = np.array([r * np.sin(az), r * np.cos(az)])
    dist = [np.hypot(*(src - np.array([side * spacing / 2, 0.0]))) for side in (-1, 1)]
    y = np.stack([delayed(x, d / 343.0) / d for d in dist])
    assert 20 * np.log10(dist[0] / dist[1]) > 4.0
    d = detect_stereo(np.asarray(y, np.float32), SR)
    assert d.kind == "spaced", d


@pytest.mark.parametrize("az", [-80.0, -60.0, 60.0, 80.0])
def test_a_blumlein_pair_places_side_sources_by_their_polarity(az):
    # Figure-of-eights at +-45 degrees: a source at 60 degrees differs in level as much as
    # one at 30 (11.4 dB) but comes with the left channel inverted; told "coincident", the
    # reading takes the polarity and lands on the right side at the right angle.
    c = cues(coincident_pair(source(), az, 90.0, pattern=0.0), stereo="coincident")
    assert len(c.sources) == 1
    got = float(np.median(c.sources[0].azimuth_deg))
    assert np.sign(got) == np.sign(az) and got == pytest.approx(az, abs=4.0), got
    assert c.stereo["pattern"] == 0.0 and "Blumlein" in StereoDecision.from_dict(
        c.stereo).describe()


def test_cardioids_never_invert_and_keep_the_cardioid_reading():
    c = cues(coincident_pair(source(), -40.0, 90.0), stereo="coincident")
    assert c.stereo["pattern"] == 0.5
    cal = calibration_for("coincident")
    assert cal.polarity is None
    f8 = calibration_for("coincident", pattern=0.0)
    # in phase in the front quadrant, inverted beyond the nulls at +-45 degrees
    assert f8.polarity[90] == 1 and f8.polarity[90 + 60] == -1 and f8.polarity[90 - 60] == -1
    model = model_for("coincident", AnalysisGrid.for_rate(SR), pattern=0.0)
    i60 = int(np.argmin(np.abs(model.azimuth_deg - 60)))
    assert np.all(model.phasor_re[:, i60] < 0)


@pytest.mark.parametrize("pattern", [0.0, 0.5])
def test_a_coincident_pairs_capsules_are_heard_in_its_room(pattern):
    # A source in the front quadrant (in phase, no inversion to hear) in a room: cardioids
    # hear the room with coherence 0.75 + 0.25 cos 90 = 0.75, figure-of-eights with cos 90 = 0.
    def pair(s, a):
        return coincident_pair(s, a, 90.0, pattern=pattern)
    x = np.asarray(pair(source(), 25.0) + diffuse(pair), np.float32)
    d = resolve_stereo("coincident", x, SR)
    assert d.kind == "coincident" and d.pattern == pattern, d
