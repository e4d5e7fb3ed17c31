"""benchmarks/pair_losses.py: which stage's test dropped a room pair's second source."""

from types import SimpleNamespace

import numpy as np
import pytest

from tests.benchscripts import benchmark_module


@pytest.fixture(scope="module")
def pair_losses():
    with benchmark_module("pair_losses") as mod:
        yield mod


def test_at_missing_is_nearer_the_missing_source(pair_losses):
    n = 40
    found, miss = np.full(n, -40.0), np.full(n, 50.0)
    # Read nearer the middle than it is (a level-only kind in a room) still counts ...
    assert pair_losses.at_missing(np.full(n, 10.0), None, miss, found)
    # ... but not a track nearer the found source, nor one there only off its heard steps.
    assert not pair_losses.at_missing(np.full(n, -10.0), None, miss, found)
    heard = np.arange(n) < 30
    track = np.where(heard, -35.0, 50.0)
    assert not pair_losses.at_missing(track, heard, miss, found)


def _rec(final=1, found=(("mix", -40.0, False),), read_twice=(), stages=()):
    return {"final": final, "found": list(found), "read_twice": list(read_twice),
            "stages": list(stages)}


def test_lost_at_names_the_tests_at_the_missing_source(pair_losses):
    stage = {"stage": "hist", "az": 50.0, "at": True, "ok": False,
             "why": "PRESENCE 0.20<0.35 PROMINENCE 0.30<0.50", "extra": ""}
    elsewhere = dict(stage, at=False, why="SHARE 0.30<0.45")
    assert pair_losses.lost_at(_rec(stages=[stage, elsewhere])) == "hist:PRESENCE"
    assert pair_losses.lost_at(_rec(stages=[elsewhere])) == "no stage proposed it"
    assert pair_losses.lost_at(_rec(final=2, stages=[stage])) == "counted"
    assert pair_losses.lost_at(_rec(read_twice=[("onset", 50.0)])) == "read_twice"
    two = _rec(found=[("mix", -40.0, False), ("pair", 48.0, True)])
    assert pair_losses.lost_at(two) == "found, dropped by _distinct"


def test_onset_paths_why_reads_the_onset_tests_in_turn(pair_losses):
    step_s = 0.05
    active = np.ones(200, bool)
    steps = SimpleNamespace(step_s=step_s)
    t = np.arange(12) * 0.8 + 0.2
    # Taking turns 40 degrees apart: only the turns test is left to read.
    az = np.where(np.arange(12) % 2 == 0, -20.0, 20.0)
    why = pair_losses.onset_paths_why(steps, active, az, t, need=4)
    assert why.startswith("TURNS") and "paths" in why
    # 22 degrees apart: two paths, too near each other.
    why = pair_losses.onset_paths_why(steps, active, az * 0.55, t, need=4)
    assert why.startswith("ONSET_SEP")
    # Everything on one path: no second one.
    why = pair_losses.onset_paths_why(steps, active, np.full(12, 30.0), t, need=4)
    assert why.startswith("PATH2_LEFT")
