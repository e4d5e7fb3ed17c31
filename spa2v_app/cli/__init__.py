"""``spa2v``: the command line. Each subcommand lives in ``cmd_<name>.py`` with
``register(subparsers)`` (adds its parser and sets ``func=run``) and ``run(args) -> int``.

Exit status: 0 on success; 2 for bad input or usage, with one line on stderr that says what is
wrong and what to do; 130 when cancelled (Ctrl+C).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from engine.errors import Cancelled, SpA2VError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints usage otherwise)
        sys.stderr.write(f"spa2v: {message} (see 'spa2v --help')\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spa2v", description="Turn a stereo sound into a video whose objects "
                     "sit and move where the sound says.")
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"{__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("\nspa2v: cancelled; nothing was written.\n")
        return Cancelled.exit_code
    except SpA2VError as e:
        sys.stderr.write(f"\nspa2v: {e}\n" if not getattr(args, "quiet", False) else f"spa2v: {e}\n")
        return e.exit_code


def _version() -> str:
    from engine import __version__
    return f"spa2v {__version__}"
