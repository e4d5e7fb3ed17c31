"""The video preview: live frames while a render runs, otherwise the picture at the playhead.

At the playhead it shows the last render's frame when that render still matches the layout
(decoded from the video as the playhead moves: ``StudioDocument.render_frame``),
and otherwise draws the layout with the engine's preview renderer on the fly, so every edit
is visible at once (a 512x512 preview frame takes a few milliseconds). It is drawn as the
exported video is: the same backdrop (``tasks.backdrop``, the renderer's rule), and each
object swelling and sending out rings with its own loudness at the playhead
(``engine.rendering.activity.ActivityMeter``: the object's measured level per layout frame,
timed by the mix's level that the import measured), so during playback the things pulse in
step with the sound. Labels are always on here.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from engine.rendering.activity import ActivityMeter
from engine.rendering.preview import draw_frame, picture_height

from . import theme
from .document import StudioDocument
from .model.tasks import backdrop, preview_size
from .workers import to_qimage

PREVIEW_SIDE = 384  # the live layout preview is drawn at this size and scaled to the panel


class PreviewPanel(QWidget):
    def __init__(self, doc: StudioDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.live: QImage | None = None
        self.live_caption = ""
        self._image: QImage | None = None
        self._caption = ""
        self.setMinimumSize(200, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._meter: ActivityMeter | None = None
        for sig in (doc.layout_changed, doc.audio_changed):
            sig.connect(self._forget_meter)
        for sig in (doc.layout_changed, doc.thumbnails_changed, doc.renders_changed,
                    doc.audio_changed):
            sig.connect(self.refresh)
        doc.time_changed.connect(self.refresh)
        doc.render_frame_changed.connect(self.refresh)

    def show_live(self, image: QImage | None, caption: str = "") -> None:
        """A frame from a running render (None: back to the playhead view)."""
        self.live, self.live_caption = image, caption
        self.update()

    def refresh(self, *_) -> None:
        if not self.isVisible():
            self._image = None
            return
        self._image, self._caption = self._frame_at_playhead()
        self.update()

    def _forget_meter(self, *_) -> None:
        self._meter = None  # the objects or the sound changed: measure again when drawn

    def meter(self) -> ActivityMeter | None:
        """How loud each object of the layout is at any time (None without a layout)."""
        lay = self.doc.layout
        if lay is None:
            return None
        if self._meter is None or self._meter.layout is not lay:
            self._meter = ActivityMeter(lay, self.doc.loudness)
        return self._meter

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    def _frame_at_playhead(self) -> tuple[QImage | None, str]:
        doc = self.doc
        rec = doc.latest_render()
        if doc.render_is_current(rec):
            img = doc.render_frame(doc.time_s)  # decoded at the playhead, every frame
            if img is not None:
                return img, f"render ({rec.renderer})"
        lay = doc.layout
        if lay is None:
            return None, ""
        w, h = preview_size(lay, PREVIEW_SIDE)
        t = min(max(doc.time_s, 0.0), lay.duration_s)
        image = draw_frame(lay, t, backdrop(lay, w, picture_height(w, h)), meter=self.meter())
        return to_qimage(image), "layout preview"

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), theme.BASE)
        img, caption = (self.live, self.live_caption) if self.live is not None else (
            self._image, self._caption)
        if img is None:
            p.setPen(theme.MUTED)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Nothing to preview yet")
            p.end()
            return
        scale = min(self.width() / img.width(), (self.height() - 18) / img.height())
        w, h = img.width() * scale, img.height() * scale
        target = QRectF((self.width() - w) / 2, (self.height() - 18 - h) / 2, w, h)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(target, img)
        p.setPen(theme.ACCENT if self.live is not None else theme.MUTED)
        p.drawText(QRectF(0, self.height() - 18, self.width(), 18), Qt.AlignmentFlag.AlignCenter,
                   ("● LIVE  " if self.live is not None else "") + caption)
        if self.live is not None:
            p.setPen(QColor(255, 255, 255, 40))
            p.drawRect(target)
        p.end()
