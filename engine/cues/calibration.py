"""Azimuth calibration of the interaural cues on the measured MIT KEMAR HRTF.

What the cue extractor *reads* for a source at a given azimuth is not what a textbook head
model predicts: GCC-PHAT sees the low-frequency group delay plus pinna effects, and level
differences depend on the band. So the lookup is made by running the extractor's own
analysis (:mod:`engine.cues.spatial`) on pink noise rendered through each measured frontal
HRIR (-90..90 degrees in 5 degree steps), and interpolated (PCHIP) to 1 degree:

- ``itd_s[a]``: where the weighted GCC-PHAT peaks (seconds, + = right ear first), over the
  whole GCC band and separately below and above 1.2 kHz (``itd_low_s``, ``itd_high_s``);
- ``ild_db[a, b]``: the level difference in each third-octave band (dB, + = right louder).

The derived table ships as ``resources/hrtf/kemar_cues.npz`` (made by
``resources/hrtf/derive_kemar_table.py``; data: Gardner and Martin, MIT Media Lab, 1994), so
unit tests and users need no SOFA file. Sources behind the listener read like their mirror
image in front, which is what SPEC asks the layout to show.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..binaural.hrtf import KEMAR_CITATION, RESOURCES_DIR, HrirSet
from ..errors import BadInput
from .spatial import (GCC_BAND_HZ, GCC_SPLIT_HZ, AnalysisGrid, band_ild, step_spectra,
                      steered_gcc, stft, third_octave_edges)

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
    # ITD read in the low (150-1200 Hz) and high (1200-6000 Hz) GCC bands: a head delays low
    # frequencies more, so a low-pitched source would otherwise read as too far to the side.
    itd_low_s: np.ndarray | None = None
    itd_high_s: np.ndarray | None = None
    # The kind of stereo the table describes (engine.audio.stereo_kinds) and, for a spaced
    # pair, the microphone spacing it assumes.
    kind: str = "binaural"
    spacing_m: float | None = None
    # Level-only pairs whose capsules hear some directions inverted (a Blumlein pair's side
    # quadrants): +1 or -1 per azimuth, the sign of g_L g_R; None: every direction in phase.
    polarity: np.ndarray | None = None

    @property
    def level_only(self) -> bool:
        """True when the table has no time difference at all (coincident pairs, pan pots):
        the GCC-PHAT then says nothing about direction."""
        return not np.any(np.abs(self.itd_s) > 0.0)

    def itd_band_s(self, band: int) -> np.ndarray:
        table = self.itd_low_s if band == 0 else self.itd_high_s
        return self.itd_s if table is None else table

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


def _gcc_peak(st, grid, band_hz) -> np.ndarray:
    lags = np.arange(-1.2e-3, 1.2e-3, 1e-6)
    gcc = steered_gcc(st, st.msc, grid, lags, band_hz=band_hz)
    peak = np.argmax(gcc, axis=1)
    # Refine with a parabola through the peak and its neighbours (1 us grid, sub-us result).
    p = np.clip(peak, 1, len(lags) - 2)
    rows = np.arange(len(p))
    y0, y1, y2 = gcc[rows, p - 1], gcc[rows, p], gcc[rows, p + 1]
    den = y0 - 2 * y1 + y2
    shift = np.where(np.abs(den) > 1e-12, 0.5 * (y0 - y2) / den, 0.0)
    return lags[p] + np.clip(shift, -1, 1) * 1e-6


def measure_cues(stereo: np.ndarray, sample_rate: int, edges_hz: np.ndarray
                 ) -> tuple[float, np.ndarray, float, float]:
    """Median GCC-PHAT ITD (s; full band, low band, high band) and band ILDs (dB) of a
    stationary stereo signal ``(2, n)``: ``(itd, ild, itd_low, itd_high)``."""
    grid = AnalysisGrid.for_rate(sample_rate)
    st = step_spectra(stft(stereo, grid))
    itd = float(np.median(_gcc_peak(st, grid, GCC_BAND_HZ)))
    itd_lo = float(np.median(_gcc_peak(st, grid, (GCC_BAND_HZ[0], GCC_SPLIT_HZ))))
    itd_hi = float(np.median(_gcc_peak(st, grid, (GCC_SPLIT_HZ, GCC_BAND_HZ[1]))))
    ild, _ = band_ild(st, st.msc, grid, edges_hz)
    return itd, np.median(ild, axis=0), itd_lo, itd_hi


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
    itds, ilds, lows, highs = [], [], [], []
    for i in frontal:
        h = hrirs.raw(i)
        y = np.stack([fftconvolve(noise, h[ear])[:noise.size] for ear in range(2)])
        itd, ild, lo, hi = measure_cues(y, sr, edges)
        itds.append(itd)
        ilds.append(ild)
        lows.append(lo)
        highs.append(hi)
    fine = np.arange(-90.0, 90.5, 1.0)
    curve = lambda v: PchipInterpolator(az, np.array(v), axis=0)(fine)  # noqa: E731
    return CueCalibration(fine, curve(itds), edges, curve(ilds), source=hrirs.source,
                          itd_low_s=curve(lows), itd_high_s=curve(highs))


def save_calibration(cal: CueCalibration, path: str | Path) -> None:
    from ..fileio import atomic_path
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, azimuth_deg=cal.azimuth_deg, itd_s=cal.itd_s,
                                itd_low_s=cal.itd_band_s(0), itd_high_s=cal.itd_band_s(1),
                                band_edges_hz=cal.band_edges_hz, ild_db=cal.ild_db,
                                source=np.array(cal.source), citation=np.array(KEMAR_CITATION))


def load_calibration(path: str | Path) -> CueCalibration:
    path = Path(path)
    if not path.exists():
        raise BadInput(f"Cue calibration table not found: {path}.",
                       hint="Reinstall, or run resources/hrtf/derive_kemar_table.py.")
    with np.load(path) as z:
        bands = {k: z[k].astype(float) for k in ("itd_low_s", "itd_high_s") if k in z}
        return CueCalibration(z["azimuth_deg"].astype(float), z["itd_s"].astype(float),
                              z["band_edges_hz"].astype(float), z["ild_db"].astype(float),
                              str(z["source"]), **bands)


@functools.lru_cache(maxsize=1)
def default_calibration() -> CueCalibration:
    """The shipped KEMAR calibration (1 degree steps, -90..90)."""
    return load_calibration(SHIPPED_CALIBRATION)


@functools.lru_cache(maxsize=16)
def scaled_calibration(scale: float) -> CueCalibration:
    """The shipped KEMAR table for the same head ``scale`` times larger (acoustic similarity,
    :meth:`engine.binaural.hrtf.HrirSet.scaled`: ``H_s(f) = H(s f)``): every time difference
    times ``scale``, and each band's level difference the original's at ``scale`` times the
    band's centre frequency (interpolated over log frequency, held at the ends)."""
    cal = default_calibration()
    if abs(float(scale) - 1.0) < 1e-9:
        return cal
    e = cal.band_edges_hz
    centres = np.log(np.sqrt(e[:-1] * e[1:]))
    at = centres + np.log(float(scale))
    ild = np.stack([np.interp(at, centres, row) for row in cal.ild_db])
    return replace(cal, itd_s=cal.itd_s * scale, itd_low_s=cal.itd_band_s(0) * scale,
                   itd_high_s=cal.itd_band_s(1) * scale, ild_db=ild,
                   source=f"{cal.source} scaled {scale:g}")
