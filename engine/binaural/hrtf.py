"""Head-related impulse responses (HRIRs): load the MIT KEMAR set and prepare it for rendering.

An :class:`HrirSet` holds horizontal-plane HRIRs split into two parts, because that is what
makes smooth motion possible: a per-ear **onset delay** (seconds; the interaural time
difference lives here) and a **time-aligned filter** (the spectral part: head shadow, pinna).
Aligned filters of neighbouring azimuths can be mixed linearly without comb filtering, and
delays can change sample by sample; see :mod:`engine.binaural.render`.

Azimuths follow docs/layout-format.md: 0 ahead, +90 fully right, -90 fully left, +-180 behind. SOFA files
count the other way (+90 = left); :func:`load_sofa` converts at the file boundary.

The product ships a compact derived set (``resources/hrtf/kemar_horizontal.npz``: elevation 0,
5 degree steps, 384 taps, float32) made by ``resources/hrtf/derive_kemar_table.py`` from the
SOFA file, so rendering works without the development data. Citation (required by the data's
licence): Bill Gardner and Keith Martin, "HRTF Measurements of a KEMAR Dummy-Head
Microphone", MIT Media Lab Machine Listening Group, 1994.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadInput

KEMAR_CITATION = (
    "MIT KEMAR HRTF (normal pinna): Bill Gardner and Keith Martin, MIT Media Lab Machine "
    "Listening Group, 1994. Copyright 1994 MIT Media Laboratory; free to use with citation.")
RESOURCES_DIR = Path(__file__).resolve().parents[2] / "resources"
SHIPPED_HRIRS = RESOURCES_DIR / "hrtf" / "kemar_horizontal.npz"
PRE_DELAY_S = 16 / 44100  # samples kept before the aligned onset, room for smeared onsets


@dataclass(frozen=True, eq=False)
class HrirSet:
    """Horizontal-plane HRIRs as (onset delay, aligned filter) per azimuth and ear.

    Attributes
    ----------
    azimuth_deg : np.ndarray [shape=(A,)]
        Sorted azimuths in [-180, 180), +90 = right, evenly spaced.
    filters : np.ndarray [shape=(A, 2, taps)]
        Time-aligned filters, ear 0 = left. Each one's onset sits at ``PRE_DELAY_S``.
    delays_s : np.ndarray [shape=(A, 2)]
        Onset delay per ear, measured from the raw HRIR start, minus ``PRE_DELAY_S``: the raw
        response is (approximately) the aligned filter delayed by this amount.
    sample_rate : int
    source : str
        Where the set came from, for notes and credits.
    """

    azimuth_deg: np.ndarray
    filters: np.ndarray
    delays_s: np.ndarray
    sample_rate: int
    source: str = ""

    @property
    def taps(self) -> int:
        return int(self.filters.shape[-1])

    @property
    def step_deg(self) -> float:
        return float(360.0 / len(self.azimuth_deg))

    def raw(self, index: int) -> np.ndarray:
        """The full HRIR of grid point ``index`` (aligned filter re-delayed), ``(2, n)``."""
        extra = max(0, int(np.ceil(self.delays_s[index].max() * self.sample_rate))) + 2
        out = np.zeros((2, self.taps + extra))
        for ear in range(2):
            out[ear] = fractional_shift(np.pad(self.filters[index, ear], (0, extra)),
                                        self.delays_s[index, ear] * self.sample_rate)
        return out

    def interpolate(self, azimuth_deg: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Aligned filters ``(..., 2, taps)`` and delays ``(..., 2)`` at any azimuths.

        Linear in azimuth between the two nearest grid points (wrapping at +-180).
        """
        az = np.asarray(azimuth_deg, dtype=float)
        i0, i1, w = self._neighbours(az)
        w_f = w[..., None, None]
        filters = (1 - w_f) * self.filters[i0] + w_f * self.filters[i1]
        delays = (1 - w[..., None]) * self.delays_s[i0] + w[..., None] * self.delays_s[i1]
        return filters, delays

    def interpolate_delays(self, azimuth_deg: np.ndarray | float) -> np.ndarray:
        """Onset delays ``(..., 2)`` in seconds at any azimuths (cheap; per sample)."""
        i0, i1, w = self._neighbours(np.asarray(azimuth_deg, dtype=float))
        return (1 - w[..., None]) * self.delays_s[i0] + w[..., None] * self.delays_s[i1]

    def _neighbours(self, az: np.ndarray):
        step = self.step_deg
        pos = (wrap_deg(az) - self.azimuth_deg[0]) / step
        i0 = np.floor(pos).astype(int) % len(self.azimuth_deg)
        w = pos - np.floor(pos)
        return i0, (i0 + 1) % len(self.azimuth_deg), w

    def scaled(self, scale: float) -> "HrirSet":
        """The same head made ``scale`` times larger in every dimension (``1``: itself).

        Acoustic similarity: the wave equation round a rigid body depends on ``k a`` only,
        so a head ``s`` times larger scatters sound of frequency ``f`` as this one scatters
        ``s f``: ``H_s(f) = H(s f)``, ``h_s(t) = h(t / s) / s``. Each aligned filter is
        stretched in time by ``s`` (resampled as if recorded at ``sample_rate / s``; ``s``
        to 1/100) and every onset delay is multiplied by ``s``. Individual heads differ
        from a dummy head largely by such a frequency scale (Middlebrooks, JASA 106(3),
        1999)."""
        if abs(float(scale) - 1.0) < 1e-9:
            return self
        return _scaled(self, round(float(scale), 2))

    def resampled(self, sample_rate: int) -> "HrirSet":
        """The same set at another sample rate (filters resampled, delays kept in seconds)."""
        if int(sample_rate) == self.sample_rate:
            return self
        return _resampled(self, int(sample_rate))


