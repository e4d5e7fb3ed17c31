"""Every validation rule of the layout file (engine/layout/schema.py, SPEC.md section 3) with
its own failing example, and the nearest value that passes, so a rule that is dropped or
loosened (a limit moved, ``<`` for ``<=``) fails here.

Each case edits a valid layout dictionary in one place; the error must name that field.
"""

from __future__ import annotations

import copy
import json

import pytest

from engine.errors import LayoutError
from engine.layout import Layout, LayoutObject, load_layout
from engine.layout.schema import MAX_FRAMES, MAX_OBJECTS, MAX_TEXT

N = 4


def valid() -> dict:
    boxes = [(0.1, 0.2, 0.4, 0.6), (0.2, 0.2, 0.5, 0.6), None, (0.3, 0.2, 0.6, 0.6)]
    d = Layout(duration_s=2.0, num_frames=N, fps=2.0, caption="A car.", background="a street",
               objects=[LayoutObject(1, "car", "a red car", "left_to_right", 0.9, boxes)]
               ).to_dict()
    return json.loads(json.dumps(d))


def with_(path: str, value):
    """A valid layout with ``path`` ("fps", "objects.0.boxes.1.2", "planner.name") set to
    ``value``; the special value DELETE removes the key."""
    d = valid()
    *parents, last = path.split(".")
    node = d
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    key = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return d


DELETE = object()
BOX = "objects.0.boxes.0"


def many_objects(k: int) -> dict:
    d = valid()
    d["objects"] = [dict(copy.deepcopy(d["objects"][0]), id=i) for i in range(k)]
    return d


