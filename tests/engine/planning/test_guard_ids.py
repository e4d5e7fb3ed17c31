"""The spatial guard against layouts that lie about which source an object stands for:
unknown source ids, ids that collide with the ones the guard hands out, and hostile replies
that try to slip a source past the guard. Whatever the reply says, each confidently measured
source ends up where it was heard, and the layout stays valid."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.jobs import CancelToken, run_job
from engine.layout import MAX_OBJECTS, Layout, LayoutObject, PlannerInfo
from engine.planning.guard import TOLERANCE, apply_spatial_guard, confident_x
from engine.planning.heuristic import plan_layout_from_cues
from engine.planning.llm_planner import ChatReply, plan_with_llm
from engine.protocols import PlanRequest
from engine.cues.types import Tag
from tests.engine.planning.cuekit import cues, dog_and_car, track

N = 16


def x_law(az):
    """SPEC.md section 2: x_center = 0.5 + azimuth / 180 (azimuth in degrees, +90 right)."""
    return 0.5 + np.asarray(az, float) / 180.0


def obj(oid, x, *, source, label="dog", motion="static", w=0.2):
    xs = np.full(N, float(x)) if np.ndim(x) == 0 else np.asarray(x, float)
    boxes = [(cx - w / 2, 0.6, cx + w / 2, 0.8) for cx in xs]
    extra = {} if source is ... else {"source_id": source}
    return LayoutObject(oid, label, f"a {label}", motion, 0.5, boxes, extra=extra)


def layout(*objects):
    return Layout(duration_s=10.0, num_frames=N, fps=1.6, caption="c", background="b",
                  planner=PlannerInfo("llama"), objects=list(objects))


def centres(o):
    return np.array([0.5 * (b[0] + b[2]) for b in o.boxes])


def within_tolerance_of(o, az):
    return np.all(np.abs(centres(o) - x_law(az)) <= TOLERANCE + 1e-9)


@pytest.mark.parametrize("az", [-90, -60, -20, 0, 20, 60, 90])
def test_confident_x_is_the_spec_law(az):
    x = confident_x(track(1, az), 0.6)
    np.testing.assert_allclose(x, x_law(az), atol=0.01)


def test_confident_x_is_nan_where_the_direction_is_not_binding():
    t = track(1, 30)
    t.confidence[:4] = 0.59          # below the threshold
    t.confidence[4] = 0.6            # at it: binding
    t.active[5] = False              # not heard
    t.azimuth_deg[6] = np.nan        # unknown
    x = confident_x(t, 0.6)
    assert np.isnan(x[:4]).all() and np.isnan(x[5:7]).all()
    assert x[4] == pytest.approx(x_law(30)) and x[7] == pytest.approx(x_law(30))
    assert np.isfinite(x[8:]).all()


def test_an_unknown_source_id_is_dropped_and_the_object_linked_by_its_label():
    # The reply claims the dog is S99, which was never measured; the dog (S1) was heard on
    # the left. A claim the cues cannot check must not exempt the object from the guard.
    c = cues(track(1, -45))
    out, notes = apply_spatial_guard(layout(obj(1, 0.8, source=99)), c)
    dog = out.objects[0]
    assert dog.extra["source_id"] == 1
    assert "took 'dog' to be source S1" in notes
    assert within_tolerance_of(dog, -45)


def test_an_unknown_source_id_with_an_unheard_label_is_cleared_and_kept_as_context():
    c = cues(track(1, -45))
    out, notes = apply_spatial_guard(layout(obj(1, 0.8, source=7, label="kite")), c)
    kite = out.objects[0]
    assert kite.extra["source_id"] is None and np.allclose(centres(kite), 0.8)
    # The measured dog is drawn all the same (issue 15: what was measured is binding).
    assert notes == ["put back 'dog' (S1): the reply left out a measured source"]


def test_a_label_links_only_a_source_nobody_claims():
    c = cues(track(1, -45))
    claimed, decoy = obj(1, 0.3, source=1), obj(2, 0.9, source=None)
    out, notes = apply_spatial_guard(layout(claimed, decoy), c)
    assert out.objects[1].extra["source_id"] is None  # S1 is already the first dog
    assert np.allclose(centres(out.objects[1]), 0.9)
    assert not any("took" in n for n in notes)


def test_only_the_sources_top_three_tags_link_a_label():
    t = track(1, -45, label="dog")
    t.tags = [Tag("dog", 0.6), Tag("bark", 0.3), Tag("animal", 0.2), Tag("cat", 0.1)]
    out, _ = apply_spatial_guard(layout(obj(1, 0.8, source=None, label="cat")), cues(t))
    assert out.objects[0].extra["source_id"] is None
    out, _ = apply_spatial_guard(layout(obj(1, 0.8, source=None, label="Animal")), cues(t))
    assert out.objects[0].extra["source_id"] == 1


def test_a_put_back_source_gets_a_fresh_id_even_when_the_reply_took_its_own():
    # The reply drew the dog (S1) as object 2 and left out the car (S2); the rule-based
    # layout numbers the car 2 as well. The restored car must not repeat id 2.
    c = dog_and_car()
    out, notes = apply_spatial_guard(layout(obj(2, 0.25, source=1)), c,
                                     fallback=lambda: plan_layout_from_cues(c))
    ids = [o.id for o in out.objects]
    assert len(ids) == len(set(ids)) == 2
    car = next(o for o in out.objects if o.extra.get("source_id") == 2)
    assert car.id not in (2,) and car.label == "car"
    assert Layout.from_dict(out.to_dict()).to_dict() == out.to_dict()
    assert any(n.startswith("put back 'car' (S2)") for n in notes)


def test_put_back_ids_stay_unique_with_high_and_sparse_ids():
    c = dog_and_car()
    out, _ = apply_spatial_guard(layout(obj(7, 0.25, source=1), obj(3, 0.5, source=None,
                                                                    label="tree")), c,
                                 fallback=lambda: plan_layout_from_cues(c))
    ids = [o.id for o in out.objects]
    assert len(set(ids)) == len(ids) == 3
    out.validate()


def test_context_objects_make_room_for_a_missing_source():
    c = dog_and_car()
    full = [obj(i + 1, 0.25, source=1 if i == 0 else None, label="tree") for i in
            range(MAX_OBJECTS)]
    out, notes = apply_spatial_guard(layout(*full), c, fallback=lambda: plan_layout_from_cues(c))
    assert len(out.objects) == MAX_OBJECTS
    assert any("left out the context object 'tree'" in n for n in notes)
    assert any("put back 'car' (S2)" in n for n in notes)


def test_the_guard_refuses_cues_of_another_length():
    with pytest.raises(ValueError, match="16 frames but the cues have 8"):
        apply_spatial_guard(layout(obj(1, 0.5, source=1)), cues(track(1, 0, n=8)))


def test_stereo_motion_binds_and_a_mono_motion_below_the_threshold_is_the_models():
    c = cues(track(1, 0, motion="left_to_right", motion_confidence=0.3))
    out, _ = apply_spatial_guard(layout(obj(1, 0.5, source=1, motion="static")), c)
    assert out.objects[0].motion == "left_to_right"       # measured: binding
    c = cues(track(1, 0, conf=0.0, motion="approaching", motion_confidence=0.59), mono=True)
    out, notes = apply_spatial_guard(layout(obj(1, 0.5, source=1, motion="static")), c)
    assert out.objects[0].motion == "static" and notes == []
    c = cues(track(1, 0, conf=0.0, motion="approaching", motion_confidence=0.6), mono=True)
    out, notes = apply_spatial_guard(layout(obj(1, 0.5, source=1, motion="static")), c)
    assert out.objects[0].motion == "approaching"


def test_a_corrected_group_lands_on_the_tolerance_edge_on_either_side():
    for az, start in ((-45, 0.8), (45, 0.2)):
        out, _ = apply_spatial_guard(layout(obj(1, start, source=1)), cues(track(1, az)))
        x = centres(out.objects[0])
        # moved just enough: to the near edge of the tolerance band, not onto the law
        np.testing.assert_allclose(np.abs(x - x_law(az)), TOLERANCE, atol=1e-9)
        assert np.all(np.sign(x - 0.5) == np.sign(az))


# -- hostile replies through the LLM planning flow ------------------------------------------

class Scripted:
    model = "scripted"

    def __init__(self, *answers):
        self.answers = list(answers)

    def __call__(self, messages, *, schema, grammar_schema, max_tokens, token):
        return ChatReply(self.answers.pop(0), prompt_tokens=100, output_tokens=100)


def reply(*objects) -> str:
    return json.dumps({"caption": "A quiet street.", "background": "a quiet street",
                       "objects": list(objects)})


def hostile(source, label, x_pct, motion="static"):
    return {"source": source, "label": label, "prompt": f"a {label}", "motion": motion,
            "boxes": [[x, 60, 20, 20] for x in x_pct]}


def plan(text):
    return run_job(plan_with_llm(PlanRequest(dog_and_car()), CancelToken(), Scripted(text),
                                 planner_name="llama"))


def measured(layout, sid):
    return [o for o in layout.objects if o.extra.get("source_id") == sid]


def check_sources_where_heard(layout):
    c = dog_and_car()
    for src in c.sources:
        group = measured(layout, src.id)
        assert group, f"S{src.id} is missing"
        mean_x = np.mean([centres(o) for o in group], axis=0)
        binding = src.active & (src.confidence >= 0.6)
        assert binding.all()  # dog_and_car: heard and clear throughout
        assert np.all(np.abs(mean_x - x_law(src.azimuth_deg)) <= TOLERANCE + 1e-6)
        assert all(o.motion == src.motion for o in group)
    ids = [o.id for o in layout.objects]
    assert len(ids) == len(set(ids))
    layout.validate()


def test_a_reply_that_disowns_every_source_still_shows_them_where_heard():
    # Both objects claim no source and use labels the tagger did not give, on the wrong
    # sides: the guard cannot link them, so it puts the measured sources back itself.
    text = reply(hostile(0, "puppy", [80] * 5), hostile(0, "vehicle", [10, 30, 50, 70, 90],
                                                       "left_to_right"))
    out = plan(text)
    check_sources_where_heard(out)
    assert {o.label for o in out.objects} >= {"dog", "car"}


def test_a_reply_that_swaps_the_sources_is_held_to_what_each_claims():
    # The dog claims the car's source and the car the dog's: each is held to the source it
    # claims (the guard checks positions, not names), so the picture still matches the sound.
    text = reply(hostile(2, "dog", [20] * 5), hostile(1, "car", [90, 70, 50, 30, 10],
                                                      "right_to_left"))
    out = plan(text)
    check_sources_where_heard(out)


def test_a_reply_that_piles_everything_on_one_source_loses_nothing():
    text = reply(*[hostile(1, "dog", [90] * 5) for _ in range(3)])
    out = plan(text)
    check_sources_where_heard(out)
    assert len(measured(out, 1)) == 3  # the three dogs move as one group


# -- what the mutation run of guard.py found untested (docs/testing.md) ---------------------

def test_frames_with_an_unsure_direction_take_the_sure_ones_x():
    t = track(1, -45)
    t.confidence[:3] = 0.01  # the first frames have no direction of their own
    out, notes = apply_spatial_guard(layout(obj(1, 0.8, source=1)), cues(t))
    x = centres(out.objects[0])
    np.testing.assert_allclose(x, x_law(-45) + TOLERANCE)
    assert "moved 'dog' in 16 of 16 heard frames" in notes[0]


def test_a_source_with_no_object_does_not_stop_the_others_being_guarded():
    c = cues(track(1, 60, label="bird"), track(2, -45))
    out, _ = apply_spatial_guard(layout(obj(1, 0.8, source=2)), c)  # S1 has no object
    assert within_tolerance_of(out.objects[0], -45)


def test_notes_name_every_label_of_a_group_and_how_it_moved():
    c = cues(track(1, 45, label="crowd"))
    group = [obj(1, 0.1, source=1, label="person"), obj(2, 0.2, source=1, label="child")]
    _, notes = apply_spatial_guard(layout(*group), c)
    assert notes == ["moved 'child', 'person' in 16 of 16 heard frames to where S1 was heard "
                     "(azimuth +45 deg)"]
    c = cues(track(1, (70, -70), label="car", motion="right_to_left"))
    _, notes = apply_spatial_guard(layout(obj(1, 0.5, source=1, label="car",
                                              motion="right_to_left")), c)
    assert notes[0].endswith("frames along the path S1 was heard on")


def test_one_source_links_one_unclaimed_object_and_every_object_is_checked():
    c = cues(track(1, -45))
    first = obj(1, 0.8, source=None)
    second = obj(2, 0.9, source=None)           # also "dog": S1 is taken by now
    third = obj(3, 0.7, source=42, label="owl")  # an unknown id after the link
    out, notes = apply_spatial_guard(layout(first, second, third), c)
    assert [o.extra["source_id"] for o in out.objects] == [1, None, None]
    assert notes.count("took 'dog' to be source S1") == 1
    assert within_tolerance_of(out.objects[0], -45)
    np.testing.assert_allclose(centres(out.objects[1]), 0.9)


def test_shifting_left_never_leaves_the_frame():
    out, _ = apply_spatial_guard(layout(obj(1, 0.9, source=1, w=0.4)), cues(track(1, -90)))
    b = out.objects[0].boxes[0]
    assert b[0] == pytest.approx(0.0) and b[2] - b[0] == pytest.approx(0.4)


def test_heard_for_exactly_the_minimum_share_is_put_back():
    n = 10
    active = np.zeros(n, bool)
    active[:3] = True  # 30 % of the clip
    c = cues(track(1, -45, n=n), track(2, 60, n=n, active=active, label="bird"))
    lay = Layout(duration_s=10.0, num_frames=n, fps=1.0, caption="c", background="b",
                 objects=[LayoutObject(1, "dog", "a dog", "static", 0.5,
                                       [(0.1, 0.6, 0.3, 0.8)] * n, extra={"source_id": 1})])
    out, _ = apply_spatial_guard(lay, c, fallback=lambda: plan_layout_from_cues(c))
    assert [o.extra.get("source_id") for o in out.objects] == [1, 2]


def test_confidence_exactly_at_the_threshold_is_put_back():
    c = cues(track(1, -45, n=4), track(2, 60, n=4, conf=0.6, label="bird"))
    lay = Layout(duration_s=2.0, num_frames=4, fps=2.0, caption="c", background="b",
                 objects=[LayoutObject(1, "dog", "a dog", "static", 0.5,
                                       [(0.1, 0.6, 0.3, 0.8)] * 4, extra={"source_id": 1})])
    out, _ = apply_spatial_guard(lay, c, fallback=lambda: plan_layout_from_cues(c))
    assert [o.extra.get("source_id") for o in out.objects] == [1, 2]


def test_an_empty_reply_gets_every_clear_source_back_numbered_from_one():
    c = dog_and_car()
    out, notes = apply_spatial_guard(layout(), c, fallback=lambda: plan_layout_from_cues(c))
    assert [(o.id, o.label, o.extra["source_id"]) for o in out.objects] == [
        (1, "dog", 1), (2, "car", 2)]
    assert notes[-1] == ("put back 'car' (S2): the reply left out a measured source")


def test_the_fallback_layout_is_not_changed():
    c = dog_and_car()
    rule_based = plan_layout_from_cues(c)
    before = rule_based.to_dict()
    apply_spatial_guard(layout(obj(2, 0.25, source=1)), c, fallback=lambda: rule_based)
    assert rule_based.to_dict() == before


def test_a_source_the_fallback_lacks_does_not_stop_the_others():
    c = dog_and_car()
    rule_based = plan_layout_from_cues(c)
    rule_based.objects = [o for o in rule_based.objects if o.id == 2]  # no dog in it
    out, _ = apply_spatial_guard(layout(), c, fallback=lambda: rule_based)
    assert [o.extra["source_id"] for o in out.objects] == [2]


def test_every_source_that_does_not_fit_is_named():
    # Eight objects, all for S1 (a crowd): no context object can make room for S2 and S3.
    c = cues(track(1, -45), track(2, 0, label="cat"), track(3, 45, label="bird"))
    full = [obj(i + 1, 0.25, source=1, label="person", w=0.05) for i in range(MAX_OBJECTS)]
    _, notes = apply_spatial_guard(layout(*full), c, fallback=lambda: plan_layout_from_cues(c))
    assert [n for n in notes if n.startswith("could not put back")] == [
        f"could not put back S{k}: the layout already has {MAX_OBJECTS} objects for "
        "measured sources" for k in (2, 3)]
