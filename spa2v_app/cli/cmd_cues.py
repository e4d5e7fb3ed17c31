"""``spa2v cues AUDIO -o CUES.json``: the measured spatial and semantic cues."""

from __future__ import annotations

from engine.errors import BadInput
from engine.jobs import CancelToken, run_job

from .common import (ProgressPrinter, add_stereo_argument, check_audio_inputs,
                     check_output_path, make_tagger_or_none)


def register(sub) -> None:
    p = sub.add_parser("cues", help="measure spatial and semantic cues",
                       description="Write per-frame azimuth, loudness, motion and tags as JSON.")
    p.add_argument("audio", metavar="AUDIO")
    p.add_argument("-o", "--output", required=True, metavar="CUES.json",
                   help="the cues file to write (spa2v.cues/1 JSON)")
    p.add_argument("--frames", type=int, default=16, metavar="N",
                   help="cue frames spread over the whole clip, 1 to 10000 (default 16)")
    add_stereo_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from engine.audio.stereo_kinds import check_pan_law, check_spacing
    from engine.fileio import write_json_atomic
    from engine.pipeline import PlanSettings, analyse_job

    from engine.pipeline import MAX_FRAMES, MIN_FRAMES
    if not MIN_FRAMES <= args.frames <= MAX_FRAMES:  # not "the plan would have", with no --fps
        raise BadInput(f"--frames must be between {MIN_FRAMES} and {MAX_FRAMES}, got "
                       f"{args.frames}.")
    spacing = check_spacing(args.spacing)
    pan_law = check_pan_law(args.pan_law)
    check_audio_inputs([args.audio])
    dest = check_output_path(args.output, (".json",), inputs=[args.audio])
    printer = ProgressPrinter(quiet=args.quiet)
    tagger = make_tagger_or_none(printer)
    _, cues = run_job(analyse_job(args.audio, PlanSettings(num_frames=args.frames,
                                                             stereo=args.stereo,
                                                             spacing_m=spacing,
                                                             pan_law=pan_law),
                                  tagger=tagger, token=CancelToken()), printer)
    printer.done()
    write_json_atomic(dest, cues.to_dict())
    args.outputs.wrote(dest)
    printer.info(f"wrote {dest}")
    return 0