# (what the rule is, the layout that breaks it, the field the message names, the words)
BROKEN = [
    ("top level is an object", [], None, "top level must be a JSON object"),
    ("schema is known", with_("schema", "spa2v.vsl/2"), "schema",
     "must be 'spa2v.vsl/1', got 'spa2v.vsl/2'"),
    ("schema present", with_("schema", DELETE), "schema", "must be 'spa2v.vsl/1', got None"),
    ("duration present", with_("duration_s", DELETE), "duration_s", "is missing"),
    ("duration a number", with_("duration_s", "2"), "duration_s", "must be a number"),
    ("duration not a bool", with_("duration_s", True), "duration_s", "must be a number"),
    ("duration finite", with_("duration_s", float("inf")), "duration_s", "must be between"),
    ("duration not NaN", with_("duration_s", float("nan")), "duration_s", "must be between"),
    ("duration positive", with_("duration_s", 0.0), "duration_s", "must be between"),
    ("duration at most a day", with_("duration_s", 24 * 3600 + 1.0), "duration_s", "must be between"),
    ("frames present", with_("num_frames", DELETE), "num_frames", "is missing"),
    ("frames whole", with_("num_frames", 3.5), "num_frames", "must be a whole number, got 3.5"),
    ("frames at least 1", with_("num_frames", 0), "num_frames", "must be between"),
    ("frames at most MAX_FRAMES", with_("num_frames", MAX_FRAMES + 1), "num_frames", "must be between"),
    ("fps present", with_("fps", DELETE), "fps", "is missing"),
    ("fps positive", with_("fps", 0.0), "fps", "must be between"),
    ("fps at most 240", with_("fps", 240.5), "fps", "must be between"),
    ("fps agrees with frames/duration", with_("fps", 3.5), "fps", "disagrees"),
    ("fps within one frame", with_("fps", 2.75), "fps", "disagrees with num_frames"),
    ("width a number", with_("width", "512"), "width", "must be a number"),
    ("width whole", with_("width", 512.5), "width", "must be a whole number"),
    ("height whole", with_("height", 480.5), "height", "must be a whole number"),
    ("width at least 64", with_("width", 63), "width", "must be between"),
    ("width at most 4096", with_("width", 4097), "width", "must be between"),
    ("width not huge", with_("width", 10 ** 9), "width", "must be between"),
    ("height at least 64", with_("height", 63), "height", "must be between"),
    ("height at most 4096", with_("height", 4097), "height", "must be between"),
    ("planner an object", with_("planner", "llama"), "planner", "must be an object"),
    ("planner name text", with_("planner.name", 3), "planner.name", "must be text, got int"),
    ("planner model text or null", with_("planner.model", 7), "planner.model", "must be text"),
    ("objects present", with_("objects", DELETE), "objects", "must be a list"),
    ("objects a list", with_("objects", {"0": {}}), "objects", "must be a list"),
    ("at most MAX_OBJECTS", many_objects(MAX_OBJECTS + 1), "objects",
     f"has {MAX_OBJECTS + 1} entries; at most {MAX_OBJECTS} are allowed"),
    ("object is an object", with_("objects.0", "car"), "objects[0]", "must be an object"),
    ("id present", with_("objects.0.id", DELETE), "objects[0].id", "is missing"),
    ("id whole", with_("objects.0.id", 1.5), "objects[0].id", "must be a whole number"),
    ("id not negative", with_("objects.0.id", -1), "objects[0].id", "must be between"),
    ("id at most a million", with_("objects.0.id", 1_000_001), "objects[0].id", "must be between"),
    ("ids unique", {**valid(), "objects": [valid()["objects"][0]] * 2}, "objects[1].id",
     "repeats id 1"),
    ("motion known", with_("objects.0.motion", "sideways"), "objects[0].motion",
     "must be one of static, left_to_right, right_to_left, approaching, receding; got 'sideways'"),
    ("motion present", with_("objects.0.motion", DELETE), "objects[0].motion", "must be one of"),
    ("boxes a list", with_("objects.0.boxes", None), "objects[0].boxes", "must be a list"),
    ("one box per frame", with_("objects.0.boxes", [None] * (N + 1)), "objects[0].boxes",
     "has 5 entries but num_frames is 4"),
    ("label present", with_("objects.0.label", DELETE), "objects[0].label", "is missing"),
    ("label text", with_("objects.0.label", 5), "objects[0].label", "must be text"),
    ("label not blank", with_("objects.0.label", "  "), "objects[0].label", "must not be empty"),
    ("label no control characters", with_("objects.0.label", "car\n"), "objects[0].label",
     "contains control characters"),
    ("label at most MAX_TEXT", with_("objects.0.label", "c" * (MAX_TEXT + 1)),
     "objects[0].label", f"is longer than {MAX_TEXT} characters"),
    ("prompt not blank", with_("objects.0.prompt", ""), "objects[0].prompt", "must not be empty"),
    ("confidence present", with_("objects.0.confidence", DELETE), "objects[0].confidence",
     "is missing"),
    ("confidence at most 1", with_("objects.0.confidence", 1.01), "objects[0].confidence",
     "must be between"),
    ("confidence not negative", with_("objects.0.confidence", -0.01), "objects[0].confidence",
     "must be between"),
    ("box has 4 values", with_(BOX, [0.1, 0.2, 0.4]), "objects[0].boxes[0]", "must be [x0, y0, x1, y1] or null"),
    ("box is a list", with_(BOX, "0.1 0.2 0.4 0.6"), "objects[0].boxes[0]", "must be [x0, y0, x1, y1] or null"),
    ("box values numbers", with_(BOX, [0.1, "0.2", 0.4, 0.6]), "objects[0].boxes[0]",
     "must hold 4 numbers"),
    ("box values not bools", with_(BOX, [0.1, 0.2, True, 0.6]), "objects[0].boxes[0]",
     "must hold 4 numbers"),
    ("box values finite", with_(BOX, [0.1, 0.2, float("nan"), 0.6]), "objects[0].boxes[0]",
     "must hold 4 numbers"),
    ("box inside the frame (high)", with_(BOX, [0.1, 0.2, 1.01, 0.6]), "objects[0].boxes[0]",
     "coordinates must lie in [0, 1]"),
    ("box inside the frame (low)", with_(BOX, [-0.01, 0.2, 0.4, 0.6]), "objects[0].boxes[0]",
     "coordinates must lie in [0, 1]"),
    ("x0 < x1", with_(BOX, [0.4, 0.2, 0.1, 0.6]), "objects[0].boxes[0]", "needs x0 < x1 and y0 < y1"),
    ("x0 != x1", with_(BOX, [0.4, 0.2, 0.4, 0.6]), "objects[0].boxes[0]", "needs x0 < x1 and y0 < y1"),
    ("y0 < y1", with_(BOX, [0.1, 0.6, 0.4, 0.2]), "objects[0].boxes[0]", "needs x0 < x1 and y0 < y1"),
    ("y0 != y1", with_(BOX, [0.1, 0.6, 0.4, 0.6]), "objects[0].boxes[0]", "needs x0 < x1 and y0 < y1"),
    ("caption present", with_("caption", DELETE), "caption", "is missing"),
    ("caption text", with_("caption", ["A", "car"]), "caption", "must be text"),
    ("background present", with_("background", DELETE), "background", "is missing"),
    ("background no control characters", with_("background", "a\x07street"), "background",
     "contains control characters"),
    # DEL and C1 (U+009B is a terminal's CSI), line separators, a bidi override: they passed,
    # and a label is printed to the terminal ('wrote plan.json (car static)') and drawn
    ("label no DEL", with_("objects.0.label", "car\x7f"), "objects[0].label",
     "contains control characters"),
    ("label no C1 control", with_("objects.0.label", "car\x9b31m"), "objects[0].label",
     "contains control characters"),
    ("caption no line separator", with_("caption", "a car\u2028drives"), "caption",
     "contains control characters"),
    ("prompt no bidi override", with_("objects.0.prompt", "a \u202erac"), "objects[0].prompt",
     "contains control characters"),
    ("negative prompt text", with_("negative_prompt", 0), "negative_prompt", "must be text"),
]


