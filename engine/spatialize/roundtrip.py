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
