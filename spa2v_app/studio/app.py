"""Start the studio: parse arguments, build the window, offer crash recovery, run Qt."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spa2v-studio", description="The SpA2V desktop studio.")
    # Several, as a file manager passes a selection (the desktop entry's %F): the first
    # project, else the first sound, is opened, and the banner names the rest, as for a drop.
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="a project (.spa2v) or a sound file to open")
    p.add_argument("--no-recovery", action="store_true",
                   help="do not offer to recover unsaved work from a crashed session")
    p.add_argument("--smoke", action="store_true", help="check an installation: import PATH, "
                   "plan it, render a preview, print what happened and quit")
    from engine import __version__

    p.add_argument("--version", action="version", version=f"spa2v-studio {__version__}")
    return p


# The window icon; installed with the packages (resources/), so a wheel has it too.
ICON = Path(__file__).resolve().parents[2] / "resources" / "spa2v-studio.svg"


def create_app(argv: list[str] | None = None):
    """The QApplication (created once), themed."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from .theme import apply_theme
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("SpA2V Studio")
    app.setOrganizationName("spa2v")
    app.setDesktopFileName("spa2v-studio")
    if ICON.exists():
        app.setWindowIcon(QIcon(str(ICON)))
    apply_theme(app)
    return app


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from PySide6.QtCore import QTimer
    except ImportError as e:
        sys.stderr.write(f"spa2v-studio: the desktop app needs PySide6 ({e}); install it with "
                         "pip install 'spa2v-studio[gui]'.\n")
        return 2
    from .main_window import MainWindow
    from .refprobe import startup_check
    from .model.settings import load_settings
    app = create_app()
    startup_check()
    window = MainWindow(load_settings())
    window.show()
    end_on_signals(app, window)
    if args.smoke:
        if not args.paths:
            sys.stderr.write("spa2v-studio: --smoke needs a sound file\n")
            return 2
        window.maybe_keep_changes = lambda: True
        window.autosave = lambda: None  # a check run leaves no work to recover
        folder = Path(tempfile.mkdtemp(prefix="spa2v-smoke-"))
        QTimer.singleShot(0, lambda: _smoke(window, Path(args.paths[0]), folder / "smoke.mp4"))
        try:
            return _run(app, window)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if args.paths:
        paths = [Path(p) for p in args.paths]
        QTimer.singleShot(0, lambda: window.open_dropped(paths))
        if not args.no_recovery:  # opened on a file: not asked, but not left unsaid either
            QTimer.singleShot(200, window.mention_recovery)
    elif not args.no_recovery:
        QTimer.singleShot(200, window.offer_recovery)
    return _run(app, window)


END_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT")  # logout, shutdown, kill, Ctrl+C: end, keep the work
SIGNAL_POLL_MS = 200


def end_on_signals(app, window) -> None:
    """On SIGTERM, SIGHUP or SIGINT (Ctrl+C in the terminal), end without questions and keep
    the work for the next start (:meth:`.main_window.MainWindow.end_keeping_work`); exit
    status 128 + the signal, as the command line's. Python runs signal handlers between its own bytecodes, and Qt's event
    loop is C++, so a timer lets Python in a few times a second."""
    import signal

    from PySide6.QtCore import QTimer

    def handler(signum, _frame):
        # Not here, in the middle of whatever Python was doing: from the event loop.
        QTimer.singleShot(0, lambda: window.end_keeping_work(128 + signum))
    for name in END_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), handler)
    app._signal_poll = QTimer(app)
    app._signal_poll.timeout.connect(lambda: None)
    app._signal_poll.start(SIGNAL_POLL_MS)


def _run(app, window) -> int:
    """Run the event loop; then join every worker thread before Python tears Qt down (a
    QThread destroyed while running aborts the process)."""
    code = app.exec()
    window.player.stop()
    window.queue.wait_all(30)
    return code


def _smoke(window, path: Path, out: Path) -> None:
    """Import, plan, render to ``out``; exit 0 when all three worked."""
    from PySide6.QtWidgets import QApplication

    from .model import tasks

    def fail(message: str) -> None:
        print(f"smoke: FAILED: {message}", flush=True)
        QApplication.instance().exit(1)

    def rendered(_):
        from .model.recording import list_input_devices

        objects = window.doc.layout.objects
        print(f"smoke: ok: {window.doc.duration_s:.1f} s of audio, {len(objects)} object(s) "
              f"({', '.join(o.label for o in objects)}), {out.stat().st_size} bytes of MP4",
              flush=True)
        # What an installation may lack without failing the check: said, for build.sh to judge.
        tagger, why_not = tasks.make_tagger_quietly()
        print(f"smoke: tagger: {'YAMNet' if tagger else why_not}", flush=True)
        devices, no_recording = list_input_devices()
        print(f"smoke: recording: {no_recording or f'{len(devices)} input device(s)'}", flush=True)
        QApplication.instance().exit(0)

    def planned(_):
        job = window.render(out)
        on_render = job.on_finished
        job.on_finished = lambda r: (on_render(r), rendered(r))
        job.on_failed = fail

    def imported(result):
        window.doc.apply_import(result)
        job = window.plan()
        on_plan = job.on_finished
        job.on_finished = lambda r: (on_plan(r), planned(r))
        job.on_failed = fail

    window.queue.submit("import", f"Import {path.name}",
                        lambda token: tasks.import_job(path, token),
                        on_finished=imported, on_failed=fail)
