"""Check that the installed PySide6 keeps Python's reference counts straight.

Some PySide6 releases take or drop a reference they should not: 6.12.0 drops one reference to
``None`` on every ``QPainter.drawLine``, ``QColor.setAlphaF`` and most ``setPen`` calls (and
one to ``True`` on every ``Signal.emit``). On CPython 3.11, where ``None`` and ``True`` are
ordinary counted objects, the timeline's thousands of calls per repaint bring the count to zero
within a minute and the interpreter aborts ("none_dealloc: deallocating None"). Python 3.12+
makes these objects immortal, which hides the bug but not a leak of the call's arguments.

:func:`probe` repeats each Qt call the studio makes while painting and signalling and reports
how the reference counts of ``None``, ``True``, ``False`` and the call's own arguments moved,
per call. A sound binding gives 0.00 everywhere. Run ``python -m spa2v_app.studio.refprobe``
to check an installation (exit 1 when any call is off); the tests run the same probe.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

SINGLETONS = {"None": None, "True": True, "False": False}
# References held while probing, so that a binding which drops them cannot bring a count to zero
# (and abort the interpreter) before the probe has said so. Never released: see main().
_RESERVE: list = []


@dataclass(frozen=True)
class Drift:
    call: str
    watched: str  # None, True, False, or the argument's description
    per_call: float


def _calls():
    """(name, function, arguments to watch) for each call the studio's painting and signals make."""
    from PySide6.QtCore import QLineF, QObject, QPointF, QRect, QRectF, Qt, Signal
    from PySide6.QtGui import (QBrush, QColor, QFont, QImage, QLinearGradient, QPainter,
                               QPainterPath, QPen, QPixmap, QPolygonF)

    pm, cache = QPixmap(64, 64), QPixmap(64, 64)
    p = QPainter(pm)
    color = QColor("#ff8a3d")
    pen = QPen(color, 1.5)
    dotted = QPen(color, 1, Qt.PenStyle.DotLine)
    brush = QBrush(color)
    a, b = QPointF(0, 0), QPointF(10, 5)
    rect, irect = QRectF(1, 1, 20, 10), QRect(1, 1, 20, 10)
    lines = [QLineF(k + 0.5, 2, k + 0.5, 9) for k in range(8)]
    poly = QPolygonF([QPointF(0, 0), QPointF(5, 0), QPointF(2, 4)])
    path = QPainterPath(a)
    path.lineTo(b)
    path.lineTo(QPointF(10, 10))
    image = QImage(8, 8, QImage.Format.Format_RGB888)
    image.fill(color)
    grad = QLinearGradient(0, 0, 10, 0)
    grad.setColorAt(0, color)
    font = QFont(p.font())
    text = "Azimuth: truck"
    fm = p.fontMetrics()

    class Emitter(QObject):
        bare = Signal()
        number = Signal(float)
        flag = Signal(bool)
        pair = Signal(str, str)
        thing = Signal(object)
        image_sig = Signal(object, int, int)

    em = Emitter()
    got: list = []
    em.number.connect(got.append)
    em.flag.connect(got.append)
    em.pair.connect(lambda s, level: got.append(s))
    em.thing.connect(got.append)
    em.image_sig.connect(lambda img, i, n: got.append(i))
    em.bare.connect(lambda: got.append(0))
    payload = object()

    def keep_short():
        del got[:]

    calls: list[tuple[str, Callable[[], object], dict[str, object]]] = [
        ("QPainter.drawLine(QPointF, QPointF)", lambda: p.drawLine(a, b), {"QPointF": a}),
        ("QPainter.drawLine(QLineF)", lambda: p.drawLine(lines[0]), {"QLineF": lines[0]}),
        ("QPainter.drawLines([QLineF])", lambda: p.drawLines(lines), {"list": lines}),
        ("QPainter.setPen(QColor)", lambda: p.setPen(color), {"QColor": color}),
        ("QPainter.setPen(QPen)", lambda: p.setPen(pen), {"QPen": pen}),
        ("QPainter.setPen(QPen(dotted))", lambda: p.setPen(dotted), {"QPen": dotted}),
        ("QPainter.setPen(PenStyle.NoPen)", lambda: p.setPen(Qt.PenStyle.NoPen), {}),
        ("QPainter.setPen(QPen(QColor, w))", lambda: p.setPen(QPen(color, 2.2)), {"QColor": color}),
        ("QPainter.setBrush(QColor)", lambda: p.setBrush(color), {"QColor": color}),
        ("QPainter.setBrush(QBrush)", lambda: p.setBrush(brush), {"QBrush": brush}),
        ("QPainter.setBrush(BrushStyle.NoBrush)", lambda: p.setBrush(Qt.BrushStyle.NoBrush), {}),
        ("QPainter.fillRect(QRectF, QColor)", lambda: p.fillRect(rect, color), {"QRectF": rect}),
        ("QPainter.fillRect(QRect, QColor)", lambda: p.fillRect(irect, color), {"QColor": color}),
        ("QPainter.fillRect(QRectF, QLinearGradient)", lambda: p.fillRect(rect, grad),
         {"QLinearGradient": grad}),
        ("QPainter.drawRect(QRectF)", lambda: p.drawRect(rect), {"QRectF": rect}),
        ("QPainter.drawRoundedRect(QRectF, 4, 4)", lambda: p.drawRoundedRect(rect, 4, 4), {}),
        ("QPainter.drawEllipse(QRectF)", lambda: p.drawEllipse(rect), {}),
        ("QPainter.drawPolygon(QPolygonF)", lambda: p.drawPolygon(poly), {"QPolygonF": poly}),
        ("QPainter.drawPolyline(QPolygonF)", lambda: p.drawPolyline(poly), {}),
        ("QPainter.drawPath(QPainterPath)", lambda: p.drawPath(path), {"QPainterPath": path}),
        ("QPainter.drawText(QRectF, flags, str)",
         lambda: p.drawText(rect, Qt.AlignmentFlag.AlignVCenter, text), {"str": text}),
        ("QPainter.drawText(QPointF, str)", lambda: p.drawText(a, text), {}),
        ("QPainter.drawImage(QRectF, QImage)", lambda: p.drawImage(rect, image), {"QImage": image}),
        ("QPainter.drawPixmap(0, 0, QPixmap)", lambda: p.drawPixmap(0, 0, pm), {}),
        ("QPainter.setClipRect/setClipping", lambda: (p.setClipRect(rect), p.setClipping(False)),
         {}),
        ("QPainter.setFont/font", lambda: (p.setFont(font), p.font()), {"QFont": font}),
        ("QPainter.save/translate/rotate/restore",
         lambda: (p.save(), p.translate(3, 3), p.rotate(45), p.restore()), {}),
        ("QPainter.setRenderHint", lambda: p.setRenderHint(QPainter.RenderHint.Antialiasing), {}),
        # The timeline reopens its cache pixmap on every redraw. (Opening a painter on a *new*
        # pixmap keeps six references to None in every release tried: the studio avoids it on
        # its hot paths, and it is not probed.)
        ("QPainter(the same QPixmap).end()", lambda: QPainter(cache).end(), {"QPixmap": cache}),
        ("QFontMetrics.elidedText", lambda: fm.elidedText(text, Qt.TextElideMode.ElideRight, 40),
         {"str": text}),
        ("QColor(QColor)", lambda: QColor(color), {"QColor": color}),
        ("QColor.setAlphaF", lambda: color.setAlphaF(0.5), {}),
        ("QColor.setAlpha", lambda: color.setAlpha(60), {}),
        ("QPainterPath.lineTo(QPointF)", lambda: QPainterPath(a).lineTo(b), {"QPointF": b}),
        ("Signal().emit()", lambda: em.bare.emit(), {}),
        ("Signal(float).emit", lambda: (em.number.emit(1.5), keep_short()), {}),
        ("Signal(bool).emit", lambda: (em.flag.emit(True), keep_short()), {}),
        ("Signal(str, str).emit", lambda: (em.pair.emit(text, "info"), keep_short()),
         {"str": text}),
        ("Signal(object).emit", lambda: (em.thing.emit(payload), keep_short()),
         {"object": payload}),
        ("Signal(object, int, int).emit", lambda: (em.image_sig.emit(image, 1, 2), keep_short()),
         {"QImage": image}),
    ]
    return p, calls


