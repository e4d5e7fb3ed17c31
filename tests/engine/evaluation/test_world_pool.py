"""benchmarks/hearing_world_pool.py: runs of several seeds pool clip by clip, and a run from
older code borrows each room's RT60 and SNR from the same scene of another run."""

import json

import pytest

from tests.benchscripts import benchmark_module


@pytest.fixture(scope="module")
def pool():
    with benchmark_module("hearing_world_pool") as mod:
        yield mod


def _clip(scene, x, *, n_pred=1, rt60=None, snr=None, heard="binaural", with_room=True):
    c = {"scene": scene, "part": "held-out", "kind": "static", "condition": "room",
         "mic": "sphere", "stereo": "binaural", "system": "spa2v", "n_true": 1,
         "n_pred": n_pred, "x_error": x, "motion_ok": 1, "sounding_frames": 16,
         "missing_frames": 0, "uneven": 0, "uneven_moved": 0, "heard_as": heard}
    if with_room:
        c.update(rt60_s=rt60, snr_db=snr)
    return c


def _run(tmp_path, name, seed, clips):
    d = tmp_path / name / "held-out"
    d.mkdir(parents=True)
    (d / "world_held-out.json").write_text(json.dumps(
        {"settings": {"seed": seed}, "table": [], "clips": clips}))
    return str(tmp_path / name)


def _row(out, code, group="room one"):
    lines = [ln for ln in out.splitlines()
             if ln.startswith(f"| held-out | {group} | {code} | spa2v |")]
    return [ln.split(" | ") for ln in lines]


def test_seeds_pool_clip_by_clip(pool, tmp_path, capsys):
    a = _run(tmp_path, "s0", 0, [_clip("r1", 0.10, rt60=0.5, snr=20),
                                  _clip("r2", 0.30, rt60=0.9, snr=20, n_pred=2)])
    b = _run(tmp_path, "s1", 1, [_clip("r1", 0.02, rt60=0.4, snr=12, heard="spaced")])
    pool.main(["--runs", "now", a, b])
    out = capsys.readouterr().out
    everything, issue = _row(out, "now")
    # All rooms: three clips, mean x (0.10 + 0.30 + 0.02) / 3, count right 2 of 3.
    assert everything[4] == "3" and everything[5] == "0.140" and everything[7] == "0.67"
    # The issue's rooms keep only RT60 <= 0.7 s and SNR >= 15 dB: seed 0's r1.
    assert issue[4] == "1" and issue[5] == "0.100"
    assert "now: --stereo auto right on 2/3 clips" in out


def test_older_run_borrows_the_scene_room(pool, tmp_path, capsys):
    new = _run(tmp_path, "new", 0, [_clip("r1", 0.10, rt60=0.5, snr=20),
                                     _clip("r2", 0.20, rt60=0.9, snr=20)])
    old = _run(tmp_path, "old", 0, [_clip("r1", 0.40, with_room=False),
                                     _clip("r2", 0.60, with_room=False)])
    pool.main(["--runs", "new", new, "--runs", "old", old])
    out = capsys.readouterr().out
    issue = _row(out, "old")[1]
    assert issue[4] == "1" and issue[5] == "0.400"  # r1 only: its room came from "new"


def test_a_folder_without_reports_is_an_error(pool, tmp_path):
    with pytest.raises(SystemExit, match="no world bench report"):
        pool.main(["--runs", "now", str(tmp_path)])


def test_kinds_pools_only_those_scene_kinds(pool, tmp_path, capsys):
    radial = {**_clip("a1", 0.40, rt60=0.5, snr=20), "kind": "approach"}
    a = _run(tmp_path, "s0", 0, [_clip("r1", 0.10, rt60=0.5, snr=20), radial])
    pool.main(["--runs", "now", a, "--kinds", "approach,recede"])
    everything = _row(capsys.readouterr().out, "now")[0]
    assert everything[4] == "1" and everything[5] == "0.400"  # the approach clip alone
