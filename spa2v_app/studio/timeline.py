"""The timeline: see the sound and the layout over time, with a playhead. Zoom and scroll.

Lanes, top to bottom: time ruler; left and right waveforms (filled min/max envelopes); one
lane per layout object showing where its box is on each frame (the band spans the box's
horizontal extent: left at the top, right at the bottom, like the L-over-R waveforms) with its
keyframes; thumbnails of the last render; the tracked sources' azimuths in one lane (same
left-top axis, a line per source in its object colour, opacity = confidence); loudness;
onsets. The layout and render lanes come right under the waveforms, so that they stay in view
on a laptop screen however many sources were tracked. Click or drag to move the playhead,
click an object lane to select the object, Ctrl+wheel (or +/-) to zoom, wheel to scroll. An
object lane's header tells what its source was heard as (hover), and right-clicking it
offers the other names it was heard as (one undo step each).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QMenu, QScrollArea, QScrollBar, QToolButton,
                               QToolTip, QVBoxLayout, QWidget)

from engine.planning.heard import candidates_of, heard_summary

from . import theme
from .document import StudioDocument
from .model.layout_edit import keyframes

HEADER_W = 118
RULER_H = 20
WAVE_H = 40
AZ_H = 40
LOUD_H = 28
ONSET_H = 14
OBJ_H = 26
THUMB_H = 46
# Zoomed out far enough that Fit shows a 3-hour sound (the engine's limit) in 540 px.
MIN_PPS, MAX_PPS = 0.05, 4000.0


# What each lane shows, for its header's tooltip (an object lane says its own).
LANE_TIPS = {
    "ruler": "Time. Click or drag in the lanes to move the playhead; Ctrl+wheel zooms.",
    "wave": "The waveform of this channel, scaled to the clip's loudest moment.",
    "thumbs": "Frames of the last render, at their times.",
    "azimuth": "Where each tracked sound is heard: left at the top, centre, right at the "
               "bottom; one line per sound in its object's colour, fainter where less sure.",
    "loudness": "How loud the mix is, in dB over the 48 dB below its peak.",
    "onsets": "Where sounds start (onsets).",
}


class TimelineCanvas(QWidget):
    seek = Signal(float)
    zoom_changed = Signal()

    def __init__(self, doc: StudioDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.t0 = 0.0  # time at the left edge of the content (s)
        self.pps = 100.0  # pixels per second
        self.follow = True
        self._fit_pending = True
        self._version = 0
        self._cache: QPixmap | None = None
        self._cache_key = None
        self._lanes_bottom = 0
        self.setMinimumHeight(160)
        self.setMouseTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        for sig in (doc.audio_changed, doc.cues_changed, doc.layout_changed,
                    doc.thumbnails_changed, doc.selection_changed):
            sig.connect(self._content_changed)
        doc.time_changed.connect(self._on_time)

    # -- geometry -----------------------------------------------------------------------------
    @property
    def content_w(self) -> int:
        return max(1, self.width() - HEADER_W)

    def x_of(self, t: float) -> float:
        return HEADER_W + (t - self.t0) * self.pps

    def t_of(self, x: float) -> float:
        return self.t0 + (x - HEADER_W) / self.pps

    def visible_span(self) -> tuple[float, float]:
        return self.t0, self.t0 + self.content_w / self.pps

    def lanes(self) -> list[tuple[str, str, int, object]]:
        """(kind, title, height, payload) top to bottom, for what the document holds."""
        out: list[tuple[str, str, int, object]] = [("ruler", "", RULER_H, None)]
        if self.doc.waveform is not None:
            out.append(("wave", "Left", WAVE_H, 0))
            if self.doc.waveform.channels > 1:
                out.append(("wave", "Right", WAVE_H, 1))
        if self.doc.layout is not None:
            # Objects of one name ("object", "sound source") are numbered: their lanes were
            # alike in name and colour.
            labels = [obj.label for obj in self.doc.layout.objects]
            seen: dict[str, int] = {}
            for obj in self.doc.layout.objects:
                seen[obj.label] = seen.get(obj.label, 0) + 1
                title = obj.label if labels.count(obj.label) == 1 else \
                    f"{obj.label} {seen[obj.label]}"
                out.append(("object", title, OBJ_H, obj))
        if self.doc.thumbnails:
            out.append(("thumbs", "Render", THUMB_H, None))
        cues = self.doc.cues
        if cues is not None:
            if cues.sources:
                names = [src.label or f"source {src.id}" for src in cues.sources]
                title = f"Azimuth: {names[0]}" if len(names) == 1 else f"Azimuth ({len(names)})"
                out.append(("azimuth", title, AZ_H, cues.sources))
            out.append(("loudness", "Loudness", LOUD_H, None))
            out.append(("onsets", "Onsets", ONSET_H, None))
        return out

    def sizeHint(self) -> QSize:
        return QSize(800, sum(h for _, _, h, _ in self.lanes()) + 4)

    def set_zoom(self, pps: float, anchor_x: float | None = None) -> None:
        pps = float(np.clip(pps, MIN_PPS, MAX_PPS))
        ax = HEADER_W + self.content_w / 2 if anchor_x is None else anchor_x
        t_anchor = self.t_of(ax)
        self.pps = pps
        self.t0 = t_anchor - (ax - HEADER_W) / pps
        self.clamp_scroll()
        self.zoom_changed.emit()
        self.update()

    def fit(self) -> None:
        d = self.doc.duration_s
        if d > 0:
            self.pps = float(np.clip(self.content_w / d, MIN_PPS, MAX_PPS))
            self.t0 = 0.0
            self.zoom_changed.emit()
            self.update()

    def clamp_scroll(self) -> None:
        d = self.doc.duration_s
        span = self.content_w / self.pps
        self.t0 = float(max(0.0, min(self.t0, max(0.0, d - span))))

    def _content_changed(self, *_) -> None:
        self._version += 1
        if self._fit_pending and self.doc.duration_s > 0:
            self._fit_pending = False
            self.fit()
        if self.doc.duration_s == 0:
            self._fit_pending = True
        self.setMinimumHeight(max(160, sum(h for _, _, h, _ in self.lanes()) + 4))
        self.updateGeometry()
        self.update()

    def _on_time(self, t: float) -> None:
        if self.follow:
            a, b = self.visible_span()
            if t < a or t > b:
                self.t0 = t - 0.1 * (b - a)
                self.clamp_scroll()
                self.zoom_changed.emit()
        self.update()

    def resizeEvent(self, event) -> None:
        # A view that showed the whole clip keeps showing it when the window changes size.
        old_w = max(1, event.oldSize().width() - HEADER_W)
        d = self.doc.duration_s
        was_fitted = d > 0 and self.t0 == 0.0 and abs(old_w / self.pps - d) < 0.02 * d
        if (self._fit_pending or was_fitted) and d > 0:
            self._fit_pending = False
            self.fit()
        super().resizeEvent(event)

    # -- input --------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        pos = event.position()
        if pos.x() >= HEADER_W:
            self.seek.emit(max(0.0, self.t_of(pos.x())))
        y = 0
        for kind, _, h, payload in self.lanes():
            if y <= pos.y() < y + h and kind == "object":
                self.doc.select(payload.id)
            y += h

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton and event.position().x() >= HEADER_W:
            self.seek.emit(max(0.0, self.t_of(event.position().x())))

    def object_at(self, y: float):
        """The layout object whose lane is at height ``y``, or None."""
        top = 0
        for kind, _, h, payload in self.lanes():
            if top <= y < top + h and kind == "object":
                return payload
            top += h
        return None

    def heard_menu(self, obj, menu: QMenu | None = None) -> QMenu:
        """The names ``obj`` was heard as; choosing one renames it (one undo step). Into
        ``menu`` when given (the Edit menu's, for the keyboard), else a new one."""
        menu = QMenu(self) if menu is None else menu
        menu.addSection(heard_summary(obj.extra) or "No other names were heard")
        for label in candidates_of(obj.extra):
            action = menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(label == obj.label)
            action.triggered.connect(
                lambda _=False, lab=label, oid=obj.id: lab != self.doc.layout.object(oid).label
                and self.doc.rename_as_heard(oid, lab))
        return menu

    def contextMenuEvent(self, event) -> None:
        obj = self.object_at(event.pos().y()) if event.pos().x() < HEADER_W else None
        if obj is not None:
            self.doc.select(obj.id)
            self.heard_menu(obj).exec(event.globalPos())

    def lane_tip(self, y: float) -> str:
        """What the lane at height ``y`` shows (its header's tooltip): nothing on screen said
        how to read an object's band or the azimuth lines."""
        top = 0
        for kind, title, h, payload in self.lanes():
            if top <= y < top + h:
                if kind == "object":
                    heard = heard_summary(payload.extra)
                    return (f"{payload.label}: where its box is on each layout frame, from its "
                            "left edge (top) to its right edge (bottom); diamonds are keyframes. "
                            "Click to select it" + ("; right-click for the other names it was "
                                                    f"heard as. {heard}" if heard else "."))
                return LANE_TIPS.get(kind, "")
            top += h
        return ""

    def event(self, event) -> bool:
        if event.type() == event.Type.ToolTip:
            text = self.lane_tip(event.pos().y()) if event.pos().x() < HEADER_W else ""
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.set_zoom(self.pps * (1.25 if delta > 0 else 0.8), event.position().x())
        else:
            self.t0 -= delta / 120 * 60 / self.pps
            self.clamp_scroll()
            self.zoom_changed.emit()
            self.update()
        event.accept()

    # -- painting -----------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        # The lanes are painted into a cached pixmap; moving the playhead (30 times a second
        # during playback) only blits it and draws one line.
        dpr = self.devicePixelRatioF()
        key = (self.t0, self.pps, self.width(), self.height(), self._version, dpr)
        if self._cache is None or self._cache_key != key:
            # The pixmap is reused while the size holds: every PySide6 release tried takes six
            # references to None (never given back) the first time a painter opens a pixmap.
            size = self.size() * dpr
            if self._cache is None or self._cache.size() != size \
                    or self._cache.devicePixelRatio() != dpr:
                self._cache = QPixmap(size)
                self._cache.setDevicePixelRatio(dpr)
            cp = QPainter(self._cache)
            self._lanes_bottom = self._paint_lanes(cp)
            cp.end()
            self._cache_key = key
        p = QPainter(self)
        p.drawPixmap(0, 0, self._cache)
        if self.doc.duration_s > 0:
            x = self.x_of(self.doc.time_s)
            if x >= HEADER_W:
                p.setPen(QPen(theme.ACCENT, 1.5))
                p.drawLine(QPointF(x, 0), QPointF(x, max(self._lanes_bottom, self.height())))
                p.setBrush(theme.ACCENT)
                p.drawPolygon(QPolygonF([QPointF(x - 5, 0), QPointF(x + 5, 0), QPointF(x, 7)]))
        p.end()

    def _paint_lanes(self, p: QPainter) -> int:
        p.fillRect(self.rect(), theme.BASE)
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        p.setFont(small)
        y = 0
        for kind, title, h, payload in self.lanes():
            lane = QRectF(HEADER_W, y, self.content_w, h)
            if kind == "object" and payload.id == self.doc.selected_id:
                p.fillRect(QRectF(0, y, self.width(), h), QColor(255, 138, 61, 28))
            p.setClipRect(lane)
            getattr(self, f"_paint_{kind}")(p, lane, payload)
            p.setClipping(False)
            p.setPen(theme.GRID)
            p.drawLine(QPointF(0, y + h - 0.5), QPointF(self.width(), y + h - 0.5))
            if title:
                p.setPen(theme.readable_on(theme.object_qcolor(payload.label), theme.BASE)
                         if kind == "object" else theme.MUTED)
                p.drawText(QRectF(8, y, HEADER_W - 12, h), Qt.AlignmentFlag.AlignVCenter,
                           p.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight,
                                                      HEADER_W - 14))
            y += h
        p.setPen(theme.GRID)
        p.drawLine(QPointF(HEADER_W - 0.5, 0), QPointF(HEADER_W - 0.5, y))
        if y == RULER_H:
            p.setPen(theme.MUTED)
            p.drawText(self.rect().adjusted(HEADER_W, RULER_H, 0, 0), Qt.AlignmentFlag.AlignCenter,
                       "Record or import a sound (Ctrl+R / Ctrl+I, or drop a file here)")
        return y

    def _paint_ruler(self, p: QPainter, r: QRectF, _) -> None:
        a, b = self.visible_span()
        step = _nice_step(80 / self.pps)
        p.setPen(theme.MUTED)
        t = math.floor(a / step) * step
        while t <= b:
            x = self.x_of(t)
            p.drawLine(QPointF(x, r.bottom() - 5), QPointF(x, r.bottom()))
            p.drawText(QPointF(x + 3, r.top() + 13), _fmt_time(t, step))
            t += step

    def _paint_wave(self, p: QPainter, r: QRectF, channel: int) -> None:
        """The min/max envelope, filled: one min-to-max line in every pixel column (ten times
        cheaper than filling the same outline as a polygon), scaled to the clip's peak so that
        a quiet recording still fills the lane (the loudness lane shows the level itself)."""
        wf = self.doc.waveform
        a, b = self.visible_span()
        ncols = int(r.width())
        mins, maxs = wf.columns(a, b, ncols, channel)
        mid = r.center().y()
        half = (r.height() / 2 - 2) / max(wf.peak, 1e-4)
        color = theme.LEFT if channel == 0 else theme.RIGHT
        p.setPen(QPen(theme.GRID, 1))
        p.drawLine(QPointF(r.left(), mid), QPointF(r.right(), mid))
        p.setPen(QPen(color, 1))
        ok = np.flatnonzero(np.isfinite(maxs))
        top = mid - maxs[ok] * half - 0.5
        bottom = np.maximum(mid - mins[ok] * half + 0.5, top + 1)  # silence: still a line
        p.drawLines([QLineF(r.left() + k + 0.5, y0, r.left() + k + 0.5, y1)
                     for k, y0, y1 in zip(ok.tolist(), top.tolist(), bottom.tolist())])

    def _frame_xs(self, n: int, duration: float) -> np.ndarray:
        return np.array([self.x_of((i + 0.5) * duration / n) for i in range(n)])

    def _paint_azimuth(self, p: QPainter, r: QRectF, sources) -> None:
        cues = self.doc.cues
        xs = self._frame_xs(cues.num_frames, cues.duration_s)
        # Guides at left / centre / right.
        for az, label in ((-90, "L"), (0, "C"), (90, "R")):
            yy = r.top() + 3 + (az + 90) / 180 * (r.height() - 6)
            p.setPen(QPen(theme.GRID, 1, Qt.PenStyle.DotLine))
            p.drawLine(QPointF(r.left() + 12, yy), QPointF(r.right(), yy))
            p.setPen(theme.MUTED)
            p.drawText(QRectF(r.left() + 1, yy - 7, 10, 14), Qt.AlignmentFlag.AlignCenter, label)
        for src in sources:
            self._paint_track(p, r, src, xs)

    def _paint_track(self, p: QPainter, r: QRectF, src, xs: np.ndarray) -> None:
        color = theme.object_qcolor(src.label or "sound source")
        az = np.asarray(src.azimuth_deg, float)
        conf = np.clip(np.nan_to_num(np.asarray(src.confidence, float)), 0, 1)
        ys = r.top() + 3 + (np.clip(az, -90, 90) + 90) / 180 * (r.height() - 6)
        # Only the segments in view: a long clip zoomed in would otherwise draw thousands.
        first = max(0, int(np.searchsorted(xs, r.left())) - 1)
        last = min(len(az) - 1, int(np.searchsorted(xs, r.right())) + 1)
        for i in range(first, last):
            if not (np.isfinite(az[i]) and np.isfinite(az[i + 1])):
                continue
            c = QColor(color)
            c.setAlphaF(float(0.15 + 0.85 * min(conf[i], conf[i + 1])))
            p.setPen(QPen(c, 2.2))
            p.drawLine(QPointF(xs[i], ys[i]), QPointF(xs[i + 1], ys[i + 1]))

    def _paint_loudness(self, p: QPainter, r: QRectF, _) -> None:
        cues = self.doc.cues
        loud = np.nan_to_num(np.asarray(cues.loudness_db, float), nan=-90.0)
        xs = self._frame_xs(cues.num_frames, cues.duration_s)
        top = max(-6.0, float(loud.max()))
        lo = top - 48.0
        path = QPainterPath(QPointF(xs[0], r.bottom()))
        for x, v in zip(xs, loud):
            path.lineTo(QPointF(x, r.bottom() - (np.clip(v, lo, top) - lo) / (top - lo) * (r.height() - 4)))
        path.lineTo(QPointF(xs[-1], r.bottom()))
        fill = QColor(theme.ACCENT)
        fill.setAlpha(70)
        p.setBrush(fill)
        p.setPen(QPen(theme.ACCENT, 1.2))
        p.drawPath(path)
        p.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_onsets(self, p: QPainter, r: QRectF, _) -> None:
        p.setPen(QPen(theme.TEXT, 1.2))
        a, b = self.visible_span()
        for t in self.doc.cues.onsets_s:
            if a <= t <= b:
                x = self.x_of(t)
                p.drawLine(QPointF(x, r.top() + 3), QPointF(x, r.bottom() - 3))

    def _paint_object(self, p: QPainter, r: QRectF, obj) -> None:
        lay = self.doc.layout
        n, dur = lay.num_frames, lay.duration_s
        color = theme.object_qcolor(obj.label)
        band = QColor(color)
        band.setAlpha(60)
        for i, box in enumerate(obj.boxes):
            if box is None:
                continue
            xa, xb = self.x_of(i * dur / n), self.x_of((i + 1) * dur / n)
            if xb < r.left() or xa > r.right():
                continue
            p.fillRect(QRectF(xa, r.top() + 2, xb - xa, r.height() - 4), band)
            y0 = r.top() + 2 + box[0] * (r.height() - 4)
            y1 = r.top() + 2 + box[2] * (r.height() - 4)
            p.fillRect(QRectF(xa + 0.5, y0, max(1.0, xb - xa - 1), max(2.0, y1 - y0)), color)
        p.setPen(QPen(theme.TEXT, 1))
        p.setBrush(theme.ACCENT)
        for k in keyframes(obj):
            x, yc = self.x_of((k + 0.5) * dur / n), r.center().y()
            p.drawPolygon(QPolygonF([QPointF(x, yc - 5), QPointF(x + 5, yc), QPointF(x, yc + 5),
                                     QPointF(x - 5, yc)]))
        p.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_thumbs(self, p: QPainter, r: QRectF, _) -> None:
        last_right = -1e9
        for t, img in self.doc.thumbnails:
            x = self.x_of(t)
            if x > r.right():
                break
            w = img.width() * (r.height() - 4) / max(1, img.height())
            if x + w < r.left() or x < last_right:
                continue
            p.drawImage(QRectF(x, r.top() + 2, w, r.height() - 4), img)
            last_right = x + w + 2


