"""The world bench pooled over several runs (scene seeds), one code or two side by side.

One quick run draws 15 clips a row, so one clip moves a rate by 0.07 and two seeds of the
same code can differ by more than a change does. Run the bench with several ``--seed``\\ s
(each a fresh draw of clips, rooms and positions from the same part) and pool them here:

    for s in 0 1 2 3 4; do
        python benchmarks/hearing_world.py --quick --seed $s --sets tune,held-out --out runs/now_$s
    done
    python benchmarks/hearing_world_pool.py --runs now runs/now_* [--runs before runs/old_*]
    python benchmarks/hearing_world_pool.py --runs now runs/now_* --kinds approach,recede

Prints, per set, condition x sources (all microphones) and the issue's own rooms (RT60 <=
0.7 s, SNR >= 15 dB) for every system of every labelled group of runs, and how often ``auto``
named the kind of stereo. A run from code that did not record each clip's room takes the
RT60 and SNR of the same scene from another run (scenes depend only on the seed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _load(run: Path) -> list[dict]:
    clips = []
    for report in sorted(run.glob("*/world_*.json")):
        doc = json.loads(report.read_text())
        seed = doc["settings"].get("seed", 0)
        clips.extend({**c, "seed": seed} for c in doc["clips"])
    if not clips:
        raise SystemExit(f"no world bench report under {run} (hearing_world.py --out)")
    return clips


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", action="append", required=True, metavar=("LABEL", "DIR"),
                    help="a label and the --out folders of hearing_world.py runs (repeatable)")
    ap.add_argument("--kinds", default=None,
                    help="comma-separated scene kinds to pool (default: every kind in the runs)")
    args = ap.parse_args(argv)
    kinds = set(args.kinds.split(",")) if args.kinds else None
    from engine.evaluation.world_bench import WorldScore, in_issue_rooms, summarise
    groups = {}
    for label, *dirs in args.runs:
        if not dirs:
            ap.error(f"--runs {label}: give at least one folder")
        groups[label] = [c for d in dirs for c in _load(Path(d))
                         if kinds is None or c.get("kind") in kinds]
    rooms = {(c["seed"], c["scene"]): (c["rt60_s"], c.get("snr_db"))
             for clips in groups.values() for c in clips if c.get("rt60_s") is not None}
    fields = set(WorldScore.__dataclass_fields__)
    scores = {}
    for label, clips in groups.items():
        out = []
        for c in clips:
            rt60, snr = rooms.get((c["seed"], c["scene"]), (None, None))
            c = {"rt60_s": rt60, "snr_db": snr, **{k: v for k, v in c.items() if v is not None}}
            out.append((c["seed"], WorldScore(**{k: v for k, v in c.items() if k in fields})))
        scores[label] = out
    seeds = {label: sorted({s for s, _ in out}) for label, out in scores.items()}
    print("runs: " + "; ".join(f"{k} seeds {v}" for k, v in seeds.items()))
    head = ("| set | group | code | system | clips | x err | motion | count | phantom | no box "
            "| uneven moved |\n|---|---|---|---|---|---|---|---|---|---|---|")
    for part in ("tune", "held-out"):
        for title, keep in (("all rooms", lambda s: True), ("issue's rooms", in_issue_rooms)):
            rows = defaultdict(list)
            for label, out in scores.items():
                for _, s in out:
                    if s.part != part or (title != "all rooms" and s.condition != "room"):
                        continue
                    if s.condition == "room" and not keep(s):
                        continue
                    group = f"{s.condition} {'one' if s.n_true == 1 else 'two'}"
                    rows[(group, label, s.system)].append(s)
            if not rows:
                continue
            print(f"\n{part}, {title}\n{head}")
            for (group, label, system), sel in sorted(rows.items()):
                m = summarise(sel)
                print(f"| {part} | {group} | {label} | {system} | {m['clips']} | {m['x_error']:.3f} "
                      f"| {m['motion']:.2f} | {m['count']:.2f} | {m['phantom']:.2f} "
                      f"| {m['no_box']:.3f} | {m['uneven_moved']:.2f} ({m['uneven']}) |")
        for label, out in scores.items():
            auto = [s for _, s in out if s.part == part and s.system == "spa2v" and s.heard_as]
            right = sum(s.heard_as == s.stereo for s in auto)
            print(f"{part}: {label}: --stereo auto right on {right}/{len(auto)} clips "
                  f"({right / max(1, len(auto)):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
