""""How was this recorded?": the choice reaches planning, each input device keeps its answer,
and what ``auto`` decided is shown (issue 14 section 2)."""

import json
import re

from PySide6.QtCore import Qt

from engine.audio.stereo_kinds import DESCRIPTIONS, LABELS, PAN_LAWS, STEREO_CHOICES
from engine.project import load_project
from spa2v_app.studio.model.stereo import heard_as

from .helpers import import_clip, plan, wait_job


def window_with_devices(make_window, *names):
    """A studio window whose recorder lists stereo input devices of these names."""
    from spa2v_app.studio.model.recording import InputDevice
    devices = [InputDevice(k, name, 2, 48000.0) for k, name in enumerate(names)]
    return make_window(list_devices=lambda: (devices, None))


def record_a_second(qtbot, window):
    """Record a little over a second from the chosen device and wait for its planning."""
    window.act_record.trigger()
    qtbot.waitUntil(lambda: window.record_panel.recorder.elapsed_s > 1.0, timeout=10_000)
    window.act_record.trigger()
    job = window.queue.jobs[-1]
    wait_job(qtbot, job)
    assert job.state == "finished", job.message


def _pick_by_keyboard(qtbot, combo, kind):
    """Move a combo to ``kind`` with the arrow keys only (no mouse)."""
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.findData(kind)):
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentData() == kind


def test_the_choosers_list_the_engines_kinds_with_its_words(window):
    for combo in (window.stereo_combo, window.record_panel.stereo_box):
        kinds = [combo.itemData(i) for i in range(combo.count())]
        assert kinds == list(STEREO_CHOICES)
        assert [combo.itemText(i) for i in range(combo.count())] == [LABELS[k] for k in kinds]
        assert [combo.itemData(i, Qt.ItemDataRole.ToolTipRole)
                for i in range(combo.count())] == [DESCRIPTIONS[k] for k in kinds]


def test_choosing_a_kind_reaches_plan_settings_and_the_project(qtbot, window, clip, tmp_path,
                                                               monkeypatch):
    from spa2v_app.studio.model import tasks
    seen = []
    real_plan_job = tasks.plan_job

    def spy(audio_path, settings, **kw):
        seen.append(settings.stereo)
        return (yield from real_plan_job(audio_path, settings, **kw))

    monkeypatch.setattr(tasks, "plan_job", spy)
    import_clip(qtbot, window, clip)
    _pick_by_keyboard(qtbot, window.stereo_combo, "coincident")
    assert window.doc.stereo == "coincident" and window.doc.dirty
    assert window.stereo_actions["coincident"].isChecked()  # the Sound menu agrees
    layout = plan(qtbot, window)
    assert seen == ["coincident"]
    assert layout.extra["stereo"]["kind"] == "coincident"
    assert layout.extra["stereo"]["chosen"] == "user"
    assert window.status_stereo.text() == "Read as: coincident XY / Blumlein (your choice)"
    # The choice is the project's: it comes back with the saved project, and a new project
    # starts from auto again.
    path = window.doc.save(tmp_path / "p.spa2v")
    assert load_project(path).settings["stereo"] == "coincident"
    window.doc.new_project()
    assert window.doc.stereo == "auto" and window.stereo_combo.currentData() == "auto"
    window.doc.load_project(path)
    assert window.stereo_combo.currentData() == "coincident"


