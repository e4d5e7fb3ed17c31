"""Long scenes (20-60 s) as a user records them, scored the way the video shows them.

Issue 14 section 3 ("What a video needs from hearing"): the world bench scores 6 s clips with
one or two sources, but a user records a dog that barks a few times on the left, a car that
passes later, someone who talks for a while with pauses, and room noise throughout. This
script builds such scenes from the TUNE recordings only (world bench rooms, microphones and
noise: :mod:`engine.evaluation.world`), runs the real pipeline (``plan_job``, default settings
and the yamnet tagger as ``spa2v plan --fps F`` would) and scores the layout per video frame:

- ``need``: frames x sources where the object should be on screen (from a source's first
  sound to its last, gaps under :data:`SAME_APPEARANCE_S` included: a dog between barks);
  frames in a longer silence are "either" (no box is not a miss, a box where the source was
  is not a phantom);
- ``hit`` / ``miss``: of those, frames with / without a box within :data:`GATE_X` of the
  source's x (the box's centre is clipped to the frame as the planner clips it);
- ``extra``: boxes that match no source (a phantom, a split, a box before a source sounds or
  after it has left);
- ``idsw``: a source matched by another object than in the frame it was last matched
  (split, swap, or a source that comes back as a new object); ``name``: the matched object's
  label changed with it;
- ``osw``: an object matched to one source, later to another (it jumped to the other
  source: one box that wanders between the dog, the car and the talker);
- ``cnt``: mean |boxes on screen - sources that should be|.

Usage: ``python benchmarks/long_scenes.py [--fps 4] [--only NAME,...] [--out DIR]``
(prints the table and a timeline per scene: one line per true source, one per object).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path as FsPath

import numpy as np

REPO = FsPath(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.audio.io import write_audio  # noqa: E402
from engine.evaluation import world  # noqa: E402
from engine.evaluation.rooms import RoomSpec, render_moving  # noqa: E402
from engine.evaluation.scenes import SAMPLE_RATE, Path  # noqa: E402
from engine.evaluation.sources import active_rms, default_sources_dir, load_source  # noqa: E402
from engine.evaluation.world import (LEVEL_DBFS, WorldScene, make_noise, recorder_gain,  # noqa: E402
                                     split_catalogue)
from engine.evaluation.mics import make_microphone  # noqa: E402
from engine.evaluation.world_bench import world_catalogue  # noqa: E402
from engine.layout.screen import x_from_azimuth  # noqa: E402

GATE_X = 0.15  # 27 degrees of azimuth: a box this far from its source is elsewhere
SAME_APPEARANCE_S = 6.0  # silences shorter than this keep the object on screen (design)
SOUNDING_DB = world.SOUNDING_DB


@dataclass
class Src:
    """One source of a long scene: a recording, the times it sounds, where it is."""

    rec: str
    # (start, end) windows in s; within each, takes of the recording repeat with gaps
    windows: list[tuple[float, float]]
    az: tuple[float, float]  # azimuth at the start and end of each window (deg)
    dist: tuple[float, float] = (2.0, 2.0)
    gain_db: float = 0.0
    gap_s: tuple[float, float] = (0.25, 0.8)  # silence between takes
    letter: str = "A"


@dataclass
class LongScene:
    name: str
    mic: str
    duration_s: float
    srcs: list[Src]
    room: RoomSpec | None = None
    noise: str | None = None
    snr_db: float | None = None
    spacing_m: float | None = None
    reverb_send_db: float | None = None
    seed: int = 0
    notes: str = ""
    truth: dict = field(default_factory=dict)


MEDIUM = RoomSpec("medium", (7.5, 5.5, 3.0), 0.45, (3.2, 2.6, 1.5), 30.0)
SMALL = RoomSpec("small", (4.5, 3.6, 2.6), 0.3, (2.0, 1.8, 1.3), 200.0)
LARGE = RoomSpec("large", (13.0, 10.0, 4.5), 0.65, (6.0, 5.0, 1.6), 100.0)


def _park(**kw) -> list[Src]:
    """A dog barks on the left (a few barks, then again after 20 s of silence), a car passes
    right to left, someone talks in the middle with a pause."""
    return [
        Src("scorched3d-dog", [(1.0, 12.0), (33.0, 38.0)], (-55, -55), (3.0, 3.0),
            gap_s=(1.5, 3.0), letter="D"),
        Src("car_engine_large", [(14.0, 22.0)], (70, -70), (4.0, 4.0), letter="C", **kw),
        Src("ktuberling-hat", [(18.0, 26.0), (29.0, 36.0)], (10, 10), (1.8, 1.8),
            gap_s=(0.3, 0.9), letter="T"),
    ]


def scenes() -> list[LongScene]:
    return [
        LongScene("park_dry_kemar", "kemar", 40.0, _park()),
        LongScene("park_room_kemar", "kemar", 40.0, _park(), room=MEDIUM, noise="pink",
                  snr_db=25.0, seed=1),
        LongScene("park_dry_spaced", "spaced", 40.0, _park(), spacing_m=0.3, seed=2),
        LongScene("park_room_spaced", "spaced", 40.0, _park(), room=SMALL, noise="rumble",
                  snr_db=20.0, spacing_m=0.3, seed=3),
        LongScene("park_dry_pan", "pan-cp", 40.0, _park(), seed=4),
        LongScene("park_room_pan", "pan-cp", 40.0, _park(), room=MEDIUM, noise="pink",
                  snr_db=25.0, reverb_send_db=-8.0, seed=5),
        # A talker with pauses all along, a bird that chirps now and then on the right,
        # a helicopter that crosses left to right in the middle.
        LongScene("office_room_xy", "xy90", 45.0, [
            Src("supertux-tux-hello", [(0.5, 9.0), (12.0, 22.0), (27.0, 40.0)], (-20, -20),
                (1.5, 1.5), gap_s=(0.4, 1.2), letter="T"),
            Src("scorched3d-birdchirp1", [(3.0, 8.0), (24.0, 30.0), (38.0, 44.0)], (60, 60),
                (3.0, 3.0), gain_db=-4.0, gap_s=(1.0, 2.5), letter="B"),
            Src("helicopter", [(15.0, 25.0)], (-75, 75), (5.0, 5.0), letter="H"),
        ], room=LARGE, noise="babble", snr_db=30.0, seed=6),
        # One dog, alone, barking in bursts with a 20 s silence: does it stay one object?
        LongScene("dog_alone_room_kemar", "kemar", 40.0, [
            Src("scorched3d-dog3", [(1.0, 8.0), (29.0, 36.0)], (40, 40), (2.5, 2.5),
                gap_s=(1.0, 3.0), letter="D"),
        ], room=MEDIUM, noise="pink", snr_db=30.0, seed=7),
    ]


def _takes(x: np.ndarray, start: float, end: float, gap_s, rng) -> list[tuple[int, np.ndarray]]:
    """Takes of recording ``x`` from ``start`` until ``end`` (each within the window)."""
    from engine.evaluation.sources import _trim
    x = _trim(x, SAMPLE_RATE)
    out, pos = [], start
    while pos < end:
        take = x[: int((end - pos) * SAMPLE_RATE)] if pos + len(x) / SAMPLE_RATE > end else x
        if len(take) < 0.1 * SAMPLE_RATE:
            break
        gain = 10 ** (rng.uniform(-1.5, 1.5) / 20)
        out.append((int(pos * SAMPLE_RATE), gain * take))
        pos += len(take) / SAMPLE_RATE + rng.uniform(*gap_s)
    return out


def render(scene: LongScene, catalogue, voices) -> tuple[np.ndarray, list[np.ndarray]]:
    """The scene's audio ``(2, n)`` and per source its dry signal ``(n,)`` (for the truth)."""
    sr = SAMPLE_RATE
    n = int(round(scene.duration_s * sr))
    rng = np.random.default_rng(scene.seed)
    by_id = {s.id: s for s in catalogue}
    mix = np.zeros((2, n))
    dry = []
    base = WorldScene(scene.name, "tune", "static", "room" if scene.room else "dry", scene.mic,
                      scene.duration_s, [], [], scene.seed, room=scene.room, noise=scene.noise,
                      snr_db=scene.snr_db, spacing_m=scene.spacing_m,
                      reverb_send_db=scene.reverb_send_db)
    mic = None if base.stereo == "panned" else make_microphone(
        scene.mic, sample_rate=sr, spacing_m=scene.spacing_m or 0.3)
    for src in scene.srcs:
        rec = load_source(by_id[src.rec], sr)
        full = np.zeros(n)
        for (t0, t1) in src.windows:
            for at, take in _takes(rec, t0, t1, src.gap_s, rng):
                full[at:at + len(take)] += take[: n - at]
        full *= 10 ** ((LEVEL_DBFS + src.gain_db) / 20) / active_rms(full, sr)
        dry.append(full)
        for (t0, t1) in src.windows:
            a, b = int(t0 * sr), min(n, int((t1 + 1.0) * sr))  # + 1 s for the room's tail
            seg = full[a:b]
            d = (b - a) / sr
            path = Path(np.array([0.0, t1 - t0, d]), np.array([src.az[0], src.az[1], src.az[1]]),
                        np.array([src.dist[0], src.dist[1], src.dist[1]]), "static")
            if scene.room is not None and mic is not None:
                path = world._fit(scene.room, path, 0.0)[0]  # scaled about the mic to fit
            sub = WorldScene(base.name, "tune", "static", base.condition, scene.mic, d, [],
                             [path], scene.seed, room=scene.room, spacing_m=scene.spacing_m,
                             reverb_send_db=scene.reverb_send_db)
            if mic is None:
                y = world._spatialise(sub, seg, path, 0.0, rng)
            else:
                moving = src.az[0] != src.az[1] or src.dist[0] != src.dist[1]
                tb = (np.arange(int(np.ceil(d / 0.1)) + 1) * 0.1) if moving else np.array([0.0])
                local = world._positions(path, tb, 0.0, scene.room is not None)
                y = render_moving(seg, local, scene.room, mic, sample_rate=sr, seed=scene.seed)
            mix[:, a:b] += y[:, : b - a]
    if scene.noise:
        mix += make_noise(base, mix, rng, voices=voices)
    return recorder_gain(mix), dry


