"""Reply schema, grammar patching and strict parsing: good replies become layouts, anything
else becomes a list of problems a model can act on."""

import json

import pytest

from engine.layout import MAX_OBJECTS, PlannerInfo
from engine.planning.llm_prompt import summarize_cues
from engine.planning.llm_schema import (SAFE_CHAR_RULE, ReplyProblems, layout_to_reply,
                                        max_reply_chars, parse_reply, patch_gbnf, reply_schema)
from tests.engine.planning import replies
from tests.engine.planning.cuekit import dog_and_car

INFO = PlannerInfo("llama", "test.gguf")


@pytest.fixture(scope="module")
def summary():
    return summarize_cues(dog_and_car())


def parse(text, summary):
    return parse_reply(text, summary, planner=INFO)


def problems(text, summary) -> list[str]:
    with pytest.raises(ReplyProblems) as e:
        parse(text, summary)
    return e.value.problems


def test_good_reply_becomes_an_interpolated_layout(summary):
    plan = parse(replies.GOOD, summary)
    layout = plan.layout
    assert layout.num_frames == 16 and layout.planner == INFO and plan.notes == []
    dog, car = layout.objects
    assert (dog.id, dog.label, dog.extra) == (1, "dog", {"source_id": 1})
    assert dog.boxes[0] == pytest.approx((0.16, 0.62, 0.34, 0.82))
    assert car.boxes[0] == pytest.approx((0.76, 0.54, 1.0, 0.70))  # clipped at the right edge
    # Frame 2 lies halfway between keyframes 0 (x 88) and 4 (x 68): x centre 78.
    assert 0.5 * (car.boxes[2][0] + car.boxes[2][2]) == pytest.approx(0.775, abs=0.01)
    assert car.motion == "right_to_left"


def test_fenced_reply_nulls_and_label_case(summary):
    layout = parse(replies.RECORDED["good_in_fence"], summary).layout
    (dog,) = layout.objects
    assert dog.label == "dog"
    # A null keyframe hides the object until the next visible keyframe.
    assert dog.boxes[3] is not None and dog.boxes[4] is None and dog.boxes[15] is not None


def test_object_never_visible_is_dropped_with_a_note(summary):
    d = json.loads(replies.GOOD)
    d["objects"][0]["boxes"] = [None] * 5
    plan = parse(json.dumps(d), summary)
    assert [o.label for o in plan.layout.objects] == ["car"]
    assert "no visible box" in plan.notes[0]


def test_broken_replies_list_their_problems(summary):
    assert "not valid JSON" in problems(replies.RECORDED["broken_truncated"], summary)[0]
    found = problems(replies.RECORDED["broken_schema"], summary)
    text = " | ".join(found)
    assert "objects[0].source must be 0 or one of [1, 2]" in text
    assert "objects[0].motion must be one of" in text
    assert "objects[0].boxes must be a list of 5 entries" in text
    assert "objects[1].boxes[1] needs x, y in 0..100 and w, h in 2..100" in text
    assert "objects[1].boxes[3]" in text and "objects[1].boxes[4]" in text
    assert problems("[1, 2]", summary) == ["the reply must be one JSON object"]
    assert problems("", summary)[0].startswith("the reply is not valid JSON")


def test_paths_and_control_characters_are_refused(summary):
    found = " | ".join(problems(replies.RECORDED["adversarial_paths"], summary))
    assert "'caption' must be plain words, without slashes" in found
    assert "'background' must be plain words, without slashes" in found
    assert "'objects[0].label' must be plain words, without slashes" in found
    found = " | ".join(problems(replies.RECORDED["adversarial_control"], summary))
    assert "'caption' contains control characters" in found
    assert "'background' contains control characters" in found  # U+202E, a bidi override
    assert "'objects[0].label' contains control characters" in found


def test_limits_are_refused_before_work(summary):
    assert problems(replies.too_many_objects(50), summary) == [
        f"'objects' has 50 entries; at most {MAX_OBJECTS} are allowed"]
    assert "'caption' is 4999 characters long; at most 120" in problems(replies.huge_caption(), summary)
    assert "characters long; keep it under 20000" in problems(replies.huge_reply(), summary)[0]
    assert "not valid JSON" in problems(replies.deep_nesting(), summary)[0]
    assert "NaN is not a number" in problems(replies.not_a_number(), summary)[0]


def test_reply_round_trips_through_layout_to_reply(summary):
    layout = parse(replies.GOOD, summary).layout
    again = parse(json.dumps(layout_to_reply(layout, summary)), summary).layout
    for a, b in zip(layout.objects, again.objects):
        for ba, bb in zip(a.boxes, b.boxes):
            assert ba == pytest.approx(bb, abs=0.011)


def test_schema_has_enums_for_the_grammar_and_ranges_for_gemini(summary):
    g = reply_schema(summary, for_grammar=True)
    obj = g["properties"]["objects"]["items"]["properties"]
    assert obj["source"] == {"enum": [0, 1, 2]}
    box = obj["boxes"]["items"]["anyOf"][0]["prefixItems"]
    assert box[0]["enum"] == list(range(101)) and box[2]["enum"] == list(range(2, 101))
    assert obj["boxes"]["minItems"] == obj["boxes"]["maxItems"] == 5
    gem = reply_schema(summary, for_grammar=False)
    gobj = gem["properties"]["objects"]["items"]["properties"]
    assert gobj["source"] == {"type": "integer", "minimum": 0, "maximum": 2}
    assert gobj["boxes"]["items"]["anyOf"][0]["items"] == {"type": "integer", "minimum": 0,
                                                           "maximum": 100}
    assert "enum" not in json.dumps(gem["properties"]["objects"]["items"]["properties"]["boxes"])


def test_max_reply_chars_bounds_the_longest_reply(summary):
    schema = reply_schema(summary)
    longest = {"caption": "c" * 120, "background": "b" * 60, "objects": [
        {"source": 2, "label": "l" * 24, "prompt": "p" * 64, "motion": "right_to_left",
         "boxes": [[100, 100, 100, 100]] * 5}] * MAX_OBJECTS}
    assert max_reply_chars(schema) == len(json.dumps(longest, separators=(",", ":")))


CONVERTER_LIKE = r'''caption ::= "\"" char (char (char)?)? "\"" space
char ::= [^"\\] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])
root ::= "{" space "\"caption\"" space ":" space caption "}" space
space ::= " "?'''


def test_patch_gbnf_replaces_char_and_space_rules():
    out = patch_gbnf(CONVERTER_LIKE)
    assert SAFE_CHAR_RULE in out and 'space ::= ""' in out
    assert '"\\"" first-char (char' in out and "first-char ::= [a-zA-Z0-9]" in out
    assert "[^" not in out
    assert "\\x00" not in SAFE_CHAR_RULE and "/" not in SAFE_CHAR_RULE.split("::=")[1]


def test_patch_gbnf_fails_loudly_on_a_changed_converter():
    with pytest.raises(ValueError, match="space"):
        patch_gbnf('root ::= "x"')
    with pytest.raises(ValueError, match="no 'char' rule"):
        patch_gbnf(CONVERTER_LIKE.replace("char ::=", "letter ::="))
    with pytest.raises(ValueError, match="negated"):
        patch_gbnf(CONVERTER_LIKE + '\nother ::= [^x]')
