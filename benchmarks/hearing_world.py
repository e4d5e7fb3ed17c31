"""The world bench on both parts, tune and held-out, with the plain GCC-PHAT/ILD baseline.

    python benchmarks/hearing_fetch_sounds.py          # once: the Debian recordings
    python benchmarks/hearing_world.py --quick         # a few minutes on 2 cores
    python benchmarks/hearing_world.py [--mic KIND] [--kinds K,..] [--conditions C,..]
                                       [--per-kind N] [--seed S] [--jobs 2] [--out DIR]

Runs :func:`engine.evaluation.world_bench.run_world_bench_job` for each set (one process per
set), each clip planned with ``--stereo auto`` (``spa2v``) and told its true kind of stereo,
spacing and pan law (``spa2v-true``; not with ``--auto-only``), without the sound tagger
(labels are not scored here), and prints one table per set
("all" microphones, then each microphone) and, with both sets, one table with tune / held-out
side by side per kind of stereo, then the same restricted to the issue's own rooms (RT60 <=
0.7 s, SNR >= 15 dB; printed beside the unfiltered table, not instead). Tune on the ``tune``
rows; publish both.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _one(args) -> tuple[str, str, float, list]:
    part, a = args
    from engine.evaluation.world_bench import run_world_bench_job
    from engine.jobs import CancelToken, run_job
    started = time.monotonic()
    extra = {}
    if a.kinds:
        extra["kinds"] = tuple(a.kinds.split(","))
    if a.conditions:
        extra["conditions"] = tuple(a.conditions.split(","))
    report = run_job(run_world_bench_job(a.sources, a.out / part, part=part, mic=a.mic,
                                         quick=a.quick, seed=a.seed, per_kind=a.per_kind,
                                         token=CancelToken(), true_stereo=not a.auto_only,
                                         **extra))
    return part, report.table(), time.monotonic() - started, report.scores


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sets", default="tune,held-out")
    ap.add_argument("--mic", default=None, help="one microphone or kind of stereo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default=None,
                    help="comma-separated scene kinds (static, uneven, sweep, passby, "
                         "approach, recede, pair)")
    ap.add_argument("--conditions", default=None, help="comma-separated: dry, room, legacy")
    ap.add_argument("--per-kind", type=int, default=None,
                    help="clips per kind, microphone and condition (quick 1, else 2)")
    ap.add_argument("--auto-only", action="store_true",
                    help="plan with --stereo auto only (skip the true-kind system spa2v-true)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--sources", type=Path, default=None,
                    help="development recordings (default: shared/data/sources above the repo)")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "hearing_world")
    args = ap.parse_args(argv)
    from engine.evaluation.sources import default_sources_dir
    args.sources = args.sources or default_sources_dir(ROOT)
    if not (args.sources / "sources.json").exists():
        ap.error(f"no development recordings at {args.sources}")
    from engine.evaluation.world import CONDITIONS, WORLD_KINDS
    for given, known, what in ((args.kinds, WORLD_KINDS, "kinds"),
                               (args.conditions, CONDITIONS, "conditions")):
        unknown = set((given or "").split(",")) - set(known) - {""}
        if unknown:
            ap.error(f"unknown {what} {sorted(unknown)}; choose from {', '.join(known)}")
    parts = [p for p in args.sets.split(",") if p]
    bad = set(parts) - {"tune", "held-out"}
    if bad:
        ap.error(f"unknown sets {sorted(bad)}; use tune and/or held-out")
    with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, len(parts)))) as pool:
        results = list(pool.map(_one, [(p, args) for p in parts]))
    from engine.evaluation.world_bench import decisions_line
    for part, table, seconds, scores in results:
        print(f"\n{part} ({seconds:.0f} s)\n{table}\n{part}: {decisions_line(scores)}")
    if len(results) == 2:
        from engine.evaluation.world_bench import (ISSUE_ROOM_MAX_RT60_S, ISSUE_ROOM_MIN_SNR_DB,
                                                   in_issue_rooms, side_by_side)
        print("\ntune / held-out\n" + side_by_side(results[0][3], results[1][3]))
        tune, held = ([s for s in r[3] if in_issue_rooms(s)] for r in results)
        print(f"\ntune / held-out, rooms with RT60 <= {ISSUE_ROOM_MAX_RT60_S:g} s and SNR >= "
              f"{ISSUE_ROOM_MIN_SNR_DB:g} dB only\n" + side_by_side(tune, held))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
