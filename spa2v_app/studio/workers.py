"""Engine generator jobs on worker threads, as Qt signals; and the queue that runs them.

A :class:`JobRunner` lives on its own ``QThread`` and drives one job: it calls
``make_job(token)`` there (so backends load off the GUI thread), pulls events from the
generator and emits them, rate-limited so a fast job cannot flood the event loop. Cancelling
sets the :class:`engine.jobs.CancelToken`; the job raises ``Cancelled`` at its next check.

:class:`JobQueue` holds the jobs the user sees (as in krita-ai-diffusion): queued ones wait
their turn and can be removed; the running one can be cancelled; ``concurrent`` jobs (an
import's analysis, thumbnails) start at once beside it.
"""

from __future__ import annotations

import itertools
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

from engine.errors import Cancelled, SpA2VError
from engine.jobs import CancelToken, Log, Preview, Progress

MakeJob = Callable[[CancelToken], Any]
PROGRESS_EVERY_S = 0.05
PREVIEW_EVERY_S = 0.15


def to_qimage(image: np.ndarray) -> QImage:
    """RGB uint8 ``(H, W, 3)`` -> a QImage that owns its pixels (safe on any thread)."""
    a = np.ascontiguousarray(np.asarray(image)[..., :3], dtype=np.uint8)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class JobRunner(QObject):
    progress = Signal(object)  # engine.jobs.Progress
    preview = Signal(object, int, int)  # QImage, frame index, total
    log = Signal(str, str)  # message, level
    finished = Signal(object)  # the job's result
    failed = Signal(str)  # one-line message
    cancelled = Signal()

    def __init__(self, make_job: MakeJob):
        super().__init__()
        self._make_job = make_job
        self.token = CancelToken()

    def cancel(self) -> None:
        self.token.cancel()

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        finally:
            # End the thread's event loop from inside, so that waiting on the thread (at
            # shutdown) does not depend on the GUI thread processing a queued quit.
            QThread.currentThread().quit()

    def _run(self) -> None:
        last_progress = last_preview = 0.0
        pending: Progress | None = None
        try:
            job = self._make_job(self.token)
            while True:
                try:
                    event = next(job)
                except StopIteration as stop:
                    result = stop.value
                    break
                now = time.monotonic()
                if isinstance(event, Progress):
                    pending = event
                    if now - last_progress >= PROGRESS_EVERY_S or event.fraction >= 1.0:
                        self.progress.emit(event)
                        pending, last_progress = None, now
                elif isinstance(event, Preview):
                    if now - last_preview >= PREVIEW_EVERY_S:
                        self.preview.emit(to_qimage(event.image), event.index, event.total)
                        last_preview = now
                elif isinstance(event, Log):
                    self.log.emit(event.message, event.level)
            if pending is not None:
                self.progress.emit(pending)
        except Cancelled:
            self.cancelled.emit()
            return
        except SpA2VError as e:
            self.failed.emit(str(e))
            return
        except Exception as e:  # a bug in a backend must end the job, not the app
            traceback.print_exc()
            self.failed.emit(f"{type(e).__name__}: {e}")
            return
        self.finished.emit(result)


QUEUED, RUNNING, FINISHED, FAILED, CANCELLED = "queued", "running", "finished", "failed", "cancelled"
_ids = itertools.count(1)


@dataclass(eq=False)
class QueuedJob:
    kind: str  # plan, render, import, export, thumbnails, download
    title: str
    make_job: MakeJob
    concurrent: bool = False
    helper: bool = False  # internal follow-up work (thumbnails, checks): not listed in the panel
    on_finished: Callable[[Any], None] | None = None
    on_failed: Callable[[str], None] | None = None
    on_cancelled: Callable[[], None] | None = None
    id: int = field(default_factory=lambda: next(_ids))
    state: str = QUEUED
    fraction: float = 0.0
    eta_s: float | None = None
    stage: str = ""
    detail: str = ""
    message: str = ""
    result: Any = None
    started: float | None = None
    ended: float | None = None
    preview: QImage | None = None
    runner: JobRunner | None = None
    thread: QThread | None = None
    relay: QObject | None = None

    @property
    def done(self) -> bool:
        return self.state in (FINISHED, FAILED, CANCELLED)


