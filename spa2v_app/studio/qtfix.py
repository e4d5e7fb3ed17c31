"""Work around a PySide6 bug: ``Signal.emit()`` returns ``True`` without taking a reference.

In PySide6 6.12.0 every ``emit`` (with or without arguments, received or not) drops one
reference to ``True``. On CPython 3.11, where ``True`` is not immortal, a long session (or a
test run) eventually brings its count to zero and the interpreter aborts with "bool_dealloc:
deallocating True or False". Importing this module checks for the bug with one probe emit and,
only if the count fell, raises ``True``'s reference count far beyond anything a process can
spend (``True`` is never freed, so this changes nothing else). On Python 3.12+ ``True`` is
immortal and nothing is done.
"""

from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 40


def _emit_drops_true() -> bool:
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    return sys.getrefcount(True) < before


def protect_true() -> bool:
    """Apply the fix if this PySide6 needs it; returns whether it was applied."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not _emit_drops_true():
        return False
    # ob_refcnt is the first field of every object on CPython 3.11.
    ctypes.c_ssize_t.from_address(id(True)).value += RESERVE
    return True


APPLIED = protect_true()
