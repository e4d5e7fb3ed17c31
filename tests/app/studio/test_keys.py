"""The studio from the keyboard and with a screen reader: keys that reach what has the focus,
names a screen reader says, a list of the keys, pictures sharp on a 2x screen."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

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


def _said_as(w) -> str:
    """What a screen reader says a control is: its accessible name, else its label's text (a
    label whose buddy it is, the relation Linux's readers follow), else Qt's name for it, which
    for a list box on Linux is only its current value: not what it chooses."""
    from PySide6.QtGui import QAccessible
    from PySide6.QtWidgets import QComboBox, QLabel
    if w.accessibleName():
        return w.accessibleName()
    for label in w.window().findChildren(QLabel):
        if label.buddy() is w and label.text().replace("&", "").strip():
            return label.text().replace("&", "").strip()
    if isinstance(w, QComboBox):
        return ""
    face = QAccessible.queryAccessibleInterface(w)
    return face.text(QAccessible.Text.Name) if face else ""


def _unclear_names(top) -> list[str]:
    """Controls Tab reaches in ``top`` that a screen reader says as nothing, or as another
    control is said (three "Browse…"); each page of a tab widget in turn."""
    from PySide6.QtWidgets import QAbstractScrollArea, QTabWidget, QWidget
    said = {}
    for tabs in [None] + top.findChildren(QTabWidget):
        for page in range(tabs.count()) if tabs else [None]:
            if tabs:
                tabs.setCurrentIndex(page)
            for w in top.findChildren(QWidget):
                parent = w.parentWidget()
                if (w.isVisibleTo(top) and w.focusPolicy() & Qt.FocusPolicy.TabFocus
                        and w.focusProxy() is None
                        and not (isinstance(parent, QAbstractScrollArea)
                                 and parent.viewport() is w)):
                    said[w] = _said_as(w)
    names = list(said.values())
    return [f"{type(w).__name__} {name!r}" for w, name in said.items()
            if not name or names.count(name) > 1]


def test_every_dialog_control_says_what_it_is(qtbot, window, tmp_path, monkeypatch):
    """The path fields had no name at all (their label names the row's box, not the field),
    the three Browse… and every Download were alike, the models table had no name."""
    from spa2v_app.studio.canvas import ObjectDialog
    from spa2v_app.studio.dialogs import ExportDialog, SceneDialog, SettingsDialog
    for dlg in (ExportDialog(tmp_path / "take", renderer="preview", fps=8.0, can_reuse=True,
                             parent=window),
                SettingsDialog(window.settings, window, download=lambda name: None),
                SceneDialog("a dog barks", "a park", window),
                ObjectDialog("dog", "a dog", "static", window)):
        qtbot.addWidget(dlg)
        dlg.show()
        assert _unclear_names(dlg) == [], dlg.windowTitle()
        dlg.close()


def test_every_window_control_says_what_it_is(qtbot, window, clip):
    """The planner and renderer lists had no label (said as their value: "Built-in")."""
    planned_and_active(qtbot, window, clip)
    assert _unclear_names(window) == []


def test_home_and_end_move_the_playhead_to_the_ends_of_the_clip(qtbot, window, clip):
    """There was no key for it: a drag to the edge, or Left held over every frame."""
    from .helpers import import_clip
    import_clip(qtbot, window, clip)  # before a plan too
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    doc = window.doc
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_End)
    assert doc.time_s == pytest.approx(doc.duration_s) and doc.duration_s > 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_Home)
    assert doc.time_s == 0.0
    # In a text field they stay the field's: the cursor moves, not the playhead.
    window.hint_edit.setText("a red car")
    window.hint_edit.setFocus()
    window.hint_edit.setCursorPosition(3)
    qtbot.keyClick(window.hint_edit, Qt.Key.Key_End)
    assert window.hint_edit.cursorPosition() == len("a red car") and doc.time_s == 0.0
    # In a list they stay the list's: its first and last entry.
    combo = window.stereo_combo
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_End)
    assert combo.currentIndex() == combo.count() - 1 and doc.time_s == 0.0
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    assert combo.currentIndex() == 0
    sound = [m for m in window.menuBar().actions() if m.text() == "&Sound"][0].menu()
    assert window.act_start in sound.actions() and window.act_end in sound.actions()


def test_f1_lists_every_key_of_the_window(qtbot, window, clip):
    """There was no list of the keys anywhere in the app (Help had About only)."""
    from PySide6.QtGui import QAction, QKeySequence
    planned_and_active(qtbot, window, clip)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_F1)
    dlg = window._keys_dialog
    qtbot.waitUntil(dlg.isVisible)
    listed = "\n".join("  ".join(row) for row in dlg.rows())
    for action in window.findChildren(QAction):
        for key in action.shortcuts():
            assert key.toString(QKeySequence.SequenceFormat.NativeText) in listed, action.text()
            assert action.text().rstrip("…") in listed
    assert "Space" in listed and "Tab" in listed
    help_menu = [m for m in window.menuBar().actions() if m.text() == "&Help"][0].menu()
    assert window.act_keys in help_menu.actions()
    assert _unclear_names(dlg) == []
    qtbot.waitUntil(dlg.isActiveWindow)
    qtbot.keyClick(dlg.table, Qt.Key.Key_Escape)
    assert not dlg.isVisible()


@pytest.mark.parametrize("scale", [2.0, 3.0])
def test_icons_have_the_pixels_of_a_high_density_screen(window, scale):
    """On a 2x screen the toolbar's 24 px icons came from 32 pixels, stretched to 48: blurred."""
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QToolButton
    buttons = [window.toolbar.widgetForAction(a) for a in window.toolbar.actions()
               if not a.icon().isNull()] + window.editor.findChildren(QToolButton)
    assert len(buttons) > 10
    for button in buttons:
        side = button.iconSize().width()
        pm = button.icon().pixmap(QSize(side, side), scale)
        assert pm.width() >= side * scale and pm.devicePixelRatio() >= scale, button.toolTip()


def test_the_focus_shows_wherever_tab_goes(qtbot, window, clip):
    """The layout canvas, its buttons, the queue's and the timeline's buttons and the timeline
    looked the same with the focus as without: Tab went on where nobody could see it (the
    style sheet that shapes a tool button or a frame replaces Fusion's focus drawing)."""
    planned_and_active(qtbot, window, clip)
    window.hint_edit.setFocus(Qt.FocusReason.TabFocusReason)
    unseen, met = [], set()
    for _ in range(40):
        w = window.focusWidget()
        if w in met:
            break
        met.add(w)
        focused = w.grab().toImage()
        qtbot.keyClick(w, Qt.Key.Key_Tab)
        assert window.focusWidget() is not w
        if w.grab().toImage() == focused:
            unseen.append(f"{type(w).__name__} {w.accessibleName() or w.toolTip()}")
    assert len(met) > 15 and unseen == []


def test_the_box_menu_and_its_entries_are_reached_from_the_keyboard(qtbot, window, clip):
    """The Menu key on the canvas gave the empty frame's menu (Qt places a keyboard menu at the
    view's corner), so "Hide on this frame" and the names a sound was heard as (the timeline
    lane's right-click) were for the mouse only."""
    from PySide6.QtCore import QPoint, QTimer
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QApplication, QMenu

    from engine.cues.types import Tag
    from engine.planning.heuristic import plan_layout_from_cues
    from tests.engine.planning.cuekit import cues, track
    doc = planned_and_active(qtbot, window, clip)
    c = cues(track(1, -45, label="truck"))
    c.sources[0].tags.append(Tag("vehicle", 0.73, "Vehicle"))
    doc.apply_plan(plan_layout_from_cues(c))
    doc.select(-1)
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    oid = doc.selected_id
    assert oid >= 0
    shown = []

    def read_and_close() -> None:
        menu = QApplication.activePopupWidget()
        shown.append([x.text() for x in menu.actions()] if isinstance(menu, QMenu) else None)
        if menu is not None:
            menu.close()
    QTimer.singleShot(200, read_and_close)
    corner = QPoint(5, 5)  # where Qt puts a keyboard menu
    QApplication.sendEvent(window.canvas, QContextMenuEvent(
        QContextMenuEvent.Reason.Keyboard, corner, window.canvas.mapToGlobal(corner)))
    assert shown and "Hide on this frame" in shown[-1], shown
    # The same from the Edit menu.
    frame = doc.current_frame()
    window.act_hide.trigger()
    assert doc.layout.object(oid).boxes[frame] is None
    window.heard_as_menu.aboutToShow.emit()
    names = {a.text(): a for a in window.heard_as_menu.actions() if a.isCheckable()}
    assert set(names) == {"truck", "vehicle"}
    names["vehicle"].trigger()
    assert doc.layout.object(oid).label == "vehicle"


def test_labels_in_object_colours_are_legible_on_the_dark_theme(qtbot, window, clip):
    """The object colours share one lightness, so blue and violet ones are dark: a car's
    label was #111 on a blue tag (2.9:1), its lane title blue on the timeline's black (2.7:1)."""
    import zlib

    from spa2v_app.studio import theme
    labels = [f"thing {k}" for k in range(400)]
    hues = {zlib.crc32(lab.encode()) % 360 for lab in labels}
    assert len(hues) > 200  # every kind of colour
    for lab in labels:
        fill = theme.object_qcolor(lab)
        assert theme.contrast(theme.ink_on(fill), fill) >= theme.TEXT_CONTRAST, lab
        title = theme.readable_on(fill, theme.BASE)
        assert theme.contrast(title, theme.BASE) >= theme.TEXT_CONTRAST, lab
    # As drawn: the tag above a car's box has light letters on its blue.
    doc = planned_and_active(qtbot, window, clip)
    oid = doc.layout.objects[0].id
    doc.update_object(oid, label="car", prompt="a car")
    doc.select(-1)
    qtbot.wait(50)
    item = window.canvas.items_by_id[oid]
    assert theme.contrast(theme.object_qcolor("car"), QColor("#111")) < 3.5
    corner = window.canvas.mapFromScene(item.rect().topLeft())
    image = window.canvas.viewport().grab().toImage()
    tag = [image.pixelColor(x, y) for x in range(corner.x(), corner.x() + 40)
           for y in range(max(0, corner.y() - 22), corner.y() - 2)]
    assert any(min(c.red(), c.green(), c.blue()) > 200 for c in tag)


def _dialogs(window, tmp_path):
    from spa2v_app.studio.canvas import ObjectDialog
    from spa2v_app.studio.dialogs import ExportDialog, KeysDialog, SceneDialog, SettingsDialog
    return (lambda: ExportDialog(tmp_path / "take", renderer="preview", fps=8.0,
                                 can_reuse=False, parent=window),
            lambda: SettingsDialog(window.settings, window, download=lambda name: None),
            lambda: SceneDialog("a dog barks", "a park", window),
            lambda: ObjectDialog("dog", "a dog", "static", window),
            lambda: KeysDialog(window.menuBar(), window))


def test_tab_goes_round_each_dialog_and_enter_and_esc_answer_it(qtbot, window, tmp_path):
    """In Settings, Tab went into the models table and on from cell to cell, round and round:
    OK and Cancel were never reached."""
    from PySide6.QtWidgets import QApplication, QWidget
    for make in _dialogs(window, tmp_path):
        dlg = make()
        qtbot.addWidget(dlg)
        dlg.show()
        dlg.activateWindow()
        qtbot.waitUntil(dlg.isActiveWindow)
        controls = [w for w in dlg.findChildren(QWidget) if w.isVisibleTo(dlg)
                    and w.focusPolicy() & Qt.FocusPolicy.TabFocus and w.focusProxy() is None]
        start, met = QApplication.focusWidget(), set()
        for _ in range(len(controls) + 1):
            met.add(QApplication.focusWidget())
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
            if QApplication.focusWidget() is start:
                break
        assert QApplication.focusWidget() is start, (dlg.windowTitle(), len(met))
        dlg.close()
        for key, code in ((Qt.Key.Key_Return, 1), (Qt.Key.Key_Escape, 0)):
            dlg = make()
            qtbot.addWidget(dlg)
            dlg.show()
            dlg.activateWindow()
            qtbot.waitUntil(dlg.isActiveWindow)
            ended = []
            dlg.finished.connect(ended.append)
            qtbot.keyClick(QApplication.focusWidget(), key)
            # Enter answers OK (Export, Close in the keys list: Esc's), Esc cancels.
            assert ended == [code if dlg.windowTitle() != "Keyboard shortcuts" else 0], \
                (dlg.windowTitle(), key)


def test_esc_during_a_drag_puts_the_box_back(qtbot, window, clip):
    """Esc went to the banner and the drag landed where the mouse was let go: a drag begun by
    mistake could only be undone after it landed."""
    from .helpers import view_point
    doc = planned_and_active(qtbot, window, clip)
    obj = doc.layout.objects[0]
    frame = doc.current_frame()
    before = obj.boxes[frame]
    steps = doc.undo_stack.count()
    canvas, vp = window.canvas, window.canvas.viewport()
    start = view_point(canvas, (before[0] + before[2]) / 2, (before[1] + before[3]) / 2)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, 5):
        qtbot.mouseMove(vp, start + (view_point(canvas, 0.1, 0.1) - start) * (k / 4))
    assert canvas.items_by_id[obj.id].rect().left() != before[0] * canvas.frame_size()[0]
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_point(canvas, 0.1, 0.1))
    assert doc.layout.object(obj.id).boxes[frame] == before
    assert doc.undo_stack.count() == steps
    w, h = canvas.frame_size()
    assert canvas.items_by_id[obj.id].rect().left() == pytest.approx(before[0] * w)


