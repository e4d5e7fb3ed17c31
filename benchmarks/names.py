"""Does the pipeline name a sound as well as the tagger alone does? (issue 15, part 1)

For every recording of a sources folder (``shared/data/sources`` by default; any folder with
a ``sources.json`` in the same format works, so held-out recordings are scored the same way):

- **tagger alone**: the built-in tagger on the whole dry recording (mono, levelled as the
  pipeline levels), top-1 and top-3 nouns;
- **pipeline**: the same recording placed in scenes and planned as ``spa2v plan`` does (cues
  with the tagger, then the rule-based planner): ``dry`` (one static source, free field),
  ``room`` (one static source, RT60 0.5 s hall plus pink noise at 10 dB SNR) and ``mix`` (two
  static sources of different classes at least 45 degrees apart, dry); the object matched to
  the recording (by x-centre) must carry a right label;
- ``world-room`` (not run by default; ``--conditions dry room mix world-room``): the same
  recording as one static source in a room of the world bench, drawn as that bench draws
  its static room clips (:func:`engine.evaluation.world.static_room_scene`: a pyroomacoustics
  room of the recordings' own part, booth to hall, RT60 0.15-0.9 s, the source 0.5-10 m
  away, noise pink / babble / rumble / wind at 10-40 dB SNR), heard through the world
  bench's KEMAR (:func:`engine.evaluation.world.render_world`). Its figure is printed for
  all such rooms and for the issue's rooms only (RT60 <= 0.7 s, SNR >= 15 dB:
  :func:`engine.evaluation.world_bench.issue_room`), each against the tagger alone on the
  same recordings. ``shared/data/sources`` and ``--set tune`` meet tune rooms, ``--set
  held-out`` held-out rooms; the room draws have their own seeded stream, so the other
  conditions are placed as without it.

A label is right when the bench's judge (:func:`engine.evaluation.scenes.label_matches`)
accepts it for the recording's class. Usage, from the repository root:

    python benchmarks/names.py [--sources DIR] [--seed 0 [1 2]] [--json OUT.json] [--only ID...]
    python benchmarks/names.py --set held-out   # the fetched Debian recordings' held-out part

Each seed places every recording afresh (azimuth, partner, room noise). One seed's room
figure moves by several recordings from seed to seed (tune rooms 13, 16 and 19 of 30 for
seeds 0, 1, 2 at fa663d9), so compare methods on several seeds (``--seed 0 1 2``): the
figures are then pooled over all placements and each seed's count is printed too.

``--set tune|held-out`` scores the recordings ``benchmarks/hearing_fetch_sounds.py`` fetched,
split as the world bench splits them (:func:`engine.evaluation.world.split_catalogue`); the
names were designed on ``shared/data/sources`` only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.audio.io import Audio  # noqa: E402
from engine.cues.extract import _levelled, extract_cues  # noqa: E402
from engine.evaluation import metrics  # noqa: E402
from engine.evaluation.scenes import (SAMPLE_RATE, Path as ScenePath, Scene,  # noqa: E402
                                      canonical_label, label_matches, render_scene,
                                      truth_layout, truth_x)
from engine.evaluation.sources import load_catalogue, load_source  # noqa: E402
from engine.evaluation.mics import SETS, TUNE  # noqa: E402
from engine.evaluation.world import WorldScene, render_world, static_room_scene  # noqa: E402
from engine.evaluation.world_bench import (ISSUE_ROOM_MAX_RT60_S,  # noqa: E402
                                           ISSUE_ROOM_MIN_SNR_DB, issue_room)
from engine.planning.heuristic import plan_layout_from_cues  # noqa: E402

FRAMES = 16
DURATION_S = 6.0
WORLD_ROOM = "world-room"
CONDITIONS = ("dry", "room", "mix", WORLD_ROOM)


def _static(az: float, d: float, r: float = 2.0) -> ScenePath:
    return ScenePath(np.array([0.0, d]), np.array([az, az]), np.array([r, r]), "static")


def scenes_for(info, partner, rng: np.random.Generator) -> dict[str, Scene]:
    az = float(rng.choice([-60, -35, -15, 15, 35, 60]))
    a = float(rng.uniform(-70, -25))
    b = float(np.clip(a + rng.uniform(50, 100), 20, 70))
    if rng.random() < 0.5:
        a, b = -b, -a  # the recording is on the right as often as on the left
    seed = int(rng.integers(1 << 31))
    return {
        "dry": Scene(f"dry_{info.id}", "static", "anechoic", DURATION_S, [info],
                     [_static(az, DURATION_S)], seed, [0.0]),
        "room": Scene(f"room_{info.id}", "static", "reverb", DURATION_S, [info],
                      [_static(az, DURATION_S)], seed, [0.0]),
        "mix": Scene(f"mix_{info.id}+{partner.id}", "pair", "anechoic", DURATION_S,
                     [info, partner], [_static(a, DURATION_S), _static(b, DURATION_S, 2.2)],
                     seed, [0.0, float(rng.uniform(-3, 3))]),
    }


def world_room_scene(info, part: str, seed: int, k: int, voices=()) -> WorldScene:
    """Recording number ``k`` in a room of the world bench (module docstring), drawn from
    its own stream so that the other conditions' draws are untouched."""
    rng = np.random.default_rng([seed, SETS.index(part), k, 15])
    return static_room_scene(rng, info, part, mic="kemar", voices=voices,
                             duration_s=DURATION_S)


