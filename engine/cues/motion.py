"""Motion labels from a source's tracks: static, left_to_right, right_to_left, approaching,
receding.

- **Lateral** motion is the azimuth trend: a weighted straight-line fit over the active
  steps, checked against the medians of the first and last quarter (a pass-by follows an
  arctangent, not a line, but both agree on the sign and rough size).
- **Approach / recede** needs agreeing evidence, because loudness alone lies: a piano note or
  an explosion gets quieter by itself. Three cues are combined: the trend of the loudness
  *envelope* (a running maximum over 1 s, so the gaps and decays between repeated events do
  not count), the trend of interaural coherence (a direct-to-reverberant proxy: a nearer
  source is more coherent in a room), and the trend of high-frequency balance (air and
  reverberation dull a far source). A level drop that starts at an onset and falls faster
  than :data:`SELF_DECAY_DB_S` with no new onset is a sound decaying by itself, not leaving,
  unless coherence and brightness fall with it.
- A level change that the distance cues do not back (coherence and brightness staying put or
  disagreeing) counts only when it is a **steady trend over the whole clip**: the level
  curve of a source moving at steady speed along the line to the microphones,
  ``20 log10(r0 / r(t))`` with ``r`` linear in time (:func:`steady_motion_r2`), must explain
  at least :data:`STEADY_TREND_R2` of the envelope's variance. A dog whose barks come louder
  and softer at random, or a voice, stays static however its loudest moments happen to
  fall; a car coming closer rises steadily, and ever faster as it nears.
- A dry spaced pair of omnis **measures** the distance change: its level difference is 1/r
  spreading's, ``ild / |tau|`` goes as ``1 / r`` (:func:`pair_distance_change`), and the
  level change it gives stands for the level's; the source's own loudness cancels from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from .diffuse import direct_share
from .stereo import SPEED_OF_SOUND

LATERAL_MIN_DEG = 18.0
LEVEL_MIN_DB = 4.0
SELF_DECAY_DB_S = 8.0
COHERENCE_DB_EQUIV = 25.0   # 0.1 of coherence change counts like 2.5 dB of level change
HF_DB_EQUIV = 0.3
# The most that distance can change the 4-12 kHz / 0.5-2 kHz balance over SPEC's 0.5-10 m:
# air absorbs about 0.03 (4 kHz) to 0.12 dB/m (8 kHz) and under 0.01 dB/m at 1 kHz (ISO
# 9613-1, 20 C), about 1 dB over 9.5 m; a room's tail is duller than the direct sound by the
# ratio of its high and mid reverberation times (typically 0.5-0.7: 1.5-3 dB), which moving
# from all direct to all tail brings at most. A larger brightness change is the sound's own
# timbre (a bell's upper partials dying first), not distance: only this much of it counts.
HF_MAX_DB = 3.0
# A source moving at steady speed changes level as 20 log10(r0 / r(t)): smooth and one-way
# (a 1/r approach from 6 to 1.5 m at constant speed: a straight line explains R^2 about 0.9
# of it; the curve itself, all of it). Events of uneven level scatter around any such curve.
STEADY_TREND_R2 = 0.5
# The steady-motion curves tried, by their total level change (dB): SPEC's distances, 0.5-10
# m, change the level by up to 26 dB; 0.25 dB steps are finer than any envelope reads.
STEADY_CHANGES_DB = np.arange(-40.0, 40.0 + 1e-9, 0.25)
# In a room, moving changes the direct-to-reverberant ratio and the source's own swells do
# not (the reverberant level follows the emitted power, not the distance): a level change
# that distance would have turned into at least this much coherence change
# (:func:`expected_coherence_change`), while the measured coherence moved less than this
# in that direction (about the step-to-step scatter of the measure: no change it can see),
# is the source's own. Only the direction of the expectation is trusted, not its size:
# rooms move the measured coherence 0.15-0.6 times what the diffuse model expects.
ROOM_MIN_COHERENCE_CHANGE = 0.1


# A spaced pair of omnis hears a source at distance r and azimuth az with the delay
# tau = d sin(az) / c and the level difference of 1/r spreading, 20 log10(r_far / r_near),
# about 8.69 c |tau| / r dB (physical). So the level difference over the delay, read at the
# start and the end of the clip, changes with the distance alone, whatever the source's own
# loudness does (:func:`pair_distance_change`).
PAIR_MIN_STEPS = 9            # design: timed steps, a third of them at each end
PAIR_MIN_DISTANCE_M = 0.5     # physical: SPEC's nearest source; a level difference larger
                              # than 1/r gives there is the capsules' own (ORTF), not distance
PAIR_MAX_UNCERTAINTY_DB = 2.0 # design: half of LEVEL_MIN_DB; a reading less sure than this
                              # (a source near the middle, a far one, a room) is not used
PAIR_MAX_WET = 0.0            # design: only recordings with no room heard
                              # (:func:`engine.cues.diffuse.wetness`)


@dataclass
class MotionEvidence:
    """What the label rests on (kept in cues for the planner and for debugging)."""

    lateral_deg: float
    level_db: float
    coherence: float
    hf_db: float
    self_decay: bool
    score_db: float
    # The coherence change the level change would bring if it were distance alone (0 where
    # the recording is too dry to tell), :func:`expected_coherence_change`.
    coherence_expected: float = 0.0
    # The level change the distance alone made, read from a dry spaced omni pair's level
    # difference (:func:`pair_distance_change`); NaN where it was not read or not sure.
    pair_distance_db: float = float("nan")


def _fit_change(t: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Change of a weighted least-squares line over the span of ``t`` (same units as y)."""
    if w.sum() <= 0 or np.ptp(t) <= 0:
        return 0.0
    tm = np.sum(w * t) / w.sum()
    ym = np.sum(w * y) / w.sum()
    var = np.sum(w * (t - tm) ** 2)
    if var <= 0:
        return 0.0
    slope = np.sum(w * (t - tm) * (y - ym)) / var
    return float(slope * (t.max() - t.min()))


