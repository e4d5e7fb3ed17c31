"""Tried for names in rooms (issue 15), not kept: dereverberation (WPE) and patch pooling.

Kept in history only (docs/planners.md, "Rooms: dereverberation (WPE) and patch pooling tried").
Each room scene of ``benchmarks/names.py`` (same seeds, same placements) is rendered and its
cues extracted once, with the arguments the pipeline passes to
:func:`engine.cues.signals.source_signals` recorded; the cache then lets each try re-make
only the tagged signal (or only the pooling of the tagger's patches) and re-plan:

    pip install nara_wpe==0.0.11          # only for --try wpe-nara
    python benchmarks/names_room_tries.py --set tune --seed 0 1 2 --try base wpe-nara ...
    python benchmarks/names_room_tries.py --set held-out --seed 0 1 2 --try ...

Tries:
- ``wpe-nara``: weighted prediction error (nara_wpe 0.0.11, ``wpe``) on both ears' STFT of the
  tagged span (the pipeline's 23 ms / 50 % grid), taps 10, delay 3, 3 iterations; then the
  beam as usual. ``wpe-nara-20``: taps 20, delay 2.
- ``wpe``: the same algorithm written out here; ``wpe-capped``: its late-reverberation
  estimate limited per bin to what the room's exponential decay allows (Polack's model:
  ``|Y(t - delay)|^2 exp(-13.8 delay hop / RT60)``, the true RT60 0.5 s given), so that a
  steady source's own predictable part is not taken for reverberation; ``-d4``: delay 4;
  ``-i1``: 1 iteration; ``wpe-75`` / ``wpe-75-capped``: on a 46 ms / 75 % overlap STFT of the
  whole stereo clip (delay 2, taps 8).
- ``snr-patches-P``: the tagger's patch scores weighted by the patch's share above the
  clip's noise floor (the P-th percentile of 50 ms powers), ``1 - floor / power``.
- ``loud-K``: the same K loudest patches for every class (instead of each class's K best);
  ``conf-3``: the 3 patches whose best class is surest; ``mean``: all patches.
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
from engine.evaluation import metrics  # noqa: E402
from engine.evaluation.scenes import (SAMPLE_RATE, canonical_label, label_matches,  # noqa: E402
                                      render_scene, truth_layout, truth_x)
from engine.evaluation.sources import load_catalogue  # noqa: E402
from engine.planning.heuristic import plan_layout_from_cues  # noqa: E402


def catalogue_for(part: str, sources: str):
    if part == "sources":
        return load_catalogue(sources)
    from engine.evaluation.sources import load_fetched_catalogue
    from engine.evaluation.world import split_catalogue
    return split_catalogue(load_fetched_catalogue(), part)


def cached_scenes(part, sources, seeds, tagger, cache: Path):
    """(seed, id, class, record) for every room scene, extracting the cues once."""
    cat = catalogue_for(part, sources)
    orig = ex.source_signals
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for info in cat:
            others = [s for s in cat if s.cls != info.cls]
            partner = others[int(rng.integers(len(others)))]
            scene = bench.scenes_for(info, partner, rng)["room"]
            f = cache / f"{part}_room_{seed}_{info.id}.pkl"
            if not f.exists():
                stereo = render_scene(scene, None)
                call = {}

                def spy(*a, **k):
                    call["a"], call["k"] = a, k
                    return orig(*a, **k)
                ex.source_signals = spy
                try:
                    cues = ex.extract_cues(Audio(stereo, SAMPLE_RATE), num_frames=bench.FRAMES,
                                           tagger=tagger)
                finally:
                    ex.source_signals = orig
                f.write_bytes(pickle.dumps({"scene": scene, "cues": cues, "call": call}))
            yield seed, info.id, canonical_label(info.cls), pickle.loads(f.read_bytes())


# -- WPE ---------------------------------------------------------------------------------------

def wpe(spec: np.ndarray, hop_s: float, taps: int = 10, delay: int = 3, iterations: int = 3,
        rt60: float | None = None) -> np.ndarray:
    """Offline multichannel WPE on ``spec`` ``(C, T, F)``; with ``rt60`` the late estimate is
    capped by the room's decay (module docstring)."""
    c, t, f = spec.shape
    y = np.transpose(spec, (2, 0, 1)).astype(np.complex128)  # (F, C, T)
    past = np.zeros((f, c * taps, t), complex)
    for k in range(taps):
        lag = delay + k
        past[:, k * c:(k + 1) * c, lag:] = y[:, :, :t - lag]
    x = y
    for _ in range(iterations):
        lam = np.maximum(np.mean(np.abs(x) ** 2, axis=1), 1e-10)  # (F, T)
        weighted = past / lam[:, None, :]
        r = np.einsum("fit,fjt->fij", weighted, past.conj())
        p = np.einsum("fit,fjt->fij", weighted, y.conj())
        load = 1e-6 * np.trace(r, axis1=1, axis2=2).real / (c * taps)
        r += load[:, None, None] * np.eye(c * taps)
        g = np.linalg.solve(r, p)
        late = np.einsum("fic,fit->fct", g.conj(), past)
        if rt60 is not None:
            bound = np.zeros(y.shape)
            bound[:, :, delay:] = (np.abs(y[:, :, :t - delay]) ** 2
                                   * np.exp(-13.8155 * delay * hop_s / rt60))
            late = late * np.sqrt(np.minimum(1.0, bound / np.maximum(np.abs(late) ** 2, 1e-30)))
        x = y - late
    return np.transpose(x, (1, 2, 0)).astype(spec.dtype)


