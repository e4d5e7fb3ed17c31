"""The hearing diagnostics' shared helpers (engine.evaluation.diagnose)."""

import json

import numpy as np

from engine.audio import write_audio
from engine.evaluation.diagnose import hear_mix, world_reports


def test_world_reports_reads_each_existing_part_with_its_seed(tmp_path):
    run = tmp_path / "run_3"
    (run / "tune").mkdir(parents=True)
    (run / "tune" / "world_tune.json").write_text(
        json.dumps({"settings": {"seed": 3}, "clips": [{"scene": "a"}]}))
    got = list(world_reports([run], ["tune", "held-out"]))  # no held-out report: skipped
    assert [(r, part, seed, doc["clips"][0]["scene"]) for r, part, seed, doc in got] == [
        (run, "tune", 3, "a")]


def test_hear_mix_reads_a_pan_pot_source_on_its_side(tmp_path):
    sr = 44100
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3 * sr).astype(np.float32) * 0.1
    # Panned well to the left (constant power, pan -0.7): level only, left louder.
    theta = (-0.7 + 1) * np.pi / 4
    stereo = np.stack([np.cos(theta) * x, np.sin(theta) * x])
    path = tmp_path / "left.wav"
    write_audio(path, stereo, sr)
    h = hear_mix(path, stereo="panned")
    assert h.decision.kind == "panned" and h.sample_rate == sr
    assert h.active.shape == h.steps.azimuth_deg.shape and h.active.any()
    assert np.median(h.steps.azimuth_deg[h.active]) < -30  # SPEC: -90 is fully left
    assert h.mask_model() is not None
