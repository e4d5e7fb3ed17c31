"""Azimuth calibration of the interaural cues on the measured MIT KEMAR HRTF.

What the cue extractor *reads* for a source at a given azimuth is not what a textbook head
model predicts: GCC-PHAT sees the low-frequency group delay plus pinna effects, and level
differences depend on the band. So the lookup is made by running the extractor's own
analysis (:mod:`engine.cues.spatial`) on pink noise rendered through each measured frontal
HRIR (-90..90 degrees in 5 degree steps), and interpolated (PCHIP) to 1 degree:

- ``itd_s[a]``: where the weighted GCC-PHAT peaks (seconds, + = right ear first);
- ``ild_db[a, b]``: the level difference in each third-octave band (dB, + = right louder).

The derived table ships as ``resources/hrtf/kemar_cues.npz`` (made by
``resources/hrtf/derive_kemar_table.py``; data: Gardner and Martin, MIT Media Lab, 1994), so
unit tests and users need no SOFA file. Sources behind the listener read like their mirror
image in front, which is what SPEC asks the layout to show.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..binaural.hrtf import KEMAR_CITATION, RESOURCES_DIR, HrirSet
from ..errors import BadInput
from .spatial import AnalysisGrid, band_ild, step_spectra, steered_gcc, stft, third_octave_edges

SHIPPED_CALIBRATION = RESOURCES_DIR / "hrtf" / "kemar_cues.npz"
CAL_SAMPLE_RATE = 44100


@dataclass(frozen=True, eq=False)
class CueCalibration:
    """Cue values per frontal azimuth (``A`` = 181, 1 degree steps, SPEC convention)."""

    azimuth_deg: np.ndarray
    itd_s: np.ndarray
    band_edges_hz: np.ndarray
    ild_db: np.ndarray
    source: str = ""

    def azimuth_from_itd(self, itd_s: np.ndarray) -> np.ndarray:
        """Invert the (monotonic) ITD curve: degrees for each ITD (clipped to the range)."""
        order = np.argsort(self.itd_s)
        return np.interp(itd_s, self.itd_s[order], self.azimuth_deg[order])


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) noise ``(n,)`` with unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=float)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return x / np.sqrt(np.mean(x ** 2))


def measure_cues(stereo: np.ndarray, sample_rate: int, edges_hz: np.ndarray) -> tuple[float, np.ndarray]:
    """Median GCC-PHAT ITD (s) and band ILDs (dB) of a stationary stereo signal ``(2, n)``."""
    grid = AnalysisGrid.for_rate(sample_rate)
    st = step_spectra(stft(stereo, grid))
    lags = np.arange(-1.2e-3, 1.2e-3, 1e-6)
    gcc = steered_gcc(st, st.msc, grid, lags)
    peak = np.argmax(gcc, axis=1)
    # Refine with a parabola through the peak and its neighbours (1 us grid, sub-us result).
    p = np.clip(peak, 1, len(lags) - 2)
    rows = np.arange(len(p))
    y0, y1, y2 = gcc[rows, p - 1], gcc[rows, p], gcc[rows, p + 1]
    den = y0 - 2 * y1 + y2
    shift = np.where(np.abs(den) > 1e-12, 0.5 * (y0 - y2) / den, 0.0)
    itd = lags[p] + np.clip(shift, -1, 1) * 1e-6
    ild, _ = band_ild(st, st.msc, grid, edges_hz)
    return float(np.median(itd)), np.median(ild, axis=0)


def derive_calibration(hrirs: HrirSet, *, seconds: float = 3.0, seed: int = 0) -> CueCalibration:
    """Measure the cue table from an HRIR set (see module docstring)."""
    from scipy.signal import fftconvolve
    from scipy.interpolate import PchipInterpolator
    sr = hrirs.sample_rate
    rng = np.random.default_rng(seed)
    noise = pink_noise(int(seconds * sr), rng)
    edges = third_octave_edges()
    frontal = [i for i, a in enumerate(hrirs.azimuth_deg) if -90.0 <= a <= 90.0]
    az = hrirs.azimuth_deg[frontal]
    itds, ilds = [], []
    for i in frontal:
        h = hrirs.raw(i)
        y = np.stack([fftconvolve(noise, h[ear])[:noise.size] for ear in range(2)])
        itd, ild = measure_cues(y, sr, edges)
        itds.append(itd)
        ilds.append(ild)
    fine = np.arange(-90.0, 90.5, 1.0)
    itd_fine = PchipInterpolator(az, np.array(itds))(fine)
    ild_fine = PchipInterpolator(az, np.array(ilds), axis=0)(fine)
    return CueCalibration(fine, itd_fine, edges, ild_fine, source=hrirs.source)


def save_calibration(cal: CueCalibration, path: str | Path) -> None:
    from ..fileio import atomic_path
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, azimuth_deg=cal.azimuth_deg, itd_s=cal.itd_s,
                                band_edges_hz=cal.band_edges_hz, ild_db=cal.ild_db,
                                source=np.array(cal.source), citation=np.array(KEMAR_CITATION))


def load_calibration(path: str | Path) -> CueCalibration:
    path = Path(path)
    if not path.exists():
        raise BadInput(f"Cue calibration table not found: {path}.",
                       hint="Reinstall, or run resources/hrtf/derive_kemar_table.py.")
    with np.load(path) as z:
        return CueCalibration(z["azimuth_deg"].astype(float), z["itd_s"].astype(float),
                              z["band_edges_hz"].astype(float), z["ild_db"].astype(float),
                              str(z["source"]))


@functools.lru_cache(maxsize=1)
def default_calibration() -> CueCalibration:
    """The shipped KEMAR calibration (1 degree steps, -90..90)."""
    return load_calibration(SHIPPED_CALIBRATION)
