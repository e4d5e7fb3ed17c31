"""`spa2v render --labels` writes object names into the video; by default it does not; the plan
carries each object's measured loudness for the preview's rings."""

import av
import numpy as np

from engine.layout import load_layout
from spa2v_app.cli import main
from tests.synth import panned_noise, write_wav


def _middle_frame(path):
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    return frames[len(frames) // 2].astype(int)


def test_labels_flag_draws_names_and_plans_carry_loudness(tmp_path):
    clip = write_wav(tmp_path / "car.wav", panned_noise((60, -60), duration_s=2.0))
    plan = tmp_path / "plan.json"
    assert main(["-q", "plan", str(clip), "-o", str(plan), "--frames", "8", "--hint", "a car"]) == 0
    levels = load_layout(plan).objects[0].extra["loudness_db"]
    assert len(levels) == 8 and all(isinstance(v, float) for v in levels)
    plain, named = tmp_path / "plain.mp4", tmp_path / "named.mp4"
    for out, extra in ((plain, []), (named, ["--labels"])):
        assert main(["-q", "render", str(clip), "--plan", str(plan), "-o", str(out),
                     "--video-fps", "8", *extra]) == 0
    diff = np.abs(_middle_frame(plain) - _middle_frame(named)).sum(axis=2)
    assert (diff > 150).sum() > 30  # white text with a dark outline under the car
