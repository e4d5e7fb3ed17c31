"""Contrastive tagging against the background (issue 15, rooms): tried, not kept.

Kept in history only (docs/planners.md, "Rooms: contrastive tagging against the background").
Each scene of ``benchmarks/names.py`` (same seeds, same placements; ``--cond dry room mix``)
is rendered and its cues extracted once; the arguments the pipeline passes to
:func:`engine.cues.signals.source_signals` are recorded, each source's tagged signal is made
once, and the tagger's 0.96 s patch scores of it are cached with each patch's share of the
source's own activity (:func:`engine.cues.frames.activity_mask` on its step powers, over the
tagged span; with two sources each one's own, from its mask). A try then only re-pools the
patch scores into clip scores and re-plans; ``base`` is the pipeline exactly:

    python benchmarks/names_bg_tries.py --sources shared/data/sources --cond dry room mix \
        --alone --try base diff ratio ... [--changes] [--show]
    python benchmarks/names_bg_tries.py --set tune ...   # the fetched recordings' tune part

Tries (fg: the patches where the source sounds, bg: where it does not; each class's clip
score from fg is its best-3 mean as in ``models.yamnet.clip_scores``, from bg its mean):
- ``diff``: fg - bg (floored at 0), bg = activity share <= 0.25, fg = share >= 0.5, when at
  least 2 bg patches (else unchanged); ``ratio``: fg * fg / (fg + bg); ``fgonly`` (same as
  ``own-0.5-2``): fg alone; ``diff-half``: fg - bg / 2; ``-bg4``: at least 4 bg patches.
- ``diff-q`` / ``ratio-q``: fg and bg from the patch levels instead (Otsu split, >= 6 dB).
- ``floor-*``: bg the patches within 3 dB of the quietest (when the loudest is >= 6 dB above
  it), fg the others; ``drop``: classes not above their bg score drop out; ``-all``: fg all
  patches; ``-10``: 10 dB; ``-2``: within 2 dB; ``-bg1``: one bg patch is enough.
- ``strict-*``: bg only patches with no active step in them nor in the 0.48 s before (the
  hall's tail has died into the noise), fg every patch with activity.
- ``own-F-B``: fg = activity share >= F, used when at least B patches have share <= 0.25.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import names as bench  # noqa: E402
import engine.cues.extract as ex  # noqa: E402
import engine.cues.signals as sg  # noqa: E402
import models.yamnet as ym  # noqa: E402
from engine.audio import features  # noqa: E402
from engine.audio.io import Audio  # noqa: E402
from engine.cues.frames import activity_mask, presence_mask  # noqa: E402
from engine.cues.spatial import STEP_FRAMES, AnalysisGrid  # noqa: E402
from engine.evaluation import metrics  # noqa: E402
from engine.evaluation.scenes import (SAMPLE_RATE, canonical_label, label_matches,  # noqa: E402
                                      render_scene, truth_layout, truth_x)
from engine.evaluation.sources import load_catalogue  # noqa: E402
from engine.planning.heuristic import plan_layout_from_cues  # noqa: E402

PATCH_S, HOP_S = 0.96, 0.48


def catalogue_for(part: str, sources: str):
    if part == "sources":
        return load_catalogue(sources)
    from engine.evaluation.sources import load_fetched_catalogue
    from engine.evaluation.world import split_catalogue
    return split_catalogue(load_fetched_catalogue(), part)


def _patch_activity(act_steps: np.ndarray, step_s: float, n_patches: int) -> np.ndarray:
    """Share of each 0.96 s patch's steps where the source is active."""
    t = (np.arange(act_steps.size) + 0.5) * step_s
    out = np.zeros(n_patches)
    for i in range(n_patches):
        inside = (t >= i * HOP_S) & (t < i * HOP_S + PATCH_S)
        out[i] = act_steps[inside].mean() if inside.any() else 0.0
    return out


