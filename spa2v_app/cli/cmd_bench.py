"""``spa2v bench [--sources DIR] [--out DIR] [--quick] [--seed S] [--set tune|held-out]
[--mic KIND]``: the spatial-hearing benchmark (see :mod:`engine.evaluation.bench`); with
``--set``, the world bench (rooms, every kind of microphone, more recordings; see
:mod:`engine.evaluation.world_bench`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from engine.errors import BadInput
from engine.jobs import CancelToken, run_job

from .common import ProgressPrinter, make_tagger_or_none

REPO_ROOT = Path(__file__).resolve().parents[2]


def register(sub) -> None:
    p = sub.add_parser(
        "bench", help="run the spatial-hearing benchmark",
        description="Render binaural scenes from the development recordings, plan them with "
                    "spa2v and two peers (a centred box; plain uncalibrated GCC-PHAT/ILD), "
                    "and print x-centre error, motion/label/count accuracy, LTSim, MaxIoU "
                    "and DocSim.")
    p.add_argument("--sources", metavar="DIR", default=None,
                   help="development recordings (default: ../shared/data/sources beside the "
                        "repository)")
    p.add_argument("--out", metavar="DIR", default="out/bench",
                   help="where clips, truth and bench.json go (default out/bench)")
    p.add_argument("--quick", action="store_true",
                   help="2 scenes per kind and condition, 5 s each (about 1-2 minutes); with "
                        "--set: static, uneven, pass-by and 3 pairs per microphone and "
                        "condition (about 2-3 minutes)")
    p.add_argument("--seed", type=int, default=0, help="scene seed (default 0)")
    p.add_argument("--no-roundtrip", action="store_true",
                   help="skip the spatialize round trip (plan -> spatialize -> plan again)")
    p.add_argument("--no-tagger", action="store_true",
                   help="skip the sound tagger (labels are then not scored meaningfully)")
    p.add_argument("--set", dest="part", choices=("tune", "held-out"), default=None,
                   help="run the world bench on this part: rooms, every kind of microphone, "
                        "the fetched recordings (python benchmarks/hearing_fetch_sounds.py); "
                        "tune on 'tune' only, report both")
    p.add_argument("--mic", metavar="KIND", default=None,
                   help="with --set: one microphone (" + ", ".join(_mic_names()) + ") or "
                        "kind of stereo (binaural, spaced, coincident, panned)")
    p.set_defaults(func=run)


def _mic_names() -> tuple[str, ...]:
    from engine.evaluation.mics import MIC_NAMES
    return MIC_NAMES


def default_sources_dir() -> Path | None:
    from engine.evaluation.sources import find_sources_dir
    return find_sources_dir(REPO_ROOT)


def run(args) -> int:
    from engine.evaluation.bench import run_bench_job
    if args.seed < 0:  # numpy's generators take none: a ValueError traceback
        raise BadInput(f"--seed must be 0 or more, got {args.seed}.")
    sources = Path(args.sources) if args.sources else default_sources_dir()
    if sources is None or not (sources / "sources.json").exists():
        where = args.sources or "../shared/data/sources"
        raise BadInput(f"No development recordings found at {where}.",
                       hint="Pass --sources DIR (the folder with sources.json).")
    if args.mic and not args.part:
        raise BadInput("--mic needs --set tune or --set held-out (the world bench).")
    printer = ProgressPrinter(quiet=args.quiet)
    if args.part:
        return _run_world(args, sources, printer)
    tagger = None if args.no_tagger else make_tagger_or_none(printer)
    started = time.monotonic()
    report = run_job(run_bench_job(sources, args.out, quick=args.quick, seed=args.seed,
                                   tagger=tagger, token=CancelToken()), printer)
    printer.done()
    sys.stdout.write(report.table() + "\n")
    printer.info(f"{len(report.scores) // 3} scenes in {time.monotonic() - started:.0f} s; "
                 f"details in {Path(args.out) / 'bench.json'}")
    if not args.no_roundtrip:
        from engine.spatialize.roundtrip import roundtrip_bench, roundtrip_table
        printer.info("spatialize round trip: plan -> spatialize a mono recording -> plan again")
        started = time.monotonic()
        result = roundtrip_bench(sources, quick=args.quick, seed=args.seed)
        sys.stdout.write("\n" + roundtrip_table(result) + "\n")
        printer.info(f"round trip in {time.monotonic() - started:.0f} s")
    return 0


def _run_world(args, sources: Path, printer) -> int:
    from engine.evaluation.mics import mics_for
    from engine.evaluation.world_bench import run_world_bench_job
    try:
        mics_for(args.part, args.mic)
    except ValueError as e:
        raise BadInput(f"--mic: {e}.") from None
    tagger = None if args.no_tagger else make_tagger_or_none(printer)
    started = time.monotonic()
    report = run_job(run_world_bench_job(sources, args.out, part=args.part, mic=args.mic,
                                         quick=args.quick, seed=args.seed, tagger=tagger,
                                         token=CancelToken()), printer)
    printer.done()
    sys.stdout.write(report.table() + "\n")
    printer.info(f"{report.settings['scenes']} scenes in {time.monotonic() - started:.0f} s; "
                 f"details in {Path(args.out) / f'world_{args.part}.json'}")
    return 0
