"""The round trip: layout -> spatialize a mono sound -> plan again -> compare x-centres.

If spatializing is the inverse of planning, planning the spatialized sound puts each box back
where it was. The x-centre error of that round trip measures the two halves together (the
renderer's directions and the cue extractor's reading of them); ``spa2v bench`` reports it.
"""

from __future__ import annotations

import numpy as np

from ..audio.io import Audio
from ..cues.extract import extract_cues
from ..layout import Layout
from ..planning.heuristic import plan_layout_from_cues
from .render import SpatializeSettings, fit_to_duration, spatialize_layout


def roundtrip_error(layout: Layout, mono: np.ndarray, sample_rate: int, *,
                    settings: SpatializeSettings | None = None, hrtf=None) -> dict:
    """Spatialize ``mono`` along every object of ``layout``, plan the result, compare.

    Parameters
    ----------
    layout : the starting layout (one object gives the clearest figure: with several, each
        planned object is matched to the nearest original by mean x).
    mono : np.ndarray [shape=(n,)], the sound given to every object (fitted to the clip by
        looping or trimming).
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
    sound = fit_to_duration(mono, sample_rate, layout.duration_s, fit="loop")
    stereo = spatialize_layout(layout, {o.id: sound for o in layout.objects}, sample_rate,
                               settings=settings, hrtf=hrtf)
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

# Paths of the benchmark scenes: (name, azimuth start/end in degrees, distance start/end in m).
SCENE_PATHS = (
    ("static_left", (-50.0, -50.0), (3.0, 3.0)),
    ("static_right", (40.0, 40.0), (3.0, 3.0)),
    ("left_to_right", (-70.0, 70.0), (4.0, 4.0)),
    ("right_to_left", (70.0, -70.0), (4.0, 4.0)),
    ("approaching", (15.0, 15.0), (12.0, 2.0)),
)
BENCH_DURATION_S = 6.0
BENCH_FRAMES = 16
BENCH_RATE = 44100


def roundtrip_bench(sources_dir, *, methods=("binaural", "stereo"), limit: int | None = None,
                    seed: int = 0, on_scene=None) -> dict:
    """The round trip over benchmark layouts made from the development recordings.

    For each recording and each path in :data:`SCENE_PATHS`: a 6 s excerpt is rendered
    binaurally along the path and planned (16 frames, the class as hint): that plan is the
    benchmark layout. Then another excerpt of the same recording goes round the trip
    (:func:`roundtrip_error`) with each method.

    Parameters
    ----------
    sources_dir : folder with ``sources.json`` and the FLAC recordings.
    methods : spatialize methods to measure.
    limit : use only the first ``limit`` recordings (a quick run).
    on_scene : called with each scene's row (for progress printing).

    Returns
    -------
    dict with ``scenes`` (rows: source, class, path, method, x_mae, x_max, frames,
    plan_x_mae = the benchmark plan's error against the rendered path) and ``summary``
    (per method: mean of the scene MAEs, pooled frame MAE, median, 90th percentile, share of
    scenes within 0.03, scene count).
    """
    from ..binaural import render_binaural
    from ..evaluation.sources import extend_source, load_catalogue, load_source
    from .paths import x_from_azimuth

    catalogue = load_catalogue(sources_dir)[:limit]
    rows = []
    n = int(BENCH_DURATION_S * BENCH_RATE)
    centres = (np.arange(BENCH_FRAMES) + 0.5) * BENCH_DURATION_S / BENCH_FRAMES
    for k, info in enumerate(catalogue):
        raw = load_source(info, BENCH_RATE)
        for p, (name, az, dist) in enumerate(SCENE_PATHS):
            rng = np.random.default_rng([seed, k, p])
            scene_sound = extend_source(raw, BENCH_RATE, BENCH_DURATION_S, info.mode, rng)
            trip_sound = extend_source(raw, BENCH_RATE, BENCH_DURATION_S, info.mode, rng)
            stereo = render_binaural(scene_sound, BENCH_RATE, azimuth_deg=np.asarray(az),
                                     distance_m=np.asarray(dist),
                                     times_s=np.array([0.0, BENCH_DURATION_S]))
            stereo = stereo / max(1e-9, float(np.abs(stereo).max())) * 0.5
            cues = extract_cues(Audio(stereo.astype(np.float32), BENCH_RATE),
                                num_frames=BENCH_FRAMES, max_sources=1)
            layout = plan_layout_from_cues(cues, hint=f"a {info.cls.replace('_', ' ')}")
            if not layout.objects:
                continue
            true_x = x_from_azimuth(np.interp(centres, [0.0, BENCH_DURATION_S], az))
            plan_x = layout.objects[0].x_centres()
            plan_err = [abs(x - t) for x, t in zip(plan_x, true_x) if x is not None]
            for method in methods:
                result = roundtrip_error(layout, trip_sound[:n], BENCH_RATE,
                                         settings=SpatializeSettings(method=method))
                row = {"source": info.id, "class": info.cls, "path": name, "method": method,
                       "x_mae": result["x_mae"], "x_max": result["x_max"],
                       "frames": result["frames"],
                       "plan_x_mae": float(np.mean(plan_err)) if plan_err else float("nan")}
                rows.append(row)
                if on_scene is not None:
                    on_scene(row)
    summary = {}
    for method in methods:
        maes = np.array([r["x_mae"] for r in rows if r["method"] == method and r["frames"]])
        frames = np.array([r["frames"] for r in rows if r["method"] == method and r["frames"]])
        if maes.size == 0:
            continue
        summary[method] = {
            "x_mae_mean": float(maes.mean()),
            "x_mae_pooled": float(np.sum(maes * frames) / np.sum(frames)),
            "x_mae_median": float(np.median(maes)),
            "x_mae_p90": float(np.percentile(maes, 90)),
            "within_0_03": float(np.mean(maes <= 0.03)),
            "scenes": int(maes.size),
        }
    return {"scenes": rows, "summary": summary}