def wrap_deg(az) -> np.ndarray:
    """Wrap azimuths into [-180, 180)."""
    return (np.asarray(az, dtype=float) + 180.0) % 360.0 - 180.0


def fractional_shift(x: np.ndarray, shift: float) -> np.ndarray:
    """Delay ``x`` by ``shift`` samples (may be negative or fractional), circularly, via FFT.

    Used only on short, zero-padded impulse responses, where circular wrap is harmless.
    """
    n = len(x)
    spec = np.fft.rfft(x)
    k = np.arange(len(spec))
    spec *= np.exp(-2j * np.pi * k * shift / n)
    if n % 2 == 0:  # the Nyquist bin must stay real for a real-valued shift
        spec[-1] = spec[-1].real * np.cos(np.pi * shift)
    return np.fft.irfft(spec, n)


def low_frequency_delay(h: np.ndarray, sample_rate: int, *, f_lo: float = 200.0,
                        f_hi: float = 1500.0) -> float:
    """Group delay (samples) of an impulse response from its phase slope in ``[f_lo, f_hi]``.

    The low-frequency delay is what sets the perceived (and GCC-measured) ITD; onset
    thresholds are noisy for the shadowed ear, whose response is low-passed and smeared.
    """
    nfft = 4096
    spec = np.fft.rfft(h, nfft)
    f = np.fft.rfftfreq(nfft, 1 / sample_rate)
    band = (f >= f_lo) & (f <= f_hi)
    phase = np.unwrap(np.angle(spec))[band]
    weight = np.abs(spec[band]) ** 2
    slope = np.polyfit(2 * np.pi * f[band], phase, 1, w=np.sqrt(weight))[0]
    return float(-slope * sample_rate)


