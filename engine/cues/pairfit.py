"""Two directions per block: fitting the interaural covariance with one source or with two.

Within a block (5 steps, 0.23 s) every frequency bin has a 2 x 2 interaural covariance
``R = [[P_L, S_LR], [S_LR*, P_R]]``. One source at azimuth ``a`` makes it rank one,
``R = P h_a h_a^H`` with ``h_a`` the KEMAR transfer function of that bin; two uncorrelated
sources at ``a`` and ``b`` make it ``P_a h_a h_a^H + P_b h_b h_b^H``, each with its own power
in every bin (their spectra differ). Written as four real numbers per bin (``P_L, P_R,
Re S_LR, Im S_LR``, scaled to unit trace), both are non-negative least-squares fits on the
columns ``g_a = (|H_L|^2, |H_R|^2, Re H_L H_R*, Im H_L H_R*)`` of the two directions, and
the pair of directions that fits best over all bins of the block says where two sources
are even when both sound all the time over the same frequencies (a waterfall beside a jet
engine), where per-bin direction histograms only see a smear between them.

In reverberant recordings a third column models the diffuse late field (equal power in both
channels, the real coherence the kind of stereo gives a diffuse field,
:func:`engine.cues.diffuse.diffuse_coherence`: ``sinc(2 f d / c)`` for a head or a spaced
pair, a constant 0.71 for XY cardioids), so the fit does not invent a second source to explain
what the room adds.

A block's fit is found by alternating searches (the best single direction, then the best
partner with it fixed, then the first again with the partner fixed); every fit is in closed
form from per-candidate Gram matrices that depend on the model only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .binmodel import BinModel

BIN_STRIDE = 4        # every 4th bin of the model's band (about 45 bins at 44.1 kHz)
AZ_STRIDE = 2         # every 2nd model azimuth: a 4 degree grid
LEVEL_RANGE_DB = 40.0
PAIR_MIN_RESIDUAL = 0.01  # blocks one direction explains this well get no two-source fit


@dataclass(frozen=True)
class PairFit:
    """Per block ``(K,)``: the two directions (degrees; ``a`` is the better single direction
    of the two) and the relative residuals of the best one-source and two-source fits (0 =
    exact, 1 = nothing explained)."""

    a_deg: np.ndarray
    b_deg: np.ndarray
    r1: np.ndarray
    r2: np.ndarray


def step_covariances(p_l: np.ndarray, p_r: np.ndarray, s_lr: np.ndarray,
                     model: BinModel) -> np.ndarray:
    """Per-step covariances ``(S, F, 4)`` float32 of the fit's bins (``P_L, P_R, Re S_LR,
    Im S_LR``) from step spectra ``(S, F_all)``; summed into blocks by the analysis."""
    cols = np.nonzero(model.sel)[0][::BIN_STRIDE]
    return np.stack([p_l[:, cols], p_r[:, cols], s_lr[:, cols].real, s_lr[:, cols].imag],
                    axis=-1).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _columns(model: BinModel, gamma_key: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate azimuths ``(A,)``, their columns ``(A, F, 4)`` and the diffuse column
    ``(F, 4)`` for the diffuse coherence ``gamma`` of each bin."""
    ild = model.ild_db[::BIN_STRIDE, ::AZ_STRIDE].astype(np.float64)
    q = 10 ** (ild / 10)
    left, right = 1 / (1 + q), q / (1 + q)
    c = np.sqrt(left * right)
    g = np.stack([left, right, c * model.phasor_re[::BIN_STRIDE, ::AZ_STRIDE],
                  c * model.phasor_im[::BIN_STRIDE, ::AZ_STRIDE]], axis=-1)
    gamma = np.frombuffer(gamma_key, dtype=float)
    zero = np.zeros_like(gamma)
    diffuse = np.stack([zero + 0.5, zero + 0.5, 0.5 * gamma, zero], axis=-1)
    return (model.azimuth_deg[::AZ_STRIDE].copy(), np.transpose(g, (1, 0, 2)).copy(),
            diffuse)


