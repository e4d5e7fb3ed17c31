"""Render a mono sound binaurally along a time-varying azimuth and distance.

The direct path (and each image source of an optional room) is rendered as:

1. **Filtering** in short overlapping blocks (hop 256 samples = 5.8 ms at 44.1 kHz, Hann
   windows that sum to one): each block gets the time-aligned HRIR filter of its azimuth
   (linear between measured azimuths), the air-absorption filter of its distance, and the
   1/r gain. Overlap-add crossfades between blocks, so a moving source glides without clicks.
2. **Per-ear delays**, sample by sample with windowed-sinc interpolation: the HRIR onset
   delays (the interaural time difference) plus, with ``doppler=True``, the propagation delay
   ``(r - r_min) / c``; a changing delay is what produces the Doppler shift. The constant part
   ``r_min / c`` is left out so that the sound is not late against the clip's timeline.

Rooms add first-order image sources of a shoebox (walls reflect with the Sabine absorption
that gives ``rt60_s``) and a late diffuse tail: binaural noise decaying at ``rt60_s`` (faster
at high frequencies), partially coherent between the ears at low frequencies as a diffuse
field is, scaled so that the direct-to-reverberant ratio at distance r is
``20 log10(r_c / r)`` dB with the room's critical distance ``r_c``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import BadInput
from .hrtf import HrirSet, default_hrirs, wrap_deg
from ..acoustics import SPEED_OF_SOUND

MIN_DISTANCE_M = 0.2
_HOP_44K = 256
_SINC_HALF = 8  # taps each side of the interpolated sample (16 in all)
_BLOCKS_PER_CHUNK = 1024  # bounds memory on long input (about 6 s of audio per chunk)

# Air absorption (dB per metre) at 20 C and 50 % humidity, after ISO 9613-1; log-log interpolated.
_AIR_F = np.array([63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000, 24000], dtype=float)
_AIR_DB_PER_M = np.array([1e-4, 4e-4, 1.1e-3, 2.4e-3, 4.8e-3, 1.0e-2, 2.9e-2, 9.6e-2, 0.33, 0.6])


@dataclass(frozen=True)
class Room:
    """A shoebox room around the listener.

    Parameters
    ----------
    rt60_s : reverberation time (seconds to decay 60 dB), 0.1 to 5.
    size_m : room length (ahead), width, height in metres.
    listener_m : listener position (ahead, left, up) in the room; ``None`` puts the listener a
        little off centre (a centred listener gets symmetric reflections that cancel ILD
        fluctuations unrealistically).
    image_order : 0 (diffuse tail only) or 1 (plus the 6 first-order wall reflections).
    seed : the tail's noise seed, for reproducible renders.
    """

    rt60_s: float = 0.5
    size_m: tuple[float, float, float] = (14.0, 11.0, 4.0)
    listener_m: tuple[float, float, float] | None = None
    image_order: int = 1
    seed: int = 0

    def __post_init__(self):
        if not 0.1 <= self.rt60_s <= 5.0:
            raise BadInput(f"Room rt60_s must be between 0.1 and 5 seconds, got {self.rt60_s}.")
        if self.image_order not in (0, 1):
            raise BadInput(f"Room image_order must be 0 or 1, got {self.image_order}.")

    @property
    def volume_m3(self) -> float:
        return float(np.prod(self.size_m))

    @property
    def surface_m2(self) -> float:
        lx, ly, lz = self.size_m
        return 2 * (lx * ly + lx * lz + ly * lz)

    @property
    def absorption(self) -> float:
        """Mean wall absorption coefficient from Sabine's formula."""
        return float(np.clip(0.161 * self.volume_m3 / (self.surface_m2 * self.rt60_s), 0.02, 0.98))

    @property
    def critical_distance_m(self) -> float:
        """Distance where direct and reverberant energy are equal: sqrt(A / 16 pi)."""
        return float(np.sqrt(0.161 * self.volume_m3 / self.rt60_s / (16 * np.pi)))

    def listener(self) -> np.ndarray:
        if self.listener_m is not None:
            return np.asarray(self.listener_m, dtype=float)
        lx, ly, lz = self.size_m
        return np.array([0.45 * lx, 0.42 * ly, min(1.6, 0.5 * lz)])


