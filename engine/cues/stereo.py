"""Reading each kind of stereo: one calibrated cue-to-azimuth mapping per kind, and ``auto``,
which decides the kind from the recording itself.

The rest of the cue extractor is written against two tables: a
:class:`~engine.cues.calibration.CueCalibration` (the time difference the GCC-PHAT reads and
the level difference per third-octave band, for each frontal azimuth) and a
:class:`~engine.cues.binmodel.BinModel` (the level ratio and phase of every frequency bin for
each azimuth). Each kind of stereo gets its own pair, from its physics:

- ``binaural``: measured on the MIT KEMAR head (:mod:`engine.cues.calibration`), frequency-
  dependent time and level differences.
- ``spaced``: two omnidirectional microphones ``d`` apart in the far field: a pure delay
  ``tau = d sin(az) / c``, no level difference. Above ``c / 2d`` the bins' phases wrap
  (a 30 cm pair aliases above 570 Hz), so the per-bin model stops there; the GCC-PHAT, which
  sums all frequencies, still finds the one delay that fits them all.
- ``coincident``: an XY pair of cardioids (``g = 1/2 + 1/2 cos(az -+ 50 deg)``): level ratio
  only, the same at every frequency. 100 degrees sits between the two common included
  angles (90 and 110 degrees): a pair at either reads within 7 degrees of the truth.
- ``panned``: the constant-power pan law ``L = cos(theta), R = sin(theta)``, ``theta = (p +
  1) pi / 4`` with pan position ``p = az / 90`` (SPEC section 2), so a sound panned hard
  left, whose right channel is silent, sits at the left edge.

``auto`` (:func:`detect_stereo`) measures, over the recording's clearly lateral steps,
whether the channels differ in time or only in level, and whether the level difference
grows with frequency (a head's shadow) or not (spaced microphones); see its docstring.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field

import numpy as np

from ..audio.stereo_kinds import AUTO, LEVEL_ONLY, STEREO_KINDS, check_stereo
from .binmodel import BIN_BAND_HZ, HIST_STEP_DEG, BinModel, bin_model, transfer_model
from .calibration import CueCalibration, default_calibration
from .spatial import (AnalysisGrid, band_ild, level_coherence, step_spectra, steered_gcc, stft,
                      third_octave_edges)

SPEED_OF_SOUND = 343.0
COINCIDENT_ANGLE_DEG = 100.0   # included angle of the assumed XY cardioid pair
COINCIDENT_PATTERN = 0.5       # g = p + (1 - p) cos: 0.5 cardioid, 0 figure-of-eight
# Spaced pairs: a phone held sideways is about 15 cm wide, an AB pair 20-60 cm. Without
# evidence of a wider pair, the spacing is the one that makes the largest delay heard
# come from 80 degrees, but never less than this (a source near the centre says little).
MIN_SPACING_M = 0.15
MAX_SPACING_M = 1.0
SPACED_EDGE_DEG = 80.0
MIN_ALIAS_HZ = 500.0           # the spaced per-bin model keeps at least up to here


@dataclass
class StereoDecision:
    """Which kind of stereo the cues were read as: ``kind`` (one of
    :data:`~engine.audio.stereo_kinds.STEREO_KINDS`), ``chosen`` ("auto" or "user"),
    ``confidence`` in [0, 1] (1 when the user chose), the spacing assumed for a spaced pair,
    and the measures ``auto`` decided on."""

    kind: str
    chosen: str = AUTO
    confidence: float = 1.0
    spacing_m: float | None = None
    evidence: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["confidence"] = round(float(self.confidence), 3)
        d["evidence"] = {k: round(float(v), 4) for k, v in self.evidence.items()}
        if self.spacing_m is None:
            d.pop("spacing_m")
        else:
            d["spacing_m"] = round(float(self.spacing_m), 3)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "StereoDecision":
        return cls(kind=str(d["kind"]), chosen=str(d.get("chosen", AUTO)),
                   confidence=float(d.get("confidence", 1.0)),
                   spacing_m=None if d.get("spacing_m") is None else float(d["spacing_m"]),
                   evidence={str(k): float(v) for k, v in d.get("evidence", {}).items()})

    def describe(self) -> str:
        how = "you chose" if self.chosen != AUTO else f"decided from the recording, " \
              f"{100 * self.confidence:.0f} % sure"
        gap = f", microphones {100 * self.spacing_m:.0f} cm apart" if self.spacing_m else ""
        return f"Read as {self.kind} stereo ({how}{gap})."


# -- the per-kind mappings -------------------------------------------------------------------

def coincident_gains(azimuth_deg, *, angle_deg: float = COINCIDENT_ANGLE_DEG,
                     pattern: float = COINCIDENT_PATTERN) -> tuple[np.ndarray, np.ndarray]:
    """Left and right gains ``(A,)`` of a coincident pair whose axes point ``angle_deg / 2``
    to either side, for a source at ``azimuth_deg`` (+ = right)."""
    az = np.radians(np.asarray(azimuth_deg, float))
    half = np.radians(angle_deg / 2)
    return (pattern + (1 - pattern) * np.cos(az + half),
            pattern + (1 - pattern) * np.cos(az - half))


def pan_gains(azimuth_deg) -> tuple[np.ndarray, np.ndarray]:
    """Constant-power pan law: left and right gains for pan position ``az / 90``."""
    theta = (np.clip(np.asarray(azimuth_deg, float), -90, 90) + 90.0) / 180.0 * (np.pi / 2)
    return np.cos(theta), np.sin(theta)


def spaced_delay_s(azimuth_deg, spacing_m: float) -> np.ndarray:
    """Far-field time difference (s, + = right microphone first) of a spaced pair."""
    return spacing_m * np.sin(np.radians(np.asarray(azimuth_deg, float))) / SPEED_OF_SOUND


def calibration_for(kind: str, *, spacing_m: float | None = None) -> CueCalibration:
    """The cue table of one kind of stereo (see module docstring)."""
    if kind == "binaural":
        return default_calibration()
    if kind not in STEREO_KINDS:
        raise ValueError(f"unknown stereo kind {kind!r}")
    return _calibration(kind, None if kind != "spaced" else round(_spacing(spacing_m), 3))


@functools.lru_cache(maxsize=8)
def _calibration(kind: str, spacing_m: float | None) -> CueCalibration:
    az = np.arange(-90.0, 90.5, 1.0)
    edges = third_octave_edges()
    n_bands = len(edges) - 1
    itd = np.zeros_like(az)
    ild = np.zeros((len(az), n_bands))
    if kind == "spaced":
        itd = spaced_delay_s(az, spacing_m)
    else:
        gl, gr = coincident_gains(az) if kind == "coincident" else pan_gains(az)
        level = 20 * np.log10((np.abs(gr) + 1e-6) / (np.abs(gl) + 1e-6))
        ild = np.repeat(np.clip(level, -40.0, 40.0)[:, None], n_bands, axis=1)
    return CueCalibration(az, itd, edges, ild, source=f"{kind} stereo model", itd_low_s=itd,
                          itd_high_s=itd, kind=kind, spacing_m=spacing_m)


def model_for(kind: str, grid: AnalysisGrid, *, spacing_m: float | None = None) -> BinModel:
    """The per-bin model of one kind of stereo at the grid's sample rate."""
    if kind == "binaural":
        return bin_model(grid)
    return _model(kind, grid, None if kind != "spaced" else round(_spacing(spacing_m), 3))


