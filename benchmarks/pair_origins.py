"""Where each source of a two-source clip comes from, and where it ends up (issue 14, dry pairs).

For every two-source clip of one or more world bench runs (``hearing_world.py --out``), hears
the clip as ``spa2v`` does (``--stereo auto``: kind, first pass, :func:`engine.cues.separation.
find_sources`, the second pass and :func:`engine.cues.extract._distinct`) and prints the true
paths (start and end azimuth of each source), the kind heard, each source found (its
``origin``, median direction of the first estimate and of the second pass's track), and the
bench's own count and x error for the clip. Then, per microphone, how many pairs were
counted right and which stage found their second source.

    python benchmarks/pair_origins.py /work/bench/main_0 --sets tune --conditions dry

Diagnostic only: it prints figures and changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.cues.diffuse import wetness  # noqa: E402
from engine.cues.extract import _distinct  # noqa: E402
from engine.cues.multisource import analyse_sources_job  # noqa: E402
from engine.cues.separation import find_sources  # noqa: E402
from engine.evaluation.sources import find_sources_dir  # noqa: E402
from engine.evaluation.world import make_world_scenes  # noqa: E402
from engine.evaluation.world_bench import world_catalogue  # noqa: E402
from engine.evaluation.diagnose import hear_mix, world_reports  # noqa: E402
from engine.evaluation import metrics  # noqa: E402
from engine.evaluation.bench import NUM_FRAMES, _quiet  # noqa: E402
from engine.evaluation.scenes import label_matches, truth_layout, truth_x  # noqa: E402
from engine.jobs import CancelToken, run_job  # noqa: E402
from engine.pipeline import PlanSettings, plan_job  # noqa: E402
from engine.planning.heuristic import HeuristicPlanner  # noqa: E402

FRAMES_SHOWN = (1, 5, 10, 14)


def placed(clip: Path, scene) -> str:
    """The planned layout's x per object against the truth at a few frames, as azimuths."""
    layout, _ = run_job(_quiet(plan_job(clip, PlanSettings(num_frames=NUM_FRAMES),
                                        planner=HeuristicPlanner(), tagger=None,
                                        token=CancelToken())))
    truth = truth_layout(scene, NUM_FRAMES)
    tx = truth_x(scene, NUM_FRAMES)
    out = []
    for ti, m in enumerate(metrics.match_objects(layout, truth, truth_x=tx,
                                                 label_ok=label_matches)):
        want = "/".join(f"{(tx[ti][f] - 0.5) * 180:+.0f}" for f in FRAMES_SHOWN)
        if m.pred_id is None:
            out.append(f"[{want} miss]")
            continue
        boxes = layout.object(m.pred_id).boxes
        got = "/".join("." if boxes[f] is None else
                       f"{((boxes[f][0] + boxes[f][2]) / 2 - 0.5) * 180:+.0f}"
                       for f in FRAMES_SHOWN)
        out.append(f"[{want} got {got} e{m.x_error:.3f}]")
    return " ".join(out)


def hear(path: Path, stereo_kind: str = "auto"):
    h = hear_mix(path, stereo_kind)
    stereo, sr, decision, cal, model, steps, active = (
        h.stereo, h.sample_rate, h.decision, h.cal, h.model, h.steps, h.active)
    mask_model = h.mask_model()
    specs = find_sources(steps, active, max_sources=3, model=model, cal=cal)
    final = []
    if len(specs) > 1:
        sep = run_job(analyse_sources_job(stereo, sr, specs, cal, mask_model, steps))
        kept = _distinct(sep, specs)
        final = [float(np.median(s.azimuth_deg[active])) for s in kept]
    else:
        final = [float(np.median(steps.azimuth_deg[active]))]
    found = [(sp.origin, float(np.median(sp.step_az[active])),
              float(np.ptp(sp.step_az[active]))) for sp in specs]
    return decision.kind, wetness(steps.coherence, active, cal), found, final


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="hearing_world.py --out folders")
    ap.add_argument("--sets", default="tune")
    ap.add_argument("--conditions", default="dry")
    ap.add_argument("--mic", default=None)
    ap.add_argument("--frames", action="store_true",
                    help="also plan each clip and print x (as azimuth) at a few frames")
    args = ap.parse_args()
    conds = set(args.conditions.split(","))
    catalogue = world_catalogue(find_sources_dir(ROOT))
    tally: dict[str, Counter] = defaultdict(Counter)
    for run, part, seed, doc in world_reports(args.runs, args.sets.split(",")):
        scenes = {s.name: s for s in make_world_scenes(
            catalogue, part, conditions=tuple(conds), kinds=("pair",), seed=seed)}
        for c in doc["clips"]:
            if (c["system"] != "spa2v" or c["condition"] not in conds or c["n_true"] != 2
                    or (args.mic and c["mic"] != args.mic)):
                continue
            sc = scenes[c["scene"]]
            truth = " ".join(f"{p.azimuth_deg[0]:+4.0f}>{p.azimuth_deg[-1]:+4.0f}"
                             for p in sc.paths)
            kind, wet, found, final = hear(run / part / "clips" / f"{c['scene']}.flac")
            origins = ",".join(o for o, _, _ in found[1:]) or "-"
            tally[c["mic"]][("right" if c["n_pred"] == 2 else f"n{c['n_pred']}")] += 1
            tally[c["mic"]][origins] += 1
            print(f"s{seed} {c['scene'][len(part) + 1:60]:52s} true {truth} "
                  f"heard {kind[:5]} wet {wet:.2f} found "
                  + " ".join(f"{o[:5]}:{a:+.0f}" + (f"~{r:.0f}" if r > 5 else "")
                             for o, a, r in found)
                  + " final " + " ".join(f"{a:+.0f}" for a in final)
                  + f" | n {c['n_pred']} x {c['x_error']:.3f}", flush=True)
            if args.frames:
                print("    " + placed(run / part / "clips" / f"{c['scene']}.flac", sc))
    for mic, t in tally.items():
        print(mic, dict(t))


if __name__ == "__main__":
    main()
