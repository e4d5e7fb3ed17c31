"""Which counting stage adds each further source, and what it looks like (issue 14, phantoms).

For every room clip of one or more world bench runs (``hearing_world.py --out``), hears the
clip as ``spa2v`` does (``--stereo auto``: kind, cues, :func:`engine.cues.separation.
find_sources`) and prints, for every source beyond the mix's own track: the stage that found
it (its ``origin``), its median direction, the recording's wetness, the highest correlation of
its level (dB, bins near its path) with the main source's level delayed by 0-15 steps (0-0.7
s: a reflection follows its source's envelope, late by up to the room's decay), and how many
of the clip's onsets start at it (within 10 degrees, nearer it than the main track: the
precedence effect; a reflection never starts a sound), and when its histogram evidence (bin
weight within ``NEAR_DEG`` of its path and not of the main track's) stands: the share in steps
within 10 dB of the clip's loud level (the 95th percentile of the step power) and in steps 20
dB or more below it (where a steady noise field or a tail's floor is all there is), and
whether it is the main source read twice (:func:`engine.cues.separation.heard_apart`: the
share of its evidence while the one source's path, the track that follows a pass-by's sweep
when it is the counting track's source, is away from it, and in how many stretches that
path is at its place), and its onset support: of the clip's onsets in the active steps
(``analysis.onset_directions``), how many read within ``ONSET_TOLERANCE_DEG`` of the main
source's path, of the one source's path and of the further source's path at their moment
(``at main``, ``path``, ``further``). ``--jsonl`` also writes one line per further source
with these figures, the clip's mic and kind, and the track that hears every step
(``sounding_azimuth_deg``) against it: its median distance from the counting track on the
loud steps, and the share of the active steps it stands at the further source and not at
the main one. Then, per stage, how many further sources it gave to single sources
(phantoms) and to pairs. ``--without-read-twice`` hears without the rule that drops sources
read twice, to see its measure for every further source. ``--misfit`` adds how well the
kind's own model explains the bins at each further source (the bins whose best azimuth,
level ratio and phase together, lies within ``NEAR_DEG`` of its path and not of the main
track's; histogram weights, active steps): their mean cost at their best azimuth
(:func:`engine.cues.binmodel.best_directions`), the same for the main track's bins and for
the bins near neither (the room's leftovers), the share of its weight in bins that fit one
direction (cost <= ``GOOD_COST``), and its weight against the main track's (docs/hearing.md,
"Measured, not used: a further source's bins fit no direction"). ``--comb`` adds how the
bins reading each further source behave in time and along frequency (:func:`comb_stats`:
the share of a bin's steps reading it over 1 s stretches, and the length of its runs along
frequency; docs/hearing.md, "Looked at, no margin: a room's comb across frequency").
``--counted-two`` hears only the clips ``spa2v`` counted as two or more. ``--jsonl`` also
gives the histograms' weight reading each further source (``bin_ev``: within ``NEAR_DEG`` of
its path and not of the main track's, active steps, the measure
:func:`engine.cues.separation._bins_read` holds against ``PAIR_MIN_BIN_WEIGHT``) and in how
many (step, azimuth) cells (``bin_cells``).

    python benchmarks/phantom_origins.py /tmp/ph/main_0 /tmp/ph/main_1 --sets tune
    python benchmarks/phantom_origins.py /tmp/ph/main_? --conditions room,dry --jsonl f.jsonl
    python benchmarks/phantom_origins.py /tmp/ph/main_? --conditions room,dry --misfit --jsonl f.jsonl
    python benchmarks/phantom_origins.py /tmp/ph/q_? /tmp/ph/k_? --counted-two --comb --jsonl f.jsonl

Diagnostic only: it prints figures and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.cues.analysis import smooth_spectra  # noqa: E402
from engine.cues.binmodel import (HIST_STEP_DEG, MSC_FLOOR, ROOM_MSC_FLOOR,  # noqa: E402
                                  best_directions, bin_costs)
from engine.cues.diffuse import band_diffuse_coherence, wetness  # noqa: E402
from engine.cues.frames import rough_activity  # noqa: E402
from engine.cues import separation  # noqa: E402
from engine.cues.separation import (NEAR_DEG, ONSET_TOLERANCE_DEG, PAIR_MAX_WET,  # noqa: E402
                                    _one_source_path,
                                    find_sources, heard_apart)
from engine.cues.spatial import AnalysisGrid, step_spectra, stft  # noqa: E402
from engine.evaluation.diagnose import hear_mix, world_reports  # noqa: E402

MAX_LAG_STEPS = 15
# --misfit: the bins read "clear" (coherence at least this) and a bin that "fits" one
# direction (cost at most this: e.g. level ratio within 3 dB and phase within 30 degrees).
CLEAR_MSC, GOOD_COST = 0.9, 0.75
LOUD_DB, QUIET_DB = 10.0, 20.0
# --comb: a bin "reads" a direction in a step when its histogram weight is at least
# READ_WEIGHT; time stability is read over stretches of STRETCH_S (a moving source's room
# response changes slowly), in the bins read in at least MIN_READS steps of a stretch.
READ_WEIGHT, STRETCH_S, MIN_READS = 0.25, 1.0, 5


def comb_stats(b_az: np.ndarray, b_w: np.ndarray, freqs: np.ndarray, step_s: float,
               main_az: np.ndarray, cand_az: np.ndarray) -> dict:
    """Time stability and frequency interleaving of the bins reading the further source.

    ``b_az``, ``b_w`` ``(S, F')``: every bin's best azimuth and histogram weight (active
    steps only, others 0); ``freqs`` the bins' frequencies; ``main_az``, ``cand_az`` the two
    paths per step. A bin reads B when its best azimuth is within ``NEAR_DEG`` of the
    further source's path and not of the main track's, A when within ``NEAR_DEG`` of the main
    track's. (a) per stretch and bin, the share ``p`` of the steps it is read in that read B;
    a room's comb (one static source through a fixed response) makes ``p`` 0 or 1, two
    independent sources sharing a bin spread it. (b) per step, the runs along frequency of
    consecutive read bins reading B (bins not read are skipped): a comb gives short runs
    interleaved with A, a second source's own band long ones."""
    n = b_az.shape[0]
    read = b_w >= READ_WEIGHT
    at_a = np.abs(b_az - main_az[:n, None]) <= NEAR_DEG
    at_b = (np.abs(b_az - cand_az[:n, None]) <= NEAR_DEG) & ~at_a
    rb, ra = read & at_b, read & at_a
    per = max(1, int(round(STRETCH_S / step_s)))
    nb_all, p_all, na_all, pa_all = [], [], [], []
    for s0 in range(0, n, per):
        r = read[s0:s0 + per].sum(axis=0)
        nb = rb[s0:s0 + per].sum(axis=0)
        na = ra[s0:s0 + per].sum(axis=0)
        ok = r >= MIN_READS
        nb_all.append(nb[ok]); p_all.append(nb[ok] / r[ok])
        na_all.append(na[ok]); pa_all.append(na[ok] / r[ok])
    nb, p = np.concatenate(nb_all), np.concatenate(p_all)
    na, pa = np.concatenate(na_all), np.concatenate(pa_all)
    out = {"b_reads": int(rb.sum()), "a_reads": int(ra.sum()),
           "b_reads_stab": int(nb.sum())}
    if nb.sum() > 0:
        out.update({"stab": float(np.sum(nb * p) / nb.sum()),
                    "fixed": float(np.sum(nb * (p >= 0.75)) / nb.sum()),
                    "middle": float(np.sum(nb * ((p > 0.25) & (p < 0.75))) / nb.sum()),
                    "p_hist": np.histogram(p, bins=10, range=(0, 1), weights=nb)[0].tolist()})
    if na.sum() > 0:
        out["stab_a"] = float(np.sum(na * pa) / na.sum())
    df = float(freqs[1] - freqs[0]) if len(freqs) > 1 else 1.0
    runs, spans, switches = [], [], 0
    for t in range(n):
        idx = np.flatnonzero(read[t])
        if idx.size == 0:
            continue
        lab = np.where(at_b[t, idx], 1, np.where(at_a[t, idx], 0, 2))
        i = 0
        while i < idx.size:
            j = i
            while j + 1 < idx.size and lab[j + 1] == lab[i]:
                j += 1
            if lab[i] == 1:
                runs.append(j - i + 1)
                spans.append(float(freqs[idx[j]] - freqs[idx[i]] + df))
                if (i > 0 and lab[i - 1] == 0) or (j + 1 < idx.size and lab[j + 1] == 0):
                    switches += 1
            i = j + 1
    if runs:
        L, H = np.asarray(runs, float), np.asarray(spans)
        out.update({"b_run": float(np.sum(L * L) / L.sum()),
                    "run_hz": float(np.sum(L * H) / L.sum()),
                    "short": float(L[L <= 3].sum() / L.sum()),
                    "short_hz": float(L[H <= 500].sum() / L.sum()),
                    "next_to_a": switches / len(runs), "df": df})
    return out


def _level(energies: np.ndarray, az: np.ndarray, path: np.ndarray) -> np.ndarray:
    near = np.abs(az[None, :] - path[:, None]) <= NEAR_DEG
    return np.log10(np.sum(energies * near, axis=1) + 1e-12)


def lagged_comodulation(main_db: np.ndarray, cand_db: np.ndarray, active: np.ndarray) -> float:
    """Highest correlation of ``cand_db[t]`` with ``main_db[t - lag]``, lag 0-15 steps."""
    best = -1.0
    for lag in range(MAX_LAG_STEPS + 1):
        n = len(main_db) - lag
        x, y = main_db[:n], cand_db[lag:]
        sel = active[:n] | active[lag:]
        if sel.sum() > 8 and np.std(x[sel]) > 1e-6 and np.std(y[sel]) > 1e-6:
            best = max(best, float(np.corrcoef(x[sel], y[sel])[0, 1]))
    return best


def bin_fits(stereo: np.ndarray, grid: AnalysisGrid, steps, model, cal, active: np.ndarray):
    """Every bin's best azimuth (degrees), its cost there (:func:`engine.cues.binmodel.
    best_directions`: level ratio and phase together against the kind's model) and its
    histogram weight, ``(S, F')`` each, read as :func:`engine.cues.analysis.analyse_mix_job`
    reads the histograms (3-step smoothing, the room's MSC floor in a wet recording; whole
    clip, every bin and step)."""
    st = smooth_spectra(step_spectra(stft(np.asarray(stereo, np.float32), grid)), 3)
    room = (band_diffuse_coherence(cal) ** 2 < MSC_FLOOR
            and wetness(steps.coherence, active, cal) > PAIR_MAX_WET)
    ild, u_re, u_im, weight, _ = bin_costs(st, model, ild_gain=steps.ild_gain,
                                           msc_floor=ROOM_MSC_FLOOR if room else MSC_FLOOR)
    idx, cost = best_directions(ild, u_re, u_im, model)
    n = min(len(steps.power), idx.shape[0])
    return model.azimuth_deg[idx[:n]], cost[:n], weight[:n], st.msc[:n][:, model.sel]


def _misfit(cost: np.ndarray, weight: np.ndarray, sel: np.ndarray) -> float | None:
    w = weight * sel
    return float(np.sum(cost * w) / w.sum()) if w.sum() > 1e-6 else None


def hear(path: Path, misfit: bool = False, comb: bool = False) -> list[dict]:
    h = hear_mix(path)
    stereo, grid, decision, cal, model, steps, active = (
        h.stereo, h.grid, h.decision, h.cal, h.model, h.steps, h.active)
    specs = find_sources(steps, active, max_sources=3, model=model, cal=cal)
    path = _one_source_path(steps, specs[0])
    energies = np.asarray(steps.step_energy, float)
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)[:energies.shape[1]]
    main_db = _level(energies, az, specs[0].step_az)
    on_az, on_t = np.asarray(steps.onset_az, float), np.asarray(steps.onsets_s, float)
    k = np.clip((on_t / steps.step_s).astype(int), 0, len(active) - 1)
    on_az, k = on_az[active[k]], k[active[k]]
    wet = wetness(steps.coherence, active, cal)
    hist = np.asarray(steps.step_hist, float)
    db = 10 * np.log10(np.asarray(steps.power, float) + 1e-20)
    below = np.percentile(db, 95) - db
    near_main = np.abs(az[None, :] - specs[0].step_az[:, None]) <= NEAR_DEG
    snd = np.asarray(steps.sounding_azimuth_deg if steps.sounding_azimuth_deg is not None
                     else specs[0].step_az, float)
    loud = rough_activity(np.asarray(steps.power, float)) > 0
    if misfit or comb:
        b_az, b_cost, b_w, b_msc = bin_fits(stereo, grid, steps, model, cal, active)
        n = len(b_az)
        b_w = b_w * active[:n, None]
    if misfit:
        at_main = np.abs(b_az - specs[0].step_az[:n, None]) <= NEAR_DEG
        fit_main = _misfit(b_cost, b_w, at_main)
        clear = b_msc >= CLEAR_MSC
        fit_main_clear = _misfit(b_cost, b_w, at_main & clear)
        good_main = _misfit(b_cost <= GOOD_COST, b_w, at_main)
    out = []
    for sp in specs[1:]:
        snd_at = ((np.abs(snd - sp.step_az) <= NEAR_DEG)
                  & (np.abs(snd - specs[0].step_az) > NEAR_DEG))
        near = (np.abs(az[None, :] - sp.step_az[:, None]) <= NEAR_DEG) & ~near_main
        w = np.sum(hist * near, axis=1)
        total = w.sum() + 1e-12
        d_main, d_cand = np.abs(on_az - specs[0].step_az[k]), np.abs(on_az - sp.step_az[k])
        d_path = np.abs(on_az - path[k])
        apart, stretches = heard_apart(sp, specs[0], path, hist, az, active)
        out.append({"bin_ev": float(w[active].sum()),
                    "bin_cells": int(np.sum((hist * near)[active] > 0)),
                    "origin": sp.origin, "az": float(np.median(sp.step_az)), "wet": wet,
                    "lagged": lagged_comodulation(main_db, _level(energies, az, sp.step_az),
                                                  active),
                    "onsets": int(on_az.size),
                    "loud": float(w[below < LOUD_DB].sum() / total) if w.sum() > 0 else None,
                    "quiet": float(w[below >= QUIET_DB].sum() / total) if w.sum() > 0 else None,
                    "apart": apart, "stretches": stretches,
                    "own_onsets": int(np.sum((d_cand <= ONSET_TOLERANCE_DEG) & (d_cand < d_main))),
                    "at_main": int(np.sum(d_main <= ONSET_TOLERANCE_DEG)),
                    "at_path": int(np.sum(d_path <= ONSET_TOLERANCE_DEG)),
                    "at_further": int(np.sum(d_cand <= ONSET_TOLERANCE_DEG)),
                    "snd_loud": float(np.median(np.abs(snd - specs[0].step_az)[loud]))
                    if loud.any() else None,
                    "snd_at": float(np.mean(snd_at[active])),
                    "apart_deg": float(np.median(np.abs(sp.step_az - specs[0].step_az)[active]))})
        if comb:
            out[-1].update(comb_stats(b_az, b_w, grid.freqs[model.sel], steps.step_s,
                                      specs[0].step_az, sp.step_az))
            out[-1]["heard_as"] = decision.kind
        if misfit:
            at = (np.abs(b_az - sp.step_az[:n, None]) <= NEAR_DEG) & ~at_main
            fit = _misfit(b_cost, b_w, at)
            out[-1].update({
                "heard_as": decision.kind, "misfit_main": fit_main, "misfit": fit,
                "misfit_rest": _misfit(b_cost, b_w, ~at & ~at_main),
                "misfit_clear": _misfit(b_cost, b_w, at & clear),
                "misfit_main_clear": fit_main_clear,
                "good": _misfit(b_cost <= GOOD_COST, b_w, at), "good_main": good_main,
                "misfit_ratio": fit / fit_main if fit is not None and fit_main else None,
                "weight_share": float(np.sum(b_w * at) / np.sum(b_w * at_main))
                if fit_main is not None else None,
                "edge_share": float(np.sum(b_w * at * (np.abs(b_az) >= 86)) /
                                    (np.sum(b_w * at) + 1e-9))})
    return out


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="hearing_world.py --out folders")
    ap.add_argument("--sets", default="tune")
    ap.add_argument("--conditions", default="room")
    ap.add_argument("--jsonl", type=Path, help="also write one JSON line per further source")
    ap.add_argument("--without-read-twice", action="store_true",
                    help="keep the further sources that separation._read_twice drops")
    ap.add_argument("--misfit", action="store_true",
                    help="also the model misfit of each further source's bins against the "
                         "main source's (binmodel.best_directions' cost, histogram weights)")
    ap.add_argument("--comb", action="store_true",
                    help="also the time stability and frequency interleaving of the bins "
                         "reading each further source (comb_stats)")
    ap.add_argument("--counted-two", action="store_true",
                    help="hear only the clips spa2v counted as two or more")
    args = ap.parse_args()
    if args.without_read_twice:
        separation.READ_TWICE_MAX_APART = -1.0
    conds = set(args.conditions.split(","))
    tally: dict[int, Counter] = {1: Counter(), 2: Counter()}
    dump = args.jsonl.open("w") if args.jsonl else None
    clips = Counter()
    for run, part, seed, doc in world_reports(args.runs, args.sets.split(",")):
        for c in doc["clips"]:
            if c["system"] != "spa2v" or c["condition"] not in conds:
                continue
            if args.counted_two and c["n_pred"] < 2:
                continue
            clips[c["n_true"]] += 1
            for f in hear(run / part / "clips" / f"{c['scene']}.flac", args.misfit,
                                  args.comb):
                tally[min(c["n_true"], 2)][f["origin"]] += 1
                when = ("no histogram evidence" if f["loud"] is None else
                        f"loud {f['loud']:.2f} quiet {f['quiet']:.2f}")
                print(f"{run.name} {c['scene'][:58]:58s} true {c['n_true']} "
                      f"{f['origin']:12s} {f['az']:6.1f} wet {f['wet']:.2f} "
                      f"lagged {f['lagged']:5.2f} onsets {f['own_onsets']}/{f['onsets']} "
                      f"{when} apart {f['apart']:.2f} stretches {f['stretches']} "
                      f"at main {f['at_main']} path {f['at_path']} "
                      f"further {f['at_further']}" + (
                          f" misfit {_fmt(f['misfit'])} main {_fmt(f['misfit_main'])} "
                          f"leftovers {_fmt(f['misfit_rest'])} fitting {_fmt(f['good'])}"
                          if args.misfit else "") + (
                          f" stab {_fmt(f.get('stab'))} fixed {_fmt(f.get('fixed'))} "
                          f"run {_fmt(f.get('b_run'))} short {_fmt(f.get('short'))} "
                          f"b_reads {f['b_reads']}" if args.comb else ""), flush=True)
                if dump:
                    dump.write(json.dumps({"run": run.name, "part": part, **{
                        key: c[key] for key in ("scene", "condition", "mic", "kind",
                                                "n_true", "n_pred")}, **f}) + "\n")
                    dump.flush()
    for n, label in ((1, "single sources (phantoms)"), (2, "pairs (second sources)")):
        print(f"{label}, {clips[n]} clips: " + ", ".join(
            f"{o} {v}" for o, v in tally[n].most_common()))


if __name__ == "__main__":
    main()
