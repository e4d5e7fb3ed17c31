"""benchmarks/auto_kinds.py: auto's decision rerun on a bench run's stored clips, compared
with the kind the run recorded and the true one."""

import json

import numpy as np
import pytest

from engine.audio import write_audio
from tests.benchscripts import benchmark_module
from tests.engine.test_cues_stereo import SR, pan_pot, source, spaced_pair


@pytest.fixture(scope="module")
def auto_kinds():
    with benchmark_module("auto_kinds") as mod:
        yield mod


def _run(tmp_path):
    """A run folder as hearing_world.py writes it: a panned clip the run read as coincident
    (as if older code) and a spaced clip it read right."""
    clips = {"tune_dry_pan-cp_static_00_x": ("pan-cp", "panned", "coincident",
                                             pan_pot(source(), -40.0)),
             "tune_dry_spaced_static_00_x": ("spaced", "spaced", "spaced",
                                             spaced_pair(source(), 35.0, 0.3))}
    rows = []
    for scene, (mic, true, heard, y) in clips.items():
        write_audio(tmp_path / "tune" / "clips" / f"{scene}.flac",
                    np.asarray(y, np.float32), SR, subtype="PCM_24")
        rows.append({"scene": scene, "system": "spa2v", "mic": mic, "condition": "dry",
                     "kind": "static", "stereo": true, "heard_as": heard})
    (tmp_path / "tune" / "world_tune.json").write_text(json.dumps({"clips": rows}))
    return tmp_path


def test_the_decision_is_rerun_on_the_stored_clips(auto_kinds, tmp_path, capsys):
    run = _run(tmp_path)
    rows = auto_kinds.decide([run], "tune")
    assert [(r["true"], r["recorded"], r["now"]) for r in rows] == [
        ("panned", "coincident", "panned"), ("spaced", "spaced", "spaced")]
    assert auto_kinds.main([str(run), "--json", str(tmp_path / "rows.json")]) == 0
    out = capsys.readouterr().out
    assert "kind right 1/2 recorded, 2/2 now" in out
    assert "won:" in out and "coincident -> panned" in out
    assert len(json.loads((tmp_path / "rows.json").read_text())) == 2
