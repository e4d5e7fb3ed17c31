"""The spatial guard: every measured source is drawn where and while it is heard, with its
measured motion; names, words, sizes within limits and context objects are the model's."""

import numpy as np
import pytest

from engine.layout import Layout, LayoutObject, PlannerInfo
from engine.planning.guard import SIZE_LIMITS, apply_spatial_guard
from engine.planning.heuristic import plan_layout_from_cues
from tests.engine.planning.cuekit import cues, dog_and_car, track

N = 16


def obj(oid, x, *, source, label="dog", motion="static", w=0.2, n=N):
    xs = np.full(n, float(x)) if np.ndim(x) == 0 else np.asarray(x, float)
    boxes = [(cx - w / 2, 0.6, cx + w / 2, 0.8) for cx in xs]
    return LayoutObject(oid, label, f"a {label}", motion, 0.5, boxes,
                        extra={"source_id": source})


def layout(*objects):
    return Layout(duration_s=10.0, num_frames=N, fps=1.6, caption="c", background="b",
                  planner=PlannerInfo("llama"), objects=list(objects))


def centres(o):
    return np.array([0.5 * (b[0] + b[2]) for b in o.boxes])


def test_a_confident_source_cannot_change_sides():
    c = cues(track(1, -45))  # x 0.25
    out, notes = apply_spatial_guard(layout(obj(1, 0.8, source=1)), c)
    x = centres(out.objects[0])
    assert np.allclose(x, 0.25 + 0.12)  # moved to the edge of the tolerance, on the left
    assert "moved 'dog' in 16 of 16 heard frames" in notes[0] and "-45 deg" in notes[0]
    assert out.objects[0].boxes[0][2] - out.objects[0].boxes[0][0] == pytest.approx(0.2)


def test_within_tolerance_is_left_alone():
    c = cues(track(1, -45))
    lay = layout(obj(1, 0.30, source=1))
    out, notes = apply_spatial_guard(lay, c)
    assert notes == [] and out.objects[0].boxes == lay.objects[0].boxes


def test_an_unsure_direction_still_binds_the_side():
    conf_low = cues(track(1, -45, conf=0.3))
    out, notes = apply_spatial_guard(layout(obj(1, 0.8, source=1)), conf_low)
    assert np.allclose(centres(out.objects[0]), 0.25 + 0.12) and "moved 'dog'" in notes[0]


def test_a_moving_source_is_held_to_its_path_frame_by_frame():
    c = cues(track(1, (70, -70), motion="right_to_left", label="car"))
    expected = 0.5 + np.linspace(70, -70, N) / 180  # SPEC.md: x = 0.5 + azimuth / 180
    out, notes = apply_spatial_guard(
        layout(obj(1, np.linspace(0.1, 0.9, N), source=1, label="car", motion="left_to_right")), c)
    x = centres(out.objects[0])
    assert np.all(np.abs(x - expected) <= 0.12 + 1e-9)
    assert x[0] > 0.7 and x[-1] < 0.3  # right to left, as heard
    assert out.objects[0].motion == "right_to_left"
    assert any("set the motion of 'car' to right_to_left" in n for n in notes)


def test_a_crowd_moves_as_a_group_and_keeps_its_spread():
    c = cues(track(1, 45, label="crowd"))  # x 0.75
    people = [obj(i + 1, x, source=1, label="person", w=0.1) for i, x in enumerate((0.1, 0.2, 0.3))]
    out, _ = apply_spatial_guard(layout(*people), c)
    xs = [centres(o)[0] for o in out.objects]
    assert np.mean(xs) == pytest.approx(0.75 - 0.12)
    assert np.diff(xs) == pytest.approx([0.1, 0.1])


def test_an_unlinked_object_named_like_a_source_is_held_too():
    c = dog_and_car()
    lay = layout(obj(1, 0.25, source=1), obj(2, np.linspace(0.1, 0.9, N), source=None,
                                                 label="car", motion="left_to_right"))
    out, notes = apply_spatial_guard(lay, c)
    car = out.objects[1]
    assert car.extra["source_id"] == 2 and car.motion == "right_to_left"
    assert centres(car)[0] > 0.7
    assert "took 'car' to be source S2" in notes


def test_a_left_out_confident_source_is_put_back_from_the_rule_based_layout():
    c = dog_and_car()
    out, notes = apply_spatial_guard(layout(obj(1, 0.25, source=1)), c,
                                     fallback=lambda: plan_layout_from_cues(c))
    assert [o.label for o in out.objects] == ["dog", "car"]
    assert out.objects[1].extra["source_id"] == 2 and out.objects[1].id == 2
    assert "put back 'car' (S2)" in notes[-1]


