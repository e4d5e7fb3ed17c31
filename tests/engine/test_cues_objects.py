"""What a video needs from hearing: an object stays in the picture from its first sound to
its last (a dog between barks stays where it was), and a static sound whose own level
varies (barks, knocks) is not called approaching or receding."""

import numpy as np
import pytest

from engine.audio.io import Audio
from engine.binaural import render_binaural
from engine.cues.calibration import pink_noise
from engine.cues.extract import extract_cues
from engine.jobs import CancelToken, run_job
from engine.layout.screen import x_from_azimuth
from engine.planning.heuristic import HeuristicPlanner
from engine.protocols import PlanRequest

SR = 16000


def barks(levels_db, *, on_s=0.25, every_s=1.0, lead_s=0.5, seed=0):
    """A bark (a 0.25 s noise burst with a short attack and decay) every second at the
    given levels, with silence between."""
    rng = np.random.default_rng(seed)
    n = int((lead_s + every_s * len(levels_db) + 0.5) * SR)
    y = np.zeros(n)
    k = int(on_s * SR)
    env = np.minimum(1.0, np.arange(k) / (0.01 * SR)) * np.exp(-np.arange(k) / (0.12 * SR))
    for i, db in enumerate(levels_db):
        start = int((lead_s + i * every_s) * SR)
        y[start:start + k] += 0.2 * 10 ** (db / 20) * env * pink_noise(k, rng)
    return y


def plan(stereo, frames):
    cues = extract_cues(Audio(np.asarray(stereo, np.float32), SR), num_frames=frames)
    layout = run_job(HeuristicPlanner().plan(PlanRequest(cues=cues), CancelToken()))
    return cues, layout


def test_a_dog_between_barks_stays_where_it_was():
    levels = [0, -2, 0, -3, 0, -1]
    y = render_binaural(barks(levels), SR, azimuth_deg=-40, distance_m=3.0)
    frames = 26  # about 0.25 s each: most frames fall in a gap between barks
    cues, layout = plan(y, frames)
    assert len(layout.objects) == 1
    obj = layout.objects[0]
    frame_s = cues.duration_s / frames
    first = int(0.5 / frame_s)
    last = int((0.5 + 5 * 1.0 + 0.25) / frame_s)
    # every frame from the first bark to the last has the box, at the dog's place
    for i in range(first, last + 1):
        assert obj.boxes[i] is not None, i
        cx = 0.5 * (obj.boxes[i][0] + obj.boxes[i][2])
        assert cx == pytest.approx(float(x_from_azimuth(-40.0)), abs=0.04), i


@pytest.mark.parametrize("levels", [
    [-12, -4, -11, -2, -9, 0, -5, 0],   # louder barks later, but no steady trend
    [0, -6, 0, -10, -3, -12, -6, -11],  # softer barks later, same
])
def test_barks_of_uneven_level_are_a_static_dog(levels):
    y = render_binaural(barks(levels, seed=3), SR, azimuth_deg=30, distance_m=3.0)
    cues, _ = plan(y, 16)
    assert [s.motion for s in cues.sources] == ["static"]


def test_a_steady_approach_is_still_approaching():
    levels = list(np.linspace(-20, 0, 8))  # 20 dB closer, bark after bark
    x = barks(levels, seed=4)
    y = render_binaural(x, SR, azimuth_deg=30, distance_m=3.0)
    cues, _ = plan(y, 16)
    assert [s.motion for s in cues.sources] == ["approaching"]


def test_every_frame_the_sound_is_in_has_its_box():
    y = np.zeros(int(6.0 * SR))
    start, stop = int(1.42 * SR), int(4.08 * SR)  # a fifth of frame 2, a sixth of frame 8
    y[start:stop] = 0.1 * pink_noise(stop - start, np.random.default_rng(2))
    cues, layout = plan(render_binaural(y, SR, azimuth_deg=20, distance_m=2.0), 12)
    boxes = layout.objects[0].boxes
    assert all(boxes[i] is not None for i in range(2, 9))
    assert boxes[0] is None and boxes[11] is None