def pipeline_label(scene: Scene | WorldScene, tagger, hrtf=None,
                   voices=()) -> tuple[bool, str, list[str]]:
    """Whether the object matched to the scene's first source carries a right label."""
    if isinstance(scene, WorldScene):
        stereo, _ = render_world(scene, num_frames=FRAMES, voices=voices)
    else:
        stereo = render_scene(scene, hrtf)
    cues = extract_cues(Audio(stereo, SAMPLE_RATE), num_frames=FRAMES, tagger=tagger)
    layout = plan_layout_from_cues(cues)
    truth = truth_layout(scene, FRAMES)
    matches = metrics.match_objects(layout, truth, truth_x=truth_x(scene, FRAMES),
                                    label_ok=label_matches)
    m = matches[0]
    label = layout.object(m.pred_id).label if m.pred_id is not None else "-"
    return bool(m.label_ok), label, [o.label for o in layout.objects]


def _spread(a: np.ndarray) -> str:
    return " / ".join(f"{v:.2f}" for v in np.percentile(a, [0, 25, 50, 75, 100]))


def _against_tagger(sel: list[dict]) -> str:
    right, alone = sum(r[WORLD_ROOM] for r in sel), sum(r["tagger_top1"] for r in sel)
    ratio = f"{right / alone:.2f}" if alone else "-"
    return f"{right}/{len(sel)} (tagger alone {alone}/{len(sel)}; {ratio} of it)"