def test_each_input_device_keeps_its_answer_across_a_settings_reload(qtbot, make_window):
    from spa2v_app.studio.model.settings import load_settings
    window = window_with_devices(make_window, "Phone", "Zoom H1")
    panel = window.record_panel
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)  # its label's mnemonic
    qtbot.waitUntil(panel.stereo_box.hasFocus, timeout=2_000)
    panel.device_box.setCurrentIndex(0)
    _pick_by_keyboard(qtbot, panel.stereo_box, "spaced")
    panel.device_box.setCurrentIndex(1)
    assert panel.stereo() == "auto"  # a device never answered for starts at auto
    _pick_by_keyboard(qtbot, panel.stereo_box, "coincident")
    panel.device_box.setCurrentIndex(0)
    assert panel.stereo() == "spaced"

    reloaded = load_settings()  # what the next start of the studio reads
    assert reloaded.stereo_for("Phone") == "spaced"
    assert reloaded.stereo_for("Zoom H1") == "coincident"
    assert reloaded.stereo_for("Never seen") == "auto"

    # A recording made with the phone is read as a spaced pair, and the project says so.
    panel.device_box.setCurrentIndex(0)
    window.act_record.trigger()
    qtbot.waitUntil(lambda: panel.recorder.elapsed_s > 1.0, timeout=10_000)
    window.act_record.trigger()
    job = window.queue.jobs[-1]
    assert job.kind == "import"
    wait_job(qtbot, job)
    assert job.state == "finished", job.message
    assert window.doc.stereo == "spaced" and window.stereo_combo.currentData() == "spaced"
    assert window.doc.cues.stereo["kind"] == "spaced"


def test_old_or_damaged_settings_files_still_load(studio_folders):
    from spa2v_app.studio.model.settings import load_settings, save_settings, settings_path
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # A settings file from before the stereo choice: no stereo_by_device at all.
    path.write_text(json.dumps({"schema": "spa2v.studio-settings/1", "plan_frames": 12}))
    s = load_settings()
    assert s.plan_frames == 12 and s.stereo_by_device == {} and s.stereo_for("Phone") == "auto"
    # An unknown kind (a newer or hand-edited file) falls back to auto; others survive.
    path.write_text(json.dumps({"stereo_by_device": {"Phone": "quadraphonic", "H1": "panned",
                                                     "Bad": 3}}))
    s = load_settings()
    assert s.stereo_by_device == {"Phone": "auto", "H1": "panned"}
    s.remember_stereo("H1", "binaural")
    save_settings(s)
    assert load_settings().stereo_for("H1") == "binaural"


def test_autos_decision_is_shown_after_planning(qtbot, window, clip):
    import_clip(qtbot, window, clip)
    assert window.doc.stereo == "auto"
    layout = plan(qtbot, window)
    decision = layout.extra["stereo"]
    assert decision["chosen"] == "auto"
    text = window.status_stereo.text()
    m = re.fullmatch(r"Heard as: (.+), (\d+) % sure", text)
    assert m, text
    label = LABELS[decision["kind"]]
    assert m.group(1) == label[0].lower() + label[1:]
    assert int(m.group(2)) == round(100 * decision["confidence"])
    assert window.status_stereo.isVisible()
    # Said once: the plan's status line repeated it, and was cut off in a 1280 px window.
    assert "Heard as" not in window.statusBar().currentMessage()


def test_heard_as_words():
    from spa2v_app.studio.model.stereo import heard_as
    assert heard_as({"kind": "spaced", "chosen": "auto", "confidence": 0.82}) == \
        "Heard as: spaced pair (phone), 82 % sure"
    assert heard_as({"kind": "panned", "chosen": "user", "confidence": 1.0}) == \
        "Read as: pan-pot mix (your choice)"
    assert heard_as(None) == "" and heard_as({"kind": "quad"}) == ""
    # a spaced pair whose spacing nothing told: say so, and that it can be set
    assert heard_as({"kind": "spaced", "chosen": "auto", "confidence": 0.9,
                     "spacing_from": "assumed"}) == \
        "Heard as: spaced pair (phone), 90 % sure, spacing assumed: set it if you know it"
    assert "assumed" not in heard_as({"kind": "spaced", "chosen": "auto", "confidence": 0.9,
                                      "spacing_from": "room"})


# -- a spaced pair's spacing ------------------------------------------------------------------

