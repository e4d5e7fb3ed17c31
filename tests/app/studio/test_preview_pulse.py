"""The studio's layout preview pulses with each object's loudness as playback moves, and shows
the backdrop the exported video has (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.layout import Layout, LayoutObject
from engine.rendering import preview
from engine.rendering.activity import loudness_track

pytest.importorskip("PySide6.QtWidgets")

N, DURATION = 8, 4.0


def standing(label: str, levels, background: str = "") -> Layout:
    boxes = [(0.2, 0.3, 0.8, 0.8)] * N  # big, so 8 % is many pixels
    obj = LayoutObject(1, label, f"a {label}", "static", 0.9, boxes)
    obj.extra["loudness_db"] = list(levels)
    return Layout(duration_s=DURATION, num_frames=N, fps=N / DURATION, caption="",
                  background=background, objects=[obj])


def as_array(image) -> np.ndarray:
    from PySide6.QtGui import QImage
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    raw = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h)
    return raw.reshape(h, image.bytesPerLine())[:, :3 * w].reshape(h, w, 3).copy()


@pytest.fixture
def panel_for(qtbot):
    from spa2v_app.studio.document import StudioDocument
    from spa2v_app.studio.preview_panel import PreviewPanel

    def make(layout: Layout, loudness=None):
        doc = StudioDocument()
        doc.loudness = loudness
        panel = PreviewPanel(doc)
        qtbot.addWidget(panel)
        panel.resize(400, 420)
        panel.show()
        doc.apply_plan(layout)
        return doc, panel

    return make


def object_width(doc, panel, t: float) -> int:
    """Width in pixels of what is drawn over the backdrop at playhead ``t`` (sprite and its
    shadow; the label "dog" is narrower)."""
    from spa2v_app.studio.model.tasks import backdrop
    doc.set_time(t)  # as the player moves the playhead: the panel redraws itself
    frame = as_array(panel._image)
    h = frame.shape[0] - preview.TIMELINE_H
    back = backdrop(doc.layout, frame.shape[1], h)
    changed = np.abs(frame[:h].astype(int) - back.astype(int)).sum(axis=2) > 60
    xs = np.nonzero(changed.any(axis=0))[0]
    return int(xs.max() - xs.min() + 1) if xs.size else 0


def test_the_object_swells_while_it_is_loud_and_not_while_it_is_silent(panel_for, monkeypatch):
    # Rings off, so the width measured is the sprite's alone.
    monkeypatch.setattr(preview, "_rings", lambda *a, **k: None)
    doc, panel = panel_for(standing("dog", [-20.0] * 4 + [-80.0] * 4))
    loud, silent = object_width(doc, panel, 0.9), object_width(doc, panel, 3.4)
    assert silent > 150
    # PULSE: up to 8 % larger at full loudness (the exported video's formula)
    assert loud == pytest.approx(silent * (1 + preview.PULSE), abs=3)
    # The playhead going back to a loud moment makes it swell again.
    assert object_width(doc, panel, 0.4) == pytest.approx(loud, abs=2)


def test_rings_go_out_while_it_is_loud(panel_for):
    doc, panel = panel_for(standing("dog", [-20.0] * 4 + [-80.0] * 4))
    ringed, plain = object_width(doc, panel, 0.9), object_width(doc, panel, 3.4)
    assert ringed > plain * 1.2  # rings reach out to 0.95 of the sprite's size


def test_the_mix_gives_the_pulses_their_timing(panel_for, monkeypatch):
    # The object's own level is steady; the mix the import measured is loud for 0.1 s in
    # every 0.5 s: the object swells with each burst, as the exported video does.
    monkeypatch.setattr(preview, "_rings", lambda *a, **k: None)
    sr = 8000
    t = np.arange(int(DURATION * sr)) / sr
    mix = (0.1 * np.sin(2 * np.pi * 440 * t) * ((t % 0.5) < 0.1))[None, :]
    doc, panel = panel_for(standing("dog", [-20.0] * N), loudness_track(mix, sr))
    burst, between = object_width(doc, panel, 1.05), object_width(doc, panel, 1.3)
    # At a burst the level reaches the top (activity 1); between bursts the mix is 12 dB
    # (the most it may move the object's own level) below: activity 0.6.
    assert burst - between == pytest.approx(between / (1 + 0.6 * preview.PULSE)
                                            * 0.4 * preview.PULSE, abs=3)
    assert burst - between >= 4


def test_the_backdrop_is_chosen_as_the_renderer_chooses_it(panel_for):
    # No background words: the renderer goes by what is in the scene (a car: a road), not by
    # the empty words (a field).
    from spa2v_app.studio.model.tasks import backdrop
    layout = standing("car", [-20.0] * N)
    assert preview.layout_scene(layout).kind == "road"
    doc, panel = panel_for(layout)
    frame = as_array(panel._image)
    h = frame.shape[0] - preview.TIMELINE_H
    road = preview.layout_backdrop(layout, frame.shape[1], h)
    assert backdrop(layout, frame.shape[1], h) is road
    words_only = preview.draw_backdrop(layout.background, frame.shape[1], h)
    top_row = frame[2].astype(int)  # sky, above any object
    corner = frame[h - 3, :20].astype(int)  # the road's near edge, beside the object
    assert np.abs(corner - road[h - 3, :20].astype(int)).mean() < 2
    assert np.abs(corner - words_only[h - 3, :20].astype(int)).mean() > 10
    assert np.abs(top_row - road[2].astype(int)).mean() < 2


def test_an_import_measures_the_mix_loudness_the_preview_pulses_with(clip):
    from engine.jobs import CancelToken, run_job
    from spa2v_app.studio.document import StudioDocument
    from spa2v_app.studio.model.tasks import import_job
    result = run_job(import_job(clip, CancelToken(), use_tagger=False), lambda e: None)
    track = result.loudness
    assert len(track.db) / track.rate == pytest.approx(result.audio.duration_s, abs=0.05)
    assert track.db.max() > -40  # the clip's noise, not silence
    doc = StudioDocument()
    doc.apply_import(result)
    assert doc.loudness is track
