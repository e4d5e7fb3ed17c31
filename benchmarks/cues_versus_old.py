"""The world bench's clips read by this code, the plain GCC-PHAT/ILD peer and an older
checkout of the engine, side by side; and how often ``--stereo auto`` names the kind of
stereo the clip was made with.

    python benchmarks/hearing_world.py --quick --out DIR      # renders and scores spa2v, plain
    git worktree add --detach /tmp/old main                   # the code to compare against
    python benchmarks/cues_versus_old.py --world DIR --old /tmp/old

Re-plans every clip of ``DIR/<set>/clips`` with the old checkout (rule-based planner, no
tagger, 16 frames, in a subprocess with that checkout first on the path), rebuilds the
scenes from the run's settings (the world bench is deterministic) and scores the old layouts
exactly as the bench scores the others. Prints, per set: condition x sources for the three
systems, the same for single and two sources in the issue's own rooms (RT60 <= 0.7 s, SNR >=
15 dB; beside, not instead of, the unfiltered rows), then per kind of stereo, then the
``auto`` decisions against the truth. ``--json`` carries each clip's ``rt60_s`` and ``snr_db``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_OLD_PLANNER = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from engine.jobs import CancelToken, run_job
from engine.pipeline import PlanSettings, plan_job
from engine.planning.heuristic import HeuristicPlanner
out = Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
for clip in sorted(Path(sys.argv[2]).glob("*.flac")):
    dest = out / (clip.stem + ".json")
    if dest.exists():
        continue
    layout, _ = run_job(plan_job(clip, PlanSettings(num_frames=16), planner=HeuristicPlanner(),
                                 tagger=None, token=CancelToken()))
    try:
        text = layout.to_json()
    except ValueError:  # older code could record a NaN measure (strict JSON refuses it)
        text = json.dumps(layout.to_dict())
    dest.write_text(text)
"""


def _scenes(settings: dict, part: str, sources: Path):
    from engine.evaluation.mics import mics_for
    from engine.evaluation.world import make_world_scenes
    from engine.evaluation.world_bench import world_catalogue
    catalogue = world_catalogue(sources)
    return make_world_scenes(catalogue, part, mics=mics_for(part, settings.get("mic")),
                             conditions=("dry", "room", "legacy"), kinds=settings["kinds"],
                             per_kind=1 if settings["quick"] else 2,
                             duration_s=settings["duration_s"], seed=settings["seed"])


def _rows(scores, key):
    from engine.evaluation.world_bench import summarise
    groups = defaultdict(list)
    for s in scores:
        groups[(key(s), s.system)].append(s)
    for (k, system), sel in sorted(groups.items()):
        s = summarise(sel)
        yield (f"| {k} | {system} | {s['clips']} | {s['x_error']:.3f} | {s['motion']:.2f} "
               f"| {s['count']:.2f} | {s['phantom']:.2f} | {s['no_box']:.3f} "
               f"| {s['uneven_moved']:.2f} ({s['uneven']}) |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", type=Path, required=True, help="hearing_world.py's --out")
    ap.add_argument("--old", type=Path, required=True, help="checkout of the older engine")
    ap.add_argument("--sets", default="tune,held-out")
    ap.add_argument("--sources", type=Path, default=None,
                    help="development recordings (default: shared/data/sources above the repo)")
    ap.add_argument("--exclude", action="append", default=[], metavar="TEXT",
                    help="leave out clips whose name contains TEXT (repeatable)")
    ap.add_argument("--json", type=Path, help="write every clip's scores and decision here")
    args = ap.parse_args(argv)
    from engine.evaluation.sources import default_sources_dir
    args.sources = args.sources or default_sources_dir(ROOT)
    import numpy as np

    from engine.audio import load_audio
    from engine.cues.stereo import resolve_stereo
    from engine.evaluation.world_bench import (ISSUE_ROOM_MAX_RT60_S, ISSUE_ROOM_MIN_SNR_DB,
                                               WorldScore, in_issue_rooms, score_world)
    from engine.evaluation.scenes import truth_layout
    from engine.layout import Layout
    everything = []
    for part in [p for p in args.sets.split(",") if p]:
        base = args.world / part
        report = json.loads((base / f"world_{part}.json").read_text())
        settings = report["settings"]
        subprocess.run([sys.executable, "-c", _OLD_PLANNER, str(args.old), str(base / "clips"),
                        str(base / "old")], check=True)
        def kept(name):
            return not any(x in name for x in args.exclude)
        scores = [WorldScore(**c) for c in report["clips"] if kept(c["scene"])]
        decisions = defaultdict(lambda: [0, 0])
        heard = {s.scene: s.heard_as for s in scores if s.system == "spa2v"}
        for scene in _scenes(settings, part, args.sources):
            truth_file = base / "truth" / f"{scene.name}.json"
            if not truth_file.exists() or not kept(scene.name):
                continue
            truth_doc = json.loads(truth_file.read_text())
            for s in scores:  # a run from before the bench recorded the room in each score
                if s.scene == scene.name:
                    s.rt60_s = scene.room.rt60_s if scene.room else None
                    s.snr_db = scene.snr_db
            sounding = [np.asarray(s, bool) for s in truth_doc["sounding"]]
            truth = truth_layout(scene, settings["frames"])
            old = Layout.from_dict(json.loads((base / "old" / f"{scene.name}.json").read_text()))
            scores.append(score_world(scene, "old", old, truth, sounding))
            kind = heard.get(scene.name)
            if not kind:  # a run from before the bench recorded auto's decision
                audio = load_audio(base / "clips" / f"{scene.name}.flac")
                kind = resolve_stereo("auto", audio.stereo(), audio.sample_rate).kind
            decisions[(scene.stereo, scene.mic)][0] += int(kind == scene.stereo)
            decisions[(scene.stereo, scene.mic)][1] += 1
            everything.append({"scene": scene.name, "stereo": scene.stereo, "auto": kind})
        head = ("| {} | system | clips | x err | motion | count | phantom | no box "
                "| uneven moved |\n|---|---|---|---|---|---|---|---|---|")
        print(f"\n{part}: condition, sources (all microphones)\n" + head.format("group"))
        print("\n".join(_rows(scores, lambda s: f"{s.condition} {'one' if s.n_true == 1 else 'two'}")))
        issue = [s for s in scores if in_issue_rooms(s)]
        print(f"\n{part}: in the issue's rooms (RT60 <= {ISSUE_ROOM_MAX_RT60_S:g} s, SNR >= "
              f"{ISSUE_ROOM_MIN_SNR_DB:g} dB; {len({s.scene for s in issue})} of "
              f"{len({s.scene for s in scores if s.condition == 'room'})} room clips)\n"
              + head.format("group"))
        print("\n".join(_rows(issue, lambda s: f"room {'one' if s.n_true == 1 else 'two'}")))
        print("\n".join(_rows(issue, lambda s: f"room {'one' if s.n_true == 1 else 'two'} "
                                               f"{s.stereo}")))
        print(f"\n{part}: kind of stereo (all conditions)\n" + head.format("stereo"))
        print("\n".join(_rows(scores, lambda s: f"{s.stereo} {'one' if s.n_true == 1 else 'two'}")))
        right = sum(v[0] for v in decisions.values())
        total = sum(v[1] for v in decisions.values())
        print(f"\n{part}: --stereo auto right on {right}/{total} clips "
              f"({right / max(1, total):.2f}): "
              + ", ".join(f"{k[1]} ({k[0]}) {v[0]}/{v[1]}" for k, v in sorted(decisions.items())))
        everything.extend({"part": part, **vars(s)} for s in scores)
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
