"""Spatial hearing over many scene seeds: count, x-centre error and motion per condition and kind.

    python benchmarks/hearing_seeds.py --seeds 0,1,2,3 [--kinds pair] [--cache DIR] [--jobs 2]

The development harness behind the per-seed tables in docs/benchmark-history.md: the scenes of
``spa2v bench`` (8 per kind and condition, 6 s, the measured KEMAR SOFA of the development
recordings), planned by the rule-based planner without a tagger (labels are not scored, so
a run takes seconds per seed once the clips are rendered) and scored as the bench scores
them. Rendered clips are cached (FLAC) under ``--cache``, so several runs compare code
changes on the same audio. Prints one line per condition and kind, then the pair clips
whose object count is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.evaluation.scenes import KINDS  # noqa: E402

NUM_FRAMES = 16


def _scenes(sources: Path, seed: int, kinds: tuple[str, ...]):
    from engine.evaluation.scenes import make_scenes
    from engine.evaluation.sources import load_catalogue
    scenes = make_scenes(load_catalogue(sources), per_kind=8, duration_s=6.0, seed=seed)
    return [s for s in scenes if s.kind in kinds]


def _one(args) -> dict:
    sources, cache, seed, idx, kinds = args
    from engine.audio import write_audio
    from engine.evaluation.bench import NUM_FRAMES as BENCH_FRAMES
    from engine.evaluation.bench import _measured_hrtf, score_layout
    from engine.evaluation.scenes import SAMPLE_RATE, render_scene, truth_layout
    from engine.jobs import CancelToken, run_job
    from engine.pipeline import PlanSettings, plan_job
    from engine.planning.heuristic import HeuristicPlanner
    scene = _scenes(sources, seed, kinds)[idx]
    clip = cache / f"s{seed}" / f"{scene.name}.flac"
    if not clip.exists():
        clip.parent.mkdir(parents=True, exist_ok=True)
        write_audio(clip, render_scene(scene, _measured_hrtf(sources)), SAMPLE_RATE,
                    subtype="PCM_24")
    truth = truth_layout(scene, BENCH_FRAMES)
    layout, _ = run_job(plan_job(clip, PlanSettings(num_frames=BENCH_FRAMES),
                                 planner=HeuristicPlanner(), tagger=None,
                                 token=CancelToken()))
    sc = score_layout(scene, "spa2v", layout, truth)
    xs = [round(float(np.mean([(b[0] + b[2]) / 2 for b in o.boxes if b is not None])), 2)
          for o in layout.objects]
    return dict(seed=seed, name=scene.name, cond=scene.condition, kind=scene.kind,
                n_true=sc.n_true, n_pred=sc.n_pred, x=sc.x_error, motion=sc.motion_ok, xs=xs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2,3")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--sources", type=Path, default=None,
                    help="a folder with sources.json (default: shared/data/sources beside or "
                         "above the repository)")
    ap.add_argument("--cache", type=Path, default=ROOT / "out" / "hearing_seeds")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write every clip's scores here")
    args = ap.parse_args(argv)
    from engine.evaluation.sources import default_sources_dir
    args.sources = args.sources or default_sources_dir(ROOT)
    seeds = [int(s) for s in args.seeds.split(",")]
    kinds = tuple(k for k in args.kinds.split(",") if k)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        ap.error(f"unknown kinds {sorted(unknown)}; choose from {', '.join(KINDS)}")
    if not args.sources.is_dir():
        ap.error(f"no development recordings at {args.sources}")
    jobs = [(args.sources, args.cache, seed, i, kinds) for seed in seeds
            for i in range(len(_scenes(args.sources, seed, kinds)))]
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        res = list(pool.map(_one, jobs, chunksize=2))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    print(f"seeds {args.seeds}: {len(res)} clips")
    for cond in ("anechoic", "reverb"):
        for kind in kinds:
            r = [x for x in res if x["cond"] == cond and x["kind"] == kind]
            if not r:
                continue
            count = np.mean([x["n_pred"] == x["n_true"] for x in r])
            motion = sum(x["motion"] for x in r) / sum(x["n_true"] for x in r)
            print(f"{cond:9s} {kind:8s} n={len(r):3d} count={count:.2f} "
                  f"x={np.mean([x['x'] for x in r]):.3f} motion={motion:.2f}")
    for x in res:
        if x["kind"] == "pair" and x["n_pred"] != x["n_true"]:
            print(f"  count wrong: seed {x['seed']} {x['name']}: {x['n_pred']} objects at x "
                  f"{x['xs']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