def _sources_info(call, tagger):
    """Per source: dict(scores (N, 521), level_db (N,), act (N,) activity share, mono)."""
    a, k = call["a"], call["k"]
    stereo, sr, az, power = a[0], a[1], np.atleast_2d(a[2]), np.atleast_2d(a[3])
    monos = sg.source_signals(*a, **k)
    grid = AnalysisGrid.for_rate(sr)
    step_len = STEP_FRAMES * grid.hop
    n_steps = min(az.shape[1], stereo.shape[1] // step_len)
    max_steps = int(np.ceil(k.get("max_s", 10.0) / grid.step_s))
    out = []
    for p, mono in enumerate(monos):
        if mono.size == 0:
            out.append(None)
            continue
        pw = power[p, :n_steps]
        span = sg._loudest_active_span(pw, presence_mask(pw), max_steps)
        act = activity_mask(pw)[span[0]:span[1]]
        m16 = features.pad_for_patches(features.resample_mono(ex._levelled(mono, sr), sr))
        if ym._patch_levels_db(m16).max() < ym.SILENCE_DBFS:
            out.append(None)
            continue
        scores = tagger._scores(m16)
        hop = 800  # 50 ms at 16 kHz
        nf = m16.size // hop
        frame_db = 10 * np.log10(np.mean(m16[:nf * hop].astype(float).reshape(nf, hop) ** 2,
                                         axis=1) + 1e-20)
        out.append({"scores": scores.astype(np.float32), "level_db": ym._patch_levels_db(m16),
                    "frame_db": frame_db.astype(np.float32), "m16": m16.astype(np.float16),
                    "act": _patch_activity(act, grid.step_s, scores.shape[0]),
                    "pres": _patch_activity(presence_mask(pw)[span[0]:span[1]], grid.step_s,
                                            scores.shape[0])})
    return out


def cached_scenes(part, sources, seeds, conds, tagger, cache: Path):
    cat = catalogue_for(part, sources)
    orig = ex.source_signals
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for info in cat:
            others = [s for s in cat if s.cls != info.cls]
            partner = others[int(rng.integers(len(others)))]
            scenes = bench.scenes_for(info, partner, rng)
            for cond in conds:
                scene = scenes[cond]
                f = cache / f"{part}_{cond}_{seed}_{info.id}.pkl"
                if not f.exists():
                    stereo = render_scene(scene, None)
                    call = {}

                    def spy(*a, **k):
                        call["a"], call["k"] = a, k
                        return orig(*a, **k)
                    ex.source_signals = spy
                    try:
                        cues = ex.extract_cues(Audio(stereo, SAMPLE_RATE),
                                               num_frames=bench.FRAMES, tagger=tagger)
                    finally:
                        ex.source_signals = orig
                    srcs = _sources_info(call, tagger) if call else []
                    call.pop("a", None)
                    f.write_bytes(pickle.dumps({"scene": scene, "cues": cues, "srcs": srcs}))
                rec = pickle.loads(f.read_bytes())
                yield seed, info.id, cond, canonical_label(info.cls), rec


# -- poolings: (scores (N, C), level_db (N,), act (N,)) -> clip scores (C,) ---------------------

def base(s, lv, act, pres):
    return ym.clip_scores(s)


def contrast(kind, min_bg=2, bg_max=0.25, fg_min=0.5, by="act", alpha=1.0):
    """Each class's best-3 score over the patches where the source sounds, against its mean
    over the patches where it does not: ``diff`` fg - alpha bg (floored at 0 ... kept as score),
    ``ratio`` fg * fg / (fg + bg)."""
    def pool(s, lv, act, pres):
        share = act if by == "act" else _quiet_share(lv)
        bg = share <= bg_max
        fg = share >= fg_min
        if bg.sum() < min_bg or fg.sum() < 1:
            return ym.clip_scores(s)
        f = ym.clip_scores(s[fg])
        b = s[bg].mean(axis=0)
        if kind == "diff":
            return np.clip(f - alpha * b, 0, None)
        if kind == "ratio":
            return f * f / (f + b + 1e-6)
        if kind == "fgonly":
            return f
        raise ValueError(kind)
    return pool


def _quiet_share(lv: np.ndarray, split_db: float = 6.0) -> np.ndarray:
    """1 for patches above the Otsu split of patch levels (when the split is real), else 0."""
    from engine.cues.frames import _otsu
    if lv.size < 4:
        return np.ones_like(lv)
    thr = _otsu(lv)
    lo, hi = lv[lv < thr], lv[lv >= thr]
    if lo.size and hi.size and np.median(hi) - np.median(lo) >= split_db:
        return (lv >= thr).astype(float)
    return np.ones_like(lv)


def floor_contrast(kind="diff", near_db=3.0, above_db=6.0, min_bg=2, alpha=1.0, fg_all=False):
    """Background: patches within ``near_db`` of the quietest patch, when the loudest is at
    least ``above_db`` above it; foreground: the others (or all patches, ``fg_all``)."""
    def pool(s, lv, act, pres):
        floor = lv.min()
        bg = lv <= floor + near_db
        if lv.max() - floor < above_db or bg.sum() < min_bg:
            return ym.clip_scores(s)
        f = ym.clip_scores(s if fg_all else s[~bg])
        b = s[bg].mean(axis=0)
        if kind == "diff":
            return np.clip(f - alpha * b, 0, None)
        if kind == "ratio":
            return f * f / (f + b + 1e-6)
        if kind == "drop":  # classes that do not rise above the background drop out
            return np.where(f > b, f, 0.0)
        if kind == "fgonly":
            return f
        raise ValueError(kind)
    return pool


def strict_contrast(kind="drop", min_bg=2, alpha=1.0):
    """Background: patches with no active step in them nor in the 0.48 s before them (the
    hall's tail, RT60 0.5 s, has died into the noise); foreground: patches with activity."""
    def pool(s, lv, act, pres):
        quiet = act == 0
        bg = quiet & np.concatenate([[True], quiet[:-1]])
        fg = act > 0
        if bg.sum() < min_bg or not fg.any():
            return ym.clip_scores(s)
        f = ym.clip_scores(s[fg])
        b = s[bg].mean(axis=0)
        if kind == "diff":
            return np.clip(f - alpha * b, 0, None)
        if kind == "ratio":
            return f * f / (f + b + 1e-6)
        if kind == "drop":
            return np.where(f > b, f, 0.0)
        if kind == "drop-all":
            return np.where(f > b, ym.clip_scores(s), 0.0)
        raise ValueError(kind)
    return pool


def own_active(fg_min=0.5, min_bg=2, bg_max=0.25):
    """Each class's best-3 over the patches where the source is active (share >= fg_min),
    when at least ``min_bg`` patches are inactive (share <= bg_max); else unchanged."""
    def pool(s, lv, act, pres):
        fg = act >= fg_min
        if (act <= bg_max).sum() < min_bg or not fg.any():
            return ym.clip_scores(s)
        return ym.clip_scores(s[fg])
    return pool


TRIES = {
    **{f"own-{f}-{b}": own_active(f, b) for f in (0.25, 0.5, 0.75) for b in (0, 1, 2, 4)},
    "strict-drop": strict_contrast("drop"), "strict-diff": strict_contrast("diff"),
    "strict-ratio": strict_contrast("ratio"), "strict-drop-all": strict_contrast("drop-all"),
    "strict-drop-1": strict_contrast("drop", min_bg=1),
    "strict-diff-1": strict_contrast("diff", min_bg=1),
    "floor-diff": floor_contrast("diff"), "floor-ratio": floor_contrast("ratio"),
    "floor-drop": floor_contrast("drop"), "floor-fgonly": floor_contrast("fgonly"),
    "floor-diff-all": floor_contrast("diff", fg_all=True),
    "floor-drop-all": floor_contrast("drop", fg_all=True),
    "floor-diff-10": floor_contrast("diff", above_db=10.0),
    "floor-diff-2": floor_contrast("diff", near_db=2.0),
    "floor-diff-bg1": floor_contrast("diff", min_bg=1),
    "floor-drop-bg1": floor_contrast("drop", min_bg=1),
    "base": base,
    "diff": contrast("diff"), "ratio": contrast("ratio"), "fgonly": contrast("fgonly"),
    "diff-q": contrast("diff", by="quiet"), "ratio-q": contrast("ratio", by="quiet"),
    "diff-half": contrast("diff", alpha=0.5),
    "diff-bg4": contrast("diff", min_bg=4), "ratio-bg4": contrast("ratio", min_bg=4),
}


def tags_from(clip: np.ndarray, tagger) -> list:
    best = ym._nouns_of(clip, ym._vocabulary(), min_specific=tagger.min_score)
    tags = sorted((ym.Tag(n, s, c) for n, (s, c) in best.items() if s >= tagger.min_score),
                  key=lambda t: -t.score)
    return tags[:5]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", default=str(REPO.parents[1] / "shared" / "data" / "sources"))
    ap.add_argument("--set", dest="part", choices=("tune", "held-out"), default=None)
    ap.add_argument("--seed", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--cond", nargs="+", default=["room"])
    ap.add_argument("--try", dest="tries", nargs="+", default=["base"], choices=sorted(TRIES))
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "spa2v" / "names_bg_tries"))
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--alone", action="store_true", help="also score the tagger alone")
    ap.add_argument("--changes", action="store_true",
                    help="print each scene whose label differs from the first try's")
    args = ap.parse_args(argv)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    part = args.part or "sources"
    tagger = ym.YamnetTagger()
    scenes = list(cached_scenes(part, args.sources, args.seed, args.cond, tagger, cache))
    if args.alone:  # the tagger alone on each whole dry recording, as benchmarks/names.py
        from engine.evaluation.sources import load_source
        cat = catalogue_for(part, args.sources)
        top1 = top3 = 0
        for info in cat:
            x = load_source(info, SAMPLE_RATE).astype(np.float32)
            tags = tagger.tag(ex._levelled(x, SAMPLE_RATE), SAMPLE_RATE, top_k=3)
            truth = canonical_label(info.cls)
            top1 += bool(tags) and label_matches(tags[0].label, truth)
            top3 += any(label_matches(t.label, truth) for t in tags)
        k = len(args.seed)
        n = len(cat) * k
        print(f"{part} tagger alone: top-1 {top1 * k}/{n}, top-3 {top3 * k}/{n}")
    results = {}
    for name in args.tries:
        pool = TRIES[name]
        t0 = time.perf_counter()
        right = {(s, c): 0 for s in args.seed for c in args.cond}
        count = {(s, c): 0 for s in args.seed for c in args.cond}
        for seed, rid, cond, truth, rec in scenes:
            cues, scene = rec["cues"], rec["scene"]
            if rec["srcs"]:
                for src, info in zip(cues.sources, rec["srcs"]):
                    src.tags = ([] if info is None else
                                tags_from(pool(info["scores"], info["level_db"], info["act"],
                                               info["pres"]), tagger))
                if len(cues.sources) == 1:
                    cues.tags = list(cues.sources[0].tags)
            layout = plan_layout_from_cues(cues)
            m = metrics.match_objects(layout, truth_layout(scene, bench.FRAMES),
                                      truth_x=truth_x(scene, bench.FRAMES),
                                      label_ok=label_matches)[0]
            right[seed, cond] += bool(m.label_ok)
            results[name, seed, cond, rid] = (
                layout.object(m.pred_id).label if m.pred_id is not None else "-", m.label_ok)
            count[seed, cond] += 1
            if args.show:
                label = layout.object(m.pred_id).label if m.pred_id is not None else "-"
                info = rec["srcs"][0] if rec["srcs"] else None
                extra = ""
                if info is not None:
                    extra = (f" patches {len(info['act'])} act {np.round(info['act'], 1).tolist()}"
                             f" lv {np.round(info['level_db']).astype(int).tolist()}")
                print(f"{seed} {cond} {rid:24s} {truth:10s} {label:12s}"
                      f"{'' if m.label_ok else ' (x)'} n_src={len(cues.sources)}{extra}")
        for cond in args.cond:
            tot = sum(right[s, cond] for s in args.seed)
            n = sum(count[s, cond] for s in args.seed)
            print(f"{part} {cond}, {name}: {tot}/{n} (seeds "
                  + " / ".join(str(right[s, cond]) for s in args.seed)
                  + f"), {time.perf_counter() - t0:.0f} s", flush=True)
    if args.changes:
        for name in args.tries[1:]:
            for key in sorted(k[1:] for k in results if k[0] == name):
                a, b = results[(args.tries[0],) + key], results[(name,) + key]
                if a[0] != b[0]:
                    print(f"  {name}: {key} {a[0]}{'' if a[1] else '(x)'} -> "
                          f"{b[0]}{'' if b[1] else '(x)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