def _spy_plan_settings(monkeypatch):
    from spa2v_app.studio.model import tasks
    seen = []
    real_plan_job = tasks.plan_job

    def spy(audio_path, settings, **kw):
        seen.append((settings.stereo, settings.spacing_m))
        return (yield from real_plan_job(audio_path, settings, **kw))

    monkeypatch.setattr(tasks, "plan_job", spy)
    return seen


def test_the_spacing_of_a_spaced_pair_reaches_plan_settings_and_the_project(
        qtbot, window, clip, tmp_path, monkeypatch):
    seen = _spy_plan_settings(monkeypatch)
    import_clip(qtbot, window, clip)
    assert not window.spacing_action.isVisible()  # only a spaced pair has a spacing
    _pick_by_keyboard(qtbot, window.stereo_combo, "spaced")
    assert window.spacing_action.isVisible()
    box = window.spacing_box
    assert box.text() == "Not known" and box.spacing_m() is None
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "18")
    qtbot.keyClick(box, Qt.Key.Key_Tab)
    assert window.doc.spacing_m == 0.18 and window.doc.dirty
    layout = plan(qtbot, window)
    assert seen[-1] == ("spaced", 0.18)
    assert layout.extra["stereo"]["spacing_m"] == 0.18  # the engine read it with that spacing
    path = window.doc.save(tmp_path / "p.spa2v")
    assert load_project(path).settings["spacing_m"] == 0.18
    # Another kind plans without a spacing; back to "not known", planning gets None.
    _pick_by_keyboard(qtbot, window.stereo_combo, "coincident")
    assert not window.spacing_action.isVisible()
    plan(qtbot, window)
    assert seen[-1] == ("coincident", None)
    _pick_by_keyboard(qtbot, window.stereo_combo, "spaced")
    assert window.spacing_box.spacing_m() == 0.18  # the project kept it
    window.spacing_box.setValue(window.spacing_box.minimum())
    assert window.doc.spacing_m is None
    plan(qtbot, window)
    assert seen[-1] == ("spaced", None)


def test_each_input_device_keeps_its_spacing(qtbot, make_window):
    from spa2v_app.studio.model.settings import load_settings
    window = window_with_devices(make_window, "Phone", "AB pair")
    panel = window.record_panel
    panel.device_box.setCurrentIndex(0)
    assert panel.spacing_box.isHidden()
    _pick_by_keyboard(qtbot, panel.stereo_box, "spaced")
    assert not panel.spacing_box.isHidden()
    panel.spacing_box.setValue(14)
    panel.device_box.setCurrentIndex(1)
    assert panel.spacing_box.isHidden() and panel.spacing_m() is None  # never answered: auto
    _pick_by_keyboard(qtbot, panel.stereo_box, "spaced")
    assert panel.spacing_m() is None  # not known until given
    panel.spacing_box.setValue(40)
    panel.device_box.setCurrentIndex(0)
    assert panel.spacing_m() == 0.14
    reloaded = load_settings()
    assert reloaded.spacing_for("Phone") == 0.14 and reloaded.spacing_for("AB pair") == 0.40
    assert reloaded.spacing_for("Never seen") is None

    # A recording made with the phone is planned with the phone's spacing.
    record_a_second(qtbot, window)
    assert window.doc.stereo == "spaced" and window.doc.spacing_m == 0.14
    assert window.doc.cues.stereo["spacing_m"] == 0.14
    assert window.spacing_box.spacing_m() == 0.14


def test_bad_spacings_in_settings_files_are_dropped(studio_folders):
    from spa2v_app.studio.model.settings import load_settings, settings_path
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"spacing_by_device": {"Phone": 0.15, "Far": 7.0, "Text": "x",
                                                      "Flag": True}}))
    assert load_settings().spacing_by_device == {"Phone": 0.15}


# -- a pan-pot mix's pan law ------------------------------------------------------------------

