"""The layout canvas: the boxes of the current frame over the picture, to drag and resize.

Drag a box to move it, drag its edges or corners to resize; each finished drag is one undo
step. Double-click a box to rename it or change its prompt and motion. The background is the
last render's frame at the playhead when it came from a real renderer, otherwise the preview
renderer's backdrop for the layout, chosen by the renderer's rule.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QContextMenuEvent, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QGraphicsItem, QGraphicsPixmapItem, QGraphicsRectItem,
                               QGraphicsScene, QGraphicsView, QLabel, QLineEdit, QMenu,
                               QWidget)

from engine.errors import SpA2VError
from engine.layout import MOTIONS

from . import theme
from .document import StudioDocument
from .model.layout_edit import keyframes
from .model.tasks import backdrop
from .workers import to_qimage

EDGE_PX = 7  # grab distance for an edge, in view pixels


class BoxItem(QGraphicsRectItem):
    def __init__(self, canvas: "LayoutCanvas", obj, rect: QRectF, *, keyed: bool):
        super().__init__(rect)
        self.canvas, self.obj, self.keyed = canvas, obj, keyed
        self.color = theme.object_qcolor(obj.label)
        self.setAcceptHoverEvents(True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self._mode: str | None = None
        self._start_rect = QRectF()
        self._start_pos = QPointF()

    @property
    def selected(self) -> bool:
        return self.canvas.doc.selected_id == self.obj.id

    def _edges(self, pos: QPointF) -> str:
        scale = self.canvas.view_scale()
        tol = EDGE_PX / max(scale, 1e-6)
        r = self.rect()
        e = ""
        if abs(pos.y() - r.top()) <= tol:
            e += "t"
        elif abs(pos.y() - r.bottom()) <= tol:
            e += "b"
        if abs(pos.x() - r.left()) <= tol:
            e += "l"
        elif abs(pos.x() - r.right()) <= tol:
            e += "r"
        return e or "move"

    def hoverMoveEvent(self, event) -> None:
        mode = self._edges(event.pos())
        cursors = {"move": Qt.CursorShape.SizeAllCursor, "t": Qt.CursorShape.SizeVerCursor,
                   "b": Qt.CursorShape.SizeVerCursor, "l": Qt.CursorShape.SizeHorCursor,
                   "r": Qt.CursorShape.SizeHorCursor, "tl": Qt.CursorShape.SizeFDiagCursor,
                   "br": Qt.CursorShape.SizeFDiagCursor, "tr": Qt.CursorShape.SizeBDiagCursor,
                   "bl": Qt.CursorShape.SizeBDiagCursor}
        self.setCursor(cursors[mode])

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self.canvas.doc.select(self.obj.id)
        self._mode = self._edges(event.pos())
        self._start_rect = QRectF(self.rect())
        self._start_pos = event.scenePos()
        self.canvas.drag_started(self)
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if self._mode is None:
            return
        d = event.scenePos() - self._start_pos
        r = QRectF(self._start_rect)
        bounds = self.canvas.scene().sceneRect()
        if self._mode == "move":
            r.translate(d)
            r.moveLeft(min(max(r.left(), bounds.left()), bounds.right() - r.width()))
            r.moveTop(min(max(r.top(), bounds.top()), bounds.bottom() - r.height()))
        else:
            min_w = 0.02 * bounds.width()
            if "l" in self._mode:
                r.setLeft(min(max(bounds.left(), r.left() + d.x()), r.right() - min_w))
            if "r" in self._mode:
                r.setRight(max(min(bounds.right(), r.right() + d.x()), r.left() + min_w))
            if "t" in self._mode:
                r.setTop(min(max(bounds.top(), r.top() + d.y()), r.bottom() - min_w))
            if "b" in self._mode:
                r.setBottom(max(min(bounds.bottom(), r.bottom() + d.y()), r.top() + min_w))
        self.setRect(r)

    def cancel_drag(self) -> None:
        """Esc during a drag: the box back where it was, nothing committed."""
        self._mode = None
        self.setRect(self._start_rect)

    def mouseReleaseEvent(self, event) -> None:
        mode, self._mode = self._mode, None
        if mode is not None:
            self.canvas.drag_ended(self, self.rect() != self._start_rect)

    def mouseDoubleClickEvent(self, event) -> None:
        self.canvas.edit_object(self.obj.id)

    def paint(self, p: QPainter, option, widget=None) -> None:
        r = self.rect()
        fill = QColor(self.color)
        fill.setAlpha(70 if self.selected else 45)
        p.setBrush(fill)
        p.setPen(QPen(theme.ACCENT if self.selected else self.color, 2.5 if self.selected else 1.8))
        p.drawRoundedRect(r, 4, 4)
        # Label tag above the box (inside when at the top edge).
        font = QFont(p.font())
        font.setPixelSize(max(11, int(13 / max(self.canvas.view_scale(), 0.3))))
        font.setBold(True)
        p.setFont(font)
        text = self.obj.label + ("  ◆" if self.keyed else "")
        fm = p.fontMetrics()
        tw, th = fm.horizontalAdvance(text) + 10, fm.height() + 4
        ty = r.top() - th - 2 if r.top() - th - 2 >= 0 else r.top() + 2
        tag = QRectF(r.left(), ty, tw, th)
        p.setPen(Qt.PenStyle.NoPen)
        fill = theme.ACCENT if self.selected else self.color
        p.setBrush(fill)
        p.drawRoundedRect(tag, 3, 3)
        p.setPen(theme.ink_on(fill))  # #111 on a blue tag was 2.9:1
        p.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)
        if self.selected:
            p.setBrush(theme.ACCENT)
            p.setPen(QPen(QColor("#111"), 1))
            h = 7 / max(self.canvas.view_scale(), 1e-6)
            for pt in (r.topLeft(), r.topRight(), r.bottomLeft(), r.bottomRight()):
                p.drawRect(QRectF(pt.x() - h / 2, pt.y() - h / 2, h, h))


class LayoutCanvas(QGraphicsView):
    """A view of the current frame's boxes; edits go to the document as undoable commands."""

    status = Signal(str)

    def __init__(self, doc: StudioDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setBackgroundBrush(QBrush(theme.BASE))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumSize(240, 200)
        self._backdrop_key = None
        self._backdrop: QPixmap | None = None
        self._bg_item = QGraphicsPixmapItem()
        self._frame = -1
        self.items_by_id: dict[int, BoxItem] = {}
        # The box being dragged and the frame it was grabbed on: the playhead (playback) or
        # the layout may change under a drag; the view waits for the release, and the drag
        # lands on the frame it started on, instead of being dropped with its item.
        self._drag: tuple[BoxItem, int] | None = None
        self._stale = False
        doc.layout_changed.connect(self.rebuild)
        doc.audio_changed.connect(self.rebuild)
        doc.selection_changed.connect(lambda _: self.scene().update())
        doc.time_changed.connect(self._on_time)
        doc.thumbnails_changed.connect(self.rebuild)
        doc.render_frame_changed.connect(self._on_render_frame)
        doc.renders_changed.connect(self.rebuild)
        self.rebuild()

    def view_scale(self) -> float:
        return self.transform().m11()

    def frame_size(self) -> tuple[int, int]:
        lay = self.doc.layout
        return (lay.width, lay.height) if lay is not None else (512, 512)

    def _on_time(self, _t: float) -> None:
        if self.doc.current_frame() != self._frame or self._uses_render_frames():
            self.rebuild()

    def _on_render_frame(self) -> None:
        if self._uses_render_frames():
            self.rebuild()

    def _uses_render_frames(self) -> bool:
        rec = self.doc.latest_render()
        return bool(self.doc.thumbnails) and rec is not None and rec.renderer != "preview"

    def _background(self, w: int, h: int) -> QPixmap:
        if self._uses_render_frames():
            img = self.doc.render_frame(self.doc.time_s)
            if img is not None:
                return QPixmap.fromImage(img.scaled(w, h))
        image = backdrop(self.doc.layout, w, h)  # cached by the engine: the same array back
        if image is not self._backdrop_key:
            self._backdrop = QPixmap.fromImage(to_qimage(image))
            self._backdrop_key = image
        return self._backdrop

    def drag_started(self, item: BoxItem) -> None:
        self._drag = (item, self.doc.current_frame())

    def event(self, event) -> bool:
        """Esc during a drag puts the box back, as in any editor (it was the window's key for
        the banner, and the drag went on to land where the mouse was let go)."""
        if (getattr(self, "_drag", None) is not None  # (events come before __init__ ends)
                and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress)
                and event.key() == Qt.Key.Key_Escape):
            event.accept()
            if event.type() == QEvent.Type.KeyPress:
                item, _frame = self._drag
                self._drag = None
                item.cancel_drag()
                if self._stale:
                    self.rebuild()
            return True
        return super().event(event)

    def drag_ended(self, item: BoxItem, moved: bool) -> None:
        drag, self._drag = self._drag, None
        if drag is None or drag[0] is not item:
            return
        lay = self.doc.layout
        if (moved and lay is not None and drag[1] < lay.num_frames
                and item.obj.id in {o.id for o in lay.objects}):  # an undo may have taken it
            self.commit_box(item.obj.id, item.rect(), drag[1])
        if self._stale:
            self.rebuild()

    def rebuild(self) -> None:
        if self._drag is not None:
            self._stale = True
            return
        self._stale = False
        scene = self.scene()
        for item in list(scene.items()):
            if item is not self._bg_item:
                scene.removeItem(item)
        if self._bg_item.scene() is None:
            scene.addItem(self._bg_item)
        w, h = self.frame_size()
        scene.setSceneRect(QRectF(0, 0, w, h))
        self._bg_item.setPixmap(self._background(w, h))
        self._bg_item.setZValue(-10)
        self.items_by_id = {}
        self._frame = frame = self.doc.current_frame()
        lay = self.doc.layout
        if lay is not None:
            for obj in lay.objects:
                box = obj.boxes[frame]
                if box is None:
                    continue
                rect = QRectF(box[0] * w, box[1] * h, (box[2] - box[0]) * w, (box[3] - box[1]) * h)
                item = BoxItem(self, obj, rect, keyed=frame in keyframes(obj))
                item.setZValue(2 if obj.id == self.doc.selected_id else 1)
                scene.addItem(item)
                self.items_by_id[obj.id] = item
        self.fit()

    def fit(self) -> None:
        self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()

    def drawForeground(self, p: QPainter, rect: QRectF) -> None:
        if self.doc.layout is not None:
            return
        scene = self.sceneRect()
        p.fillRect(scene, QColor(15, 16, 18, 150))
        font = QFont(p.font())
        font.setPixelSize(max(10, int(scene.width() / 32)))
        font.setBold(True)
        p.setFont(font)
        p.setPen(theme.TEXT)
        if self.doc.audio is None:
            text = ("Record a sound (Ctrl+R) or import one (Ctrl+I).\n"
                    "You can also drop a sound file or a project here.")
        else:
            text = ("Plan a layout from the sound (Ctrl+L),\n"
                    "or draw your own: add an object (Ctrl+Shift+A).")
        p.drawText(scene.adjusted(24, 0, -24, 0),
                   Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)

    def commit_box(self, object_id: int, rect: QRectF, frame: int | None = None) -> None:
        w, h = self.frame_size()
        box = (rect.left() / w, rect.top() / h, rect.right() / w, rect.bottom() / h)
        try:
            self.doc.move_box(object_id, self.doc.current_frame() if frame is None else frame,
                              box)
        except SpA2VError as e:
            self.doc.message.emit(str(e), "error")
            self.rebuild()

    def mousePressEvent(self, event) -> None:
        item = self.itemAt(event.position().toPoint())
        if not isinstance(item, BoxItem):
            self.doc.select(-1)
        super().mousePressEvent(event)

    def contextMenuEvent(self, event) -> None:
        item, at = self.itemAt(event.pos()), event.globalPos()
        if event.reason() == QContextMenuEvent.Reason.Keyboard:
            # The Menu key (Shift+F10): the selected box's menu, at the box. Qt places it at the
            # view's corner, so the keyboard only ever got the empty frame's menu.
            item = self.items_by_id.get(self.doc.selected_id)
            if item is not None:
                at = self.viewport().mapToGlobal(self.mapFromScene(item.rect().center()))
        self.context_menu(item).exec(at)

    def _guarded(self, fn, *args):
        """A menu entry's slot: a refused edit (the 9th object) goes to the banner, as the
        toolbar's and the keys' do, instead of escaping the slot unseen."""
        def run() -> None:
            try:
                fn(*args)
            except SpA2VError as e:
                self.doc.message.emit(str(e), "error")
        return run

    def context_menu(self, item) -> QMenu:
        menu = QMenu(self)
        g = self._guarded
        if isinstance(item, BoxItem):
            oid = item.obj.id
            self.doc.select(oid)
            menu.addAction("Rename / properties…", lambda: self.edit_object(oid))
            frame = self.doc.current_frame()
            if frame in keyframes(item.obj):
                menu.addAction("Remove keyframe", g(self.doc.remove_keyframe, oid, frame))
            else:
                menu.addAction("Set keyframe", g(self.doc.set_keyframe, oid, frame))
            menu.addAction("Hide on this frame", g(self.doc.hide_box, oid, frame))
            menu.addSeparator()
            menu.addAction("Delete object", g(self.doc.delete_object, oid))
        else:
            menu.addAction("Add object", g(self.doc.add_object))
        return menu

    def edit_object(self, object_id: int) -> None:
        obj = self.doc.layout.object(object_id)
        dlg = ObjectDialog(obj.label, obj.prompt, obj.motion, self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            try:
                self.doc.update_object(object_id, **dlg.values())
            except SpA2VError as e:
                self.doc.message.emit(str(e), "error")


class ObjectDialog(QDialog):
    def __init__(self, label: str, prompt: str, motion: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Object")
        form = QFormLayout(self)
        self.label = QLineEdit(label)
        self.label.setToolTip("A short noun a person would use: dog, car, person")
        self.prompt = QLineEdit(prompt)
        self.prompt.setToolTip("The phrase the renderer draws in this box: 'a red car'")
        self.motion = QComboBox()
        self.motion.addItems(MOTIONS)
        self.motion.setCurrentText(motion)
        form.addRow("Label", self.label)
        form.addRow("Prompt", self.prompt)
        form.addRow("Motion", self.motion)
        hint = QLabel("Moving boxes does not change the motion label; set it here.")
        hint.setObjectName("hint")
        form.addRow(hint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        return {"label": self.label.text(), "prompt": self.prompt.text(),
                "motion": self.motion.currentText()}