@pytest.mark.parametrize("rule, data, field, words", BROKEN, ids=[b[0] for b in BROKEN])
def test_each_rule_refuses_its_own_failing_example(rule, data, field, words):
    with pytest.raises(LayoutError) as err:
        Layout.from_dict(data)
    message = str(err.value)
    assert message.startswith("Invalid layout")
    if field is None:
        assert words in message
    else:  # "Invalid layout: field 'fps' <the problem>."
        assert f"field '{field}' {words}" in message


# The nearest values that still pass: a limit moved inwards fails these.
ACCEPTED = [
    ("duration a whole number", with_("duration_s", 2)),
    ("duration at the floor", {**valid(), "duration_s": 1e-3, "num_frames": 1, "fps": 1.0,
                               "objects": []}),
    ("duration a day, fps at the floor", {**valid(), "duration_s": 24 * 3600.0,
                                          "num_frames": 86, "fps": 1e-3, "objects": []}),
    ("frames at most MAX_FRAMES", {**valid(), "num_frames": MAX_FRAMES, "duration_s": 50.0,
                                   "fps": MAX_FRAMES / 50.0,
                                   "objects": []}),
    ("fps 240", {**valid(), "fps": 240.0, "duration_s": N / 240.0}),
    ("fps off by one frame", with_("fps", 2.5)),  # 2.5 * 2 s = 5 frames for 4: within one
    ("fps off by 2 % of many frames", {**valid(), "num_frames": 200, "duration_s": 100.0,
                                       "fps": 2.04, "objects": []}),
    ("width and height absent", {k: v for k, v in valid().items()
                                 if k not in ("width", "height")}),
    ("width 64", with_("width", 64)),
    ("width 4096", with_("width", 4096)),
    ("height 64", with_("height", 64)),
    ("height 4096", with_("height", 4096)),
    ("planner absent", with_("planner", DELETE)),
    ("planner name absent", with_("planner.name", DELETE)),
    ("planner model null", with_("planner.model", None)),
    ("no objects", with_("objects", [])),
    ("MAX_OBJECTS objects", many_objects(MAX_OBJECTS)),
    ("id 0", with_("objects.0.id", 0)),
    ("id a million", with_("objects.0.id", 1_000_000)),
    ("id written as 2.0", with_("objects.0.id", 2.0)),
    ("confidence 0", with_("objects.0.confidence", 0)),
    ("confidence 1", with_("objects.0.confidence", 1)),
    ("label with a tab", with_("objects.0.label", "red\tcar")),
    ("label in other scripts, an emoji family (joiners)",
     with_("objects.0.label", "\u81ea\u52d5\u8eca \u0645\u0627\u0634\u06cc\u0646 "
           "\U0001F468\u200d\U0001F469\u200d\U0001F467")),
    ("label of MAX_TEXT", with_("objects.0.label", "c" * MAX_TEXT)),
    ("caption empty", with_("caption", "")),
    ("negative prompt absent", with_("negative_prompt", DELETE)),
    ("box over the whole frame", with_(BOX, [0, 0, 1, 1])),
    ("box a rounding error outside", with_(BOX, [-1e-7, 0.2, 1 + 1e-7, 0.6])),
    ("box at the rounding limit", with_(BOX, [-1e-6, 0.2, 1 + 1e-6, 0.6])),
    ("planner without a model", with_("planner.model", DELETE)),
]


