"""A pass-by is loudest at its closest point and 6-10 dB quieter at its ends; the ends are
still the source, so one source's track must follow it there (issue 14: a floor at the
chunk's 10th percentile took the ends for silence and the track held still there). The
counting stages keep the track with that floor (heard with every step, a steady sound
beside an intermittent one hides the second: docs/hearing.md)."""

import numpy as np

from engine.audio.io import Audio
from engine.binaural import render_binaural
from engine.cues.analysis import analyse_mix_job
from engine.cues.calibration import pink_noise
from engine.cues.extract import extract_cues
from engine.cues.spatial import AnalysisGrid
from engine.cues.stereo import calibration_for, model_for
from engine.jobs import run_job

SR = 16000
SECONDS = 4.0
FRAMES = 16


def pass_by():
    x = 0.1 * pink_noise(int(SECONDS * SR), np.random.default_rng(3))
    # -70 -> +70 degrees; 2 m at the closest point, 6 m at the ends (9.5 dB quieter)
    y = render_binaural(x, SR, azimuth_deg=[-70.0, 0.0, 70.0], distance_m=[6.0, 2.0, 6.0],
                        times_s=[0.0, SECONDS / 2, SECONDS], air_absorption=False)
    return y[:, :x.size].astype(np.float32)


def test_one_sources_track_follows_a_pass_by_to_its_quiet_ends():
    # One source asked for (the counting stages read this sweep's ends as a second one:
    # the phantom the track that holds still leaves behind).
    cues = extract_cues(Audio(pass_by(), SR), num_frames=FRAMES, stereo="binaural",
                        max_sources=1)
    assert len(cues.sources) == 1
    t = (np.arange(FRAMES) + 0.5) * SECONDS / FRAMES
    truth = np.interp(t, [0.0, SECONDS / 2, SECONDS], [-70.0, 0.0, 70.0])
    ends = (t < 0.8) | (t > SECONDS - 0.8)
    err = np.abs(np.asarray(cues.sources[0].azimuth_deg)[ends] - truth[ends])
    assert np.median(err) < 8.0, cues.sources[0].azimuth_deg


def test_the_counting_track_keeps_the_rough_floor_and_the_sounding_track_differs():
    cal = calibration_for("binaural")
    steps = run_job(analyse_mix_job(pass_by(), SR, cal,
                                    model_for("binaural", AnalysisGrid.for_rate(SR))))
    t = steps.times_s
    ends = (t > 0.2) & (t < 0.6)
    # The rough floor holds the counting track still at the quiet start; the sounding one
    # is there.
    assert np.median(np.abs(steps.sounding_azimuth_deg[ends] + 70 - 70 * t[ends] / 2)) < 8.0
    assert np.median(np.abs(steps.azimuth_deg[ends] - steps.sounding_azimuth_deg[ends])) > 15.0


def _steps(y):
    cal = calibration_for("binaural")
    return run_job(analyse_mix_job(y, SR, cal, model_for("binaural", AnalysisGrid.for_rate(SR))))


def test_a_static_path_where_a_pass_by_started_is_the_source_read_twice():
    # The counting track holds still short of the sweep's quiet start, so a static path at
    # -65 (where the pass-by began) is never at the counting track's place and would stand
    # as a second source; the sounding track, the same source on the loud steps, passes
    # there once, and the path's evidence comes while it is there.
    from engine.cues.binmodel import HIST_STEP_DEG
    from engine.cues.frames import activity_mask
    from engine.cues.separation import SourceSpec, _one_source_path, _read_twice
    steps = _steps(pass_by())
    active = activity_mask(steps.power)
    main = SourceSpec(np.asarray(steps.azimuth_deg, float), active, 1.0, origin="mix")
    path = _one_source_path(steps, main)
    assert path is not main.step_az
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)
    counts = np.asarray(steps.step_hist, float)
    start = SourceSpec(np.full(len(active), -65.0), active, 0.3)
    assert _read_twice(start, main, path, counts, az, active)
    assert not _read_twice(start, main, main.step_az, counts, az, active)


def test_a_steady_sound_beside_an_intermittent_one_keeps_the_counting_track():
    # Bursts at -40 (0.3 s every 1.5 s, 7 dB over) beside a steady noise at +40: the rough
    # floor hears only the bursts, every step holds sound (the two levels are closer than
    # MIN_SPLIT_DB), and the track that hears every step sits on the steady sound, bursts
    # included. On the loud steps it is not the counting track's source, so it is not the
    # one source's path, and the counting track stays the read-twice test's path.
    from engine.cues.frames import activity_mask
    from engine.cues.separation import SourceSpec, _one_source_path
    n = int(SECONDS * SR)
    rng = np.random.default_rng(5)
    t = np.arange(n) / SR
    bursts = 0.2 * pink_noise(n, rng) * ((t % 1.5) < 0.3)
    steady = 0.1 * pink_noise(n, rng)
    y = (render_binaural(bursts, SR, azimuth_deg=-40.0)[:, :n]
         + render_binaural(steady, SR, azimuth_deg=40.0)[:, :n]).astype(np.float32)
    steps = _steps(y)
    active = activity_mask(steps.power)
    main = SourceSpec(np.asarray(steps.azimuth_deg, float), active, 1.0, origin="mix")
    assert _one_source_path(steps, main) is main.step_az, (
        np.median(steps.azimuth_deg), np.median(steps.sounding_azimuth_deg))
