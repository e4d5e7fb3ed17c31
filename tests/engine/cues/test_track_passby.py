"""A pass-by is loudest at its closest point and 6-10 dB quieter at its ends; the ends are
still the source, so the mix's track must follow it there (issue 14: a floor at the
chunk's 10th percentile took the ends for silence, the track held still there, and the
histograms read the sweep's ends as a second source)."""

import numpy as np

from engine.binaural import render_binaural
from engine.cues.analysis import analyse_mix_job
from engine.cues.calibration import pink_noise
from engine.cues.spatial import AnalysisGrid
from engine.cues.stereo import calibration_for, model_for
from engine.jobs import run_job

SR = 16000
SECONDS = 4.0


def test_the_mix_track_follows_a_pass_by_to_its_quiet_ends():
    x = 0.1 * pink_noise(int(SECONDS * SR), np.random.default_rng(3))
    # -70 -> +70 degrees; 2 m at the closest point, 6 m at the ends (9.5 dB quieter)
    y = render_binaural(x, SR, azimuth_deg=[-70.0, 0.0, 70.0], distance_m=[6.0, 2.0, 6.0],
                        times_s=[0.0, SECONDS / 2, SECONDS], air_absorption=False)
    y = y[:, :x.size].astype(np.float32)
    cal = calibration_for("binaural")
    steps = run_job(analyse_mix_job(y, SR, cal, model_for("binaural", AnalysisGrid.for_rate(SR))))
    t = steps.times_s
    truth = np.interp(t, [0.0, SECONDS / 2, SECONDS], [-70.0, 0.0, 70.0])
    ends = (t > 0.2) & (t < 0.6) | (t > SECONDS - 0.6) & (t < SECONDS - 0.2)
    err = np.abs(steps.azimuth_deg[ends] - truth[ends])
    assert np.median(err) < 8.0, steps.azimuth_deg[ends]
