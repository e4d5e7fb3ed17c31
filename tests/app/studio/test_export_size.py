"""Export's frame size: a video maker posts square, 16:9 HD or a phone's upright 9:16, and the
studio wrote every video at the layout's size (512 x 512 when planned there), with no way to
ask for another."""

import cv2
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from .helpers import finished, import_clip, plan


def _dialog(tmp_path, **kw):
    from spa2v_app.studio.dialogs import ExportDialog
    return ExportDialog(tmp_path / "scene", renderer="preview", fps=12, can_reuse=False, **kw)


def test_the_export_dialog_offers_the_sizes_video_makers_post(qtbot, tmp_path):
    dlg = _dialog(tmp_path)
    qtbot.addWidget(dlg)
    offered = [dlg.size.itemData(k) for k in range(dlg.size.count())]
    assert {"512x512", "1080x1080", "1280x720", "1920x1080", "1080x1920"} <= set(offered)
    assert dlg.size.accessibleName() == "Frame size"
    # by the keyboard: the field takes the focus with Tab, and the arrows choose
    assert dlg.size.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert dlg.size.currentData() == "512x512"  # the layout's own size, as before
    dlg.show()
    dlg.size.setFocus()
    qtbot.keyClick(dlg.size, Qt.Key.Key_Down)
    assert dlg.request().size == (1080, 1080)


def test_a_layout_of_another_size_is_offered_as_it_is(qtbot, tmp_path):
    dlg = _dialog(tmp_path, layout_size=(640, 480))
    qtbot.addWidget(dlg)
    assert dlg.size.currentData() == "640x480" and dlg.request().size == (640, 480)
    remembered = _dialog(tmp_path, size="1080x1920", layout_size=(640, 480))
    qtbot.addWidget(remembered)
    assert remembered.request().size == (1080, 1920)


def test_the_last_render_is_copied_only_at_its_own_size(qtbot, tmp_path):
    from spa2v_app.studio.dialogs import ExportDialog
    dlg = ExportDialog(tmp_path / "scene", renderer="preview", fps=12, can_reuse=True,
                       render_size="512x512")
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.request().reuse_render
    dlg.size.setCurrentIndex(dlg.size.findData("1920x1080"))
    assert not dlg.request().reuse_render and not dlg.reuse.isEnabled()


def test_export_writes_the_chosen_size_and_remembers_it(qtbot, window, clip, tmp_path,
                                                        monkeypatch):
    from spa2v_app.studio.dialogs import ExportDialog
    from spa2v_app.studio.model.settings import StudioSettings, load_settings
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    out = tmp_path / "phone.mp4"
    queued = []

    def choose(dlg):  # what the user does in the dialog: 9:16, video only, Export
        dlg.size.setCurrentIndex(dlg.size.findData("1080x1920"))
        dlg.mp4.setText(str(out))
        dlg.json_on.setChecked(False)
        return QDialog.DialogCode.Accepted
    monkeypatch.setattr(ExportDialog, "exec", choose)
    real_export = window.export
    monkeypatch.setattr(window, "export", lambda req: queued.extend(real_export(req)) or queued)
    window.export_dialog()
    assert len(queued) == 1
    finished(qtbot, queued[0], timeout=60_000)
    video = cv2.VideoCapture(str(out))
    size = (video.get(cv2.CAP_PROP_FRAME_WIDTH), video.get(cv2.CAP_PROP_FRAME_HEIGHT))
    video.release()
    assert size == (1080, 1920)
    assert window.doc.latest_render().settings["size"] == "1080x1920"
    assert window.settings.video_size == "1080x1920"
    assert load_settings().video_size == "1080x1920"
    # a size the studio does not offer (a hand-edited file) falls back to the layout's
    assert StudioSettings.from_dict({"video_size": "7x7"}).video_size == ""
