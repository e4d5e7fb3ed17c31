"""Smooth azimuth tracks: a hidden-Markov model on the azimuth grid, forward-backward.

Each analysis step gives a log-likelihood over azimuths (:mod:`engine.cues.spatial`). The
source moves at most so fast, so the state (its azimuth) drifts by a Gaussian step between
analysis steps, with a small chance of a jump (a new sound elsewhere). Steps that carry little
evidence (silence, diffuse reverberation, noise) are *tempered*: their likelihood is raised
to the power ``weight`` in [0, 1], so they neither pull the track nor break it. Forward-
backward smoothing uses past and future alike, so the track does not lag behind motion the
way a causal filter would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import convolve1d

MAX_SPEED_DEG_S = 60.0
JUMP_PROB = 1e-3
EVIDENCE_SCALE = 1.0
RESCALE_STEPS = 8  # how often the forward-backward messages are rescaled (speed only)


@dataclass
class AzimuthTrack:
    """Smoothed azimuth per step: ``azimuth_deg`` ``(S,)`` (posterior mean around its mode),
    ``spread_deg`` ``(S,)`` (posterior standard deviation there), ``posterior`` ``(S, A)``."""

    azimuth_deg: np.ndarray
    spread_deg: np.ndarray
    posterior: np.ndarray


def _kernel(step_s: float, grid_step_deg: float, speed_deg_s: float) -> np.ndarray:
    sigma = max(0.5, speed_deg_s * step_s / grid_step_deg)
    half = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    return k / k.sum()


def track_azimuth(loglik: np.ndarray, weight: np.ndarray, azimuth_grid: np.ndarray, *,
                  step_s: float, max_speed_deg_s: float = MAX_SPEED_DEG_S,
                  jump_prob: float = JUMP_PROB, prior: np.ndarray | None = None) -> AzimuthTrack:
    """Forward-backward smoothing of per-step azimuth evidence.

    Parameters
    ----------
    loglik : np.ndarray [shape=(S, A) or (P, S, A)]
        Log-likelihood per step over ``azimuth_grid`` (any offset per row); with a leading
        axis, ``P`` independent tracks smoothed together (one pass over the steps).
    weight : np.ndarray [shape=(S,) or (P, S)]
        Evidence weight per step in [0, 1] (confidence x activity); 0 = no information.
    azimuth_grid : np.ndarray [shape=(A,)]
        Evenly spaced azimuths (degrees).
    step_s : float
        Seconds between steps (sets how far the source may move per step).
    prior : np.ndarray [shape=(A,)], optional
        Initial state distribution; uniform when omitted.

    Returns
    -------
    AzimuthTrack whose arrays have the leading ``P`` axis when ``loglik`` had one.
    """
    batched = loglik.ndim == 3
    ll = loglik if batched else loglik[None]
    w = np.clip(np.asarray(weight, dtype=float), 0.0, 1.0)
    w = (w if batched else w[None])[:, :, None] * EVIDENCE_SCALE
    p_count, s_count, a_count = ll.shape
    grid_step = float(azimuth_grid[1] - azimuth_grid[0])
    trans = _transition(a_count, step_s, grid_step, max_speed_deg_s, jump_prob)
    # Steps first, so each step's rows are contiguous; the loops call the ufuncs directly
    # (no temporaries, no Python wrappers): thousands of small steps per clip. Forward and
    # backward messages are rescaled only every RESCALE_STEPS steps: a message's scale
    # cancels in the posterior, and with the uniform jump no message can shrink by more
    # than (jump_prob / A)^2 a step, so the unscaled steps stay far above float64's range.
    emis = np.exp(w * (ll - ll.max(axis=2, keepdims=True))).transpose(1, 0, 2).copy()
    alpha = np.empty((s_count, p_count, a_count))
    p = np.full((p_count, a_count), 1.0 / a_count) if prior is None else \
        np.tile(prior / prior.sum(), (p_count, 1))
    add, top, mul, div, dot = np.add.reduce, np.maximum.reduce, np.multiply, np.divide, np.dot
    mul(p, emis[0], out=alpha[0])
    for s in range(1, s_count):
        a = alpha[s]
        dot(alpha[s - 1], trans, out=a)
        mul(a, emis[s], out=a)
        if s % RESCALE_STEPS == 0:
            div(a, add(a, axis=1, keepdims=True), out=a)
    # post[s] holds beta_s until the loop is done, then alpha_s * beta_s.
    post = np.empty_like(alpha)
    post[-1] = 1.0
    tmp = np.empty((p_count, a_count))
    back = trans.T
    for s in range(s_count - 2, -1, -1):
        b = post[s]
        mul(emis[s + 1], post[s + 1], out=tmp)
        dot(tmp, back, out=b)  # beta_s = T (emis_{s+1} * beta_{s+1})
        if s % RESCALE_STEPS == 0:
            div(b, top(b, axis=1, keepdims=True), out=b)
    post *= alpha
    post /= post.sum(axis=2, keepdims=True)
    post = post.transpose(1, 0, 2)  # (P, S, A)
    tracks = [AzimuthTrack(*_summarise(q, azimuth_grid), posterior=q) for q in post]
    if not batched:
        return tracks[0]
    return AzimuthTrack(np.stack([t.azimuth_deg for t in tracks]),
                        np.stack([t.spread_deg for t in tracks]), post)


_TRANS_CACHE: dict = {}


def _transition(a_count: int, step_s: float, grid_step: float, speed: float,
                jump_prob: float) -> np.ndarray:
    """Row-stochastic transition matrix ``T[i, j] = P(j | i)``: a Gaussian drift (reflected
    at the grid's ends) plus a uniform jump."""
    key = (a_count, round(step_s, 9), grid_step, speed, jump_prob)
    if key not in _TRANS_CACHE:
        kern = _kernel(step_s, grid_step, speed)
        eye = np.eye(a_count)
        drift = convolve1d(eye, kern, axis=1, mode="nearest")
        drift /= drift.sum(axis=1, keepdims=True)
        _TRANS_CACHE[key] = (1 - jump_prob) * drift + jump_prob / a_count
    return _TRANS_CACHE[key]


def _summarise(post: np.ndarray, grid: np.ndarray, window_deg: float = 12.0):
    """Mean and spread of the posterior within ``window_deg`` of its mode (so a faint second
    mode elsewhere does not drag the estimate between the two)."""
    mode = np.argmax(post, axis=1)
    step = float(grid[1] - grid[0])
    half = int(round(window_deg / step))
    idx = np.clip(mode[:, None] + np.arange(-half, half + 1)[None, :], 0, len(grid) - 1)
    p = np.take_along_axis(post, idx, axis=1)
    a = grid[idx]
    tot = p.sum(axis=1) + 1e-300
    mean = (p * a).sum(axis=1) / tot
    spread = np.sqrt(np.maximum((p * (a - mean[:, None]) ** 2).sum(axis=1) / tot, 0.0))
    return mean, spread
