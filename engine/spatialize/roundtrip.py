"""The round trip: layout -> spatialize a mono sound -> plan again -> compare x-centres.

If spatializing is the inverse of planning, planning the spatialized sound puts each box back
where it was. The x-centre error of that round trip measures the two halves together (the
renderer's directions and the cue extractor's reading of them); ``spa2v bench`` reports it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..audio.io import Audio
from ..cues.extract import extract_cues
from ..layout import Layout
from ..planning.heuristic import plan_layout_from_cues
from .render import SpatializeSettings, fit_to_duration, spatialize_layout


def roundtrip_error(layout: Layout, mono, sample_rate: int, *,
                    settings: SpatializeSettings | None = None, hrtf=None) -> dict:
    """Spatialize ``mono`` along every object of ``layout``, plan the result, compare.

    Parameters
    ----------
    layout : the starting layout (one object gives the clearest figure: with several, each
        planned object is matched to the nearest original by mean x).
    mono : np.ndarray [shape=(n,)], the sound given to every object, or ``{object_id:
        array}`` (each fitted to the clip by looping or trimming).
    sample_rate : Hz.
    settings : spatialize settings (default binaural, free field).

    Returns
    -------
    dict with ``x_mae`` (mean |x_before - x_after| over frames where both have a box, NaN when
    none), ``x_max``, ``frames`` (compared frames), ``objects`` and ``objects_found``,
    ``visibility_agreement`` (share of frames where the object is shown in both or neither),
    ``motion_kept`` (share of objects whose motion label survived), and the replanned layout
    as ``layout_after``.
    """
    settings = settings or SpatializeSettings()
    given = mono if isinstance(mono, dict) else {o.id: mono for o in layout.objects}
    sounds = {oid: fit_to_duration(x, sample_rate, layout.duration_s, fit="loop")
              for oid, x in given.items()}
    stereo = spatialize_layout(layout, sounds, sample_rate, settings=settings, hrtf=hrtf)
    audio = Audio(stereo, sample_rate)
    cues = extract_cues(audio, num_frames=layout.num_frames,
                        max_sources=max(1, len(layout.objects)))
    hint = layout.objects[0].prompt if len(layout.objects) == 1 else None
    after = plan_layout_from_cues(cues, hint=hint, width=layout.width, height=layout.height)
    pairs = _match(layout, after)
    diffs, vis_same, vis_total, motion_kept = [], 0, 0, 0
    for before_obj, after_obj in pairs:
        for b0, b1 in zip(before_obj.boxes, after_obj.boxes):
            vis_total += 1
            vis_same += (b0 is None) == (b1 is None)
            if b0 is not None and b1 is not None:
                diffs.append(abs(0.5 * (b0[0] + b0[2]) - 0.5 * (b1[0] + b1[2])))
        motion_kept += before_obj.motion == after_obj.motion
    return {
        "x_mae": float(np.mean(diffs)) if diffs else float("nan"),
        "x_max": float(np.max(diffs)) if diffs else float("nan"),
        "frames": len(diffs),
        "objects": len(layout.objects),
        "objects_found": len(pairs),
        "visibility_agreement": vis_same / vis_total if vis_total else float("nan"),
        "motion_kept": motion_kept / max(1, len(layout.objects)),
        "layout_after": after,
    }


def _match(before: Layout, after: Layout):
    """Pairs (original, replanned) by nearest mean x, each used once (greedy; few objects)."""
    def mean_x(obj):
        xs = [x for x in obj.x_centres() if x is not None]
        return float(np.mean(xs)) if xs else 0.5
    left = list(before.objects)
    right = list(after.objects)
    cost = sorted(((abs(mean_x(a) - mean_x(b)), i, j) for i, a in enumerate(left)
                   for j, b in enumerate(right)))
    used_i, used_j, pairs = set(), set(), []
    for _, i, j in cost:
        if i in used_i or j in used_j:
            continue
        used_i.add(i)
        used_j.add(j)
        pairs.append((left[i], right[j]))
    return pairs


# -- the benchmark ----------------------------------------------------------------------------

def roundtrip_bench(sources_dir, *, quick: bool = False, methods=("binaural", "stereo"),
                    seed: int = 0, on_scene=None) -> dict:
    """The round trip over the ``spa2v bench`` scenes.

    Wire it into ``spa2v bench`` with ``roundtrip_table(roundtrip_bench(sources, quick=...))``.

    Each benchmark scene (:func:`engine.evaluation.scenes.make_scenes`, the same seed and
    sizes as ``spa2v bench``) is rendered and planned with the built-in planner: that plan is
    the benchmark layout. Each of its objects then gets a fresh excerpt of the recording whose
    true path is nearest to it, the layout goes round the trip (:func:`roundtrip_error`, free
    field) with each method, and the x-centre error is recorded.

    Parameters
    ----------
    sources_dir : folder with ``sources.json`` and the FLAC recordings.
    quick : the quick bench's scenes (2 per kind and condition, 5 s) instead of the full one
        (8 per kind and condition, 6 s).
    methods : spatialize methods to measure.
    on_scene : called with each row as it is measured (progress printing).

    Returns
    -------
    dict: ``rows`` (scene, kind, condition, method, x_mae, x_max, frames, objects,
    objects_found) and ``summary`` per method (mean of scene MAEs, frame-pooled MAE, median,
    90th percentile, share of scenes within 0.03, scene count).
    """
    from ..evaluation.scenes import SAMPLE_RATE, make_scenes, render_scene, truth_x
    from ..evaluation.sources import extend_source, load_catalogue, load_source

    per_kind, duration = (2, 5.0) if quick else (8, 6.0)
    scenes = make_scenes(load_catalogue(sources_dir), per_kind=per_kind, duration_s=duration,
                         seed=seed)
    # Scenes are rendered as spa2v bench renders them: with the full measured KEMAR set when
    # the SOFA file sits beside the recordings. The trip uses the shipped set, as users do.
    sofa = Path(sources_dir).parent / "hrtf" / "MIT_KEMAR_normal_pinna.sofa"
    scene_hrtf = None
    if sofa.exists():
        from ..binaural import load_sofa
        scene_hrtf = load_sofa(sofa, taps=512)
    rows = []
    for scene in scenes:
        stereo = render_scene(scene, scene_hrtf)
        cues = extract_cues(Audio(stereo, SAMPLE_RATE), num_frames=BENCH_FRAMES)
        layout = plan_layout_from_cues(cues)
        if not layout.objects:
            continue
        # Each planned object sounds like the recording whose true path it is nearest to, in
        # its own excerpt: two objects given one identical signal would fuse into one
        # phantom source between them, which no recording of two things would do.
        rng = np.random.default_rng([seed, scene.seed])
        recordings = [load_source(src, SAMPLE_RATE) for src in scene.sources]
        truth = [float(np.mean(x)) for x in truth_x(scene, BENCH_FRAMES)]
        sounds = {}
        for obj in layout.objects:
            xs = [x for x in obj.x_centres() if x is not None]
            k = int(np.argmin([abs(np.mean(xs) - t) for t in truth]))
            sounds[obj.id] = extend_source(recordings[k], SAMPLE_RATE, duration,
                                           scene.sources[k].mode, rng)
        for method in methods:
            r = roundtrip_error(layout, sounds, SAMPLE_RATE,
                                settings=SpatializeSettings(method=method))
            row = {"scene": scene.name, "kind": scene.kind, "condition": scene.condition,
                   "method": method, "x_mae": r["x_mae"], "x_max": r["x_max"],
                   "frames": r["frames"], "objects": r["objects"],
                   "objects_found": r["objects_found"]}
            rows.append(row)
            if on_scene is not None:
                on_scene(row)
    return {"rows": rows, "summary": _summary(rows, methods),
            "settings": {"quick": quick, "seed": seed, "scenes": len(scenes),
                         "duration_s": duration, "frames": BENCH_FRAMES}}


BENCH_FRAMES = 16  # as spa2v bench (docs/benchmarks.md)


def _summary(rows: list[dict], methods) -> dict:
    out = {}
    for method in methods:
        mine = [r for r in rows if r["method"] == method and r["frames"]]
        if not mine:
            continue
        maes = np.array([r["x_mae"] for r in mine])
        frames = np.array([r["frames"] for r in mine])
        out[method] = {"x_mae_mean": float(maes.mean()),
                       "x_mae_pooled": float(np.sum(maes * frames) / np.sum(frames)),
                       "x_mae_median": float(np.median(maes)),
                       "x_mae_p90": float(np.percentile(maes, 90)),
                       "within_0_03": float(np.mean(maes <= 0.03)), "scenes": len(mine)}
    return out


def roundtrip_table(result: dict) -> str:
    """The round-trip figures as a small text table (for ``spa2v bench`` and the script)."""
    rows = result["rows"]
    methods = list(result["summary"])
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    lines = [f"Spatialize round trip (plan -> spatialize -> plan), x-centre MAE, "
             f"{result['settings']['scenes']} scenes, target 0.03",
             f"{'method':9s} " + " ".join(f"{k:>8s}" for k in kinds)
             + f" {'mean':>6s} {'median':>6s} {'p90':>6s} {'<=0.03':>6s}"]
    for m in methods:
        cells = []
        for k in kinds:
            v = [r["x_mae"] for r in rows if r["method"] == m and r["kind"] == k and r["frames"]]
            cells.append(f"{np.mean(v):8.3f}" if v else f"{'-':>8s}")
        s = result["summary"][m]
        lines.append(f"{m:9s} " + " ".join(cells) + f" {s['x_mae_mean']:6.3f} "
                     f"{s['x_mae_median']:6.3f} {s['x_mae_p90']:6.3f} {s['within_0_03']:6.0%}")
    return "\n".join(lines)
