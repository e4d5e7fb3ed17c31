"""Shared CLI plumbing: progress on stderr, backend choice with fallbacks, output checks."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import BadInput, ModelMissing
from engine.jobs import Event, Log, Progress

from .planner_options import add_planner_arguments, planner_from_args  # noqa: F401 (re-export)


class ProgressPrinter:
    """Prints job events to stderr: progress only once a job has run for a second, updating one
    line on a terminal and at most one line per second otherwise; logs always."""

    def __init__(self, *, quiet: bool = False, stream=None, delay_s: float = 1.0):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.delay_s = delay_s
        self._last_print = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._dirty = False
        self._seen: set[str] = set()
        self._last_line = ""

    def __call__(self, event: Event) -> None:
        if isinstance(event, Log):
            if event.level == "info" and self.quiet:
                return
            if event.message in self._seen:  # say each thing once
                return
            self._seen.add(event.message)
            self._clear()
            prefix = "" if event.level == "info" else f"{event.level}: "
            self.stream.write(f"spa2v: {prefix}{event.message}\n")
            return
        if not isinstance(event, Progress) or self.quiet:
            return
        now = time.monotonic()
        if now - self.started < self.delay_s:
            return
        if not self._tty and now - self._last_print < 1.0 and event.fraction < 1.0:
            return
        eta = f", about {event.eta_s:.0f} s left" if event.eta_s is not None and event.fraction < 1 else ""
        detail = f" ({event.detail})" if event.detail else ""
        line = f"{event.stage}: {event.fraction:4.0%}{eta}{detail}"
        if line == self._last_line:  # a stage and then its job each end at 100 %: say it once
            return
        self._last_print, self._last_line = now, line
        if self._tty:
            self.stream.write("\r\033[K" + line)
            self._dirty = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def info(self, message: str) -> None:
        """The command's own news ("wrote x.json"): printed every time, unlike job logs,
        which are said once."""
        if not self.quiet:
            self._clear()
            self.stream.write(f"spa2v: {message}\n")

    def done(self) -> None:
        self._clear()

    def _clear(self) -> None:
        if self._dirty:
            self.stream.write("\r\033[K")
            self._dirty = False


def make_tagger_or_none(printer: ProgressPrinter, name: str = "yamnet"):
    """The sound tagger, or None (with a note) when it is not installed."""
    from models.backends import make_tagger
    try:
        tagger = make_tagger(name)
        getattr(tagger, "check", lambda: None)()  # a damaged model: said here, not silent
        return tagger
    except ModelMissing as e:
        from models.yamnet import how_to_install
        printer(Log(f"No sound tagger available ({e.message.rstrip('.')}); sounds are named 'sound source'. "
                    f"{how_to_install()}; or name them with --hint TEXT.", "warning"))
        return None


def check_output_path(path: str | Path, suffixes: tuple[str, ...], *,
                      inputs=()) -> Path:
    """The output path, checked before any work: its suffix, that it is none of ``inputs``
    (the user's files are never overwritten) and that its folder takes a file."""
    from engine.fileio import check_writable, refuse_overwriting_inputs
    p = Path(path)
    if str(path) == "-":
        raise BadInput("'-' would be standard output, which this command does not write to.",
                       hint=f"Give a file name ending in {' or '.join(suffixes)}.")
    if p.suffix.lower() not in suffixes:
        raise BadInput(f"Output {p} must end in {' or '.join(suffixes)}.")
    if p.exists() and p.is_dir():
        raise BadInput(f"Output {p} is a folder; give a file name.")
    refuse_overwriting_inputs(p, inputs)
    check_writable(p)
    return p


def check_audio_inputs(paths, *, analyse: bool = True) -> None:
    """Every audio input is a file that opens as sound (its header only: a folder, a missing,
    empty or non-audio file is said as such), all before any work or other message, so that
    a batch stops before its first plan rather than at its third. ``analyse``: the command
    measures cues from it, so it must be long enough for that too. A float file more than
    1 % NaN/inf is refused here too: ``render --plan`` reads no samples before its video, and
    long files are analysed in chunks that repair what they find."""
    from engine.audio import audio_info
    from engine.audio.io import check_audio_header, check_nonfinite_share
    for p in paths:
        check_audio_header(audio_info(p), analyse=analyse)
        check_nonfinite_share(p)


@dataclass
class Outputs:
    """What a command wrote and what it still meant to, for the line a cancel prints."""

    written: list[Path] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    def wrote(self, path: Path, done: str | None = None) -> None:
        self.written.append(Path(path))
        if done in self.pending:
            self.pending.remove(done)

    def summary(self) -> str:
        if not self.written:
            return "nothing was written"
        text = f"wrote {_some(str(p) for p in self.written)}"
        return text + (f"; not done: {_some(self.pending)}" if self.pending else "")


def _some(names, limit: int = 6) -> str:
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def add_frame_arguments(parser) -> None:
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--frames", type=int, default=None, metavar="N",
                   help="layout frames spread over the whole clip, 1 to 10000 (default 16)")
    g.add_argument("--fps", dest="plan_fps", type=float, default=None, metavar="F",
                   help="layout frames per second instead of a fixed count (at most 60)")
    parser.add_argument("--hint", default=None, metavar="TEXT",
                        help="what is sounding, in your words ('a red car'); names the objects")
    add_stereo_argument(parser)
    add_planner_arguments(parser)


