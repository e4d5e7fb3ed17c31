"""A dark, calm look for long sessions (Fusion style, one accent colour), plus painted icons.

Icons are drawn with QPainter rather than shipped as files, so they follow the palette and the
frozen bundle needs no icon theme.
"""

from __future__ import annotations

import colorsys
import functools
import zlib

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QApplication

ACCENT = QColor("#ff8a3d")
RECORD = QColor("#e5484d")
OK = QColor("#46a758")
WARN = QColor("#f5a524")
BG = QColor("#1e1f22")
PANEL = QColor("#26272b")
BASE = QColor("#17181a")
TEXT = QColor("#e6e6e6")
MUTED = QColor("#9a9ca3")
GRID = QColor("#34363b")
LEFT = QColor("#5ab0ff")   # left channel
RIGHT = QColor("#ff6f91")  # right channel

# The Record button while recording: "Stop" in white on a red a little darker than RECORD
# (white on RECORD itself read at 3.9:1; 4.8:1 here, TEXT_CONTRAST).
# Focus must show (a keyboard user has to see where the keys go): a style sheet that styles a
# tool button or a frame replaces Fusion's focus drawing, so the accent border says it here
# (the transparent one keeps the size from changing with the focus).
STYLE = """
QMainWindow::separator { background: #131416; width: 3px; height: 3px; }
QDockWidget::title { background: #2c2d31; padding: 4px 8px; font-weight: 600; }
QToolBar { border: none; spacing: 4px; padding: 3px; background: #222327; }
QToolButton { padding: 3px 5px; border-radius: 4px; border: 1px solid transparent; }
QToolButton:focus { border-color: #ff8a3d; }
QGraphicsView, QScrollArea { border: 1px solid transparent; }
QGraphicsView:focus, QScrollArea:focus { border-color: #ff8a3d; }
QToolButton:hover { background: #34363b; }
QToolButton:checked { background: #3d3f45; }
QToolButton#qt_toolbar_ext_button { padding: 0px; min-width: 18px; }
QPushButton { padding: 4px 12px; border-radius: 4px; background: #34363b; border: 1px solid #40424a; }
QPushButton:hover { background: #3d3f45; }
QPushButton:disabled { color: #6b6d73; }
QPushButton#record { background: #3a2224; border-color: #6b2b2f; font-weight: 600; }
QPushButton#record:checked { background: #d13b40; color: white; }
QProgressBar { border: 1px solid #40424a; border-radius: 3px; background: #17181a; height: 10px;
               text-align: center; font-size: 9px; }
QProgressBar::chunk { background: #ff8a3d; border-radius: 2px; }
QLabel#banner { padding: 6px 10px; border-radius: 4px; }
QLabel#hint { color: #9a9ca3; }
QStatusBar QLabel { padding: 0 6px; color: #c6c8cd; }
QListWidget { background: #1b1c1f; border: none; }
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    for role, color in [
        (QPalette.ColorRole.Window, BG), (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, BASE), (QPalette.ColorRole.AlternateBase, PANEL),
        (QPalette.ColorRole.Text, TEXT), (QPalette.ColorRole.Button, PANEL),
        (QPalette.ColorRole.ButtonText, TEXT), (QPalette.ColorRole.Highlight, ACCENT),
        (QPalette.ColorRole.HighlightedText, QColor("#111")),
        (QPalette.ColorRole.ToolTipBase, PANEL), (QPalette.ColorRole.ToolTipText, TEXT),
        (QPalette.ColorRole.PlaceholderText, MUTED), (QPalette.ColorRole.Link, ACCENT),
    ]:
        pal.setColor(role, color)
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, MUTED.darker(130))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, MUTED.darker(130))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, MUTED.darker(130))
    app.setPalette(pal)
    app.setStyleSheet(STYLE)


def object_qcolor(label: str) -> QColor:
    """The same colour per label as the preview renderer's cards."""
    hue = (zlib.crc32(label.lower().encode()) % 360) / 360.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.55, 0.55)
    return QColor(int(r * 255), int(g * 255), int(b * 255))


# WCAG 2's least contrast for text (AA, normal size): the object colours are of one lightness
# (0.55), so blue and violet ones are dark: #111 on a blue tag read at 2.9:1, a blue lane title
# on the timeline at 2.7:1 (standard).
TEXT_CONTRAST = 4.5


