"""Render several mono sounds along their objects' paths and mix them to one stereo signal.

Each object of a layout gets a mono sound (its own, or a shared default). The sound is fitted
to the clip's length, rendered along the object's path (binaural with the KEMAR HRTF, or
constant-power stereo panning), switched on only while the object is on screen, and summed.
The mix is then normalised to a peak of ``peak_dbfs`` (never above, so it cannot clip).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import BadInput
from ..jobs import CancelToken
from ..layout import Layout
from .panning import render_panned
from .paths import DEFAULT_NEAR_M, SourcePath, path_from_object

METHODS = ("binaural", "stereo")
FITS = ("error", "loop")
# A sound may differ from the clip by this much and still be padded or trimmed silently; the
# same rule as render_job uses for a plan and its audio.
LENGTH_TOLERANCE_S = 0.5
LENGTH_TOLERANCE_FRACTION = 0.05
LOOP_CROSSFADE_S = 0.05


@dataclass
class SpatializeSettings:
    """How to spatialize.

    Attributes
    ----------
    method : ``binaural`` (KEMAR HRTF, for headphones) or ``stereo`` (constant-power panning,
        for loudspeakers).
    room_rt60_s : reverberation time of a room around the listener; None renders free field.
    doppler : apply the propagation delay of a moving source (pitch shifts as it passes).
    fov_deg : degrees of azimuth the frame width spans (default 180, docs/layout-format.md).
    near_distance_m : distance of a box at the planner's nearest size for its label.
    fit : what to do with a sound whose length differs from the clip's by more than
        max(0.5 s, 5 %): ``error`` refuses it, ``loop`` repeats a short sound and trims a long one.
    peak_dbfs : peak level of the mix. With ``normalize`` the mix is scaled to it; without,
        it is only scaled down when it would exceed it.
    air_absorption : distant sources lose high frequencies (binaural only).
    """

    method: str = "binaural"
    room_rt60_s: float | None = None
    doppler: bool = False
    fov_deg: float = 180.0
    near_distance_m: float = DEFAULT_NEAR_M
    fit: str = "error"
    peak_dbfs: float = -1.0
    normalize: bool = True
    air_absorption: bool = True

    def validate(self) -> "SpatializeSettings":
        if self.method not in METHODS:
            raise BadInput(f"Unknown spatialize method {self.method!r}.",
                           hint=f"Use one of: {', '.join(METHODS)}.")
        if self.fit not in FITS:
            raise BadInput(f"Unknown fit {self.fit!r}.", hint=f"Use one of: {', '.join(FITS)}.")
        if self.room_rt60_s is not None and not 0.1 <= self.room_rt60_s <= 5.0:
            raise BadInput(f"The room's RT60 must be between 0.1 and 5 seconds, got "
                           f"{self.room_rt60_s:g}.")
        if not -40.0 <= self.peak_dbfs <= 0.0:
            raise BadInput(f"The peak level must be between -40 and 0 dBFS, got "
                           f"{self.peak_dbfs:g}.")
        if not 0.1 <= self.near_distance_m <= 100.0:
            raise BadInput(f"The near distance must be between 0.1 and 100 m, got "
                           f"{self.near_distance_m:g}.")
        return self


def fit_to_duration(mono: np.ndarray, sample_rate: int, duration_s: float, *,
                    fit: str = "error", name: str = "the sound") -> np.ndarray:
    """The sound made exactly ``round(duration_s * sample_rate)`` samples long.

    Parameters
    ----------
    mono : np.ndarray [shape=(m,)]
    duration_s : the clip's length.
    fit : ``error`` or ``loop`` (see :class:`SpatializeSettings`).
    name : how to call the sound in an error message.

    Returns
    -------
    np.ndarray [shape=(n,)] float64.
    """
    x = np.asarray(mono, dtype=float)
    n = int(round(duration_s * sample_rate))
    have_s = x.size / sample_rate
    if abs(have_s - duration_s) > max(LENGTH_TOLERANCE_S, LENGTH_TOLERANCE_FRACTION * duration_s):
        if fit != "loop":
            raise BadInput(
                f"{name} is {have_s:.1f} s long but the clip is {duration_s:.1f} s.",
                hint="Use a sound of the clip's length, or --fit loop to repeat a short sound "
                     "and trim a long one.")
        if x.size < n:
            return _loop(x, sample_rate, n)
    if x.size >= n:
        return x[:n].copy()
    return np.concatenate([x, np.zeros(n - x.size)])


def _loop(x: np.ndarray, sample_rate: int, n: int) -> np.ndarray:
    """Repeat ``x`` to ``n`` samples with short equal-power crossfades at the joins."""
    fade = min(int(LOOP_CROSSFADE_S * sample_rate), x.size // 4)
    out = np.zeros(n + x.size)
    pos = 0
    t = (np.arange(fade) + 0.5) / max(fade, 1)
    fade_in, fade_out = np.sin(0.5 * np.pi * t), np.cos(0.5 * np.pi * t)
    while pos < n:
        seg = x.copy()
        if fade and pos > 0:
            seg[:fade] *= fade_in
        if fade:
            seg[-fade:] *= fade_out
        out[pos:pos + seg.size] += seg
        pos += seg.size - fade if fade else seg.size
    return out[:n]


def render_path(mono: np.ndarray, sample_rate: int, path: SourcePath,
                settings: SpatializeSettings, *, hrtf=None,
                progress: Callable[[float], None] | None = None) -> np.ndarray:
    """One sound along one path, switched on while its object is visible.

    Parameters
    ----------
    mono : np.ndarray [shape=(n,)], already fitted to the clip.
    path : where the object is (control points).
    hrtf : an :class:`engine.binaural.HrirSet`; default KEMAR (binaural only).
    progress : called with the share done (0..1); what it raises stops the render.

    Returns
    -------
    np.ndarray [shape=(2, n), dtype=float32], not normalised.
    """
    n = mono.size
    gated = mono * path.gain(n, sample_rate)
    if settings.method == "binaural":
        from ..binaural import Room, render_binaural
        room = Room(rt60_s=settings.room_rt60_s) if settings.room_rt60_s else None
        return render_binaural(gated, sample_rate, azimuth_deg=path.azimuth_deg,
                               distance_m=path.distance_m, times_s=path.times_s,
                               doppler=settings.doppler, room=room, hrtf=hrtf,
                               air_absorption=settings.air_absorption, progress=progress)
    out = render_panned(gated, sample_rate, azimuth_deg=path.azimuth_deg,
                        distance_m=path.distance_m, times_s=path.times_s)
    if settings.room_rt60_s:
        out = out + _stereo_room_tail(gated, sample_rate, settings.room_rt60_s)
    if progress is not None:
        progress(1.0)
    return out.astype(np.float32)


def _stereo_room_tail(x: np.ndarray, sample_rate: int, rt60_s: float) -> np.ndarray:
    """The binaural renderer's diffuse late reverberation, which suits loudspeakers as well
    (its ears are only partially coherent at low frequencies, as a spaced pair would be)."""
    from scipy.signal import oaconvolve

    from ..binaural import Room
    from ..binaural.render import diffuse_tail_ir
    room = Room(rt60_s=rt60_s)
    ir = diffuse_tail_ir(room, sample_rate) / room.critical_distance_m
    return np.stack([oaconvolve(x, ir[ear])[:x.size] for ear in range(2)])


def spatialize_layout(layout: Layout, sounds: Mapping[int, np.ndarray], sample_rate: int, *,
                      settings: SpatializeSettings | None = None,
                      token: CancelToken | None = None, hrtf=None) -> np.ndarray:
    """Render each layout object's sound along its box track and mix them.

    Parameters
    ----------
    layout : the objects and their boxes.
    sounds : object id -> mono ``(n,)`` at ``sample_rate``, each exactly the clip's length
        (see :func:`fit_to_duration`). Objects without an entry are left silent.
    settings : method, room, normalisation.
    token : checked between objects.

    Returns
    -------
    np.ndarray [shape=(2, n), dtype=float32], peak at ``settings.peak_dbfs`` or below.
    """
    settings = (settings or SpatializeSettings()).validate()
    n = int(round(layout.duration_s * sample_rate))
    placed = [o for o in layout.objects if o.id in sounds]
    if not placed:
        raise BadInput("No object of the layout has a sound to place.",
                       hint="Give a sound for all objects, or one with --object ID=FILE.")
    mix = np.zeros((2, n))
    for obj in placed:
        if token is not None:
            token.raise_if_cancelled()
        mono = np.asarray(sounds[obj.id], dtype=float)
        if mono.shape != (n,):
            raise BadInput(f"The sound for object {obj.id} has {mono.size} samples; the clip "
                           f"needs {n}.", hint="Fit it with fit_to_duration first.")
        path = path_from_object(layout, obj, fov_deg=settings.fov_deg,
                                near_distance_m=settings.near_distance_m)
        mix += render_path(mono, sample_rate, path, settings, hrtf=hrtf)
    return normalise_peak(mix, peak_dbfs=settings.peak_dbfs, normalize=settings.normalize)


def normalise_peak(x: np.ndarray, *, peak_dbfs: float = -1.0, normalize: bool = True) -> np.ndarray:
    """Scale ``x`` so its peak is ``peak_dbfs`` (or, without ``normalize``, at most that).

    Raises BadInput for an all-silent signal (nothing to normalise: the objects were never on
    screen, or the sounds are silent).
    """
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if not np.isfinite(peak):
        raise BadInput("The rendered sound holds NaN or infinite samples.")
    if peak < 1e-9:
        raise BadInput("The spatialized sound is silent: no object is on screen while its "
                       "sound plays.", hint="Check the layout's boxes and the sounds.")
    target = 10 ** (peak_dbfs / 20)
    gain = target / peak if (normalize or peak > target) else 1.0
    return (x * gain).astype(np.float32)
