"""The cue extractor's public functions and the kinds of stereo (SPEC section 2): each kind,
chosen by the user or decided from the recording, puts a source where it is; the choice and
the spacing reach the reading and the Cues' record of it; each source is named from its own
sound as a microphone in front of it would hear it; and the job's messages and progress.

Recordings are made here from each kind's physics, written out independently of the code
under test: a KEMAR head (the HRTF renderer), two omnidirectional microphones 30 cm apart (a
pure delay ``d sin(az) / c``), an XY pair of cardioids at +-45 degrees, and the
constant-power pan law of SPEC section 2 (pan ``p = az / 90``)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.io import Audio
from engine.binaural import render_binaural
from engine.cues.calibration import pink_noise
from engine.cues.extract import extract_cues, extract_cues_job
from engine.cues.types import Tag
from engine.errors import BadInput
from engine.jobs import Progress, run_job
from tests.synth import two_swelling_noises

SR = 16000
SPEED_OF_SOUND = 343.0
SPACING_M = 0.3
KINDS = ("binaural", "spaced", "coincident", "panned")


def delayed(x: np.ndarray, seconds: float) -> np.ndarray:
    """``x`` delayed by a fraction of a sample or more (circularly; noise does not mind)."""
    f = np.fft.rfftfreq(x.size, 1 / SR)
    return np.fft.irfft(np.fft.rfft(x) * np.exp(-2j * np.pi * f * seconds), x.size)


def recorded(kind: str, x: np.ndarray, az: float) -> np.ndarray:
    """``(2, n)``: mono ``x`` from ``az`` degrees (+ = right) as ``kind`` of stereo hears it."""
    a = np.radians(az)
    if kind == "binaural":
        return render_binaural(x, SR, azimuth_deg=az, distance_m=2.0)
    if kind == "spaced":  # the nearer microphone hears it first
        tau = SPACING_M * np.sin(a) / SPEED_OF_SOUND
        return np.stack([delayed(x, max(tau, 0.0)), delayed(x, max(-tau, 0.0))])
    if kind == "coincident":  # cardioids pointing 45 degrees left and right
        h = np.radians(45.0)
        return np.stack([(0.5 + 0.5 * np.cos(a + h)) * x, (0.5 + 0.5 * np.cos(a - h)) * x])
    if kind == "panned":
        theta = (az / 90.0 + 1.0) * np.pi / 4
        return np.stack([np.cos(theta) * x, np.sin(theta) * x])
    raise ValueError(kind)


def noise(seconds=2.0, seed=0):
    return 0.1 * pink_noise(int(seconds * SR), np.random.default_rng(seed))


def audio_of(kind, az, seconds=2.0) -> Audio:
    return Audio(recorded(kind, noise(seconds), az).astype(np.float32), SR)


def spacing_for(kind):
    return SPACING_M if kind == "spaced" else None


class Recorder:
    """A tagger that keeps what it hears and names each call by its number."""

    name = "recorder"

    def __init__(self, fail=None):
        self.calls, self.fail = [], fail

    def tag(self, mono, sample_rate, *, top_k=5):
        self.calls.append(np.array(mono))
        if self.fail:
            raise self.fail
        return [Tag(f"call {len(self.calls) - 1}", 0.9)]


# -- each kind, chosen or decided -----------------------------------------------------------------

@pytest.mark.parametrize("az", [-60.0, 60.0])
@pytest.mark.parametrize("kind", KINDS)
def test_a_source_lands_on_its_side_for_each_kind_the_user_names(kind, az):
    c = extract_cues(audio_of(kind, az), num_frames=4, max_sources=1, stereo=kind,
                     spacing_m=spacing_for(kind))
    (src,) = c.sources
    assert np.sign(src.mean_azimuth()) == np.sign(az)
    assert src.mean_azimuth() == pytest.approx(az, abs=12)
    assert c.stereo["kind"] == kind and c.stereo["chosen"] == "user"
    # the user's own choice is not repeated back as a note
    assert not any(n.startswith("Read as") for n in c.notes)


@pytest.mark.parametrize("az", [-60.0, 60.0])
def test_a_blumlein_pair_is_read_with_its_own_capsules(az):
    # two figure-of-eights at right angles: beyond their axes (|az| > 45) the far channel is
    # of opposite sign, and a cardioid pair's table would misread the level difference
    a, h = np.radians(az), np.radians(45.0)
    x = noise()
    audio = Audio(np.stack([np.cos(a + h) * x, np.cos(a - h) * x]).astype(np.float32), SR)
    c = extract_cues(audio, num_frames=4, max_sources=1, stereo="coincident")
    assert c.sources[0].mean_azimuth() == pytest.approx(az, abs=4)


@pytest.mark.parametrize("kind", KINDS)
def test_auto_says_what_it_read_the_recording_as(kind):
    for choice in ("auto", None, " AUTO "):
        c = extract_cues(audio_of(kind, -60.0), num_frames=4, max_sources=1, stereo=choice)
        assert c.stereo["chosen"] == "auto"
        said = [n for n in c.notes if n.startswith("Read as")]
        assert said == [f"Read as {c.stereo['kind']} stereo (decided from the recording, "
                        f"{100 * c.stereo['confidence']:.0f} % sure" + (
                            f", microphones {100 * c.stereo['spacing_m']:.0f} cm apart"
                            if c.stereo.get("spacing_m") else "") + ")."]
        assert c.sources[0].mean_azimuth() < -30  # on the left, whatever kind it chose


def test_the_spacing_given_is_the_spacing_used():
    # a 30 cm pair read as if it were 18 cm would need more delay than a source can make:
    # the spacing must reach the reading, not only the record
    audio = audio_of("spaced", -40.0)
    for spacing in (0.3, 0.5):
        c = extract_cues(audio, num_frames=4, max_sources=1, stereo="spaced", spacing_m=spacing)
        assert c.stereo["spacing_m"] == spacing
        # the same delay read on a wider pair is a smaller angle: sin(az) = c tau / d
        truth = np.degrees(np.arcsin(np.sin(np.radians(-40.0)) * SPACING_M / spacing))
        assert c.sources[0].mean_azimuth() == pytest.approx(truth, abs=6)


def test_the_job_takes_the_kind_and_spacing_too():
    c = run_job(extract_cues_job(audio_of("spaced", -60.0), num_frames=4, max_sources=1,
                                 stereo="spaced", spacing_m=0.3))
    assert c.stereo == {"kind": "spaced", "chosen": "user", "confidence": 1.0,
                        "spacing_m": 0.3, "evidence": {}, "spacing_from": "given"}


def test_mono_has_no_kind_of_stereo():
    c = extract_cues(Audio(noise(1.0)[None].astype(np.float32), SR), num_frames=2,
                     stereo="spaced", spacing_m=0.3)
    assert c.stereo is None and not any(n.startswith("Read as") for n in c.notes)


def test_an_unknown_kind_is_refused_with_the_choices():
    with pytest.raises(BadInput, match="binaural, spaced, coincident, panned"):
        extract_cues(audio_of("panned", 0.0, seconds=0.5), num_frames=2, stereo="quadraphonic")


@pytest.mark.parametrize("kind", ["coincident", "panned"])
def test_two_sources_of_a_level_only_kind_are_found_on_their_sides(kind):
    # a low sound at -60 and a high one at +45: found with the kind's own cue table
    c, tagger, _ = two_sources(kind)
    az = sorted(s.mean_azimuth() for s in c.sources)
    assert len(az) == 2
    assert az[0] == pytest.approx(-60, abs=12) and az[1] == pytest.approx(45, abs=12)
    # neither moves: each swells and fades on its own, and a mask sharing bins between them
    # moves its level more, which is not a change of distance
    assert [s.motion for s in c.sources] == ["static", "static"]


def test_two_sources_of_a_spaced_pair_in_different_bands_are_both_found_and_active():
    # a 30 cm pair: a bin's phase names one direction only up to c / 2d = 572 Hz, yet the
    # high sound (> 2.5 kHz) is all above it; the masks must still give it its own bins
    c, _, _ = two_sources("spaced", spacing_m=SPACING_M)
    assert len(c.sources) == 2
    assert all(s.active.any() for s in c.sources)
    az = sorted(s.mean_azimuth() for s in c.sources)
    assert az[0] == pytest.approx(-60, abs=12) and az[1] == pytest.approx(45, abs=12)


def test_a_spaced_pairs_spacing_is_at_least_what_each_sources_delay_needs():
    # without the spacing: the low sound at -60 on a 30 cm pair is 0.76 ms late on the right,
    # which needs at least 26 cm (c tau); the high one's smaller delay fills the wider band
    # and wins every step's whole-band GCC peak, but the low band still hears the low sound's
    c, _, _ = two_sources("spaced")
    need = SPACING_M * np.sin(np.radians(60.0))
    assert c.stereo["spacing_m"] >= need - SPEED_OF_SOUND * 0.25 / SR  # the lag grid's step
    az = sorted(s.mean_azimuth() for s in c.sources)
    assert az[0] < -60 + 12 and 45 - 12 < az[1] < 90


@pytest.mark.parametrize("kind", ["binaural", "panned"])
def test_a_lone_source_getting_louder_with_the_same_spectrum_is_approaching(kind):
    # SPEC section 2; 8 dB over 4 s is 2.5 times nearer under 1/r. The threshold the
    # separated sources' masks need must not be applied to a source heard on its own
    x = noise(4.0)
    gain = 10 ** (np.linspace(-8, 0, x.size) / 20)
    c = extract_cues(Audio(recorded(kind, x * gain, -40.0).astype(np.float32), SR),
                     num_frames=8, stereo=kind, max_sources=1)
    assert c.sources[0].motion == "approaching"


# -- naming: each source from its own sound -----------------------------------------------------

def band_levels_db(y: np.ndarray) -> np.ndarray:
    """Third-octave levels from 300 Hz to 7.5 kHz, relative to their median."""
    p = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(y.size, 1 / SR)
    edges = 300 * 2 ** (np.arange(15) / 3)
    lv = np.array([10 * np.log10(p[(f >= a) & (f < b)].mean())
                   for a, b in zip(edges[:-1], edges[1:]) if b < 7500])
    return lv - np.median(lv)


@pytest.mark.parametrize("kind", ["binaural", "panned"])
@pytest.mark.parametrize("az", [-60.0, 0.0])
def test_the_tagger_hears_the_sound_not_the_head(kind, az):
    # white noise: flat in third octaves as a microphone in front of it hears it. Through a
    # head it is coloured by up to 24 dB (the ear canal's resonance, the far ear's shadow);
    # the tagger must get it back flat, and a plain pan must not be "corrected" for a head
    x = 0.1 * np.random.default_rng(1).standard_normal(3 * SR)
    tagger = Recorder()
    extract_cues(Audio(recorded(kind, x, az).astype(np.float32), SR), num_frames=4,
                 max_sources=1, stereo=kind, tagger=tagger)
    (heard,) = tagger.calls
    assert np.abs(band_levels_db(heard)).max() < 4.0


def two_sources(kind, tagger_fail=None, spacing_m=None):
    low, high = two_swelling_noises(SR)
    audio = Audio((recorded(kind, low, -60.0) + recorded(kind, high, 45.0)).astype(np.float32),
                  SR)
    tagger = Recorder(fail=tagger_fail)
    return (extract_cues(audio, num_frames=8, stereo=kind, tagger=tagger, spacing_m=spacing_m),
            tagger, audio)


def low_over_high_db(y):
    p = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(y.size, 1 / SR)
    return 10 * np.log10(p[f < 900].sum() / p[f > 2500].sum())


@pytest.mark.parametrize("kind", ["binaural", "panned"])
def test_each_source_is_named_from_its_own_sound_and_the_mix_from_the_mix(kind):
    c, tagger, audio = two_sources(kind)
    assert len(c.sources) == 2 and len(tagger.calls) == 3
    heard = {s.label: tagger.calls[int(s.label.split()[1])] for s in c.sources}
    for s in c.sources:
        own = low_over_high_db(heard[s.label])
        # the low sound's source hears mostly low, the high one's mostly high
        assert own > 10 if s.mean_azimuth() < 0 else own < -10
    (mix_label,) = [t.label for t in c.tags]
    assert mix_label not in heard
    mix = tagger.calls[int(mix_label.split()[1])]
    assert mix.size == audio.samples.shape[1]
    assert abs(low_over_high_db(mix) - low_over_high_db(audio.mono())) < 1.0


def test_a_failing_tagger_is_said_for_several_sources_and_for_mono():
    c, _, _ = two_sources("panned", tagger_fail=RuntimeError("out of memory"))
    failed = "The sound tagger failed (RuntimeError: out of memory); sources are unnamed."
    assert failed in c.notes and c.tags == [] and all(s.tags == [] for s in c.sources)
    assert len(c.sources) == 2
    mono = Audio(noise(1.0)[None].astype(np.float32), SR)
    c = extract_cues(mono, num_frames=2, tagger=Recorder(fail=RuntimeError("out of memory")))
    assert failed in c.notes and c.tags == []


def test_mono_is_named_from_the_whole_recording():
    mono = Audio(noise(1.0)[None].astype(np.float32), SR)
    tagger = Recorder()
    c = extract_cues(mono, num_frames=2, tagger=tagger)
    (heard,) = tagger.calls
    assert heard.shape == (SR,)
    # the same sound, brought to the tagger's working level: one gain throughout
    gain = heard @ mono.samples[0] / (mono.samples[0] @ mono.samples[0])
    np.testing.assert_allclose(heard, gain * mono.samples[0], atol=1e-5)
    assert c.tags[0].label == "call 0"


# -- what the job says -------------------------------------------------------------------------

def test_a_clip_too_short_says_how_long_it_is_and_what_to_do():
    with pytest.raises(BadInput) as err:
        extract_cues(Audio(np.full((2, int(0.05 * SR)), 0.1, np.float32), SR), num_frames=1)
    assert err.value.message == ("The audio is 50 ms long; measuring where sounds are needs "
                                 "at least 0.1 s.")
    assert err.value.hint == "Use a longer recording."
    # Read from a file, the file is named.
    from pathlib import Path
    named = Audio(np.full((2, int(0.05 * SR)), 0.1, np.float32), SR, path=Path("/x/take.wav"))
    with pytest.raises(BadInput, match=r"^take\.wav is 50 ms long"):
        extract_cues(named, num_frames=1)


def test_every_report_is_of_the_cues_stage_and_the_passes_keep_to_their_shares(monkeypatch):
    from engine.cues import analysis
    monkeypatch.setattr(analysis, "CHUNK_S", 1.0)  # several chunks per pass
    monkeypatch.setattr(analysis, "MARGIN_S", 0.5)
    events = []
    _, _, audio = two_sources("panned")
    run_job(extract_cues_job(audio, num_frames=8), events.append)
    progress = [e for e in events if isinstance(e, Progress)]
    assert {e.stage for e in progress} == {"cues"}
    listening = [e.fraction for e in progress if e.detail.startswith("listening: ")]
    separating = [e.fraction for e in progress if e.detail.startswith("separating: ")]
    assert len(listening) >= 3 and len(separating) >= 3
    assert listening == sorted(listening) and listening[-1] == pytest.approx(0.6)
    assert all(0 < f <= 0.6 + 1e-9 for f in listening)
    assert separating == sorted(separating) and separating[-1] == pytest.approx(0.9)
    assert all(0.6 < f <= 0.9 + 1e-9 for f in separating)
    assert progress[-1].fraction == 1.0


def test_one_source_needs_no_separation_pass():
    events = []
    c = run_job(extract_cues_job(audio_of("panned", -60.0), num_frames=4), events.append)
    assert len(c.sources) == 1
    assert not any(e.detail.startswith("separating") for e in events
                   if isinstance(e, Progress))


# -- per-frame values the Cues promise ---------------------------------------------------------

def test_digital_silence_in_a_frame_is_a_finite_level():
    x = noise(2.0)
    x[:SR] = 0.0  # the first second is digital silence
    c = extract_cues(Audio(recorded("panned", x, -30.0).astype(np.float32), SR), num_frames=4,
                     stereo="panned")
    assert np.all(np.isfinite(c.loudness_db))
    assert c.loudness_db[3] - c.loudness_db[0] > 60


def test_the_spectral_centroid_is_of_the_sound_not_the_silence_around_it():
    # each frame holds a 1 kHz tone for a quarter of its time and a hiss 60 dB down for the
    # rest: its centroid is the tone's, weighted by power, not the hiss's
    t = np.arange(2 * SR) / SR
    x = 1e-4 * np.random.default_rng(0).standard_normal(t.size)
    on = (t % 0.5) < 0.125
    x[on] += 0.1 * np.sin(2 * np.pi * 1000 * t[on])
    c = extract_cues(Audio(recorded("panned", x, 0.0).astype(np.float32), SR), num_frames=4,
                     stereo="panned")
    assert np.all(np.abs(c.centroid_hz - 1000) < 150)


def test_onsets_are_listed_in_seconds():
    x = 1e-3 * np.random.default_rng(0).standard_normal(3 * SR)
    for k in (0.5, 1.5, 2.5):  # three claps
        i = int(k * SR)
        x[i:i + 800] += 0.5 * np.random.default_rng(int(10 * k)).standard_normal(800) * \
            np.exp(-np.arange(800) / 150)
    c = extract_cues(Audio(recorded("panned", x, 20.0).astype(np.float32), SR), num_frames=6,
                     stereo="panned")
    assert isinstance(c.onsets_s, list) and len(c.onsets_s) >= 3
    for k in (0.5, 1.5, 2.5):
        assert min(abs(o - k) for o in c.onsets_s) < 0.05
