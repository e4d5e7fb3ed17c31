"""``spa2v-studio``: the desktop app (PySide6) on top of the engine.

Qt is imported only when :func:`main` runs, so ``import spa2v_app.studio`` stays cheap and the
command line never pays for it.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    try:
        import PySide6.QtWidgets  # noqa: F401
    except ImportError as e:
        import sys
        sys.stderr.write(f"spa2v-studio: the desktop studio needs PySide6 ({e}). Install it with "
                         "'bash scripts/setup.sh --dev' or pip install 'spa2v-studio[gui]'.\n")
        return 2
    from .app import main as _main
    return _main(argv)


__all__ = ["main"]
