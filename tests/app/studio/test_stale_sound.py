"""A project whose sound file was replaced since it was saved says so when opened."""

from tests.synth import panned_noise, write_wav

from .helpers import import_clip, plan, wait_job


def test_a_project_whose_sound_changed_length_says_so(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    project = tmp_path / "scene.spa2v"
    assert window._save_to(project)
    write_wav(clip, panned_noise(30, duration_s=1.0, seed=4))  # another take, same name
    window.new_project()
    assert window.open_project(project)
    job = [j for j in window.queue.jobs if j.kind == "import"][-1]
    wait_job(qtbot, job)
    qtbot.waitUntil(lambda: window.doc.audio is not None)
    # The 2 s layout over 1 s of sound opened without a word (and the render then refused).
    text, level = window.last_message
    assert level == "warning" and "has changed since the project was saved" in text
    assert window.doc.layout.duration_s == 2.0  # the user's layout is kept, not dropped


def test_a_project_whose_sound_is_unchanged_opens_quietly(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    project = tmp_path / "scene.spa2v"
    assert window._save_to(project)
    window.new_project()
    window.last_message = None
    assert window.open_project(project)
    wait_job(qtbot, [j for j in window.queue.jobs if j.kind == "import"][-1])
    qtbot.waitUntil(lambda: window.doc.audio is not None)
    assert window.last_message is None or window.last_message[1] != "warning"
