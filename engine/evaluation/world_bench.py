"""The world bench: render the scenes of one set (:mod:`engine.evaluation.world`), plan them
with spa2v and the plain GCC-PHAT/ILD peer (:func:`engine.evaluation.peers.plain_cues`, the
same rule-based planner on its cues), and score each condition, microphone and source count.

Scores per group (over clips, or over true sources where it says so):

- ``x err``: mean absolute x-centre error of each true source's matched object (fraction of
  the frame width; Hungarian matching, :func:`engine.evaluation.metrics.match_objects`; an
  unmatched source counts 0.5);
- ``motion``: true sources whose matched object has the right motion label;
- ``count``: clips with as many objects as sources; ``phantom``: clips with more;
- ``no box``: of the video frames in which a source is sounding (within 20 dB of its own
  active level), the fraction in which its matched object has no box;
- ``uneven moved``: static sources whose own level swings (kind ``uneven``) that were called
  anything but static.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..audio import load_audio, write_audio
from ..fileio import write_json_atomic
from ..jobs import CancelToken, Job, Log, stage_progress
from ..layout import Layout
from ..planning.heuristic import plan_layout_from_cues
from ..audio.tagging import Tagger
from . import metrics
from .bench import NUM_FRAMES, _quiet
from .mics import mics_for, true_pan_law, true_spacing
from .peers import plain_cues
from .scenes import SAMPLE_RATE, label_matches, truth_layout, truth_x
from .sources import SOUNDS_CACHE, load_catalogue, load_fetched_catalogue
from .world import WORLD_KINDS, WorldScene, make_world_scenes, render_world, split_catalogue

# spa2v: --stereo auto (what a user gets); spa2v-true: the true kind, spacing and pan law
# passed (what the mapping of each kind can do); plain: the GCC-PHAT/ILD peer.
SYSTEMS = ("spa2v", "spa2v-true", "plain")
QUICK_KINDS = ("static", "uneven", "passby", "pair")


@dataclass
class WorldScore:
    scene: str
    part: str
    kind: str
    condition: str
    mic: str
    stereo: str
    system: str
    n_true: int
    n_pred: int
    x_error: float
    motion_ok: int
    sounding_frames: int
    missing_frames: int
    uneven: int
    uneven_moved: int
    seconds: float = 0.0
    heard_as: str = ""  # the kind of stereo the cues were read as (auto's decision for spa2v)
    rt60_s: float | None = None  # the room's (``room`` clips; None dry and legacy)
    snr_db: float | None = None  # the noise's level below the mix (None without noise)


# The issue's own room conditions ("single source in rooms, RT60 <= 0.7 s, SNR >= 15 dB"): the
# bench draws rooms up to 0.9 s and noise down to 10 dB, beyond them.
ISSUE_ROOM_MAX_RT60_S = 0.7
ISSUE_ROOM_MIN_SNR_DB = 15.0


def issue_room(rt60_s: float | None, snr_db: float | None) -> bool:
    """A room within the issue's conditions (:data:`ISSUE_ROOM_MAX_RT60_S`,
    :data:`ISSUE_ROOM_MIN_SNR_DB`); no room (``rt60_s`` None) is not one, and no noise
    (``snr_db`` None) counts as above the SNR."""
    return (rt60_s is not None and rt60_s <= ISSUE_ROOM_MAX_RT60_S
            and (snr_db is None or snr_db >= ISSUE_ROOM_MIN_SNR_DB))


def in_issue_rooms(score: "WorldScore") -> bool:
    """A ``room`` clip within the issue's conditions (:func:`issue_room`)."""
    return score.condition == "room" and issue_room(score.rt60_s, score.snr_db)


