"""The bench's stereo microphones: what each kind of pair hears of sound arriving from a point.

Every microphone turns a set of point arrivals (the direct sound and the image sources of a
room, :mod:`engine.evaluation.rooms`) into a two-channel impulse response. Arrivals are
given in the microphone's local frame, ``(ahead, right, up)`` in metres from the pair's
centre, with an amplitude (the product of wall reflection factors; the ``1/r`` spreading is
applied here, per capsule, 1 at 1 m). SPEC azimuth: ``az = atan2(right, ahead)``.

=========== ============ =========== ==============================================================
name        stereo kind  set         what it is
=========== ============ =========== ==============================================================
kemar       binaural     tune        MIT KEMAR dummy head (measured HRIRs, normal pinna)
kemar-large binaural     tune        the same head 10 % larger (a large adult's head): KEMAR's
                                     HRIRs stretched in time by 1.1 (``HrirSet.scaled``)
sphere      binaural     held-out    rigid sphere, radius 9 cm, ears 10 degrees behind the axis
                                     (the analytic solution; Duda and Martens 1998)
xy90        coincident   tune        XY cardioids at +-45 degrees
blumlein    coincident   tune        figure-8s at +-45 degrees (Blumlein pair)
xy110       coincident   held-out    XY cardioids at +-55 degrees
ortf        spaced       held-out    cardioids 17 cm apart at +-55 degrees (near-coincident)
spaced      spaced       both        omnis; spacing from :data:`SPACINGS_M` of the scene's set
pan-cp      panned       tune        pan pots, constant-power law (``cos``/``sin``, -3 dB centre)
pan-6db     panned       held-out    pan pots, linear law (-6 dB centre)
=========== ============ =========== ==============================================================

Heads use their horizontal-plane HRIRs at the arrival's *lateral* angle (the cone of
confusion: interaural time and level differences depend mainly on it), front or back as the
arrival is; the direct sound and first-order images get the HRIR interpolated at their exact
angle and a fractional delay, later images share 10-degree bins (they make the diffuse part).
Pan-pot "microphones" are not in a room: :func:`pan_gains` gives their law (one of the
engine's, :data:`PAN_LAW_OF`, :func:`engine.audio.stereo_kinds.pan_law_gains`), and
:mod:`engine.evaluation.world` adds the stereo reverb send.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..acoustics import SPEED_OF_SOUND
from ..audio.stereo_kinds import BINAURAL, COINCIDENT, PANNED, SPACED, pan_law_gains

TUNE, HELD_OUT = "tune", "held-out"
SETS = (TUNE, HELD_OUT)
# Omni spacings (m) per set: different microphones, the same 10-60 cm range.
SPACINGS_M = {TUNE: (0.10, 0.20, 0.30, 0.45, 0.60), HELD_OUT: (0.15, 0.25, 0.40, 0.50, 0.55)}
ORTF_SPACING_M = 0.17
SPHERE_RADIUS_M = 0.09
# A head that is not the one the binaural tables were made from, for tuning: adult head
# breadths spread about +-7 % (5th-95th percentile) around KEMAR's 15.2 cm; hair and a hat
# add more. 1.1 is a large head, within what users' own heads and other dummy heads are.
LARGE_HEAD_SCALE = 1.1
SPHERE_EAR_DEG = 100.0
LATE_BIN_DEG = 10.0
_SINC_HALF = 8  # fractional-delay kernel: 16 taps, Hann-windowed sinc


@dataclass(frozen=True)
class MicSpec:
    name: str
    stereo: str
    part: str  # TUNE, HELD_OUT or "both"
    text: str


MIC_SPECS: tuple[MicSpec, ...] = (
    MicSpec("kemar", BINAURAL, TUNE, "KEMAR dummy head"),
    MicSpec("sphere", BINAURAL, HELD_OUT, "rigid-sphere head, r 9 cm"),
    MicSpec("xy90", COINCIDENT, TUNE, "XY cardioids, 90 degrees"),
    MicSpec("blumlein", COINCIDENT, TUNE, "Blumlein figure-8s"),
    MicSpec("xy110", COINCIDENT, HELD_OUT, "XY cardioids, 110 degrees"),
    MicSpec("ortf", SPACED, HELD_OUT, "ORTF cardioids, 17 cm"),
    MicSpec("spaced", SPACED, "both", "spaced omnis"),
    MicSpec("pan-cp", PANNED, TUNE, "pan pots, constant power"),
    MicSpec("pan-6db", PANNED, HELD_OUT, "pan pots, -6 dB law"),
    # Last: a clip's draw depends on its microphone's place here (engine.evaluation.world),
    # so a microphone added at the end leaves every other microphone's clips as they were.
    MicSpec("kemar-large", BINAURAL, TUNE, "KEMAR scaled 1.1 (a large head)"),
)
MIC_NAMES: tuple[str, ...] = tuple(m.name for m in MIC_SPECS)


def mic_spec(name: str) -> MicSpec:
    for m in MIC_SPECS:
        if m.name == name:
            return m
    raise ValueError(f"unknown microphone {name!r}; choose from {', '.join(MIC_NAMES)}")


def mics_for(part: str, selector: str | None = None) -> list[str]:
    """The microphones of a set, optionally only one name or one stereo kind (``selector``)."""
    names = [m.name for m in MIC_SPECS if m.part in (part, "both")]
    if selector:
        chosen = [n for n in names if selector in (n, mic_spec(n).stereo)]
        if not chosen:
            raise ValueError(f"no microphone {selector!r} in the {part} set; it has "
                             f"{', '.join(names)} (or a stereo kind)")
        return chosen
    return names


def true_spacing(name: str, spacing_m: float | None) -> float | None:
    """The capsule spacing (m) of a spaced-kind microphone (``spacing_m``: the omni pair's,
    from its scene), ``None`` for the other kinds: what a user who knows the pair would pass
    as ``--spacing``."""
    if name == "ortf":
        return ORTF_SPACING_M
    return spacing_m if mic_spec(name).stereo == SPACED else None


# The pan law (engine.audio.stereo_kinds.PAN_LAWS) each pan-pot "microphone" mixes with.
PAN_LAW_OF = {"pan-cp": "-3dB", "pan-6db": "-6dB"}


def true_pan_law(name: str) -> str | None:
    """The pan law of a pan-pot microphone, ``None`` for the other kinds: what a user who
    knows the mix would pass as ``--pan-law``."""
    return PAN_LAW_OF.get(name) if mic_spec(name).stereo == PANNED else None


def azimuth_of(rel: np.ndarray) -> np.ndarray:
    """SPEC azimuth (degrees, +90 right) of local-frame vectors ``(..., 3)``."""
    return np.degrees(np.arctan2(rel[..., 1], rel[..., 0]))


def pan_gains(pan: np.ndarray, law: str) -> np.ndarray:
    """Left/right gains ``(2, n)`` for pan positions in [-1, 1] (-1 hard left) of the pan-pot
    microphone ``law`` (:data:`PAN_LAW_OF`)."""
    if law not in PAN_LAW_OF:
        raise ValueError(f"unknown pan law {law!r}")
    return np.stack(pan_law_gains(pan, PAN_LAW_OF[law]))


class Microphone:
    """A pair that renders point arrivals to a ``(2, length)`` impulse response."""

    spec: MicSpec

    def lead_samples(self, sample_rate: int) -> int:
        """How many samples before the pair's centre could hear it any part of the response
        can start (a capsule nearer the source than the centre, a kernel's pre-ringing):
        a moving render may advance a block's response by the centre's delay less this."""
        return 0

    def response(self, rel: np.ndarray, amplitude: np.ndarray, exact: np.ndarray,
                 sample_rate: int, length: int) -> np.ndarray:
        """Impulse response ``(2, length)`` of arrivals ``rel (N, 3)`` (local frame, metres)
        with reflection amplitudes ``(N,)``; ``exact (N,)`` marks those rendered at their
        precise direction and fractional delay (the direct sound, early images)."""
        raise NotImplementedError


class CapsulePair(Microphone):
    """Two first-order capsules ``a + (1 - a) cos(angle)`` (a=1 omni, 0.5 cardioid, 0
    figure-8) at ``offsets (2, 3)`` m pointing along ``axes (2, 3)``; each capsule gets its
    own delay and spreading, so spaced pairs have true time differences."""

    def __init__(self, spec: MicSpec, offsets, axes, a: float):
        self.spec = spec
        self.offsets = np.asarray(offsets, dtype=float)
        axes = np.asarray(axes, dtype=float)
        self.axes = axes / np.linalg.norm(axes, axis=1, keepdims=True)
        self.a = float(a)

    def lead_samples(self, sample_rate):
        # The capsule farthest from the centre hears a source on its side up to |offset| / c
        # early; the fractional-delay kernel starts _SINC_HALF - 1 samples before its impulse.
        reach = float(np.max(np.linalg.norm(self.offsets, axis=1)))
        return int(np.ceil(reach / SPEED_OF_SOUND * sample_rate)) + _SINC_HALF

    def response(self, rel, amplitude, exact, sample_rate, length):
        out = np.zeros((2, length))
        for c in range(2):
            v = rel - self.offsets[c]
            d = np.maximum(np.linalg.norm(v, axis=1), 0.05)
            cos = (v @ self.axes[c]) / d
            gain = amplitude * (self.a + (1 - self.a) * cos) / d
            delay = d / SPEED_OF_SOUND * sample_rate
            place_impulses(out[c], delay[exact], gain[exact], sinc=True)
            place_impulses(out[c], delay[~exact], gain[~exact], sinc=False)
        return out


class Head(Microphone):
    """A head given by horizontal-plane HRIRs (an :class:`engine.binaural.hrtf.HrirSet`)."""

    def __init__(self, spec: MicSpec, hrirs):
        self.spec = spec
        self.hrirs = hrirs

    def response(self, rel, amplitude, exact, sample_rate, length):
        h = self.hrirs
        if h.sample_rate != sample_rate:
            raise ValueError(f"HRIRs at {h.sample_rate} Hz, asked for {sample_rate} Hz")
        d = np.maximum(np.linalg.norm(rel, axis=1), 0.05)
        az = horizontal_equivalent(rel)
        gain = amplitude / d
        delay = d / SPEED_OF_SOUND * sample_rate
        taps = h.taps
        out = np.zeros((2, length + taps + 4))
        # Exact arrivals: interpolated aligned filter, onset and path delay to the sample.
        for i in np.flatnonzero(exact):
            filt, ear_delay = h.interpolate(az[i])
            for ear in range(2):
                total = delay[i] + ear_delay[ear] * sample_rate
                start = int(np.floor(total))
                kernel = np.convolve(_sinc_kernel(total - start), filt[ear]) * gain[i]
                lo = start - _SINC_HALF + 1
                _add(out[ear], kernel, lo)
        # The rest: impulse trains per azimuth bin, each filtered by the bin's HRIR.
        late = np.flatnonzero(~exact)
        if late.size:
            nbins = int(round(360 / LATE_BIN_DEG))
            centres = -180 + LATE_BIN_DEG * (np.arange(nbins) + 0.5)
            b = np.clip(((az[late] + 180) // LATE_BIN_DEG).astype(int), 0, nbins - 1)
            ear_delay = h.interpolate_delays(centres)
            nfft = 1 << int(np.ceil(np.log2(length + taps + 4)))
            spectra = _bin_spectra(h, nfft)
            used = np.unique(b)
            trains = np.zeros((len(used), 2, length + 4))
            for j, k in enumerate(used):
                sel = late[b == k]
                for ear in range(2):
                    place_impulses(trains[j, ear], delay[sel] + ear_delay[k, ear] * sample_rate,
                                   gain[sel], sinc=False)
            acc = np.einsum("bef,bef->ef", np.fft.rfft(trains, nfft, axis=-1), spectra[used])
            out += np.fft.irfft(acc, nfft)[:, :out.shape[1]]
        return out[:, :length]


@functools.lru_cache(maxsize=16)
def _bin_spectra(hrirs, nfft: int) -> np.ndarray:
    """Spectra ``(bins, 2, nfft // 2 + 1)`` of the aligned filters at the late-bin centres."""
    nbins = int(round(360 / LATE_BIN_DEG))
    centres = -180 + LATE_BIN_DEG * (np.arange(nbins) + 0.5)
    filt, _ = hrirs.interpolate(centres)
    return np.fft.rfft(filt, nfft, axis=-1)


def horizontal_equivalent(rel: np.ndarray) -> np.ndarray:
    """The horizontal-plane azimuth with the same lateral angle, front or back as ``rel``."""
    d = np.maximum(np.linalg.norm(rel, axis=-1), 1e-9)
    lateral = np.degrees(np.arcsin(np.clip(rel[..., 1] / d, -1, 1)))
    back = rel[..., 0] < 0
    return np.where(back, np.where(lateral >= 0, 180.0, -180.0) - lateral, lateral)


def place_impulses(out: np.ndarray, delay: np.ndarray, gain: np.ndarray, *, sinc: bool) -> None:
    """Add impulses of ``gain`` at fractional sample positions ``delay`` into ``out`` (in
    place): a windowed-sinc kernel, or linear interpolation (cheap, for dense late parts)."""
    if delay.size == 0:
        return
    n = len(out)
    base = np.floor(delay).astype(int)
    frac = delay - base
    if sinc:
        k = np.arange(-_SINC_HALF + 1, _SINC_HALF + 1)
        w = _sinc_weights(frac[:, None], k[None, :]) * gain[:, None]
        idx = base[:, None] + k[None, :]
    else:
        idx = np.stack([base, base + 1], axis=1)
        w = np.stack([1 - frac, frac], axis=1) * gain[:, None]
    ok = (idx >= 0) & (idx < n)
    out += np.bincount(idx[ok], weights=w[ok], minlength=n)[:n]


def _sinc_weights(frac, k):
    x = k - frac
    window = 0.5 * (1 + np.cos(np.pi * x / (_SINC_HALF + 0.5)))
    return np.sinc(x) * window


def _sinc_kernel(frac: float) -> np.ndarray:
    return _sinc_weights(frac, np.arange(-_SINC_HALF + 1, _SINC_HALF + 1).astype(float))


def _add(out: np.ndarray, kernel: np.ndarray, lo: int) -> None:
    a, b = max(lo, 0), min(lo + len(kernel), len(out))
    if b > a:
        out[a:b] += kernel[a - lo:b - lo]


def _unit(az_deg: float) -> np.ndarray:
    a = np.radians(az_deg)
    return np.array([np.cos(a), np.sin(a), 0.0])


def make_microphone(name: str, *, sample_rate: int = 44100, spacing_m: float = 0.3,
                    hrtf_dir: str | Path | None = None) -> Microphone:
    """The microphone ``name`` (see module table). ``spacing_m``: the omni pair's spacing;
    ``hrtf_dir``: the folder with the measured KEMAR SOFA (else the shipped KEMAR set)."""
    spec = mic_spec(name)
    if name == "kemar":
        return Head(spec, _kemar(sample_rate, str(hrtf_dir) if hrtf_dir else None))
    if name == "kemar-large":
        return Head(spec, _kemar(sample_rate, str(hrtf_dir) if hrtf_dir else None)
                    .scaled(LARGE_HEAD_SCALE))
    if name == "sphere":
        return Head(spec, sphere_hrirs(sample_rate))
    half = {"xy90": 45.0, "blumlein": 45.0, "xy110": 55.0, "ortf": 55.0}
    if name in half:
        a = 0.0 if name == "blumlein" else 0.5
        off = ORTF_SPACING_M / 2 if name == "ortf" else 0.0
        return CapsulePair(spec, [[0, -off, 0], [0, off, 0]],
                           [_unit(-half[name]), _unit(half[name])], a)
    if name == "spaced":
        s = spacing_m / 2
        return CapsulePair(spec, [[0, -s, 0], [0, s, 0]], [_unit(-90), _unit(90)], 1.0)
    raise ValueError(f"{name!r} is not a microphone in a room (pan pots have no room)")


@functools.lru_cache(maxsize=2)
def _kemar(sample_rate: int, hrtf_dir: str | None):
    from ..binaural.hrtf import default_hrirs, load_sofa
    sofa = Path(hrtf_dir) / "MIT_KEMAR_normal_pinna.sofa" if hrtf_dir else None
    if sofa is not None and sofa.exists():
        return load_sofa(sofa, taps=512).resampled(sample_rate)
    return default_hrirs(sample_rate)


@functools.lru_cache(maxsize=2)
def sphere_hrirs(sample_rate: int = 44100, *, radius_m: float = SPHERE_RADIUS_M,
                 ear_deg: float = SPHERE_EAR_DEG, step_deg: float = 1.0, taps: int = 256):
    """Horizontal-plane HRIRs of a rigid sphere (plane-wave incidence), as an HrirSet.

    The pressure on the sphere at angle ``theta`` from the direction the wave travels is
    ``(1/(ka)^2) sum_m (2m+1) i^(m+1) P_m(cos theta) / h_m'(ka)`` (relative to the free
    field at the centre; Rayleigh's series, as in Duda and Martens, JASA 1998). Ears at
    ``+-ear_deg`` azimuth, on the horizontal plane.
    """
    from scipy.special import eval_legendre, spherical_jn, spherical_yn
    from ..binaural.hrtf import align_hrirs
    n = 1024
    f = np.fft.rfftfreq(n, 1 / sample_rate)
    ka = 2 * np.pi * np.maximum(f, 1.0) * radius_m / SPEED_OF_SOUND
    m = np.arange(int(ka.max()) + 30)[:, None]
    dh = spherical_jn(m, ka[None], derivative=True) + 1j * spherical_yn(m, ka[None],
                                                                        derivative=True)
    coef = (2 * m + 1) * (1j ** (m + 1)) / dh / ka[None] ** 2  # (M, F)
    az = np.arange(-180.0, 180.0, step_deg)
    ears = np.array([-ear_deg, ear_deg])
    theta = np.radians(np.abs(((az[:, None] - ears[None]) + 180) % 360 - 180))  # (A, 2)
    # The series' angle is measured from the direction the wave travels: the source is at pi.
    legendre = eval_legendre(m[None, None, :, 0], -np.cos(theta)[..., None])  # (A, 2, M)
    spec = np.einsum("aem,mf->aef", legendre, coef)
    # The series uses exp(-i w t): conjugate for numpy's exp(+i w t) transform, then delay so
    # the response is causal (the ear nearest the source hears it a/c before the centre).
    spec = np.conj(spec)
    spec[..., 0] = 1.0
    lead = radius_m / SPEED_OF_SOUND + 48 / sample_rate
    spec *= np.exp(-2j * np.pi * f * lead)
    irs = np.fft.irfft(spec, n)[..., :taps * 2]
    fade = np.ones(irs.shape[-1])
    fade[-taps // 2:] = 0.5 * (1 + np.cos(np.linspace(0, np.pi, taps // 2)))
    return align_hrirs(az, irs * fade, sample_rate, taps=taps, source="rigid sphere")
