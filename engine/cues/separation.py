"""Several sources at once: how many there are and where, from the per-bin direction
histograms of :mod:`engine.cues.binmodel` and the interaural cues of the mix.

When sounds overlap, each time-frequency bin is usually dominated by one of them (speech and
everyday sounds are sparse in time and frequency), so the histograms of per-bin directions
show one peak per source. :func:`find_sources` starts from the mix's tracked direction and
looks for more in what the histograms hold away from it (or, in dry recordings, in steady
GCC-PHAT peaks), keeping up to three. Where these find nothing it tries, in turn: two-source
fits of each block's interaural covariance (:mod:`engine.cues.pairfit`: two sounds that
share every bin); histogram tracks too sparse to count alone that those fits confirm; and a
path of low-band (80-500 Hz) GCC-PHAT peaks away from the main source (a sound whose energy
lies below what the other two look at); last, onsets that take turns in two places
(:func:`_onset_sources`: the precedence effect, for rooms too diffuse for the rest). In a
dry recording, blocks that two point sources explain exactly (:func:`_dry_pair_sources`)
count two sources however sparse the second is, and contradict a further source they never
place (:func:`_contradicted`); the mix's track is kept off the steps where it swings to
another source (:func:`_mix_apart`), and a level-only recording's sources are placed on
those exact fits (:func:`_settle_on_fits`).
:func:`engine.cues.multisource.assign_masks` then
gives each bin to the nearest source for per-source analysis (its own direction track,
loudness and tag).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, label

from .binmodel import BIN_BAND_HZ, HIST_STEP_DEG, BinModel
from .blocks import BLOCK_STEPS, blocks as _blocks
from .calibration import CueCalibration, default_calibration
from .diffuse import diffuse_coherence, wetness
from .frames import rough_activity
from .pairfit import PairFit, pair_fit
from .spatial import GCC_BAND_HZ, GCC_SPLIT_HZ

# -- finding sources in the histograms ------------------------------------------------------

NEAR_DEG = 14.0            # bins within this of a source's direction belong to it
PEAK_MIN_SHARE = 0.3       # a residual peak must hold this share of its block's residual
RESIDUAL_MIN = 0.08        # ... and the residual this share of the block's bins
PEAK_HALF_WIDTH_DEG = 8.0
TRACK_MIN_SHARE = (0.3, 0.45)  # share of the residual a further source holds (dry, wet)
TRACK_MIN_PRESENCE = 0.35  # ... over at least this fraction of the active blocks
MIN_SEPARATION_DEG = 24.0
MAX_COMODULATION = 0.55    # reflections rise and fall with their source; a second source not
MIN_GCC_PROMINENCE = (0.1, 0.5)  # its own peak in the steered GCC-PHAT (dry, wet)
GATE_DEG = 12.0
GCC_SECOND_PEAK = 0.42     # a secondary GCC peak this high (relative) is a static source ...
GCC_FALLBACK_MAX_WET = 0.35  # ... in a recording this dry (see _gcc_peaks)
# A sparse sound (a ball bouncing now and then) in a dry timed recording: heard in this share
# of the active blocks is enough when its own GCC peak is as clear as a room demands
# (MIN_GCC_PROMINENCE's wet value) and its level does not rise with any found source's
# (comodulation <= 0). See _next_source.
SPARSE_MIN_PRESENCE = 0.2



@dataclass
class SourceSpec:
    """A source: coarse azimuth per step ``(S,)``, the steps where it was seen, and its share
    of the bins where it was seen."""

    step_az: np.ndarray
    seen: np.ndarray
    share: float
    # How far the second pass may move the track from ``step_az`` (a Gaussian prior, degrees):
    # wide for paths from the bin histograms, narrow for steady GCC peaks, which are exact.
    prior_sigma_deg: float = 12.0
    # What found it: "mix" (the mix's own track), "histogram", "gcc" (a steady GCC-PHAT peak)
    # "pair" (the two-source covariance fit), "dry pair" (a path through a dry
    # recording's exact two-source blocks), "corroborated" (a histogram track the pair
    # fits confirm), "low band" (a path of the low-band GCC peaks) or "onset" (a path of
    # where sounds start, _onset_sources). All but "histogram"
    # are evidence of a source on their own; what the histograms alone find may be
    # leftovers of the others' masks.
    origin: str = "histogram"
    # The direction is final: the second pass keeps ``step_az`` instead of its own track
    # (two static sources read from the chord of a level-only mix, _chord_ends, where the
    # masked cues are the very mixture the chord resolves).
    fixed: bool = False


def find_sources(steps, mix_active: np.ndarray, *, max_sources: int = 3,
                 model: BinModel | None = None,
                 cal: CueCalibration | None = None) -> list[SourceSpec]:
    """The dominant source (the mix's tracked azimuth) plus up to ``max_sources - 1`` more.

    Further sources are looked for in the *residual* histograms, with the bins near every
    source found so far removed: block-wise peaks (5 steps, 0.23 s) are linked over time,
    and a linked track is kept only if it is present in enough of the active blocks, holds
    enough of their bins, stays clear of the sources already found, and its energy does
    *not* rise and fall with theirs (which is what reflections and reverberant smearing of
    one source do), and the steered GCC-PHAT shows a peak of its own there (bins pulled
    toward the centre by reverberation make none).

    ``cal`` is the stereo kind's cue table (default: KEMAR). Level-only stereo (coincident
    pairs, pan pots) has no time differences, so the GCC-PHAT tests (steady peaks, a peak of
    its own, the low-band path) cannot speak and are left out.
    """
    cal = cal or default_calibration()
    timed = not cal.level_only
    main = SourceSpec(np.asarray(steps.azimuth_deg, float), mix_active.copy(), 1.0,
                      origin="mix")
    specs = [main]
    counts = np.asarray(steps.step_hist, dtype=float)
    energies = np.asarray(steps.step_energy, dtype=float)
    gcc = np.asarray(steps.step_gcc, dtype=np.float32)
    if max_sources <= 1 or counts.size == 0 or mix_active.sum() < 3 * BLOCK_STEPS:
        return specs
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)
    # Reverberation and noise make phantom peaks, so a wet recording must show more evidence
    # (engine.cues.diffuse.wetness; the coherence is read as the share of direct sound: a
    # room's sound is itself partly coherent at an XY pair, so its coherence alone would
    # call it dry).
    wet = wetness(steps.coherence, mix_active, cal)
    need = {k: lo + (hi - lo) * wet for k, (lo, hi) in
            (("share", TRACK_MIN_SHARE), ("prominence", MIN_GCC_PROMINENCE))}
    # Only a dry recording whose time differences speak may take a sparse track (above).
    need["presence"] = (SPARSE_MIN_PRESENCE if timed and wet <= GCC_FALLBACK_MAX_WET
                        else TRACK_MIN_PRESENCE)
    if not timed:
        need["prominence"] = -np.inf
    if timed and wet <= GCC_FALLBACK_MAX_WET:
        # A dry recording: GCC peaks that hold still (found in both halves of the clip) place
        # further sources more exactly than the bin histograms, and when there are several,
        # the mix's own track may sit between them (the level cue averages them), so the
        # peaks replace it.
        peaks = _steady_gcc_peaks(gcc, az, mix_active, cal)[:max_sources]
        if len(peaks) >= 2:
            n = len(mix_active)
            main_az = float(np.median(main.step_az[mix_active]))
            out = [main] if abs(peaks[0][1] - main_az) <= NEAR_DEG else []
            for rel, a in peaks:
                if all(abs(a - float(np.median(sp.step_az))) >= MIN_SEPARATION_DEG for sp in out):
                    out.append(SourceSpec(np.full(n, a), mix_active.copy(), float(rel),
                                          prior_sigma_deg=3.0, origin="gcc"))
            out = out[:max_sources]
            if len(out) > 2 and _fits_hear_all(steps):
                # A third peak (the two sources' mean delay leaves one) must be in the
                # blocks' covariances too: where two point sources explain them exactly,
                # it is not there.
                pf = _block_pair_fit(steps, main, mix_active, wet, model, cal)
                if pf is not None:
                    out = out[:2] + [sp for sp in out[2:]
                                     if not _contradicted(sp, pf, mix_active)]
            return _mix_apart(out, mix_active, steps.step_s)
    first: list[_Candidate] = []
    while len(specs) < max_sources:
        cands = _residual_candidates(counts, energies, gcc, az, specs, mix_active, timed)
        first = first or cands
        cand = _next_source(cands, need)
        if cand is None:
            break
        specs.append(cand)
    pf = (None if model is None or steps.pair_cov is None
          else _block_pair_fit(steps, main, mix_active, wet, model, cal))
    exact = ([] if pf is None or wet > PAIR_MAX_WET
             else _dry_pair_sources(pf, steps, main, mix_active))
    if exact:
        specs = _on_exact_paths(specs, exact, pf, mix_active, _fits_hear_all(steps))
    if len(specs) == 1:
        cand = None
        if pf is not None:
            cand = _pair_source(pf, steps, main, mix_active)
            if cand is not None and _fit_only(cand, pf, main, counts, az, mix_active,
                                              level_only=not timed):
                cand = None  # the fits' misfit: no bin hears it (below)
            if cand is None:
                cand = _corroborated_source(pf, first)
            if cand is None and timed:
                cand = _low_band_source(steps, main, mix_active)
        if cand is not None:
            specs.append(cand)
        else:
            specs = (_onset_sources(steps, main, mix_active)
                     or _turn_sources(steps, main, mix_active, max_sources) or specs)
    elif pf is not None:
        # What the histograms found is confirmed when the pair fits place it too (which
        # spares it the level test that weeds out leftovers of the other sources' masks).
        for k, sp in enumerate(specs[1:], start=1):
            c = next((c for c in first if c.step_az is sp.step_az), None)
            if c is not None and _corroborated_source(pf, [c]) is not None:
                specs[k] = dataclasses.replace(sp, origin="corroborated")
    path = _one_source_path(steps, main)
    specs = [sp for sp in specs if not _read_twice(sp, specs[0], path, counts, az, mix_active)]
    if wet > PAIR_MAX_WET:
        # In a room, reflections move the histograms' peaks and leave the covariances of a
        # level-only recording off any one chord: neither refinement below holds there. Nor
        # is a further source sure enough (reflections make phantoms) to take from the
        # mix's track the steps it shares with it (_mix_apart).
        return specs
    specs = _mix_apart(specs, mix_active, steps.step_s)
    if not timed and len(specs) <= 2 and model is not None and steps.pair_cov is not None:
        ends = _chord_ends(np.asarray(steps.pair_cov), mix_active, model)
        placed = specs if ends is None else _place_on_chord(specs, ends, mix_active)
        if placed is not specs:  # else no two static sources: the fits may place them
            return placed
    if not timed and pf is not None:
        return _settle_on_fits(specs, pf, mix_active, steps.step_s)
    return _settle_on_peaks(specs, counts, mix_active, az)


MIX_PATH_TOLERANCE_DEG = 10.0  # the mix's own readings within this of its straight path
PATH_MIN_SPAN = 0.5        # a straight path through readings spanning this share of the clip


def _spans(on: np.ndarray, active: np.ndarray) -> bool:
    """Whether the readings a straight path was fitted through (indices ``on``, blocks or
    steps) span :data:`PATH_MIN_SPAN` of the active ones (indices ``active``): beyond the
    readings on it, the line is a guess (a sweep read only at its start is no static
    source)."""
    return (len(on) > 0 and len(active) > 0
            and np.ptp(on) + 1 >= PATH_MIN_SPAN * (np.ptp(active) + 1))


def _mix_apart(specs: list[SourceSpec], mix_active: np.ndarray,
               step_s: float) -> list[SourceSpec]:
    """The mix's track, once further sources are found, kept to the one source it follows.

    The mix's track follows whichever sound dominates each step, so with two sources it
    swings to the other while that one is louder and back again, passing through the
    directions between (mixed steps read there). A further source found by any stage is
    already a path of its own; where the mix's track lies within :data:`NEAR_DEG` of it,
    the track is hearing that source, not its own. Through the remaining steps a straight
    path (:func:`_fit_path`, as every other stage's paths, with
    :data:`MIX_PATH_TOLERANCE_DEG`: one source's readings) that holds at least half of them,
    on steps that span :data:`PATH_MIN_SPAN` of the active ones, is the mix's own source;
    the runs of steps off that path that reach another source (the swings, with the steps
    between) take the path's direction. Kept as it is when no such path holds (a source
    moving faster than a straight path follows, or the track is everywhere on another
    source). Only in dry recordings (find_sources), where further sources are real."""
    if len(specs) < 2 or specs[0].origin != "mix":
        return specs
    main = specs[0]
    n = len(mix_active)
    own = mix_active.copy()
    for sp in specs[1:]:
        own &= np.abs(main.step_az - sp.step_az) > NEAR_DEG
    if own.sum() < 3 * BLOCK_STEPS:
        return specs
    times = (np.arange(n) + 0.5) * step_s
    count, path = _fit_path(times[own], main.step_az[own], 0.5 * n * step_s, times,
                            tolerance_deg=MIX_PATH_TOLERANCE_DEG)
    if count < 0.5 * own.sum():
        return specs
    if not _spans(np.nonzero(own & (np.abs(main.step_az - path) <= MIX_PATH_TOLERANCE_DEG))[0],
                  np.nonzero(mix_active)[0]):
        return specs
    # Only the swings: runs of steps off the path that reach another source. Elsewhere the
    # track is kept (a source that curves away from a straight line is still itself).
    off = np.abs(main.step_az - path) > MIX_PATH_TOLERANCE_DEG
    runs, n_runs = label(off)
    swings = np.isin(runs, np.unique(runs[off & mix_active & ~own]))
    swings &= runs > 0
    if n_runs == 0 or not swings.any():
        return specs
    return [dataclasses.replace(main, step_az=np.where(swings, path, main.step_az))] + specs[1:]


# A further source heard mostly while the one source's path stands at its place, in one
# stretch of time, is that source's own sound where it was or passed (see _read_twice): this
# share of its evidence or less comes while the path is elsewhere. Fitted (tune part, seeds
# 0-4, per block: phantoms of pass-bys 0.01-0.28 and one 0.45, pairs' second sources 0.41 and
# up; docs/hearing.md, "the source read twice along its sweep").
READ_TWICE_MAX_APART = 0.375


def _one_source_path(steps, main: SourceSpec) -> np.ndarray:
    """Where the mix's one source is, step by step, for :func:`_read_twice`: the track that
    hears every step holding the sound (``steps.sounding_azimuth_deg``, which follows a
    pass-by to its quieter ends) when it is the same source as the counting track, else the
    counting track (``main``).

    The same source: on the steps the counting track hears (:func:`frames.rough_activity`,
    the loud ones) the two read within ``NEAR_DEG`` of each other (median). A pass-by that
    grows quieter because it is farther keeps its loud middle where both tracks hear it;
    a steady sound beside an intermittent one pulls the sounding track off the loud events
    too (between them, or onto the steady one), and there it is not the one source's path.
    """
    snd = getattr(steps, "sounding_azimuth_deg", None)
    if snd is None or main.origin != "mix":
        return main.step_az
    snd = np.asarray(snd, float)
    heard = rough_activity(np.asarray(steps.power, float)) > 0
    if not heard.any() or np.median(np.abs(snd[heard] - main.step_az[heard])) > NEAR_DEG:
        return main.step_az
    return snd


def _read_twice(sp: SourceSpec, main: SourceSpec, path: np.ndarray, counts: np.ndarray,
                az: np.ndarray, mix_active: np.ndarray) -> bool:
    """Whether the further source ``sp`` is the main source read a second time.

    One source is in one place at a time. A path fitted over the whole clip through the
    evidence of one source that moves (a pass-by) picks up the source's own positions at
    other times: a static path at an end of the sweep, a slower path through it. Such a
    path holds most of its histogram evidence (bin weight within ``NEAR_DEG``) in the
    blocks where the one source's ``path`` is at its place (within ``NEAR_DEG``), and the
    path is there in one stretch of time (it passed, or left and never came back). A second
    source is heard at its place while the path is elsewhere, or, when the track follows
    whichever of two sources sounds, draws it back at each turn.

    With ``main`` not the mix's own track (or ``sp`` the main source), False.
    """
    share, stretches = heard_apart(sp, main, path, counts, az, mix_active)
    return stretches == 1 and share <= READ_TWICE_MAX_APART


def heard_apart(sp: SourceSpec, main: SourceSpec, path: np.ndarray, counts: np.ndarray,
                az: np.ndarray, mix_active: np.ndarray) -> tuple[float, int]:
    """The share of ``sp``'s histogram evidence (``counts`` ``(S, A)`` within ``NEAR_DEG``
    of its path) in the active blocks where the one source's ``path`` is more than
    ``NEAR_DEG`` from it, and in how many stretches of blocks the path is at its place (see
    :func:`_read_twice`); ``(1.0, 0)`` when there is nothing to judge."""
    if sp is main or main.origin != "mix":
        return 1.0, 0
    az = az[:counts.shape[1]]
    evidence = _blocks(np.sum(counts * _near(az, sp.step_az), axis=1))
    apart_deg = _blocks(np.abs(sp.step_az - path), mean=True)
    active = _blocks(mix_active.astype(float)) > 0
    total = evidence[active].sum()
    if total <= 0:
        return 1.0, 0
    together = active & (apart_deg <= NEAR_DEG)
    stretches = np.count_nonzero(np.diff(np.r_[0, together[active].astype(int)]) == 1)
    return float(evidence[active & ~together].sum() / total), int(stretches)


CHORD_MAX_WIDTH = 0.5      # the points' spread across the line, against along it (variance)
CHORD_MIN_ALONG = 0.05     # their spread along it (std), against the chord's length
CHORD_MIN_DEPTH = 0.5      # how far inside the circle they lie, against the chord's middle


def _chord_ends(cov: np.ndarray, mix_active: np.ndarray, model: BinModel
                ) -> tuple[float, float] | None:
    """Two static sources of a level-only recording (coincident pair, pan pot) from where
    its covariances lie.

    With real gains ``(g_L, g_R)``, one source makes each bin's normalised covariance
    ``(P_L - P_R, 2 Re S_LR) / (P_L + P_R)`` the point ``(cos 2t, sin 2t)`` on the unit
    circle, ``t = atan2(g_R, g_L)``; two uncorrelated sources make a power-weighted mean of
    their two points, somewhere on the chord between them, wherever their powers stand.
    So however much they overlap (two noises sharing every bin never give a bin to one of
    them, and the per-bin histograms then peak in between), the blocks' and bins' points
    lie along one line, and the line meets the circle at the two sources. The line is the
    points' principal axis (weighted by the square root of power). It is believed when the
    points spread along it (:data:`CHORD_MIN_ALONG`: the powers trade places; one static
    source leaves them all on one spot), more along than across it
    (:data:`CHORD_MAX_WIDTH`: cross terms of the two, averaged over a block, scatter them
    across), and lie inside the circle as mixtures do (:data:`CHORD_MIN_DEPTH`, mean of
    ``1 - |p|`` over the line's own depth ``1 - h``: one source, however it moves, keeps
    every point on the circle, 0.00 for a sweep across 100 degrees; two sources gave
    0.7-0.95). ``None`` otherwise.
    """
    n_blocks = min(len(cov), -(-len(mix_active) // BLOCK_STEPS))
    active = _blocks(mix_active.astype(float), mean=True)[:n_blocks] >= 0.5
    c = cov[:n_blocks][active].reshape(-1, 4).astype(float)
    tot = c[:, 0] + c[:, 1]
    keep = tot > 1e-3 * (tot.max() if tot.size else 0.0)
    if keep.sum() < 20:
        return None
    c, tot = c[keep], tot[keep]
    pts = np.stack([(c[:, 0] - c[:, 1]) / tot, 2 * c[:, 2] / tot], axis=1)
    w = np.sqrt(tot)
    w /= w.sum()
    m = w @ pts
    d = pts - m
    vals, vecs = np.linalg.eigh((d * w[:, None]).T @ d)
    if vals[1] <= 0 or vals[0] > CHORD_MAX_WIDTH * vals[1]:
        return None
    u = vecs[:, 1]
    mu = float(m @ u)
    disc = mu * mu - float(m @ m) + 1.0
    if disc <= 0:
        return None
    h = float(np.linalg.norm(m - mu * u))
    along = float(np.sqrt(w @ (d @ u) ** 2)) / (2 * np.sqrt(disc))
    depth = float(w @ (1 - np.linalg.norm(pts, axis=1))) / max(1 - h, 1e-6)
    if along < CHORD_MIN_ALONG or depth < CHORD_MIN_DEPTH:
        return None
    # Level-only: the same level difference at every frequency. Only the directions both
    # capsules hear in phase (all of them but a Blumlein pair's side quadrants) have
    # positive gains, i.e. a point on the upper half circle.
    in_phase = np.mean(model.phasor_re, axis=0) > 0
    ild_table = np.mean(model.ild_db, axis=0)[in_phase]
    az_table = model.azimuth_deg[in_phase]
    order = np.argsort(ild_table)
    out = []
    for s in (-mu - np.sqrt(disc), -mu + np.sqrt(disc)):
        x, y = m + s * u
        if y <= 0:  # an inverted channel: not a pair of positive gains
            return None
        ild = 20 * np.log10(max(np.tan(0.5 * np.arctan2(y, x)), 1e-6))
        out.append(float(np.interp(ild, ild_table[order], az_table[order])))
    return min(out), max(out)


def _place_on_chord(specs: list[SourceSpec], ends: tuple[float, float],
                    mix_active: np.ndarray) -> list[SourceSpec]:
    """Two sources moved to (or, for the mix's track alone, found at) the chord's ends
    (:func:`_chord_ends`), the left-hand one to the
    left end; kept as they are when the ends are not :data:`MIN_SEPARATION_DEG` apart or a
    source other than the mix's track moves (the mix's track may swing from one source to
    the other as they take turns; a source found moving is no point on the circle)."""
    if ends[1] - ends[0] < MIN_SEPARATION_DEG:
        return specs
    moves = [np.ptp(sp.step_az[mix_active]) > MIN_SEPARATION_DEG for sp in specs]
    if len(specs) == 1:
        # The mix's track alone: the chord says there are two, unless the track moves (a
        # pass-by whose reverb send pulls its points inside the circle).
        if moves[0]:
            return specs
        specs = [specs[0], dataclasses.replace(specs[0], share=0.5, origin="chord")]
    elif any(m for m, sp in zip(moves, specs) if sp.origin != "mix"):
        return specs
    med = [float(np.median(sp.step_az[mix_active])) for sp in specs]
    order = np.argsort(med)
    out = list(specs)
    for end, p in zip(ends, order):
        out[p] = dataclasses.replace(specs[p], step_az=np.full(len(mix_active), end),
                                     prior_sigma_deg=SETTLED_SIGMA_DEG, fixed=True)
    return out


SETTLE_PEAK_REL = 0.5       # a block's histogram peak at least this high against its top ...
SETTLE_MAX_SHIFT_DEG = 20.0  # ... within this of a source (and nearer it than any other) ...
SETTLE_MIN_BLOCKS = 3       # ... in this many blocks places the source (see _settle_on_peaks)
SETTLED_SIGMA_DEG = 4.0


def _settle_on_peaks(specs: list[SourceSpec], counts: np.ndarray, mix_active: np.ndarray,
                     az: np.ndarray) -> list[SourceSpec]:
    """Each of several sources moved onto the per-block histogram peaks nearest it.

    Where two sources sound together, a bin holding both reads a direction between them,
    and so do the cues averaged over steps and bands: the mix's track, the pair fits, the
    onsets' readings and the second pass's masked cues are all pulled toward the other
    source (on the world bench's pairs, by 10-40 degrees). A block's histogram, though,
    peaks only where many bins agree, which is where one source dominates them; mixed bins
    spread out between the peaks and do not move them. So each source's path is shifted by
    the weighted median offset of the block peaks that lie within
    :data:`SETTLE_MAX_SHIFT_DEG` of it and nearer to it than to any other source (heights
    as weights), when :data:`SETTLE_MIN_BLOCKS` blocks show one; the second pass then keeps
    its track within :data:`SETTLED_SIGMA_DEG` of that.
    """
    if len(specs) < 2:
        return specs
    n = len(mix_active)
    blk = gaussian_filter1d(_blocks(counts), 1.0, axis=1, mode="nearest")
    k = len(blk)
    top = blk.max(axis=1, keepdims=True)
    inner = np.zeros_like(blk, dtype=bool)
    inner[:, 1:-1] = (blk[:, 1:-1] >= blk[:, :-2]) & (blk[:, 1:-1] > blk[:, 2:])
    peak = inner & (blk >= SETTLE_PEAK_REL * top) & (top > 0)
    active = _blocks(mix_active.astype(float), mean=True)[:k] >= 0.5
    paths = np.stack([_blocks(sp.step_az[:n], mean=True)[:k] for sp in specs])  # (P, B)
    # Every peak of an active block (block by block, low azimuths first) and its offset
    # from each source.
    pb, pi = np.nonzero(peak[:len(active)] & active[:, None])
    d = az[pi][None, :] - paths[:, pb]  # (P, N)
    far = np.abs(d)
    out = []
    for p, sp in enumerate(specs):
        nearest = far[p] <= np.delete(far, p, axis=0).min(axis=0)
        mine = (far[p] <= SETTLE_MAX_SHIFT_DEG) & nearest
        offs = d[p][mine]
        wts = blk[pb[mine], pi[mine]] / top[pb[mine], 0]
        if len(offs) < SETTLE_MIN_BLOCKS:
            out.append(sp)
            continue
        order = np.argsort(offs)
        cw = np.cumsum(np.asarray(wts)[order])
        shift = float(np.asarray(offs)[order][np.searchsorted(cw, 0.5 * cw[-1])])
        out.append(dataclasses.replace(
            sp, step_az=np.clip(sp.step_az + shift, -90.0, 90.0),
            prior_sigma_deg=min(sp.prior_sigma_deg, SETTLED_SIGMA_DEG)))
    return out


DRY_PAIR_MIN_BLOCKS = 4     # exact two-source blocks of a dry recording: a handful ...
DRY_PAIR_MIN_SHARE = 0.2    # ... and this share of the active blocks, on two straight paths


def _exact_blocks(pf: "_BlockPairs") -> tuple[np.ndarray, np.ndarray]:
    """The active blocks that two point sources explain exactly (two-source residual within
    :data:`PAIR_DRY_RESIDUAL` and :data:`PAIR_DRY_RATIO` of one source's, the two
    directions :data:`MIN_SEPARATION_DEG` apart) and those one point source explains
    (one-source residual within :data:`PAIR_DRY_RESIDUAL`), ``(K,)`` each. Only a dry
    recording's blocks are this simple; the tests _block_pair_fit applies to a whole
    recording, here per block."""
    fit = pf.fit
    if fit is None:
        return np.zeros_like(pf.active), np.zeros_like(pf.active)
    two = (pf.active & (fit.r2 <= PAIR_DRY_RESIDUAL) & (fit.r2 <= PAIR_DRY_RATIO * fit.r1)
           & (np.abs(fit.a_deg - fit.b_deg) >= MIN_SEPARATION_DEG))
    return two, pf.active & ~two & (fit.r1 <= PAIR_DRY_RESIDUAL)


def _dry_pair_sources(pf: "_BlockPairs", steps, main: SourceSpec,
                      mix_active: np.ndarray) -> list[SourceSpec]:
    """Two sources of a dry recording from its exact two-source blocks (:func:`_exact_blocks`).

    With no room, what a block holds is point sources and nothing else: one source leaves a
    block's covariances rank one in every bin (one fixed pair of gains, or of transfer
    functions), and only a second source sounding at the same time, elsewhere, makes two
    directions explain it where one cannot. So a handful of such blocks
    (:data:`DRY_PAIR_MIN_BLOCKS`, :data:`DRY_PAIR_MIN_SHARE` of the active ones) whose two
    directions lie on two straight paths (:func:`_fit_path`, 8 degrees as for the pair
    source: the first through both directions of every block, the second through those it
    leaves) apart, each read over :data:`PATH_MIN_SPAN` of the clip, is two sources,
    however sparse the second is (a ball bouncing beside rain) and wherever the mix's
    track swings between them. The tune set's 30 dry single
    sources (seeds 0-1) have no such block; its dry pairs 1-26. Returned like
    :func:`_onset_sources`: with the main track in place of the path it follows, or the
    two paths alone; else ``[]``."""
    two, _ = _exact_blocks(pf)
    need = max(DRY_PAIR_MIN_BLOCKS, DRY_PAIR_MIN_SHARE * int(pf.active.sum()))
    if two.sum() < need:
        return []
    fit, k = pf.fit, len(pf.active)
    n = len(mix_active)
    block_s = steps.step_s * BLOCK_STEPS
    t = (np.nonzero(two)[0] + 0.5) * block_s
    a, b = fit.a_deg[two], fit.b_deg[two]
    times = (np.arange(n) + 0.5) * steps.step_s
    centre = 0.5 * k * block_s
    c1, p1 = _fit_path(np.concatenate([t, t]), np.concatenate([a, b]), centre, times,
                       tolerance_deg=8.0)
    at = np.interp(t, times, p1)
    on_a, on_b = np.abs(a - at) <= 8.0, np.abs(b - at) <= 8.0
    rest = np.where(on_a & ~on_b, b, np.where(on_b & ~on_a, a, np.nan))
    keep = np.isfinite(rest)
    if c1 < need or keep.sum() < need:
        return []
    c2, p2 = _fit_path(t[keep], rest[keep], centre, times, tolerance_deg=8.0)
    if c2 < need or np.median(np.abs(p1 - p2)[mix_active]) < MIN_SEPARATION_DEG:
        return []
    idx = np.nonzero(two)[0]
    on2 = idx[keep][np.abs(rest[keep] - np.interp(t[keep], times, p2)) <= 8.0]
    if not (_spans(idx[on_a | on_b], np.nonzero(pf.active)[0])
            and _spans(on2, np.nonzero(pf.active)[0])):
        return []
    found = [SourceSpec(p, mix_active.copy(), c / int(two.sum()), prior_sigma_deg=8.0,
                        origin="dry pair") for c, p in ((c1, p1), (c2, p2))]
    return _main_in_place(main, found, mix_active)


def _main_in_place(main: SourceSpec, found: list[SourceSpec],
                   mix_active: np.ndarray) -> list[SourceSpec]:
    """Two paths found for two sources: the mix's track stays in place of the one it follows
    (within :data:`NEAR_DEG`, median over the active steps); when it follows neither, the two
    paths replace it."""
    for i, spec in enumerate(found):
        if np.median(np.abs(spec.step_az - main.step_az)[mix_active]) <= NEAR_DEG:
            return [main, found[1 - i]]
    return found


def _on_exact_paths(specs: list[SourceSpec], exact: list[SourceSpec], pf: "_BlockPairs",
                    mix_active: np.ndarray, hear_all: bool = True) -> list[SourceSpec]:
    """The two sources of :func:`_dry_pair_sources` with what the other stages found: each
    exact path as the source already found on it (within :data:`NEAR_DEG`; the mix's track
    when it follows one) or as itself; a source found off both paths (where it is heard)
    stays unless the exact fits contradict it (:func:`_contradicted`: the mix's track
    reading the mixture between two sources, a histogram track of mixed bins)."""
    if len(specs) == 1:
        return exact
    out: list[SourceSpec] = []
    for e in exact:
        near = [sp for sp in specs if all(sp is not o for o in out)
                and np.median(np.abs(sp.step_az - e.step_az)[mix_active]) <= NEAR_DEG]
        out.append(e if e.origin == "mix" or not near else near[0])
    def apart(sp: SourceSpec) -> bool:
        # Where it is heard (as _residual_candidates compares), from whichever path is
        # nearer at each step: the mix's track swinging from one to the other is neither.
        here = sp.seen & mix_active if (sp.seen & mix_active).any() else mix_active
        gap = np.min([np.abs(sp.step_az - e.step_az) for e in exact], axis=0)
        return float(np.median(gap[here])) > NEAR_DEG

    return out + [sp for sp in specs if all(sp is not o for o in out) and apart(sp)
                  and not (hear_all and _contradicted(sp, pf, mix_active))]


FITS_WHOLE_BAND = 0.5       # the fits reach this share of the bins' top frequency


def _fits_hear_all(steps) -> bool:
    """Whether the pair fits hear the whole band a source may sound in: a spaced pair's
    finding model stops where its phase aliases (c / 2d, 690 Hz for 25 cm, stereo.py), so a
    sound above that is in none of its fits, which then cannot speak against it (a window
    opening beside a school's hubbub, found by its onsets, was contradicted by the low
    band). :data:`FITS_WHOLE_BAND` of :data:`binmodel.BIN_BAND_HZ`'s top: design, any
    model the aliasing did not cut reaches it."""
    freqs = getattr(steps, "pair_freqs", None)
    return (freqs is not None and len(freqs) > 0
            and float(np.max(freqs)) >= FITS_WHOLE_BAND * BIN_BAND_HZ[1])


def _contradicted(sp: SourceSpec, pf: "_BlockPairs", mix_active: np.ndarray) -> bool:
    """Whether the exact fits say ``sp`` is not there: in at least half the blocks where it
    is seen, one or two point sources explain the block exactly (:func:`_exact_blocks`)
    and none of their directions is within 8 degrees of it. A source sounding in a block
    is in its covariances: it either is one of the fitted directions or leaves the fit
    inexact."""
    if pf.fit is None:
        return False
    two, one = _exact_blocks(pf)
    k, n = len(pf.active), len(mix_active)
    az = _blocks(sp.step_az[:n], mean=True)[:k]
    seen = pf.active & (_blocks((sp.seen & mix_active)[:n].astype(float), mean=True)[:k] >= 0.5)
    placed = (np.abs(pf.fit.a_deg - az) <= 8.0) | (two & (np.abs(pf.fit.b_deg - az) <= 8.0))
    against = (two | one) & seen & ~placed
    return bool(seen.any()) and against.sum() >= 0.5 * seen.sum()


def _settle_on_fits(specs: list[SourceSpec], pf: "_BlockPairs", mix_active: np.ndarray,
                    step_s: float) -> list[SourceSpec]:
    """Each of several sources of a dry level-only recording placed on the blocks' exact
    one- and two-source fits (:mod:`engine.cues.pairfit`).

    With no room, a block of a coincident pair or a pan-pot mix holds one or two point
    sources and nothing else, so where two fixed gains explain it all (two-source residual
    within :data:`PAIR_DRY_RESIDUAL` and :data:`PAIR_DRY_RATIO` of one source's, the
    recording-level test of _block_pair_fit, here per block) its two directions are the
    sources', and where one does, that one is; however much the two share the bins. The
    step track, the histograms and the masked cues read the mixtures between (a pan-pot
    source at -41 degrees beside one sweeping from +76 to +1 read -9 to -26 on the mix's
    track; the fits gave -34 to -46). Each fitted direction goes to the nearest source's
    path; through those of one source a straight path (:func:`_fit_path`, 8 degrees as
    for the pair source) holding :data:`SETTLE_MIN_BLOCKS` and half of them replaces its
    path when the blocks on it span :data:`PATH_MIN_SPAN` of the active ones, final as the
    chord's ends are (the second pass would read the mixtures again).
    The chord (:func:`_chord_ends`) places two static sources; this also places a moving
    one and the static one beside it."""
    if len(specs) < 2 or pf.fit is None:
        return specs
    fit, k = pf.fit, len(pf.active)
    n = len(mix_active)
    two, one = _exact_blocks(pf)
    blocks = np.concatenate([np.nonzero(two)[0], np.nonzero(two)[0], np.nonzero(one)[0]])
    read = np.concatenate([fit.a_deg[two], fit.b_deg[two], fit.a_deg[one]])
    paths = np.stack([_blocks(sp.step_az[:n], mean=True)[:k] for sp in specs])  # (P, K)
    owner = np.argmin(np.abs(read[None, :] - paths[:, blocks]), axis=0)
    block_s = step_s * BLOCK_STEPS
    times = (np.arange(n) + 0.5) * step_s
    out = []
    for p, sp in enumerate(specs):
        mine = owner == p
        if mine.sum() < SETTLE_MIN_BLOCKS:
            out.append(sp)
            continue
        count, path = _fit_path((blocks[mine] + 0.5) * block_s, read[mine], 0.5 * k * block_s,
                                times, tolerance_deg=8.0)
        on = blocks[mine][np.abs(read[mine] - path[np.minimum(
            (blocks[mine] + 0.5) * BLOCK_STEPS, n - 1).astype(int)]) <= 8.0]
        if (count < max(SETTLE_MIN_BLOCKS, 0.5 * mine.sum())
                or not _spans(on, np.nonzero(pf.active)[0])):
            out.append(sp)
            continue
        out.append(dataclasses.replace(sp, step_az=path, fixed=True,
                                       prior_sigma_deg=SETTLED_SIGMA_DEG))
    return out


PAIR_MAX_WET = 0.35         # the two-source covariance fit (engine.cues.pairfit) up to here,
PAIR_DRY_RESIDUAL = 0.02    # ... or beyond where two point sources leave this little (median
PAIR_DRY_RATIO = 0.15       # ... relative residual), this much less than one does
PAIR_RATIO = 0.5            # a block shows two sources when a pair halves the residual ...
PAIR_NEAR_MAIN_DEG = 20.0   # ... one of them on the main track ...
PAIR_MIN_SUPPORT = 0.35     # ... and a straight path through the other holds this share
PAIR_RATIO_WET = 0.6        # the same in reverberant recordings (fits with a diffuse field)
PAIR_MIN_SUPPORT_WET = 0.22
PATH_RATES_DEG_S = np.arange(-40.0, 40.0 + 1e-9, 4.0)


@dataclass
class _BlockPairs:
    """The per-block two-source fits as the pair tests read them: which blocks are active,
    the main track per block, each block's direction away from it (``other``) and the
    residual ratio of two sources to one, with the thresholds for this recording."""

    active: np.ndarray
    main_az: np.ndarray
    other: np.ndarray
    apart: np.ndarray       # one direction on the main track, the other >= 24 degrees away
    ratio: np.ndarray       # r2 / r1
    hit_ratio: float
    min_support: float
    fit: PairFit | None = None  # the fits themselves (directions, residuals)


def _block_pair_fit(steps, main: SourceSpec, mix_active: np.ndarray, wet: float,
                    model: BinModel, cal: CueCalibration) -> _BlockPairs | None:
    """Per-block one- and two-source fits (:mod:`engine.cues.pairfit`), with a diffuse field
    (as this kind of stereo hears one) in reverberant recordings."""
    cov = np.asarray(steps.pair_cov)
    n_steps = len(mix_active)
    k = min(len(cov), -(-n_steps // BLOCK_STEPS))
    if cov.ndim != 3 or k < 4:
        return None
    active = _blocks(mix_active.astype(float), mean=True)[:k] >= 0.5
    if not active.any():
        return None
    freqs = np.asarray(steps.pair_freqs)
    fit = pair_fit(cov[:k], model, freqs)
    ratio, support = PAIR_RATIO, PAIR_MIN_SUPPORT
    if wet > PAIR_MAX_WET:
        # Two sources sounding together lower the coherence as reverberation does. If two
        # point sources explain the blocks almost exactly, and far better than one, the
        # recording is dry after all; otherwise it is reverberant: the fits get a diffuse
        # field beside the sources, and reflections (second directions that come and go)
        # are told from a source by a steady path.
        if not _fits_exact(fit, active):
            fit = pair_fit(cov[:k], model, freqs,
                           diffuse=diffuse_coherence(cal, freqs))
            ratio, support = PAIR_RATIO_WET, PAIR_MIN_SUPPORT_WET
    main_az = _blocks(main.step_az, mean=True)[:k]
    a, b = fit.a_deg, fit.b_deg
    near_a = np.abs(a - main_az) <= PAIR_NEAR_MAIN_DEG
    near_b = np.abs(b - main_az) <= PAIR_NEAR_MAIN_DEG
    other = np.where(near_a, b, a)
    apart = active & (near_a | near_b) & (np.abs(other - main_az) >= MIN_SEPARATION_DEG)
    return _BlockPairs(active, main_az, other, apart, fit.r2 / np.maximum(fit.r1, 1e-12),
                       ratio, support, fit)


def _fits_exact(fit: PairFit, active: np.ndarray) -> bool:
    """Whether two point sources explain the blocks' covariances almost exactly: the median
    two-source residual over the ``active`` blocks within :data:`PAIR_DRY_RESIDUAL`, and
    within :data:`PAIR_DRY_RATIO` of one source's (a dry recording's blocks; a room's
    reflections and diffuse field leave more)."""
    r1, r2 = np.median(fit.r1[active]), np.median(fit.r2[active])
    return bool(r2 <= PAIR_DRY_RESIDUAL and r2 <= PAIR_DRY_RATIO * r1)


def _pair_source(pf: _BlockPairs, steps, main: SourceSpec, mix_active: np.ndarray):
    """A further source from the per-block two-source fits: blocks where a second
    direction, away from the main track, halves what one direction leaves unexplained; a
    straight path through those directions (:func:`_fit_path`) that holds enough of the
    active blocks is a source."""
    hit = pf.apart & (pf.ratio <= pf.hit_ratio)
    n_active = int(pf.active.sum())
    need = max(4, pf.min_support * n_active)
    if hit.sum() < need:
        return None
    k = len(pf.active)
    n_steps = len(mix_active)
    block_s = steps.step_s * BLOCK_STEPS
    count, path = _fit_path((np.nonzero(hit)[0] + 0.5) * block_s, pf.other[hit],
                            0.5 * k * block_s, (np.arange(n_steps) + 0.5) * steps.step_s,
                            tolerance_deg=8.0)
    if count < need or np.median(np.abs(path - main.step_az)) < MIN_SEPARATION_DEG:
        return None
    return SourceSpec(path, mix_active.copy(), count / max(n_active, 1), prior_sigma_deg=8.0,
                      origin="pair")


# In a level-only recording (coincident pair, pan pot) a direction that only the per-block
# two-source fits give must be read by some bins too (_fit_only), unless two point sources
# explain the blocks exactly. The least reading there is: the histograms' weight of one bin
# at the step's top level and fully coherent, in one step (design, not fitted; tune part,
# rooms: the pair fits' further sources of level-only single sources read 0, 0, 0, 0.8,
# 5.8, ..., of pairs 3.4 and up; docs/hearing.md, "Bins must read what the pair fits place").
PAIR_MIN_BIN_WEIGHT = 1.0


def _fit_only(sp: SourceSpec, pf: "_BlockPairs", main: SourceSpec, counts: np.ndarray,
              az: np.ndarray, mix_active: np.ndarray, *, level_only: bool) -> bool:
    """Whether the pair fits' further source ``sp`` is only the fits' misfit: a level-only
    recording whose blocks the fits do not explain exactly (:func:`_fits_exact` on the fits
    as used: with the diffuse field's column in a reverberant recording), and no bin reads
    ``sp`` (:func:`_bins_read`).

    Sounds are mostly sparse in time and frequency, so a sound that is there dominates some
    bins, which read its direction. A level-only model is the same at every frequency (a
    level ratio per direction, no phase), so a block's fit is bound only by each bin's level
    ratio and coherence: a room's or the noise's decorrelation spreads the level ratios, and
    a second direction soaks that up as well as a source would, with no bin reading it. A
    head's or a spaced pair's model ties level and phase together, differently at each
    frequency, so a second direction must fit them all (there a 10 dB SNR recording's quiet
    clock ticking beside a coal mine, found by the fits at its place, read 0.4: kept). And
    where two point sources explain the blocks exactly the second direction is no misfit,
    however quiet (a steady sound 9 dB under another shares every bin and wins none)."""
    return (level_only and not _fits_exact(pf.fit, pf.active)
            and not _bins_read(sp, main, counts, az, mix_active))


def _bins_read(sp: SourceSpec, main: SourceSpec, counts: np.ndarray, az: np.ndarray,
               mix_active: np.ndarray) -> bool:
    """Whether bins read ``sp``'s direction: the histograms' weight (``counts`` ``(S, A)``)
    within ``NEAR_DEG`` of its path and not of the main source's, over the active steps,
    reaches :data:`PAIR_MIN_BIN_WEIGHT`."""
    az = az[:counts.shape[1]]
    at = _near(az, sp.step_az) & ~_near(az, main.step_az)
    return float(np.sum((counts * at)[mix_active])) >= PAIR_MIN_BIN_WEIGHT


CORROB_RATIO = 0.8          # a residual-histogram track that the pair fits also place ...
CORROB_TOLERANCE_DEG = 10.0  # ... (their second direction this close to it, two sources
CORROB_MIN_BLOCKS = 3        # ... explaining 20 % more than one) in this many blocks and
CORROB_MIN_SHARE = 0.12      # ... this share of the active blocks is a source
CORROB_MIN_PROMINENCE = 0.4  # if it makes its own GCC peak ...
CORROB_MAX_COMODULATION = 0.3  # ... and does not rise and fall with the main source


def _corroborated_source(pf: _BlockPairs, cands: list[_Candidate]) -> SourceSpec | None:
    """A second source seen by two measurements that fail differently: a track of the
    residual direction histograms (:func:`_residual_candidates`) too sparse or too quiet to
    count alone, placed in the same blocks and direction by the two-source covariance fits.

    Reflections and model mismatch make tracks of their own in the histograms, and second
    directions in the pair fits, but the two rarely agree, where a real source makes both.
    Where the fits show two sources clearly (the residual cut by the recording's hit ratio)
    that agreement is enough; where they show them only weakly (cut by 20 %), the track
    must also make its own GCC peak and not rise and fall with the main source.
    """
    idx = np.arange(len(pf.active))
    need = max(CORROB_MIN_BLOCKS, CORROB_MIN_SHARE * int(pf.active.sum()))
    best = None
    for c in cands:
        span = (idx >= c.blocks.min()) & (idx <= c.blocks.max())
        near = pf.apart & span & (np.abs(pf.other - np.interp(idx, c.blocks, c.block_az))
                                  <= CORROB_TOLERANCE_DEG)
        strong = int(np.sum(near & (pf.ratio <= pf.hit_ratio)))
        weak = int(np.sum(near & (pf.ratio <= CORROB_RATIO)))
        if strong >= need:
            agree = strong
        else:  # the measures are read only when the weak agreement needs them
            clean = (c.prominence >= CORROB_MIN_PROMINENCE
                     and c.comodulation <= CORROB_MAX_COMODULATION)
            agree = weak if clean else 0
        if agree >= need and (best is None or agree > best[0]):
            best = (agree, c)
    if best is None:
        return None
    agree, c = best
    return SourceSpec(c.step_az, c.seen, c.share, origin="corroborated")


ONSET_MIN_COUNT = 4         # each of two sources starts sounding at least this often ...
ONSET_MIN_SHARE = 0.2       # ... and in this share of the clip's onsets
ONSET_TOLERANCE_DEG = 10.0  # how far one source's onsets may read from its path
ONSET_MIN_TURNS = 2         # ... and they take turns: back to a place already left


def _onset_sources(steps, main: SourceSpec, mix_active: np.ndarray) -> list[SourceSpec]:
    """Two sources from where the sounds start (:func:`engine.cues.analysis.
    onset_directions`): the onsets fall on two straight paths (:func:`_fit_path`, the
    second through the onsets the first leaves), each often enough, apart. Returned with the
    main track in place of the path it follows, or, when it follows neither (it sits between
    two sources, or swings from one to the other), the two paths alone; else ``[]``.

    The precedence effect makes this the test reflections cannot pass: a reflection is a
    late copy of its source, so it never starts a sound; every onset of a single source in a
    room reads the source's own direction (its direct sound arrives first), however much of
    the steady sound is room. Two sources each start their own sounds, and in a room where
    the steady sound is too diffuse for the histograms and the covariance fits, their onsets
    still fall into two places.
    """
    az = np.asarray(steps.onset_az, float)
    t = np.asarray(steps.onsets_s, float)
    n = len(mix_active)
    if az.size < 2 * ONSET_MIN_COUNT or az.size != t.size:
        return []
    k = np.clip((t / steps.step_s).astype(int), 0, n - 1)
    on = mix_active[k]
    t, az, k = t[on], az[on], k[on]
    need = max(ONSET_MIN_COUNT, ONSET_MIN_SHARE * t.size)
    # Onsets the main track explains (it was there when they started) need no second
    # source: a source that moves, however fast, is followed by the track.
    if np.sum(np.abs(az - main.step_az[k]) > ONSET_TOLERANCE_DEG) < need:
        return []
    times = (np.arange(n) + 0.5) * steps.step_s
    centre = 0.5 * n * steps.step_s
    paths, left = [], np.ones(t.size, bool)
    label = np.full(t.size, -1)
    for j in range(2):
        if left.sum() < need:
            return []
        count, path = _fit_path(t[left], az[left], centre, times,
                                tolerance_deg=ONSET_TOLERANCE_DEG)
        if count < need:
            return []
        paths.append((count, path))
        member = left & (np.abs(az - np.interp(t, times, path)) <= ONSET_TOLERANCE_DEG)
        label[member] = j
        left &= ~member
    (c1, p1), (c2, p2) = paths
    if np.median(np.abs(p1 - p2)[mix_active]) < MIN_SEPARATION_DEG:
        return []
    # Sounds must start in one place again after starting in the other: one source moving
    # faster than a straight path follows (a pass-by) starts its sounds in one stretch of
    # directions and then in the next, never back; two sources take turns.
    seq = label[np.argsort(t)]
    seq = seq[seq >= 0]
    if np.count_nonzero(np.diff(seq)) < ONSET_MIN_TURNS:
        return []
    found = [SourceSpec(p, mix_active.copy(), c / t.size, origin="onset", prior_sigma_deg=6.0)
             for c, p in ((c1, p1), (c2, p2))]
    return _main_in_place(main, found, mix_active)


TURN_MIN_S = 1.0            # a place the mix's track holds this long (active steps, in all)


def _turn_sources(steps, main: SourceSpec, mix_active: np.ndarray,
                  max_sources: int) -> list[SourceSpec]:
    """Sources that take turns: the mix's track split where it leaves every place it has
    heard a sound at, each place a source of its own; else ``[]``.

    The mix's track follows whichever sound dominates each step. One source that moves is
    followed step by step (the tracker's speed limit, :data:`engine.cues.tracking.
    MAX_SPEED_DEG_S`); when the track is next heard more than :data:`MIN_SEPARATION_DEG`
    from where every source so far was last heard, in one step or across a silence, it is
    hearing another source: a sound stops and another starts elsewhere (a dog barks on the
    left, later a car passes, then someone talks in the middle). Sounds that start again
    where one was last heard are that source again (the dog after 20 s of silence), so an
    object stays one object; and the places must take turns (one is heard again after
    another was), which one moving source never does. Each place must hold :data:`TURN_MIN_S` of the track's
    active steps (design: a bark, a word, shorter ones are the track's slips to a loud
    reflection or noise); the :data:`max_sources` places held longest are kept. Each
    source's path is the track's readings while it was heard, held in between and before
    and after.
    """
    idx = np.flatnonzero(mix_active)
    if idx.size == 0:
        return []
    track = np.asarray(main.step_az, float)
    owner = np.full(len(mix_active), -1)
    last: list[float] = []
    for i in idx:
        a = track[i]
        gaps = [abs(a - b) for b in last]
        if gaps and min(gaps) <= MIN_SEPARATION_DEG:
            g = int(np.argmin(gaps))
        else:
            g = len(last)
            last.append(a)
        owner[i] = g
        last[g] = a
    if len(last) < 2:
        return []
    held = np.bincount(owner[idx], minlength=len(last)) * steps.step_s
    keep = [g for g in np.argsort(-held, kind="stable") if held[g] >= TURN_MIN_S][:max_sources]
    if len(keep) < 2:
        return []
    # They must take turns: the track comes back to a place it left for another. One
    # source that moves faster than the track follows (a pass-by, read again after a
    # pause, is heard a little further on each time) goes from one place to the next and
    # never back (the onsets' reasoning, _onset_sources).
    seq = owner[idx][np.isin(owner[idx], keep)]
    seq = seq[np.r_[True, np.diff(seq) != 0]]
    if len(np.unique(seq)) == len(seq):
        return []
    n = len(mix_active)
    out = []
    for g in keep:
        mine = owner == g
        k = np.flatnonzero(mine)
        out.append(SourceSpec(np.interp(np.arange(n), k, track[k]), mine,
                              float(held[g] / held[keep].sum()), origin="turns"))
    return out


LOW_MIN_HEIGHT = 0.6        # a block's low-band GCC peak this high ...
LOW_SHRINK = 0.2            # ... outside what the main source itself gives there (its own
LOW_MARGIN_DEG = 12.0       # ... direction, pulled toward the centre by reverberation) ...
LOW_MIN_SUPPORT = 0.3       # ... along a straight path in this share of the active blocks
LOW_LEVEL_RANGE_DB = 10.0   # blocks this far below the loud ones do not vote
LOW_MAX_COMODULATION = 0.8  # a low band rising and falling with the rest is the same sound


def _low_band_source(steps, main: SourceSpec, mix_active: np.ndarray) -> SourceSpec | None:
    """A further source heard below 500 Hz only: an engine's rumble beside a waterfall.

    Sources whose energy lies low are 10-20 dB below the other source in the band the
    histograms and pair fits use, but own the low band, where the steered GCC-PHAT (whitened,
    so a quiet band still counts) peaks at them. A single source makes the low-band peak
    at its own direction or, in a reverberant room where the low band is mostly room
    sound, pulled toward the centre (down to :data:`LOW_SHRINK` of it); a second source
    puts it elsewhere. Blocks whose peak is high, outside that range and 24 degrees from the
    main track vote for a straight path (:func:`_fit_path`), which is a source if it holds
    :data:`LOW_MIN_SUPPORT` of the active blocks, unless the low band's level rises and falls
    with the rest's (:func:`_low_high_comodulation`): then it is the main sound's own low
    end, read elsewhere because reverberation dominates it (a source far off, passing by).
    """
    if steps.low_gcc is None or steps.low_weight is None:
        return None
    g = np.asarray(steps.low_gcc, dtype=float)
    n = min(len(g), len(mix_active))
    if n < 4 * BLOCK_STEPS:
        return None
    w = np.asarray(steps.low_weight, dtype=float)[:n] * mix_active[:n]
    gb = _blocks(g[:n] * w[:, None]) / np.maximum(_blocks(w)[:, None], 1e-12)
    active = _blocks(mix_active[:n].astype(float), mean=True) >= 0.5
    main_az = _blocks(main.step_az[:n], mean=True)
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)[:gb.shape[1]]
    peak, height = az[np.argmax(gb, axis=1)], gb.max(axis=1)
    near = np.minimum(LOW_SHRINK * main_az, main_az) - LOW_MARGIN_DEG
    far = np.maximum(LOW_SHRINK * main_az, main_az) + LOW_MARGIN_DEG
    if not active.any():
        return None
    level = 10 * np.log10(_blocks(np.asarray(steps.power, float)[:n], mean=True) + 1e-20)
    loud = level >= np.percentile(level[active], 90) - LOW_LEVEL_RANGE_DB
    vote = (active & loud & (height >= LOW_MIN_HEIGHT) & ((peak < near) | (peak > far))
            & (np.abs(peak - main_az) >= MIN_SEPARATION_DEG))
    need = max(3, LOW_MIN_SUPPORT * int(active.sum()))
    if vote.sum() < need or _low_high_comodulation(steps, active, n) > LOW_MAX_COMODULATION:
        return None
    block_s = steps.step_s * BLOCK_STEPS
    count, path = _fit_path((np.nonzero(vote)[0] + 0.5) * block_s, peak[vote],
                            0.5 * len(gb) * block_s,
                            (np.arange(len(mix_active)) + 0.5) * steps.step_s,
                            tolerance_deg=10.0)
    if count < need or np.median(np.abs(path - main.step_az)[mix_active]) < MIN_SEPARATION_DEG:
        return None
    return SourceSpec(path, mix_active.copy(), count / max(int(active.sum()), 1),
                      prior_sigma_deg=6.0, origin="low band")


def _low_high_comodulation(steps, active: np.ndarray, n: int) -> float:
    """Correlation over the active blocks of the low band's level (dB) with the 1-8 kHz
    band's: near 1 when one sound makes both (a source passing by or coming closer changes
    both together), lower when two sounds share the recording."""
    if steps.band_power is None or active.sum() < 4:
        return -1.0
    db = 10 * np.log10(_blocks(np.asarray(steps.band_power, float)[:n]) + 1e-20)[active]
    if np.std(db[:, 0]) < 1e-6 or np.std(db[:, 1]) < 1e-6:
        return -1.0
    return float(np.corrcoef(db[:, 0], db[:, 1])[0, 1])


def _fit_path(t: np.ndarray, az: np.ndarray, t_centre: float, t_out: np.ndarray, *,
              tolerance_deg: float) -> tuple[int, np.ndarray]:
    """The straight path ``az(t) = a0 + r (t - t_centre)`` passing within ``tolerance_deg``
    of most of the points (a Hough vote over rates of +-40 degrees/s: static sources and
    steady sweeps), as its vote count and its azimuths at ``t_out``. The static path is tried
    first and a sweep must beat it by two points, so a few strays do not set a still source
    moving."""
    best = (0, 0.0, 0.0)
    grid = np.arange(-90.0, 90.0 + 1e-9, 2.0)
    for r in sorted(PATH_RATES_DEG_S, key=abs):
        a0 = az - r * (t - t_centre)
        votes = np.sum(np.abs(a0[:, None] - grid[None, :]) <= tolerance_deg, axis=0)
        j = int(np.argmax(votes))
        if votes[j] > best[0] + (0 if r == 0 else 1):
            best = (int(votes[j]), float(r),
                    float(np.mean(a0[np.abs(a0 - grid[j]) <= tolerance_deg])))
    count, rate, a0 = best
    return count, np.clip(a0 + rate * (t_out - t_centre), -90.0, 90.0)


def _steady_gcc_peaks(gcc: np.ndarray, az: np.ndarray, active: np.ndarray,
                      cal: CueCalibration):
    """:func:`_gcc_peaks` of the whole clip that also appear (within 8 degrees) in each half:
    a moving source smears the average GCC into peaks along its path, which do not."""
    n = len(active)
    first, second = active.copy(), active.copy()
    first[n // 2:] = False
    second[:n // 2] = False
    if first.sum() < 10 or second.sum() < 10:
        return []
    halves = [_gcc_peaks(gcc, az, m, cal) for m in (first, second)]
    return [(rel, a) for rel, a in _gcc_peaks(gcc, az, active, cal)
            if all(any(abs(a - b) <= 8.0 for _, b in h) for h in halves)]


def _gcc_peaks(gcc: np.ndarray, az: np.ndarray, active: np.ndarray,
               cal: CueCalibration) -> list[tuple[float, float]]:
    """``(relative height, azimuth)`` of sources seen as peaks of the clip-averaged GCC-PHAT,
    strongest first, at least :data:`MIN_SEPARATION_DEG` apart.

    Overlapping broadband sounds share most time-frequency bins, which defeats the bin
    histograms; the phase transform still shows each as its own peak. But one source's GCC
    has side lobes too (phase wrapping repeats a lateral source's peak about 1/f away in
    lag), so peaks are taken one at a time, CLEAN-style: the strongest peak is a source, its
    expected response (:func:`_gcc_response`, scaled to its height) is subtracted in each band,
    and the next peak must reach :data:`GCC_SECOND_PEAK` of the first in what remains.
    (Reverberation leaves residues of that size too, so wet recordings do not use this.)
    """
    g = np.clip(gcc[active].astype(float), 0.0, None).mean(axis=0)  # (bands, A)
    g = g.copy()
    out: list[tuple[float, float]] = []
    top = None
    for _ in range(3):
        score = g.max(axis=0)  # best band per azimuth
        k = int(np.argmax(score))
        height = float(score[k])
        if top is None:
            top = height
        elif height < GCC_SECOND_PEAK * top:
            break
        a = float(az[k])
        if all(abs(a - b) >= MIN_SEPARATION_DEG for _, b in out):
            out.append((height / top, a))
        for band in range(g.shape[0]):
            # The averaged GCC was clipped at 0, so only the response's positive part is
            # there to take away (its negative lobes would otherwise leave false peaks).
            g[band] -= g[band, k] * np.maximum(_gcc_response(az, a, band, cal), 0.0)
        g = np.clip(g, 0.0, None)
    return out


def _gcc_response(az: np.ndarray, source_az: float, band: int,
                  cal: CueCalibration) -> np.ndarray:
    """The steered GCC-PHAT ``(A,)`` that a lone white source at ``source_az`` gives in GCC
    band ``band``: the mean over the band's frequencies of ``cos(2 pi f (ITD(a) - ITD_s))``
    with the band's calibrated ITD curve; 1 at the source."""
    itd = np.interp(az, cal.azimuth_deg, cal.itd_band_s(band))
    itd_s = float(np.interp(source_az, cal.azimuth_deg, cal.itd_band_s(band)))
    lo, hi = (GCC_BAND_HZ[0], GCC_SPLIT_HZ) if band == 0 else (GCC_SPLIT_HZ, GCC_BAND_HZ[1])
    f = np.linspace(lo, hi, 64)
    return np.cos(2 * np.pi * f[:, None] * (itd - itd_s)[None, :]).mean(axis=0)


def _near(az: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """``(S, A)`` mask of grid azimuths within NEAR_DEG of each step's ``centre``."""
    return np.abs(az[None, :] - centre[:, None]) <= NEAR_DEG


def _gcc_prominence(gcc: np.ndarray, az: np.ndarray, step_az: np.ndarray,
                    sel: np.ndarray) -> float:
    """How much the steered GCC (``(S, bands, A)``) stands out at the candidate's direction:
    its best value within +-6 degrees minus the mean of the values 20-30 degrees to either
    side, averaged over the steps ``sel``; the larger of the bands. A source makes a peak in
    the band where its energy is; smeared reverberation makes none."""
    if sel.sum() == 0:
        return 0.0
    a = step_az[sel]
    d = az[None, :] - a[:, None]
    ring = (np.abs(d) >= 20) & (np.abs(d) <= 30)
    best = -np.inf
    for band in range(gcc.shape[1]):
        g = gcc[sel, band].astype(float)
        at = np.where(np.abs(d) <= 6, g, -np.inf).max(axis=1)
        side = np.sum(np.where(ring, g, 0), axis=1) / np.maximum(ring.sum(axis=1), 1)
        best = max(best, float(np.mean(at - side)))
    return best


@dataclass
class _Candidate:
    """A linked track in the residual histograms with the tests' measures."""

    step_az: np.ndarray
    seen: np.ndarray
    blocks: np.ndarray      # the blocks it was seen in, and its direction there
    block_az: np.ndarray
    presence: float
    share: float
    # The two costlier measures are worked out when a test first reads them (most tracks
    # fail on presence or share before): ``() -> float`` each.
    measure_comodulation: Callable[[], float] = dataclasses.field(repr=False)
    measure_prominence: Callable[[], float] = dataclasses.field(repr=False)

    @functools.cached_property
    def comodulation(self) -> float:
        return self.measure_comodulation()

    @functools.cached_property
    def prominence(self) -> float:
        return self.measure_prominence()


def _residual_candidates(counts, energies, gcc, az, specs, mix_active,
                         timed: bool = True) -> list[_Candidate]:
    """Tracks of the residual histograms (the bins near every source in ``specs`` removed)
    that stay clear of those sources, each with its presence (share of the active blocks),
    share of the residual, comodulation with the sources and GCC prominence."""
    taken = np.zeros(counts.shape, bool)
    for sp in specs:
        taken |= _near(az, sp.step_az)
    resid = np.where(taken, 0.0, counts)
    blk_tot = _blocks(counts).sum(axis=1)
    blk = gaussian_filter1d(_blocks(resid), 1.0, axis=1, mode="nearest")
    res_tot = blk.sum(axis=1)
    # Peaks are judged within the residual (a quiet second source is still concentrated
    # there, diffuse reverberation is not), provided the residual is not negligible.
    blk_share = np.where((res_tot >= RESIDUAL_MIN * blk_tot)[:, None],
                         blk / np.maximum(res_tot[:, None], 1e-12), 0.0)
    blk_active = _blocks(mix_active.astype(float)) > 0
    n_active = max(1, int(blk_active.sum()))
    n = counts.shape[0]
    out = []
    specs = tuple(specs)  # as they are now: the measures may be read after more are found
    found_energy: dict[int, np.ndarray] = {}  # per source in specs, shared by the candidates
    for tr in _link_peaks(blk_share, az, blk_active):
        blocks = np.asarray(tr["blocks"])
        if len(blocks) < 2:  # neither test can pass on one sighting (n_active >= 3)
            continue
        k = (np.arange(n) + 0.5) / BLOCK_STEPS - 0.5
        step_az = np.interp(k, blocks, tr["az"])
        seen = np.repeat(np.isin(np.arange(len(blk_share)), blocks), BLOCK_STEPS)[:n]
        sel = seen & mix_active
        # Apart from every source found *while it is heard*: beyond its blocks the track only
        # holds its end values, and a source that moves away from there (a pass-by) would
        # otherwise leave its own edge, read off the track, standing as a second source.
        here = sel if sel.any() else seen
        if any(np.median(np.abs(step_az[here] - sp.step_az[here])) < MIN_SEPARATION_DEG
               for sp in specs):
            continue
        out.append(_Candidate(
            step_az, sel, blocks, np.asarray(tr["az"], float), len(blocks) / n_active,
            float(np.mean(tr["mass"])),
            functools.partial(_comodulation, energies, az, step_az, specs, mix_active,
                              found_energy),
            functools.partial(_gcc_prominence, gcc, az, step_az, sel) if timed
            else (lambda: 1.0)))
    return out


def _next_source(cands: list[_Candidate], need) -> SourceSpec | None:
    """The best candidate present in enough blocks, holding enough of the residual, not
    rising and falling with the sources found and making its own GCC peak.

    Enough blocks is :data:`TRACK_MIN_PRESENCE`; in a dry timed recording
    (``need["presence"]``, :data:`SPARSE_MIN_PRESENCE`) a sparser track counts when it
    passes the room's tests: there is no reverberation to leave leftovers, a reflection or
    leakage of a found source would rise with it (comodulation above 0), and a GCC-PHAT
    peak as clear as the one asked of a source in a room is direct sound from its own
    place."""
    best = None
    for c in cands:
        if c.presence < need.get("presence", TRACK_MIN_PRESENCE):
            continue
        if c.presence < TRACK_MIN_PRESENCE and (c.comodulation > 0.0
                                                or c.prominence < MIN_GCC_PROMINENCE[1]):
            continue
        if (c.share < need["share"] or c.comodulation > MAX_COMODULATION
                or c.prominence < need["prominence"]):
            continue
        score = c.share * c.presence
        if best is None or score > best[0]:
            best = (score, SourceSpec(c.step_az, c.seen, c.share))
    return None if best is None else best[1]


def _link_peaks(share: np.ndarray, az: np.ndarray, active: np.ndarray) -> list[dict]:
    """Greedy nearest-neighbour linking of per-block peaks into tracks."""
    step = az[1] - az[0]
    half = int(round(PEAK_HALF_WIDTH_DEG / step))
    tracks: list[dict] = []
    live: list[int] = []  # tracks that may still be extended (last seen <= 12 blocks ago)
    # Each block's eight highest bins, highest first (one sort for all blocks).
    orders = np.argsort(share, axis=1)[:, ::-1][:, :8] if len(share) else share
    # The mass within +-half bins of every bin, and its first moment in azimuth, for all
    # blocks at once (window sums as differences of running sums along the grid).
    n_az = share.shape[1] if share.ndim == 2 else 0
    idx = np.arange(n_az)
    lo_i, hi_i = np.maximum(idx - half, 0), np.minimum(idx + half + 1, n_az)
    masses, moments = (np.concatenate([np.zeros((len(share), 1)), np.cumsum(x, axis=1)], axis=1)
                       for x in (share, share * az[None, :n_az]))
    masses, moments = masses[:, hi_i] - masses[:, lo_i], moments[:, hi_i] - moments[:, lo_i]
    blocks = np.nonzero(active)[0]
    if not blocks.size:
        return tracks
    # Plain Python numbers from here on: the loops visit a few bins of every block.
    rows = orders[blocks]
    row_mass = np.take_along_axis(masses[blocks], rows, axis=1).tolist()
    row_moment = np.take_along_axis(moments[blocks], rows, axis=1).tolist()
    shadow = b"\x01" * n_az
    for b, order, mass_b, moment_b in zip(blocks.tolist(), rows.tolist(), row_mass, row_moment):
        live = [ti for ti in live if b - tracks[ti]["blocks"][-1] <= 12]
        peaks = []
        taken = bytearray(n_az)  # each bin taken shadows the bins within 2 half-widths
        for i, mass, moment in zip(order, mass_b, moment_b):
            if taken[i]:
                continue
            lo, hi = max(0, i - 2 * half), min(n_az, i + 2 * half + 1)
            taken[lo:hi] = shadow[:hi - lo]
            if mass >= PEAK_MIN_SHARE:
                peaks.append((moment / (mass + 1e-12), mass))
        used: set[int] = set()
        for a, mass in sorted(peaks, key=lambda p: -p[1]):
            best, best_d = None, None
            for ti in live:
                tr = tracks[ti]
                gap = b - tr["blocks"][-1]
                d = abs(a - tr["az"][-1])
                if ti in used or gap > 12 or d > GATE_DEG + 6.0 * (gap - 1):
                    continue
                if best_d is None or d < best_d:
                    best, best_d = ti, d
            if best is None:
                tracks.append({"blocks": [b], "az": [a], "mass": [mass]})
                used.add(len(tracks) - 1)
                live.append(len(tracks) - 1)
            else:
                for key, v in (("blocks", b), ("az", a), ("mass", mass)):
                    tracks[best][key].append(v)
                used.add(best)
    return tracks


def _comodulation(energies, az, step_az, specs, active, memo: dict | None = None) -> float:
    """Highest correlation of the candidate's step energy (dB) with any found source's
    (``memo``: those sources' energies kept between calls on the same ``specs``)."""
    cand = np.log10(np.sum(energies * _near(az, step_az), axis=1) + 1e-12)
    worst = -1.0
    memo = {} if memo is None else memo
    for i, sp in enumerate(specs):
        if i not in memo:
            memo[i] = np.log10(np.sum(energies * _near(az, sp.step_az), axis=1) + 1e-12)
        ref = memo[i]
        sel = active & np.isfinite(cand) & np.isfinite(ref)
        if sel.sum() < 8 or np.std(cand[sel]) < 1e-6 or np.std(ref[sel]) < 1e-6:
            continue
        worst = max(worst, float(np.corrcoef(cand[sel], ref[sel])[0, 1]))
    return worst