def score_world(scene: WorldScene, system: str, pred: Layout, truth: Layout,
                sounding: list[np.ndarray]) -> WorldScore:
    matches = metrics.match_objects(pred, truth, truth_x=truth_x(scene, truth.num_frames),
                                    label_ok=label_matches)
    sounding_frames = missing = 0
    uneven = moved = 0
    for m, active in zip(matches, sounding):
        sounding_frames += int(active.sum())
        if m.pred_id is None:
            missing += int(active.sum())
            continue
        boxes = pred.object(m.pred_id).boxes
        missing += sum(1 for i in np.flatnonzero(active) if boxes[i] is None)
    if scene.kind == "uneven":
        uneven = 1
        m = matches[0]
        moved = int(m.pred_id is None or pred.object(m.pred_id).motion != "static")
    return WorldScore(scene.name, scene.part, scene.kind, scene.condition, scene.mic,
                      scene.stereo, system, len(truth.objects), len(pred.objects),
                      float(np.mean([m.x_error for m in matches])),
                      sum(m.motion_ok for m in matches), sounding_frames, missing, uneven, moved,
                      rt60_s=scene.room.rt60_s if scene.room else None, snr_db=scene.snr_db)


@dataclass
class WorldReport:
    scores: list[WorldScore]
    settings: dict

    def rows(self):
        """Summary rows: per condition and source count, all microphones, then per microphone."""
        keys = sorted({(s.condition, s.n_true == 1) for s in self.scores},
                      key=lambda k: (["dry", "room", "legacy"].index(k[0]), not k[1]))
        for cond, single in keys:
            for mic in ["all", *dict.fromkeys(s.mic for s in self.scores
                                               if s.condition == cond)]:
                for system in SYSTEMS:
                    sel = [s for s in self.scores if s.condition == cond and s.system == system
                           and (s.n_true == 1) == single and mic in ("all", s.mic)]
                    if sel:
                        yield cond, "one" if single else "two", mic, system, summarise(sel)

    def table(self) -> str:
        head = ("| set | condition | sources | mic | system | clips | x err | motion | count "
                "| phantom | no box | uneven moved |")
        lines = [head, "|" + "---|" * 12]
        part = self.settings.get("set", "")
        for cond, n, mic, system, s in self.rows():
            uneven = f"{s['uneven_moved']:.2f} ({s['uneven']})" if s["uneven"] else "-"
            lines.append(f"| {part} | {cond} | {n} | {mic} | {system} | {s['clips']} "
                         f"| {s['x_error']:.3f} | {s['motion']:.2f} | {s['count']:.2f} "
                         f"| {s['phantom']:.2f} | {s['no_box']:.3f} | {uneven} |")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"settings": self.settings, "table": self.table(),
                "clips": [asdict(s) for s in self.scores]}


