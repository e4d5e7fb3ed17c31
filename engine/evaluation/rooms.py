"""Rooms for the development bench: pyroomacoustics shoebox image sources, any microphone.

A :class:`RoomSpec` is a shoebox (size, RT60, microphone position and facing). Its impulse
response at a source position is built in three parts:

1. image sources from pyroomacoustics (``ShoeBox.image_source_model``; wall absorption from
   Sabine's formula for the RT60, ``pyroomacoustics.inverse_sabine``), up to order
   :data:`MAX_ORDER`; an image set of order ``N`` is complete up to the time
   ``N * shortest side / c``, and only images that arrive before it are kept;
2. after that time, a diffuse tail of random arrivals from directions uniform on the sphere,
   with Gaussian amplitudes whose energy continues the image sources' own decay envelope at
   ``60 dB / RT60``; it goes through the same microphone, so its inter-channel coherence is
   that of the microphone in a diffuse field (a head's, an XY pair's, a spaced pair's);
3. every arrival goes through the microphone (:mod:`engine.evaluation.mics`): direct sound
   and first-order images at their exact direction and fractional delay; the response is
   then high-passed at :data:`HIGH_PASS_HZ` (the images' same-sign sum has a DC part, and
   without it the images' energy is their sum of squares, which the tail continues), and
   every part loses the high frequencies of the air it crossed (:func:`air_absorption`).

Moving sources are rendered in blocks (:func:`render_moving`): a response per block at the
block's mid-point position, the source signal cut by Hann windows at 50 % overlap (which sum
to one) and each piece convolved with its block's response. The travel time of the direct
sound is applied to the signal sample by sample (which is the Doppler shift) and taken out of
each block's response, so neighbouring blocks line up. The direct sound and first-order
images follow the source every block (:data:`BLOCK_HOP_S`); the rest of the response, which
hardly depends on the source position, is recomputed every :data:`LATE_HOP_S`.
``room=None`` is the free field (direct sound only).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import asdict, dataclass

import numpy as np

from .mics import SPEED_OF_SOUND, Microphone

MAX_ORDER = 25
BLOCK_HOP_S = 0.1
HIGH_PASS_HZ = 40.0
LATE_HOP_S = 0.5
AIR_WINDOW, AIR_HOP = 512, 128
# Room types: (name, length, width, height ranges in m, RT60 range in s). Booth to hall.
ROOM_TYPES = (
    ("booth", (2.0, 2.8), (1.8, 2.4), (2.1, 2.5), (0.15, 0.3)),
    ("small", (3.0, 5.0), (2.5, 4.0), (2.4, 2.8), (0.2, 0.5)),
    ("medium", (5.0, 9.0), (4.0, 7.0), (2.6, 3.5), (0.3, 0.7)),
    ("large", (10.0, 16.0), (8.0, 12.0), (3.5, 6.0), (0.45, 0.9)),
    ("hall", (18.0, 30.0), (12.0, 22.0), (6.0, 12.0), (0.6, 0.9)),
)
WALL_MARGIN_M = 0.3


@dataclass(frozen=True)
class RoomSpec:
    """A shoebox room with the microphone in it; ``mic_yaw_deg`` is where it faces (0 = +x)."""

    kind: str
    dims_m: tuple[float, float, float]
    rt60_s: float
    mic_m: tuple[float, float, float]
    mic_yaw_deg: float

    def key(self) -> str:
        """A stable id (rounded parameters), used by the tune/held-out split."""
        return (f"{self.kind}:" + ",".join(f"{v:.2f}" for v in self.dims_m)
                + f":{self.rt60_s:.2f}:" + ",".join(f"{v:.2f}" for v in self.mic_m)
                + f":{self.mic_yaw_deg:.0f}")

    def to_dict(self) -> dict:
        return asdict(self)

    def frame(self) -> np.ndarray:
        """Rows: the microphone's ahead, right and up unit vectors in room coordinates."""
        a = np.radians(self.mic_yaw_deg)
        return np.array([[np.cos(a), np.sin(a), 0.0], [np.sin(a), -np.cos(a), 0.0],
                         [0.0, 0.0, 1.0]])

    def to_room(self, local: np.ndarray) -> np.ndarray:
        """Local-frame points ``(..., 3)`` (ahead, right, up; m from the mic) in room space."""
        return np.asarray(self.mic_m) + np.asarray(local) @ self.frame()

    def to_local(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points) - np.asarray(self.mic_m)) @ self.frame().T

    def max_reach(self, direction_local: np.ndarray) -> float:
        """How far (m) from the microphone along a local direction stays inside the walls
        (less :data:`WALL_MARGIN_M`)."""
        d = np.asarray(direction_local, float) @ self.frame()
        d = d / max(np.linalg.norm(d), 1e-12)
        reach = np.inf
        for axis in range(3):
            lo, hi = WALL_MARGIN_M, self.dims_m[axis] - WALL_MARGIN_M
            p = self.mic_m[axis]
            if d[axis] > 1e-9:
                reach = min(reach, (hi - p) / d[axis])
            elif d[axis] < -1e-9:
                reach = min(reach, (lo - p) / d[axis])
        return float(max(reach, 0.0))