@functools.lru_cache(maxsize=8)
def _model(kind: str, grid: AnalysisGrid, spacing_m: float | None) -> BinModel:
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)
    freqs = grid.freqs
    top = BIN_BAND_HZ[1]
    if kind == "spaced":
        # Above c / 2d a bin's phase no longer names one direction (spatial aliasing).
        top = float(np.clip(SPEED_OF_SOUND / (2 * spacing_m), MIN_ALIAS_HZ, BIN_BAND_HZ[1]))
    sel = (freqs >= BIN_BAND_HZ[0]) & (freqs <= top)
    f = freqs[sel][None, :]
    if kind == "spaced":
        tau = spaced_delay_s(az, spacing_m)[:, None]
        hl, hr = np.exp(-1j * np.pi * f * tau), np.exp(1j * np.pi * f * tau)
    else:
        gl, gr = coincident_gains(az) if kind == "coincident" else pan_gains(az)
        hl = np.repeat(gl[:, None], f.shape[1], axis=1).astype(complex)
        hr = np.repeat(gr[:, None], f.shape[1], axis=1).astype(complex)
    return transfer_model(az, sel, hl, hr, level_only=kind in LEVEL_ONLY)


def _spacing(spacing_m: float | None) -> float:
    """A usable spacing: the one given (2 cm to 1 m), or the floor of the estimate."""
    return float(np.clip(MIN_SPACING_M if spacing_m is None else spacing_m, 0.02, MAX_SPACING_M))


