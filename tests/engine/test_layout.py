import json

import pytest

from engine.errors import LayoutError
from engine.layout import Layout, LayoutObject, interpolate_keyframes, load_layout, save_layout


def make_layout(n=4) -> Layout:
    boxes = [(0.1 + 0.1 * i, 0.4, 0.3 + 0.1 * i, 0.7) for i in range(n)]
    boxes[-1] = None
    return Layout(duration_s=2.0, num_frames=n, fps=n / 2.0, caption="A car.",
                  background="a street",
                  objects=[LayoutObject(1, "car", "a red car", "left_to_right", 0.9, boxes)])


def test_round_trip_keeps_values_and_unknown_keys(tmp_path):
    d = make_layout().to_dict()
    d["edit_history"] = [{"op": "move"}]
    d["objects"][0]["keyframes"] = {"0": [0.1, 0.4, 0.3, 0.7]}
    p = tmp_path / "plan.json"
    p.write_text(json.dumps(d))
    layout = load_layout(p)
    assert layout.objects[0].boxes[3] is None
    assert layout.objects[0].boxes[1] == pytest.approx((0.2, 0.4, 0.4, 0.7))
    save_layout(layout, tmp_path / "again.json")
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["edit_history"] == [{"op": "move"}]
    assert again["objects"][0]["keyframes"] == {"0": [0.1, 0.4, 0.3, 0.7]}
    assert again["schema"] == "spa2v.vsl/1"
    assert Layout.from_dict(again).to_dict() == again


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.update(schema="spa2v.vsl/2"), "schema"),
    (lambda d: d.pop("num_frames"), "num_frames"),
    (lambda d: d.update(num_frames=2.5), "num_frames"),
    (lambda d: d.update(fps=100.0), "fps"),
    (lambda d: d.update(duration_s=float("nan")), "duration_s"),
    (lambda d: d["objects"][0]["boxes"].pop(), "objects[0].boxes"),
    (lambda d: d["objects"][0].update(motion="sideways"), "objects[0].motion"),
    (lambda d: d["objects"][0].update(label=""), "objects[0].label"),
    (lambda d: d["objects"][0].update(label="car\u0000"), "objects[0].label"),
    (lambda d: d["objects"][0].update(confidence=1.5), "objects[0].confidence"),
    (lambda d: d["objects"][0]["boxes"].__setitem__(0, [0.5, 0.4, 0.2, 0.7]), "objects[0].boxes[0]"),
    (lambda d: d["objects"][0]["boxes"].__setitem__(0, [0.5, 0.4, 1.7, 0.7]), "objects[0].boxes[0]"),
    (lambda d: d["objects"][0]["boxes"].__setitem__(0, [0.5, 0.4]), "objects[0].boxes[0]"),
    (lambda d: d.update(objects=[dict(d["objects"][0], id=k) for k in range(9)]), "objects"),
    (lambda d: d.update(objects=[d["objects"][0], d["objects"][0]]), "objects[1].id"),
])
def test_invalid_layouts_name_the_field(mutate, field):
    d = make_layout().to_dict()
    mutate(d)
    with pytest.raises(LayoutError) as err:
        Layout.from_dict(d)
    assert f"'{field}'" in str(err.value)


def test_malformed_json_file_is_reported_with_position(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"schema": "spa2v.vsl/1", ')
    with pytest.raises(LayoutError, match="not valid JSON"):
        load_layout(p)


def test_save_refuses_invalid_layout_and_leaves_no_file(tmp_path):
    layout = make_layout()
    layout.objects[0].motion = "teleport"
    with pytest.raises(LayoutError):
        save_layout(layout, tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []


def test_keyframes_interpolate_linearly_and_hide():
    boxes = interpolate_keyframes({0: (0.0, 0.0, 0.2, 0.2), 4: (0.8, 0.0, 1.0, 0.2), 6: None}, 8)
    assert boxes[2] == pytest.approx((0.4, 0.0, 0.6, 0.2))
    assert boxes[5] == pytest.approx((0.8, 0.0, 1.0, 0.2))
    assert boxes[6] is None and boxes[7] is None
