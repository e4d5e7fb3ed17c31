"""Export never harms the user's files: the sound it was made from (which may be a video) is
never written over, and the proposed names are the ones the user sees."""

import numpy as np

from engine.export.mp4 import Mp4Writer

from .helpers import finished, import_clip, plan, wait_job


def _video_with_sound(path, clip):
    """A short MP4 whose sound is ``clip``: what a user imports when the sound is a video."""
    with Mp4Writer(path, fps=12, size=(64, 64), audio_path=clip, duration_s=2.0) as w:
        w.write(np.zeros((64, 64, 3), np.uint8))
    return path


def _request(mp4, *, reuse=False):
    from spa2v_app.studio.dialogs import ExportRequest
    return ExportRequest(mp4=mp4, frames_dir=None, layout_json=None, renderer="preview",
                         fps=12, reuse_render=reuse)


def test_export_refuses_to_write_over_the_imported_video(qtbot, window, clip, tmp_path):
    video = _video_with_sound(tmp_path / "holiday.mp4", clip)
    before = video.read_bytes()
    import_clip(qtbot, window, video)
    plan(qtbot, window)
    assert window.export(_request(video)) == []
    text, level = window.last_message
    assert level == "error" and "also an input" in text
    # The same through the "use the last render" copy.
    finished(qtbot, window.render(tmp_path / "r.mp4", fps=12))
    assert window.doc.render_is_current(window.doc.latest_render())
    assert window.export(_request(video, reuse=True)) == []
    window.queue.wait_all(10)
    assert video.read_bytes() == before


def test_export_dialog_does_not_propose_the_imported_video(qtbot, window, clip, tmp_path):
    from spa2v_app.studio.dialogs import ExportDialog
    video = _video_with_sound(tmp_path / "holiday.mp4", clip)
    import_clip(qtbot, window, video)
    assert window._save_to(tmp_path / "holiday.spa2v")
    dlg = ExportDialog(window.export_base(), renderer="preview", fps=12, can_reuse=False)
    qtbot.addWidget(dlg)
    assert dlg.request().mp4 == tmp_path / "holiday-spa2v.mp4"
    assert dlg.request().layout_json == tmp_path / "holiday-spa2v.json"


def test_export_dialog_keeps_a_name_with_dots(qtbot, tmp_path):
    from spa2v_app.studio.dialogs import ExportDialog
    dlg = ExportDialog(tmp_path / "take.01", renderer="preview", fps=12, can_reuse=False)
    qtbot.addWidget(dlg)
    assert dlg.request().mp4 == tmp_path / "take.01.mp4"  # not take.mp4, another take's name
    assert dlg.request().layout_json == tmp_path / "take.01.json"


def _frames_request(folder):
    from spa2v_app.studio.dialogs import ExportRequest
    return ExportRequest(mp4=None, frames_dir=folder, layout_json=None, renderer="preview",
                         fps=6, reuse_render=False)


def test_frames_into_an_impossible_folder_say_where_and_why(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    blocker = tmp_path / "notes.txt"
    blocker.write_text("the user's")
    [job] = window.export(_frames_request(blocker / "frames"))
    wait_job(qtbot, job)
    # Was "FileExistsError: [Errno 17] File exists: ..." (and a traceback, as for a bug).
    assert job.state == "failed" and job.message.startswith(f"Could not write {blocker / 'frames'}")
    assert "Error" not in job.message and blocker.read_text() == "the user's"


def test_frames_onto_a_full_disk_say_so_and_leave_nothing(qtbot, window, clip, tmp_path,
                                                          monkeypatch):
    import errno
    import pathlib
    import_clip(qtbot, window, clip)
    plan(qtbot, window)

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    [job] = window.export(_frames_request(tmp_path / "out" / "frames"))
    wait_job(qtbot, job)
    assert job.state == "failed"
    assert job.message == f"Could not write {tmp_path / 'out' / 'frames'}: No space left on device."
    assert list((tmp_path / "out").iterdir()) == []


def test_export_dialog_asks_before_replacing_a_file(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from spa2v_app.studio.dialogs import ExportDialog
    mine = tmp_path / "scene.json"
    mine.write_text("the user's own plan")
    asked = []

    def answer(reply):
        def question(parent, title, text, *a, **k):
            asked.append(text)
            return reply
        return question
    dlg = ExportDialog(tmp_path / "scene", renderer="preview", fps=12, can_reuse=False)
    qtbot.addWidget(dlg)
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    dlg.accept()
    assert dlg.result() != dlg.DialogCode.Accepted and "scene.json" in asked[-1]
    assert mine.read_text() == "the user's own plan"
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    dlg.accept()
    assert dlg.result() == dlg.DialogCode.Accepted
    # Nothing there: no question.
    asked.clear()
    fresh = ExportDialog(tmp_path / "new", renderer="preview", fps=12, can_reuse=False)
    qtbot.addWidget(fresh)
    fresh.accept()
    assert fresh.result() == fresh.DialogCode.Accepted and asked == []


def test_a_plan_that_ends_after_another_import_is_not_applied(qtbot, window, clip, tmp_path,
                                                              monkeypatch):
    # Import is concurrent: a plan of the first sound used to land on the second one, an 8 s
    # layout over 2 s of sound, which the render then refused.
    import threading

    from engine.jobs import Progress
    from spa2v_app.studio.model import tasks
    from tests.synth import panned_noise, write_wav
    gate = threading.Event()
    real = tasks.studio_plan_job

    def held(*args, **kw):
        result = yield from real(*args, **kw)
        while not gate.wait(0.02):
            yield Progress("plan", 0.99)
        return result
    monkeypatch.setattr(tasks, "studio_plan_job", held)
    import_clip(qtbot, window, clip)
    job = window.plan()
    other = write_wav(tmp_path / "other.wav", panned_noise(-40, duration_s=1.0, seed=5))
    import_clip(qtbot, window, other)
    gate.set()
    wait_job(qtbot, job)
    assert window.doc.project.audio_path == other and window.doc.layout is None
    text, level = window.last_message
    assert level == "warning" and "sweep.wav" in text and "Plan again" in text