def on_span(dereverb):
    """A tagged-signal maker that dereverberates the span's STFT before the beam."""
    def make(*a, **k):
        orig = sg.stft

        def stft(x, grid):
            return dereverb(orig(x, grid), grid.hop / grid.sample_rate)
        sg.stft = stft
        try:
            return sg.source_signals(*a, **k)
        finally:
            sg.stft = orig
    return make


def nara(taps, delay):
    def run(spec, hop_s):
        from nara_wpe.wpe import wpe as nara_wpe
        out = nara_wpe(np.transpose(spec, (2, 0, 1)).astype(np.complex128), taps=taps,
                       delay=delay, iterations=3)
        return np.transpose(out, (1, 2, 0)).astype(spec.dtype)
    return run


def on_clip_75(rt60):
    from scipy.signal import istft, stft

    def make(stereo, sr, *a, **k):
        n_fft, hop = 2048, 512
        _, _, z = stft(stereo, fs=sr, window="hann", nperseg=n_fft, noverlap=n_fft - hop,
                       boundary="even")
        x = wpe(np.transpose(z, (0, 2, 1)), hop / sr, taps=8, delay=2, rt60=rt60)
        _, y = istft(np.transpose(x, (0, 2, 1)), fs=sr, window="hann", nperseg=n_fft,
                     noverlap=n_fft - hop)
        y = np.pad(y[:, :stereo.shape[1]], ((0, 0), (0, max(0, stereo.shape[1] - y.shape[1]))))
        return sg.source_signals(y.astype(np.float32), sr, *a, **k)
    return make


# -- patch pooling -----------------------------------------------------------------------------

def _patch_powers(m16: np.ndarray, n: int) -> np.ndarray:
    first, hop = 15600, 7680  # features.pad_for_patches: 0.96 s patches, 0.48 s apart
    return np.array([np.mean(m16[i * hop:i * hop + first].astype(float) ** 2) for i in range(n)])


def pooled(pool):
    """A tag function like the pipeline's (extract._tag) with another clip pooling."""
    def tag(tagger, mono, sr, notes):
        mono = np.asarray(mono, np.float32)
        if mono.size > ex.TAG_MAX_S * sr:
            mono = ex._loudest_span(mono, sr, ex.TAG_MAX_S)
        m16 = features.pad_for_patches(features.resample_mono(ex._levelled(mono, sr), sr))
        if ym._patch_levels_db(m16).max() < ym.SILENCE_DBFS:
            return []
        scores = tagger._scores(m16)
        best = ym._nouns_of(pool(scores, m16), ym._vocabulary(), min_specific=tagger.min_score)
        tags = sorted((ym.Tag(n, s, c) for n, (s, c) in best.items() if s >= tagger.min_score),
                      key=lambda t: -t.score)
        return tags[:5]
    return tag


def snr_pool(pct):
    def pool(scores, m16):
        h = 800
        n = m16.size // h
        fr = np.mean(m16[:n * h].astype(float).reshape(n, h) ** 2, axis=1)
        fr = fr[fr > 1e-12]
        floor = np.percentile(fr, pct) if fr.size else 0.0
        w = np.clip(1 - floor / np.maximum(_patch_powers(m16, scores.shape[0]), 1e-20), 0, 1)
        return ym.clip_scores(scores * w[:, None])
    return pool


def chosen_pool(how, k=3):
    def pool(scores, m16):
        if how == "mean":
            return scores.mean(axis=0)
        key = (_patch_powers(m16, scores.shape[0]) if how == "loud" else scores.max(axis=1))
        return scores[np.argsort(-key)[:k]].mean(axis=0)
    return pool


