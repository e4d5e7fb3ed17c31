"""Playing back a render in the studio shows the frame for the playhead's time, every frame,
however long the video (spa2v_app/studio/model/video_frames.py).

The preview showed a render through the timeline's thumbnails, at most 160 frames spread over
the video: during playback of a 10-minute render a new picture came every 3.75 s."""

from __future__ import annotations

import gc

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

FPS = 24
SECONDS = 30  # 720 frames: 160 thumbnails are one every 5th frame


def counting_video(path, seconds=SECONDS, fps=FPS, side=64):
    """An H.264 MP4 whose frame k shows k: the left half's grey level is k // 32, the right
    half's k % 32 (steps of 8 levels, which the encoder keeps)."""
    import av
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width = s.height = side
        s.pix_fmt = "yuv420p"
        s.options = {"crf": "18", "preset": "veryfast"}
        for k in range(seconds * fps):
            img = np.empty((side, side, 3), np.uint8)
            img[:, :side // 2], img[:, side // 2:] = (k // 32) * 8 + 4, (k % 32) * 8 + 4
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def shown(image) -> int:
    """The frame number an image of the counting video shows."""
    from PySide6.QtGui import QImage
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    raw = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h)
    a = raw.reshape(h, image.bytesPerLine())[:, :3 * w].reshape(h, w, 3).astype(float)
    hi, lo = a[:, : w // 2 - 2].mean(), a[:, w // 2 + 2:].mean()
    return int(round((hi - 4) / 8)) * 32 + int(round((lo - 4) / 8))


@pytest.fixture
def played(qtbot, tmp_path):
    """A document with a long render of its layout, its thumbnails loaded as the window loads
    them, and the preview panel showing it."""
    from engine.jobs import CancelToken, run_job
    from engine.layout import Layout, LayoutObject
    from spa2v_app.studio.document import StudioDocument
    from spa2v_app.studio.model import tasks
    from spa2v_app.studio.preview_panel import PreviewPanel
    from spa2v_app.studio.workers import to_qimage

    video = counting_video(tmp_path / "render.mp4")
    n = 8
    obj = LayoutObject(1, "dog", "a dog", "static", 0.9, [(0.3, 0.3, 0.6, 0.7)] * n)
    layout = Layout(duration_s=float(SECONDS), num_frames=n, fps=n / SECONDS, objects=[obj])
    doc = StudioDocument()
    panel = PreviewPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(300, 300)
    panel.show()
    doc.apply_plan(layout)
    doc.add_render(video, "preview", {}, layout)
    thumbs = run_job(tasks.thumbnails_job(video, CancelToken()))
    doc.set_thumbnails([(t, to_qimage(img)) for t, img in zip(thumbs.times_s, thumbs.images)])
    assert len(doc.thumbnails) <= tasks.MAX_THUMBS
    yield doc, panel
    # Nothing left for the collector to free during a later test (the binding soak counts
    # references to None, which freeing these objects mid-soak would drop).
    doc.close_render_frames()
    panel.close()
    del doc, panel
    gc.collect()


def test_playback_shows_every_frame_of_a_long_render(played):
    doc, panel = played
    wrong = []
    for k in range(SECONDS * FPS):  # the playhead as playback moves it, a frame at a time
        doc.set_time((k + 0.5) / FPS)
        if shown(panel._image) != k:
            wrong.append((k, shown(panel._image)))
    assert not wrong, f"{len(wrong)} frames showed another frame, e.g. {wrong[:5]}"
    frames = doc._frames
    # decoded in order, once each: one seek (the first), no frame held beyond the next one
    assert frames.seeks == 1 and frames.decoded <= SECONDS * FPS + 1


def test_a_jump_shows_a_thumbnail_at_once_then_the_exact_frame(played, qtbot):
    doc, panel = played
    doc.set_time(2.0 + 0.5 / FPS)
    qtbot.waitUntil(lambda: shown(panel._image) == 48, timeout=2000)
    for t, k in ((20.0 + 2.5 / FPS, 482), (7.0 + 3.5 / FPS, 171)):  # ahead, then back
        doc.set_time(t)
        near = shown(panel._image)
        assert near <= k and k - near < 5  # the thumbnail before it, without a seek
        qtbot.waitUntil(lambda: shown(panel._image) == k, timeout=2000)
        doc.set_time(t + 1 / FPS)  # and playback goes on from there
        assert shown(panel._image) == k + 1


def test_playback_after_a_jump_shows_exact_frames_at_once(played):
    # A jump while playing shows a thumbnail; the next tick of playback (33 ms later, before
    # the playhead could be said to rest) must not go on showing thumbnails.
    doc, panel = played
    doc.set_time(10.0 + 0.5 / FPS)
    doc.set_time(25.0 + 0.5 / FPS)  # the click
    for k in range(601, 640):  # and playback from there, with no time to rest
        doc.set_time((k + 0.5) / FPS)
        assert shown(panel._image) == k


def test_a_render_that_cannot_be_read_falls_back_to_its_thumbnails(played):
    doc, panel = played
    doc.set_time(1.0)
    path = doc.latest_render().path
    path.write_bytes(b"not a video")  # replaced on disk (a new mtime and size)
    doc.set_time(3.0 + 0.5 / FPS)
    assert shown(panel._image) in range(70, 73)  # the thumbnail at 3 s (every 5th frame)


def test_a_render_redone_in_place_is_read_again(played, tmp_path):
    import os
    doc, panel = played
    doc.set_time(0.5 / FPS)
    assert shown(panel._image) == 0
    path = doc.latest_render().path
    counting_video(tmp_path / "shorter.mp4", seconds=2)
    os.replace(tmp_path / "shorter.mp4", path)
    doc.thumbnails = []
    doc.set_time(5.0)  # past the new video's end: its last frame
    assert shown(panel._image) == 2 * FPS - 1
