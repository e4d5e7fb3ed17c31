"""The studio's Spatialize action and the picture/sound scores shown after a render."""

import numpy as np
import soundfile as sf

from .helpers import finished, import_clip, plan


def test_render_is_followed_by_agreement_scores(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    finished(qtbot, window.render(tmp_path / "clip.mp4", fps=12))
    qtbot.waitUntil(lambda: getattr(window, "last_agreement", None) is not None, timeout=30_000)
    report = window.last_agreement
    # The clip moves right to left and the plan follows it: most heard frames line up.
    assert report.spatial.aligned_fraction >= 0.6
    assert window.last_message[0].startswith("Picture and sound")


def test_spatialize_places_a_mono_sound_on_the_objects_side(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    layout = plan(qtbot, window)
    # Move the object to the far left for the whole clip, then spatialize a mono noise.
    obj = layout.objects[0]
    obj.boxes = [None if b is None else (0.0, b[1], 0.2, b[3]) for b in obj.boxes]
    obj.motion = "static"
    mono = tmp_path / "mono.wav"
    rng = np.random.default_rng(0)
    sf.write(str(mono), (0.1 * rng.standard_normal(44100 * 2)).astype(np.float32), 44100)
    out = tmp_path / "placed.wav"
    finished(qtbot, window.spatialize(mono, out))
    stereo, _ = sf.read(str(out), always_2d=True)
    left, right = np.mean(stereo[:, 0] ** 2), np.mean(stereo[:, 1] ** 2)
    assert left > 2 * right


def test_the_check_after_a_render_does_not_hold_up_the_next_job(qtbot, window, clip, tmp_path,
                                                                monkeypatch):
    # Tracking a 10-minute render takes minutes; the check (no row in the queue) held the
    # plan, render or export asked for next until it ended.
    import threading

    import engine.spatialize as spatialize
    from engine.jobs import Progress

    never = threading.Event()

    def slow_check(*args, token, **kw):
        while not never.wait(0.02):
            token.raise_if_cancelled()
            yield Progress("check", 0.5)
    monkeypatch.setattr(spatialize, "check_job", slow_check)
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    finished(qtbot, window.render(tmp_path / "clip.mp4", fps=12))
    qtbot.waitUntil(lambda: any(j.kind == "check" and j.state == "running"
                                for j in window.queue.jobs), timeout=10_000)
    finished(qtbot, window.plan(), timeout=20_000)  # the check still runs
    assert any(j.kind == "check" and j.state == "running" for j in window.queue.jobs)


def test_a_render_too_long_to_track_is_checked_against_its_plan(qtbot, window, clip, tmp_path,
                                                                 monkeypatch):
    import engine.spatialize.video as video
    monkeypatch.setattr(video, "MAX_VIDEO_S", 1.0)  # the clip is 2 s
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    finished(qtbot, window.render(tmp_path / "clip.mp4", fps=12))
    qtbot.waitUntil(lambda: getattr(window, "last_agreement", None) is not None, timeout=30_000)
    text, level = window.last_message
    assert level == "info" and text.startswith("Plan and sound")


def test_a_render_too_long_to_check_is_not_checked_and_not_called_a_failure(
        qtbot, window, clip, tmp_path, monkeypatch):
    # Over MAX_CHECK_S the check refuses (it would hold about 6 GB an hour); the studio ran it
    # anyway after every such render and showed "Check failed: ..." as a warning.
    import engine.spatialize.jobs as jobs
    monkeypatch.setattr(jobs, "MAX_CHECK_S", 1.0)  # the clip is 2 s
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    finished(qtbot, window.render(tmp_path / "clip.mp4", fps=12))
    qtbot.waitUntil(lambda: "check is skipped" in window.statusBar().currentMessage(),
                    timeout=10_000)
    assert not any(j.kind == "check" for j in window.queue.jobs)
    assert getattr(window, "last_agreement", None) is None
    assert not (window.last_message and window.last_message[0].startswith("Check failed"))
