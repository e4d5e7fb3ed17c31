"""The render queue: every plan, render and export job with its progress, ETA and state.

A running job has a Cancel button (the job stops at its next cancel check); a queued one has
Remove; finished ones can be cleared, and a finished render or export offers its folder. Render
jobs show their live preview frame; the list keeps the running job in view. Helper jobs the
window starts by itself (thumbnails, the picture-sound check) are not listed.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QToolButton, QVBoxLayout, QWidget)

from . import theme
from .workers import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING, JobQueue, QueuedJob

THUMB = 44  # three to four rows in view on a 720 px screen


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min left"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s left"
    return f"{s} s left"


class JobRow(QWidget):
    def __init__(self, queue: JobQueue, job: QueuedJob, parent: QWidget | None = None):
        super().__init__(parent)
        self.queue, self.job = queue, job
        self.thumb = QLabel()
        self.thumb.setFixedSize(THUMB, THUMB)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setStyleSheet("background:#17181a; border-radius:3px;")
        self.title = QLabel(job.title)
        self.title.setStyleSheet("font-weight:600;")
        self.title.setToolTip(job.title)  # long file names are cut at the panel's edge
        self.title.setMinimumWidth(1)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        self.info = QLabel("")
        self.info.setObjectName("hint")
        self.button = QToolButton()
        self.button.setAutoRaise(True)
        self.button.clicked.connect(self._clicked)
        self.folder_button = QToolButton()
        self.folder_button.setAutoRaise(True)
        self.folder_button.setIcon(theme.icon("folder"))
        self.folder_button.setToolTip("Show in folder")
        self.folder_button.clicked.connect(self.show_in_folder)
        self.folder_button.hide()
        col = QVBoxLayout()
        col.setSpacing(2)
        col.addWidget(self.title)
        col.addWidget(self.bar)
        col.addWidget(self.info)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        row.addWidget(self.thumb)
        row.addLayout(col, 1)
        row.addWidget(self.folder_button)
        row.addWidget(self.button)
        self.update_from_job()

    def _clicked(self) -> None:
        if self.job.state in (RUNNING, QUEUED):
            self.queue.cancel(self.job)
        else:
            self.queue.remove(self.job)

    def output(self) -> Path | None:
        """The file a finished render or export wrote, if it is still there."""
        result = self.job.result
        if self.job.state != FINISHED or not isinstance(result, (str, Path)):
            return None
        path = Path(result)
        return path if path.exists() else None

    def show_in_folder(self) -> None:
        path = self.output()
        if path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path if path.is_dir() else path.parent)))

    def set_preview(self, image) -> None:
        self.thumb.setPixmap(QPixmap.fromImage(image).scaled(
            THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))

    def update_from_job(self) -> None:
        job = self.job
        self.bar.setValue(int(job.fraction * 1000))
        if job.state == RUNNING:
            state_text = " · ".join(x for x in (job.stage, f"{job.fraction:.0%}", job.detail,
                                                format_eta(job.eta_s)) if x)
        elif job.state == FINISHED and job.started is not None and job.ended is not None:
            state_text = f"done in {job.ended - job.started:.1f} s"
        elif job.state == FAILED:
            state_text = f"failed: {job.message}"
        else:
            state_text = {QUEUED: "waiting", FINISHED: "done", CANCELLED: "cancelled"}[job.state]
        self.info.setText(state_text)
        self.info.setToolTip(state_text)
        # Red on the list read at 4.35:1; against PANEL, lighter than the list, it reads on both.
        failed = theme.readable_on(theme.RECORD, theme.PANEL).name()
        self.info.setStyleSheet(f"color:{failed};" if job.state == FAILED else "")
        if job.state == RUNNING:
            self.button.setIcon(theme.icon("stop"))
            self.button.setToolTip("Cancel this job")
        elif job.state == QUEUED:
            self.button.setIcon(theme.icon("cancel"))
            self.button.setToolTip("Remove from the queue")
        else:
            self.button.setIcon(theme.icon("delete", theme.MUTED))
            self.button.setToolTip("Remove from the list")
        # Icon-only: a screen reader says the tooltip and which job it is about.
        self.button.setAccessibleName(f"{self.button.toolTip()}: {job.title}")
        self.folder_button.setAccessibleName(f"Show in folder: {job.title}")
        self.folder_button.setVisible(self.output() is not None)
        if not self.thumb.pixmap() or self.thumb.pixmap().isNull():
            self.thumb.setPixmap(theme.icon({"render": "render", "plan": "plan",
                                             "import": "import", "export": "export"}.get(
                job.kind, "settings"), theme.MUTED).pixmap(28, 28))


class QueuePanel(QWidget):
    def __init__(self, queue: JobQueue, parent: QWidget | None = None):
        super().__init__(parent)
        self.queue = queue
        self.rows: dict[int, tuple[QListWidgetItem, JobRow]] = {}
        self.list = QListWidget()
        self.list.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.empty = QLabel("No jobs. Plan (Ctrl+L) or render (Ctrl+Return) to start one.")
        self.empty.setObjectName("hint")
        self.empty.setWordWrap(True)
        clear = QPushButton("Clear finished")
        clear.clicked.connect(queue.clear_finished)
        top = QHBoxLayout()
        top.addWidget(self.empty, 1)
        top.addWidget(clear)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.list, 1)
        queue.added.connect(self._added)
        queue.changed.connect(self._changed)
        queue.removed.connect(self._removed)
        queue.preview.connect(self._preview)

    def row(self, job: QueuedJob) -> JobRow | None:
        entry = self.rows.get(job.id)
        return entry[1] if entry else None

    def _added(self, job: QueuedJob) -> None:
        if job.helper:
            return
        item = QListWidgetItem()
        row = JobRow(self.queue, job)
        item.setSizeHint(QSize(200, THUMB + 10))
        self.list.addItem(item)
        # Tab reaches the row's buttons after the rows above it (a new widget went to the
        # end of the window's chain, between the toolbar and the Record panel).
        before = next(reversed(self.rows.values()))[1].button if self.rows else self.list
        self.list.setItemWidget(item, row)
        QWidget.setTabOrder(before, row.folder_button)
        QWidget.setTabOrder(row.folder_button, row.button)
        self.rows[job.id] = (item, row)
        self.empty.setText(f"{len(self.rows)} job(s)")

    def _changed(self, job: QueuedJob) -> None:
        row = self.row(job)
        if row is not None:
            row.update_from_job()
            if job.state == RUNNING:
                self.list.scrollToItem(self.rows[job.id][0])

    def _preview(self, job: QueuedJob, image) -> None:
        row = self.row(job)
        if row is not None:
            row.set_preview(image)

    def _removed(self, job: QueuedJob) -> None:
        entry = self.rows.pop(job.id, None)
        if entry is not None:
            self.list.takeItem(self.list.row(entry[0]))
        self.empty.setText(f"{len(self.rows)} job(s)" if self.rows else
                           "No jobs. Plan (Ctrl+L) or render (Ctrl+Return) to start one.")
