"""Where a room pair's second source is lost (issue 14, rooms, two sources).

For every two-source room clip of one or more world bench runs (``hearing_world.py
--out``) hears the clip as ``spa2v`` does (``--stereo auto``) and, stage by stage of
:func:`engine.cues.separation.find_sources`, looks for evidence at the source the mix's
track does not follow (the *missing* one: the true source farther from the track's median),
and the test that dropped it:

- residual-histogram tracks (first round, beside the mix's track alone): every linked track,
  with each of ``MIN_SEPARATION_DEG`` (from the mix's track while heard),
  ``TRACK_MIN_PRESENCE``, ``TRACK_MIN_SHARE``, ``MAX_COMODULATION``, ``MIN_GCC_PROMINENCE``
  it fails;
- the per-block pair fits (hits against the support asked, the path's count, the path
  within ``MIN_SEPARATION_DEG`` of the track), corroborated tracks (agreeing blocks
  against the count asked), the low band (votes, comodulation), onsets (the first of the
  onset stage's tests that fails, :func:`onset_paths_why`), steady GCC peaks (listed for
  every clip; used only in recordings read as dry);
- after ``find_sources``: dropped by ``_read_twice``, or by ``extract._distinct``
  (``MIN_APART_DEG`` / ``MAX_BELOW_DB``).

A stage's candidate is *at the missing source* when its median direction (over the steps
it is heard) is nearer the missing source's true azimuth than the found one's (level-only
kinds in a room read sources nearer the middle than they are, so no distance is asked; the
printed directions tell how near). Each true source is called steady when it sounds in 14 or
more of the 16 frames (the bench's own ``_sounding``, on the same extended recording).

    python benchmarks/pair_losses.py /work/bench/r6/bq_? --sets tune

``--all`` also prints the pairs counted right; ``--singles`` the single sources in rooms
instead (every stage's candidate there is a phantom's seed: what loosening a test costs);
``--try NAME=VALUE`` hears with a constant of ``separation.py`` changed, and the objects it
prints are the bench's count (tune rooms, seeds 0-4: all 90 pairs, 88 of 90 single
sources), in seconds instead of a bench run. Diagnostic only: it prints figures and changes
nothing. Findings: docs/hearing.md, "Two sources in rooms: where the second source is lost".
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.cues import separation as S  # noqa: E402
from engine.cues.binmodel import HIST_STEP_DEG  # noqa: E402
from engine.cues.blocks import BLOCK_STEPS, blocks as _blocks  # noqa: E402
from engine.cues.diffuse import wetness  # noqa: E402
from engine.cues.extract import _distinct  # noqa: E402
from engine.cues.multisource import analyse_sources_job  # noqa: E402
from engine.evaluation.sources import extend_source, find_sources_dir, load_source  # noqa: E402
from engine.evaluation.world import SAMPLE_RATE, _sounding, make_world_scenes  # noqa: E402
from engine.evaluation.world_bench import world_catalogue  # noqa: E402
from engine.evaluation.diagnose import hear_mix, world_reports  # noqa: E402
from engine.jobs import run_job  # noqa: E402

def steadiness(scene) -> list[int]:
    """Frames (of 16) each source sounds in, as the bench renders it (same rng order)."""
    rng = np.random.default_rng(scene.seed)
    out = []
    for src in scene.sources:
        x = extend_source(load_source(src, SAMPLE_RATE), SAMPLE_RATE, scene.duration_s,
                          src.mode, rng)
        out.append(int(np.sum(_sounding(x, SAMPLE_RATE, 16))))
    return out


def truth_paths(scene, n: int, step_s: float) -> list[np.ndarray]:
    t = (np.arange(n) + 0.5) * step_s
    out = []
    for p in scene.paths:
        a = p.at(np.clip(t, 0, scene.duration_s))[0]
        out.append(np.where(np.abs(a) > 90, np.sign(a) * 180 - a, a))
    return out


def at_missing(step_az, sel, miss, found) -> bool:
    if sel is None or not np.any(sel):
        sel = np.ones(len(step_az), bool)
    d_m = np.median(np.abs(step_az[sel] - miss[sel]))
    d_f = np.median(np.abs(step_az[sel] - found[sel]))
    return bool(d_m < d_f)


def onset_paths_why(steps, active, oaz, t, need) -> str:
    """Which of the onset stage's path tests fails: the steps of
    :func:`separation._onset_sources` after its count tests, read one by one (onsets ``oaz``
    at times ``t`` on active steps; ``need`` onsets per path), and the paths fitted so far
    (``paths A/B``, median azimuths)."""
    n = len(active)
    times = (np.arange(n) + 0.5) * steps.step_s
    centre = 0.5 * n * steps.step_s
    left = np.ones(t.size, bool)
    label = np.full(t.size, -1)
    paths = []

    def fitted() -> str:
        return " paths " + "/".join(f"{np.median(p):+.0f}" for p in paths)

    for j in range(2):
        if left.sum() < need:
            return f"PATH{j + 1}_LEFT {int(left.sum())}<{need:.1f}" + fitted()
        count, path = S._fit_path(t[left], oaz[left], centre, times,
                                  tolerance_deg=S.ONSET_TOLERANCE_DEG)
        paths.append(path)
        if count < need:
            return f"PATH{j + 1}_COUNT {count}<{need:.1f}" + fitted()
        member = left & (np.abs(oaz - np.interp(t, times, path)) <= S.ONSET_TOLERANCE_DEG)
        label[member] = j
        left &= ~member
    sep = float(np.median(np.abs(paths[0] - paths[1])[active]))
    if sep < S.MIN_SEPARATION_DEG:
        return f"ONSET_SEP {sep:.0f}" + fitted()
    seq = label[np.argsort(t)]
    seq = seq[seq >= 0]
    return f"TURNS {np.count_nonzero(np.diff(seq))}" + fitted()


def diagnose(path: Path, scene) -> dict:
    h = hear_mix(path)
    stereo, sr, decision, cal, model, steps, active = (
        h.stereo, h.sample_rate, h.decision, h.cal, h.model, h.steps, h.active)
    mask_model = h.mask_model()
    n = len(active)
    timed = not cal.level_only
    wet = wetness(steps.coherence, active, cal)
    main = S.SourceSpec(np.asarray(steps.azimuth_deg, float), active.copy(), 1.0, origin="mix")
    truth = truth_paths(scene, n, steps.step_s)
    med = [float(np.median(np.abs(main.step_az[active] - tp[active]))) for tp in truth]
    fi = int(np.argmin(med))
    # A single source: nothing is missing (every candidate is "elsewhere", a phantom's seed).
    found, miss = truth[fi], (truth[1 - fi] if len(truth) > 1 else truth[fi] + 1e3)
    # Where the mix's track sits: on a source (within NEAR_DEG of it, median) or not.
    on = [m <= S.NEAR_DEG for m in med]
    track_at = ("on both" if len(on) > 1 and all(on) else f"on {'AB'[fi]}" if on[fi]
                else "between/off")
    rec = {"kind": decision.kind, "wet": wet, "timed": timed, "track_at": track_at,
           "truth": [(float(tp[active][0]), float(tp[active][-1])) for tp in truth],
           "missing": (1 - fi) % len(truth), "main_med": float(np.median(main.step_az[active])),
           "stages": []}
    st = rec["stages"]

    def add(stage, az, ok, why, sel=None, extra=""):
        if isinstance(az, np.ndarray):
            at = at_missing(az, sel, miss, found)
            a = float(np.median(az[sel] if sel is not None and np.any(sel) else az))
        else:
            at, a = None, az
        st.append({"stage": stage, "az": a, "at": at, "ok": ok, "why": why, "extra": extra})

    counts = np.asarray(steps.step_hist, float)
    energies = np.asarray(steps.step_energy, float)
    gcc = np.asarray(steps.step_gcc, np.float32)
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)
    need = {k: lo + (hi - lo) * wet for k, (lo, hi) in
            (("share", S.TRACK_MIN_SHARE), ("prominence", S.MIN_GCC_PROMINENCE))}
    need["presence"] = (S.SPARSE_MIN_PRESENCE if timed and wet <= S.GCC_FALLBACK_MAX_WET
                        else S.TRACK_MIN_PRESENCE)
    if not timed:
        need["prominence"] = -np.inf
    # Steady GCC peaks (listed always).
    if timed:
        peaks = S._steady_gcc_peaks(gcc, az, active, cal)
        used = wet <= S.GCC_FALLBACK_MAX_WET
        for rel, a in peaks[1:]:
            add("gcc", np.full(n, a), used, f"rel {rel:.2f}" + ("" if used else " (wet: unused)"))
    # Residual tracks, first round: replicate _residual_candidates without the separation
    # test, to see the tracks it removes.
    taken = S._near(az, main.step_az)
    resid = np.where(taken, 0.0, counts)
    blk_tot = _blocks(counts).sum(axis=1)
    from scipy.ndimage import gaussian_filter1d
    blk = gaussian_filter1d(_blocks(resid), 1.0, axis=1, mode="nearest")
    res_tot = blk.sum(axis=1)
    blk_share = np.where((res_tot >= S.RESIDUAL_MIN * blk_tot)[:, None],
                         blk / np.maximum(res_tot[:, None], 1e-12), 0.0)
    blk_active = _blocks(active.astype(float)) > 0
    n_active = max(1, int(blk_active.sum()))
    for tr in S._link_peaks(blk_share, az, blk_active):
        b = np.asarray(tr["blocks"])
        if len(b) < 2:
            continue
        k = (np.arange(n) + 0.5) / BLOCK_STEPS - 0.5
        step_az = np.interp(k, b, tr["az"])
        seen = np.repeat(np.isin(np.arange(len(blk_share)), b), BLOCK_STEPS)[:n]
        sel = seen & active
        here = sel if sel.any() else seen
        sep = float(np.median(np.abs(step_az[here] - main.step_az[here])))
        presence = len(b) / n_active
        share = float(np.mean(tr["mass"]))
        if not at_missing(step_az, here, miss, found) and presence < 0.15:
            continue  # small stray tracks elsewhere: not listed
        if sep < S.MIN_SEPARATION_DEG:
            add("hist", step_az, False, f"MIN_SEPARATION {sep:.0f}", here,
                f"pres {presence:.2f}")
            continue
        com = S._comodulation(energies, az, step_az, [main], active)
        prom = S._gcc_prominence(gcc, az, step_az, sel) if timed else 1.0
        why = []
        if presence < need["presence"]:
            why.append(f"PRESENCE {presence:.2f}<{need['presence']:.2f}")
        if share < need["share"]:
            why.append(f"SHARE {share:.2f}<{need['share']:.2f}")
        if com > S.MAX_COMODULATION:
            why.append(f"COMOD {com:.2f}")
        if prom < need["prominence"]:
            why.append(f"PROMINENCE {prom:.2f}<{need['prominence']:.2f}")
        add("hist", step_az, not why, " ".join(why) or "passes", here,
            f"pres {presence:.2f} share {share:.2f} com {com:.2f} prom {prom:.2f}")
    first = S._residual_candidates(counts, energies, gcc, az, [main], active, timed)
    # Pair fits.
    pf = (None if model is None or steps.pair_cov is None
          else S._block_pair_fit(steps, main, active, wet, model, cal))
    if pf is not None:
        hit = pf.apart & (pf.ratio <= pf.hit_ratio)
        na = int(pf.active.sum())
        needp = max(4, pf.min_support * na)
        kb = len(pf.active)
        block_s = steps.step_s * BLOCK_STEPS
        bi = np.minimum(((np.nonzero(hit)[0] + 0.5) * BLOCK_STEPS).astype(int), n - 1)
        hits_at = int(np.sum(np.abs(pf.other[hit] - miss[bi]) < np.abs(pf.other[hit] - found[bi])))
        if hit.sum() >= 1:
            count, ppath = S._fit_path((np.nonzero(hit)[0] + 0.5) * block_s, pf.other[hit],
                                       0.5 * kb * block_s, (np.arange(n) + 0.5) * steps.step_s,
                                       tolerance_deg=8.0)
            sepp = float(np.median(np.abs(ppath - main.step_az)))
            why = []
            if hit.sum() < needp:
                why.append(f"HITS {int(hit.sum())}<{needp:.1f}")
            if count < needp:
                why.append(f"PATH_COUNT {count}<{needp:.1f}")
            if sepp < S.MIN_SEPARATION_DEG:
                why.append(f"MIN_SEPARATION {sepp:.0f}")
            add("pair", ppath, not why, " ".join(why) or "passes", active,
                f"hits {int(hit.sum())} (at missing {hits_at}) of {na} blocks,"
                f" weak {int(np.sum(pf.apart & (pf.ratio <= S.CORROB_RATIO)))}")
        # Corroborated: each first-round candidate.
        idx = np.arange(kb)
        needc = max(S.CORROB_MIN_BLOCKS, S.CORROB_MIN_SHARE * na)
        for c in first:
            span = (idx >= c.blocks.min()) & (idx <= c.blocks.max())
            near = pf.apart & span & (np.abs(pf.other - np.interp(idx, c.blocks, c.block_az))
                                      <= S.CORROB_TOLERANCE_DEG)
            strong = int(np.sum(near & (pf.ratio <= pf.hit_ratio)))
            weak = int(np.sum(near & (pf.ratio <= S.CORROB_RATIO)))
            clean = (c.prominence >= S.CORROB_MIN_PROMINENCE
                     and c.comodulation <= S.CORROB_MAX_COMODULATION)
            agree = strong if strong >= needc else (weak if clean else 0)
            why = ("passes" if agree >= needc else
                   f"AGREE strong {strong} weak {weak}{'' if clean else ' (unclean)'}<{needc:.1f}")
            add("corrob", c.step_az, agree >= needc, why, c.seen)
    # Low band.
    if timed and steps.low_gcc is not None:
        lb = S._low_band_source(steps, main, active)
        g = np.asarray(steps.low_gcc, float)
        m = min(len(g), n)
        w = np.asarray(steps.low_weight, float)[:m] * active[:m]
        gb = _blocks(g[:m] * w[:, None]) / np.maximum(_blocks(w)[:, None], 1e-12)
        bact = _blocks(active[:m].astype(float), mean=True) >= 0.5
        main_b = _blocks(main.step_az[:m], mean=True)
        azl = az[:gb.shape[1]]
        peak, height = azl[np.argmax(gb, axis=1)], gb.max(axis=1)
        nearl = np.minimum(S.LOW_SHRINK * main_b, main_b) - S.LOW_MARGIN_DEG
        farl = np.maximum(S.LOW_SHRINK * main_b, main_b) + S.LOW_MARGIN_DEG
        level = 10 * np.log10(_blocks(np.asarray(steps.power, float)[:m], mean=True) + 1e-20)
        loud = level >= np.percentile(level[bact], 90) - S.LOW_LEVEL_RANGE_DB
        vote = (bact & loud & (height >= S.LOW_MIN_HEIGHT) & ((peak < nearl) | (peak > farl))
                & (np.abs(peak - main_b) >= S.MIN_SEPARATION_DEG))
        needl = max(3, S.LOW_MIN_SUPPORT * int(bact.sum()))
        com = S._low_high_comodulation(steps, bact, m)
        if vote.sum() > 0:
            pa = np.zeros(n) + float(np.median(peak[vote]))
            why = "passes" if lb is not None else (
                f"VOTES {int(vote.sum())}<{needl:.1f}" if vote.sum() < needl else
                f"COMOD {com:.2f}" if com > S.LOW_MAX_COMODULATION else "PATH")
            add("low", pa, lb is not None, why, None, f"votes {int(vote.sum())} com {com:.2f}")
    # Onsets.
    oaz = np.asarray(steps.onset_az, float)
    ot = np.asarray(steps.onsets_s, float)
    if oaz.size:
        k = np.clip((ot / steps.step_s).astype(int), 0, n - 1)
        keep = active[k]
        oaz, k, ot = oaz[keep], k[keep], ot[keep]
        at_m = int(np.sum((np.abs(oaz - miss[k]) <= S.ONSET_TOLERANCE_DEG + 10)
                          & (np.abs(oaz - miss[k]) < np.abs(oaz - found[k]))))
        off = int(np.sum(np.abs(oaz - main.step_az[k]) > S.ONSET_TOLERANCE_DEG))
        res = S._onset_sources(steps, main, active)
        needo = max(S.ONSET_MIN_COUNT, S.ONSET_MIN_SHARE * oaz.size)
        why = "passes" if res else (
            f"FEW_ONSETS {oaz.size}" if oaz.size < 2 * S.ONSET_MIN_COUNT else
            f"OFF_TRACK {off}<{needo:.1f}" if off < needo else
            onset_paths_why(steps, active, oaz, ot, needo))
        nearer = np.abs(oaz - miss[k]) < np.abs(oaz - found[k])
        add("onset", np.full(n, float(np.median(oaz[nearer])) if at_m else np.nan),
            bool(res), why, None,
            f"onsets {oaz.size}, near missing {at_m}, off track {off}")
    # What find_sources and _distinct do.
    specs = S.find_sources(steps, active, max_sources=3, model=model, cal=cal)
    keep_rt = S.READ_TWICE_MAX_APART
    S.READ_TWICE_MAX_APART = -1.0
    try:
        specs_nort = S.find_sources(steps, active, max_sources=3, model=model, cal=cal)
    finally:
        S.READ_TWICE_MAX_APART = keep_rt
    rec["found"] = [(sp.origin, float(np.median(sp.step_az[active])),
                     at_missing(sp.step_az, active, miss, found)) for sp in specs]
    rec["read_twice"] = [(sp.origin, float(np.median(sp.step_az[active])))
                         for sp in specs_nort[len(specs):]] if len(specs_nort) > len(specs) else []
    rec["final"] = len(specs)
    if len(specs) > 1:
        sep = run_job(analyse_sources_job(stereo, sr, specs, cal, mask_model, steps))
        kept = _distinct(sep, specs)
        rec["final"] = len(kept)
        rec["kept_az"] = [float(np.median(s.azimuth_deg[active])) for s in kept]
    return rec


def lost_at(rec: dict) -> str:
    """The first named reason for the missing source, from the stages that saw it."""
    if rec["final"] >= 2:
        return "counted"
    if any(f[2] for f in rec["found"][1:]):
        return "found, dropped by _distinct"
    if rec["found"][1:]:
        return "found elsewhere (not at missing), dropped later"
    if rec["read_twice"]:
        return "read_twice"
    at = [s for s in rec["stages"] if s["at"] and not s["ok"]]
    if not at:
        return "no stage proposed it"
    return ";".join(sorted({f"{s['stage']}:{s['why'].split()[0]}" for s in at}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--sets", default="tune")
    ap.add_argument("--all", action="store_true", help="also the pairs counted right")
    ap.add_argument("--singles", action="store_true",
                    help="the single sources in rooms instead (every stage's candidates, the"
                         " seeds of phantoms; with --all also those counted right)")
    ap.add_argument("--json", type=Path, default=None, help="write the records here")
    ap.add_argument("--try", dest="tries", action="append", default=[], metavar="NAME=VALUE",
                    help="hear with a constant of engine.cues.separation changed (a Python"
                         " literal, e.g. TRACK_MIN_PRESENCE=0.25 or"
                         " 'MIN_GCC_PROMINENCE=(0.1, 0.35)'): how many objects each clip"
                         " would get, without a bench run")
    args = ap.parse_args()
    import ast
    for t in args.tries:
        name, value = t.split("=", 1)
        if not hasattr(S, name):
            raise SystemExit(f"no constant {name} in engine.cues.separation")
        setattr(S, name, ast.literal_eval(value))
    catalogue = world_catalogue(find_sources_dir(ROOT))
    recs = []
    tally: dict[str, Counter] = defaultdict(Counter)
    for run, part, seed, doc in world_reports(args.runs, args.sets.split(",")):
        n_true = 1 if args.singles else 2
        scenes = {s.name: s for s in make_world_scenes(
            catalogue, part, conditions=("room",),
            kinds=tuple(doc["settings"]["kinds"]) if args.singles else ("pair",),
            seed=seed)}
        for c in doc["clips"]:
            if (c["system"] != "spa2v" or c["condition"] != "room"
                    or c["n_true"] != n_true):
                continue
            if c["n_pred"] == n_true and not args.all:
                continue
            sc = scenes[c["scene"]]
            rec = diagnose(run / part / "clips" / f"{c['scene']}.flac", sc)
            frames = steadiness(sc)
            kinds = ["steady" if f >= 14 else "interm" for f in frames]
            rec.update(scene=c["scene"], seed=seed, mic=c["mic"], n_pred=c["n_pred"],
                       scene_kind=c["kind"],
                       x_error=c["x_error"], frames=frames, gains=list(sc.gains_db),
                       moving=[bool(np.ptp(p.azimuth_deg) > 1) for p in sc.paths],
                       pairtype="+".join(sorted(kinds)), rt60=c["rt60_s"], snr=c["snr_db"],
                       missing_kind=kinds[rec["missing"]])
            rec["lost_at"] = (f"{rec['final']} objects" if args.singles else lost_at(rec))
            recs.append(rec)
            tr = " ".join(f"{'AB'[i]}{a:+.0f}>{b:+.0f}({frames[i]}f,{sc.gains_db[i]:+.0f}dB)"
                          for i, (a, b) in enumerate(rec["truth"]))
            print(f"s{seed} {c['mic']:11s} {c['scene'][len(part) + 1:][:58]:58s}"
                  f" n {c['n_pred']} x {c['x_error']:.3f} | {rec['kind'][:6]}"
                  f" wet {rec['wet']:.2f} rt60 "
                  f"{c['rt60_s']:.2f} | {tr} missing "
                  f"{'-' if args.singles else 'AB'[rec['missing']]} | track "
                  f"{rec['main_med']:+.0f} {rec['track_at']}", flush=True)
            for s in rec["stages"]:
                mark = "AT-MISSING" if s["at"] else "          "
                verdict = "ok " if s["ok"] else "no "
                print(f"     {mark} {s['stage']:6s} {s['az']:+6.0f} {verdict}"
                      f"{s['why']} {s['extra']}")
            print(f"     found {rec['found']} read_twice {rec['read_twice']} "
                  f"final {rec['final']} -> {rec['lost_at']}", flush=True)
            tally[rec["lost_at"]][c["mic"]] += 1
    if args.tries:
        print("with " + ", ".join(args.tries))
    print("\nlost at (per mic):")
    for k, v in sorted(tally.items(), key=lambda kv: -sum(kv[1].values())):
        print(f"  {sum(v.values()):3d} {k}: {dict(v)}")
    if args.json:
        args.json.write_text(json.dumps(recs, indent=1, default=float))


if __name__ == "__main__":
    main()
