"""The benchmark end to end on a tiny synthetic catalogue (no shared data needed)."""

import json

import numpy as np
import soundfile as sf

from engine.evaluation.bench import run_bench_job
from engine.evaluation.scenes import make_scenes, truth_layout, truth_x
from engine.evaluation.sources import extend_source, load_catalogue
from engine.jobs import run_job

SR = 44100


def catalogue(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    t = np.arange(int(1.0 * SR)) / SR
    sounds = {
        "hum": ("engine", "loop", 0.2 * rng.standard_normal(t.size) * (1.1 + np.sin(2 * np.pi * 3 * t))),
        "chirp": ("bird", "events", 0.3 * np.sin(2 * np.pi * (2000 + 1500 * t) * t) * np.exp(-3 * t)),
        "hiss": ("rain", "loop", 0.1 * rng.standard_normal(t.size)),
    }
    for sid, (cls, mode, x) in sounds.items():
        sf.write(str(tmp_path / f"{sid}.flac"), x.astype(np.float32), SR)
        rows.append({"id": sid, "cls": cls, "mode": mode, "licence": "test", "duration_s": 1.0})
    (tmp_path / "sources.json").write_text(json.dumps(rows))
    return tmp_path


def test_scenes_have_consistent_truth(tmp_path):
    cat = load_catalogue(catalogue(tmp_path))
    scenes = make_scenes(cat, per_kind=2, duration_s=2.0, seed=1)
    assert len(scenes) == 2 * 6 * 2
    for scene in scenes:
        truth = truth_layout(scene, 8)
        truth.validate()
        assert len(truth.objects) == len(scene.paths)
        for obj, x, path in zip(truth.objects, truth_x(scene, 8), scene.paths):
            assert obj.motion == path.motion
            if path.motion == "left_to_right":
                assert x[-1] > x[0] + 0.3
            if path.motion == "right_to_left":
                assert x[-1] < x[0] - 0.3


def test_extended_sources_have_the_asked_length():
    rng = np.random.default_rng(0)
    x = np.random.default_rng(1).standard_normal(SR // 2)
    for mode in ("loop", "events"):
        y = extend_source(x, SR, 3.0, mode, rng)
        assert y.shape == (3 * SR,) and np.abs(y).max() > 0


def test_bench_runs_and_beats_the_centred_peer(tmp_path):
    (tmp_path / "src").mkdir()
    src = catalogue(tmp_path / "src")
    report = run_job(run_bench_job(src, tmp_path / "out", per_kind=1, duration_s=2.0))
    table = report.table()
    for system in ("spa2v", "centre", "plain"):
        assert f"| {system} |" in table
    assert (tmp_path / "out" / "bench.json").exists()
    assert len(list((tmp_path / "out" / "clips").glob("*.flac"))) == 12

    def mean_x(system, condition):
        return np.mean([r.x_error for r in report.scores
                        if r.system == system and r.condition == condition and r.n_true == 1])

    assert mean_x("spa2v", "anechoic") < 0.03
    assert mean_x("spa2v", "anechoic") < mean_x("centre", "anechoic") / 3