@pytest.mark.parametrize("rule, data", ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_the_nearest_valid_value_is_accepted(rule, data):
    layout = Layout.from_dict(data)
    assert Layout.from_dict(layout.to_dict()).to_dict() == layout.to_dict()


def test_parsed_values_are_the_files_values():
    d = valid()
    d.update(width=640, height=480, negative_prompt="dark", caption="A red car.",
             background="a wet street", planner={"name": "llama", "model": "m.gguf"})
    layout = Layout.from_dict(d)
    assert (layout.duration_s, layout.num_frames, layout.fps) == (2.0, N, 2.0)
    assert (layout.width, layout.height) == (640, 480)
    assert isinstance(layout.num_frames, int) and isinstance(layout.width, int)
    assert (layout.caption, layout.background, layout.negative_prompt) == (
        "A red car.", "a wet street", "dark")
    assert (layout.planner.name, layout.planner.model) == ("llama", "m.gguf")
    obj = layout.objects[0]
    assert (obj.id, obj.label, obj.prompt, obj.motion) == (1, "car", "a red car",
                                                           "left_to_right")
    assert obj.confidence == pytest.approx(0.9)
    assert obj.boxes[2] is None and obj.boxes[1] == pytest.approx((0.2, 0.2, 0.5, 0.6))
    defaults = {k: v for k, v in valid().items()
                if k not in ("width", "height", "negative_prompt", "planner")}
    bare = Layout.from_dict(defaults)
    assert (bare.width, bare.height) == (512, 512)
    assert bare.negative_prompt == "blurry, low quality"
    assert (bare.planner.name, bare.planner.model) == ("unknown", None)


def test_coordinates_a_rounding_error_outside_are_clamped_into_the_frame():
    layout = Layout.from_dict(with_(BOX, [-1e-7, 0.2, 1 + 1e-7, 0.6]))
    assert layout.objects[0].boxes[0] == (0.0, 0.2, 1.0, 0.6)


def test_unknown_keys_survive_at_both_levels():
    d = valid()
    d["studio"] = {"zoom": 2}
    d["objects"][0]["keyframes"] = {"0": [0.1, 0.2, 0.4, 0.6]}
    layout = Layout.from_dict(d)
    assert layout.extra == {"studio": {"zoom": 2}}
    assert layout.objects[0].extra == {"keyframes": {"0": [0.1, 0.2, 0.4, 0.6]}}
    assert Layout.from_dict(layout.to_dict()).to_dict() == layout.to_dict()


def test_validate_rechecks_after_an_edit():
    layout = Layout.from_dict(valid())
    assert layout.validate() is layout
    layout.objects[0].boxes[0] = (0.1, 0.6, 0.4, 0.2)  # y0 > y1
    with pytest.raises(LayoutError, match="y0 < y1"):
        layout.validate()


def test_file_problems_name_the_file(tmp_path):
    missing = tmp_path / "none.json"
    with pytest.raises(LayoutError, match="not found"):
        load_layout(missing)
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"caption": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(LayoutError, match="not UTF-8"):
        load_layout(latin)
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "spa2v.vsl/1",\n "fps": }')
    with pytest.raises(LayoutError, match=r"line 2, column 9"):
        load_layout(bad)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(with_("fps", 0.0)))
    with pytest.raises(LayoutError) as err:
        load_layout(broken)
    assert str(err.value).startswith(f"{broken}: Invalid layout: field 'fps'")


def test_a_planner_without_a_name_is_unknown_and_written_back_whole():
    d = valid()
    d["planner"] = {"model": "m.gguf"}
    layout = Layout.from_dict(d)
    assert (layout.planner.name, layout.planner.model) == ("unknown", "m.gguf")
    assert layout.to_dict()["planner"] == {"name": "unknown", "model": "m.gguf"}


def test_the_helpers_on_a_parsed_layout():
    layout = Layout.from_dict(valid())
    obj = layout.object(1)
    assert obj.visible_frames() == [0, 1, 3]
    assert obj.x_centres() == [pytest.approx(0.25), pytest.approx(0.35), None,
                               pytest.approx(0.45)]
    assert [layout.frame_time(i) for i in range(N)] == [0.0, 0.5, 1.0, 1.5]
    with pytest.raises(KeyError):
        layout.object(2)


def test_json_text_keeps_words_and_refuses_nan():
    layout = Layout.from_dict(with_("caption", "Une voiture passe, café au coin."))
    text = layout.to_json()
    assert "café" in text and text.startswith('{\n  "')  # UTF-8 words, two-space indent
    assert json.loads(text) == layout.to_dict()
    layout.objects[0].confidence = float("nan")
    with pytest.raises(ValueError):
        layout.to_json()