def truth(scene: LongScene, dry: list[np.ndarray], num_frames: int) -> dict:
    """Per source and frame: sounding, should be on screen (``need``), either way
    (``either``: in a long silence), true x."""
    sr = SAMPLE_RATE
    out = {"sounding": [], "need": [], "either": [], "x": []}
    t = (np.arange(num_frames) + 0.5) * scene.duration_s / num_frames
    for src, x in zip(scene.srcs, dry):
        snd = world._sounding(x, sr, num_frames)
        need = np.zeros(num_frames, bool)
        idx = np.flatnonzero(snd)
        if idx.size:
            # appearances: runs of sounding frames with gaps under SAME_APPEARANCE_S
            frame_s = scene.duration_s / num_frames
            start = idx[0]
            for p, q in zip(idx[:-1], idx[1:]):
                if (q - p - 1) * frame_s >= SAME_APPEARANCE_S:
                    need[start:p + 1] = True
                    start = q
            need[start:idx[-1] + 1] = True
        either = np.zeros(num_frames, bool)
        if idx.size:
            either[idx[0]:idx[-1] + 1] = ~need[idx[0]:idx[-1] + 1]
        # azimuth: the window's path inside windows, the last position held between them
        az_t = np.full(num_frames, float(src.az[0]))
        for (t0, t1) in src.windows:
            inside = (t >= t0) & (t <= t1)
            az_t[inside] = src.az[0] + (src.az[1] - src.az[0]) * (t[inside] - t0) / (t1 - t0)
            az_t[t > t1] = src.az[1]
            if src.az[0] != src.az[1]:
                az_t[t < t0] = src.az[0]
        az = az_t
        out["sounding"].append(snd)
        out["need"].append(need)
        out["either"].append(either)
        out["x"].append(x_from_azimuth(np.clip(az, -90, 90)))
    return out