def align_hrirs(azimuth_deg: np.ndarray, hrirs: np.ndarray, sample_rate: int, *,
                taps: int = 384, source: str = "") -> HrirSet:
    """Split raw HRIRs ``(A, 2, n)`` at azimuths ``(A,)`` (+90 = right) into an HrirSet.

    Each ear's response is shifted so that its low-frequency group delay lands at
    ``PRE_DELAY_S``, truncated to ``taps`` with a short fade-out.
    """
    order = np.argsort(wrap_deg(azimuth_deg))
    az = wrap_deg(azimuth_deg)[order]
    steps = np.diff(az)
    if len(az) < 4 or not np.allclose(steps, 360.0 / len(az), atol=1e-3):
        raise BadInput("The HRIR set must cover the full circle in even azimuth steps; "
                       f"got {len(az)} azimuths.", hint="Use a horizontal-plane SOFA set.")
    raw = np.asarray(hrirs, dtype=float)[order]
    pre = PRE_DELAY_S * sample_rate
    n = raw.shape[-1]
    pad = max(taps, n) + 64
    filters = np.zeros((len(az), 2, taps), dtype=np.float32)
    delays = np.zeros((len(az), 2))
    fade = np.ones(taps)
    tail = max(8, taps // 8)
    fade[-tail:] = 0.5 * (1 + np.cos(np.linspace(0, np.pi, tail)))
    for a in range(len(az)):
        for ear in range(2):
            d = low_frequency_delay(raw[a, ear], sample_rate)
            shifted = fractional_shift(np.pad(raw[a, ear], (0, pad - n)), pre - d)
            filters[a, ear] = (shifted[:taps] * fade).astype(np.float32)
            delays[a, ear] = (d - pre) / sample_rate
    return HrirSet(az, filters, delays, int(sample_rate), source)


def load_sofa(path: str | Path, *, taps: int = 384) -> HrirSet:
    """Read the horizontal plane (elevation 0) of a SOFA SimpleFreeFieldHRIR file.

    SOFA azimuth is counter-clockwise (+90 = left); it is converted here to our +90 = right.
    Receiver 0 is the left ear.
    """
    import h5py
    path = Path(path)
    if not path.exists():
        raise BadInput(f"HRTF file not found: {path}.",
                       hint="Pass a SOFA file, or omit it to use the shipped KEMAR set.")
    try:
        with h5py.File(path, "r") as f:
            pos = np.asarray(f["SourcePosition"][:], dtype=float)
            ir = np.asarray(f["Data.IR"][:], dtype=float)
            sr = int(np.asarray(f["Data.SamplingRate"][:]).ravel()[0])
    except (OSError, KeyError) as e:
        raise BadInput(f"{path.name} is not a SOFA HRIR file this app can read ({e}).",
                       hint="Use a SimpleFreeFieldHRIR SOFA file.") from None
    plane = np.abs(pos[:, 1]) < 0.5
    if plane.sum() < 4:
        raise BadInput(f"{path.name} has no horizontal-plane measurements.")
    az_spec = wrap_deg(-pos[plane, 0])  # SOFA +90 = left  ->  ours: +90 = right
    return align_hrirs(az_spec, ir[plane], sr, taps=taps, source=path.name)


def save_hrir_set(hrirs: HrirSet, path: str | Path) -> None:
    from ..fileio import atomic_path
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, azimuth_deg=hrirs.azimuth_deg.astype(np.float32),
                                filters=hrirs.filters.astype(np.float32),
                                delays_s=hrirs.delays_s.astype(np.float64),
                                sample_rate=np.int32(hrirs.sample_rate),
                                source=np.array(hrirs.source), citation=np.array(KEMAR_CITATION))


@functools.lru_cache(maxsize=4)
def default_hrirs(sample_rate: int = 44100) -> HrirSet:
    """The shipped KEMAR set (see module docstring), at ``sample_rate``."""
    if not SHIPPED_HRIRS.exists():
        raise BadInput(f"The shipped HRIR set is missing: {SHIPPED_HRIRS}.",
                       hint="Reinstall, or run resources/hrtf/derive_kemar_table.py.")
    with np.load(SHIPPED_HRIRS) as z:
        base = HrirSet(z["azimuth_deg"].astype(float), z["filters"].astype(np.float32),
                       z["delays_s"].astype(float), int(z["sample_rate"]), str(z["source"]))
    return base.resampled(sample_rate)


@functools.lru_cache(maxsize=32)
def _scaled(hrirs: HrirSet, scale: float) -> HrirSet:
    from fractions import Fraction

    from scipy.signal import resample_poly
    r = Fraction(scale).limit_denominator(100)
    filt = resample_poly(hrirs.filters.astype(float), r.numerator, r.denominator, axis=-1)
    filt = filt[..., :hrirs.taps] / scale
    return HrirSet(hrirs.azimuth_deg, filt.astype(np.float32), hrirs.delays_s * scale,
                   hrirs.sample_rate, f"{hrirs.source} scaled {scale:g}")


@functools.lru_cache(maxsize=8)
def _resampled(hrirs: HrirSet, sample_rate: int) -> HrirSet:
    from scipy.signal import resample_poly
    g = np.gcd(hrirs.sample_rate, sample_rate)
    up, down = sample_rate // g, hrirs.sample_rate // g
    filt = resample_poly(hrirs.filters.astype(float), up, down, axis=-1)
    # Resampling keeps the waveform in time; the onset stays at PRE_DELAY_S seconds.
    return HrirSet(hrirs.azimuth_deg, filt.astype(np.float32), hrirs.delays_s,
                   sample_rate, hrirs.source)