def test_left_and_right_step_the_playhead_before_a_plan(qtbot, window, clip):
    """Before a plan Left and Right did nothing: the playhead moved only with the mouse."""
    from .helpers import import_clip
    import_clip(qtbot, window, clip)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    doc = window.doc
    assert doc.layout is None and doc.time_s == 0.0
    step = doc.cues.duration_s / doc.cues.num_frames
    window.canvas.setFocus()
    for _ in range(3):
        qtbot.keyClick(window.canvas, Qt.Key.Key_Right)
    assert doc.time_s == pytest.approx(3.5 * step)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Left)
    assert doc.time_s == pytest.approx(2.5 * step)


def test_a_warning_or_an_error_is_announced_to_a_screen_reader(window, monkeypatch):
    """The banner appeared over the canvas without a word to a screen reader: a failed render
    was silent to a user who cannot see it."""
    from spa2v_app.studio import accessible
    said = []
    monkeypatch.setattr(accessible, "announce", lambda w: said.append((w.accessibleName(),
                                                                       w.text())))
    window.show_message("Cannot render: the sound is not there.", "error")
    window.show_message("Planned 2 objects.", "info")  # the status bar's: not an alert
    assert [(name, text.split("   (")[0]) for name, text in said] == [
        ("Error", "Cannot render: the sound is not there.")]


