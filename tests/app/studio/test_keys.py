"""The studio from the keyboard and with a screen reader: keys that reach what has the focus,
names a screen reader says, a list of the keys, pictures sharp on a 2x screen."""

from PySide6.QtCore import Qt

from .test_window import planned_and_active


def test_space_presses_the_focused_button_instead_of_playing(qtbot, window, clip):
    """Tab to a button and press Space: the button is pressed (Space played the sound)."""
    from PySide6.QtWidgets import QPushButton
    planned_and_active(qtbot, window, clip)
    clear = [b for b in window.queue_panel.findChildren(QPushButton)
             if b.text() == "Clear finished"][0]
    cleared = []
    clear.clicked.connect(lambda: cleared.append(True))
    clear.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(clear.hasFocus)
    qtbot.keyClick(clear, Qt.Key.Key_Space)
    assert cleared and not window.player.playing
    # The Record button too (reached by Tab only): Space starts a take, not playback.
    button = window.record_panel.button
    button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(button, Qt.Key.Key_Space)
    assert window.record_panel.recording and not window.player.playing
    qtbot.keyClick(button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.record_panel.recording)
    # A focused list opens with Space.
    combo = window.planner_combo
    combo.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(combo, Qt.Key.Key_Space)
    assert combo.view().isVisible() and not window.player.playing
    combo.hidePopup()
    # Where Space has no meaning of its own it still plays.
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Space)
    assert window.player.playing
    window.toggle_play()

