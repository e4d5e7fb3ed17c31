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
    loglik : np.ndarray [shape=(S, A)]
        Log-likelihood per step over ``azimuth_grid`` (any offset per row).
    weight : np.ndarray [shape=(S,)]
        Evidence weight per step in [0, 1] (confidence x activity); 0 = no information.
    azimuth_grid : np.ndarray [shape=(A,)]
        Evenly spaced azimuths (degrees).
    step_s : float
        Seconds between steps (sets how far the source may move per step).
    prior : np.ndarray [shape=(A,)], optional
        Initial state distribution; uniform when omitted.
    """
    s_count, a_count = loglik.shape
    grid_step = float(azimuth_grid[1] - azimuth_grid[0])
    kern = _kernel(step_s, grid_step, max_speed_deg_s)
    w = np.clip(np.asarray(weight, dtype=float), 0.0, 1.0)[:, None] * EVIDENCE_SCALE
    ll = loglik - loglik.max(axis=1, keepdims=True)
    emis = np.exp(w * ll)
    uniform = 1.0 / a_count

    def predict(p: np.ndarray) -> np.ndarray:
        q = convolve1d(p, kern, mode="nearest")
        return (1 - jump_prob) * q / q.sum() + jump_prob * uniform

    alpha = np.empty((s_count, a_count))
    p = np.full(a_count, uniform) if prior is None else prior / prior.sum()
    for s in range(s_count):
        p = (predict(p) if s else p) * emis[s]
        p /= p.sum()
        alpha[s] = p
    post = np.empty_like(alpha)
    b = np.ones(a_count)
    post[-1] = alpha[-1]
    for s in range(s_count - 2, -1, -1):
        # beta_s = T^T (emis_{s+1} * beta_{s+1}); the Gaussian kernel is symmetric.
        b = predict_back(emis[s + 1] * b, kern, jump_prob)
        b /= b.max()
        g = alpha[s] * b
        post[s] = g / g.sum()
    return AzimuthTrack(*_summarise(post, azimuth_grid), posterior=post)


def predict_back(v: np.ndarray, kern: np.ndarray, jump_prob: float) -> np.ndarray:
    q = convolve1d(v, kern, mode="nearest")
    return (1 - jump_prob) * q + jump_prob * v.mean()


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
