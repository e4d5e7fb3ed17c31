"""``spa2v check AUDIO (--plan PLAN.json | --video VIDEO)``: do picture and sound agree?

Prints the spatial alignment (each heard direction against the boxes on screen) and AV-Align
(audio onsets against motion peaks). With both --plan and --video, the plan's objects are
tracked through the video (say, one rendered from that plan) and the video is scored.
"""

from __future__ import annotations

import sys

from engine.errors import BadInput
from engine.jobs import CancelToken, run_job

from .common import ProgressPrinter, check_output_path


def register(sub) -> None:
    p = sub.add_parser("check", help="score how well a sound agrees with a plan or a video",
                       description="Spatial alignment (sound direction against box positions) "
                       "and AV-Align (audio onsets against motion peaks).")
    p.add_argument("audio", metavar="AUDIO", help="stereo audio (or a video with sound)")
    p.add_argument("--plan", metavar="PLAN.json", help="compare with this layout's boxes")
    p.add_argument("--video", metavar="VIDEO",
                   help="compare with this video (one tracked object, or the plan's objects)")
    p.add_argument("--box", metavar="x0,y0,x1,y1",
                   help="the object in the video at --box-time (default: largest moving region)")
    p.add_argument("--box-time", type=float, default=0.0, metavar="S",
                   help="when --box applies, seconds into the video (default 0)")
    p.add_argument("--tracker", choices=("template", "mil"), default="template",
                   help="how objects are followed: template matching (default) or OpenCV's MIL "
                        "tracker checked by template matching")
    p.add_argument("--tolerance", type=float, default=0.1,
                   help="box widening each side, fraction of the frame width (default 0.1)")
    p.add_argument("--json", metavar="OUT.json", help="also write the scores as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from engine.fileio import write_json_atomic
    from engine.layout import load_layout
    from engine.spatialize.jobs import check_job

    if not args.plan and not args.video:
        raise BadInput("Say what to compare with: --plan PLAN.json or --video VIDEO.")
    if args.box and not args.video:
        raise BadInput("--box picks an object in a video; it needs --video.")
    if args.box and args.plan:
        raise BadInput("--box tracks one video object; with --plan the plan's objects are "
                       "tracked.", hint="Leave out --box, or --plan.")
    if args.json:
        check_output_path(args.json, (".json",), inputs=[args.audio, args.plan, args.video])
    layout = load_layout(args.plan) if args.plan else None
    printer = ProgressPrinter(quiet=args.quiet)
    report = run_job(check_job(args.audio, layout=layout, video_path=args.video, box=args.box,
                               box_time_s=args.box_time, tracker=args.tracker,
                               tolerance=args.tolerance, token=CancelToken()), printer)
    printer.done()
    for note in report.notes:
        printer.info(note)
    if args.json:  # first: kept even when standard output cannot take the summary
        write_json_atomic(args.json, report.to_dict())
        args.outputs.wrote(args.json)
    try:
        sys.stdout.write(report.summary() + "\n")
        sys.stdout.flush()
    except OSError as e:  # a full disk behind a redirect: say what was not written
        raise BadInput(f"Could not write the scores to standard output: {e.strerror or e}.",
                       hint=None if args.json else "Keep them with --json OUT.json.") from None
    return 0