def test_brief_or_vague_sources_are_drawn_too_while_heard():
    active = np.zeros(N, bool)
    active[:3] = True  # heard for 3 of 16 frames
    c = cues(track(1, -45), track(2, 80, active=active, label="speech"),
             track(3, 10, conf=0.3, label="bird"), track(4, 0, conf=0.2, label="rain"))
    out, notes = apply_spatial_guard(layout(obj(1, 0.25, source=1)), c)
    # Rain fills the scene: the model may leave it to the background.
    assert [o.label for o in out.objects] == ["dog", "speech", "bird"]
    speech = out.objects[1]
    assert [b is not None for b in speech.boxes] == list(active)
    assert all(abs(x - (0.5 + 80 / 180)) < 0.1 for x in centres_heard(speech))


def centres_heard(o):
    return [0.5 * (b[0] + b[2]) for b in o.boxes if b is not None]


def test_a_listeners_word_cannot_make_a_measured_source_background():
    # The audio listener (a language model) calls the source at -60 degrees "crowd"; the
    # tagger heard a dog. A reply that leaves it out does not hide it: only the tagger's
    # word makes a source scene-filling sound.
    from engine.cues.types import Tag
    from engine.planning.heard import LISTENER_CLASS
    dog = track(1, -60, label="dog")
    dog.tags = [Tag("crowd", 0.9, LISTENER_CLASS)] + dog.tags
    out, notes = apply_spatial_guard(layout(), cues(dog))
    drawn = [o for o in out.objects if o.extra.get("source_id") == 1]
    assert len(drawn) == 1 and all(x < 0.5 for x in centres_heard(drawn[0]))
    assert any("put back" in n and "(S1)" in n for n in notes)
    for word in ("rain", "thunderstorm", "ocean"):   # the tagger's own may stay background
        around = track(1, 0, label=word)
        around.tags = [Tag(word, 0.9, LISTENER_CLASS)] + around.tags
        assert apply_spatial_guard(layout(), cues(around))[0].objects == []


def test_a_hostile_reply_cannot_move_or_hide_a_measured_source():
    # Random letters for a name, no source claimed, drawn on the right: the source heard at
    # -60 degrees is put back on the left; the stray object stays as context.
    c = cues(track(1, -60, label="dog"))
    stray = obj(1, 0.85, source=None, label="qzxv")
    out, notes = apply_spatial_guard(layout(stray), c)
    dog = [o for o in out.objects if o.extra.get("source_id") == 1]
    assert len(dog) == 1 and all(x < 0.5 for x in centres_heard(dog[0]))
    assert any(o.label == "qzxv" for o in out.objects)
    assert any("put back 'dog' (S1)" in n for n in notes)


def test_frames_where_a_source_is_heard_but_not_drawn_get_its_box():
    c = cues(track(1, 45, label="dog"))
    half = obj(1, 0.75, source=1)
    half.boxes[4:12] = [None] * 8
    out, notes = apply_spatial_guard(layout(half), c)
    assert all(b is not None for b in out.objects[0].boxes)
    assert all(abs(x - 0.75) <= 0.12 + 1e-9 for x in centres(out.objects[0]))
    assert any("showed 'dog' in 8 frame(s)" in n for n in notes)


def test_sizes_stay_within_limits_of_the_class_prior():
    c = cues(track(1, 0, label="dog"))
    reference = plan_layout_from_cues(c).objects[0].boxes[0]
    rw = reference[2] - reference[0]
    for w in (0.01, 0.95):
        out, notes = apply_spatial_guard(layout(obj(1, 0.5, source=1, w=w)), c)
        b = out.objects[0].boxes[0]
        assert SIZE_LIMITS[0] * rw - 1e-9 <= b[2] - b[0] <= SIZE_LIMITS[1] * rw + 1e-9
        assert any("kept the size of 'dog'" in n for n in notes)


def test_mono_cues_bind_nothing_but_a_confident_motion():
    c = cues(track(1, 0, conf=0.0, motion_confidence=0.0), mono=True)
    out, notes = apply_spatial_guard(layout(obj(1, 0.9, source=1, motion="receding")), c)
    assert notes == [] and np.allclose(centres(out.objects[0]), 0.9)


def test_shifting_never_leaves_the_frame():
    c = cues(track(1, 90))  # x 1.0
    out, _ = apply_spatial_guard(layout(obj(1, 0.1, source=1, w=0.3)), c)
    b = out.objects[0].boxes[0]
    assert b[2] <= 1.0 and b[2] - b[0] == pytest.approx(0.3)
    assert 0.5 * (b[0] + b[2]) == pytest.approx(0.85)  # as far right as a 0.3-wide box goes


def test_the_input_layout_is_not_changed():
    c = cues(track(1, -45))
    lay = layout(obj(1, 0.8, source=1))
    before = lay.to_dict()
    apply_spatial_guard(lay, c)
    assert lay.to_dict() == before
