"""The studio's non-window parts: layout edits, waveform columns, settings, the job queue,
and backend entries that are disabled with the reason when something is missing."""

import time

import numpy as np
import pytest

from engine.errors import BadInput
from engine.jobs import Log, Progress
from spa2v_app.studio.model import layout_edit as le
from spa2v_app.studio.model.settings import StudioSettings, load_settings, save_settings
from spa2v_app.studio.model.waveform import Waveform, find_onsets

from .helpers import wait_job


def layout(n=10):
    lay = le.empty_layout(5.0, n)
    lay, _ = le.add_object(lay, "car", box=(0.1, 0.4, 0.3, 0.6))
    return lay


def test_without_keyframes_only_the_frame_changes():
    lay = le.set_box(layout(), 1, 4, (0.5, 0.4, 0.7, 0.6))
    boxes = lay.object(1).boxes
    assert boxes[4] == pytest.approx((0.5, 0.4, 0.7, 0.6))
    assert boxes[3] == boxes[5] == pytest.approx((0.1, 0.4, 0.3, 0.6))


def test_keyframes_interpolate_between_and_leave_the_rest():
    lay = le.set_keyframe(layout(), 1, 2)
    lay = le.set_keyframe(lay, 1, 6)
    lay = le.set_box(lay, 1, 6, (0.5, 0.4, 0.7, 0.6))
    b = lay.object(1).boxes
    assert b[4][0] == pytest.approx(0.3)  # halfway from 0.1 to 0.5
    assert b[8] == pytest.approx((0.1, 0.4, 0.3, 0.6))
    assert lay.object(1).extra["keyframes"] == {"2": [0.1, 0.4, 0.3, 0.6], "6": [0.5, 0.4, 0.7, 0.6]}
    lay = le.remove_keyframe(lay, 1, 6)
    assert list(le.keyframes(lay.object(1))) == [2]
    lay = le.set_box(lay, 1, 0, None)  # hidden keyframe at 0 hides frames 0..1
    assert lay.object(1).boxes[:3] == [None, None, pytest.approx((0.1, 0.4, 0.3, 0.6))]


def test_boxes_are_kept_inside_the_frame_and_edits_are_checked():
    assert le.clamp_box((0.9, -0.2, 1.3, 0.1)) == pytest.approx((0.6, 0.0, 1.0, 0.3))
    assert le.clamp_box((0.5, 0.5, 0.5, 0.5))[2] - 0.5 == pytest.approx(le.MIN_SIZE)
    lay = layout()
    for _ in range(7):
        lay, _ = le.add_object(lay, "dog")
    with pytest.raises(BadInput, match="at most 8"):
        le.add_object(lay, "cat")
    with pytest.raises(BadInput, match="empty"):
        le.update_object(lay, 1, label="  ")
    with pytest.raises(BadInput, match="Motion"):
        le.update_object(lay, 1, motion="sideways")
    with pytest.raises(BadInput, match="outside"):
        le.set_box(lay, 1, 10, (0, 0, 1, 1))


def test_waveform_columns_keep_peaks_at_any_zoom():
    x = np.zeros((2, 48000), np.float32)
    x[0, 24000] = 0.9
    x[1, 100:200] = -0.5
    wf = Waveform.from_samples(x, 48000)
    assert np.nanmax(wf.columns(0, 1, 7, 0)[1]) == pytest.approx(0.9)
    assert np.nanmax(wf.columns(0, 1, 3000, 0)[1]) == pytest.approx(0.9)
    mins, _ = wf.columns(0, 0.01, 4, 1)
    assert mins.min() == pytest.approx(-0.5)
    mins, maxs = wf.columns(0.5, 2.0, 3, 0)
    assert np.isnan(maxs[-1])  # past the end: nothing to draw
    y = np.zeros((2, 48000))
    y[:, 24000:25000] = np.random.default_rng(0).standard_normal((2, 1000))
    assert find_onsets(y, 48000) == [pytest.approx(0.5, abs=0.02)]


def test_settings_round_trip_and_survive_bad_values(studio_folders):
    s = StudioSettings(planner="llama", video_fps=12.0)
    s.add_recent("/tmp/a.spa2v")
    save_settings(s)
    back = load_settings()
    assert back.planner == "llama" and back.video_fps == 12.0 and back.recent == ["/tmp/a.spa2v"]
    bad = StudioSettings.from_dict({"device": "tpu", "autosave_s": 0, "video_fps": 30,
                                    "seed": True, "plan_frames": "many"})
    assert bad.device == "auto" and bad.video_fps == 30.0 and not hasattr(bad, "autosave_s")
    assert bad.seed == 0 and bad.plan_frames == 16


def sleepy(n, tag, log):
    def make(token):
        def job():
            for i in range(n):
                token.raise_if_cancelled()
                time.sleep(0.01)
                yield Progress(tag, (i + 1) / n)
            log.append(tag)
            yield Log(f"{tag} done")
            return tag
        return job()
    return make


def test_queue_runs_one_at_a_time_in_order(qtbot):
    from spa2v_app.studio.workers import JobQueue
    q = JobQueue()
    order = []
    a = q.submit("render", "a", sleepy(20, "a", order))
    b = q.submit("render", "b", sleepy(5, "b", order))
    c = q.submit("import", "c", sleepy(5, "c", order), concurrent=True)
    assert (a.state, b.state, c.state) == ("running", "queued", "running")
    for j in (a, b, c):
        wait_job(qtbot, j)
    assert order.index("a") < order.index("b") and order.index("c") < order.index("a")
    assert a.result == "a" and a.fraction == 1.0
    failing = q.submit("plan", "boom", lambda token: (_ for _ in ()).throw(BadInput("no sound")))
    wait_job(qtbot, failing)
    assert failing.state == "failed" and failing.message == "no sound"
    # The queue has no parent: joined here, or it is collected while a worker thread is
    # still ending (a segfault in pytest-qt's event processing after the test, seen once
    # on a loaded machine).
    q.wait_all(10)


def test_unavailable_backends_are_disabled_with_the_reason(qtbot, monkeypatch):
    from PySide6.QtWidgets import QComboBox

    from models import readiness
    from spa2v_app.studio.dialogs import fill_backend_combo
    monkeypatch.setattr(readiness, "has_library", lambda name: name == "torch")
    items = readiness.renderers()
    assert items[1].name == "diffusion" and not items[1].ready
    assert "spa2v-studio[diffusion]" in items[1].reason and "diffusers" in items[1].reason
    combo = QComboBox()
    qtbot.addWidget(combo)
    fill_backend_combo(combo, items, "diffusion")
    assert combo.currentData() == "preview"  # falls back to what can run
    assert not combo.model().item(1).isEnabled()
    assert "diffusers" in combo.itemData(1, 3)  # Qt.ToolTipRole
    planners = {a.name: a for a in readiness.planners()}
    assert planners["heuristic"].ready and not planners["gemini"].ready
    assert "API key" in planners["gemini"].reason
