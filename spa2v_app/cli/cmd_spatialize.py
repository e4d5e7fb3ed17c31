"""``spa2v spatialize MONO (--plan PLAN.json | --video IN.mp4) -o OUT.wav``: sound from picture.

Places a mono sound along each object's box track (azimuth from x, distance from box size),
binaurally with the KEMAR HRTF or by stereo panning, optionally in a room. With ``--video``,
one object is tracked through the video (from ``--box``, or the largest moving region) and the
sound follows it; ``--mux`` also writes an MP4 with the video stream copied and the new sound.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import BadInput
from engine.jobs import CancelToken, run_job

from .common import ProgressPrinter, check_audio_inputs, check_output_path


def register(sub) -> None:
    p = sub.add_parser("spatialize", help="place a mono sound where a plan's or video's objects are",
                       description="Render mono sound(s) along the objects of a plan, or along an "
                       "object tracked through a video, as binaural or stereo audio.")
    p.add_argument("mono", nargs="?", metavar="MONO",
                   help="the sound for every object (optional when --object covers them all)")
    where = p.add_argument_group("where the objects are (one is needed)")
    where.add_argument("--plan", metavar="PLAN.json", help="a layout: each object's boxes")
    where.add_argument("--video", metavar="IN.mp4",
                       help="a video: track one object through it (or, with --plan, only mux)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav", help=".wav or .flac")
    p.add_argument("--object", action="append", default=[], metavar="ID=FILE",
                   help="a sound for one object of the plan (repeatable)")
    p.add_argument("--method", choices=("binaural", "stereo"), default="binaural",
                   help="binaural (KEMAR HRTF, headphones; default) or stereo (panning, speakers)")
    p.add_argument("--room", type=float, default=None, metavar="RT60",
                   help="add a room with this reverberation time in seconds (0.1-5)")
    p.add_argument("--doppler", action="store_true", help="pitch shift of moving sources")
    p.add_argument("--fit", choices=("error", "loop"), default="error",
                   help="a sound of another length than the clip: refuse (default) or loop/trim")
    p.add_argument("--near", type=float, default=1.5, metavar="M",
                   help="metres away of an object at its nearest planned size (default 1.5)")
    p.add_argument("--fov", type=float, default=180.0, metavar="DEG",
                   help="degrees of azimuth across the frame width (default 180, as planning)")
    p.add_argument("--peak-db", type=float, default=-1.0, metavar="DBFS",
                   help="peak level of the result (default -1 dBFS)")
    p.add_argument("--no-normalize", action="store_true",
                   help="keep the level (only turn down what would exceed --peak-db)")
    video = p.add_argument_group("video tracking")
    video.add_argument("--box", metavar="x0,y0,x1,y1",
                       help="the object in the video at --box-time: fractions of the frame or "
                            "pixels (default: the largest moving region)")
    video.add_argument("--box-time", type=float, default=0.0, metavar="S",
                       help="when --box applies, seconds into the video (default 0)")
    video.add_argument("--tracker", choices=("template", "mil"), default="template",
                       help="how the object is followed: template matching (default) or OpenCV's "
                            "MIL tracker checked by template matching")
    video.add_argument("--label", default="object",
                       help="what the tracked object is ('car'): sets how size maps to distance")
    video.add_argument("--mux", nargs="?", const="", default=None, metavar="OUT.mp4",
                       help="also write an MP4 of the video with the new sound (default name: "
                            "the output's, with .mp4)")
    p.set_defaults(func=run)


def run(args) -> int:
    from engine.layout import load_layout
    from engine.spatialize.jobs import spatialize_job
    from engine.spatialize.render import SpatializeSettings

    # 1. Check the arguments before any work.
    sounds = _sounds(args)
    inputs = [*sounds.values(), args.plan, args.video]
    dest = check_output_path(args.output, (".wav", ".flac"), inputs=inputs)
    if not args.plan and not args.video:
        raise BadInput("Say where the objects are: --plan PLAN.json or --video IN.mp4.")
    if args.box and not args.video:
        raise BadInput("--box picks an object in a video; it needs --video.")
    if args.box and args.plan:
        raise BadInput("--box tracks a video object; with --plan the plan's boxes are used.",
                       hint="Leave out --box, or --plan.")
    mux = None
    if args.mux is not None:
        if not args.video:
            raise BadInput("--mux puts the sound under a video; it needs --video.")
        mux = check_output_path(args.mux or dest.with_suffix(".mp4"), (".mp4",), inputs=inputs)
    settings = SpatializeSettings(
        method=args.method, room_rt60_s=args.room, doppler=args.doppler, fov_deg=args.fov,
        near_distance_m=args.near, fit=args.fit, peak_dbfs=args.peak_db,
        normalize=not args.no_normalize).validate()
    layout = load_layout(args.plan) if args.plan else None

    # 2. Run the job.
    printer = ProgressPrinter(quiet=args.quiet)
    run_job(spatialize_job(sounds, dest, layout=layout, video_path=args.video, box=args.box,
                           box_time_s=args.box_time, tracker=args.tracker, label=args.label,
                           settings=settings, mux_path=mux, token=CancelToken()), printer)
    printer.done()
    args.outputs.wrote(dest)
    printer.info(f"wrote {dest}" + (f" and {mux}" if mux else ""))
    return 0


def _sounds(args) -> dict:
    sounds: dict = {}
    if args.mono:
        sounds[None] = Path(args.mono)
    for item in args.object:
        key, sep, value = item.partition("=")
        try:
            oid = int(key)
        except ValueError:
            oid = None
        if not sep or not value or oid is None:
            raise BadInput(f"--object must be ID=FILE with a numeric object id, got {item!r}.")
        if oid in sounds:
            raise BadInput(f"--object gives object {oid} two sounds.")
        sounds[oid] = Path(value)
    if not sounds:
        raise BadInput("Give a sound: MONO for every object, or --object ID=FILE.")
    check_audio_inputs(sounds.values(), analyse=False)
    return sounds
