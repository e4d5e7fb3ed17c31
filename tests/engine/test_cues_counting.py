"""Counting sources: a room's reflections are not a second object, two sounds with their own
onsets are two, and an object stays through a silence in a room.

Rooms are pyroomacoustics shoeboxes heard through the world bench's microphones
(:mod:`engine.evaluation.rooms`, :mod:`engine.evaluation.mics`)."""

import numpy as np
import pytest
from scipy.signal import fftconvolve

from engine.audio.io import Audio
from engine.binaural import render_binaural
from engine.cues.calibration import pink_noise
from engine.cues.extract import extract_cues
from engine.jobs import CancelToken, run_job
from engine.layout.screen import x_from_azimuth
from engine.planning.heuristic import HeuristicPlanner
from engine.protocols import PlanRequest
from tests.synth import within

pytest.importorskip("pyroomacoustics")

SR = 16000


def syllables(duration_s, *, seed, bursts=None):
    """Pink noise that swells and fades about four times a second (like speech), or, with
    ``bursts`` (``[(start_s, stop_s), ...]``), only within those spans."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * SR)
    t = np.arange(n) / SR
    y = 0.1 * pink_noise(n, rng) * (0.55 + 0.45 * np.sin(2 * np.pi * 3.7 * t + seed))
    return within(y, bursts, SR)


def in_room(mono, mic_name, azimuth_deg, *, distance_m=2.0, rt60_s=0.5):
    from engine.evaluation.mics import make_microphone
    from engine.evaluation.rooms import RoomSpec, room_response
    room = RoomSpec("office", (6.5, 4.8, 3.0), rt60_s, (2.6, 2.3, 1.5), 0.0)
    a = np.radians(azimuth_deg)
    h = room_response(room, make_microphone(mic_name, sample_rate=SR),
                      np.array([distance_m * np.cos(a), distance_m * np.sin(a), 0.0]),
                      sample_rate=SR)
    y = np.stack([fftconvolve(mono, h[c])[:len(mono)] for c in range(2)])
    noise = pink_noise(y.size, np.random.default_rng(9)).reshape(y.shape)
    return y + 10 ** (-30 / 20) * np.std(y) * noise  # 30 dB SNR


def cues_of(stereo, frames=16, kind=None):
    return extract_cues(Audio(np.asarray(stereo, np.float32), SR), num_frames=frames,
                        stereo=kind)


@pytest.mark.parametrize("mic,kind,rt60_s,az", [
    ("xy90", "coincident", 0.5, -35), ("xy90", "coincident", 0.8, 20),
    ("xy110", "coincident", 0.3, -35), ("kemar", "binaural", 0.5, -35),
    ("spaced", "spaced", 0.5, 20)])
def test_one_source_in_a_room_is_one_object(mic, kind, rt60_s, az):
    # The room's reflections come from everywhere; an XY pair hears them 0.71 coherent,
    # which read as a dry recording with a second source (before engine.cues.diffuse, the
    # three XY cases here each grew a phantom).
    y = in_room(syllables(6.0, seed=1), mic, az, distance_m=1.5, rt60_s=rt60_s)
    cues = cues_of(y, kind=kind)
    assert len(cues.sources) == 1, [float(np.median(s.azimuth_deg)) for s in cues.sources]
    assert np.sign(np.median(cues.sources[0].azimuth_deg)) == np.sign(az)  # on its side


def test_two_sounds_with_their_own_onsets_are_two_objects():
    # Each starts and stops on its own (overlapping half the time): not one sound's echo.
    a = syllables(6.0, seed=2, bursts=[(0.3, 1.5), (2.3, 3.5), (4.3, 5.5)])
    b = syllables(6.0, seed=3, bursts=[(0.9, 2.1), (2.9, 4.1), (4.9, 5.9)])
    y = (render_binaural(a, SR, azimuth_deg=-45, distance_m=2.0)
         + render_binaural(b, SR, azimuth_deg=40, distance_m=2.0))
    cues = cues_of(y)
    az = sorted(float(np.median(s.azimuth_deg)) for s in cues.sources)
    assert len(az) == 2, az
    assert az[0] == pytest.approx(-45, abs=12) and az[1] == pytest.approx(40, abs=12)


def test_an_object_stays_through_a_silence_in_a_room():
    # A voice, 1.5 s of silence (only the room's decay), the voice again, in the same place.
    frames = 24
    y = in_room(syllables(6.0, seed=4, bursts=[(0.3, 2.0), (3.5, 5.7)]), "xy90", 30)
    cues = cues_of(y, frames, kind="coincident")
    layout = run_job(HeuristicPlanner().plan(PlanRequest(cues=cues), CancelToken()))
    assert len(layout.objects) == 1
    boxes = layout.objects[0].boxes
    frame_s = cues.duration_s / frames
    first, last = int(0.3 / frame_s) + 1, int(5.7 / frame_s) - 1
    centres = [0.5 * (boxes[i][0] + boxes[i][2]) for i in range(first, last + 1)
               if boxes[i] is not None]
    assert len(centres) == last - first + 1  # a box in every frame, the silence included
    assert max(centres) - min(centres) < 0.05  # where it was
    assert np.mean(centres) > 0.5  # on the right


def _passby_histograms(second_az):
    """Per-step direction histograms of a source held at -70 degrees for 10 blocks (2.3 s),
    then sweeping to +80, with bins at ``second_az`` while it is held (and none after)."""
    from engine.cues.binmodel import HIST_STEP_DEG
    from engine.cues.blocks import BLOCK_STEPS
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)
    n = 26 * BLOCK_STEPS
    held = 10 * BLOCK_STEPS
    main = np.concatenate([np.full(held, -70.0), np.linspace(-70.0, 80.0, n - held)])
    counts = np.zeros((n, len(az)))
    counts[np.arange(n), np.argmin(np.abs(az[None] - main[:, None]), axis=1)] = 1.0
    counts[:held, np.argmin(np.abs(az - second_az))] += 0.5
    return az, main, counts


@pytest.mark.parametrize("second_az,is_source", [(-89.0, False), (-30.0, True)])
def test_a_track_must_stand_apart_while_it_is_heard(second_az, is_source):
    # -89 is 19 degrees from the source while both are heard: the source's own edge (a
    # pass-by read more lateral in its direct bins than the track), though 19 degrees is
    # far from the source's median direction over the whole clip; -30 is 40 apart: a source.
    from engine.cues.separation import SourceSpec, _residual_candidates
    az, main, counts = _passby_histograms(second_az)
    active = np.ones(len(main), bool)
    cands = _residual_candidates(counts, counts, np.zeros((len(main), 2, len(az)), np.float32),
                                 az, [SourceSpec(main, active, 1.0, origin="mix")], active,
                                 timed=False)
    near = [c for c in cands if abs(np.median(c.block_az) - second_az) <= 4]
    assert bool(near) == is_source


def _sphere(n=200000, seed=0):
    u = np.random.default_rng(seed).standard_normal((n, 3))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def test_diffuse_coherence_is_what_sound_from_everywhere_gives():
    # Independent sounds from directions spread evenly over the sphere: the channels'
    # cross-spectrum is the sum over directions of (left response) x (right response)*.
    from engine.cues.diffuse import diffuse_coherence
    from engine.cues.stereo import (COINCIDENT_ANGLE_DEG, COINCIDENT_PATTERN, SPEED_OF_SOUND,
                                    calibration_for)
    u = _sphere()
    half = np.radians(COINCIDENT_ANGLE_DEG / 2)
    p = COINCIDENT_PATTERN  # u = (ahead, right, up)
    g_l = p + (1 - p) * (u[:, 0] * np.cos(half) - u[:, 1] * np.sin(half))
    g_r = p + (1 - p) * (u[:, 0] * np.cos(half) + u[:, 1] * np.sin(half))
    xy = np.sum(g_l * g_r) / np.sqrt(np.sum(g_l ** 2) * np.sum(g_r ** 2))
    freqs = np.array([200.0, 1000.0, 5000.0])
    assert diffuse_coherence(calibration_for("coincident"), freqs) == pytest.approx(
        np.full(3, xy), abs=0.01)
    d = 0.3  # two omnis: only the path difference d * (right component) matters
    cal = calibration_for("spaced", spacing_m=d)
    for f, gamma in zip(freqs, diffuse_coherence(cal, freqs)):
        assert gamma == pytest.approx(
            np.mean(np.cos(2 * np.pi * f * d * u[:, 1] / SPEED_OF_SOUND)), abs=0.01)
    assert not np.any(diffuse_coherence(calibration_for("panned"), freqs))  # reverb sends


def test_direct_share_undoes_the_diffuse_coherence():
    from engine.cues.diffuse import direct_share
    for gamma in (0.0, 0.3, 0.71):
        for eta in (0.2, 0.6, 1.0):
            measured = (eta + (1 - eta) * gamma) ** 2  # MSC of direct share eta
            assert direct_share(measured, gamma) == pytest.approx(eta ** 2, abs=1e-9)
    assert direct_share(0.5, 0.71) == 0.0  # an XY pair's room alone: no direct sound


def test_two_sounds_taking_turns_in_a_room_are_two_objects():
    # 2 m from a dummy head in a room whose critical distance is under 1 m: the steady sound
    # is mostly room, and the mix's track sits between the two; where each sound starts
    # (its direct sound comes first) still says there are two (before the onset path: one).
    a = syllables(6.0, seed=2, bursts=[(0.3, 1.5), (2.3, 3.5), (4.3, 5.5)])
    b = syllables(6.0, seed=3, bursts=[(0.9, 2.1), (2.9, 4.1), (4.9, 5.9)])
    y = in_room(a, "kemar", -60, rt60_s=0.4) + in_room(b, "kemar", 30, rt60_s=0.4)
    cues = cues_of(y, kind="binaural")
    az = sorted(float(np.median(s.azimuth_deg)) for s in cues.sources)
    assert len(az) == 2, az
    assert az[0] < -30 and az[1] > 10


def test_a_source_passing_by_in_a_room_is_one_object():
    # Its onsets move with it, and the mix's track follows them: no second source (and
    # the room is no second source either: before engine.cues.diffuse the XY pair grew one).
    from engine.evaluation.mics import make_microphone
    from engine.evaluation.rooms import BLOCK_HOP_S, RoomSpec, render_moving
    room = RoomSpec("office", (6.5, 4.8, 3.0), 0.4, (2.6, 2.3, 1.5), 0.0)
    x = syllables(6.0, seed=5)
    n_blocks = int(6.0 / BLOCK_HOP_S) + 1
    across = np.linspace(-2.0, 2.0, n_blocks)  # 2 m to the left to 2 m to the right, 1.2 m ahead
    pos = np.stack([np.full(n_blocks, 1.2), across, np.zeros(n_blocks)], axis=1)
    for mic, kind in (("kemar", "binaural"), ("xy90", "coincident")):
        y = render_moving(x, pos, room, make_microphone(mic, sample_rate=SR), sample_rate=SR)
        cues = cues_of(y, kind=kind)
        assert len(cues.sources) == 1, (mic, [float(np.median(s.azimuth_deg))
                                              for s in cues.sources])
        assert cues.sources[0].motion == "left_to_right", mic


def _read_twice_case(case):
    """A main track, the per-step histograms and a further static path at -70 degrees."""
    from engine.cues.binmodel import HIST_STEP_DEG
    from engine.cues.blocks import BLOCK_STEPS
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)
    n, held = 26 * BLOCK_STEPS, 5 * BLOCK_STEPS
    if case == "turns":  # a second source at -70 sounds twice; the track follows it there
        main = np.full(n, 40.0)
        main[3 * BLOCK_STEPS:7 * BLOCK_STEPS] = main[15 * BLOCK_STEPS:19 * BLOCK_STEPS] = -70.0
    else:  # one source held at -70, then passing to +80
        main = np.concatenate([np.full(held, -70.0), np.linspace(-70.0, 80.0, n - held)])
    counts = np.zeros((n, len(az)))
    counts[np.arange(n), np.argmin(np.abs(az[None] - main[:, None]), axis=1)] = 1.0
    if case == "second":  # ... and a second, quieter source at -70 all along
        counts[:, np.argmin(np.abs(az + 70.0))] += 0.5
    return az, main, counts


@pytest.mark.parametrize("case,read_twice", [("passby", True), ("second", False),
                                             ("turns", False)])
def test_a_source_is_not_read_twice_where_it_passed(case, read_twice):
    # A pass-by held at -70 before it sweeps: a static path at -70 holds evidence only while
    # the track is there, in one stretch (the source's own start), so it is no second source;
    # a second source at -70 is heard there while the track is elsewhere too, and one that
    # takes turns with the first draws the track back to it.
    from engine.cues.separation import SourceSpec, _read_twice
    az, main, counts = _read_twice_case(case)
    active = np.ones(len(main), bool)
    mix = SourceSpec(main, active, 1.0, origin="mix")
    further = SourceSpec(np.full(len(main), -70.0), active, 0.3)
    assert _read_twice(further, mix, mix.step_az, counts, az, active) == read_twice


def _steady_pair(below_db):
    """Syllables at +30 degrees and a second sound at -50, ``below_db`` quieter, dry (KEMAR,
    2 m, 40 dB SNR), heard up to the counting: ``(steps, active, model, cal)``."""
    from engine.cues.analysis import analyse_mix_job
    from engine.cues.frames import activity_mask
    from engine.cues.spatial import AnalysisGrid
    from engine.cues.stereo import calibration_for, model_for, resolve_stereo
    a, b = syllables(6.0, seed=1), syllables(6.0, seed=3)
    y = (render_binaural(a, SR, azimuth_deg=30, distance_m=2.0)
         + 10 ** (-below_db / 20) * render_binaural(b, SR, azimuth_deg=-50, distance_m=2.0))
    y = y + 10 ** (-40 / 20) * np.std(y) * pink_noise(
        y.size, np.random.default_rng(9)).reshape(y.shape)
    y = np.asarray(y, np.float32)
    grid = AnalysisGrid.for_rate(SR)
    d = resolve_stereo("binaural", y, SR)
    cal, model = calibration_for(d.kind, **d.tables), model_for(d.kind, grid, **d.tables)
    steps = run_job(analyse_mix_job(y, SR, cal, model))
    return steps, activity_mask(steps.power), model, cal


def test_a_quiet_second_source_the_fits_place_exactly_is_kept():
    # Dry, a steady sound 9 dB under another shares every bin and wins none: no bin reads
    # it, but two point sources explain the blocks exactly, so the fits' second direction
    # is no misfit (without the exactness test a rule asking bins to read it drops it).
    from engine.cues import separation
    steps, active, model, cal = _steady_pair(9.0)
    specs = separation.find_sources(steps, active, max_sources=3, model=model, cal=cal)
    assert [s.origin for s in specs] == ["mix", "pair"]
    assert np.median(specs[1].step_az) == pytest.approx(-50, abs=6)
    from engine.cues.binmodel import HIST_STEP_DEG
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)
    assert not separation._bins_read(specs[1], specs[0], np.asarray(steps.step_hist, float),
                                     az, active)


def _fit_only_case(exact, weight_at, level_only):
    """A main source at +30, the pair fits' further source at -50 (40 blocks), and bins of
    total weight ``weight_at`` reading -50 (or the main source, for ``"main"``)."""
    from engine.cues.binmodel import HIST_STEP_DEG
    from engine.cues.blocks import BLOCK_STEPS
    from engine.cues.pairfit import PairFit
    from engine.cues.separation import SourceSpec, _BlockPairs, _fit_only
    k = 40
    n = k * BLOCK_STEPS
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)
    counts = np.zeros((n, len(az)))
    counts[:, np.argmin(np.abs(az - 30.0))] = 5.0
    at = -50.0 if weight_at != "main" else 35.0
    w = 2.0 if weight_at in ("some", "main") else 0.0
    counts[:4, np.argmin(np.abs(az - at))] += w / 4
    r1 = np.full(k, 0.05)
    r2 = np.full(k, 0.001 if exact else 0.02)
    blocks = np.ones(k, bool)
    fit = PairFit(np.full(k, 30.0), np.full(k, -50.0), r1, r2)
    pf = _BlockPairs(blocks, np.full(k, 30.0), np.full(k, -50.0), blocks, r2 / r1, 0.6,
                     0.22, fit)
    active = np.ones(n, bool)
    main = SourceSpec(np.full(n, 30.0), active, 1.0, origin="mix")
    further = SourceSpec(np.full(n, -50.0), active, 0.5, origin="pair")
    return _fit_only(further, pf, main, counts, az, active, level_only=level_only)


@pytest.mark.parametrize("exact,weight_at,level_only,fit_only", [
    (False, "none", True, True),     # level-only, inexact fits, no bin reads it: misfit
    (False, "some", True, False),    # ... two bins' weight read it: a source
    (False, "main", True, True),     # ... bins read only the main source: still misfit
    (True, "none", True, False),     # exact fits: a source however quiet
    (False, "none", False, False)])  # a head's or spaced pair's fits: not judged here
def test_a_level_only_pair_fit_direction_must_be_read_by_bins(exact, weight_at, level_only,
                                                               fit_only):
    # A level-only model is the same at every frequency, so a second direction soaks up a
    # room's decorrelation as well as a source would; bins must read it.
    assert _fit_only_case(exact, weight_at, level_only) == fit_only
