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
