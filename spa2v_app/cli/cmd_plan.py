"""``spa2v plan AUDIO... [-o PLAN.json | --out-dir DIR]``: audio to a Video Scene Layout."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.errors import BadInput
from engine.jobs import CancelToken, run_job

from .common import (ProgressPrinter, add_frame_arguments, check_output_path,
                     make_tagger_or_none, planner_from_args, plan_settings_from_args)
from .listener_options import add_listener_arguments, listener_from_args


def register(sub) -> None:
    p = sub.add_parser("plan", help="plan a video scene layout from audio",
                       description="Measure where each sound is and write a spa2v.vsl/1 layout.")
    p.add_argument("audio", nargs="+", metavar="AUDIO", help="stereo audio file(s)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="PLAN.json", help="layout file to write")
    out.add_argument("--out-dir", metavar="DIR", help="write DIR/<input stem>.json for each input")
    add_frame_arguments(p)
    add_listener_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from engine.layout import save_layout
    from engine.pipeline import plan_job

    if len(args.audio) > 1 and not args.out_dir:
        raise BadInput("Several inputs need --out-dir DIR.")
    if args.output:
        check_output_path(args.output, (".json",))
    printer = ProgressPrinter(quiet=args.quiet)
    settings = plan_settings_from_args(args)
    planner = planner_from_args(args)
    tagger = make_tagger_or_none(printer)
    listener = listener_from_args(args, printer)
    _say_defaults(printer, planner, tagger)
    for path in args.audio:
        layout, _ = run_job(plan_job(path, settings, planner=planner, tagger=tagger,
                                     token=CancelToken(), listener=listener), printer)
        printer.done()
        if args.out_dir:
            dest = Path(args.out_dir) / f"{Path(path).stem}.json"
        elif args.output:
            dest = Path(args.output)
        else:
            sys.stdout.write(layout.to_json() + "\n")
            continue
        save_layout(layout, dest)
        printer.info(f"wrote {dest} ({len(layout.objects)} object(s): "
                     f"{', '.join(f'{o.label} {o.motion}' for o in layout.objects) or 'none'})")
    return 0


def _say_defaults(printer, planner, tagger) -> None:
    if planner.name == "heuristic":
        printer.info("Using the built-in defaults: rule-based planner on measured cues, "
                     + ("YAMNet sound tagger." if tagger else "no sound tagger."))
