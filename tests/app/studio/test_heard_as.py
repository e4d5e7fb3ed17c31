"""Each source lane tells what its source was heard as, and another heard name is one pick
(and one undo step) away."""

import pytest

from engine.cues.types import Tag
from engine.planning.heard import KEY, heard_as
from engine.planning.heuristic import plan_layout_from_cues
from tests.engine.planning.cuekit import cues, track


@pytest.fixture
def heard_doc(window):
    c = cues(track(1, -45, label="truck"), track(2, 45, label="dog"))
    c.sources[0].tags += [Tag("vehicle", 0.73, "Vehicle"), Tag("boat", 0.2, "Boat, Water vehicle")]
    c.sources[0].description = "a dusty truck"
    window.doc.apply_plan(plan_layout_from_cues(c))
    return window


def test_the_lane_menu_lists_the_heard_names_and_picking_one_is_one_undo_step(heard_doc):
    doc = heard_doc.doc
    timeline = heard_doc.timeline.canvas
    truck = doc.layout.object(1)
    menu = timeline.heard_menu(truck)
    names = [a.text() for a in menu.actions() if not a.isSeparator() and a.isCheckable()]
    assert names == ["truck", "vehicle", "boat"]
    assert [a.isChecked() for a in menu.actions() if a.isCheckable()] == [True, False, False]
    steps = doc.undo_stack.count()
    next(a for a in menu.actions() if a.text() == "vehicle").trigger()
    assert doc.layout.object(1).label == "vehicle"
    assert doc.layout.object(1).prompt == "a dusty vehicle"  # the name carries into the prompt
    assert doc.undo_stack.count() == steps + 1
    assert doc.layout.object(1).extra[KEY]["candidates"][0]["label"] == "truck"  # kept
    doc.undo_stack.undo()
    assert doc.layout.object(1).label == "truck"


def test_the_lane_tells_by_what_and_as_what_the_source_was_heard(heard_doc):
    timeline = heard_doc.timeline.canvas
    obj = next(o for o in heard_doc.doc.layout.objects if o.id == 1)
    y = 0
    for kind, _, h, payload in timeline.lanes():
        if kind == "object" and payload.id == 1:
            break
        y += h
    assert timeline.object_at(y + 1) is obj
    menu = timeline.heard_menu(obj)
    title = menu.actions()[0].text()
    assert "heard by the tagger as truck 80 %" in title and "vehicle 73 %" in title
    assert "a dusty truck" in title


def test_a_default_prompt_follows_the_new_name(window):
    c = cues(track(1, 0, label="car"))
    c.sources[0].tags.append(Tag("truck", 0.5, "Truck"))
    window.doc.apply_plan(plan_layout_from_cues(c))
    window.doc.rename_as_heard(1, "truck")
    assert window.doc.layout.object(1).prompt == "a truck"
    assert heard_as([]) == {"listener": "tagger", "label": None, "description": None,
                            "candidates": []}


def test_sending_audio_to_gemini_is_a_visible_choice_that_reaches_the_planner(qtbot):
    from spa2v_app.studio.dialogs import SettingsDialog
    from spa2v_app.studio.model.settings import StudioSettings
    from models.backends import make_planner_or_built_in

    settings = StudioSettings()
    assert settings.gemini_send_audio is True
    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    assert "audio" in dlg.gemini_audio.text() and "Google" in dlg.gemini_audio.text()
    # What is sent is said as it is: the file itself, its tags included, within the limit.
    note = dlg.key_note.text()
    assert "the sound file too, as it is on disk: with any tags it carries" in note
    assert "up to 14 MB" in note
    dlg.gemini_audio.setChecked(False)
    assert dlg.apply().gemini_send_audio is False
    assert StudioSettings.from_dict(settings.to_dict()).gemini_send_audio is False
    planner, why = make_planner_or_built_in("gemini", api_key="test-key", send_audio=False)
    assert why is None and planner.send_audio is False
