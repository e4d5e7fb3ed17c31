"""The rule-based planner on cues with a known answer (no audio): the azimuth-to-x law over the
whole frontal range, how unconfident and unheard frames are filled, the size and height laws,
names from the hint, the caption, and the limits.

The law is SPEC.md's, written out here (``x = 0.5 + az / 180``), not taken from the code under
test; boxes are narrow ("bird", far away) so the frame edge clamps them only near +-90 degrees,
and there the box must touch the edge.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import Cancelled
from engine.jobs import CancelToken, Progress, run_job
from engine.layout import MAX_OBJECTS
from engine.planning.heuristic import HeuristicPlanner, plan_layout_from_cues
from engine.planning.priors import PRIORS
from engine.protocols import PlanRequest
from tests.engine.planning.cuekit import cues, track

N = 16


def x_law(az):
    """SPEC.md section 2: x_center = 0.5 + azimuth / 180 over the frontal half-plane
    [-90, 90] degrees (directions behind the listener: tests/engine/test_layout_x_law.py)."""
    az = np.asarray(az, float)
    assert np.all(np.abs(az) <= 90)
    return 0.5 + az / 180.0


def centres(o):
    return np.array([np.nan if b is None else 0.5 * (b[0] + b[2]) for b in o.boxes])


def widths(o):
    return np.array([np.nan if b is None else b[2] - b[0] for b in o.boxes])


def heights(o):
    return np.array([np.nan if b is None else b[3] - b[1] for b in o.boxes])


def plan_one(t, **kw):
    (o,) = plan_layout_from_cues(cues(t), **kw).objects
    return o


def bird(az, **kw):
    kw.setdefault("proximity", (0.0, 0.0))
    return track(1, az, label="bird", **kw)


def expected_centre(az, width):
    """The law, with the box kept whole inside the frame."""
    return np.clip(x_law(az), width / 2, 1 - width / 2)


@pytest.mark.parametrize("az", [-90, -60, 0, 60, 90])
def test_x_follows_the_azimuth_law_over_the_whole_range(az):
    o = plan_one(bird(az))
    w = widths(o)
    assert np.all(w < 0.1)  # narrow: the law, not the frame edge, decides below |60|
    # the requirement is 0.01; the planner computes the law exactly, so hold it to that
    np.testing.assert_allclose(centres(o), expected_centre(az, w), atol=1e-9)
    if abs(az) == 90:  # fully to one side: the box touches that edge of the frame
        edge = [b[0] for b in o.boxes] if az < 0 else [1 - b[2] for b in o.boxes]
        np.testing.assert_allclose(edge, 0.0, atol=1e-9)


def test_a_sweep_over_the_whole_range_follows_the_law_frame_by_frame():
    o = plan_one(bird((-90, 90)))
    az = np.linspace(-90, 90, N)
    np.testing.assert_allclose(centres(o), expected_centre(az, widths(o)), atol=1e-9)
    assert np.all(np.diff(centres(o)) > 0)  # further right is always further right


def test_unconfident_frames_are_filled_between_confident_ones():
    t = bird(0)
    t.azimuth_deg[:] = np.linspace(-60, 60, N)
    t.confidence[1:-1] = 0.01  # only the first and last frame are trusted
    t.azimuth_deg[5] = 80.0    # an untrusted outlier is not followed
    t.azimuth_deg[9] = np.nan  # nor an unknown one
    x = centres(plan_one(t))
    np.testing.assert_allclose(x, np.linspace(x_law(-60), x_law(60), N), atol=0.01)


def test_the_confidence_threshold_is_inclusive_at_five_hundredths():
    t = bird(0)
    t.confidence[:] = 0.0
    t.confidence[0], t.azimuth_deg[0] = 0.05, -60.0   # just trusted
    t.confidence[-1], t.azimuth_deg[-1] = 0.049, 60.0  # just not
    x = centres(plan_one(t))
    np.testing.assert_allclose(x, x_law(-60), atol=0.01)  # held from the one trusted frame


def test_nothing_trusted_is_the_centre():
    t = bird(-70, conf=0.01)
    np.testing.assert_allclose(centres(plan_one(t)), 0.5, atol=1e-9)
    t = bird(-70)
    t.azimuth_deg[:] = np.nan
    np.testing.assert_allclose(centres(plan_one(t)), 0.5, atol=1e-9)


def test_mono_cues_are_centred_whatever_the_azimuth_says():
    layout = plan_layout_from_cues(cues(bird(-70), mono=True))
    o = layout.objects[0]
    np.testing.assert_allclose(centres(o), 0.5, atol=1e-9)
    assert o.confidence <= 0.1


def test_boxes_only_while_heard_and_held_through_gaps():
    active = np.zeros(N, bool)
    active[3:6] = True
    active[9:12] = True  # heard twice, quiet between
    t = bird(-45, active=active)
    o = plan_one(t)
    visible = [i for i, b in enumerate(o.boxes) if b is not None]
    assert visible == list(range(3, 12))  # none before the first or after the last sound
    np.testing.assert_allclose(centres(o)[3:12], x_law(-45), atol=0.01)


def test_size_goes_from_six_tenths_to_one_point_two_of_the_prior_with_nearness():
    prior = PRIORS["car"]
    o = plan_one(track(1, 0, label="car", proximity=(0.0, 1.0)))
    w, h = widths(o), heights(o)
    assert w[0] == pytest.approx(0.6 * prior.width) and h[0] == pytest.approx(0.6 * prior.height)
    assert w[-1] == pytest.approx(1.2 * prior.width)
    assert h[-1] == pytest.approx(1.2 * prior.height)
    assert np.all(np.diff(w) > 0)
    # linear in proximity: the middle frame is halfway
    prox = np.linspace(0, 1, N)
    np.testing.assert_allclose(w, prior.width * (0.6 + 0.6 * prox), atol=1e-9)


def test_boxes_never_exceed_the_frame_however_big_the_prior():
    o = plan_one(track(1, 0, label="rain", proximity=(1.0, 1.0)))  # 0.9 x 1.2 > 1
    assert np.all(widths(o) <= 0.95 + 1e-9) and np.all(heights(o) <= 0.95 + 1e-9)
    assert all(0.0 <= b[1] < b[3] <= 1.0 for b in o.boxes)


def test_unknown_proximity_is_the_middle_distance():
    t = track(1, 0, label="dog")
    t.proximity[:] = np.nan
    o = plan_one(t)
    np.testing.assert_allclose(widths(o), 0.9 * PRIORS["dog"].width, atol=1e-9)
    cy = np.array([0.5 * (b[1] + b[3]) for b in o.boxes])
    np.testing.assert_allclose(cy, PRIORS["dog"].y_center, atol=1e-9)


@pytest.mark.parametrize("label", ["dog", "person", "bird"])
def test_nearer_sits_lower_around_the_class_height(label):
    o = plan_one(track(1, 0, label=label, proximity=(0.0, 1.0)))
    cy = np.array([0.5 * (b[1] + b[3]) for b in o.boxes])
    assert np.all(np.diff(cy) > 0)  # y grows downwards: nearer is lower
    assert np.all(np.abs(cy - PRIORS[label].y_center) <= 0.05)
    assert cy[-1] - cy[0] > 0.05


def test_proximity_and_confidence_outside_zero_to_one_are_clamped():
    prior = PRIORS["car"]
    near = plan_one(track(1, 0, label="car", proximity=(1.7, 1.7), conf=1.6))
    np.testing.assert_allclose(widths(near), 1.2 * prior.width, atol=1e-9)
    assert near.confidence == 1.0
    far = plan_one(track(1, 0, label="car", proximity=(-0.5, -0.5), conf=-0.2))
    np.testing.assert_allclose(widths(far), 0.6 * prior.width, atol=1e-9)
    assert far.confidence == 0.0


def test_object_fields_come_from_the_source():
    t = track(3, 30, label="dog", motion="left_to_right", conf=0.7)
    t.confidence[-4:] = 0.3
    t.active[-4:] = False  # unheard frames do not count towards the confidence
    layout = plan_layout_from_cues(cues(t), width=640, height=360)
    o = layout.objects[0]
    assert (o.id, o.label, o.prompt, o.motion) == (3, "dog", "a dog", "left_to_right")
    assert o.confidence == pytest.approx(0.7)
    assert (layout.width, layout.height) == (640, 360)
    assert (layout.num_frames, layout.duration_s) == (N, 10.0)
    assert layout.planner.name == "heuristic" and layout.planner.model is None
    layout.validate()


def test_an_unnamed_source_is_called_so():
    o = plan_one(track(1, 0, label=None))
    assert (o.label, o.prompt) == ("sound source", "a source of sound")


def test_hint_names_sources_left_to_right():
    c = cues(track(1, 50, label="car"), track(2, -50, label="car"))
    layout = plan_layout_from_cues(c, hint="a grey dog, and a red bus")
    by_id = {o.id: o for o in layout.objects}
    assert (by_id[2].label, by_id[2].prompt) == ("dog", "a grey dog")  # the left one
    assert (by_id[1].label, by_id[1].prompt) == ("bus", "a red bus")
    assert [o.id for o in layout.objects] == [1, 2]  # listed by id


def test_a_hint_with_fewer_names_than_sources_reuses_the_last():
    c = cues(track(1, -60), track(2, 0), track(3, 60))
    layout = plan_layout_from_cues(c, hint="a cat; a horse")
    assert [o.label for o in layout.objects] == ["cat", "horse", "horse"]


def test_one_source_takes_the_whole_hint_as_its_prompt():
    o = plan_one(track(1, 0), hint="  a dog   and a cat  ")
    assert o.prompt == "a dog and a cat" and o.label == "dog"
    o = plan_one(track(1, 0), hint="x" * 300)
    assert len(o.prompt) == 200


def test_blank_hint_is_no_hint():
    o = plan_one(track(1, 0, label="cat"), hint="   ")
    assert (o.label, o.prompt) == ("cat", "a cat")


@pytest.mark.parametrize("hint, noun", [
    ("a big red car", "car"),            # a word with a prior wins
    ("the dogs barking", "dogs"),        # a plural of a known word, as written
    ("a shiny gizmo", "gizmo"),          # two words: the last
    ("shiny metal gizmo thing", "shiny"),  # longer: the first
    ("shiny metal gizmo", "shiny"),
    ("the of and", "sound source"),      # nothing but small words
    ("42 !!", "sound source"),
    ("犬", "犬"),                         # a word of any script names the source
    ("ein Hund", "hund"),
    ("большая собака", "собака"),
    ("σκύλος", "σκύλος"),
])
def test_the_label_is_the_hints_head_noun(hint, noun):
    assert plan_one(track(1, 0), hint=hint).label == noun


@pytest.mark.parametrize("word", ["a", "an", "the", "some", "of", "with", "in", "on", "at",
                                  "from", "to", "and"])
def test_small_words_are_not_the_noun(word):
    # "<word> big gizmo": without the small word two words are left, and the last is the noun
    assert plan_one(track(1, 0), hint=f"{word} big gizmo").label == "gizmo"


def test_a_hint_in_another_script_names_each_source_by_its_own_commas():
    c = cues(track(1, -60), track(2, 60))
    layout = plan_layout_from_cues(c, hint="犬、猫")
    assert [o.label for o in layout.objects] == ["犬", "猫"]   # left to right


def test_a_source_of_unknown_direction_is_named_as_if_in_the_middle():
    unknown = track(2, 0)
    unknown.azimuth_deg[:] = np.nan
    c = cues(track(1, 60), unknown, track(3, -60))
    layout = plan_layout_from_cues(c, hint="a cat, a dog, a cow")
    assert [o.label for o in layout.objects] == ["cow", "dog", "cat"]  # by id: 1, 2, 3


def test_caption_says_what_moves_where_in_the_scene_of_the_first_object():
    c = cues(track(1, -40, label="dog", motion="left_to_right"),
             track(2, 40, label="car", motion="receding"))
    layout = plan_layout_from_cues(c)
    assert layout.background == PRIORS["dog"].background
    assert layout.caption == ("A dog moving from left to right and a car moving away in "
                              f"{PRIORS['dog'].background}.")
    assert plan_layout_from_cues(cues(track(1, 0, label="car"))).caption == (
        f"A car in {PRIORS['car'].background}.")


def test_an_empty_scene():
    quiet = track(1, 0, active=np.zeros(N, bool))
    layout = plan_layout_from_cues(cues(quiet))
    assert layout.objects == []
    assert layout.background == "an empty room"
    assert layout.caption == "An empty scene, an empty room."
    assert (layout.width, layout.height) == (512, 512)  # the default frame, as Layout's
    layout.validate()


def test_at_most_max_objects_and_only_heard_sources():
    srcs = [track(i + 1, -80 + 16 * i) for i in range(MAX_OBJECTS + 2)]
    srcs[0].active[:] = False
    layout = plan_layout_from_cues(cues(*srcs))
    ids = [o.id for o in layout.objects]
    assert len(ids) == MAX_OBJECTS and 1 not in ids
    assert ids == list(range(2, MAX_OBJECTS + 2))


def test_the_planner_job_reports_progress_and_obeys_cancel():
    c = cues(bird(30))
    events = []
    request = PlanRequest(c, hint="a red kite", width=640, height=360)
    layout = run_job(HeuristicPlanner().plan(request, CancelToken()), events.append)
    assert [(e.stage, e.fraction) for e in events if isinstance(e, Progress)] == [
        ("plan", 0.0), ("plan", 1.0)]
    assert (layout.objects[0].prompt, layout.width, layout.height) == ("a red kite", 640, 360)
    assert layout.to_dict() == plan_layout_from_cues(c, hint="a red kite", width=640,
                                                     height=360).to_dict()
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_job(HeuristicPlanner().plan(PlanRequest(c), token))