TRIES = {
    "base": (None, None),
    "wpe-nara": (on_span(nara(10, 3)), None), "wpe-nara-20": (on_span(nara(20, 2)), None),
    "wpe": (on_span(lambda s, h: wpe(s, h)), None),
    "wpe-capped": (on_span(lambda s, h: wpe(s, h, rt60=0.5)), None),
    "wpe-capped-d4": (on_span(lambda s, h: wpe(s, h, delay=4, rt60=0.5)), None),
    "wpe-capped-i1": (on_span(lambda s, h: wpe(s, h, iterations=1, rt60=0.5)), None),
    "wpe-75": (on_clip_75(None), None), "wpe-75-capped": (on_clip_75(0.5), None),
    **{f"snr-patches-{p}": (None, pooled(snr_pool(p))) for p in (5, 10, 20)},
    "loud-3": (None, pooled(chosen_pool("loud", 3))),
    "loud-5": (None, pooled(chosen_pool("loud", 5))),
    "conf-3": (None, pooled(chosen_pool("conf", 3))), "mean": (None, pooled(chosen_pool("mean"))),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", default=str(REPO.parents[1] / "shared" / "data" / "sources"))
    ap.add_argument("--set", dest="part", choices=("tune", "held-out"), default=None,
                    help="the fetched recordings' part (default: the --sources folder)")
    ap.add_argument("--seed", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--try", dest="tries", nargs="+", default=["base"], choices=sorted(TRIES))
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "spa2v" / "names_room_tries"))
    args = ap.parse_args(argv)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    part = args.part or "sources"
    tagger = ym.YamnetTagger()
    scenes = list(cached_scenes(part, args.sources, args.seed, tagger, cache))
    for name in args.tries:
        make, tag = TRIES[name]
        make, tag = make or sg.source_signals, tag or ex._tag
        t0 = time.perf_counter()
        right = dict.fromkeys(args.seed, 0)
        for seed, _, truth, rec in scenes:
            cues, scene = rec["cues"], rec["scene"]
            if rec["call"]:
                a, k = rec["call"]["a"], rec["call"]["k"]
                for src, mono in zip(cues.sources, make(*a, **k)):
                    ok = any(np.size(m) for m in mono) if isinstance(mono, list) else mono.size
                    src.tags = tag(tagger, mono, a[1], []) if ok else []
                if len(cues.sources) == 1:
                    cues.tags = list(cues.sources[0].tags)
            layout = plan_layout_from_cues(cues)
            m = metrics.match_objects(layout, truth_layout(scene, bench.FRAMES),
                                      truth_x=truth_x(scene, bench.FRAMES),
                                      label_ok=label_matches)[0]
            right[seed] += bool(m.label_ok)
        n = len(scenes)
        print(f"{part} rooms, {name}: {sum(right.values())}/{n} (seeds "
              + " / ".join(str(right[s]) for s in args.seed)
              + f"), {time.perf_counter() - t0:.0f} s", flush=True)
    return 0




# -- channel diversity (names-diversity) --------------------------------------------------------

import functools as _ft  # noqa: E402


@_ft.lru_cache(maxsize=2)
def _ear_table(grid):
    """Per azimuth: each ear's phase-undo times its own limited EQ (A, 2, F)."""
    from engine.binaural.hrtf import default_hrirs
    hrirs = default_hrirs(grid.sample_rate)
    az = np.arange(-90.0, 90.0 + 1e-9, sg.STEER_STEP_DEG)
    filters, delays = hrirs.interpolate(az)
    freqs = grid.freqs
    h = np.fft.rfft(filters, n=grid.n_fft, axis=-1)
    h = h * np.exp(-2j * np.pi * freqs * delays[..., None])
    mag = sg._third_octave_smooth(np.abs(h), freqs)
    gain = np.sqrt(0.5 * (mag[:, 0] ** 2 + mag[:, 1] ** 2))
    ref = np.median(gain[:, (freqs >= sg.EQ_LOW_HZ) & (freqs <= 8000.0)], axis=1, keepdims=True)
    eq_db = np.clip(-20 * np.log10(mag / ref[:, None] + 1e-12), -sg.EQ_LIMIT_DB, sg.EQ_LIMIT_DB)
    low = freqs < sg.EQ_LOW_HZ
    eq_db[..., low] = eq_db[..., [int(np.argmax(~low))]]
    return (np.exp(-1j * np.angle(h)) * 10 ** (eq_db / 20)).astype(np.complex64)