def add_stereo_argument(parser) -> None:
    from engine.audio.stereo_kinds import DEFAULT_STEREO, STEREO_CHOICES
    parser.add_argument("--stereo", default=DEFAULT_STEREO, choices=STEREO_CHOICES,
                        help="how the recording was made: binaural (dummy head), spaced "
                             "(two microphones apart, a phone held sideways), coincident "
                             "(XY/Blumlein recorder), panned (a mix); auto (default) decides "
                             "from the recording")
    parser.add_argument("--spacing", default=None, metavar="M",
                        help="for a spaced pair: the distance between the two microphones in "
                             "metres (a phone held sideways: about 0.15); read from the recording or "
                             "assumed when not given")
    parser.add_argument("--pan-law", default=None, metavar="LAW",
                        help="for a pan-pot mix: its pan law, named by the level at the centre: "
                             "-3dB (constant power, assumed when not given), -4.5dB, or -6dB "
                             "(linear, as many game engines)")


# A value that starts with "-" but is a pan law ("-6dB", "-4.5 dB"), which argparse would
# take for an option of its own.
_PAN_LAW_VALUE = re.compile(r"^-\d+(\.\d+)?\s*(db)?$", re.IGNORECASE)


def join_signed_values(argv: list[str]) -> list[str]:
    """``--pan-law -6dB`` as ``--pan-law=-6dB``: argparse reads a value that starts with a
    minus sign as an option unless it is a plain negative number, and every pan law is
    named by a negative level."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--pan-law" and i + 1 < len(argv) and _PAN_LAW_VALUE.match(argv[i + 1]):
            out.append(f"--pan-law={argv[i + 1]}")
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def plan_settings_from_args(args):
    from engine.layout.schema import text_problem
    from engine.pipeline import DEFAULT_FRAMES, PlanSettings
    problem = text_problem(args.hint) if args.hint is not None else None
    if problem:
        raise BadInput(f"--hint {problem}; give plain words, e.g. --hint 'a red car'.")
    from engine.audio.stereo_kinds import check_pan_law, check_spacing
    frames = args.frames if args.frames is not None else (None if args.plan_fps else DEFAULT_FRAMES)
    return PlanSettings(num_frames=frames, fps=args.plan_fps, hint=args.hint, stereo=args.stereo,
                        spacing_m=check_spacing(args.spacing),
                        pan_law=check_pan_law(args.pan_law))