@functools.lru_cache(maxsize=8)
def _gram(model: BinModel, gamma_key: bytes, diffuse: bool) -> dict[str, np.ndarray]:
    """:func:`_columns` in the fit's precision (a 3 x 3 Gram needs double precision) with
    their products, which depend on the model alone: ``az``, ``g`` ``(A, F, 4)``, ``gn``
    ``(F, 4)``, ``gaa`` ``(A, F)``, ``gg`` ``(A, A, F)``, ``gan`` ``(A, F)``, ``nn``
    ``(F,)`` (read-only)."""
    az, g, gn = _columns(model, gamma_key)
    dt = np.float64 if diffuse else np.float32
    g, gn = g.astype(dt), gn.astype(dt)
    out = {"az": az, "g": g, "gn": gn, "gaa": np.sum(g * g, axis=-1),
           "gg": np.einsum("afj,bfj->abf", g, g),
           "gan": np.einsum("afj,fj->af", g, gn), "nn": np.sum(gn * gn, axis=-1)}
    for v in out.values():
        v.setflags(write=False)
    return out


def _fit2(g11, g12, g22, c1, c2, dd):
    """Residual of the two-column least-squares fit and whether both powers are >= 0.
    Written in place on the powers (``g22 c1`` and ``g11 c2`` already have the full
    shape at both callers): the fits run over every block, azimuth and bin."""
    det = g11 * g22 - g12 * g12 + 1e-12
    p1 = g22 * c1
    p1 -= g12 * c2
    p1 /= det
    p2 = g11 * c2
    p2 -= g12 * c1
    p2 /= det
    ok = (p1 >= 0) & (p2 >= 0)
    p1 *= c1
    res = np.subtract(dd, p1, out=p1)
    p2 *= c2
    res -= p2
    return res, ok


def _fit3(g11, g12, g13, g22, g23, g33, c1, c2, c3, dd):
    """Residual of the three-column least-squares fit (symmetric Gram, Cramer's rule) and
    whether all three powers are >= 0."""
    m11 = g22 * g33 - g23 * g23
    m12 = g13 * g23 - g12 * g33
    m13 = g12 * g23 - g13 * g22
    m22 = g11 * g33 - g13 * g13
    m23 = g12 * g13 - g11 * g23
    m33 = g11 * g22 - g12 * g12
    det = g11 * m11 + g12 * m12 + g13 * m13 + 1e-12
    p1 = (m11 * c1 + m12 * c2 + m13 * c3) / det
    p2 = (m12 * c1 + m22 * c2 + m23 * c3) / det
    p3 = (m13 * c1 + m23 * c2 + m33 * c3) / det
    return dd - p1 * c1 - p2 * c2 - p3 * c3, (p1 >= 0) & (p2 >= 0) & (p3 >= 0)


def pair_fit(cov: np.ndarray, model: BinModel, freqs: np.ndarray, *,
             diffuse: np.ndarray | None = None, iterations: int = 2,
             chunk: int = 256) -> PairFit:
    """The one- and two-source fits of every block (see module docstring).

    ``cov`` ``(K, F, 4)``: :func:`step_covariances` summed over each block; ``freqs`` the frequencies of its
    bins; ``diffuse``, the diffuse field's coherence ``(F,)`` at those bins
    (:func:`engine.cues.diffuse.diffuse_coherence`), adds the diffuse-field column to both
    fits. Bins count by level (0 at
    40 dB below the block's loudest bin, 1 at its top). Blocks are fitted ``chunk`` at a
    time, so memory stays bounded for long recordings.
    """
    if len(cov) == 0:
        empty = np.zeros(0)
        return PairFit(empty, empty, empty, empty)
    parts = [_pair_fit(cov[i:i + chunk], model, freqs, diffuse, iterations)
             for i in range(0, len(cov), chunk)]
    return PairFit(*(np.concatenate([getattr(p, k) for p in parts])
                     for k in ("a_deg", "b_deg", "r1", "r2")))


