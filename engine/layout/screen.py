"""Where a direction lands on the screen: the one home of SPEC section 2's mapping
``x_center = 0.5 + az / fov_deg`` (default field of view 180 degrees: the frontal half-plane
spans the frame width, -90 = left edge, +90 = right edge).

Everything that turns an azimuth into an x position or back (the planners, the planner
guard, the bench's ground truth and metrics, the spatializer, long-form cues) imports it
from here, so a different field of view changes them all at once.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInput

DEFAULT_FOV_DEG = 180.0


def x_from_azimuth(azimuth_deg, *, fov_deg: float = DEFAULT_FOV_DEG) -> np.ndarray:
    """Normalised x centre ``[shape=azimuth_deg.shape]`` in [0, 1] of a direction (degrees,
    +90 = right). Sources behind the listener are shown at their mirrored frontal azimuth
    (front/back ambiguity); NaN (unknown direction) stays NaN."""
    _check_fov(fov_deg)
    az = np.asarray(azimuth_deg, dtype=float)
    az = (az + 180.0) % 360.0 - 180.0
    az = np.where(az > 90, 180 - az, np.where(az < -90, -180 - az, az))
    return np.clip(0.5 + az / fov_deg, 0.0, 1.0)


def azimuth_from_x(x_center, *, fov_deg: float = DEFAULT_FOV_DEG) -> np.ndarray:
    """Inverse of :func:`x_from_azimuth`: degrees, +right, clipped to +-fov/2."""
    _check_fov(fov_deg)
    x = np.clip(np.asarray(x_center, dtype=float), 0.0, 1.0)
    return (x - 0.5) * fov_deg


def _check_fov(fov_deg: float) -> None:
    if not 10.0 <= fov_deg <= 360.0:
        raise BadInput(f"The field of view must be between 10 and 360 degrees, got {fov_deg:g}.")