def world_summary(rows: list[dict], seeds: list[int]) -> dict:
    """Prints the world rooms' figures (all rooms, the issue's rooms) per seed and pooled,
    and the rooms' spread; returns them."""
    out = {}
    print("\nworld rooms (one static source, KEMAR), pipeline label right against the tagger "
          "alone on the same recordings:")
    for title, keep in (("all rooms", lambda r: True),
                        ("issue's rooms", lambda r: r["world_issue"])):
        for seed in [*seeds, None] if len(seeds) > 1 else [None]:
            sel = [r for r in rows if keep(r) and (seed is None or r["seed"] == seed)]
            name = "pooled" if seed is None else f"seed {seed}"
            print(f"  {title:13s} {name:7s}: {_against_tagger(sel)}")
            out[f"{title} {name}"] = {"right": sum(r[WORLD_ROOM] for r in sel),
                                      "tagger": sum(r["tagger_top1"] for r in sel),
                                      "n": len(sel)}
    rt = np.array([r["world_rt60_s"] for r in rows])
    snr = np.array([r["world_snr_db"] for r in rows])
    dist = np.array([r["world_distance_m"] for r in rows])
    kinds = {k: sum(r["world_room"] == k for r in rows)
             for k in sorted({r["world_room"] for r in rows})}
    noises = {k: sum(r["world_noise"] == k for r in rows)
              for k in sorted({r["world_noise"] for r in rows})}
    print(f"  RT60 s min / q1 / median / q3 / max: {_spread(rt)}; SNR dB: {_spread(snr)}; "
          f"distance m: {_spread(dist)}")
    print(f"  rooms: {kinds}; noise: {noises}; RT60 <= {ISSUE_ROOM_MAX_RT60_S} s: "
          f"{int(np.sum(rt <= ISSUE_ROOM_MAX_RT60_S))}, SNR >= {ISSUE_ROOM_MIN_SNR_DB} dB: "
          f"{int(np.sum(snr >= ISSUE_ROOM_MIN_SNR_DB))}, both (issue's rooms): "
          f"{sum(r['world_issue'] for r in rows)} of {len(rows)}")
    out["spread"] = {"rooms": kinds, "noise": noises}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", default=None,
                    help="a folder with sources.json (default: shared/data/sources beside or "
                         "above the repository)")
    ap.add_argument("--seed", type=int, nargs="+", default=[0],
                    help="one or more seeds; several are pooled (module docstring)")
    ap.add_argument("--json", default=None, help="write per-recording results here")
    ap.add_argument("--only", nargs="*", default=None, help="recording ids to score")
    ap.add_argument("--conditions", nargs="*", default=["dry", "room", "mix"],
                    choices=CONDITIONS)
    ap.add_argument("--set", dest="part", choices=("tune", "held-out"), default=None,
                    help="score the fetched recordings' tune or held-out part instead")
    args = ap.parse_args(argv)

    from models.yamnet import YamnetTagger
    tagger = YamnetTagger()
    if args.part:
        from engine.evaluation.sources import load_fetched_catalogue
        from engine.evaluation.world import split_catalogue
        catalogue = split_catalogue(load_fetched_catalogue(), args.part)
        args.sources = f"fetched recordings, {args.part} part"
        if not catalogue:
            raise SystemExit("no fetched recordings: run benchmarks/hearing_fetch_sounds.py")
    else:
        from engine.evaluation.sources import default_sources_dir
        args.sources = str(args.sources or default_sources_dir(REPO))
        catalogue = load_catalogue(args.sources)
    part = args.part or TUNE  # the 30 design recordings meet tune rooms
    voices = [s for s in catalogue if s.category == "voices" and s.cls == "person"]
    rows = []
    t0 = time.perf_counter()
    for seed in args.seed:
        rng = np.random.default_rng(seed)
        for k, info in enumerate(catalogue):
            others = [s for s in catalogue if s.cls != info.cls]
            partner = others[int(rng.integers(len(others)))]
            scenes = scenes_for(info, partner, rng)
            if WORLD_ROOM in args.conditions:
                scenes[WORLD_ROOM] = world_room_scene(info, part, seed, k, voices)
            if args.only and info.id not in args.only:
                continue
            truth = canonical_label(info.cls)
            x = load_source(info, SAMPLE_RATE).astype(np.float32)
            tags = tagger.tag(_levelled(x, SAMPLE_RATE), SAMPLE_RATE, top_k=3)
            row = {"id": info.id, "seed": seed, "class": truth, "tagger": [t.label for t in tags],
                   "tagger_top1": bool(tags) and label_matches(tags[0].label, truth),
                   "tagger_top3": any(label_matches(t.label, truth) for t in tags)}
            for cond in args.conditions:
                ok, label, labels = pipeline_label(scenes[cond], tagger, voices=voices)
                row[cond] = ok
                row[f"{cond}_label"] = label
                row[f"{cond}_all"] = labels
            if WORLD_ROOM in args.conditions:
                w = scenes[WORLD_ROOM]
                row.update({"world_room": w.room.kind, "world_rt60_s": w.room.rt60_s,
                            "world_noise": w.noise, "world_snr_db": w.snr_db,
                            "world_distance_m": round(float(w.paths[0].distance_m[0]), 2),
                            "world_issue": issue_room(w.room.rt60_s, w.snr_db)})
            rows.append(row)
            print(f"{seed} {info.id:24s} {truth:10s} tagger={','.join(row['tagger']):30s} "
                  + " ".join(f"{c}={row[c + '_label']}{'' if row[c] else '(x)'}"
                             for c in args.conditions), flush=True)
    n = len(rows)
    summary = {"recordings": n, "sources": args.sources, "seed": args.seed,
               "tagger_top1": sum(r["tagger_top1"] for r in rows) / n,
               "tagger_top3": sum(r["tagger_top3"] for r in rows) / n,
               **{c: sum(r[c] for r in rows) / n for c in args.conditions},
               "seconds": round(time.perf_counter() - t0, 1)}
    print("\n| recordings | tagger alone top-1 | tagger alone top-3 | "
          + " | ".join(f"pipeline {c}" for c in args.conditions) + " |")
    print("|" + "---|" * (3 + len(args.conditions)))
    print(f"| {n} | {summary['tagger_top1']:.2f} | {summary['tagger_top3']:.2f} | "
          + " | ".join(f"{summary[c]:.2f}" for c in args.conditions) + " |")
    if len(args.seed) > 1:
        for seed in args.seed:
            mine = [r for r in rows if r["seed"] == seed]
            print(f"seed {seed}: " + ", ".join(
                f"{c} {sum(r[c] for r in mine)}/{len(mine)}" for c in args.conditions))
    if WORLD_ROOM in args.conditions:
        summary["world"] = world_summary(rows, args.seed)
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