def test_every_button_without_words_has_a_tooltip(qtbot, window, clip):
    """The panels' float and close buttons were icons with no tooltip: nothing said what they
    did, nor that View brings a closed panel back."""
    from PySide6.QtWidgets import QAbstractButton, QToolButton
    planned_and_active(qtbot, window, clip)
    silent = []
    for b in window.findChildren(QAbstractButton):
        icon_only = not b.text().replace("&", "").strip() or (
            isinstance(b, QToolButton)
            and b.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly)
        if b.isVisibleTo(window) and icon_only and not b.toolTip():
            silent.append(b.objectName() or b.accessibleName())
    assert silent == []
    close = window.docks["record"].findChild(QAbstractButton, "qt_dockwidget_closebutton")
    assert "View > Record" in close.toolTip()


def test_space_presses_a_button_in_a_floating_panel(qtbot, window, clip):
    """A panel floated in a window of its own: Space on its focused Record button played."""
    planned_and_active(qtbot, window, clip)
    dock = window.docks["record"]
    dock.setFloating(True)
    dock.activateWindow()
    qtbot.waitUntil(dock.isActiveWindow)
    button = window.record_panel.button
    button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(button.hasFocus)
    qtbot.keyClick(button, Qt.Key.Key_Space)
    assert window.record_panel.recording and not window.player.playing
    qtbot.keyClick(button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.record_panel.recording)


