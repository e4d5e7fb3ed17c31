"""The window as a user meets it: shortcuts, a toolbar that fits a laptop screen, renames that
carry through to the prompt and caption, recovery after a crash, the render queue, settings."""

import pytest
from PySide6.QtGui import QKeySequence

from .helpers import import_clip, plan


def _press(qtbot, window, keys: str) -> None:
    seq = QKeySequence(keys)
    combo = seq[0]
    qtbot.keyClick(window, combo.key(), combo.keyboardModifiers())


class X11Keys(QKeySequence):
    """QKeySequence with X11's standard Redo (Ctrl+Shift+Z only; offscreen Qt has Ctrl+Y too)."""

    def __init__(self, *args):
        if args and args[0] == QKeySequence.StandardKey.Redo:
            args = ("Ctrl+Shift+Z",)
        super().__init__(*args)


@pytest.mark.parametrize("keys", ["platform", "x11"])
def test_redo_by_ctrl_y_and_ctrl_shift_z(qtbot, make_window, clip, monkeypatch, keys):
    if keys == "x11":
        monkeypatch.setattr("spa2v_app.studio.main_window.QKeySequence", X11Keys)
    window = make_window()
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    doc = window.doc
    doc.add_object("dog")
    assert len(doc.layout.objects) == 2
    for redo in ("Ctrl+Y", "Ctrl+Shift+Z"):
        _press(qtbot, window, "Ctrl+Z")
        assert len(doc.layout.objects) == 1
        _press(qtbot, window, redo)
        assert len(doc.layout.objects) == 2, redo


@pytest.mark.parametrize("keys", ["platform", "x11"])
def test_no_two_actions_share_a_shortcut(make_window, monkeypatch, keys):
    if keys == "x11":
        monkeypatch.setattr("spa2v_app.studio.main_window.QKeySequence", X11Keys)
    window = make_window()
    from PySide6.QtGui import QAction
    seen: dict[str, str] = {}
    for action in window.findChildren(QAction):
        for seq in action.shortcuts():
            key = seq.toString()
            assert key not in seen, (key, seen.get(key), action.text())  # ambiguous: dead
            seen[key] = action.text()
    assert seen["Ctrl+Y"] == seen["Ctrl+Shift+Z"] == window.act_redo.text()


def test_record_panel_finds_a_microphone_plugged_in_after_start(make_window):
    from spa2v_app.studio.recording import InputDevice
    plugged: list = []
    window = make_window(list_devices=lambda: (list(plugged), None if plugged else "No input"))
    panel, dock = window.record_panel, window.docks["record"]
    assert panel.devices == [] and not panel.button.isEnabled()
    plugged.append(InputDevice(4, "USB stereo mic", 2, 48000.0))
    dock.hide()
    dock.show()  # the user opens the panel again
    assert [d.name for d in panel.devices] == ["USB stereo mic"] and panel.button.isEnabled()
    assert panel.note.text() != "No input"
