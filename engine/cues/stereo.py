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
from .spatial import (AnalysisGrid, StepSpectra, band_ild, level_coherence, step_spectra, steered_gcc, stft,
                      third_octave_edges)

SPEED_OF_SOUND = 343.0
COINCIDENT_ANGLE_DEG = 100.0   # included angle of the assumed XY cardioid pair
COINCIDENT_PATTERN = 0.5       # g = p + (1 - p) cos: 0.5 cardioid, 0 figure-of-eight
# Spaced pairs are 10-60 cm apart (SPEC section 2: a phone held sideways, an AB pair). One
# static source cannot reveal the spacing (any spacing fits one delay), so without the
# user's figure the pair is taken to be the geometric middle of that range, 25 cm (at most
# a factor 2.4 off anywhere in it), unless a delay heard needs more: a delay tau needs at
# least c tau (a source at 90 degrees).
TYPICAL_SPACING_M = 0.25
MAX_SPACING_M = 1.0
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
    return float(np.clip(TYPICAL_SPACING_M if spacing_m is None else spacing_m, 0.02,
                         MAX_SPACING_M))


# -- auto -----------------------------------------------------------------------------------

DETECT_PIECES = 4         # auto listens to at most 4 pieces of 3 s spread over the clip:
DETECT_PIECE_S = 3.0      # enough steps to tell, at a few percent of the analysis' cost
LAG_MAX_S = 2.0e-3        # GCC-PHAT lag search: beyond any head, up to a 68 cm pair
TIMED_DELAY_S = 60e-6     # a time difference this large is off-centre (a head at ~7 degrees)
ZERO_DELAY_S = 25e-6      # ... and one this small, with a level difference, is level-only
LEVEL_DB = 1.5            # a broadband level difference this large is off-centre
CLEAR_SHARE = 0.3         # evidence comes from the clip's most coherent 30 % of loud steps
HEAD_LEVEL = 0.4          # level differences this strong (RMS over bands) relative to KEMAR's
                          # at the delay's azimuth are a head's: dry heads read ~1,
                          # reverberant ones 0.45-0.7, spaced pairs in rooms 0.2-0.36 (no
                          # head between the microphones; what is left is near-field and room)
HEAD_MAX_DELAY_S = 0.85e-3  # no head delays more (KEMAR: 0.7 ms at 90 degrees) ...
BEYOND_HEAD_SHARE = 0.5   # ... in half the timed steps (reverberation makes strays: up to
                          # 0.4 of a head's in rooms)
INVERTED = -0.5           # a step this far out of phase (mean cos IPD) is a coincident
                          # pair's side quadrant: level-only evidence
HARD_PAN_DB = 24.0        # beyond a cardioid pair's largest frontal difference (17.6 dB)
DRY_COHERENCE = 0.95      # a level-only recording this coherent has no room in it
MIN_EVIDENCE_STEPS = 8


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
    """Per-step measures over :data:`DETECT_PIECES` pieces of the clip (3-step smoothing):
    GCC-PHAT delay and its height, coherent-part level differences in KEMAR's third-octave
    bands and their weights, coherence, power."""
    from .analysis import smooth_spectra
    grid = AnalysisGrid.for_rate(sample_rate)
    n = stereo.shape[1]
    piece = int(DETECT_PIECE_S * sample_rate)
    if n <= DETECT_PIECES * piece:
        starts = [0]
        piece = n
    else:
        starts = np.linspace(0, n - piece, DETECT_PIECES).astype(int)
    parts = [smooth_spectra(step_spectra(stft(np.asarray(stereo[:, s:s + piece], np.float32),
                                              grid)), 3) for s in starts]
    st = StepSpectra(*(np.concatenate([getattr(p, k) for p in parts])
                       for k in ("s_lr", "p_l", "p_r")))
    # A channel that is nearly silent (a hard pan) has no MSC but is all direct sound.
    msc = np.maximum(st.msc, level_coherence(st))
    lags = np.arange(-LAG_MAX_S, LAG_MAX_S + 1e-9, 0.5 / sample_rate)
    gcc = steered_gcc(st, msc, grid, lags, band_hz=(150.0, 4000.0))
    peak = np.argmax(gcc, axis=1)
    ild, w = band_ild(st, msc, grid, default_calibration().band_edges_hz)
    band = (grid.freqs >= 300) & (grid.freqs <= 8000)
    e = (st.p_l + st.p_r)[:, band]
    coh = np.sum(msc[:, band] * e, axis=1) / (np.sum(e, axis=1) + 1e-20)
    power = np.mean(st.p_l + st.p_r, axis=1)
    # In phase or inverted: the whitened cross-spectrum at lag 0 (mean cos IPD over the GCC
    # band, every bin alike). A Blumlein pair hears sources in its side quadrants with one
    # channel inverted: -1. A delay spreads the phase over whole turns across the band,
    # which keeps the mean above about -0.22, so only inversion goes below -0.5.
    polarity = gcc[:, np.argmin(np.abs(lags))]
    return {"delay": lags[peak], "height": gcc[np.arange(len(peak)), peak], "ild": ild,
            "ild_weight": w, "coherence": coh, "power": power, "polarity": polarity}


