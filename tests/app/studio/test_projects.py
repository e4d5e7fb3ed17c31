"""Projects as a user meets them: results of jobs that end after another project was opened,
several imports at once."""

import threading

from tests.synth import panned_noise, write_wav

from .helpers import import_clip, plan, wait_job


def test_an_import_that_ends_after_a_project_was_opened_is_not_put_into_it(qtbot, window, clip,
                                                                            tmp_path):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    project = tmp_path / "scene.spa2v"
    assert window._save_to(project)
    window.new_project()
    other = write_wav(tmp_path / "other.wav", panned_noise(-30, duration_s=3.0, seed=4))
    late = window.import_audio(other)  # still running when the project is opened
    assert window.open_project(project)
    wait_job(qtbot, late)
    qtbot.waitUntil(lambda: not window.queue.running(), timeout=30_000)
    qtbot.waitUntil(lambda: window.doc.audio is not None)
    # It replaced the opened project's sound and dropped its layout, without a word.
    doc = window.doc
    assert doc.project.audio_path == clip and doc.audio.duration_s == 2.0
    assert doc.layout is not None and doc.layout.duration_s == 2.0 and not doc.dirty
    text, level = window.last_message
    assert level == "warning" and "other.wav was not used" in text


def test_the_latest_import_asked_for_wins(qtbot, window, clip, tmp_path, monkeypatch):
    from spa2v_app.studio.model import tasks
    gate, real = threading.Event(), tasks.import_job

    def import_job(path, token, **kw):
        if path == clip:
            gate.wait(30)  # the first import asked for is the slow one
        return (yield from real(path, token, **kw))
    monkeypatch.setattr(tasks, "import_job", import_job)
    other = write_wav(tmp_path / "other.wav", panned_noise(-30, duration_s=3.0, seed=4))
    slow = window.import_audio(clip)
    fast = window.import_audio(other)
    wait_job(qtbot, fast)
    gate.set()
    wait_job(qtbot, slow)
    assert window.doc.project.audio_path == other and window.doc.audio.duration_s == 3.0


def test_a_plan_or_render_that_ends_after_new_project_stays_out_of_it(qtbot, window, clip,
                                                                        tmp_path):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    render = window.render(tmp_path / "out.mp4")
    window.new_project()
    import_clip(qtbot, window, clip)  # the same sound again, into the new project
    replan = window.plan()
    window.new_project()
    import_clip(qtbot, window, clip)
    wait_job(qtbot, render)
    wait_job(qtbot, replan)
    assert render.state == "finished" and (tmp_path / "out.mp4").exists()
    # The render was listed in, and the plan put into, a project they were not made for.
    assert window.doc.project.renders == [] and window.doc.layout is None


def test_render_of_a_project_whose_sound_is_gone_says_what_to_do(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    project = tmp_path / "scene.spa2v"
    assert window._save_to(project)
    clip.rename(tmp_path / "moved.wav")
    window.new_project()
    assert window.open_project(project)
    assert window.act_render.isEnabled()  # the layout is there: it can be rendered ...
    # ... but the render was queued and failed with "Audio file not found: ..." only.
    assert window.render(tmp_path / "out.mp4") is None
    text, level = window.last_message
    assert level == "error" and text.startswith("Cannot render") and "import it again" in text
    assert str(clip) in text


def test_the_window_comes_back_as_it_was_closed(qtbot, make_window, clip, tmp_path):
    from spa2v_app.studio.model.settings import load_settings
    window = make_window()
    window.resize(1100, 560)  # (offscreen Qt's screen is 800 px square: widths are clamped)
    window.docks["queue"].hide()
    import_clip(qtbot, window, clip)
    window.doc.mark_clean()
    assert window.close()
    settings = load_settings()
    # Every start was 1440x900 with every panel shown.
    again = make_window(settings=settings)
    assert again.height() == 560
    assert not again.docks["queue"].isVisible() and again.docks["timeline"].isVisible()


def test_a_damaged_window_layout_in_the_preferences_is_ignored(make_window):
    from spa2v_app.studio.model.settings import StudioSettings
    window = make_window(settings=StudioSettings(window_geometry="é not base64",
                                                 window_state="AAAA"))
    assert window.docks["timeline"].isVisible()


def test_open_and_save_remember_their_folder(qtbot, window, clip, tmp_path):
    from spa2v_app.studio.model.settings import load_settings
    import_clip(qtbot, window, clip)
    folder = tmp_path / "projects"
    assert window._save_to(folder / "scene.spa2v")
    # Saved at once: the recent list and the folder outlive a crash.
    assert load_settings().start_folder() == folder
    assert load_settings().recent == [str(folder / "scene.spa2v")]


def test_save_as_a_name_without_suffix_asks_before_replacing_that_project(qtbot, window, clip,
                                                                         tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QMessageBox
    existing = tmp_path / "scene.spa2v"
    existing.write_text("the other project")
    import_clip(qtbot, window, clip)
    # Typed "scene": the file dialog had nothing to ask about; scene.spa2v was replaced.
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "scene"), ""))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a:
                        asked.append(text) or QMessageBox.StandardButton.Cancel)
    assert not window.save_project_as()
    assert existing.read_text() == "the other project" and "scene.spa2v" in asked[0]
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a: QMessageBox.StandardButton.Yes)
    assert window.save_project_as() and window.doc.project.path == existing