def probe(repeats: int = 1000, *, extra_calls=()) -> list[Drift]:
    """Every probed call with every watched object, reference-count change per call.

    ``extra_calls``: more ``(name, function, {description: object})`` to probe (the tests add
    one that keeps references, to show that the probe sees a drift).
    """
    # Up to 4 references per call and ~40 calls: 200 per repeat covers a binding that drops one
    # reference per call on every call.
    _RESERVE.extend([None, True, False] * (200 * repeats))
    painter, calls = _calls()
    calls = [*calls, *extra_calls]
    out: list[Drift] = []
    # A collection in the middle of a measurement would free unrelated objects that hold None.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for name, fn, args in calls:
            fn()  # first call may cache things (a font engine, a method wrapper)
            watched = {**SINGLETONS, **args}
            before = {k: sys.getrefcount(v) for k, v in watched.items()}
            for _ in range(repeats):
                fn()
            after = {k: sys.getrefcount(v) for k, v in watched.items()}
            out.extend(Drift(name, k, (after[k] - before[k]) / repeats) for k in watched)
    finally:
        painter.end()
        if gc_was_on:
            gc.enable()
    return out


def bad_drifts(drifts: list[Drift], min_per_call: float = 0.005) -> list[Drift]:
    return [d for d in drifts if abs(d.per_call) >= min_per_call]


def startup_check() -> None:
    """Refuse to start on a binding that drops references (the app would abort within a
    minute): one line on stderr, exit 2. Takes 20-50 ms. Only a whole reference per call in
    half the calls counts here, so that nothing but a broken binding stops the app."""
    bad = bad_drifts(probe(20), min_per_call=0.5)
    if bad:
        d = bad[0]
        sys.stderr.write(
            f"spa2v-studio: this PySide6 miscounts references ({binding_version()}: "
            f"{d.call} changes {d.watched}'s count by {d.per_call:+.2f} per call) and would "
            "crash; install another release: pip install 'PySide6-Essentials!=6.12.0'\n")
        sys.stderr.flush()
        os._exit(2)  # a normal exit would free the reserve and abort on the dropped references


def binding_version() -> str:
    import PySide6
    import shiboken6
    return (f"PySide6 {PySide6.__version__}, shiboken6 {shiboken6.__version__}, "
            f"Python {sys.version.split()[0]}")


def main() -> int:
    from PySide6.QtGui import QGuiApplication
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    drifts = probe()
    bad = bad_drifts(drifts)
    print(binding_version())
    for name in dict.fromkeys(d.call for d in drifts):
        mine = [d for d in drifts if d.call == name]
        worst = max(mine, key=lambda d: abs(d.per_call))
        print(f"{worst.per_call:+.2f}  {name}" + (f"  ({worst.watched})" if worst.per_call else ""))
    print(f"{len(bad)} reference-count drift(s) in {len(drifts)} checks", flush=True)
    if bad:
        # Tearing down would free the reserve and hand the dropped references back as a
        # deallocation of None: leave without the teardown.
        sys.stderr.flush()
        os._exit(1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