class TimelineView(QWidget):
    """The timeline canvas with a scroll bar and zoom buttons."""

    def __init__(self, doc: StudioDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas = TimelineCanvas(doc, self)
        self.scroll = QScrollBar(Qt.Orientation.Horizontal, self)
        self.scroll.valueChanged.connect(self._scrolled)
        self.canvas.zoom_changed.connect(self._sync_scroll)
        doc.audio_changed.connect(self._sync_scroll)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.scroll, 1)
        for text, tip, slot in (("−", "Zoom out (Ctrl+-)", lambda: self.zoom(0.5)),
                                ("+", "Zoom in (Ctrl+=)", lambda: self.zoom(2.0)),
                                ("Fit", "Show the whole clip (Ctrl+0)", self.canvas.fit)):
            b = QToolButton(self)
            b.setText(text)
            b.setToolTip(tip)
            b.setAccessibleName(tip.split(" (")[0])  # not "minus", "plus"
            b.clicked.connect(slot)
            row.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        # Many objects make the lanes taller than the dock: scroll vertically, keep the
        # horizontal axis (time) for the timeline's own scroll bar.
        self.area = QScrollArea(self)
        self.area.setWidget(self.canvas)
        self.area.setWidgetResizable(True)
        self.area.setFrameShape(QFrame.Shape.NoFrame)
        self.area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        lay.addWidget(self.area, 1)
        lay.addLayout(row)
        self._syncing = False

    def zoom(self, factor: float) -> None:
        self.canvas.set_zoom(self.canvas.pps * factor)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(2.0)
        elif event.key() == Qt.Key.Key_Minus:
            self.zoom(0.5)
        else:
            super().keyPressEvent(event)

    def _sync_scroll(self) -> None:
        c = self.canvas
        span_ms = int(c.content_w / c.pps * 1000)
        total_ms = int(c.doc.duration_s * 1000)
        self._syncing = True
        self.scroll.setRange(0, max(0, total_ms - span_ms))
        self.scroll.setPageStep(max(1, span_ms))
        self.scroll.setSingleStep(max(1, span_ms // 10))
        self.scroll.setValue(int(c.t0 * 1000))
        self._syncing = False

    def _scrolled(self, value: int) -> None:
        if not self._syncing:
            self.canvas.t0 = value / 1000
            self.canvas.update()


def _nice_step(min_s: float) -> float:
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600):
        if step >= min_s:
            return float(step)
    return 7200.0


def _fmt_time(t: float, step: float) -> str:
    if step >= 60:
        return f"{int(t // 3600)}:{int(t % 3600 // 60):02d}:{int(t % 60):02d}" if t >= 3600 \
            else f"{int(t // 60)}:{int(t % 60):02d}"
    if step >= 1:
        return f"{int(t // 60)}:{int(t % 60):02d}" if t >= 60 else f"{t:.0f}s"
    return f"{t:.2f}s" if step < 0.1 else f"{t:.1f}s"