def random_room(rng: np.random.Generator) -> RoomSpec:
    """A room of a random type (:data:`ROOM_TYPES`), RT60 within that type's range (all of
    them within 0.15-0.9 s), the microphone at 1.1-1.8 m high and at least 0.8 m from the
    side walls, so a source 0.5 m away fits in every horizontal direction."""
    while True:
        kind, ls, ws, hs, rts = ROOM_TYPES[int(rng.integers(len(ROOM_TYPES)))]
        dims = tuple(round(float(rng.uniform(*r)), 2) for r in (ls, ws, hs))
        rt60 = round(float(rng.uniform(*rts)), 2)
        try:
            _absorption(dims, rt60)
        except ValueError:
            continue
        margin = WALL_MARGIN_M + 0.5
        mic = (round(float(rng.uniform(margin, dims[0] - margin)), 2),
               round(float(rng.uniform(margin, dims[1] - margin)), 2),
               round(float(rng.uniform(1.1, min(1.8, dims[2] - 0.5))), 2))
        return RoomSpec(kind, dims, rt60, mic, round(float(rng.uniform(0, 360)), 0))


@functools.lru_cache(maxsize=64)
def _absorption(dims, rt60) -> tuple[float, int]:
    import pyroomacoustics as pra
    e_abs, order = pra.inverse_sabine(rt60, list(dims))
    return float(e_abs), int(order)


@functools.lru_cache(maxsize=8)
def _shoebox(room: RoomSpec, sample_rate: int):
    import pyroomacoustics as pra
    e_abs, order = _absorption(room.dims_m, room.rt60_s)
    box = pra.ShoeBox(list(room.dims_m), fs=sample_rate, materials=pra.Material(e_abs),
                      max_order=min(order, MAX_ORDER), air_absorption=False)
    box.add_microphone(np.asarray(room.mic_m))
    return box


def image_sources(room: RoomSpec, source_m: np.ndarray, sample_rate: int = 44100):
    """Image sources of a point source (room coordinates): local-frame positions ``(N, 3)``,
    reflection amplitudes ``(N,)``, orders ``(N,)``, and the time (s) up to which the set
    is complete."""
    box = _shoebox(room, sample_rate)
    if not box.sources:
        box.add_source(np.asarray(source_m, float))
    box.sources[0].position = np.asarray(source_m, float)
    box.image_source_model()
    src = box.sources[0]
    rel = room.to_local(src.images.T)
    amp = np.asarray(src.damping, float).mean(axis=0)
    # An image (i, j, k) periods away needs about sum |d_axis| / L_axis reflections for its
    # distance d: every path shorter than max_order / |1/L| is in the set.
    complete_s = box.max_order / float(np.linalg.norm(1 / np.asarray(room.dims_m))) \
        / SPEED_OF_SOUND
    dist = np.linalg.norm(rel, axis=1)
    keep = dist / SPEED_OF_SOUND <= complete_s
    return rel[keep], amp[keep], np.asarray(src.orders)[keep], complete_s