def test_closing_with_a_render_running_asks_first(qtbot, window, clip, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from spa2v_app.studio.model import tasks
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    gate, real = threading.Event(), tasks.studio_render_job

    def slow_render(*a, **kw):
        gate.wait(30)
        return (yield from real(*a, **kw))
    monkeypatch.setattr(tasks, "studio_render_job", slow_render)
    render = window.render(tmp_path / "long.mp4")
    qtbot.waitUntil(lambda: render.state == "running")
    del window.ask_cancel_jobs  # the fixture's stand-in: ask for real
    asked, answer = [], [QMessageBox.StandardButton.Cancel]
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a:
                        asked.append(text) or answer[0])
    # It was cancelled without a word.
    assert not window.close()
    assert render.state == "running" and "Render long.mp4" in asked[0]
    answer[0] = QMessageBox.StandardButton.Yes
    gate.set()
    assert window.close()
    wait_job(qtbot, render)


def test_a_project_whose_sound_is_a_pipe_says_so_instead_of_hanging(qtbot, window, clip,
                                                                    tmp_path):
    import json
    import os
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    project = tmp_path / "scene.spa2v"
    assert window._save_to(project)
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    data = json.loads(project.read_text())
    data["audio"] = {"path": "pipe.wav", "path_abs": str(fifo)}
    project.write_text(json.dumps(data))
    window.new_project()
    assert window.open_project(project)
    job = [j for j in window.queue.jobs if j.kind == "import"][-1]
    # Reading the pipe blocked the worker for ever (no cancel reached it; quitting aborted).
    wait_job(qtbot, job, timeout=10_000)
    assert job.state == "failed" and "pipe or a device" in job.message


def test_undo_of_an_import_brings_back_the_sound_with_its_layout(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    planned = plan(qtbot, window).to_dict()
    other = write_wav(tmp_path / "other.wav", panned_noise(-30, duration_s=3.0, seed=4))
    import_clip(qtbot, window, other)
    doc = window.doc
    assert doc.layout is None and doc.undo_stack.undoText() == "Import audio"
    doc.undo_stack.undo()
    # The 2 s layout came back over the 3 s sound: every render was refused.
    qtbot.waitUntil(lambda: doc.audio is not None and not window.queue.running())
    assert doc.project.audio_path == clip and doc.audio.duration_s == 2.0
    assert doc.layout.to_dict() == planned and doc.cues.duration_s == 2.0
    doc.undo_stack.redo()
    qtbot.waitUntil(lambda: doc.audio is not None and not window.queue.running())
    assert doc.project.audio_path == other and doc.audio.duration_s == 3.0
    assert doc.layout is None


def test_undo_of_an_import_of_the_same_length_brings_back_the_sound(qtbot, window, clip,
                                                                      tmp_path):
    import_clip(qtbot, window, clip)
    planned = plan(qtbot, window).to_dict()
    other = write_wav(tmp_path / "other.wav", panned_noise(40, duration_s=2.0, seed=5))
    import_clip(qtbot, window, other)
    doc = window.doc
    # The layout fits the new sound and stays; the old sound had no way back.
    assert doc.layout.to_dict() == planned and doc.undo_stack.undoText() == "Import audio"
    doc.undo_stack.undo()
    qtbot.waitUntil(lambda: doc.audio is not None and not window.queue.running())
    assert doc.project.audio_path == clip and doc.layout.to_dict() == planned
    doc.undo_stack.redo()
    qtbot.waitUntil(lambda: doc.audio is not None and not window.queue.running())
    assert doc.project.audio_path == other and doc.layout.to_dict() == planned


def test_a_failed_save_says_what_to_do(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    assert not window._save_to(blocker / "scene.spa2v")
    text, level = window.last_message
    # It said "Could not write ...: File exists." and no more.
    assert level == "error" and "Save as… (Ctrl+Shift+S)" in text
    assert window.doc.dirty and window.autosave_file is not None and window.autosave_file.exists()