def contrast(a: QColor, b: QColor) -> float:
    """WCAG 2's contrast ratio of two colours (1 to 21)."""
    def luminance(c: QColor) -> float:
        lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
               for v in (c.redF(), c.greenF(), c.blueF())]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    la, lb = luminance(QColor(a)), luminance(QColor(b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def ink_on(fill: QColor) -> QColor:
    """Black or white, whichever reads better on ``fill`` (a label on a tag): one of them
    always reaches 4.58:1, which #111 in black's place would not on a mid-grey violet."""
    dark, light = QColor("#000000"), QColor("#ffffff")
    return dark if contrast(dark, fill) >= contrast(light, fill) else light


def readable_on(color: QColor, background: QColor) -> QColor:
    """``color``, made lighter as little as needed to read as text on the dark
    ``background`` (:data:`TEXT_CONTRAST`)."""
    c = QColor(color)
    h, s, light, a = c.getHslF()
    while contrast(c, background) < TEXT_CONTRAST and light < 1.0:
        light = min(1.0, light + 0.02)
        c = QColor.fromHslF(max(h, 0.0), s, light, a)
    return c


def icon(name: str, color: QColor | None = None, size: int = 32) -> QIcon:
    """A small flat icon: record, stop, play, pause, import, plan, render, export, undo, redo,
    add, delete, key, prev, next, settings, save, open, folder, cancel, rename, scene.

    Drawn once per name, colour and size: the queue asks again on every progress update, and
    PySide6 keeps six references to None each time a painter opens a new pixmap. Drawn at
    ``size`` and at :data:`SCREEN_SCALES` times it: with the one pixmap a 2x screen got a
    toolbar's 24 px icon from 32 pixels, stretched to 48 and blurred.
    """
    return _icon(name, None if color is None else QColor(color).rgba(), size)


# The device pixel ratios of high-density screens (2x, 3x) that icons are drawn for.
SCREEN_SCALES = (2, 3)


@functools.lru_cache(maxsize=256)
def _icon(name: str, rgba: int | None, size: int) -> QIcon:
    icon = QIcon()
    for scale in (1, *SCREEN_SCALES):
        icon.addPixmap(_pixmap(name, rgba, size * scale))
    return icon


def _pixmap(name: str, rgba: int | None, size: int) -> QPixmap:
    color = None if rgba is None else QColor.fromRgba(rgba)
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    c = QColor(color or TEXT)
    s = size
    pen = QPen(c, s * 0.09, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
               Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    r = QRectF(s * 0.18, s * 0.18, s * 0.64, s * 0.64)

    def poly(*pts, fill=True):
        path = QPolygonF([QPointF(x * s, y * s) for x, y in pts])
        if fill:
            p.setBrush(c)
        p.drawPolygon(path) if fill else p.drawPolyline(path)
        p.setBrush(Qt.BrushStyle.NoBrush)

    if name == "record":
        p.setBrush(RECORD if color is None else c)
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(r.adjusted(s * .04, s * .04, -s * .04, -s * .04))
    elif name == "stop":
        p.setBrush(c)
        p.drawRoundedRect(r.adjusted(s * .06, s * .06, -s * .06, -s * .06), s * .1, s * .1)
    elif name == "play":
        poly((.3, .2), (.8, .5), (.3, .8))
    elif name == "pause":
        p.setBrush(c)
        p.drawRect(QRectF(s * .28, s * .22, s * .14, s * .56))
        p.drawRect(QRectF(s * .58, s * .22, s * .14, s * .56))
    elif name in ("import", "open"):
        p.drawLine(QPointF(s * .5, s * .15), QPointF(s * .5, s * .62))
        poly((.32, .46), (.5, .66), (.68, .46), fill=False)
        poly((.18, .62), (.18, .84), (.82, .84), (.82, .62), fill=False)
    elif name in ("export", "save"):
        p.drawLine(QPointF(s * .5, s * .66), QPointF(s * .5, s * .18))
        poly((.32, .36), (.5, .16), (.68, .36), fill=False)
        poly((.18, .62), (.18, .84), (.82, .84), (.82, .62), fill=False)
    elif name == "folder":
        poly((.14, .26), (.4, .26), (.48, .36), (.86, .36), (.86, .78), (.14, .78), (.14, .26),
             fill=False)
    elif name == "plan":
        p.drawRect(QRectF(s * .14, s * .3, s * .34, s * .3))
        p.drawRect(QRectF(s * .5, s * .42, s * .36, s * .4))
        p.drawLine(QPointF(s * .16, s * .16), QPointF(s * .84, s * .16))
    elif name == "render":
        poly((.18, .22), (.18, .78), (.82, .5))
        p.setBrush(QColor(BG))
    elif name == "undo":
        path = QPainterPath(QPointF(s * .3, s * .42))
        path.cubicTo(QPointF(s * .6, s * .2), QPointF(s * .9, s * .5), QPointF(s * .7, s * .78))
        p.drawPath(path)
        poly((.18, .42), (.36, .26), (.38, .52))
    elif name == "redo":
        path = QPainterPath(QPointF(s * .7, s * .42))
        path.cubicTo(QPointF(s * .4, s * .2), QPointF(s * .1, s * .5), QPointF(s * .3, s * .78))
        p.drawPath(path)
        poly((.82, .42), (.64, .26), (.62, .52))
    elif name == "add":
        p.drawLine(QPointF(s * .5, s * .2), QPointF(s * .5, s * .8))
        p.drawLine(QPointF(s * .2, s * .5), QPointF(s * .8, s * .5))
    elif name in ("delete", "cancel"):
        p.drawLine(QPointF(s * .25, s * .25), QPointF(s * .75, s * .75))
        p.drawLine(QPointF(s * .75, s * .25), QPointF(s * .25, s * .75))
    elif name == "key":
        poly((.5, .16), (.84, .5), (.5, .84), (.16, .5))
    elif name == "prev":
        poly((.7, .2), (.3, .5), (.7, .8))
    elif name == "next":
        poly((.3, .2), (.7, .5), (.3, .8))
    elif name == "rename":  # a pencil
        poly((.2, .8), (.24, .64), (.66, .22), (.78, .34), (.36, .76), (.2, .8), fill=False)
        p.drawLine(QPointF(s * .58, s * .3), QPointF(s * .7, s * .42))
    elif name == "scene":  # hills under a sun
        poly((.12, .8), (.4, .44), (.58, .64), (.7, .52), (.88, .8), fill=False)
        p.drawEllipse(QRectF(s * .6, s * .16, s * .18, s * .18))
    elif name == "settings":
        p.drawEllipse(QRectF(s * .34, s * .34, s * .32, s * .32))
        for k in range(8):
            p.save()
            p.translate(s / 2, s / 2)
            p.rotate(45 * k)
            p.drawLine(QPointF(0, -s * .24), QPointF(0, -s * .36))
            p.restore()
    p.end()
    return pm