def _pair_fit(cov, model: BinModel, freqs, gamma, iterations: int) -> PairFit:
    diffuse = gamma is not None
    gamma = np.zeros(len(freqs)) if gamma is None else np.broadcast_to(gamma, (len(freqs),))
    tables = _gram(model, np.ascontiguousarray(gamma, dtype=float).tobytes(), diffuse)
    az, g, gn, gaa = tables["az"], tables["g"], tables["gn"], tables["gaa"]
    dt = g.dtype
    cov = np.asarray(cov, dtype=dt)
    trace = cov[..., 0] + cov[..., 1] + 1e-20
    d = cov / trace[..., None]
    db = 10 * np.log10(trace)
    w = np.clip((db - (db.max(axis=1, keepdims=True) - LEVEL_RANGE_DB)) / LEVEL_RANGE_DB,
                0.0, 1.0).astype(dt)
    k_all = d.shape[0]
    dd = np.sum(d * d, axis=-1)                       # (K, F)
    total = np.sum(dd * w, axis=1) + 1e-20
    c = np.einsum("afj,kfj->kaf", g, d)               # (K, A, F) column-data products
    # Per-bin residual of each direction alone (the power is clipped at zero).
    single_bin = dd[:, None, :] - np.maximum(c, 0.0) ** 2 / gaa[None]
    if diffuse:
        cn = np.einsum("fj,kfj->kf", gn, d)           # (K, F)
        gan, nn = tables["gan"], tables["nn"]
        noise_only = dd - np.maximum(cn, 0.0) ** 2 / nn
        res, ok = _fit2(gaa[None], gan[None], nn, c, cn[:, None, :], dd[:, None, :])
        single_bin = np.minimum(np.where(ok, res, single_bin), noise_only[:, None, :])
    single_bin = np.maximum(single_bin, 0.0)
    single = np.einsum("kaf,kf->ka", single_bin, w)
    a = np.argmin(single, axis=1)
    r1 = single[np.arange(k_all), a]
    a_out, b_out, r2_out = a.copy(), a.copy(), r1.copy()
    # Blocks one direction explains almost fully need no partner.
    todo = np.nonzero(r1 / total >= PAIR_MIN_RESIDUAL)[0]
    if todo.size:
        gg = tables["gg"]                              # (A, A, F) column products
        c_t, dd_t, w_t, sb_t = c[todo], dd[todo], w[todo], single_bin[todo]
        kk = np.arange(todo.size)

        def with_fixed(fixed: np.ndarray) -> np.ndarray:
            """Weighted residual ``(K', A)`` of each candidate beside the fixed direction."""
            cf = c_t[kk, fixed][:, None, :]
            g12 = gg[fixed]                            # (K', A, F)
            gff = gaa[fixed][:, None, :]
            res, ok = _fit2(gaa[None], g12, gff, c_t, cf, dd_t[:, None, :])
            np.copyto(res, np.minimum(sb_t, sb_t[kk, fixed][:, None, :]), where=~ok)  # alone
            if diffuse:
                res3, ok3 = _fit3(gaa[None], g12, gan[None], gff, gan[fixed][:, None, :],
                                  nn, c_t, cf, cn[todo][:, None, :], dd_t[:, None, :])
                res = np.where(ok3, np.minimum(res3, res), res)
            res = np.einsum("kaf,kf->ka", np.maximum(res, 0.0, out=res), w_t)
            res[kk, fixed] = np.inf
            return res

        at = a[todo]
        r2 = r1[todo].copy()
        bt = at.copy()
        for _ in range(iterations):
            res = with_fixed(at)
            bt = np.argmin(res, axis=1)
            r2 = res[kk, bt]
            res = with_fixed(bt)
            a_new = np.argmin(res, axis=1)
            better = res[kk, a_new] < r2
            at = np.where(better, a_new, at)
            r2 = np.where(better, res[kk, a_new], r2)
        # ``a`` is the one of the two that fits better alone.
        swap = single[todo, bt] < single[todo, at]
        a_out[todo] = np.where(swap, bt, at)
        b_out[todo] = np.where(swap, at, bt)
        r2_out[todo] = np.minimum(r2, r1[todo])
    return PairFit(az[a_out], az[b_out], r1 / total, r2_out / total)