# -- auto -----------------------------------------------------------------------------------

DETECT_MAX_S = 30.0       # the first 30 s are enough to tell
LAG_MAX_S = 2.0e-3        # GCC-PHAT lag search: beyond any head, up to a 68 cm pair
LATERAL_DELAY_S = 60e-6   # a time difference this large is off-centre (a head at ~7 degrees)
LATERAL_LEVEL_DB = 1.5    # ... and so is a broadband level difference this large
HEAD_SHADOW_DB = 2.5      # a head's level difference grows this much from <1 kHz to 3-10 kHz
HEAD_MAX_DELAY_S = 0.85e-3  # no head delays more (KEMAR: 0.7 ms at 90 degrees)
HARD_PAN_DB = 24.0        # beyond a cardioid pair's largest frontal difference (17.6 dB)
DRY_COHERENCE = 0.95      # a level-only recording this coherent has no room in it
MIN_LATERAL_STEPS = 8


def resolve_stereo(choice: str | None, stereo: np.ndarray, sample_rate: int, *,
                   spacing_m: float | None = None) -> StereoDecision:
    """The kind to read ``stereo`` ``(2, n)`` as: the user's ``choice``, or, for ``auto``,
    :func:`detect_stereo`'s decision. A spaced pair's spacing is ``spacing_m`` when given,
    otherwise estimated from the largest delay heard."""
    choice = check_stereo(choice)
    if choice in ("binaural",) + LEVEL_ONLY:
        return StereoDecision(choice, chosen="user", confidence=1.0)
    feats = _features(stereo, sample_rate)
    if choice == AUTO:
        decision = detect_stereo(stereo, sample_rate, features=feats)
    else:
        decision = StereoDecision(choice, chosen="user", confidence=1.0)
    if decision.kind == "spaced":
        decision.spacing_m = (float(spacing_m) if spacing_m is not None
                              else estimate_spacing(stereo, sample_rate, features=feats))
    return decision