def test_enter_in_the_hint_field_plans_with_it(qtbot, window, clip):
    """Typing what is sounding and pressing Enter did nothing; Ctrl+L was needed."""
    from .helpers import import_clip
    import_clip(qtbot, window, clip)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.hint_edit.setFocus()
    qtbot.keyClicks(window.hint_edit, "a red car")
    qtbot.keyClick(window.hint_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.doc.layout is not None, timeout=30_000)
    assert window.doc.layout.objects[0].label == "car"


def test_the_record_button_reads_while_recording(qtbot, window):
    """While recording the button said "Stop" in white on a light red: 3.9:1."""
    from spa2v_app.studio import theme
    button = window.record_panel.button
    button.click()
    qtbot.waitUntil(lambda: window.record_panel.recording)
    image = button.grab().toImage()
    background = image.pixelColor(4, image.height() // 2)
    window.record_panel.button.click()
    qtbot.waitUntil(lambda: not window.record_panel.recording)
    assert background.red() > 150 and background.green() < 100  # the red of a take
    assert theme.contrast(background, QColor("white")) >= theme.TEXT_CONTRAST


def test_ctrl_shift_arrows_resize_the_selected_box(qtbot, window, clip):
    """A box could be resized only by dragging its edge: not from the keyboard."""
    doc = planned_and_active(qtbot, window, clip)
    oid = doc.layout.objects[0].id
    doc.select(oid)
    frame = doc.current_frame()
    x0, y0, x1, y1 = doc.layout.object(oid).boxes[frame]
    steps = doc.undo_stack.count()
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert doc.layout.object(oid).boxes[frame] == pytest.approx((x0, y0, x1 - 0.01, y1 + 0.01))
    assert doc.undo_stack.count() == steps + 2 and doc.current_frame() == frame
    assert "Resize" in doc.undo_stack.undoText()


def test_the_timeline_zoom_buttons_are_said_in_words(window):
    """They were said as their signs: "minus", "plus"."""
    from PySide6.QtWidgets import QToolButton
    names = [b.accessibleName() for b in window.timeline.findChildren(QToolButton)]
    assert names == ["Zoom out", "Zoom in", "Show the whole clip"]


def test_no_two_actions_look_alike(window):
    """The canvas bar's Rename / properties had Settings' gear and Scene had Plan's boxes: an
    icon-only button looked like a toolbar button that does something else."""
    from PySide6.QtWidgets import QToolButton
    seen = []
    buttons = [window.toolbar.widgetForAction(a) for a in window.toolbar.actions()]
    buttons += window.editor.findChildren(QToolButton)
    for action in {b.defaultAction() for b in buttons if isinstance(b, QToolButton)}:
        if action is None or action.icon().isNull():
            continue
        image = action.icon().pixmap(32, 32).toImage()
        other = next((text for known, text in seen if known == image), None)
        assert other is None, (action.text(), other)
        seen.append((image, action.text()))


def test_f6_moves_from_panel_to_panel(qtbot, window, clip):
    """Tab was the only way between panels: from the canvas to the timeline it went through
    every job's buttons in the queue, from the toolbar through all of the Record panel."""
    from PySide6.QtWidgets import QApplication
    planned_and_active(qtbot, window, clip)
    window.canvas.setFocus()
    qtbot.waitUntil(window.canvas.hasFocus)
    met = []
    for _ in range(5):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F6)
        met.append(QApplication.focusWidget())
    assert met == [window.queue_panel.list, window.timeline.area, window.stereo_combo,
                   window.record_panel.device_box, window.canvas]
    qtbot.keyClick(window.canvas, Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is window.record_panel.device_box
    window.docks["record"].hide()  # a closed panel is left out
    window.stereo_combo.setFocus()
    qtbot.keyClick(window.stereo_combo, Qt.Key.Key_F6)
    assert QApplication.focusWidget() is window.canvas


def test_delete_in_the_render_queue_or_record_panel_deletes_no_box(qtbot, window, clip):
    """Delete with the focus in the queue (Tabbed to a job's button) deleted the selected
    box, which the user was not looking at; on the canvas it still deletes it."""
    from PySide6.QtWidgets import QPushButton
    planned_and_active(qtbot, window, clip)
    count = len(window.doc.layout.objects)
    window.doc.select(window.doc.layout.objects[0].id)
    clear = [b for b in window.queue_panel.findChildren(QPushButton)
             if b.text() == "Clear finished"][0]
    for control in (clear, window.record_panel.device_box):
        control.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(control.hasFocus)
        qtbot.keyClick(control, Qt.Key.Key_Delete)
        assert len(window.doc.layout.objects) == count
    window.canvas.setFocus()
    qtbot.waitUntil(window.canvas.hasFocus)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Delete)
    assert len(window.doc.layout.objects) == count - 1