def side_by_side(tune: list[WorldScore], held_out: list[WorldScore]) -> str:
    """Markdown: per condition, source count and kind of stereo (and "all"), each system's
    scores on the tune part and on the held-out part in one row."""
    both = tune + held_out
    conds = [c for c in ("dry", "room", "legacy") if any(s.condition == c for s in both)]
    head = ("| condition | sources | stereo | system | clips t/h | x err t/h | motion t/h "
            "| count t/h | phantom t/h | no box t/h | uneven moved t/h |")
    lines = [head, "|" + "---|" * 11]
    for cond in conds:
        for single in (True, False):
            for stereo in ("all", "binaural", "coincident", "spaced", "panned"):
                for system in SYSTEMS:
                    pick = [[s for s in part if s.condition == cond and s.system == system
                             and (s.n_true == 1) == single and stereo in ("all", s.stereo)]
                            for part in (tune, held_out)]
                    if not any(pick):
                        continue
                    t, h = (summarise(p) if p else None for p in pick)
                    cells = [_pair(t, h, "clips", "{}")]
                    cells += [_pair(t, h, k, f) for k, f in (
                        ("x_error", "{:.3f}"), ("motion", "{:.2f}"), ("count", "{:.2f}"),
                        ("phantom", "{:.2f}"), ("no_box", "{:.3f}"))]
                    cells.append(_pair(t, h, "uneven_moved", "{:.2f}", need="uneven"))
                    lines.append(f"| {cond} | {'one' if single else 'two'} | {stereo} "
                                 f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# auto "placed as if right": its x error within this of the true kind's on the same clip
SAME_PLACEMENT_X = 0.01


def stereo_decisions(scores: list[WorldScore]) -> dict[str, tuple[int, int, int]]:
    """Per microphone (and "all"): clips whose ``auto`` decision named the true kind of
    stereo, clips placed as if it had (the decision right, or the x error within
    :data:`SAME_PLACEMENT_X` of the true kind's on the same clip: kinds whose signals are the
    same there, e.g. a dry coincident pair and a pan-pot mix), and clips."""
    told = {s.scene: s for s in scores if s.system == "spa2v-true"}
    out: dict[str, list[int]] = {}
    for s in scores:
        if s.system != "spa2v" or not s.heard_as:
            continue
        right = s.heard_as == s.stereo
        t = told.get(s.scene)
        same = right or (t is not None and abs(s.x_error - t.x_error) <= SAME_PLACEMENT_X)
        for key in ("all", s.mic):
            row = out.setdefault(key, [0, 0, 0])
            row[0] += int(right)
            row[1] += int(same)
            row[2] += 1
    return {k: tuple(v) for k, v in out.items()}


def decisions_line(scores: list[WorldScore]) -> str:
    d = stereo_decisions(scores)
    if not d:
        return "auto: no decisions recorded"
    def one(k):
        r, s, n = d[k]
        return f"{k} {r}/{n} ({s}/{n})"
    return ("auto kind right (placed as if right): " + one("all") + "; "
            + ", ".join(one(k) for k in d if k != "all"))


def _pair(t, h, key, fmt, need=None) -> str:
    def one(s):
        if s is None or (need and not s[need]):
            return "-"
        return fmt.format(s[key])
    return f"{one(t)} / {one(h)}"


def summarise(scores: list[WorldScore]) -> dict:
    n_true = sum(s.n_true for s in scores)
    frames = sum(s.sounding_frames for s in scores)
    uneven = sum(s.uneven for s in scores)
    return {"clips": len(scores), "x_error": float(np.mean([s.x_error for s in scores])),
            "motion": sum(s.motion_ok for s in scores) / max(1, n_true),
            "count": float(np.mean([s.n_pred == s.n_true for s in scores])),
            "phantom": float(np.mean([s.n_pred > s.n_true for s in scores])),
            "no_box": sum(s.missing_frames for s in scores) / max(1, frames),
            "uneven": uneven,
            "uneven_moved": sum(s.uneven_moved for s in scores) / max(1, uneven)}


def world_catalogue(sources_dir: str | Path, sounds_cache: str | Path | None = SOUNDS_CACHE):
    """The 30 development recordings plus the fetched Debian ones (if fetched)."""
    cat = load_catalogue(sources_dir)
    return cat + (load_fetched_catalogue(sounds_cache) if sounds_cache else [])


def run_world_bench_job(sources_dir: str | Path, out_dir: str | Path, *, part: str,
                        mic: str | None = None, quick: bool = False, seed: int = 0,
                        tagger: Tagger | None = None, planner=None,
                        token: CancelToken | None = None, per_kind: int | None = None,
                        duration_s: float | None = None, kinds=None,
                        conditions=("dry", "room", "legacy"),
                        sounds_cache: str | Path | None = SOUNDS_CACHE,
                        hrtf_dir: str | Path | None = None,
                        true_stereo: bool = True) -> Job[WorldReport]:
    """Build, plan and score one set of the world bench (see module docstring).

    ``quick``: kinds static, uneven, passby and pair, one clip each (three pairs) per
    microphone and condition (else every kind, 2 clips, six pairs); 6 s, so the quick clips
    are the first of the full run's. ``mic``: one microphone or stereo kind.
    ``hrtf_dir``: the folder with the measured KEMAR SOFA (default: ``../hrtf`` beside the
    sources, if there). ``true_stereo`` (default on): also plan each clip told its true kind
    of stereo, spacing and pan law (system ``spa2v-true``), so each kind's mapping is scored apart
    from ``auto``'s decision.
    """
    from ..pipeline import PlanSettings, plan_job
    from ..planning.heuristic import HeuristicPlanner
    token = token or CancelToken()
    out = Path(out_dir)
    catalogue = world_catalogue(sources_dir, sounds_cache)
    if hrtf_dir is None and (Path(sources_dir).parent / "hrtf").is_dir():
        hrtf_dir = Path(sources_dir).parent / "hrtf"
    kinds = kinds or (QUICK_KINDS if quick else WORLD_KINDS)
    per_kind = per_kind or (1 if quick else 2)
    duration = duration_s or 6.0
    mics = mics_for(part, mic)
    scenes = make_world_scenes(catalogue, part, mics=mics, conditions=conditions, kinds=kinds,
                               per_kind=per_kind, duration_s=duration, seed=seed)
    pool = split_catalogue(catalogue, part)
    voices = [s for s in pool if s.category == "voices" and s.cls == "person"]
    yield Log(f"{part}: {len(scenes)} scenes of {duration:g} s from {len(pool)} recordings; "
              f"microphones {', '.join(mics)}; tagger: {getattr(tagger, 'name', 'none')}")
    report = stage_progress("bench")
    planner = planner or HeuristicPlanner()
    settings = PlanSettings(num_frames=NUM_FRAMES)
    scores: list[WorldScore] = []
    for k, scene in enumerate(scenes):
        token.raise_if_cancelled()
        started = time.monotonic()
        audio, sounding = render_world(scene, num_frames=NUM_FRAMES, voices=voices,
                                       hrtf_dir=hrtf_dir)
        clip = out / "clips" / f"{scene.name}.flac"
        write_audio(clip, audio, SAMPLE_RATE, subtype="PCM_24")
        truth = truth_layout(scene, NUM_FRAMES)
        write_json_atomic(out / "truth" / f"{scene.name}.json",
                          {**scene.describe(), "sounding": [s.tolist() for s in sounding],
                           "layout": truth.to_dict()})
        layout, cues = yield from _quiet(plan_job(clip, settings, planner=planner,
                                                  tagger=tagger, token=token))
        scores.append(score_world(scene, "spa2v", layout, truth, sounding))
        scores[-1].seconds = time.monotonic() - started
        scores[-1].heard_as = (cues.stereo or {}).get("kind", "")
        if true_stereo:
            told = PlanSettings(num_frames=NUM_FRAMES, stereo=scene.stereo,
                                spacing_m=true_spacing(scene.mic, scene.spacing_m),
                                pan_law=true_pan_law(scene.mic))
            layout_t, cues_t = yield from _quiet(plan_job(clip, told, planner=planner,
                                                          tagger=tagger, token=token))
            scores.append(score_world(scene, "spa2v-true", layout_t, truth, sounding))
            scores[-1].heard_as = (cues_t.stereo or {}).get("kind", "")
        peer = plain_cues(load_audio(clip), num_frames=NUM_FRAMES, tags=cues.tags)
        scores.append(score_world(scene, "plain", plan_layout_from_cues(peer), truth, sounding))
        yield report((k + 1) / len(scenes), scene.name)
    result = WorldReport(scores, {"set": part, "mic": mic, "quick": quick, "seed": seed,
                                  "scenes": len(scenes), "duration_s": duration,
                                  "frames": NUM_FRAMES, "kinds": list(kinds),
                                  "recordings": len(pool),
                                  "tagger": getattr(tagger, "name", None)})
    write_json_atomic(out / f"world_{part}.json", result.to_dict())
    return result