def _features(stereo: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
    """Per-step measures over the first :data:`DETECT_MAX_S` seconds (3-step smoothing):
    GCC-PHAT delay and its height, coherent-part level differences below 1 kHz, 1-3 kHz and
    3-10 kHz, coherence, power."""
    from .analysis import smooth_spectra
    grid = AnalysisGrid.for_rate(sample_rate)
    x = np.asarray(stereo[:, :int(DETECT_MAX_S * sample_rate)], np.float32)
    st = smooth_spectra(step_spectra(stft(x, grid)), 3)
    # A channel that is nearly silent (a hard pan) has no MSC but is all direct sound.
    msc = np.maximum(st.msc, level_coherence(st))
    lags = np.arange(-LAG_MAX_S, LAG_MAX_S + 1e-9, 0.5 / sample_rate)
    gcc = steered_gcc(st, msc, grid, lags, band_hz=(150.0, 4000.0))
    peak = np.argmax(gcc, axis=1)
    edges = np.array([200.0, 1000.0, 3000.0, min(10000.0, 0.45 * sample_rate)])
    ild, w = band_ild(st, msc, grid, edges)
    band = (grid.freqs >= 300) & (grid.freqs <= 8000)
    e = (st.p_l + st.p_r)[:, band]
    coh = np.sum(msc[:, band] * e, axis=1) / (np.sum(e, axis=1) + 1e-20)
    power = np.mean(st.p_l + st.p_r, axis=1)
    return {"delay": lags[peak], "height": gcc[np.arange(len(peak)), peak], "ild": ild,
            "ild_weight": w, "coherence": coh, "power": power}


def detect_stereo(stereo: np.ndarray, sample_rate: int, *,
                  features: dict | None = None) -> StereoDecision:
    """Decide the kind of stereo from the recording ``(2, n)``.

    1. Steps that hold the sound (within 30 dB of the loud ones) and are clearly off-centre
       (a GCC-PHAT delay over 60 us, or a 1.5 dB level difference) are the evidence; a
       recording with no such steps has everything in the middle, where every kind agrees
       (read as binaural, confidence 0).
    2. **Time or level:** the share of them whose delay is off-centre. Coincident pairs and
       pan pots have none; heads and spaced pairs have them wherever the sound is.
    3. **Head or spaced pair** (time): a head shadows high frequencies, so its level
       difference grows from below 1 kHz to 3-10 kHz, on the side the delay says; two
       omnidirectional microphones in the far field hear the same level at every
       frequency. A delay longer than any head gives (0.85 ms) is a spaced pair too.
    4. **Pan pot or coincident pair** (level): a level difference beyond any microphone
       pair's (24 dB: one channel nearly silent) is a pan pot; otherwise a recording with
       a room in it (coherence below 0.95) is a coincident pair, and a dry one is a mix
       (the two are the same signal then, and the mappings differ by under 11 degrees).
    """
    f = features if features is not None else _features(stereo, sample_rate)
    db = 10 * np.log10(f["power"] + 1e-20)
    loud = db > np.percentile(db, 95) - 30 if db.size else np.zeros(0, bool)
    w_mid = f["ild_weight"][:, 1] + f["ild_weight"][:, 2]
    broad_ild = np.sum(f["ild"][:, 1:] * f["ild_weight"][:, 1:], axis=1) / (w_mid + 1e-9)
    clear = loud & (f["coherence"] > 0.3)
    timed = clear & (np.abs(f["delay"]) >= LATERAL_DELAY_S) & (f["height"] > 0.3)
    levelled = clear & (np.abs(broad_ild) >= LATERAL_LEVEL_DB)
    lateral = timed | levelled
    ev = {"lateral_steps": float(lateral.sum()), "coherence": float(np.median(
        f["coherence"][loud])) if loud.any() else 0.0}
    if lateral.sum() < MIN_LATERAL_STEPS:
        return StereoDecision("binaural", confidence=0.0, evidence=ev)
    time_share = float(timed[lateral].mean())
    ev["time_share"] = time_share
    if time_share >= 0.5:
        sel = timed
        side = np.sign(f["delay"][sel])
        shadow = float(np.median(side * (f["ild"][sel, 2] - f["ild"][sel, 0])))
        max_delay = float(np.percentile(np.abs(f["delay"][sel]), 95))
        ev.update(head_shadow_db=shadow, max_delay_ms=1e3 * max_delay)
        if max_delay > HEAD_MAX_DELAY_S:
            return StereoDecision("spaced", confidence=_sure(time_share, 0.5, 0.8), evidence=ev)
        kind = "binaural" if shadow >= HEAD_SHADOW_DB else "spaced"
        sure = min(_sure(time_share, 0.5, 0.8), _sure(abs(shadow - HEAD_SHADOW_DB), 0.0, 2.0))
        return StereoDecision(kind, confidence=sure, evidence=ev)
    ild = broad_ild[levelled]
    extreme = float(min(np.percentile(np.abs(ild), 95), 60.0))  # a silent channel: "60 dB"
    coh = ev["coherence"]
    ev.update(max_level_db=extreme)
    level_sure = _sure(1.0 - time_share, 0.5, 0.8)
    if extreme >= HARD_PAN_DB:
        return StereoDecision("panned", confidence=min(level_sure, _sure(extreme, HARD_PAN_DB,
                                                                         HARD_PAN_DB + 6)),
                              evidence=ev)
    if coh < DRY_COHERENCE:
        return StereoDecision("coincident", evidence=ev,
                              confidence=min(level_sure, _sure(DRY_COHERENCE - coh, 0, 0.1)))
    return StereoDecision("panned", confidence=min(level_sure, 0.5), evidence=ev)


def estimate_spacing(stereo: np.ndarray, sample_rate: int, *,
                     features: dict | None = None) -> float:
    """A spaced pair's spacing (m): the one that puts the largest delay heard (95th percentile
    of the clear steps' GCC-PHAT delays) at :data:`SPACED_EDGE_DEG`, within
    [:data:`MIN_SPACING_M`, :data:`MAX_SPACING_M`]."""
    f = features if features is not None else _features(stereo, sample_rate)
    clear = (f["coherence"] > 0.3) & (f["height"] > 0.3)
    if clear.sum() < 4:
        return MIN_SPACING_M
    delay = float(np.percentile(np.abs(f["delay"][clear]), 95))
    return float(np.clip(SPEED_OF_SOUND * delay / np.sin(np.radians(SPACED_EDGE_DEG)),
                         MIN_SPACING_M, MAX_SPACING_M))


def _sure(v: float, lo: float, hi: float) -> float:
    return float(np.clip((v - lo) / (hi - lo), 0.0, 1.0))