class JobQueue(QObject):
    """Runs one queued job at a time (plus concurrent ones), all off the GUI thread."""

    added = Signal(object)
    changed = Signal(object)
    removed = Signal(object)
    preview = Signal(object, object)  # job, QImage
    log = Signal(object, str, str)  # job, message, level
    idle = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.jobs: list[QueuedJob] = []

    # -- public -------------------------------------------------------------------------------
    def submit(self, kind: str, title: str, make_job: MakeJob, *, concurrent: bool = False,
               helper: bool = False, on_finished=None, on_failed=None,
               on_cancelled=None) -> QueuedJob:
        job = QueuedJob(kind, title, make_job, concurrent=concurrent, helper=helper,
                        on_finished=on_finished, on_failed=on_failed, on_cancelled=on_cancelled)
        self.jobs.append(job)
        self.added.emit(job)
        self._pump()
        return job

    def cancel(self, job: QueuedJob) -> None:
        """Interrupt a running job; drop a queued one."""
        if job.state == RUNNING and job.runner is not None:
            job.detail = "cancelling..."
            job.runner.cancel()
            self.changed.emit(job)
        elif job.state == QUEUED:
            job.state = CANCELLED
            self.remove(job)
            if job.on_cancelled:
                job.on_cancelled()

    def remove(self, job: QueuedJob) -> None:
        """Remove a queued or finished job from the list (a running one must be cancelled)."""
        if job.state == RUNNING or job not in self.jobs:
            return
        self.jobs.remove(job)
        self.removed.emit(job)

    def clear_finished(self) -> None:
        for job in [j for j in self.jobs if j.done]:
            self.remove(job)

    def cancel_all(self) -> None:
        for job in list(self.jobs):
            if not job.done:
                self.cancel(job)

    def running(self) -> list[QueuedJob]:
        return [j for j in self.jobs if j.state == RUNNING]

    def busy(self) -> bool:
        return any(not j.done for j in self.jobs)

    def wait_all(self, timeout_s: float = 60.0) -> None:
        """Stop every thread (cancel first); for shutdown. Blocks at most ``timeout_s``."""
        self.cancel_all()
        for job in list(self.jobs):
            if job.thread is not None:
                job.thread.wait(int(timeout_s * 1000))

    # -- internals ----------------------------------------------------------------------------
    def _pump(self) -> None:
        busy = any(j.state == RUNNING and not j.concurrent for j in self.jobs)
        for job in list(self.jobs):
            if job.state != QUEUED:
                continue
            if job.concurrent:
                self._start(job)
            elif not busy:
                self._start(job)
                busy = True

    def _start(self, job: QueuedJob) -> None:
        job.state, job.started = RUNNING, time.monotonic()
        runner = JobRunner(job.make_job)
        thread = QThread(self)
        thread.setObjectName(f"spa2v-{job.kind}-{job.id}")
        runner.moveToThread(thread)
        job.runner, job.thread = runner, thread
        thread.started.connect(runner.run)
        # The relay lives on the GUI thread, so these connections are queued: the handlers
        # run in the event loop, never on the worker thread.
        relay = _Relay(self, job)
        job.relay = relay
        runner.progress.connect(relay.on_progress)
        runner.preview.connect(relay.on_preview)
        runner.log.connect(relay.on_log)
        runner.finished.connect(relay.on_finished)
        runner.failed.connect(relay.on_failed)
        runner.cancelled.connect(relay.on_cancelled)
        self.changed.emit(job)
        thread.start()

    def _on_progress(self, job: QueuedJob, p: Progress) -> None:
        job.fraction, job.eta_s, job.stage, job.detail = p.fraction, p.eta_s, p.stage, p.detail
        self.changed.emit(job)

    def _on_preview(self, job: QueuedJob, image: QImage) -> None:
        job.preview = image
        self.preview.emit(job, image)

    def _on_end(self, job: QueuedJob, state: str, *, result=None, message: str = "") -> None:
        job.state, job.result, job.message, job.ended = state, result, message, time.monotonic()
        if state == FINISHED:
            job.fraction, job.eta_s = 1.0, 0.0
        thread = job.thread
        if thread is not None:
            thread.quit()
            thread.wait()
            thread.deleteLater()
        if job.relay is not None:
            job.relay.deleteLater()
        job.runner, job.thread, job.relay = None, None, None
        self.changed.emit(job)
        callback = {FINISHED: job.on_finished, FAILED: job.on_failed,
                    CANCELLED: job.on_cancelled}[state]
        try:
            if callback is not None:
                callback(result) if state == FINISHED else (
                    callback(message) if state == FAILED else callback())
        finally:
            self._pump()
            if not self.busy():
                self.idle.emit()


class _Relay(QObject):
    """Forwards one runner's signals to the queue, on the GUI thread."""

    def __init__(self, queue: JobQueue, job: QueuedJob):
        super().__init__(queue)
        self.queue, self.job = queue, job

    @Slot(object)
    def on_progress(self, p) -> None:
        self.queue._on_progress(self.job, p)

    @Slot(object, int, int)
    def on_preview(self, image, index, total) -> None:
        self.queue._on_preview(self.job, image)

    @Slot(str, str)
    def on_log(self, message, level) -> None:
        self.queue.log.emit(self.job, message, level)

    @Slot(object)
    def on_finished(self, result) -> None:
        self.queue._on_end(self.job, FINISHED, result=result)

    @Slot(str)
    def on_failed(self, message) -> None:
        self.queue._on_end(self.job, FAILED, message=message)

    @Slot()
    def on_cancelled(self) -> None:
        self.queue._on_end(self.job, CANCELLED, message="Cancelled.")