def score(scene: LongScene, tr: dict, layout) -> dict:
    """Per-frame matching of boxes to sources (Hungarian on |x| within GATE_X)."""
    from scipy.optimize import linear_sum_assignment
    nf = layout.num_frames
    k = len(scene.srcs)
    need = np.array(tr["need"])
    either = np.array(tr["either"])
    xs = np.array(tr["x"])
    objs = layout.objects
    match = np.full((k, nf), -1)  # object index matched to each source per frame
    extra = np.zeros(nf, int)
    nbox = np.zeros(nf, int)
    for f in range(nf):
        boxes = [(j, o.boxes[f]) for j, o in enumerate(objs) if o.boxes[f] is not None]
        nbox[f] = len(boxes)
        cand = [i for i in range(k) if need[i, f] or either[i, f]]
        if boxes and cand:
            cost = np.full((len(cand), len(boxes)), 9.0)
            for a, i in enumerate(cand):
                for b, (j, box) in enumerate(boxes):
                    w = box[2] - box[0]
                    tx = float(np.clip(xs[i, f], w / 2, 1 - w / 2))
                    d = abs(0.5 * (box[0] + box[2]) - tx)
                    if d <= GATE_X:
                        cost[a, b] = d
            ra, cb = linear_sum_assignment(cost)
            used = set()
            for a, b in zip(ra, cb):
                if cost[a, b] < 9.0:
                    match[cand[a], f] = boxes[b][0]
                    used.add(b)
            # a box on a source in a long silence is neither hit nor extra
            extra[f] = sum(1 for b in range(len(boxes)) if b not in used)
        else:
            extra[f] = len(boxes)
    hit = int(np.sum((match >= 0) & need))
    idsw = names = 0
    for i in range(k):
        last = -1
        for f in range(nf):
            if match[i, f] >= 0:
                if last >= 0 and match[i, f] != last:
                    idsw += 1
                    names += objs[match[i, f]].label != objs[last].label
                last = match[i, f]
    # an object that is matched to one source, then to another (it jumped, or swapped)
    osw = 0
    for j in range(len(objs)):
        last = -1
        for f in range(nf):
            who = np.flatnonzero(match[:, f] == j)
            if who.size:
                if last >= 0 and who[0] != last:
                    osw += 1
                last = who[0]
    should = need.sum(axis=0)
    return {"need": int(need.sum()), "hit": hit, "miss": int(need.sum()) - hit,
            "extra": int(extra.sum()), "idsw": idsw, "osw": osw, "name": names,
            "cnt": float(np.mean(np.abs(nbox - should))), "objects": len(objs),
            "sources": k, "match": match.tolist()}


