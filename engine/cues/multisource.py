"""The second pass for several sources: each tracked on its own time-frequency mask.

Every step's bins are assigned to the source whose current direction explains them best
(:func:`engine.cues.binmodel.bin_directions` costs, evaluated only at the sources'
azimuths); bins outside the directional band are shared by the sources' in-band energy.
Each source's masked cross- and auto-spectra then go through the same cue fusion and HMM
tracker as a single source, with a prior that keeps the track near the source's coarse
path from the histograms (so a track cannot wander off to its neighbour).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..jobs import CancelToken, Job, Progress
from . import spectral
from .analysis import SMOOTH_STEPS, StepCues, chunk_spans, smooth_spectra
from .calibration import CueCalibration
from .binmodel import KAPPA_IPD, SIGMA_ILD_DB, BinModel, bin_costs
from .separation import SourceSpec
from .spatial import STEP_FRAMES, AnalysisGrid, StepSpectra, spatial_steps, step_spectra, stft
from .tracking import track_azimuth



def assign_masks(st: StepSpectra, model: BinModel, az_steps: np.ndarray, *,
                 ild_gain: float = 1.0) -> np.ndarray:
    """Masks ``(P, S, F)`` summing to one over sources: bins in the directional band go
    wholly to the best-matching source; bins below it are shared by the sources' energy in
    the lowest directional octave, bins above it by their energy in the top octave (what a
    source holds next door is the best guess for what it holds there)."""
    p_count, s_count = az_steps.shape
    ild, u_re, u_im, _, _ = bin_costs(st, model, ild_gain=ild_gain)
    idx = np.clip(np.round((az_steps - model.azimuth_deg[0]) /
                           (model.azimuth_deg[1] - model.azimuth_deg[0])).astype(int),
                  0, len(model.azimuth_deg) - 1)
    # The model per azimuth, each row contiguous: the rows are gathered once per source.
    ild_a, re_a, im_a = (np.ascontiguousarray(m.T) for m in (model.ild_db, model.phasor_re,
                                                             model.phasor_im))
    best = np.zeros(ild.shape, dtype=np.intp)  # (S, F'): the first source of least cost
    low = None
    for p in range(p_count):
        d = ild - ild_a[idx[p]]  # (S, F')
        cost = d * d / (2 * SIGMA_ILD_DB ** 2) - KAPPA_IPD * (
            u_re * re_a[idx[p]] + u_im * im_a[idx[p]])
        if low is None:
            low = cost
        else:  # np.argmin over the sources, one comparison each (the costs are finite)
            better = cost < low
            best[better] = p
            np.minimum(low, cost, out=low)
    energy = (st.p_l + st.p_r)[:, model.sel]
    band = np.nonzero(model.sel)[0]
    n_lo = max(1, band.size // 6)  # about the lowest and highest octave of the band
    below = np.arange(st.p_l.shape[1]) < band[0]
    masks = np.zeros((p_count, s_count, st.p_l.shape[1]), dtype=np.float32)
    own = np.stack([np.where(best == p, energy, 0.0) for p in range(p_count)])  # (P, S, F')
    # (the band's own bins are set below, so the top share need not be written there)
    for edge, sel_bins in ((own[:, :, :n_lo], below), (own[:, :, -n_lo:], ~below & ~model.sel)):
        share = edge.sum(axis=2)
        share /= share.sum(axis=0, keepdims=True) + 1e-20
        masks[:, :, sel_bins] = share[:, :, None]
    for p in range(p_count):
        masks[p][:, model.sel] = best == p
    return masks


def _masked(st: StepSpectra, mask: np.ndarray) -> StepSpectra:
    return StepSpectra(st.s_lr * mask, st.p_l * mask, st.p_r * mask)


def analyse_sources_job(stereo: np.ndarray, sample_rate: int, specs: list[SourceSpec],
                        cal: CueCalibration, model: BinModel, mix: StepCues, *,
                        token: CancelToken | None = None,
                        report: Callable[[float, str], Progress] | None = None
                        ) -> Job[list[StepCues]]:
    """Per-source step cues (same layout as the mix's) for each of ``specs``."""
    grid = AnalysisGrid.for_rate(sample_rate)
    n_steps = len(mix.power)
    coarse = np.stack([s.step_az for s in specs])
    step_len = STEP_FRAMES * grid.hop
    spans = chunk_spans(stereo.shape[1], sample_rate, grid)
    keys = ("az", "spread", "conf", "power", "coh", "hf", "cent", "itd", "ild")
    parts = [{k: [] for k in keys} for _ in specs]
    for ci, (r0, c0, c1, r1) in enumerate(spans):
        if token is not None:
            token.raise_if_cancelled()
        if mix.chunk_spectra is not None:
            raw, sm3, pspec = mix.chunk_spectra[ci]
        else:
            spec = stft(stereo[:, r0:r1], grid)
            raw = step_spectra(spec)
            sm3 = smooth_spectra(raw, 3)
            pspec = spectral.step_power_spectrum(raw.p_l, raw.p_r)
        s0 = r0 // step_len
        s_here = raw.p_l.shape[0]
        az_here = coarse[:, np.clip(np.arange(s0, s0 + s_here), 0, n_steps - 1)]
        masks = assign_masks(sm3, model, az_here, ild_gain=mix.ild_gain)
        a, b = (c0 - r0) // step_len, min((c1 - r0 + step_len - 1) // step_len, s_here)
        per, lls, weights = [], [], []
        for p in range(len(specs)):
            st = smooth_spectra(_masked(raw, masks[p]), SMOOTH_STEPS)
            ss = spatial_steps(st, grid, cal)
            prior = -0.5 * ((cal.azimuth_deg[None, :] - az_here[p][:, None])
                            / specs[p].prior_sigma_deg) ** 2
            own = pspec * masks[p]
            power = spectral.power_to_ms(own, grid)
            active = (power > 1e-3 * np.percentile(power, 95)).astype(float)
            per.append((ss, power, own))
            lls.append((ss.loglik + prior)[:, ::2])
            weights.append(ss.confidence * active)
        # all sources' tracks in one pass over the steps
        track = track_azimuth(np.stack(lls), np.stack(weights), cal.azimuth_deg[::2],
                              step_s=grid.step_s)
        for p, (ss, power, own) in enumerate(per):
            w = ss.band_weight[a:b]
            d = parts[p]
            d["az"].append(az_here[p, a:b] if specs[p].fixed else track.azimuth_deg[p, a:b])
            d["spread"].append(track.spread_deg[p, a:b])
            d["conf"].append(ss.confidence[a:b])
            d["power"].append(power[a:b])
            d["coh"].append(ss.coherence[a:b])
            d["hf"].append(spectral.hf_balance_db(own[a:b], grid))
            d["cent"].append(spectral.centroid_hz(own[a:b], grid))
            d["itd"].append(ss.itd_s[a:b])
            d["ild"].append(np.sum(ss.ild_db[a:b] * w, axis=1) / (w.sum(axis=1) + 1e-9))
        if report is not None:
            yield report((ci + 1) / len(spans), f"chunk {ci + 1}/{len(spans)}")
    out = []
    for d in parts:
        c = {k: np.concatenate(v) for k, v in d.items()}
        out.append(StepCues(step_s=mix.step_s, azimuth_deg=c["az"], spread_deg=c["spread"],
                            confidence=c["conf"], power=c["power"], coherence=c["coh"],
                            hf_db=c["hf"], centroid_hz=c["cent"], itd_s=c["itd"],
                            ild_db=c["ild"], onsets_s=list(mix.onsets_s),
                            ild_gain=mix.ild_gain))
    return out


def masked_signals(stereo: np.ndarray, sample_rate: int, per_source: list[StepCues], *,
                   model: BinModel, max_s: float, token: CancelToken | None = None
                   ) -> list[np.ndarray]:
    """Each source's masked mono signal (its loudest ``max_s`` seconds), for the tagger.

    The STFT uses periodic Hann windows at 50 % overlap, which sum to one, so overlap-adding
    the inverse transforms of the masked frames resynthesises the signal.
    """
    grid = AnalysisGrid.for_rate(sample_rate)
    az = np.stack([s.azimuth_deg for s in per_source])
    n_steps = az.shape[1]
    step_len = STEP_FRAMES * grid.hop
    best: list[tuple[float, np.ndarray]] = [(-1.0, np.zeros(0, np.float32)) for _ in per_source]
    for r0, c0, c1, r1 in chunk_spans(stereo.shape[1], sample_rate, grid):
        if token is not None:
            token.raise_if_cancelled()
        spec = stft(stereo[:, r0:r1], grid)
        raw = step_spectra(spec)
        s0 = r0 // step_len
        az_here = az[:, np.clip(np.arange(s0, s0 + raw.p_l.shape[0]), 0, n_steps - 1)]
        masks = assign_masks(smooth_spectra(raw, 3), model, az_here,
                             ild_gain=per_source[0].ild_gain)
        t_frames = spec.shape[1]
        mid = 0.5 * (spec[0] + spec[1])
        for p in range(len(per_source)):
            m = np.repeat(masks[p], STEP_FRAMES, axis=0)
            m = np.concatenate([m, np.repeat(m[-1:], max(0, t_frames - m.shape[0]), axis=0)])
            frames = np.fft.irfft(mid * m[:t_frames], grid.n_fft, axis=-1)
            y = np.zeros(t_frames * grid.hop + grid.n_fft)
            for j in range(grid.n_fft // grid.hop):
                seg = frames[:, j * grid.hop:(j + 1) * grid.hop].reshape(-1)
                y[j * grid.hop:j * grid.hop + seg.size] += seg
            y = y[c0 - r0:c1 - r0]
            span = _loudest(y, sample_rate, max_s)
            energy = float(np.sum(span ** 2))
            if energy > best[p][0]:
                best[p] = (energy, span.astype(np.float32))
    return [b for _, b in best]


def _loudest(y: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    n = int(seconds * sr)
    if y.size <= n:
        return y
    c = np.concatenate([[0.0], np.cumsum(y ** 2)])
    sums = c[n:] - c[:-n]
    start = int(np.argmax(sums[::sr // 10])) * (sr // 10)
    return y[start:start + n]