def room_response(room: RoomSpec | None, mic: Microphone, source_local: np.ndarray, *,
                  sample_rate: int = 44100, seed: int = 0, direct: bool = True,
                  part: str = "all") -> np.ndarray:
    """Impulse response ``(2, n)`` from a source at ``source_local`` (mic frame, m) to the
    microphone, in ``room`` (``None``: free field, direct sound only). See module docstring.
    ``direct=False`` leaves the direct sound out (a reverb return); ``part`` ``"early"``
    keeps the direct sound and first-order images only, ``"late"`` the rest."""
    src = np.asarray(source_local, float).reshape(1, 3)
    direct_s = float(np.linalg.norm(src)) / SPEED_OF_SOUND
    if room is None:
        length = int((direct_s + 0.01) * sample_rate) + 64
        h = mic.response(src, np.ones(1), np.ones(1, bool), sample_rate, length)
        return air_absorption(h, sample_rate)
    rel, amp, order, complete_s = image_sources(room, room.to_room(src[0]), sample_rate)
    end_s = direct_s + room.rt60_s
    length = int(end_s * sample_rate) + 64
    exact = order <= 1
    if not direct:
        amp = np.where(order == 0, 0.0, amp)
    if part != "all":
        keep = exact if part == "early" else ~exact
        rel, amp, exact = rel[keep], amp[keep], exact[keep]
    if complete_s < end_s and part != "early":
        t_rel, t_amp = _diffuse_tail(rel, amp, complete_s, end_s, room.rt60_s,
                                     np.random.default_rng(seed))
        rel, amp = np.concatenate([rel, t_rel]), np.concatenate([amp, t_amp])
        exact = np.concatenate([exact, np.zeros(len(t_amp), bool)])
    h = mic.response(rel, amp, exact, sample_rate, length)
    return air_absorption(_high_pass(h, sample_rate), sample_rate)


def air_absorption(h: np.ndarray, sample_rate: int) -> np.ndarray:
    """Air absorption of an impulse response ``(2, n)``: the part arriving at time ``t`` has
    travelled ``c t`` metres and loses that much air's high frequencies (ISO 9613-1, 20 C,
    50 % RH; :func:`engine.binaural.render.air_absorption_gain`), applied per 3 ms step of a
    short-time spectrum. Late reverberation so decays faster at high frequencies, as in
    rooms, and a far source sounds duller than a near one."""
    from scipy.signal import istft, stft
    from ..binaural.render import air_absorption_gain
    n = h.shape[-1]
    h = np.pad(h, [(0, 0)] * (h.ndim - 1) + [(0, AIR_WINDOW)])
    f, t, spec = stft(h, fs=sample_rate, nperseg=AIR_WINDOW, noverlap=AIR_WINDOW - AIR_HOP,
                      boundary="zeros", padded=True)
    spec = spec * air_absorption_gain(t * SPEED_OF_SOUND, f).T[None]
    _, out = istft(spec, fs=sample_rate, nperseg=AIR_WINDOW, noverlap=AIR_WINDOW - AIR_HOP,
                   boundary=True)
    return out[..., :n]


@functools.lru_cache(maxsize=4)
def _hpf(sample_rate: int):
    from scipy.signal import butter
    return butter(2, HIGH_PASS_HZ, btype="high", fs=sample_rate, output="sos")


def _high_pass(h: np.ndarray, sample_rate: int) -> np.ndarray:
    """Image sources of a rigid shoebox all arrive with the same sign, so their dense sum
    carries a large DC part that no room has; remove it, as pyroomacoustics does."""
    from scipy.signal import sosfilt
    return sosfilt(_hpf(sample_rate), h, axis=-1)


