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
- ``panned``: pan position ``p = az / 90`` (SPEC section 2) through the mix's pan law
  (:func:`pan_law_gains`): by default constant power, ``L = cos(theta), R = sin(theta)``,
  ``theta = (p + 1) pi / 4`` (-3 dB at the centre); told, the linear law (-6 dB) or their
  geometric mean (-4.5 dB). A sound panned hard left, whose right channel is silent, sits at
  the left edge under every law. Nothing in a recording tells the law (docs/hearing.md,
  "Pan law"), so ``auto`` assumes constant power.

``auto`` (:func:`detect_stereo`) measures, over the recording's clearly lateral steps,
whether the channels differ in time or only in level, and whether the level difference
grows with frequency (a head's shadow) or not (spaced microphones); see its docstring.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field

import numpy as np

from ..audio.stereo_kinds import (AUTO, DEFAULT_PAN_LAW, LEVEL_ONLY, MAX_SPACING_M,
                                  MIN_SPACING_M, SPACING_ASSUMED, STEREO_KINDS,
                                  check_pan_law, check_stereo, pan_law_gains)
from ..binaural.hrtf import default_hrirs
from .binmodel import BIN_BAND_HZ, HIST_STEP_DEG, BinModel, bin_model, model_misfit, transfer_model
from .calibration import CueCalibration, default_calibration, scaled_calibration
from .spatial import (AnalysisGrid, StepSpectra, band_ild, incoherent_power, level_coherence,
                      step_spectra, steered_gcc, stft, third_octave_edges)
from ..acoustics import SPEED_OF_SOUND

COINCIDENT_ANGLE_DEG = 100.0   # included angle of the assumed XY cardioid pair
COINCIDENT_PATTERN = 0.5       # g = p + (1 - p) cos: 0.5 cardioid, 0 figure-of-eight
FIGURE8_PATTERN = 0.0          # a Blumlein pair: two figure-of-eights ...
FIGURE8_ANGLE_DEG = 90.0       # ... at right angles (physical: the pair's definition)
# Spaced pairs are 10-60 cm apart (SPEC section 2: a phone held sideways, an AB pair). One
# static source cannot reveal the spacing (any spacing fits one delay), so without the
# user's figure the pair is taken to be the geometric middle of that range, 25 cm (at most
# a factor 2.4 off anywhere in it), unless a delay heard needs more: a delay tau needs at
# least c tau (a source at 90 degrees).
TYPICAL_SPACING_M = 0.25
# A head is read through KEMAR's tables made larger or smaller (acoustic similarity,
# HrirSet.scaled): the scale whose per-bin model explains the recording's bins best. The
# candidates span heads from a child's to a large adult's with hair (design: KEMAR is an
# average adult; adult head breadths spread about +-7 %); 0.05 apart, which moves a lateral
# source's azimuth by at most a few degrees.
HEAD_SCALES = (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3)
HEAD_SCALE_STEPS = 64        # design: the clear steps the fit reads, spread over the clip
HEAD_SCALE_MIN_GAIN = 0.3    # design: another scale must explain the bins this much better
                             # (relative misfit) than KEMAR's own; else the average head.
                             # Dry, a head 10 % off misfits by 2-50x (tune: KEMAR made 1.1
                             # larger, 0.7-0.98 of its misfit gone), while overlapping
                             # sources and noise move the misfit by a few % either way
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
    # A coincident pair's capsule pattern (``g = p + (1 - p) cos``): 0.5 cardioids (XY), 0
    # figure-of-eights (Blumlein); ``None`` for the other kinds.
    pattern: float | None = None
    # A coincident cardioid pair's room: the diffuse power over the direct power heard
    # (:func:`diffuse_share`); its coherent part dilutes the level differences read, and the
    # mapping expects that (``None``: no room heard, or not such a pair).
    diffuse_share: float | None = None
    # A head's size relative to KEMAR's, read from the recording (:func:`head_scale`; 1: the
    # dummy head's own); ``None`` for the other kinds.
    head_scale: float | None = None
    # Where a spaced pair's spacing came from
    # (:data:`engine.audio.stereo_kinds.SPACING_SOURCES`); ``None`` for the other kinds.
    spacing_from: str | None = None
    # A pan-pot mix's pan law (:data:`engine.audio.stereo_kinds.PAN_LAWS`: the user's, else
    # constant power); ``None`` for the other kinds.
    pan_law: str | None = None

    @property
    def tables(self) -> dict:
        """What :func:`calibration_for` and :func:`model_for` need besides the kind."""
        return {"spacing_m": self.spacing_m, "pattern": self.pattern,
                "diffuse_share": self.diffuse_share, "head_scale": self.head_scale,
                "pan_law": self.pan_law}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["confidence"] = round(float(self.confidence), 3)
        # A measure that could not be taken (NaN: nothing off-centre to read it on) is left
        # out: layouts and cues are strict JSON.
        d["evidence"] = {k: round(float(v), 4) for k, v in self.evidence.items()
                         if np.isfinite(v)}
        # What only some kinds have is left out where it is None; measures to 3 decimals.
        for key in ("spacing_m", "diffuse_share", "head_scale", "pattern", "spacing_from",
                    "pan_law"):
            if d[key] is None:
                d.pop(key)
            elif key in ("spacing_m", "diffuse_share", "head_scale"):
                d[key] = round(float(d[key]), 3)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "StereoDecision":
        return cls(kind=str(d["kind"]), chosen=str(d.get("chosen", AUTO)),
                   confidence=float(d.get("confidence", 1.0)),
                   spacing_m=None if d.get("spacing_m") is None else float(d["spacing_m"]),
                   evidence={str(k): float(v) for k, v in d.get("evidence", {}).items()},
                   pattern=None if d.get("pattern") is None else float(d["pattern"]),
                   diffuse_share=None if d.get("diffuse_share") is None
                   else float(d["diffuse_share"]),
                   head_scale=None if d.get("head_scale") is None else float(d["head_scale"]),
                   spacing_from=None if d.get("spacing_from") is None
                   else str(d["spacing_from"]),
                   pan_law=None if d.get("pan_law") is None else str(d["pan_law"]))

    def describe(self) -> str:
        how = "you chose" if self.chosen != AUTO else f"decided from the recording, " \
              f"{100 * self.confidence:.0f} % sure"
        gap = f", microphones {100 * self.spacing_m:.0f} cm apart" if self.spacing_m else ""
        after = ""
        if self.spacing_m and self.spacing_from == SPACING_ASSUMED:
            gap = f", microphones assumed {100 * self.spacing_m:.0f} cm apart"
            after = (" Nothing in this recording tells the spacing, and every direction "
                     "scales with it: give it if you know it (--spacing, or the studio's "
                     "\"How was this recorded?\").")
        if self.pattern is not None:
            gap = ", figure-of-eights (Blumlein)" if self.pattern == FIGURE8_PATTERN else \
                  ", cardioids (XY)"
        if self.head_scale is not None and abs(self.head_scale - 1.0) > 1e-6:
            gap = f", a head {100 * abs(self.head_scale - 1):.0f} % " \
                  f"{'larger' if self.head_scale > 1 else 'smaller'} than the dummy head's"
        if self.pan_law is not None and self.pan_law != DEFAULT_PAN_LAW:
            gap = f", {self.pan_law.replace('dB', ' dB')} pan law"
        return f"Read as {self.kind} stereo ({how}{gap}).{after}"


# -- the per-kind mappings -------------------------------------------------------------------

def coincident_gains(azimuth_deg, *, angle_deg: float = COINCIDENT_ANGLE_DEG,
                     pattern: float = COINCIDENT_PATTERN) -> tuple[np.ndarray, np.ndarray]:
    """Left and right gains ``(A,)`` of a coincident pair whose axes point ``angle_deg / 2``
    to either side, for a source at ``azimuth_deg`` (+ = right)."""
    az = np.radians(np.asarray(azimuth_deg, float))
    half = np.radians(angle_deg / 2)
    return (pattern + (1 - pattern) * np.cos(az + half),
            pattern + (1 - pattern) * np.cos(az - half))


def pan_gains(azimuth_deg, law: str = DEFAULT_PAN_LAW) -> tuple[np.ndarray, np.ndarray]:
    """A pan-pot mix's left and right gains for a source at ``azimuth_deg`` (pan position
    ``az / 90``, :func:`pan_law_gains`)."""
    return pan_law_gains(np.clip(np.asarray(azimuth_deg, float), -90, 90) / 90.0, law)


def spaced_delay_s(azimuth_deg, spacing_m: float) -> np.ndarray:
    """Far-field time difference (s, + = right microphone first) of a spaced pair."""
    return spacing_m * np.sin(np.radians(np.asarray(azimuth_deg, float))) / SPEED_OF_SOUND


def coincident_pair_gains(azimuth_deg, pattern: float | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
    """The gains the coincident reading assumes: cardioids at :data:`COINCIDENT_ANGLE_DEG`,
    or, for ``pattern`` :data:`FIGURE8_PATTERN`, a Blumlein pair (figure-of-eights at 90
    degrees, whose side quadrants come out with the left channel or the right inverted)."""
    if pattern == FIGURE8_PATTERN:
        return coincident_gains(azimuth_deg, angle_deg=FIGURE8_ANGLE_DEG, pattern=FIGURE8_PATTERN)
    return coincident_gains(azimuth_deg)


def calibration_for(kind: str, *, spacing_m: float | None = None,
                    pattern: float | None = None,
                    diffuse_share: float | None = None,
                    head_scale: float | None = None,
                    pan_law: str | None = None) -> CueCalibration:
    """The cue table of one kind of stereo (see module docstring); ``pattern``: a coincident
    pair's capsules (:attr:`StereoDecision.pattern`); ``diffuse_share``: its room's diffuse
    power over the direct (:attr:`StereoDecision.diffuse_share`, :func:`heard_gains`);
    ``head_scale``: a head's size relative to KEMAR's (:attr:`StereoDecision.head_scale`);
    ``pan_law``: a pan-pot mix's law (:attr:`StereoDecision.pan_law`; default constant
    power)."""
    if kind == "binaural":
        return scaled_calibration(_head(head_scale))
    if kind not in STEREO_KINDS:
        raise ValueError(f"unknown stereo kind {kind!r}")
    return _calibration(kind, None if kind != "spaced" else round(_spacing(spacing_m), 3),
                        _pattern(kind, pattern), _share(kind, pattern, diffuse_share),
                        _pan_law(kind, pan_law))


def _pan_law(kind: str, law: str | None) -> str | None:
    """The pan law a table is made for: a pan-pot mix's (default constant power); ``None``
    for the other kinds."""
    return (check_pan_law(law) or DEFAULT_PAN_LAW) if kind == "panned" else None


def _share(kind: str, pattern: float | None, share: float | None) -> float | None:
    """The diffuse share a table is made for, rounded (tables are cached): only a coincident
    cardioid pair hears a coherent diffuse field (:func:`capsule_diffuse_coherence`)."""
    if kind != "coincident" or _pattern(kind, pattern) == FIGURE8_PATTERN or not share:
        return None
    return round(float(np.clip(share, 0.0, MAX_DIFFUSE_SHARE)), 2) or None


def _head(scale: float | None) -> float:
    """A usable head scale: the one given, to 1/100 (tables are cached), within
    :data:`HEAD_SCALES`; 1 (KEMAR's own) when none."""
    if scale is None or not np.isfinite(scale):
        return 1.0
    return round(float(np.clip(scale, HEAD_SCALES[0], HEAD_SCALES[-1])), 2)


def _pattern(kind: str, pattern: float | None) -> float | None:
    return (FIGURE8_PATTERN if pattern == FIGURE8_PATTERN else COINCIDENT_PATTERN) \
        if kind == "coincident" else None


@functools.lru_cache(maxsize=8)
def _calibration(kind: str, spacing_m: float | None, pattern: float | None,
                 share: float | None = None, pan_law: str | None = None) -> CueCalibration:
    az = np.arange(-90.0, 90.5, 1.0)
    edges = third_octave_edges()
    n_bands = len(edges) - 1
    itd = np.zeros_like(az)
    ild = np.zeros((len(az), n_bands))
    polarity = None
    if kind == "spaced":
        itd = spaced_delay_s(az, spacing_m)
    else:
        gl, gr = coincident_pair_gains(az, pattern) if kind == "coincident" else \
            pan_gains(az, pan_law)
        if share:
            gl, gr = heard_gains(gl, gr, share)
        level = 20 * np.log10((np.abs(gr) + 1e-6) / (np.abs(gl) + 1e-6))
        ild = np.repeat(np.clip(level, -40.0, 40.0)[:, None], n_bands, axis=1)
        if np.any(gl * gr < 0):
            polarity = np.where(gl * gr < 0, -1.0, 1.0)
    return CueCalibration(az, itd, edges, ild, source=f"{kind} stereo model", itd_low_s=itd,
                          itd_high_s=itd, kind=kind, spacing_m=spacing_m, polarity=polarity)


def model_for(kind: str, grid: AnalysisGrid, *, spacing_m: float | None = None,
              pattern: float | None = None, for_masks: bool = False,
              diffuse_share: float | None = None, head_scale: float | None = None,
              pan_law: str | None = None) -> BinModel:
    """The per-bin model of one kind of stereo at the grid's sample rate (``pattern``: a
    coincident pair's capsules; a figure-of-eight pair's inverted quadrants are in the
    model's phase, -1; ``diffuse_share``, ``pan_law``: as for :func:`calibration_for`).

    ``for_masks``: the model that shares bins among sources already found (their masks).
    A spaced pair's model for finding directions stops at ``c / 2d``, where a bin's phase
    stops naming one direction (spatial aliasing); a mask only asks which of the sources'
    own directions explains a bin best, which the phase answers above ``c / 2d`` too
    (except in the few bins where two sources' phases happen to coincide), so its model
    covers the whole band. Without it a 30 cm pair's masks end at 572 Hz and a source
    heard only above that gets no bins at all."""
    if kind == "binaural":
        scale = _head(head_scale)
        return bin_model(grid) if scale == 1.0 else \
            bin_model(grid, default_hrirs(grid.sample_rate).scaled(scale))
    return _model(kind, grid, None if kind != "spaced" else round(_spacing(spacing_m), 3),
                  _pattern(kind, pattern), bool(for_masks),
                  _share(kind, pattern, diffuse_share), _pan_law(kind, pan_law))


@functools.lru_cache(maxsize=8)
def _model(kind: str, grid: AnalysisGrid, spacing_m: float | None,
           pattern: float | None, for_masks: bool = False,
           share: float | None = None, pan_law: str | None = None) -> BinModel:
    az = np.arange(-90.0, 90.0 + 1e-9, HIST_STEP_DEG)
    freqs = grid.freqs
    top = BIN_BAND_HZ[1]
    if kind == "spaced" and not for_masks:
        # Above c / 2d a bin's phase no longer names one direction (spatial aliasing).
        top = float(np.clip(SPEED_OF_SOUND / (2 * spacing_m), MIN_ALIAS_HZ, BIN_BAND_HZ[1]))
    sel = (freqs >= BIN_BAND_HZ[0]) & (freqs <= top)
    f = freqs[sel][None, :]
    if kind == "spaced":
        tau = spaced_delay_s(az, spacing_m)[:, None]
        hl, hr = np.exp(-1j * np.pi * f * tau), np.exp(1j * np.pi * f * tau)
    else:
        gl, gr = coincident_pair_gains(az, pattern) if kind == "coincident" else \
            pan_gains(az, pan_law)
        if share:
            gl, gr = heard_gains(gl, gr, share)
        hl = np.repeat(gl[:, None], f.shape[1], axis=1).astype(complex)
        hr = np.repeat(gr[:, None], f.shape[1], axis=1).astype(complex)
    return transfer_model(az, sel, hl, hr, level_only=kind in LEVEL_ONLY)


MAX_DIFFUSE_SHARE = 4.0   # design: beyond a diffuse field 6 dB above the direct sound the
                          # level differences say little; the mapping stops there
DIFFUSE_SHARE_BAND_HZ = (200.0, 8000.0)   # the band the level differences are read in


def capsule_diffuse_coherence(pattern: float = COINCIDENT_PATTERN,
                              angle_deg: float = COINCIDENT_ANGLE_DEG) -> float:
    """The coherence of a diffuse field at two coincident first-order capsules ``g = p + (1 -
    p) cos`` whose axes are ``angle_deg`` apart: ``(p^2 + (1 - p)^2 cos(a) / 3) / (p^2 + (1 -
    p)^2 / 3)`` (the patterns' product averaged over the sphere): 0.71 for cardioids at 100
    degrees, 0 for a Blumlein pair. In phase at every frequency."""
    q = 1.0 - pattern
    return float((pattern ** 2 + q ** 2 * np.cos(np.radians(angle_deg)) / 3)
                 / (pattern ** 2 + q ** 2 / 3))


def heard_gains(gl: np.ndarray, gr: np.ndarray, share: float,
                gamma: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The gains a coincident cardioid pair's level differences are *read* with in a room
    whose diffuse power is ``share`` times the direct (``N = share (g_L^2 + g_R^2) / 2`` per
    channel, coherence ``gamma``, default :func:`capsule_diffuse_coherence`). The cues take
    the incoherent part out of each channel (``gamma`` 0 split); the diffuse field's coherent
    part, ``gamma N`` of cross-power, stays in both channels alike and pulls the level
    difference toward 0 dB. The returned gains are the square roots of what is left: the
    level differences such a recording shows at each azimuth."""
    gamma = capsule_diffuse_coherence() if gamma is None else gamma
    a, b = np.asarray(gl, float) ** 2, np.asarray(gr, float) ** 2
    n = share * (a + b) / 2
    p_l, p_r = a + n, b + n
    cross = np.sqrt(a * b) + gamma * n
    left = incoherent_power(p_l, p_r, cross)
    return np.sqrt(p_l - left), np.sqrt(p_r - left)


def diffuse_share(f: dict) -> float:
    """A coincident cardioid pair's room, from the recording: each time-frequency bin of the
    level band (200 Hz - 8 kHz, loud steps, within 20 dB of its step's loudest bin) split
    into one direct sound and a diffuse field of the capsules' coherence
    (:func:`engine.cues.spatial.incoherent_power`, :func:`capsule_diffuse_coherence`); the
    median over those bins of the diffuse power over the direct. A room's diffuse field is in every bin; two dry
    sources at different level ratios look incoherent only in the few bins they share,
    which the median passes over (a whole band's sum would count them). 0 dry."""
    loud = f["loud"]
    if not loud.any():
        return 0.0
    n, d = f["room_diffuse"][loud], f["room_direct"][loud]
    e = n + d
    held = e >= 0.01 * e.max(axis=1, keepdims=True)  # bins that hold sound, not the floor
    share = float(np.median(n[held] / (d[held] + 1e-30))) if held.any() else 0.0
    return float(np.clip(share, 0.0, MAX_DIFFUSE_SHARE))


def _spacing(spacing_m: float | None) -> float:
    """A usable spacing: the one given (2 cm to 1 m), or the floor of the estimate."""
    return float(np.clip(TYPICAL_SPACING_M if spacing_m is None else spacing_m, MIN_SPACING_M,
                         MAX_SPACING_M))


# -- auto -----------------------------------------------------------------------------------

DETECT_PIECES = 4         # auto listens to at most 4 pieces of 3 s spread over the clip:
DETECT_PIECE_S = 3.0      # enough steps to tell, at a few percent of the analysis' cost
LAG_MAX_S = 2.0e-3        # GCC-PHAT lag search: beyond any head, up to a 68 cm pair
TIMED_DELAY_S = 60e-6     # a time difference this large is off-centre (a head at ~7 degrees)
ZERO_DELAY_S = 25e-6      # ... and one this small, with a level difference, is level-only
LEVEL_DB = 1.5            # a broadband level difference this large is off-centre
CLEAR_SHARE = 0.3         # evidence comes from the clip's most coherent 30 % of loud steps
HEAD_SHADOW = 0.25        # signed share of KEMAR's frequency-dependent shadow (slope of
                          # the observed level-difference shape on KEMAR's at the delay's
                          # azimuth) that says "head" (fitted on the tune set: heads read
                          # 0.47-1.3 single, dry or in rooms; spaced pairs -0.33-0.02; 0.25 is
                          # about the middle of that gap)
HEAD_DIFFRACTION = 1.2    # physical: a delay 1.2x longer at low frequencies than at high is
                          # a head's diffraction (a sphere ~1.5, KEMAR 1.2-1.4 dry; a pair 1)
DIFFRACTION_LOW_HZ = (150.0, 700.0)     # design: below a head's diffraction corner ...
DIFFRACTION_HIGH_HZ = (1500.0, 4000.0)  # ... and above it, below pinna detail
CARDIOID_DIFFUSE = 0.5    # physical: a coincident cardioid pair's diffuse-field coherence is
                          # 0.75 + 0.25 cos(angle), at least 0.5; a reverb below it is a
                          # decorrelated (artificial or spaced) one: a pan-pot mix's send
HEAD_MAX_DELAY_S = 0.85e-3  # no head delays more (KEMAR: 0.7 ms at 90 degrees) ...
BEYOND_HEAD_SHARE = 0.5   # ... in half the timed steps (reverberation makes strays: up to
                          # 0.4 of a head's in rooms)
PEAK_HEIGHT = 0.3         # a doubled-phase GCC-PHAT peak this high places a step: timed
                          # beyond TIMED_DELAY_S, inverted at lag 0 within ZERO_DELAY_S
INVERTED = -0.5           # a step this far out of phase (mean cos IPD) is a coincident
                          # pair's side quadrant: level-only evidence
HARD_PAN_DB = 24.0        # beyond a cardioid pair's largest frontal difference (17.6 dB)
DRY_COHERENCE = 0.95      # a level-only recording this coherent has no room in it
MIN_EVIDENCE_STEPS = 8


def resolve_stereo(choice: str | None, stereo: np.ndarray, sample_rate: int, *,
                   spacing_m: float | None = None,
                   pan_law: str | None = None) -> StereoDecision:
    """The kind to read ``stereo`` ``(2, n)`` as: the user's ``choice``, or, for ``auto``,
    :func:`detect_stereo`'s decision. A spaced pair's spacing is ``spacing_m`` when given,
    otherwise estimated from the largest delay heard; a pan-pot mix's law is ``pan_law`` when
    given, otherwise constant power (nothing in the recording tells it). Each is used only
    when the recording is read as that kind."""
    choice = check_stereo(choice)
    pan_law = check_pan_law(pan_law) or DEFAULT_PAN_LAW
    if choice == "panned":
        return StereoDecision(choice, chosen="user", confidence=1.0, pan_law=pan_law)
    feats = _features(stereo, sample_rate)
    if choice == AUTO:
        decision = detect_stereo(stereo, sample_rate, features=feats)
    else:
        decision = StereoDecision(choice, chosen="user", confidence=1.0)
    if decision.kind == "panned":
        decision.pan_law = pan_law
    if decision.kind == "binaural":
        decision.head_scale = head_scale(feats)
    if decision.kind == "spaced":
        if spacing_m is not None:
            decision.spacing_m, decision.spacing_from = float(spacing_m), "given"
        else:
            decision.spacing_m, decision.spacing_from = spacing_estimate(
                stereo, sample_rate, features=feats)
    if decision.kind == "coincident":
        decision.pattern = coincident_pattern(feats)
        # A Blumlein pair hears its room incoherent (nothing to undo); a recording as
        # coherent as a dry one has no room in it, whatever two overlapping sources look like.
        if decision.pattern != FIGURE8_PATTERN and _clear_coherence(feats) < DRY_COHERENCE:
            decision.diffuse_share = diffuse_share(feats)
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
    # which keeps the mean above about -0.22, so only inversion goes below -0.5 (for a
    # broadband sound: a narrow one half a turn out of phase reaches -1, but then the doubled
    # phase below peaks at its delay, not at lag 0).
    polarity = gcc[:, np.argmin(np.abs(lags))]
    # The same GCC on the doubled phase (exp(2i IPD) at lag 2 tau): blind to a channel's sign,
    # so a coincident pair whose arrivals come in both polarities (Blumlein in a room: its
    # side quadrants invert) peaks at lag 0, where the plain GCC peaks anywhere.
    doubled = StepSpectra(st.s_lr ** 2 / (np.abs(st.s_lr) + 1e-30), st.p_l, st.p_r)
    gcc2 = steered_gcc(doubled, msc, grid, 2 * lags, band_hz=(150.0, 4000.0))
    peak2 = np.argmax(gcc2, axis=1)
    # The real part of the complex coherence, energy-weighted over 400-6400 Hz: its floor
    # over the least coherent steps is the reverberant field's coherence (see _diffuse_floor).
    mid = (grid.freqs >= 400) & (grid.freqs <= 6400)
    em = (st.p_l + st.p_r)[:, mid]
    gam = st.s_lr[:, mid] / np.sqrt(st.p_l[:, mid] * st.p_r[:, mid] + 1e-30)
    re_coh = np.sum(em * gam.real, axis=1) / (np.sum(em, axis=1) + 1e-30)
    abs_coh = np.sum(em * np.abs(gam), axis=1) / (np.sum(em, axis=1) + 1e-30)
    # A head's delay is longer at low frequencies than at high (diffraction); a pair's is one.
    fine = np.arange(-HEAD_MAX_DELAY_S, HEAD_MAX_DELAY_S + 1e-9, 0.25 / sample_rate)
    g_lo = steered_gcc(st, msc, grid, fine, band_hz=DIFFRACTION_LOW_HZ)
    g_hi = steered_gcc(st, msc, grid, fine, band_hz=DIFFRACTION_HIGH_HZ)
    low = (grid.freqs >= DIFFUSE_BAND_HZ[0]) & (grid.freqs <= DIFFUSE_BAND_HZ[1])
    gamma_low = st.s_lr[:, low] / np.sqrt(st.p_l[:, low] * st.p_r[:, low] + 1e-30)
    # Per bin of the level band, the diffuse and direct power of a coincident cardioid pair's
    # room (diffuse_share).
    lev = (grid.freqs >= DIFFUSE_SHARE_BAND_HZ[0]) & (grid.freqs <= DIFFUSE_SHARE_BAND_HZ[1])
    p_l, p_r = st.p_l[:, lev], st.p_r[:, lev]
    n = incoherent_power(p_l, p_r, st.s_lr[:, lev].real, capsule_diffuse_coherence())
    band_p = {"room_diffuse": n, "room_direct": (p_l + p_r) / 2 - n}
    # Loud steps: within 30 dB of the loudest (95th percentile).
    db = 10 * np.log10(power + 1e-20)
    loud = db > np.percentile(db, 95) - 30 if db.size else np.zeros(0, bool)
    return {"spectra": st, "grid": grid,
            "delay": lags[peak], "height": gcc[np.arange(len(peak)), peak], "ild": ild,
            "delay_low": fine[np.argmax(g_lo, axis=1)], "height_low": g_lo.max(axis=1),
            "delay_high": fine[np.argmax(g_hi, axis=1)], "height_high": g_hi.max(axis=1),
            "gamma_low": gamma_low, "gamma_freqs": grid.freqs[low], "loud": loud,
            "ild_weight": w, "coherence": coh, "power": power, "polarity": polarity,
            "delay2": lags[peak2], "height2": gcc2[np.arange(len(peak2)), peak2],
            "re_coh": re_coh, "abs_coh": abs_coh, **band_p}


def head_scale(f: dict) -> float:
    """A dummy head's or a listener's head size relative to KEMAR's, read from the recording.

    Every scale of :data:`HEAD_SCALES` gives KEMAR's per-bin model made that much larger
    (:meth:`engine.binaural.hrtf.HrirSet.scaled`); each explains the clear steps' bins
    (:func:`_clear_steps`, at most :data:`HEAD_SCALE_STEPS` spread over the clip) with a
    misfit (:func:`engine.cues.binmodel.model_misfit`: each bin's level ratio and phase
    against the nearest pair the model holds). Through the right head one source's bins
    match one direction each; through a head of another size a bin's level ratio and phase
    belong to different directions (the time difference grows with the head, the level
    difference moves up or down in frequency), and the bins of one source spread over
    directions by frequency, which the histograms read as further sources. The misfit has
    one valley over the scales, so the search walks downhill from KEMAR's own (3-5 models,
    not all); a valley at the range's end is a head of another shape, not size (1); the
    least misfit wins when it beats KEMAR's own by
    :data:`HEAD_SCALE_MIN_GAIN`; a source near the middle,
    or too few clear steps, says nothing about size: 1. Only in a recording as coherent as a
    dry one (:data:`DRY_COHERENCE`): a room's bins hold direct and diffuse sound together,
    whose level ratio and phase match no direction of any head, and a larger head's model
    (more phase turns per azimuth) fits that noise better, a bias toward large heads (tune
    KEMAR recordings in rooms read 1.1-1.3 with misfits 5-15 % below KEMAR's own). The maximum-likelihood choice of a
    frequency scale, the main way individual heads differ (Middlebrooks 1999)."""
    clear = np.flatnonzero(_clear_steps(f))
    if clear.size < MIN_EVIDENCE_STEPS or _clear_coherence(f) < DRY_COHERENCE:
        return 1.0
    if clear.size > HEAD_SCALE_STEPS:
        clear = clear[np.linspace(0, clear.size - 1, HEAD_SCALE_STEPS).astype(int)]
    st, grid = f["spectra"], f["grid"]
    sub = StepSpectra(st.s_lr[clear], st.p_l[clear], st.p_r[clear])
    misfit: dict[int, float] = {}

    def at(i: int) -> float:
        if i not in misfit:
            misfit[i] = model_misfit(sub, model_for("binaural", grid, head_scale=HEAD_SCALES[i]))
        return misfit[i]

    # The misfit falls toward the head's own scale and rises beyond it (one valley): walk
    # downhill from KEMAR's own, a few models instead of all.
    best = HEAD_SCALES.index(1.0)
    own = at(best)
    step = -1 if best > 0 and at(best - 1) < own else 1
    while 0 <= best + step < len(HEAD_SCALES) and at(best + step) < at(best):
        best += step
    # A head of KEMAR's shape has a valley inside the range; a misfit still falling at the
    # range's end is a head of another shape (a sphere's, a model's), which no size of
    # KEMAR explains: read it through KEMAR's own.
    if best in (0, len(HEAD_SCALES) - 1):
        return 1.0
    if not np.isfinite(own) or at(best) > (1.0 - HEAD_SCALE_MIN_GAIN) * own:
        return 1.0
    return float(HEAD_SCALES[best])


def _clear_steps(f: dict) -> np.ndarray:
    """Loud steps (within 30 dB of the loudest) among the most coherent :data:`CLEAR_SHARE`
    of them, where the direct sound outweighs the room's."""
    loud = f["loud"]
    if not loud.any():
        return loud
    cut = np.percentile(f["coherence"][loud], 100 * (1 - CLEAR_SHARE))
    return loud & (f["coherence"] >= min(cut, 0.9)) & (f["coherence"] > 0.15)


def _clear_coherence(f: dict) -> float:
    """The median coherence of the clear steps (:func:`_clear_steps`): near 1 dry, lower
    where a room is heard even where the direct sound is strongest."""
    clear = _clear_steps(f)
    return float(np.median(f["coherence"][clear])) if clear.any() else 0.0


def detect_stereo(stereo: np.ndarray, sample_rate: int, *,
                  features: dict | None = None) -> StereoDecision:
    """Decide the kind of stereo from the recording ``(2, n)``.

    1. The evidence is the clip's clear steps (loud, and among its most coherent 30 %:
       where the direct sound outweighs reverberation). A step is **timed** when the delay
       of its doubled-phase GCC-PHAT (blind to a channel's sign) is over 60 us,
       **level-only** when that delay (or the plain GCC-PHAT's, peaking clearly: a pan-pot
       mix's decorrelated reverb send makes the doubled phase's peak stray) is within 25 us
       while the level differs by 1.5 dB or more or one channel is inverted, or when one
       channel is silent; a step whose plain GCC-PHAT peaks clearly at lag 0 is never
       timed. An inverted step needs only a doubled-phase peak as high as a timed step's
       (:data:`PEAK_HEIGHT`) at lag 0: a figure-of-eight pair's echoes from its other
       quadrants come in the other polarity and lower it. A clip with too
       few of either has everything near the middle: a room heard coherent and in phase
       (diffuse floor >= 0.5, :func:`_diffuse_floor`) is a coincident pair's; otherwise
       every kind reads the same there (binaural, confidence 0).
    2. **Time or level:** the timed share. Coincident pairs and pan pots have no delays;
       heads and spaced pairs have them wherever the sound is off-centre. But four or more
       level-only steps inverted at lag 0 are a coincident pair (figure-of-eights) however
       many timed steps its room's echoes add: no head or spaced pair hears a sound
       inverted at lag 0, and a pan pot never inverts.
    3. **Head or spaced pair** (time): delays longer than any head gives (0.85 ms) in half
       the timed steps are a spaced pair. A delay 1.2x longer at low frequencies than at
       high is a head's diffraction (:func:`_diffraction`). Otherwise a head's shadow grows
       with frequency on the side the delay says (:func:`_head_shadow`, signed slope >=
       0.25); two omnis or ORTF's cardioids differ in level by the same amount at every
       frequency. With no shadow to read, one delay at every frequency is a pair.
    4. **Pan pot or coincident pair** (level): inverted steps are a Blumlein pair (a pan
       pot never inverts); a level difference beyond any microphone pair's (24 dB) is a pan
       pot; a reverberant field less coherent than any coincident cardioid pair hears
       (floor below 0.5) is a pan-pot mix's decorrelated reverb send; a recording with a
       coherent room in it (clear-step coherence below 0.95) is a coincident pair; a dry
       one is a mix (the two are then the same signal; see docs/hearing.md).
    """
    f = features if features is not None else _features(stereo, sample_rate)
    w = f["ild_weight"]
    broad = np.sum(f["ild"] * w, axis=1) / (w.sum(axis=1) + 1e-9)
    clear = _clear_steps(f)
    delay = np.abs(f["delay2"])
    inverted = clear & (f["polarity"] <= INVERTED)
    # In phase at lag 0: the plain GCC-PHAT peaks there clearly. The doubled phase (blind to a
    # channel's sign) squares what is not direct sound too, so where a decorrelated part is
    # strong (a pan-pot mix's reverb send) its peak can stray to any lag; the plain peak at
    # lag 0 then tells the step is level-only (a timed step never peaks at 0).
    in_phase = (np.abs(f["delay"]) <= ZERO_DELAY_S) & (f["height"] > 0.5)
    # Inverted at lag 0: the plain GCC-PHAT at lag 0 is below INVERTED and the doubled
    # phase's peak is there, as high as a timed step's must be (a room lowers it: reflections
    # from the pair's other quadrants come in the other polarity).
    inverted_zero = ((f["polarity"] <= INVERTED) & (delay <= ZERO_DELAY_S)
                     & (f["height2"] > PEAK_HEIGHT))
    zero = ((delay <= ZERO_DELAY_S) & (f["height2"] > 0.5)) | in_phase | inverted_zero
    timed = clear & (delay >= TIMED_DELAY_S) & (f["height2"] > PEAK_HEIGHT) & ~in_phase
    level = clear & ((zero & ((np.abs(broad) >= LEVEL_DB) | inverted))
                     | (np.abs(broad) >= HARD_PAN_DB))  # a silent channel has no delay to read
    timed &= ~level
    floor = _diffuse_floor(f)
    ev = {"evidence_steps": float(timed.sum() + level.sum()),
          "coherence": _clear_coherence(f), "diffuse_coherence": floor}
    if timed.sum() + level.sum() < MIN_EVIDENCE_STEPS:
        if ev["coherence"] < DRY_COHERENCE and floor >= CARDIOID_DIFFUSE:
            # Everything near the middle, but a room whose sound stays coherent and in phase
            # from 400 Hz to 6.4 kHz: only a coincident pair hears a room so.
            return StereoDecision("coincident", evidence=ev,
                                  confidence=min(_sure(floor - CARDIOID_DIFFUSE, 0, 0.2),
                                                 _sure(DRY_COHERENCE - ev["coherence"], 0, 0.1)))
        return StereoDecision("binaural", confidence=0.0, evidence=ev)
    time_share = float(timed.sum() / (timed.sum() + level.sum()))
    ev["time_share"] = time_share
    if time_share >= 0.5:
        # Heard at lag 0 with one channel inverted: only a figure-of-eight pair's side
        # quadrant gives that (no delay; a pan pot never inverts), however many timed steps
        # its room adds (the doubled phase's peak strays to the reflections' lags). A head's
        # or a spaced pair's narrow sound can sit half a turn out of phase, but at its delay.
        inverted_at_zero = float((level & inverted).sum())
        ev["inverted_at_zero"] = inverted_at_zero
        if inverted_at_zero >= MIN_EVIDENCE_STEPS // 2:
            return StereoDecision("coincident", evidence=ev, confidence=_sure(
                inverted_at_zero, MIN_EVIDENCE_STEPS // 2, MIN_EVIDENCE_STEPS))
        beyond = float(np.mean(np.abs(f["delay"][timed]) > HEAD_MAX_DELAY_S))
        shadow = _head_shadow(f, timed & (np.abs(f["delay"]) <= HEAD_MAX_DELAY_S))
        ratio = _diffraction(f, timed)
        ev.update(beyond_head=beyond, head_shadow=shadow, low_high_delay=ratio)
        sure = _sure(time_share, 0.5, 0.8)
        if beyond >= BEYOND_HEAD_SHARE:
            return StereoDecision("spaced", confidence=min(sure, _sure(beyond, 0.5, 0.75)),
                                  evidence=ev)
        if np.isfinite(ratio) and ratio >= HEAD_DIFFRACTION:
            return StereoDecision("binaural", evidence=ev, confidence=min(
                sure, _sure(ratio - HEAD_DIFFRACTION, 0, 0.1)))
        if not np.isfinite(shadow):
            if np.isfinite(ratio):  # one delay at every frequency: not a head
                return StereoDecision("spaced", evidence=ev, confidence=min(
                    sure, _sure(HEAD_DIFFRACTION - ratio, 0, 0.1)))
            # near the middle, where heads and pairs read alike
            return StereoDecision("binaural", confidence=0.0, evidence=ev)
        kind = "binaural" if shadow >= HEAD_SHADOW else "spaced"
        return StereoDecision(kind, confidence=min(sure, _sure(abs(shadow - HEAD_SHADOW), 0, 0.2)),
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
    if floor < CARDIOID_DIFFUSE:
        return StereoDecision("panned", evidence=ev,
                              confidence=min(sure, _sure(CARDIOID_DIFFUSE - floor, 0, 0.2)))
    if coh < DRY_COHERENCE:
        return StereoDecision("coincident", evidence=ev,
                              confidence=min(sure, _sure(DRY_COHERENCE - coh, 0, 0.1)))
    return StereoDecision("panned", confidence=min(sure, 0.5), evidence=ev)


def coincident_pattern(f: dict) -> float:
    """The capsules of a coincident pair: :data:`FIGURE8_PATTERN` (Blumlein) when the
    recording shows what cardioids cannot give, else :data:`COINCIDENT_PATTERN` (XY):

    - sounds with one channel inverted (four or more clear steps; a cardioid is never
      negative, a figure-of-eight is behind its null);
    - in-phase sounds with one channel silent (four or more clear steps beyond
      :data:`HARD_PAN_DB`: a cardioid pair at 110 degrees differs by at most 21 dB, a
      figure-of-eight pair has its null at 45 degrees);
    - a room less coherent than any cardioid pair hears it (:func:`_diffuse_floor` below
      :data:`CARDIOID_DIFFUSE`): two first-order capsules ``g = p + (1 - p) cos`` at an
      angle ``a`` hear a diffuse field with coherence ``(p^2 + (1 - p)^2 cos(a) / 3) / (p^2 +
      (1 - p)^2 / 3)``: ``0.75 + 0.25 cos(a)`` >= 0.5 for cardioids, ``cos 90 = 0`` for a
      Blumlein pair. (For ``auto`` such a floor is a pan-pot mix's send unless the pair
      showed inverted sounds; told "coincident", it is the capsules.)

    A dry source in a Blumlein pair's front quadrant shows none of these (in phase, the
    level of a pan pot at twice the angle) and is read with cardioids: too far out."""
    clear = _clear_steps(f)
    w = f["ild_weight"]
    broad = np.sum(f["ild"] * w, axis=1) / (w.sum(axis=1) + 1e-9)
    inverted = clear & (f["polarity"] <= INVERTED)
    silent = clear & (f["polarity"] > INVERTED) & (np.abs(broad) >= HARD_PAN_DB)
    if max(inverted.sum(), silent.sum()) >= MIN_EVIDENCE_STEPS // 2:
        return FIGURE8_PATTERN
    if _diffuse_floor(f) < CARDIOID_DIFFUSE:
        return FIGURE8_PATTERN
    return COINCIDENT_PATTERN


def _diffraction(f: dict, sel: np.ndarray) -> float:
    """The median ratio of the low-band (150-700 Hz) to the high-band (1.5-4 kHz) delay over
    the timed steps where both bands peak clearly (GCC above 0.5), on the same side and
    over 0.1 ms: a head's is longer at low frequencies, where sound bends round it (about
    3/2 for a sphere, Kuhn 1977; KEMAR and the bench's sphere read 1.2-1.46 dry), two
    microphones' the same at every frequency (1.0). NaN with fewer than 8 such steps."""
    lo, hi = f["delay_low"], f["delay_high"]
    ok = (sel & (f["height_low"] > 0.5) & (f["height_high"] > 0.5) & (np.abs(hi) > 1e-4)
          & (np.sign(lo) == np.sign(hi)))
    if ok.sum() < MIN_EVIDENCE_STEPS:
        return float("nan")
    return float(np.median(np.abs(lo[ok]) / np.abs(hi[ok])))


def _diffuse_floor(f: dict) -> float:
    """The coherence of the recording's least direct sound: the mean real part of the complex
    coherence (400-6400 Hz) over the quarter of the loud steps that are least coherent.
    Reverberation reaches a coincident cardioid pair as a diffuse field whose coherence is
    ``0.75 + 0.25 cos(angle)`` (0.75 at 90 degrees, 0.66 at 110, never below 0.5), the same
    at every frequency; a pan-pot mix's stereo reverb is decorrelated on purpose (a spaced
    pair's or an algorithm's: near 0 above a few hundred Hz). The direct sound only raises
    the floor, so a floor below 0.5 is a reverb no coincident cardioid pair could hear."""
    loud = f["loud"]
    if not loud.any():
        return 1.0
    mag, re = f["abs_coh"][loud], f["re_coh"][loud]
    k = np.argsort(mag)[:max(1, len(mag) // 4)]
    return float(np.mean(re[k]))


def _head_shadow(f: dict, sel: np.ndarray) -> float:
    """How much of KEMAR's frequency-dependent shadow, *signed*, the steps' level differences
    show at the azimuth their delay gives: the weighted regression slope of the observed
    level differences (each step's mean over bands removed) on KEMAR's, over the steps 15-90
    degrees off-centre. A head (any head: KEMAR, a sphere) shadows the far ear more at high
    frequencies, on the side the delay says: slope near 1 dry, less in rooms. Spaced omnis
    and ORTF's cardioids differ in level by the same amount at every frequency (1/r, the
    capsules' patterns), which the mean removes; a room's reflections add frequency-dependent
    differences too, but of either sign, which a signed slope averages out where an RMS
    would count them."""
    cal = default_calibration()
    az = cal.azimuth_from_itd(f["delay"][sel])
    side = np.abs(az) >= 15
    if side.sum() < 4:
        return float("nan")
    model = cal.ild_db[np.clip(np.round(az[side] + 90).astype(int), 0, 180)]
    ww = f["ild_weight"][sel][side]
    ild = f["ild"][sel][side]

    def shape(v):
        return v - np.sum(ww * v, axis=1, keepdims=True) / (ww.sum(axis=1, keepdims=True) + 1e-9)
    m = shape(model)
    den = float(np.sum(ww * m ** 2))
    return float(np.sum(ww * m * shape(ild)) / den) if den > 1e-9 else 0.0


def spacing_estimate(stereo: np.ndarray, sample_rate: int, *,
                     features: dict | None = None) -> tuple[float, str]:
    """A spaced pair's spacing (m) and where it came from
    (:data:`engine.audio.stereo_kinds.SPACING_SOURCES`). From the level differences of
    directional capsules (:func:`level_spacing`, ORTF and its kin), else from the room when
    one is heard (:func:`diffuse_spacing`), else :data:`TYPICAL_SPACING_M`; and at least the
    least spacing that can give the largest delay heard (95th percentile of the clear steps'
    GCC-PHAT delays: a source at 90 degrees), up to :data:`MAX_SPACING_M`.

    A step's delay heard is the largest of its whole-band GCC-PHAT peak and its peaks below
    and above a head's diffraction corner (:data:`DIFFRACTION_LOW_HZ`,
    :data:`DIFFRACTION_HIGH_HZ`), each where its peak stands (height above 0.3): a pair
    delays every frequency alike, so a band whose peak differs holds another source, which
    the whole band's peak can miss (two sounds in different bands: the wider one's delay
    wins every step). The bands search up to :data:`HEAD_MAX_DELAY_S`, so a longer delay
    reads as that, still a floor."""
    f = features if features is not None else _features(stereo, sample_rate)
    found, source = level_spacing(f), "levels"
    if found is None:
        found, source = diffuse_spacing(f), "room"
    if found is None:
        found, source = TYPICAL_SPACING_M, SPACING_ASSUMED
    clear = _clear_steps(f)
    heard = np.stack([np.where(f[h] > 0.3, np.abs(f[d]), np.nan) for d, h in (
        ("delay", "height"), ("delay_low", "height_low"), ("delay_high", "height_high"))])
    timed = clear & np.isfinite(heard).any(axis=0)
    if timed.sum() < 4:
        return float(found), source
    delay = float(np.percentile(np.nanmax(heard[:, timed], axis=0), 95))
    floor = SPEED_OF_SOUND * delay
    if floor > found:
        return float(min(floor, MAX_SPACING_M)), "delays"
    return float(found), source


# The spacing read from a room (diffuse_spacing): the fit's spacings, and when it is believed.
DIFFUSE_SPACINGS_M = np.arange(0.05, 1.0 + 1e-9, 0.01)
DIFFUSE_BAND_HZ = (80.0, 3000.0)   # design: below c / 2d's second zero for 10-60 cm pairs
DIFFUSE_MAX_COHERENCE = 0.6        # the least coherent quarter's |coherence| (500-3000 Hz)
                                   # below this: the room, not the direct sound, is heard there
DIFFUSE_MAX_RESIDUAL = 0.1         # mean squared misfit of A sinc(2 f d / c) per bin
DIFFUSE_MIN_AMPLITUDE = 0.2        # A: noise and directional capsules lower it; below this the
                                   # curve carries too little coherence to read d from
ESTIMATE_SPACING_M = (0.10, 0.60)  # SPEC's spaced pairs: an estimate is kept within them


DIRECTIONAL_LEVEL_DB = 3.0         # a timed step this much louder on the delay's side: its
                                   # capsules point apart (design; far-field omnis give ~0)


def level_spacing(f: dict) -> float | None:
    """The spacing of a near-coincident pair of cardioids (ORTF and its kin: capsules pointing
    apart): its level difference is the cardioids' at the source's azimuth, the same at every
    frequency, and its delay is ``d sin(az) / c``; so each timed step whose level differs by
    3 dB or more on the side of the delay gives ``d = c tau / sin(az)`` with ``az`` read from
    the level through cardioids at 110 degrees (ORTF's angle). The median of at least 8 such
    steps, within :data:`ESTIMATE_SPACING_M`; ``None`` otherwise (omnis in the far field
    differ in level too little)."""
    w = f["ild_weight"]
    broad = np.sum(f["ild"] * w, axis=1) / (w.sum(axis=1) + 1e-9)
    delay = f["delay"]
    timed = _clear_steps(f) & (np.abs(delay) >= TIMED_DELAY_S) & (f["height"] > 0.3)
    sel = timed & (np.abs(broad) >= DIRECTIONAL_LEVEL_DB) & (np.sign(broad) == np.sign(delay))
    if sel.sum() < MIN_EVIDENCE_STEPS:
        return None
    az = np.arange(0.5, 90.01, 0.5)
    gl, gr = coincident_gains(az, angle_deg=110.0)
    level = 20 * np.log10(gr / gl)  # rises with az
    a = np.interp(np.abs(broad[sel]), level, az)
    d = SPEED_OF_SOUND * np.abs(delay[sel]) / np.sin(np.radians(a))
    return float(np.clip(np.median(d), *ESTIMATE_SPACING_M))


def diffuse_spacing(f: dict) -> float | None:
    """The spacing of a spaced pair heard in a room, from its reverberation: two microphones
    ``d`` apart in a diffuse field are coherent by ``sinc(2 f d / c)`` (1 at low frequencies,
    first 0 at ``c / 2d``), whatever the directions of the sources. Per frequency bin the
    quarter of the loud steps that is least coherent there is the most diffuse; the real part
    of its coherence is fitted with ``A sinc(2 f d / c)`` (``A``: noise in each channel and
    directional capsules lower the whole curve) over 80-3000 Hz. ``None`` when no room is
    heard (the direct sound dominates even those steps), the fit is poor, the curve too weak,
    or the fit runs to its largest spacing."""
    gam, freqs, loud = f["gamma_low"], f["gamma_freqs"], f["loud"]
    g = gam[loud]
    if g.shape[0] < 8:
        return None
    k = max(1, g.shape[0] // 4)
    idx = np.argsort(np.abs(g), axis=0)[:k]
    re = np.take_along_axis(g.real, idx, 0).mean(axis=0)
    mag = np.take_along_axis(np.abs(g), idx, 0).mean(axis=0)
    mid = freqs >= 500
    if not mid.any() or float(mag[mid].mean()) >= DIFFUSE_MAX_COHERENCE:
        return None
    model = np.sinc(2 * freqs[None, :] * DIFFUSE_SPACINGS_M[:, None] / SPEED_OF_SOUND)
    amp = np.clip(np.sum(model * re[None], axis=1) / np.sum(model ** 2, axis=1), 0.0, 1.2)
    err = np.mean((re[None] - amp[:, None] * model) ** 2, axis=1)
    best = int(np.argmin(err))
    if (err[best] > DIFFUSE_MAX_RESIDUAL or amp[best] < DIFFUSE_MIN_AMPLITUDE
            or best >= len(DIFFUSE_SPACINGS_M) - 5):
        return None
    return float(np.clip(DIFFUSE_SPACINGS_M[best], *ESTIMATE_SPACING_M))


def _sure(v: float, lo: float, hi: float) -> float:
    return float(np.clip((v - lo) / (hi - lo), 0.0, 1.0))