def _clear_steps(f: dict) -> np.ndarray:
    """Loud steps (within 30 dB of the loudest) among the most coherent :data:`CLEAR_SHARE`
    of them, where the direct sound outweighs the room's."""
    db = 10 * np.log10(f["power"] + 1e-20)
    if db.size == 0:
        return np.zeros(0, bool)
    loud = db > np.percentile(db, 95) - 30
    if not loud.any():
        return loud
    cut = np.percentile(f["coherence"][loud], 100 * (1 - CLEAR_SHARE))
    return loud & (f["coherence"] >= min(cut, 0.9)) & (f["coherence"] > 0.15)


def detect_stereo(stereo: np.ndarray, sample_rate: int, *,
                  features: dict | None = None) -> StereoDecision:
    """Decide the kind of stereo from the recording ``(2, n)``.

    1. The evidence is the clip's clear steps (loud, and among its most coherent 30 %:
       where the direct sound outweighs reverberation). A step is **timed** when its
       GCC-PHAT delay is over 60 us, **level-only** when the delay is within 25 us while the
       level differs by 1.5 dB or more (or one channel is silent). A clip with neither has everything in the middle,
       where every kind reads the same (binaural, confidence 0).
    2. **Time or level:** the timed share. Coincident pairs and pan pots have no delays;
       heads and spaced pairs have them wherever the sound is off-centre.
    3. **Head or spaced pair** (time): a head shadows, so its level differences are as
       strong as KEMAR's at the azimuth the delay gives (RMS ratio ~1 dry, 0.45-0.7 in
       rooms); two omnidirectional microphones in the far field hear nearly the same level
       (0.2-0.36 in rooms, from near-field and room). Delays longer than any head gives (0.85 ms) in a quarter of the
       timed steps are a spaced pair whatever the levels.
    4. **Pan pot or coincident pair** (level): a level difference beyond any microphone
       pair's (24 dB: one channel nearly silent) is a pan pot; otherwise a recording with
       a room in it (coherence below 0.95) is a coincident pair, and a dry one is a mix
       (the two are the same signal then, and the mappings differ by under 11 degrees).
    """
    f = features if features is not None else _features(stereo, sample_rate)
    w = f["ild_weight"]
    broad = np.sum(f["ild"] * w, axis=1) / (w.sum(axis=1) + 1e-9)
    clear = _clear_steps(f)
    delay = np.abs(f["delay"])
    timed = clear & (delay >= TIMED_DELAY_S) & (f["height"] > 0.3)
    inverted = clear & (f["polarity"] <= INVERTED)
    timed &= ~inverted  # an inverted channel's GCC peaks at a meaningless lag
    level = clear & (((delay <= ZERO_DELAY_S) & (f["height"] > 0.5) & (np.abs(broad) >= LEVEL_DB))
                     | (np.abs(broad) >= HARD_PAN_DB)  # a silent channel has no delay to read
                     | inverted)
    ev = {"evidence_steps": float(timed.sum() + level.sum()),
          "coherence": float(np.median(f["coherence"][clear])) if clear.any() else 0.0}
    if timed.sum() + level.sum() < MIN_EVIDENCE_STEPS:
        return StereoDecision("binaural", confidence=0.0, evidence=ev)
    time_share = float(timed.sum() / (timed.sum() + level.sum()))
    ev["time_share"] = time_share
    if time_share >= 0.5:
        beyond = float(np.mean(delay[timed] > HEAD_MAX_DELAY_S))
        ratio = _head_level_ratio(f, timed & (delay <= HEAD_MAX_DELAY_S))
        ev.update(beyond_head=beyond, head_level=ratio)
        sure = _sure(time_share, 0.5, 0.8)
        if beyond >= BEYOND_HEAD_SHARE:
            return StereoDecision("spaced", confidence=min(sure, _sure(beyond, 0.5, 0.75)),
                                  evidence=ev)
        if not np.isfinite(ratio):  # near the middle, where heads and pairs read alike
            return StereoDecision("binaural", confidence=0.0, evidence=ev)
        kind = "binaural" if ratio >= HEAD_LEVEL else "spaced"
        return StereoDecision(kind, confidence=min(sure, _sure(abs(ratio - HEAD_LEVEL), 0, 0.2)),
                              evidence=ev)
    extreme = float(min(np.percentile(np.abs(broad[level]), 95), 60.0))  # silent channel: 60
    coh = ev["coherence"]
    ev.update(max_level_db=extreme)
    sure = _sure(1.0 - time_share, 0.5, 0.8)
    ev["inverted"] = float(inverted.sum())
    if inverted.sum() >= MIN_EVIDENCE_STEPS // 2:  # a pan pot never inverts a channel
        return StereoDecision("coincident", evidence=ev, confidence=sure)
    if extreme >= HARD_PAN_DB:
        return StereoDecision("panned", evidence=ev,
                              confidence=min(sure, _sure(extreme, HARD_PAN_DB, HARD_PAN_DB + 6)))
    if coh < DRY_COHERENCE:
        return StereoDecision("coincident", evidence=ev,
                              confidence=min(sure, _sure(DRY_COHERENCE - coh, 0, 0.1)))
    return StereoDecision("panned", confidence=min(sure, 0.5), evidence=ev)