def test_json_that_python_reads_but_json_does_not_have_is_refused(tmp_path):
    """NaN and Infinity literals were read (Python's reader takes them): one in a kept unknown
    key loaded, and then the layout could not be saved ("Out of range float values are not
    JSON compliant", a ValueError). A repeated key kept its last value without a word."""
    text = json.dumps(valid())
    nan_kept = tmp_path / "nan.json"
    nan_kept.write_text(text[:-1] + ', "x_note": NaN}')
    with pytest.raises(LayoutError, match="holds NaN, which JSON does not have"):
        load_layout(nan_kept)
    inf = tmp_path / "inf.json"
    inf.write_text(text.replace('"duration_s": 2.0', '"duration_s": -Infinity'))
    with pytest.raises(LayoutError, match="holds -Infinity"):
        load_layout(inf)
    twice = tmp_path / "twice.json"
    twice.write_text(text[:-1] + ', "duration_s": 99}')
    with pytest.raises(LayoutError, match="the key 'duration_s' appears twice"):
        load_layout(twice)


def test_a_byte_order_mark_is_skipped(tmp_path):
    """Windows Notepad saves UTF-8 with a byte-order mark: a plan edited there was refused with
    'Unexpected UTF-8 BOM (decode using utf-8-sig)'."""
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(with_("caption", "café")).encode("utf-8"))
    assert load_layout(bom).caption == "café"


def test_half_a_character_is_refused_a_whole_escaped_one_is_read(tmp_path):
    """'\\ud800' alone is valid JSON but no text: a label holding it loaded, then render
    --labels and every save failed with a UnicodeEncodeError traceback."""
    text = json.dumps(valid())
    halves = [text.replace('"label": "car"', '"label": "\\ud800car"'),  # a value
              text[:-1] + ', "x_note": ["\\udc00"]}',                     # in a kept list
              text[:-1] + ', "\\udfff": 1}']                               # a key
    for k, broken in enumerate(halves):
        half = tmp_path / f"half{k}.json"
        half.write_text(broken)
        with pytest.raises(LayoutError, match="half of a character"):
            load_layout(half)
    whole = tmp_path / "whole.json"
    whole.write_text(text.replace('"label": "car"', '"label": "car \\ud83d\\ude97"'))
    assert load_layout(whole).objects[0].label == "car \U0001F697"


def test_a_newer_layout_version_says_to_update():
    """'spa2v.vsl/2' was refused as if it were any wrong text; the user could not tell that
    a newer spa2v wrote it (projects already said so)."""
    with pytest.raises(LayoutError) as err:
        Layout.from_dict(with_("schema", "spa2v.vsl/2"))
    assert err.value.hint == "It was written by a newer spa2v: update spa2v to read it."
    with pytest.raises(LayoutError) as err:
        Layout.from_dict(with_("schema", "something/2"))
    assert err.value.hint is None


def test_a_layout_that_may_not_be_read_is_a_layout_error(tmp_path, monkeypatch):
    """A plan without read permission raised PermissionError out of load_layout, which callers
    (the studio's plan import) catch as LayoutError/SpA2VError only."""
    from pathlib import Path
    path = tmp_path / "theirs.json"
    path.write_text(json.dumps(valid()))

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(LayoutError, match=r"theirs\.json cannot be read: Permission denied"):
        load_layout(path)


def test_a_file_over_the_json_size_limit_is_refused_unread(tmp_path, monkeypatch):
    import engine.fileio as fileio
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(valid()))
    monkeypatch.setattr(fileio, "MAX_JSON_BYTES", path.stat().st_size - 1)
    with pytest.raises(LayoutError, match="MB; the documents this app writes"):
        load_layout(path)
    monkeypatch.setattr(fileio, "MAX_JSON_BYTES", path.stat().st_size)
    assert load_layout(path).num_frames == N


def test_the_largest_layout_this_app_writes_is_well_under_the_limit(tmp_path):
    # MAX_FRAMES frames of MAX_OBJECTS objects, each with five candidate names and its
    # loudness per frame, as the rule-based planner writes them.
    import numpy as np

    from engine.cues.types import Tag
    from engine.fileio import MAX_JSON_BYTES
    from engine.layout import save_layout
    from engine.planning.heuristic import plan_layout_from_cues
    from tests.engine.planning.cuekit import cues, track
    sources = []
    for i in range(MAX_OBJECTS):
        s = track(i + 1, (-80 + 20 * i, 80 - 20 * i), n=MAX_FRAMES, motion="left_to_right")
        s.tags = [Tag(f"label{k}", 0.123456, f"A long AudioSet class name {k}") for k in range(5)]
        s.loudness_db = np.random.default_rng(i).uniform(-60, -10, MAX_FRAMES)
        sources.append(s)
    path = tmp_path / "longest.json"
    save_layout(plan_layout_from_cues(cues(*sources, duration_s=3600.0)), path)
    assert path.stat().st_size < MAX_JSON_BYTES / 4
