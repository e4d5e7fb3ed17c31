"""The spatial-hearing benchmark: render scenes, plan them, score the product and two peers.

For every scene (:mod:`engine.evaluation.scenes`) the clip is written to
``OUT/clips/<name>.flac`` with its truth in ``OUT/truth/<name>.json``; the product plans it
through the real pipeline (:func:`engine.pipeline.plan_job`, as ``spa2v plan --frames 16``
does) and the peers (:mod:`engine.evaluation.peers`) through the same rule-based planner.
Scores per group of scenes:

- x-centre error: mean absolute distance between each true source's x-centre and its
  matched object's, per frame (fraction of the frame width; see
  :func:`engine.evaluation.metrics.match_objects`);
- motion / label accuracy over true sources; object-count accuracy over clips;
- LTSim, MaxIoU, DocSim (:mod:`engine.evaluation.metrics`) against the truth layout, with
  labels and on geometry alone ("geom", every label treated alike).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..audio import load_audio, write_audio
from ..fileio import write_json_atomic
from ..jobs import CancelToken, Job, Log, stage_progress
from ..layout import Layout
from ..planning.heuristic import plan_layout_from_cues
from ..audio.tagging import Tagger
from . import metrics
from .peers import centre_cues, plain_cues
from .scenes import (SAMPLE_RATE, Scene, label_matches, make_scenes, render_scene, truth_layout,
                     truth_x)
from .sources import load_catalogue

NUM_FRAMES = 16
SYSTEMS = ("spa2v", "centre", "plain")
GROUPS = (("single, anechoic", lambda s: s.single and s.condition == "anechoic"),
          ("single, reverb+noise", lambda s: s.single and s.condition == "reverb"),
          ("two sources, anechoic", lambda s: not s.single and s.condition == "anechoic"),
          ("two sources, reverb+noise", lambda s: not s.single and s.condition == "reverb"))


@dataclass
class ClipScore:
    scene: str
    kind: str
    condition: str
    system: str
    n_true: int
    n_pred: int
    x_error: float
    motion_ok: int
    label_ok: int
    ltsim: float
    max_iou: float
    docsim: float
    ltsim_geom: float
    max_iou_geom: float
    docsim_geom: float
    motions: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    group: str = ""


@dataclass
class BenchReport:
    scores: list[ClipScore]
    settings: dict

    def table(self) -> str:
        """The summary as a Markdown table (groups x systems)."""
        head = ("| scenes | system | clips | x-centre err | motion acc | label acc | count acc "
                "| LTSim | MaxIoU | DocSim | LTSim geom | MaxIoU geom | DocSim geom |")
        lines = [head, "|" + "---|" * 13]
        for gname, system, rows in self.groups():
            if not rows:
                continue
            n_true = sum(r.n_true for r in rows)
            lines.append(
                f"| {gname} | {system} | {len(rows)} | {np.mean([r.x_error for r in rows]):.3f} "
                f"| {sum(r.motion_ok for r in rows) / n_true:.2f} "
                f"| {sum(r.label_ok for r in rows) / n_true:.2f} "
                f"| {np.mean([r.n_pred == r.n_true for r in rows]):.2f} "
                + " ".join(f"| {np.mean([getattr(r, k) for r in rows]):.3f}" for k in (
                    "ltsim", "max_iou", "docsim", "ltsim_geom", "max_iou_geom", "docsim_geom"))
                + " |")
        return "\n".join(lines)

    def groups(self):
        for gname, _ in GROUPS:
            for system in SYSTEMS:
                yield gname, system, [r for r in self.scores
                                      if r.system == system and r.group == gname]

    def to_dict(self) -> dict:
        return {"settings": self.settings, "table": self.table(),
                "clips": [asdict(r) for r in self.scores]}


def score_layout(scene: Scene, system: str, pred: Layout, truth: Layout) -> ClipScore:
    """Every score of one planned clip against its truth."""
    matches = metrics.match_objects(pred, truth, truth_x=truth_x(scene, truth.num_frames),
                                    label_ok=label_matches)
    # Labels the tagger got right (synonyms included) are renamed to the truth's word, so the
    # label-aware layout metrics count a "race car" heard for a "car" as right.
    renamed = Layout.from_dict(pred.to_dict())
    for m in matches:
        if m.pred_id is not None and m.label_ok:
            renamed.object(m.pred_id).label = truth.object(m.truth_id).label
    score = ClipScore(
        scene.name, scene.kind, scene.condition, system, len(truth.objects), len(pred.objects),
        float(np.mean([m.x_error for m in matches])), sum(m.motion_ok for m in matches),
        sum(m.label_ok for m in matches),
        metrics.ltsim(renamed, truth), metrics.max_iou(renamed, truth),
        metrics.docsim(renamed, truth), metrics.ltsim(pred, truth, use_labels=False),
        metrics.max_iou(pred, truth, use_labels=False),
        metrics.docsim(pred, truth, use_labels=False),
        [o.motion for o in pred.objects], [o.label for o in pred.objects])
    score.group = next(g for g, test in GROUPS if test(scene))
    return score


def run_bench_job(sources_dir: str | Path, out_dir: str | Path, *, quick: bool = False,
                  seed: int = 0, tagger: Tagger | None = None, planner=None,
                  token: CancelToken | None = None, per_kind: int | None = None,
                  duration_s: float | None = None) -> Job[BenchReport]:
    """Build, plan and score the benchmark (see module docstring); returns the report.

    ``quick``: 2 scenes per kind and condition, 5 s each (else 8 and 6 s); ``per_kind`` and
    ``duration_s`` override either (tests use tiny ones).
    """
    from ..pipeline import PlanSettings, plan_job
    from ..planning.heuristic import HeuristicPlanner
    token = token or CancelToken()
    out = Path(out_dir)
    catalogue = load_catalogue(sources_dir)
    per_kind_default, duration_default = (2, 5.0) if quick else (8, 6.0)
    per_kind = per_kind or per_kind_default
    duration = duration_s or duration_default
    scenes = make_scenes(catalogue, per_kind=per_kind, duration_s=duration, seed=seed)
    hrtf = _measured_hrtf(Path(sources_dir))
    yield Log(f"{len(scenes)} scenes of {duration:g} s; HRTF: {hrtf.source if hrtf else 'shipped KEMAR'}"
              f"; tagger: {getattr(tagger, 'name', 'none')}")
    report = stage_progress("bench")
    planner = planner or HeuristicPlanner()
    settings = PlanSettings(num_frames=NUM_FRAMES)
    scores: list[ClipScore] = []
    for k, scene in enumerate(scenes):
        token.raise_if_cancelled()
        clip = out / "clips" / f"{scene.name}.flac"
        write_audio(clip, render_scene(scene, hrtf), SAMPLE_RATE, subtype="PCM_24")
        truth = truth_layout(scene, NUM_FRAMES)
        write_json_atomic(out / "truth" / f"{scene.name}.json", _truth_record(scene, truth))
        job = plan_job(clip, settings, planner=planner, tagger=tagger, token=token)
        layout, cues = yield from _quiet(job)
        scores.append(score_layout(scene, "spa2v", layout, truth))
        audio = load_audio(clip)
        for name, make in (("centre", centre_cues), ("plain", plain_cues)):
            peer = make(audio, num_frames=NUM_FRAMES, tags=cues.tags)
            scores.append(score_layout(scene, name, plan_layout_from_cues(peer), truth))
        yield report((k + 1) / len(scenes), scene.name)
    result = BenchReport(scores, {"quick": quick, "seed": seed, "scenes": len(scenes),
                                  "duration_s": duration, "frames": NUM_FRAMES,
                                  "tagger": getattr(tagger, "name", None),
                                  "hrtf": hrtf.source if hrtf else "shipped"})
    write_json_atomic(out / "bench.json", result.to_dict())
    return result


def _quiet(job):
    """Run a nested job, passing on nothing but its result (the bench reports per clip)."""
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return stop.value
        if False:
            yield None


def _measured_hrtf(sources_dir: Path):
    """The measured KEMAR SOFA beside the sources (``../hrtf``), if present: the benchmark
    renders with the full measured responses rather than the shipped compact set."""
    from ..binaural import load_sofa
    sofa = sources_dir.parent / "hrtf" / "MIT_KEMAR_normal_pinna.sofa"
    return load_sofa(sofa, taps=512) if sofa.exists() else None


def _truth_record(scene: Scene, truth: Layout) -> dict:
    return {"scene": scene.name, "kind": scene.kind, "condition": scene.condition,
            "sources": [s.id for s in scene.sources],
            "paths": [{"times_s": p.times_s.tolist(), "azimuth_deg": p.azimuth_deg.tolist(),
                       "distance_m": p.distance_m.tolist(), "motion": p.motion,
                       "doppler": p.doppler} for p in scene.paths],
            "layout": truth.to_dict()}


def load_report(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