def timeline(scene: LongScene, tr: dict, layout, sc: dict, step_s: float = 1.0) -> str:
    """One character per ``step_s``: truth lines (# sounding, - on screen between sounds,
    ~ long silence) and object lines (letter of the source it matched, ? a box on none)."""
    nf = layout.num_frames
    per = max(1, int(round(step_s * nf / scene.duration_s)))
    cols = range(0, nf, per)
    lines = []
    ruler = "".join(str(int(f * scene.duration_s / nf) // 10 % 10) if
                    int(f * scene.duration_s / nf) % 10 == 0 else " " for f in cols)
    lines.append(f"{'':26s}{ruler}")
    for i, src in enumerate(scene.srcs):
        row = ""
        for f in cols:
            sl = slice(f, f + per)
            if np.any(tr["sounding"][i][sl]):
                row += "#"
            elif np.any(tr["need"][i][sl]):
                row += "-"
            elif np.any(tr["either"][i][sl]):
                row += "~"
            else:
                row += " "
        lines.append(f"  {src.letter} {src.rec[:12]:12s} {src.az[0]:+4.0f}{src.az[1]:+4.0f} {row}")
    match = np.array(sc["match"])
    for j, o in enumerate(layout.objects):
        row = ""
        for f in cols:
            fs = range(f, min(nf, f + per))
            if all(o.boxes[g] is None for g in fs):
                row += " "
                continue
            who = [i for i in range(len(scene.srcs)) for g in fs if match[i, g] == j]
            row += scene.srcs[who[0]].letter.lower() if who else "?"
        xs = [0.5 * (b[0] + b[2]) for b in o.boxes if b is not None]
        lines.append(f"  obj{o.id} {o.label[:12]:12s} {o.motion[:5]:5s} {row}"
                     f"  x {min(xs):.2f}-{max(xs):.2f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fps", type=float, default=4.0)
    p.add_argument("--only", default="")
    p.add_argument("--out", default="/work/bench/longscene/run")
    p.add_argument("--no-tagger", action="store_true")
    args = p.parse_args(argv)
    from engine.jobs import CancelToken, run_job
    from engine.pipeline import PlanSettings, plan_job
    from engine.planning.heuristic import HeuristicPlanner
    out = FsPath(args.out)
    (out / "clips").mkdir(parents=True, exist_ok=True)
    cat = split_catalogue(world_catalogue(default_sources_dir(REPO)), "tune")
    voices = [s for s in cat if s.category == "voices" and s.cls == "person"]
    tagger = None
    if not args.no_tagger:
        from models.backends import make_tagger
        tagger = make_tagger("yamnet")
    only = set(filter(None, args.only.split(",")))
    rows = []
    for scene in scenes():
        if only and scene.name not in only:
            continue
        t0 = time.monotonic()
        clip = out / "clips" / f"{scene.name}.flac"
        audio, dry = render(scene, cat, voices)
        write_audio(clip, audio, SAMPLE_RATE, subtype="PCM_24")
        settings = PlanSettings(num_frames=None, fps=args.fps)
        layout, cues = run_job(plan_job(clip, settings, planner=HeuristicPlanner(),
                                        tagger=tagger, token=CancelToken()), None)
        tr = truth(scene, dry, layout.num_frames)
        sc = score(scene, tr, layout)
        (out / f"{scene.name}.json").write_text(json.dumps(
            {"layout": layout.to_dict(), "score": {k: v for k, v in sc.items() if k != "match"},
             "stereo": cues.stereo}, indent=1))
        print(f"\n{scene.name} ({scene.mic}, {'room ' + scene.room.kind if scene.room else 'dry'}"
              f"{', ' + scene.noise if scene.noise else ''}; heard as "
              f"{(cues.stereo or {}).get('kind')}; {time.monotonic() - t0:.0f} s)")
        print(timeline(scene, tr, layout, sc))
        rows.append((scene.name, sc))
        sys.stdout.flush()
    print(f"\n{'scene':24s} {'src':>3s} {'obj':>3s} {'need':>5s} {'hit':>5s} {'miss':>5s} "
          f"{'extra':>5s} {'idsw':>4s} {'osw':>4s} {'name':>4s} {'cnt':>5s}")
    tot = {k: 0 for k in ("need", "hit", "miss", "extra", "idsw", "osw", "name")}
    for name, sc in rows:
        print(f"{name:24s} {sc['sources']:3d} {sc['objects']:3d} {sc['need']:5d} {sc['hit']:5d} "
              f"{sc['miss']:5d} {sc['extra']:5d} {sc['idsw']:4d} {sc['osw']:4d} {sc['name']:4d} "
              f"{sc['cnt']:5.2f}")
        for k in tot:
            tot[k] += sc[k]
    print(f"{'all':24s} {'':3s} {'':3s} {tot['need']:5d} {tot['hit']:5d} {tot['miss']:5d} "
          f"{tot['extra']:5d} {tot['idsw']:4d} {tot['osw']:4d} {tot['name']:4d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
