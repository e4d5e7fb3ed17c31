"""What a room's diffuse sound looks like at each kind of stereo microphone.

A reverberant field is, to a good approximation, sound arriving equally from every direction
with random phases. Its interchannel coherence (the normalised cross-spectrum of the two
channels, real by symmetry) depends only on the pair, not on the room:

- two points ``d`` apart (a spaced pair; to first order a head, with ``d`` its ear
  distance): ``sinc(2 f d / c)`` (numpy's ``sinc(x) = sin(pi x) / (pi x)``), the classic
  result for a spherically isotropic field;
- a coincident pair of first-order microphones ``g = p + (1 - p) cos`` whose axes are
  ``theta`` apart: ``(p^2 + (1 - p)^2 cos(theta) / 3) / (p^2 + (1 - p)^2 / 3)`` at every
  frequency (the average of ``g_L g_R`` over the sphere; 0.71 for cardioids 100 degrees
  apart, 0 for a Blumlein pair). Reverberation in a coincident recording is therefore far
  more coherent than in a head's: a coherence that reads "dry" for a head is a room for an
  XY pair;
- a pan-pot mix has no room of its own: its reverberation is a stereo reverb send, which
  is made decorrelated between the channels (0).

:func:`direct_share` uses it to read how much of a recording is direct sound whatever the
microphone, and :mod:`engine.cues.pairfit` to model the diffuse part of each block's
covariance.
"""

from __future__ import annotations

import numpy as np

from ..audio.stereo_kinds import BINAURAL, COINCIDENT, PANNED, SPACED
from .calibration import CueCalibration
from .stereo import COINCIDENT_ANGLE_DEG, COINCIDENT_PATTERN, SPEED_OF_SOUND

EAR_DISTANCE_M = 0.18      # physical: an adult head's ear-to-ear distance
COHERENCE_BAND_HZ = (300.0, 8000.0)  # the band of StepCues.coherence (spatial.spatial_steps)


def diffuse_coherence(cal: CueCalibration, freqs: np.ndarray) -> np.ndarray:
    """The diffuse field's coherence ``(F,)`` at ``freqs`` for the kind of stereo of ``cal``
    (see module docstring)."""
    f = np.asarray(freqs, dtype=float)
    if cal.kind == COINCIDENT:
        p = COINCIDENT_PATTERN
        theta = np.radians(COINCIDENT_ANGLE_DEG)
        gamma = (p * p + (1 - p) ** 2 * np.cos(theta) / 3) / (p * p + (1 - p) ** 2 / 3)
        return np.full(f.shape, gamma)
    if cal.kind == PANNED:
        return np.zeros(f.shape)
    if cal.kind not in (BINAURAL, SPACED):
        raise ValueError(f"no diffuse-field model for stereo kind {cal.kind!r}")
    d = EAR_DISTANCE_M if cal.kind == BINAURAL or cal.spacing_m is None else cal.spacing_m
    return np.sinc(2 * f * d / SPEED_OF_SOUND)


def band_diffuse_coherence(cal: CueCalibration) -> float:
    """The diffuse coherence averaged over the coherence band (negative lobes count as 0:
    a step's coherence measure cannot go below it), for :func:`direct_share`."""
    f = np.linspace(*COHERENCE_BAND_HZ, 256)
    return float(np.mean(np.clip(diffuse_coherence(cal, f), 0.0, None)))


def direct_share(coherence, diffuse: float):
    """How much of the sound is direct, from a measured coherence (MSC, or the level-only
    kinds' :func:`engine.cues.spatial.level_coherence`; the square of the normalised
    cross-spectrum) and the pair's diffuse coherence ``diffuse``: the cross-spectrum of
    direct share ``eta`` is ``eta + (1 - eta) diffuse``, so ``eta = (sqrt(coherence) -
    diffuse) / (1 - diffuse)``. Returned squared, on the scale of a coherence measured by a
    pair whose diffuse field is incoherent (what the counting thresholds were set on)."""
    root = np.sqrt(np.clip(coherence, 0.0, 1.0))
    return np.clip((root - diffuse) / max(1.0 - diffuse, 1e-6), 0.0, 1.0) ** 2


def wetness(coherence: np.ndarray, active: np.ndarray, cal: CueCalibration) -> float:
    """How reverberant a recording is, in [0, 1]: 0 when its most direct steps (the upper
    decile of the active steps' coherence, read as the share of direct sound with
    :func:`direct_share`) reach 0.9, 1 at 0.5 or less. The upper decile: overlapping
    sources lower the coherence too, but not in the steps where one of them dominates,
    while reverberation lowers it everywhere. (0.9 and 0.5 were fitted on heads.)"""
    coherence = np.asarray(coherence, dtype=float)
    active = np.asarray(active, dtype=bool)
    if not active.any():
        return 0.0
    coh = float(np.percentile(coherence[active], 90))
    coh = float(direct_share(coh, band_diffuse_coherence(cal)))
    return float(np.clip((0.9 - coh) / 0.4, 0.0, 1.0))
