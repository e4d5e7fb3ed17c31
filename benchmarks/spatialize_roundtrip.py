"""Spatialize round trip: plan -> spatialize a mono recording -> plan again, x-centre error.

Benchmark layouts: each development recording (shared/data/sources) rendered binaurally
along five paths (static left, static right, left to right, right to left, approaching), 6 s,
planned at 16 frames. Each layout then goes round the trip with another excerpt of the same
recording, binaurally (KEMAR) and with plain stereo panning. Prints per-path and overall
x-centre mean absolute error (fractions of the frame width); the target is 0.03 (binaural).

    .venv/bin/python benchmarks/spatialize_roundtrip.py [--sources DIR] [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from engine.evaluation.sources import find_sources_dir
    from engine.spatialize.roundtrip import SCENE_PATHS, roundtrip_bench

    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", type=Path, default=None,
                    help="folder with sources.json (default: the nearest shared/data/sources)")
    ap.add_argument("--limit", type=int, default=None, help="first N recordings only")
    ap.add_argument("--methods", default="binaural,stereo")
    ap.add_argument("--json", type=Path, default=None, help="write all rows as JSON")
    a = ap.parse_args()
    sources = a.sources or find_sources_dir(ROOT)
    if sources is None:
        raise SystemExit("No shared/data/sources found; pass --sources DIR.")
    methods = tuple(m for m in a.methods.split(",") if m)
    t0 = time.perf_counter()
    result = roundtrip_bench(sources, methods=methods, limit=a.limit,
                             on_scene=lambda r: print(
                                 f"  {r['source']:24s} {r['path']:14s} {r['method']:9s} "
                                 f"x MAE {r['x_mae']:.3f} (plan vs path {r['plan_x_mae']:.3f})",
                                 file=sys.stderr))
    wall = time.perf_counter() - t0
    rows = result["scenes"]
    print(f"Spatialize round trip: {len(rows) // max(1, len(methods))} layouts (16 frames, 6 s), "
          f"{os.cpu_count()} CPUs, {wall:.0f} s")
    by = defaultdict(list)
    for r in rows:
        by[(r["method"], r["path"])].append(r["x_mae"])
    names = [p[0] for p in SCENE_PATHS]
    print(f"{'method':10s} " + " ".join(f"{n:>14s}" for n in names) + f" {'all (mean)':>11s}"
          f" {'median':>7s} {'p90':>6s} {'<=0.03':>7s}")
    for m in methods:
        s = result["summary"].get(m)
        if not s:
            continue
        cells = " ".join(f"{np.nanmean(by[(m, n)]):14.3f}" for n in names)
        print(f"{m:10s} {cells} {s['x_mae_mean']:11.3f} {s['x_mae_median']:7.3f} "
              f"{s['x_mae_p90']:6.3f} {s['within_0_03']:7.0%}")
    plan = [r["plan_x_mae"] for r in rows if r["method"] == methods[0]]
    print(f"(benchmark plans against the rendered paths: x MAE {np.nanmean(plan):.3f})")
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
