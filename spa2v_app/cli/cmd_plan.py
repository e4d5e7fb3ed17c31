"""``spa2v plan AUDIO... [-o PLAN.json | --out-dir DIR]``: audio to a Video Scene Layout."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.errors import BadInput
from engine.jobs import CancelToken, run_job
from models.backends import PLANNERS

from .common import (ProgressPrinter, add_frame_arguments, check_audio_inputs, check_output_path,
                     make_tagger_or_none, planner_from_args, plan_settings_from_args)
from .listener_options import add_listener_arguments, listener_from_args


def register(sub) -> None:
    p = sub.add_parser("plan", help="plan a video scene layout from audio",
                       description="Measure where each sound is and write a spa2v.vsl/1 layout.")
    p.add_argument("audio", nargs="+", metavar="AUDIO", help="stereo audio file(s)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="PLAN.json",
                     help="layout file to write (left out, or '-': standard output)")
    out.add_argument("--out-dir", metavar="DIR", help="write DIR/<input stem>.json for each input "
                     "(inputs sharing a name get -2, -3, ...)")
    add_frame_arguments(p)
    add_listener_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from engine.layout import save_layout
    from engine.pipeline import plan_job

    if len(args.audio) > 1 and not args.out_dir:
        raise BadInput("Several inputs need --out-dir DIR.")
    check_audio_inputs(args.audio)
    printer = ProgressPrinter(quiet=args.quiet)
    if args.out_dir:
        dests = out_dir_names(args.audio, Path(args.out_dir), printer)
    else:
        dests = [Path(args.output) if args.output not in (None, "-") else None]
    for dest in dests:
        if dest is not None:
            check_output_path(dest, (".json",), inputs=args.audio)
    settings = plan_settings_from_args(args)
    from engine.audio import audio_info
    for path in args.audio:  # every input before the first plan, as check_audio_inputs
        settings.check_layout_rate(audio_info(path).duration_s)
    planner = planner_from_args(args)
    tagger = make_tagger_or_none(printer)
    listener = listener_from_args(args, printer)
    _say_defaults(printer, planner, tagger)
    args.outputs.pending = [str(p) for p in args.audio]
    for path, dest in zip(args.audio, dests):
        layout, _ = run_job(plan_job(path, settings, planner=planner, tagger=tagger,
                                     token=CancelToken(), listener=listener), printer)
        printer.done()
        if dest is None:
            try:
                _write_utf8(layout.to_json() + "\n")
            except OSError as e:  # a full disk or a closed pipe behind a redirect
                raise BadInput(f"Could not write the plan to standard output: "
                               f"{e.strerror or e}.",
                               hint="Give a file with -o plan.json.") from None
            continue
        save_layout(layout, dest)
        args.outputs.wrote(dest, str(path))
        printer.info(f"wrote {dest} ({len(layout.objects)} object(s): "
                     f"{', '.join(f'{o.label} {o.motion}' for o in layout.objects) or 'none'})")
    return 0


def _write_utf8(text: str) -> None:
    """``text`` on standard output as UTF-8, which JSON is, whatever the terminal's encoding
    (in a Latin-1 locale a name in another script was a UnicodeEncodeError traceback)."""
    encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower().replace("-", "")
    raw = getattr(sys.stdout, "buffer", None)
    if encoding == "utf8" or raw is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    sys.stdout.flush()
    raw.write(text.encode("utf-8"))
    raw.flush()


def out_dir_names(inputs, out_dir: Path, printer) -> list[Path]:
    """``out_dir/<stem>.json`` per input; a stem already taken gets ``-2``, ``-3``, ... (and
    the user is told), so that no plan overwrites another."""
    taken = {Path(p).stem.casefold() for p in inputs}
    used: set[str] = set()
    dests = []
    for p in inputs:
        stem = Path(p).stem
        name, k = stem, 2
        # A name used already, or (for a new name) another input's own stem, is skipped.
        while name.casefold() in used or (name != stem and name.casefold() in taken):
            name = f"{stem}-{k}"
            k += 1
        used.add(name.casefold())
        dest = out_dir / f"{name}.json"
        if name != stem:
            printer.info(f"{p} shares its name with another input; its plan goes to {dest}.")
        dests.append(dest)
    return dests


def _say_defaults(printer, planner, tagger) -> None:
    if PLANNERS[planner.name].built_in:
        printer.info("Using the built-in defaults: rule-based planner on measured cues, "
                     + ("YAMNet sound tagger." if tagger else "no sound tagger."))
