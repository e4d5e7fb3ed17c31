"""``spa2v render AUDIO [--plan PLAN.json] -o OUT.mp4``: the video, with the audio."""

from __future__ import annotations

from engine.jobs import CancelToken, run_job
from models.backends import DEFAULT_RENDERER, PLANNERS, RENDERERS, choices_help
from models.diffusion.memory import TIER_CHOICES

from .common import (ProgressPrinter, add_frame_arguments, check_audio_inputs, check_output_path,
                     make_tagger_or_none, planner_from_args, plan_settings_from_args)
from .listener_options import add_listener_arguments, listener_from_args


def register(sub) -> None:
    p = sub.add_parser("render", help="render a video from audio (and an optional plan)",
                       description="Plan (unless --plan is given), render and export an MP4 with "
                       "the original audio.")
    p.add_argument("audio", metavar="AUDIO")
    p.add_argument("--plan", metavar="PLAN.json", help="a layout to render instead of planning")
    p.add_argument("-o", "--output", required=True, metavar="OUT.mp4",
                   help="the video to write (H.264 with the original sound)")
    p.add_argument("--renderer", default=DEFAULT_RENDERER,
                   help=choices_help(RENDERERS, DEFAULT_RENDERER))
    p.add_argument("--seed", type=int, default=0,
                   help="random seed (diffusion; default 0: the same video each run)")
    p.add_argument("--steps", type=int, default=25, help="denoising steps (diffusion; default 25)")
    p.add_argument("--video-fps", type=float, default=24.0, help="playback rate of the MP4, 1 to 60 (default 24)")
    p.add_argument("--size", default=None, metavar="WxH", help="frame size, e.g. 512x512 (even numbers: H.264; default: the layout's, 512x512 when planned here)")
    p.add_argument("--labels", action="store_true",
                   help="write each object's name under it (preview renderer; off by default)")
    p.add_argument("--memory-tier", default="auto",
                   help=f"diffusion memory tier: {', '.join(TIER_CHOICES)} (docs/video_engine.md)")
    p.add_argument("--guidance-scale", type=float, default=7.5,
                   help="classifier-free guidance (diffusion; default 7.5)")
    d = p.add_argument_group("diffusion renderer shortcuts (each sets an --option)")
    d.add_argument("--base-model", metavar="ID_OR_PATH", help="SD1.5 checkpoint (repo id or folder)")
    d.add_argument("--motion-adapter", metavar="ID_OR_PATH", help="AnimateDiff motion adapter")
    d.add_argument("--grounding-strength", type=float, metavar="S",
                   help="how hard objects are held in their boxes (0 = stock AnimateDiff)")
    d.add_argument("--lcm", action="store_true", help="fast preview with AnimateLCM (4-8 steps)")
    d.add_argument("--vram-budget-gb", type=float, metavar="GB", help="GPU memory to plan for")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="renderer-specific option (repeatable); see docs/video_engine.md")
    add_frame_arguments(p)
    add_listener_arguments(p)  # planning here names the sounds as 'spa2v plan' does
    p.set_defaults(func=run)


def run(args) -> int:
    from engine.errors import BadInput
    from engine.layout import load_layout
    from engine.pipeline import plan_job, render_job
    from engine.protocols import RenderSettings
    from models.backends import make_renderer

    check_audio_inputs([args.audio], analyse=args.plan is None)
    dest = check_output_path(args.output, (".mp4",), inputs=[args.audio, args.plan])
    if not 1 <= args.video_fps <= 60:
        raise BadInput(f"--video-fps must be between 1 and 60, got {args.video_fps:g}.")
    width = height = None
    if args.size:
        try:
            width, height = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            raise BadInput(f"--size must look like 512x512, got {args.size!r}.") from None
        if not (64 <= width <= 4096 and 64 <= height <= 4096):
            raise BadInput(f"--size must be between 64 and 4096 pixels a side, got {args.size}.")
        if width % 2 or height % 2:  # the MP4 (yuv420p) would quietly be a pixel smaller
            raise BadInput(f"--size needs even numbers of pixels (H.264 video), got {args.size}; "
                           f"use {width // 2 * 2}x{height // 2 * 2}.")
    options = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(f"--option must be KEY=VALUE, got {item!r}.")
        options[key] = value
    shortcuts = {"base_model": args.base_model, "motion_adapter": args.motion_adapter,
                 "grounding_strength": args.grounding_strength,
                 "lcm": "true" if args.lcm else None, "vram_budget_gb": args.vram_budget_gb}
    for key, value in shortcuts.items():
        if value is not None:
            options.setdefault(key, str(value))
    renderer_is_built_in = args.renderer not in RENDERERS or RENDERERS[args.renderer].built_in
    if renderer_is_built_in and (options or args.memory_tier != "auto"):
        flags = list(options) + (["--memory-tier"] if args.memory_tier != "auto" else [])
        raise BadInput(f"--option/diffusion flags ({', '.join(flags)}) need --renderer diffusion.")
    settings = RenderSettings(renderer=args.renderer, fps=args.video_fps, width=width,
                              height=height, seed=args.seed, steps=args.steps,
                              guidance_scale=args.guidance_scale, memory_tier=args.memory_tier, options=options,
                              labels=args.labels)
    if args.renderer == "diffusion":  # before the weights are looked for: a typo first
        from models.diffusion.renderer import check_render_settings
        check_render_settings(settings)
    printer = ProgressPrinter(quiet=args.quiet)
    token = CancelToken()
    renderer = make_renderer(args.renderer, **({} if renderer_is_built_in else options))
    if args.plan:
        layout = load_layout(args.plan)
        _warn_planning_options_unused(args, printer)
    else:
        planner = planner_from_args(args)
        listener = listener_from_args(args, printer)
        tagger = make_tagger_or_none(printer)
        if PLANNERS[planner.name].built_in:
            printer.info("Using the built-in defaults: rule-based planner on measured cues, "
                         f"{'YAMNet sound tagger' if tagger else 'no sound tagger'}, "
                         f"{args.renderer} renderer.")
        layout, _ = run_job(plan_job(args.audio, plan_settings_from_args(args), planner=planner,
                                     tagger=tagger, token=token, listener=listener), printer)
    run_job(render_job(args.audio, layout, dest, renderer=renderer, settings=settings,
                       token=token), printer)
    printer.done()
    args.outputs.wrote(dest)
    printer.info(f"wrote {dest}")
    return 0


def _warn_planning_options_unused(args, printer) -> None:
    """With --plan nothing is planned: say so when planning options were given too, rather
    than render the layout as it is without a word (a --hint that named nothing)."""
    from engine.audio.stereo_kinds import DEFAULT_STEREO
    from engine.jobs import Log

    given = {"--hint": args.hint, "--planner": args.planner, "--llm-model": args.llm_model,
             "--gemini-model": args.gemini_model, "--gemini-no-audio": args.gemini_no_audio or None,
             "--listener": args.listener, "--frames": args.frames, "--fps": args.plan_fps,
             "--stereo": None if args.stereo == DEFAULT_STEREO else args.stereo,
             "--spacing": args.spacing, "--pan-law": args.pan_law}
    flags = [flag for flag, value in given.items() if value is not None]
    if flags:
        printer(Log(f"{', '.join(flags)} {'has' if len(flags) == 1 else 'have'} no effect with "
                    f"--plan: the layout is rendered as it is. Plan again with them "
                    f"('spa2v plan'), or leave out --plan.", level="warning"))
