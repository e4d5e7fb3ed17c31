"""Plain stereo panning: a constant-power pan law with 1/r distance gain.

The pan position follows azimuth over the frontal half-plane: -90 degrees (fully left) puts
all of the sound in the left channel, 0 splits it equally, +90 puts it all in the right.
Constant power (``left = cos(theta)``, ``right = sin(theta)``, ``theta`` from 0 to pi/2)
keeps the loudness steady as a source crosses: a linear law would dip by 3 dB in the middle.
A source behind the listener pans like its mirrored frontal direction.
"""

from __future__ import annotations

import numpy as np

from ..binaural.render import per_sample
from ..errors import BadInput


def pan_gains(azimuth_deg) -> tuple[np.ndarray, np.ndarray]:
    """Left and right gains for azimuths (degrees, +90 right); ``L**2 + R**2 == 1``.

    Parameters
    ----------
    azimuth_deg : float or np.ndarray [shape=(...)]

    Returns
    -------
    (left, right) : np.ndarray [shape=(...)] each.
    """
    az = np.asarray(azimuth_deg, dtype=float)
    az = (az + 180.0) % 360.0 - 180.0
    az = np.where(az > 90, 180 - az, np.where(az < -90, -180 - az, az))  # fold back to front
    theta = (az + 90.0) / 180.0 * (np.pi / 2)
    return np.cos(theta), np.sin(theta)


def render_panned(mono: np.ndarray, sample_rate: int, *, azimuth_deg, distance_m=1.0,
                  times_s=None, reference_distance_m: float = 1.0) -> np.ndarray:
    """Place a mono sound in the stereo field by level alone.

    Parameters
    ----------
    mono : np.ndarray [shape=(n,)]
    sample_rate : int, Hz.
    azimuth_deg, distance_m : float, per-sample array ``(n,)``, or control points at
        ``times_s`` (linearly interpolated), as :func:`engine.binaural.render_binaural` takes.
    reference_distance_m : distance at which the gain is 1 (gain goes as 1/r).

    Returns
    -------
    np.ndarray [shape=(2, n), dtype=float32] left, right.
    """
    x = np.asarray(mono, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise BadInput(f"Panning needs a non-empty mono signal of shape (n,), got {x.shape}.")
    n = x.size
    az = per_sample(azimuth_deg, n, sample_rate, times_s, "azimuth_deg")
    r = np.maximum(per_sample(distance_m, n, sample_rate, times_s, "distance_m"), 0.2)
    left, right = pan_gains(az)
    g = reference_distance_m / r
    return np.stack([x * left * g, x * right * g]).astype(np.float32)