def _head_level_ratio(f: dict, sel: np.ndarray) -> float:
    """How strongly the steps' level differences vary with frequency (weighted RMS over
    bands and steps, each step's mean over bands removed) relative to how KEMAR's vary at
    the azimuth their delay gives, over the steps 15-90 degrees off-centre, where a head's
    are large. A head's shadow grows with frequency; the level difference of two spaced
    microphones near a source (1/r) is the same at every frequency, so it is removed with
    the mean. RMS rather than a signed fit: where two sources overlap, the level difference
    may come from one and the delay from the other."""
    cal = default_calibration()
    az = cal.azimuth_from_itd(f["delay"][sel])
    side = np.abs(az) >= 15
    if side.sum() < 4:
        return float("nan")  # nothing off-centre enough to tell a head by
    model = cal.ild_db[np.clip(np.round(az[side] + 90).astype(int), 0, 180)]  # (n, B)
    ww = f["ild_weight"][sel][side]
    ild = f["ild"][sel][side]

    def shape(v):  # the part that varies with frequency
        return v - np.sum(ww * v, axis=1, keepdims=True) / (ww.sum(axis=1, keepdims=True) + 1e-9)
    den = float(np.sum(ww * shape(model) ** 2))
    return float(np.sqrt(np.sum(ww * shape(ild) ** 2) / den)) if den > 1e-9 else 0.0


def estimate_spacing(stereo: np.ndarray, sample_rate: int, *,
                     features: dict | None = None) -> float:
    """A spaced pair's spacing (m): :data:`TYPICAL_SPACING_M`, or the least spacing that can
    give the largest delay heard (95th percentile of the clear steps' GCC-PHAT delays, a
    source at 90 degrees) when that is more, up to :data:`MAX_SPACING_M`."""
    f = features if features is not None else _features(stereo, sample_rate)
    clear = _clear_steps(f) & (f["height"] > 0.3)
    if clear.sum() < 4:
        return TYPICAL_SPACING_M
    delay = float(np.percentile(np.abs(f["delay"][clear]), 95))
    return float(np.clip(SPEED_OF_SOUND * delay, TYPICAL_SPACING_M, MAX_SPACING_M))


def _sure(v: float, lo: float, hi: float) -> float:
    return float(np.clip((v - lo) / (hi - lo), 0.0, 1.0))