def diversity(channels):
    """Per source a list of signals: 'beam', 'L', 'R' (ears equalised), 'Lraw', 'Rraw'."""
    def make(*a, **k):
        n_src = np.atleast_2d(a[2]).shape[0]
        beam = sg.source_signals(*a, **k)
        if n_src > 1:
            return [[b] for b in beam]
        outs = {"beam": beam}
        orig = sg._steered
        for ch in channels:
            if ch == "beam":
                continue
            e = 0 if ch.startswith("L") else 1

            def steered(spec, az_steps, grid, binaural, *, null_others=True, e=e, ch=ch):
                if not binaural or ch.endswith("raw"):
                    return spec[e]
                kk = np.clip(np.round((az_steps + 90.0) / sg.STEER_STEP_DEG).astype(int), 0, 90)
                w = np.repeat(_ear_table(grid)[kk, e], sg.STEP_FRAMES, axis=0)[:spec.shape[1]]
                return w * spec[e]
            sg._steered = steered
            try:
                outs[ch] = sg.source_signals(*a, **k)
            finally:
                sg._steered = orig
        return [[outs[ch][p] for ch in channels] for p in range(n_src)]
    return make


def pooled_channels(how):
    def tag(tagger, monos, sr, notes):
        if not isinstance(monos, list):
            monos = [monos]
        clip = []
        for mono in monos:
            mono = np.asarray(mono, np.float32)
            if mono.size == 0:
                continue
            if mono.size > ex.TAG_MAX_S * sr:
                mono = ex._loudest_span(mono, sr, ex.TAG_MAX_S)
            m16 = features.pad_for_patches(features.resample_mono(ex._levelled(mono, sr), sr))
            if ym._patch_levels_db(m16).max() < ym.SILENCE_DBFS:
                continue
            clip.append(tagger._scores(m16))
        if not clip:
            return []
        if how == "clip":
            s = np.mean([ym.clip_scores(c) for c in clip], axis=0)
        else:
            n = min(c.shape[0] for c in clip)
            s = ym.clip_scores(np.mean([c[:n] for c in clip], axis=0))
        best = ym._nouns_of(s, ym._vocabulary(), min_specific=tagger.min_score)
        tags = sorted((ym.Tag(n, s_, c) for n, (s_, c) in best.items() if s_ >= tagger.min_score),
                      key=lambda t: -t.score)
        return tags[:5]
    return tag


for _chs in (("beam", "L", "R"), ("L", "R"), ("beam", "Lraw", "Rraw"), ("Lraw", "Rraw"),
             ("beam",)):
    for _how in ("clip", "patch"):
        TRIES["div-" + "+".join(_chs) + "-" + _how] = (diversity(_chs), pooled_channels(_how))




def superdirective(mu, d_m=0.18, head=False):
    """One source: a fixed beam optimal for a diffuse field (ears' coherence sinc(2 pi f d / c))."""
    def make(*a, **k):
        orig = sg._steered

        def steered(spec, az_steps, grid, binaural, *, null_others=True):
            if not binaural or null_others:
                return orig(spec, az_steps, grid, binaural, null_others=null_others)
            steer, eq, _ = sg._steering_table(grid)
            f = grid.freqs
            g = np.sinc(2 * f * d_m / 343.0)
            if head:
                g = g / np.sqrt(1 + (2 * np.pi * f * d_m / 343.0 / 2.2) ** 4)
            kk = np.clip(np.round((az_steps + 90.0) / sg.STEER_STEP_DEG).astype(int), 0, len(eq) - 1)
            d0, d1 = steer[kk, 0], steer[kk, 1]
            r = 1 + mu
            n0 = r * d0 - g * d1
            n1 = r * d1 - g * d0
            den = np.real(np.conj(d0) * n0 + np.conj(d1) * n1)
            g0 = np.repeat(np.conj(n0) / den * eq[kk], sg.STEP_FRAMES, axis=0)[:spec.shape[1]]
            g1 = np.repeat(np.conj(n1) / den * eq[kk], sg.STEP_FRAMES, axis=0)[:spec.shape[1]]
            return (g0 * spec[0] + g1 * spec[1]).astype(np.complex64)
        sg._steered = steered
        try:
            return sg.source_signals(*a, **k)
        finally:
            sg._steered = orig
    return make


for _mu in (0.01, 0.1, 1.0):
    TRIES[f"sd-{_mu}"] = (superdirective(_mu), None)
    TRIES[f"sdh-{_mu}"] = (superdirective(_mu, head=True), None)


if __name__ == "__main__":  # noqa
    raise SystemExit(main())
