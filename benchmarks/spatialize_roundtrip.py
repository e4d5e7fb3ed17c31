"""Spatialize round trip over the ``spa2v bench`` scenes: plan -> spatialize -> plan again.

Each benchmark scene (the same scenes ``spa2v bench`` builds from shared/data/sources:
static, sweep, passby, approach, recede and two-source pairs, anechoic and in a reverberant
room with noise) is rendered and planned with the built-in planner; that plan goes round the
trip with a fresh excerpt of each object's recording, binaurally (KEMAR) and with plain
stereo panning, free field. Prints the x-centre mean absolute error per scene kind and
overall (fractions of the frame width); the target is 0.03.

    .venv/bin/python benchmarks/spatialize_roundtrip.py [--quick] [--sources DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from engine.evaluation.sources import find_sources_dir
    from engine.spatialize.roundtrip import roundtrip_bench, roundtrip_table

    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", type=Path, default=None,
                    help="folder with sources.json (default: the nearest shared/data/sources)")
    ap.add_argument("--quick", action="store_true", help="the quick bench's 24 scenes of 5 s")
    ap.add_argument("--methods", default="binaural,stereo")
    ap.add_argument("--json", type=Path, default=None, help="write all rows as JSON")
    a = ap.parse_args()
    sources = a.sources or find_sources_dir(ROOT)
    if sources is None:
        raise SystemExit("No shared/data/sources found; pass --sources DIR.")
    methods = tuple(m for m in a.methods.split(",") if m)
    t0 = time.perf_counter()
    result = roundtrip_bench(sources, quick=a.quick, methods=methods,
                             on_scene=lambda r: print(
                                 f"  {r['scene']:58s} {r['method']:9s} x MAE {r['x_mae']:.3f}"
                                 f" ({r['objects_found']}/{r['objects']} objects)",
                                 file=sys.stderr))
    print(roundtrip_table(result))
    print(f"({time.perf_counter() - t0:.0f} s wall, {os.cpu_count()} CPUs)")
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