def _diffuse_tail(rel, amp, start_s, end_s, rt60_s, rng, density_per_s: float = 20000.0):
    """Random arrivals in ``[start_s, end_s)`` continuing the images' energy decay."""
    t = np.linalg.norm(rel, axis=1) / SPEED_OF_SOUND
    window = (t > 0.7 * start_s) & (t <= start_s)
    decay = 6.0 * np.log(10) / rt60_s  # energy: -60 dB per RT60
    # Energy rate (per second) of the images just before start_s, referred to start_s.
    e = (amp[window] / np.maximum(t[window] * SPEED_OF_SOUND, 0.05)) ** 2
    rate = float(np.sum(e * np.exp(-decay * (start_s - t[window])))) / max(0.3 * start_s, 1e-3)
    n = max(1, int((end_s - start_s) * density_per_s))
    times = rng.uniform(start_s, end_s, n)
    dirs = rng.standard_normal((n, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    sigma = np.sqrt(rate / density_per_s * np.exp(-decay * (times - start_s)))
    dist = times * SPEED_OF_SOUND
    # The microphone divides by distance; the amplitude is given at the mic.
    return dirs * dist[:, None], rng.standard_normal(n) * sigma * dist


def render_moving(signal: np.ndarray, positions_local: np.ndarray, room: RoomSpec | None,
                  mic: Microphone, *, sample_rate: int = 44100, hop_s: float = BLOCK_HOP_S,
                  seed: int = 0) -> np.ndarray:
    """``signal (n,)`` heard through ``mic`` in ``room`` while the source moves.

    ``positions_local (n_blocks, 3)``: the source at the centre of each block (block ``b``
    centred at ``b * hop``); a single row renders a static source with one response.
    Returns ``(2, n)``.
    """
    x = np.asarray(signal, float)
    n = len(x)
    pos = np.atleast_2d(np.asarray(positions_local, float))
    if len(pos) == 1:
        h = room_response(room, mic, pos[0], sample_rate=sample_rate, seed=seed)
        return _convolve(x, h)[:, :n]
    hop = int(round(hop_s * sample_rate))
    win = np.hanning(2 * hop + 1)[:-1]  # periodic Hann: overlapping halves sum to 1
    out = np.zeros((2, n))
    # The travel time changes smoothly (Doppler): the source is delayed sample by sample by
    # its distance, and each block's response is advanced by its own direct-sound delay, so
    # crossfaded blocks line up instead of comb-filtering.
    from ..binaural.render import variable_delay
    dist = np.linalg.norm(pos, axis=1)
    centres = np.arange(len(pos)) * hop
    travel = np.interp(np.arange(n), centres, dist) / SPEED_OF_SOUND * sample_rate
    # Heard at t, emitted at t - travel: the distance at the emission time (one fixed-point
    # step of travel = r(t - travel) / c; enough at road speeds).
    travel = np.interp(np.arange(n) - travel, centres, dist) / SPEED_OF_SOUND * sample_rate
    x = variable_delay(x, travel, n)
    # The late part hardly depends on where the source is: one per LATE_HOP_S, shared.
    every = max(1, int(round(LATE_HOP_S / hop_s))) if room is not None else 0
    late = {}
    lead = mic.lead_samples(sample_rate)
    for b, p in enumerate(pos):
        lo = b * hop - hop
        a, e = max(lo, 0), min(lo + 2 * hop, n)
        if e <= a:
            continue
        piece = x[a:e] * win[a - lo:e - lo]
        if every:
            anchor = min(len(pos) - 1, (b // every) * every + every // 2)
            if anchor not in late:
                late[anchor] = room_response(room, mic, pos[anchor], sample_rate=sample_rate,
                                             seed=seed + anchor, part="late")
            h = _sum(room_response(room, mic, p, sample_rate=sample_rate, part="early"),
                     late[anchor])
        else:
            h = room_response(room, mic, p, sample_rate=sample_rate, seed=seed + b)
        # Advance by the centre's delay, less what a capsule nearer the source hears early
        # (cutting at the centre's delay would drop the near capsule's direct sound).
        shift = max(0, int(np.floor(dist[b] / SPEED_OF_SOUND * sample_rate)) - lead)
        y = _convolve(piece, h[:, shift:])
        stop = min(n, a + y.shape[1])
        out[:, a:stop] += y[:, :stop - a]
    return out


def _sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros((2, max(a.shape[1], b.shape[1])))
    out[:, :a.shape[1]] += a
    out[:, :b.shape[1]] += b
    return out


def block_count(duration_s: float, hop_s: float = BLOCK_HOP_S) -> int:
    return int(np.ceil(duration_s / hop_s)) + 1


def _convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    from scipy.signal import fftconvolve
    return fftconvolve(x[None, :], h, axes=1)


def stable_fraction(text: str) -> float:
    """A number in [0, 1) fixed by ``text`` alone (SHA-1), for deterministic splits."""
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) / 2 ** 32