def render_binaural(mono: np.ndarray, sample_rate: int, *, azimuth_deg=0.0, distance_m=2.0,
                    times_s: np.ndarray | None = None, doppler: bool = False,
                    room: Room | None = None, hrtf: HrirSet | None = None,
                    air_absorption: bool = True, reference_distance_m: float = 1.0,
                    progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Place a mono sound around a listener's head.

    Parameters
    ----------
    mono : np.ndarray [shape=(n,)]
        The dry source signal, float.
    sample_rate : int
        Hz. The HRIRs are resampled to it when it differs from theirs.
    azimuth_deg : float or np.ndarray
        docs/layout-format.md: 0 ahead, +90 fully right, -90 fully left, +-180 behind. A float
        (static), an array of ``n`` values (per sample), or control points at ``times_s``
        (linearly interpolated, the shortest way round the circle).
    distance_m : float or np.ndarray
        Metres, same forms as ``azimuth_deg``. Gain is ``reference_distance_m / r``.
    times_s : np.ndarray [shape=(k,)], optional
        Times of the control points, increasing, when the trajectories are given as points.
    doppler : bool
        Apply the changing propagation delay (pitch rises while approaching, falls after).
    room : Room, optional
        Add early reflections and a reverberant tail; ``None`` renders free field.
    hrtf : HrirSet, optional
        Defaults to the shipped MIT KEMAR set (:func:`engine.binaural.hrtf.default_hrirs`).
    air_absorption : bool
        High frequencies fade with distance (ISO 9613-1 air at 20 C, 50 % RH).
    progress : callable, optional
        Called with the share done (0..1) as the work goes on (a minute of sound in a room
        takes seconds); what it raises stops the render.

    Returns
    -------
    np.ndarray [shape=(2, n), dtype=float32]
        Left, right. Not normalised: a source at 1 m ahead comes out near the input level.
    """
    x = np.asarray(mono, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise BadInput(f"render_binaural needs a non-empty mono signal of shape (n,), got "
                       f"shape {x.shape}.", hint="Mix stereo down to mono first.")
    if not np.all(np.isfinite(x)):
        raise BadInput("The mono signal holds NaN or infinite samples.")
    if sample_rate < 8000:
        raise BadInput(f"sample_rate must be at least 8000 Hz, got {sample_rate}.")
    n = x.size
    hrirs = (hrtf or default_hrirs(int(sample_rate))).resampled(int(sample_rate))
    az = per_sample(azimuth_deg, n, sample_rate, times_s, "azimuth_deg", circular=True)
    r = np.maximum(per_sample(distance_m, n, sample_rate, times_s, "distance_m"),
                   MIN_DISTANCE_M)
    doppler_delay = (r - r.min()) / SPEED_OF_SOUND * sample_rate if doppler else 0.0
    gain = reference_distance_m / r
    # The work in parts of about equal cost: the direct path, then (in a room) the six image
    # sources and the diffuse tail.
    parts = 1 if room is None else 2 + (6 if room.image_order else 0)
    done = [0]

    def part(fraction: float) -> None:
        if progress is not None:
            progress(min(1.0, (done[0] + fraction) / parts))

    out = _render_path(x, az, r, gain, doppler_delay, hrirs, sample_rate, air_absorption, part)
    done[0] += 1
    if room is not None:
        out += _room_reflections(x, az, r, room, hrirs, sample_rate, air_absorption,
                                 reference_distance_m, doppler_delay, part, done)
        out += _diffuse_tail(x, room, hrirs, sample_rate, reference_distance_m)
        done[0] += 1
        part(0.0)
    return out.astype(np.float32)


def per_sample(value, n: int, sample_rate: int, times_s, name: str,
               circular: bool = False) -> np.ndarray:
    """A path value for every sample: a constant, one value per sample, or control points at
    ``times_s`` interpolated linearly (``circular`` unwraps angles first)."""
    v = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(v)):
        raise BadInput(f"{name} holds NaN or infinite values.")
    if v.ndim == 0:
        return np.full(n, float(v))
    if times_s is not None:
        t = np.asarray(times_s, dtype=float)
        if t.shape != v.shape or t.ndim != 1 or np.any(np.diff(t) <= 0):
            raise BadInput(f"times_s must be increasing and match {name} point for point; got "
                           f"{t.shape} times for {v.shape} values.")
        if circular:
            v = np.rad2deg(np.unwrap(np.deg2rad(v)))
        out = np.interp(np.arange(n) / sample_rate, t, v)
        return wrap_deg(out) if circular else out
    if v.shape != (n,):
        raise BadInput(f"{name} must be a number, one value per sample ({n}), or control "
                       f"points with times_s; got shape {v.shape}.")
    return v


def air_absorption_gain(distance_m: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
    """Linear gain ``(..., F)`` of ``distance_m`` metres of air at ``freqs_hz``."""
    f = np.clip(freqs_hz, _AIR_F[0], _AIR_F[-1])
    db_per_m = np.exp(np.interp(np.log(f), np.log(_AIR_F), np.log(_AIR_DB_PER_M)))
    return 10 ** (-np.asarray(distance_m)[..., None] * db_per_m / 20)


def _render_path(x, az, r, gain, extra_delay, hrirs: HrirSet, sr: int, air: bool,
                 progress: Callable[[float], None] | None = None) -> np.ndarray:
    """One propagation path: blockwise HRIR + air + gain, then per-ear sample delays;
    ``progress`` hears the share of the blocks done."""
    n = x.size
    hop = max(32, int(round(_HOP_44K * sr / 44100)))
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(2 * hop) / (2 * hop))  # periodic: sums to 1
    nfft = 1 << int(np.ceil(np.log2(2 * hop + hrirs.taps - 1)))
    spectra = np.fft.rfft(hrirs.filters.astype(float), nfft, axis=-1)  # (A, 2, F)
    freqs = np.fft.rfftfreq(nfft, 1 / sr)
    n_blocks = (n + hop - 1) // hop + 1
    xp = np.concatenate([np.zeros(hop), x, np.zeros(n_blocks * hop + nfft)])
    filtered = np.zeros((2, (n_blocks + 1) * hop + nfft))
    for b0 in range(0, n_blocks, _BLOCKS_PER_CHUNK):
        b1 = min(n_blocks, b0 + _BLOCKS_PER_CHUNK)
        k = np.arange(b0, b1)
        centre = np.minimum(k * hop, n - 1)
        idx = (k * hop)[:, None] + np.arange(2 * hop)[None, :]
        X = np.fft.rfft(xp[idx] * win, nfft, axis=-1)  # (B, F)
        i0, i1, w = hrirs._neighbours(az[centre])
        H = (1 - w)[:, None, None] * spectra[i0] + w[:, None, None] * spectra[i1]
        H *= gain[centre][:, None, None]
        if air:
            H *= air_absorption_gain(r[centre], freqs)[:, None, :]
        y = np.fft.irfft(X[:, None, :] * H, nfft, axis=-1)  # (B, 2, nfft)
        _overlap_add(filtered, y, b0 * hop, hop)
        if progress is not None:
            progress(0.9 * b1 / n_blocks)
    # Block k started at input sample k*hop - hop (the leading pad), so shift back by hop.
    filtered = filtered[:, hop:hop + n + nfft]
    ear_delays = hrirs.interpolate_delays(az)  # (n, 2) seconds
    out = np.empty((2, n))
    for ear in range(2):
        delay = ear_delays[:, ear] * sr + extra_delay
        out[ear] = variable_delay(filtered[ear], delay, n)
    if progress is not None:
        progress(1.0)
    return out


def _overlap_add(out: np.ndarray, y: np.ndarray, start: int, hop: int) -> None:
    """Add blocks ``y (B, 2, L)`` into ``out (2, N)`` at ``start + b * hop``."""
    blocks, _, length = y.shape
    pad = (-length) % hop
    if pad:
        y = np.concatenate([y, np.zeros((blocks, 2, pad))], axis=-1)
    pieces = y.shape[-1] // hop
    y = y.reshape(blocks, 2, pieces, hop)
    for j in range(pieces):
        seg = y[:, :, j, :].transpose(1, 0, 2).reshape(2, -1)  # blocks back to back
        a = start + j * hop
        out[:, a:a + seg.shape[1]] += seg


def variable_delay(x: np.ndarray, delay_samples, n_out: int) -> np.ndarray:
    """``y[t] = x(t - delay[t])`` for ``t < n_out``, windowed-sinc (Lanczos, 16 taps).

    ``delay_samples`` is a scalar or ``(n_out,)``; delays may be fractional and change
    every sample (that is the Doppler shift). Samples before ``x`` starts read as zero.
    The fractional position is quantised to 1/4096 sample (phase error below -70 dB).
    """
    pos = np.arange(n_out) - np.broadcast_to(np.asarray(delay_samples, float), (n_out,))
    base = np.floor(pos).astype(np.int64)
    q = np.minimum(np.round((pos - base) * _FRAC_STEPS).astype(np.int64), _FRAC_STEPS)
    table = _lanczos_table()
    out = np.zeros(n_out)
    xp = np.concatenate([np.zeros(_SINC_HALF), np.asarray(x, float), np.zeros(_SINC_HALF + 1)])
    for col, j in enumerate(range(-_SINC_HALF + 1, _SINC_HALF + 1)):
        i = np.clip(base + j + _SINC_HALF, 0, xp.size - 1)
        out += table[q, col] * xp[i]
    return out


_FRAC_STEPS = 4096


@functools.lru_cache(maxsize=1)
def _lanczos_table() -> np.ndarray:
    frac = np.arange(_FRAC_STEPS + 1) / _FRAC_STEPS
    d = np.arange(-_SINC_HALF + 1, _SINC_HALF + 1)[None, :] - frac[:, None]
    return np.sinc(d) * np.sinc(d / _SINC_HALF)


def _room_reflections(x, az, r, room: Room, hrirs: HrirSet, sr: int, air: bool,
                      ref: float, doppler_delay, progress=None, done=None) -> np.ndarray:
    """First-order shoebox image sources, each rendered as its own moving path (``done[0]``
    counts the paths finished, for ``progress``)."""
    if room.image_order == 0:
        return np.zeros((2, x.size))
    listener = room.listener()
    # Listener frame: x ahead, y to the LEFT, z up; azimuth +90 (right) is -y.
    rad = np.deg2rad(az)
    src = listener[:, None] + np.stack([r * np.cos(rad), -r * np.sin(rad), np.zeros_like(r)])
    beta = np.sqrt(1.0 - room.absorption)
    out = np.zeros((2, x.size))
    size = np.asarray(room.size_m, dtype=float)
    direct_delay = doppler_delay if np.ndim(doppler_delay) else r * 0.0
    for axis in range(3):
        for wall in (0.0, size[axis]):
            img = src.copy()
            img[axis] = 2 * wall - src[axis]
            v = img - listener[:, None]
            r_img = np.maximum(np.linalg.norm(v, axis=0), MIN_DISTANCE_M)
            az_img = np.rad2deg(np.arctan2(-v[1], v[0]))
            delay = direct_delay + (r_img - r) / SPEED_OF_SOUND * sr
            out += _render_path(x, az_img, r_img, beta * ref / r_img, delay, hrirs, sr, air,
                                progress)
            if done is not None:
                done[0] += 1
    return out


def _diffuse_tail(x, room: Room, hrirs: HrirSet, sr: int, ref: float) -> np.ndarray:
    """Late reverberation: the dry signal convolved with a binaural decaying-noise response.

    The tail is coloured like the HRIR set's diffuse-field response (the mean power over all
    azimuths), so that direct and reverberant sound share a spectrum and the DRR holds in
    every band, not just on average (the KEMAR responses include the measuring loudspeaker,
    weak below 200 Hz; a white tail would swamp the low end).
    """
    from scipy.signal import oaconvolve
    ir = diffuse_tail_ir(room, sr)
    m = ir.shape[-1]
    nfft = 1 << int(np.ceil(np.log2(2 * m)))
    power = np.mean(np.abs(np.fft.rfft(hrirs.filters.astype(float), nfft, axis=-1)) ** 2, axis=0)
    spec = np.fft.rfft(ir, nfft, axis=-1) * np.sqrt(power)  # zero phase: smear stays short
    ir = np.fft.irfft(spec, nfft, axis=-1)[:, :m]
    # Energy of the reverberant field relative to the direct sound at the reference distance.
    ir *= ref / room.critical_distance_m
    return np.stack([oaconvolve(x, ir[ear])[:x.size] for ear in range(2)])


_TAIL_BANDS = np.array([125, 250, 500, 1000, 2000, 4000, 8000, 16000], dtype=float)
_TAIL_RT_FACTOR = np.array([1.15, 1.08, 1.0, 1.0, 0.92, 0.78, 0.6, 0.45])


def diffuse_tail_ir(room: Room, sr: int) -> np.ndarray:
    """A binaural late-reverb impulse response ``(2, m)`` with unit total energy per ear.

    Octave bands of noise decay at the room's RT60 (shorter at high frequencies, as air and
    soft surfaces absorb them); the ears share a common part at low frequencies with the
    coherence ``sinc(k d)`` of a diffuse field at ear spacing d = 0.18 m.
    """
    from scipy.signal import butter, sosfilt
    rng = np.random.default_rng(room.seed)
    length = int(max(0.25, 1.3 * room.rt60_s) * sr)
    t = np.arange(length) / sr
    common, left, right = rng.standard_normal((3, length))
    ir = np.zeros((2, length))
    edges = np.sqrt(_TAIL_BANDS[:-1] * _TAIL_BANDS[1:])
    for b, f in enumerate(_TAIL_BANDS):
        lo = edges[b - 1] if b > 0 else None
        hi = edges[b] if b < len(edges) else None
        if lo is not None and lo >= 0.45 * sr:
            break
        if hi is not None and hi >= 0.45 * sr:
            hi = None
        kd = 2 * np.pi * f * 0.18 / SPEED_OF_SOUND
        coh = max(0.0, float(np.sinc(kd / np.pi)))
        pair = np.stack([coh * common + np.sqrt(1 - coh ** 2) * left,
                         coh * common + np.sqrt(1 - coh ** 2) * right])
        if lo is None:
            sos = butter(4, hi, "lowpass", fs=sr, output="sos")
        elif hi is None:
            sos = butter(4, lo, "highpass", fs=sr, output="sos")
        else:
            sos = butter(4, [lo, hi], "bandpass", fs=sr, output="sos")
        decay = np.exp(-6.91 * t / (room.rt60_s * _TAIL_RT_FACTOR[b]))
        ir += sosfilt(sos, pair, axis=-1) * decay
    # The late field builds up over the first tens of milliseconds (early reflections first).
    onset = int(0.005 * sr)
    ramp = np.clip((np.arange(length) - onset) / (0.025 * sr), 0.0, 1.0)
    ir *= ramp
    ir /= np.sqrt(np.mean(np.sum(ir ** 2, axis=-1)))
    return ir
