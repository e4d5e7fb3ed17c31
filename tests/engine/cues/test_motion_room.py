"""Approaching or receding in a room needs the room to agree: moving changes the
direct-to-reverberant ratio, a source's own swell does not (its reverberation swells with
it). Constructed rooms: a binaural direct sound plus a diffuse tail made from the same
source, so the tail follows what the source emits and not where it is."""

import numpy as np
import pytest
from scipy.signal import fftconvolve

from engine.audio.io import Audio
from engine.binaural import render_binaural
from engine.cues.calibration import pink_noise
from engine.cues.extract import extract_cues
from engine.cues.motion import HF_MAX_DB, classify_motion, expected_coherence_change

SR = 16000
SECONDS = 6.0


def diffuse_tail(x, rng, rt60_s=0.7, gain=1.0):
    """``x`` through two independent exponentially decaying noise responses (an RT60 of
    ``rt60_s``): a reverberant field, incoherent between the channels."""
    n = int(rt60_s * SR)
    decay = np.exp(-6.9 * np.arange(n) / n)  # -60 dB at rt60
    out = []
    for _ in range(2):
        h = rng.standard_normal(n) * decay
        h *= gain / np.sqrt(np.sum(h ** 2))
        out.append(fftconvolve(x, h)[:x.size])
    return np.stack(out)


def room_clip(direct_ramp_db, own_ramp_db, seed=0):
    """A pink source at 30 degrees, ``SECONDS`` long, in a reverberant room. Its own level
    goes through ``own_ramp_db`` (direct sound and reverberation alike); its distance
    changes the direct sound alone by ``direct_ramp_db`` (both dB, start to end)."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * SR)
    t = np.arange(n) / n
    x = 0.1 * pink_noise(n, rng) * 10 ** (own_ramp_db * (t - 0.5) / 20)
    direct = render_binaural(x * 10 ** (direct_ramp_db * (t - 0.5) / 20), SR,
                             azimuth_deg=30.0, distance_m=1.0, air_absorption=False)
    return (direct[:, :n] + diffuse_tail(x, rng, gain=0.3)).astype(np.float32)


def motion(y, stereo="binaural"):
    cues = extract_cues(Audio(y, SR), num_frames=16, stereo=stereo, max_sources=1)
    return cues.sources[0].motion, cues.sources[0].evidence


def test_a_source_swelling_by_itself_in_a_room_stays_static():
    label, ev = motion(room_clip(0.0, 12.0))
    # the level rose steadily, which alone would read as approaching ...
    assert ev["level_db"] > 8.0
    # ... but the room expected the coherence to rise with it, and it did not
    assert ev["coherence_expected"] >= 0.1
    assert label == "static"


def test_a_source_coming_closer_in_a_room_is_approaching():
    label, ev = motion(room_clip(12.0, 0.0))
    assert ev["coherence"] >= 0.5 * ev["coherence_expected"] > 0
    assert label == "approaching"


def test_a_source_going_away_in_a_room_is_receding():
    label, _ = motion(room_clip(-12.0, 0.0))
    assert label == "receding"


def tracks(level_db, coherence):
    """Per-step tracks of a static source (azimuth 20) over 6 s, 0.05 s steps."""
    n = 120
    t = (np.arange(n) + 0.5) * 0.05
    ones = np.ones(n)
    return (t, 20.0 * ones, ones, np.linspace(0, level_db, n), np.linspace(*coherence, n),
            np.zeros(n), ones.astype(bool), [0.1], 0.05)


def test_the_room_test_reads_the_coherence_the_level_change_should_bring():
    # a steady 10 dB rise with the coherence flat at 0.3: a source swelling in a room
    flat = tracks(10.0, (0.3, 0.3))
    assert classify_motion(*flat, diffuse=0.05)[0] == "static"
    # without a room to read (a pan-pot mix, a coincident pair) the steady trend stands
    assert classify_motion(*flat, diffuse=None)[0] == "approaching"
    # the same rise with the coherence rising as the room says: approaching
    rise = expected_coherence_change(0.45, 10.0, 0.05)
    assert classify_motion(*tracks(10.0, (0.45 - rise / 2, 0.45 + rise / 2)),
                           diffuse=0.05)[0] == "approaching"


def test_a_dry_recording_expects_no_coherence_change():
    assert expected_coherence_change(1.0, 12.0, 0.05) == pytest.approx(0.0, abs=1e-6)
    assert expected_coherence_change(0.3, 0.0, 0.05) == pytest.approx(0.0, abs=1e-9)
    # coming closer makes a room's sound more direct; going away less
    assert expected_coherence_change(0.3, 10.0, 0.05) > 0.1
    assert expected_coherence_change(0.3, -10.0, 0.05) < -0.1
    # a coincident pair's room is coherent itself: the same change moves it less
    assert 0 < expected_coherence_change(0.8, 10.0, 0.71) < expected_coherence_change(
        0.3, 10.0, 0.05)


def test_a_coherence_change_above_the_measures_scatter_backs_the_level_change():
    """Real rooms move the measured coherence less than the diffuse model says (early
    reflections inside the analysis window read as direct sound): a rise of 0.15 where 0.5
    would be expected is still a rise the measure can see, so the room does not deny it."""
    rise = expected_coherence_change(0.45, 10.0, 0.05)
    assert rise > 0.4  # the model expects far more than the 0.15 measured below
    assert classify_motion(*tracks(10.0, (0.375, 0.525)), diffuse=0.05)[0] == "approaching"
    assert classify_motion(*tracks(-10.0, (0.525, 0.375)), diffuse=0.05)[0] == "receding"
    # under the scatter (0.05 of change): the source's own swell, as before
    assert classify_motion(*tracks(10.0, (0.425, 0.475)), diffuse=0.05)[0] == "static"


def test_a_timbre_change_beyond_what_distance_can_do_is_not_distance():
    """A bell whose upper partials die first darkens by 17 dB over the clip at a steady
    level; air and a room's duller tail change the balance by a few dB at most
    (:data:`engine.cues.motion.HF_MAX_DB`), so it stays static, as does its brightening."""
    t, az, w, level, coh, hf, act, onsets, step = tracks(0.0, (0.9, 0.9))
    for change in (-17.0, 17.0):
        darker = np.linspace(0.0, change, t.size)
        label, _, ev = classify_motion(t, az, w, level, coh, darker, act, onsets, step)
        assert label == "static"
        assert abs(ev.hf_db) <= HF_MAX_DB
    # within the bound the balance still counts with the level: a 3 dB rise that the
    # brightness backs reads as coming closer
    brighter = np.linspace(0.0, 3.0, t.size)
    flat_coh = np.full(t.size, 0.9)
    rise = np.linspace(0.0, 3.5, t.size)
    assert classify_motion(t, az, w, rise, flat_coh, brighter, act, onsets, step)[0] == (
        "approaching")