def test_the_pan_law_of_a_pan_pot_mix_reaches_plan_settings_and_the_project(
        qtbot, window, clip, tmp_path, monkeypatch):
    from spa2v_app.studio.model import tasks
    seen = []
    real_plan_job = tasks.plan_job

    def spy(audio_path, settings, **kw):
        seen.append((settings.stereo, settings.pan_law))
        return (yield from real_plan_job(audio_path, settings, **kw))

    monkeypatch.setattr(tasks, "plan_job", spy)
    import_clip(qtbot, window, clip)
    assert not window.pan_law_action.isVisible()  # only a pan-pot mix has a pan law
    _pick_by_keyboard(qtbot, window.stereo_combo, "panned")
    assert window.pan_law_action.isVisible() and not window.spacing_action.isVisible()
    combo = window.pan_law_combo
    assert [combo.itemData(i) for i in range(combo.count())] == list(PAN_LAWS)
    assert combo.pan_law() == "-3dB" and window.doc.pan_law is None  # not said: assumed
    _pick_by_keyboard(qtbot, combo, "-6dB")
    assert window.doc.pan_law == "-6dB" and window.doc.dirty
    layout = plan(qtbot, window)
    assert seen[-1] == ("panned", "-6dB")
    assert layout.extra["stereo"]["pan_law"] == "-6dB"  # the engine read it through that law
    path = window.doc.save(tmp_path / "p.spa2v")
    assert load_project(path).settings["pan_law"] == "-6dB"
    # Another kind plans without a pan law; back to a pan-pot mix, the project kept it.
    _pick_by_keyboard(qtbot, window.stereo_combo, "coincident")
    assert not window.pan_law_action.isVisible()
    plan(qtbot, window)
    assert seen[-1] == ("coincident", None)
    _pick_by_keyboard(qtbot, window.stereo_combo, "panned")
    assert window.pan_law_combo.pan_law() == "-6dB"
    assert heard_as(layout.extra["stereo"]) == \
        "Read as: pan-pot mix (your choice), -6 dB (linear) pan law"


def test_each_input_device_keeps_its_pan_law(qtbot, make_window):
    from spa2v_app.studio.model.settings import load_settings
    window = window_with_devices(make_window, "Game", "Desk")
    panel = window.record_panel
    panel.device_box.setCurrentIndex(0)
    assert panel.pan_law_box.isHidden()
    _pick_by_keyboard(qtbot, panel.stereo_box, "panned")
    assert not panel.pan_law_box.isHidden() and panel.spacing_box.isHidden()
    _pick_by_keyboard(qtbot, panel.pan_law_box, "-6dB")
    panel.device_box.setCurrentIndex(1)
    assert panel.pan_law_box.isHidden() and panel.pan_law() is None  # never answered: auto
    _pick_by_keyboard(qtbot, panel.stereo_box, "panned")
    assert panel.pan_law() == "-3dB"  # constant power until said
    _pick_by_keyboard(qtbot, panel.pan_law_box, "-4.5dB")
    panel.device_box.setCurrentIndex(0)
    assert panel.pan_law() == "-6dB"
    reloaded = load_settings()
    assert reloaded.pan_law_for("Game") == "-6dB" and reloaded.pan_law_for("Desk") == "-4.5dB"
    assert reloaded.pan_law_for("Never seen") is None

    # A recording made from the game is planned with the game's pan law.
    record_a_second(qtbot, window)
    assert window.doc.stereo == "panned" and window.doc.pan_law == "-6dB"
    assert window.doc.cues.stereo["pan_law"] == "-6dB"
    assert window.pan_law_combo.pan_law() == "-6dB"


def test_bad_pan_laws_in_settings_files_are_dropped(studio_folders):
    from spa2v_app.studio.model.settings import load_settings, settings_path
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pan_law_by_device": {"Game": "-6dB", "Odd": "-5dB",
                                                      "Num": 6, "Flag": True}}))
    assert load_settings().pan_law_by_device == {"Game": "-6dB"}