def _quarter_change(y: np.ndarray, w: np.ndarray) -> float:
    idx = np.nonzero(w > 0)[0]
    if idx.size < 4:
        return 0.0
    q = max(1, idx.size // 4)
    first, last = idx[:q], idx[-q:]
    return float(np.median(y[last]) - np.median(y[first]))


def level_envelope(level_db: np.ndarray, active: np.ndarray, step_s: float, *,
                   window_s: float = 1.0) -> np.ndarray:
    """Running maximum over ``window_s`` of the active steps' level, then a 0.5 s mean."""
    lv = np.where(active, level_db, -np.inf)
    env = maximum_filter1d(lv, size=max(1, int(round(window_s / step_s))), mode="nearest")
    env = np.where(np.isfinite(env), env, np.nan)
    good = np.isfinite(env)
    if not good.any():
        return np.zeros_like(level_db)
    env = np.interp(np.arange(len(env)), np.nonzero(good)[0], env[good])
    return uniform_filter1d(env, size=max(1, int(round(0.5 / step_s))), mode="nearest")


def classify_motion(times_s: np.ndarray, azimuth_deg: np.ndarray, weight: np.ndarray,
                    level_db: np.ndarray, coherence: np.ndarray, hf_db: np.ndarray,
                    active: np.ndarray, onsets_s: list[float], step_s: float, *,
                    level_min_db: float = None,
                    diffuse: float | None = None,
                    pair_distance: tuple[float, float] | None = None,
                    ) -> tuple[str, float, MotionEvidence]:
    """Label one source's motion from per-step tracks (all ``(S,)``).

    ``level_min_db`` (default :data:`LEVEL_MIN_DB`) is the level change that counts as
    approaching or receding; separated sources use a larger one, since their masked level
    also moves with how the bins are shared. ``diffuse`` is the kind of stereo's diffuse-field
    coherence (:func:`engine.cues.diffuse.band_diffuse_coherence`), for reading the share of
    direct sound from ``coherence`` (the room test); ``None``: no room test.
    ``pair_distance`` is :func:`pair_distance_change`'s reading (a dry spaced pair of omnis,
    one source): when it is sure to :data:`PAIR_MAX_UNCERTAINTY_DB`, the level change that
    distance made is read from the geometry and stands for the level's (the source's own
    loudness, which cancels from it, does not count).

    Returns ``(label, confidence in [0, 1], evidence)``.
    """
    level_min = LEVEL_MIN_DB if level_min_db is None else float(level_min_db)
    act = active.astype(bool)
    if act.sum() < 4:
        return "static", 0.0, MotionEvidence(0.0, 0.0, 0.0, 0.0, False, 0.0)
    span = times_s[act]
    t0, t1 = span.min(), span.max()
    # Lateral: the fit and the quarter medians must agree.
    w_az = np.where(act, weight, 0.0) + 1e-6 * act
    fit = _fit_change(times_s[act], azimuth_deg[act], w_az[act])
    quart = _quarter_change(azimuth_deg, w_az)
    lateral = fit if np.sign(fit) == np.sign(quart) else 0.0
    lateral = float(np.sign(lateral) * min(abs(fit), abs(quart) * 1.5))

    env = level_envelope(level_db, act, step_s)
    w_act = act.astype(float)
    level = _fit_change(times_s[act], env[act], w_act[act])
    coh = _fit_change(times_s[act], coherence[act], w_act[act])
    known = act & np.isfinite(hf_db)  # a step without one of the bands has no balance
    hf = float(np.clip(_fit_change(times_s[known], hf_db[known], w_act[known]),
                       -HF_MAX_DB, HF_MAX_DB))
    decay = _self_decay(times_s, level_db, act, onsets_s, t0, t1, level)
    distal = coh * COHERENCE_DB_EQUIV + hf * HF_DB_EQUIV  # the cues a decay does not fake
    score = level + distal
    backed = np.sign(distal) == np.sign(level) and abs(distal) >= level_min / 2
    expected = (0.0 if diffuse is None else
                expected_coherence_change(float(np.mean(coherence[act])), level, diffuse))
    # The room says the level change is not distance: it would have moved the coherence.
    room_denies = (abs(expected) >= ROOM_MIN_COHERENCE_CHANGE
                   and coh * np.sign(expected) < ROOM_MIN_COHERENCE_CHANGE)
    geometry = (pair_distance is not None
                and pair_distance[1] <= PAIR_MAX_UNCERTAINTY_DB)
    if geometry:
        score = pair_distance[0] + distal  # distance's own level change, measured
    elif decay and distal > -level_min / 2:
        score = distal
    elif room_denies or (not backed
                          and steady_motion_r2(times_s[act], env[act]) < STEADY_TREND_R2):
        score = distal  # the source's own ups and downs, not distance
    evidence = MotionEvidence(lateral, level, coh, hf, decay, score, expected,
                              pair_distance[0] if geometry else float("nan"))

    lat_conf = _ramp(abs(lateral), LATERAL_MIN_DEG * 0.6, LATERAL_MIN_DEG * 1.6)
    rad_conf = _ramp(abs(score), level_min * 0.6, level_min * 2.0)
    if abs(lateral) >= LATERAL_MIN_DEG and lat_conf >= rad_conf * 0.5:
        return ("left_to_right" if lateral > 0 else "right_to_left"), lat_conf, evidence
    if abs(score) >= level_min:
        return ("approaching" if score > 0 else "receding"), rad_conf, evidence
    return "static", float(1.0 - max(lat_conf, rad_conf)), evidence


def pair_distance_change(itd_s: np.ndarray, ild_db: np.ndarray,
                         active: np.ndarray) -> tuple[float, float] | None:
    """The level change (dB) that the change of distance alone made over the clip, read from
    a spaced pair of omnis' level difference, and its uncertainty (dB); ``None`` when it
    cannot be read.

    An omni pair's level difference is ``20 log10(r_far / r_near)``, about ``8.69 c |tau| / r``
    dB for the delay ``tau`` (towards the nearer microphone, which is the louder), so
    ``ild / |tau|`` goes as ``1 / r``, and ``20 log10`` of its ratio between the last and the
    first third of the timed active steps is the level change of 1/r spreading. The source's
    own loudness cancels from a level difference. Each third's level difference is a median
    with a standard error from its spread (``1.25 * 1.48 MAD / sqrt(n)``); both must stand on
    the delay's side, and the distance they imply must be at least
    :data:`PAIR_MIN_DISTANCE_M` (a larger difference is directional capsules', not 1/r).
    """
    tau, ild = np.asarray(itd_s, float), np.asarray(ild_db, float)
    act = np.asarray(active, bool) & np.isfinite(tau) & np.isfinite(ild)
    if act.sum() < PAIR_MIN_STEPS:
        return None
    side = np.sign(np.median(tau[act]))
    idx = np.nonzero(act & (tau * side > 0))[0]
    if side == 0 or idx.size < PAIR_MIN_STEPS:
        return None
    q = idx.size // 3
    ends = []
    for part in (idx[:q], idx[-q:]):
        lev = float(np.median(ild[part] * side))
        delay = float(np.median(np.abs(tau[part])))
        mad = float(np.median(np.abs(ild[part] * side - lev)))
        err = 1.25 * 1.4826 * mad / np.sqrt(q) + 1e-3
        if lev <= 0 or 20 / np.log(10) * SPEED_OF_SOUND * delay / lev < PAIR_MIN_DISTANCE_M:
            return None
        ends.append((lev / delay, err / lev))
    (g0, e0), (g1, e1) = ends
    return float(20 * np.log10(g1 / g0)), float(20 / np.log(10) * np.hypot(e0, e1))


def expected_coherence_change(coherence: float, level_db: float, diffuse: float) -> float:
    """The change in coherence that a level change of ``level_db`` (over the clip, centred on
    the clip's mean ``coherence``) brings when it is all distance.

    A step's sound is direct sound (coherent) plus the room's (coherence ``diffuse``
    between the channels): with a direct share ``eta`` of the power, the normalised
    cross-spectrum is ``eta + (1 - eta) diffuse`` and the coherence its square
    (:func:`engine.cues.diffuse.direct_share`). Moving changes only the direct power; the
    reverberant power, set by what the source emits and the room's absorption, stays (the
    diffuse-field model). So from the middle (total power 1, direct ``eta``) to either end
    (total ``10^(+-level_db / 20)``) the direct share follows, and so does the coherence.
    A dry recording (``eta`` near 1) expects almost no change: nothing to tell there.
    """
    g = float(np.clip(diffuse, 0.0, 0.99))
    eta = float(np.sqrt(direct_share(coherence, g)))
    ends = []
    for sign in (-1.0, 1.0):
        total = 10 ** (sign * level_db / 20)
        share = float(np.clip((total - (1.0 - eta)) / total, 0.0, 1.0))
        ends.append((share + (1.0 - share) * g) ** 2)
    return ends[1] - ends[0]


def steady_motion_curve(change_db: float, u: np.ndarray) -> np.ndarray:
    """Level (dB, 0 at the start) of a source moving at steady speed along the line to the
    microphones, whose level changes by ``change_db`` in all, at times ``u`` in [0, 1] of
    the span: ``r(u) = r0 (1 + k u)`` with ``r1 / r0 = 10^(-change_db / 20)``, so the level is
    ``-20 log10(1 + k u)`` (1/r spreading). Approaching, it rises ever faster as the source
    nears; receding, it falls fast at first."""
    k = 10.0 ** (-change_db / 20.0) - 1.0
    return -20.0 * np.log10(1.0 + k * np.asarray(u, float))


def steady_motion_r2(t: np.ndarray, y: np.ndarray) -> float:
    """Share of the level ``y``'s (dB) variance that the best steady-motion curve explains
    (0 to 1): :func:`steady_motion_curve` over :data:`STEADY_CHANGES_DB`, each with its own
    offset. The curve is fixed by its total change, so it is no freer than a straight line
    (one slope, one offset), but it has the shape that 1/r gives a source at steady speed
    rather than a line's."""
    t = np.asarray(t, float)
    y = np.asarray(y, float)
    if len(t) < 3 or np.ptp(t) <= 0 or np.var(y) <= 1e-12:
        return 0.0
    u = (t - t.min()) / np.ptp(t)
    curves = steady_motion_curve(STEADY_CHANGES_DB[:, None], u[None, :])  # (C, S)
    resid = y[None, :] - curves
    sse = np.sum((resid - resid.mean(axis=1, keepdims=True)) ** 2, axis=1)
    sst = np.sum((y - y.mean()) ** 2)
    return float(np.clip(1.0 - sse.min() / sst, 0.0, 1.0))


def _ramp(v: float, lo: float, hi: float) -> float:
    return float(np.clip((v - lo) / (hi - lo), 0.0, 1.0))


def _self_decay(times_s, level_db, act, onsets_s, t0, t1, level_change) -> bool:
    """A single event fading by itself: the level falls fast from near the start of the
    active span, and no onset comes after the first fifth of it."""
    if level_change >= -LEVEL_MIN_DB:
        return False
    dur = max(t1 - t0, 1e-6)
    rate = -level_change / dur
    later = [t for t in onsets_s if t0 + 0.2 * dur < t <= t1]
    peak_t = times_s[act][int(np.argmax(level_db[act]))]
    return rate >= SELF_DECAY_DB_S and not later and peak_t <= t0 + 0.3 * dur
