"""The in-context example bank: every example is a valid, guard-clean plan of its own cues,
the bank covers the kinds of scene, and retrieval finds the right kind."""

import numpy as np
import pytest

from engine.layout import PlannerInfo
from engine.planning.examples import load_example_bank, retrieve_examples, similarity
from engine.planning.guard import apply_spatial_guard
from engine.planning.llm_prompt import CueRow, CueSummary, SourceSummary, summarize_cues
from engine.planning.llm_schema import MAX_OBJECTS, parse_reply
from tests.engine.planning.cuekit import cues, dog_and_car, track

BANK = load_example_bank()


def as_cues(summary: CueSummary):
    """Per-frame cues whose keyframe rows are the example's (held between keyframes)."""
    n = summary.num_frames
    tracks = []
    for s in summary.sources:
        az = np.full(n, np.nan)
        conf = np.zeros(n)
        for k, row in zip(summary.keyframes, s.rows):
            if row.azimuth_deg is not None:
                az[k], conf[k] = row.azimuth_deg, row.confidence
        t = track(s.id, 0.0, n=n, label=s.tags[0][0], motion=s.motion,
                  motion_confidence=s.motion_confidence, active=np.isfinite(az))
        t.azimuth_deg, t.confidence = az, conf
        tracks.append(t)
    return cues(*tracks, duration_s=summary.duration_s, mono=summary.mono)


def test_bank_has_ten_to_twelve_examples_of_every_kind():
    assert 10 <= len(BANK) <= 12
    motions = {s.motion for e in BANK for s in e.summary.sources}
    assert motions == {"static", "left_to_right", "right_to_left", "approaching", "receding"}
    counts = [len(e.reply["objects"]) for e in BANK]
    assert 0 in counts                                          # ambient only
    assert max(counts) >= 5                                     # several instances
    assert any(len(e.summary.sources) == 2 for e in BANK)       # two sources
    assert any(e.summary.mono for e in BANK) and any(e.hint for e in BANK)


@pytest.mark.parametrize("example", BANK, ids=[e.id for e in BANK])
def test_each_example_is_a_valid_guard_clean_plan(example):
    plan = parse_reply(example.reply_text(), example.summary, planner=PlannerInfo("example"))
    assert plan.notes == [] and len(plan.layout.objects) <= MAX_OBJECTS
    _, notes = apply_spatial_guard(plan.layout, as_cues(example.summary))
    assert notes == []
    # The example's table is rendered by the code that renders live cues.
    assert CueSummary.from_dict(example.summary.to_dict()) == example.summary


def one_source(motion, az, conf=0.9, tags=(("thing", 0.8),), db=(-20, -20)):
    rows = [CueRow(a, conf, d, 0.5) for a, d in zip(az, np.linspace(*db, len(az)))]
    return CueSummary(8.0, 16, [0, 4, 8, 11, 15],
                      [SourceSummary(1, list(tags), motion, 0.9, rows)])


@pytest.mark.parametrize("query, expected", [
    (one_source("left_to_right", [-70, -35, 0, 35, 70], tags=[("bus", 0.8)]),
     {"ex03_motorcycle_left_to_right", "ex02_car_right_to_left"}),
    (one_source("approaching", [10, 10, 12, 12, 14], db=(-40, -10)), {"ex04_train_approaching"}),
    (one_source("receding", [-30, -32, -34, -36, -38], db=(-10, -35)), {"ex05_siren_receding"}),
    (one_source("static", [0, 2, -2, 0, 1], conf=0.3, tags=[("applause", 0.9)]),
     {"ex08_crowd_clapping"}),
])
def test_retrieval_finds_the_same_kind_of_scene(query, expected):
    best = retrieve_examples(query, BANK, k=2)
    assert expected & {e.id for e in best[:len(expected)]}
    assert best[0].id in expected


def test_retrieval_for_the_dog_and_car_scene():
    ids = [e.id for e in retrieve_examples(summarize_cues(dog_and_car()), BANK, k=3)]
    assert ids == ["ex07_dog_and_passing_car", "ex01_dog_static_left", "ex02_car_right_to_left"]


def test_similarity_is_symmetric_in_the_cues_and_bounded():
    a, b = BANK[0].summary, BANK[6].summary
    assert similarity(a, b) == pytest.approx(similarity(b, a))
    assert 0.0 <= similarity(a, b) <= 1.0 and similarity(a, a) == pytest.approx(1.0)
