"""Small helpers shared by the studio tests."""

from PySide6.QtCore import QPoint, QPointF, Qt


def wait_job(qtbot, job, timeout=30_000):
    """Wait for a queued job to end; fail with its message if it did not finish."""
    qtbot.waitUntil(lambda: job.done, timeout=timeout)
    return job


def finished(qtbot, job, timeout=30_000):
    wait_job(qtbot, job, timeout)
    assert job.state == "finished", job.message
    return job.result


def import_clip(qtbot, window, path):
    job = window.import_audio(path)
    finished(qtbot, job)
    qtbot.waitUntil(lambda: window.doc.audio is not None)
    return job


def plan(qtbot, window):
    job = window.plan()
    finished(qtbot, job)
    qtbot.waitUntil(lambda: window.doc.layout is not None)
    return window.doc.layout


def view_point(canvas, x_norm: float, y_norm: float) -> QPoint:
    """Where a normalized frame position is on the canvas widget (viewport coordinates)."""
    w, h = canvas.frame_size()
    return canvas.mapFromScene(QPointF(x_norm * w, y_norm * h))


def drag(qtbot, widget, start: QPoint, end: QPoint, steps: int = 6) -> None:
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, steps + 1):
        p = start + (end - start) * (k / steps)
        qtbot.mouseMove(widget, p)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=end)
