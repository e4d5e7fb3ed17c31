"""``spa2v``: the command line. Each subcommand lives in ``cmd_<name>.py`` with
``register(subparsers)`` (adds its parser and sets ``func=run``) and ``run(args) -> int``.

Exit status: 0 on success; 2 for bad input or usage, with one line on stderr that says what is
wrong and what to do; 130 when cancelled (Ctrl+C), 128 + N when stopped by signal N (SIGTERM,
SIGHUP: handled like Ctrl+C, so no half-written file is left). Commands record what they
wrote in ``args.outputs`` so that a cancel, or an error part-way through a batch, can say what
was and was not written.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import signal
import sys

from engine.errors import Cancelled, SpA2VError

from .common import Outputs, join_signed_values

_argv: list[str] = []  # the arguments being parsed, for the hint about file names like "-x.wav"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints usage otherwise)
        sys.stderr.write(f"spa2v: {message}{_dash_hint()} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _dash_hint() -> str:
    """A file whose name starts with '-' reads as an option: say how to name it."""
    for a in _argv:
        if a.startswith("-") and a != "-" and os.path.isfile(a):
            return f"; {a} is read as an option: name the file as -- {a} (after the options) or ./{a}"
    return ""


class _Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP: unwinds like Ctrl+C, so partial files are removed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spa2v", description="Turn a stereo sound into a video whose objects "
                     "sit and move where the sound says.")
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"{__name__}.{info.name}").register(sub)
    _quiet_everywhere(sub)
    return parser


def _quiet_everywhere(sub: argparse._SubParsersAction) -> None:
    """``-q`` also after the subcommand (``spa2v plan x.wav -q``); not given there, it leaves
    the value given before the subcommand alone."""
    for p in set(sub.choices.values()):
        if "-q" not in p._option_string_actions:
            p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                           help="print only warnings and errors")
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                _quiet_everywhere(action)


def main(argv: list[str] | None = None) -> int:
    global _argv
    _argv = list(sys.argv[1:] if argv is None else argv)
    outputs = Outputs()
    # Ctrl+C while the commands load (numpy and friends: a third of a second) is a cancel too,
    # said in one line like any other, not a traceback.
    with _signals_as_interrupts():
        try:
            parser = build_parser()
            args = parser.parse_args(join_signed_values(_argv))
            if not getattr(args, "func", None):
                parser.print_help(sys.stderr)
                return 2
            args.outputs = outputs
            return int(args.func(args) or 0)
        except KeyboardInterrupt as e:
            signum = getattr(e, "signum", None)
            how = f"stopped by {signal.Signals(signum).name}" if signum else "cancelled"
            _error(f"{how}; {outputs.summary()}.")
            return 128 + signum if signum else Cancelled.exit_code
        except SpA2VError as e:
            # Mid-batch, what was already written stands: say so, and what was not done.
            done = f" ({outputs.summary()})" if outputs.written else ""
            _error(f"{e}{done}")
            return e.exit_code
        except BrokenPipeError:  # the reader went away (spa2v models list | head): say nothing
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 128 + signal.SIGPIPE
        except OSError as e:  # a file system refusal no check foresaw: still one line
            where = f" ({e.filename})" if getattr(e, "filename", None) else ""
            _error(f"{e.strerror or e}{where}.")
            return 2


def _error(message: str) -> None:
    clear = "\r\033[K" if sys.stderr.isatty() else ""  # over a progress line, not after it
    sys.stderr.write(f"{clear}spa2v: {message}\n")


@contextlib.contextmanager
def _signals_as_interrupts():
    """SIGTERM and SIGHUP raise :class:`_Stopped` in the main thread while a command runs."""
    def stop(signum, frame):
        raise _Stopped(signum)
    saved = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            saved[sig] = signal.signal(sig, stop)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _version() -> str:
    from engine import __version__
    return f"spa2v {__version__}"
