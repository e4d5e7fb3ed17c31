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


def test_a_long_sound_is_all_on_the_timeline(qtbot, window, clip, monkeypatch):
    # A sound longer than 10 minutes is analysed in 60 s chunks and the analysis hands back
    # only the first; the studio showed, played and let you seek 60 s of a 30-minute file.
    from engine.cues import longform
    from spa2v_app.studio.model import tasks
    monkeypatch.setattr(longform, "LONG_INPUT_S", 1.0)  # the 2 s clip counts as long
    monkeypatch.setattr(longform, "CHUNK_S", 0.5)
    monkeypatch.setattr(tasks, "LONG_SOUND_SAMPLES", 2.0 * 22050)  # and must be held at 22 kHz
    import_clip(qtbot, window, clip)
    doc = window.doc
    assert doc.duration_s == 2.0 and doc.audio.sample_rate == 22050
    assert doc.waveform.duration_s == 2.0
    window.seek(1.5)
    assert doc.time_s == 1.5
    # Read in chunks, resampled as one stream: no seam at the chunk edges.
    import numpy as np
    import soundfile as sf
    import soxr
    whole, sr = sf.read(str(clip), dtype="float32", always_2d=True)
    expected = soxr.resample(whole, sr, 22050, quality="HQ").T
    n = min(expected.shape[1], doc.audio.samples.shape[1])
    assert abs(expected.shape[1] - doc.audio.samples.shape[1]) <= 2
    assert np.max(np.abs(doc.audio.samples[:, 100:n - 100] - expected[:, 100:n - 100])) < 1e-3


def test_fit_shows_a_three_hour_sound_whole(qtbot, window, clip, monkeypatch):
    # Fit stopped at 2 pixels a second: 11 minutes of a 30-minute sound on a laptop screen.
    import pytest

    from spa2v_app.studio.document import StudioDocument
    import_clip(qtbot, window, clip)
    monkeypatch.setattr(StudioDocument, "duration_s", property(lambda self: 3 * 3600.0))
    tl = window.timeline.canvas
    tl.fit()
    assert tl.visible_span() == pytest.approx((0.0, 3 * 3600.0), rel=1e-6)
    tl.grab()  # the ruler and lanes paint at that zoom
