"""The development bench that looks like the world: recordings, rooms and microphones, split
into a ``tune`` part and a ``held-out`` part.

A :class:`WorldScene` puts one or two recordings on known paths (the kinds of
:mod:`engine.evaluation.scenes`, plus ``uneven``: a static source whose own level swings by
about +-6 dB) and hears them through one microphone (:mod:`engine.evaluation.mics`) in one
condition:

======== =========================================================================================
dry      free field, no noise; sources 0.5-10 m away
room     a pyroomacoustics shoebox (:mod:`engine.evaluation.rooms`, booth to hall, RT60
         0.15-0.9 s) plus noise of one kind (pink, babble of speech recordings, low rumble,
         wind-like bursts) at 10-40 dB SNR; for pan-pot mixes, a stereo reverb send (the
         room's response at two omnis 1.5 m apart, direct sound removed) instead of the room
legacy   the original benchmark renderer (:func:`engine.evaluation.scenes.render_scene`, KEMAR
         only) and its scene distances; every other clip in its 0.5 s hall with pink noise
         at 10 dB SNR
======== =========================================================================================

**The split** (deterministic; nothing depends on the order things are listed in):

- a recording is held out when ``stable_fraction("recording:" + id) < 1/3`` (SHA-1 of its id);
- a room is held out when ``stable_fraction("room:" + RoomSpec.key()) < 1/3``; each set draws
  rooms from a seeded stream and keeps only its own;
- microphones: ``kemar``, ``kemar-large`` (KEMAR 10 % larger), ``xy90``, ``blumlein``,
  ``pan-cp`` are for tuning; ``sphere``,
  ``xy110``, ``ortf``, ``pan-6db`` are held out; ``spaced`` is in both with different
  spacings (:data:`engine.evaluation.mics.SPACINGS_M`);
- scene seeds differ per set, and noise babble is made from the set's own speech recordings;
- within a condition and kind, each microphone of a set hears its own recording (where the set
  has enough of them), whatever the number of recordings (:func:`_recording_index`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..cues.calibration import pink_noise
from . import scenes as legacy
from .mics import (HELD_OUT, MIC_NAMES, SETS, SPACINGS_M, TUNE, azimuth_of, make_microphone,
                   mic_spec, mics_for, pan_gains)
from .rooms import (BLOCK_HOP_S, WALL_MARGIN_M, RoomSpec, block_count, random_room, render_moving,
                    room_response, stable_fraction)
from .scenes import SAMPLE_RATE, Path
from .sources import SourceInfo, active_rms, extend_source, load_source

HELD_OUT_FRACTION = 1 / 3
WORLD_KINDS = ("static", "uneven", "sweep", "passby", "approach", "recede", "pair")
CONDITIONS = ("dry", "room", "legacy")
NOISE_KINDS = ("pink", "babble", "rumble", "wind")
SNR_RANGE_DB = (10.0, 40.0)
LEVEL_DBFS = -22.0
SOUNDING_DB = 20.0  # a frame is "sounding" within this many dB of the source's active level
PATH_POINTS = 61
MIN_DISTANCE_M = 0.5
REVERB_SEND_SPACING_M = 1.5
DIFFUSE_DIRECTIONS = 24
# Two-source clips are one kind of seven but half of what the targets ask about: 3x as many.
PAIR_WEIGHT = 3
SLOT_CLIPS = 64  # clips per microphone, condition and kind that get their own draws


def recording_part(info: SourceInfo) -> str:
    return HELD_OUT if stable_fraction("recording:" + info.id) < HELD_OUT_FRACTION else TUNE


def room_part(room: RoomSpec) -> str:
    return HELD_OUT if stable_fraction("room:" + room.key()) < HELD_OUT_FRACTION else TUNE


def split_catalogue(catalogue: list[SourceInfo], part: str) -> list[SourceInfo]:
    return [s for s in catalogue if recording_part(s) == part]


def draw_room(rng: np.random.Generator, part: str) -> RoomSpec:
    while True:
        room = random_room(rng)
        if room_part(room) == part:
            return room


@dataclass
class WorldScene:
    """One clip of the world bench; ``paths`` hold the true azimuth/distance as heard from
    the microphone (after fitting into the room). Compatible with the truth helpers of
    :mod:`engine.evaluation.scenes` (``truth_layout``, ``truth_x``)."""

    name: str
    part: str
    kind: str
    condition: str
    mic: str
    duration_s: float
    sources: list[SourceInfo]
    paths: list[Path]
    seed: int
    gains_db: list[float] = field(default_factory=list)
    heights_m: list[float] = field(default_factory=list)
    room: RoomSpec | None = None
    noise: str | None = None
    snr_db: float | None = None
    spacing_m: float | None = None
    reverb_send_db: float | None = None

    @property
    def single(self) -> bool:
        return len(self.sources) == 1

    @property
    def stereo(self) -> str:
        return mic_spec(self.mic).stereo

    def describe(self) -> dict:
        return {"name": self.name, "set": self.part, "kind": self.kind,
                "condition": self.condition, "mic": self.mic, "stereo": self.stereo,
                "sources": [s.id for s in self.sources],
                "labels": [s.label or s.cls for s in self.sources],
                "categories": [s.category for s in self.sources],
                "room": self.room.to_dict() if self.room else None, "noise": self.noise,
                "snr_db": self.snr_db, "spacing_m": self.spacing_m,
                "reverb_send_db": self.reverb_send_db}


def make_world_scenes(catalogue: list[SourceInfo], part: str, *, mics: list[str] | None = None,
                      conditions=("dry", "room"), kinds=WORLD_KINDS, per_kind: int = 1,
                      duration_s: float = 6.0, seed: int = 0) -> list[WorldScene]:
    """Scenes of one set: for each microphone, condition and kind, ``per_kind`` clips
    (:data:`PAIR_WEIGHT` times as many pairs) from the set's own recordings (in a seeded
    order) and rooms; a clip depends only on its microphone, condition, kind and number, so
    any subset draws the same clips as the full set. ``legacy`` scenes are made for the
    ``kemar`` microphone only (the old renderer is a KEMAR renderer)."""
    if part not in SETS:
        raise ValueError(f"unknown set {part!r}; choose from {', '.join(SETS)}")
    pool = split_catalogue(catalogue, part)
    if len(pool) < 2:
        raise ValueError(f"the {part} set has {len(pool)} recordings; at least 2 are needed")
    mics = mics or mics_for(part)
    base = [seed, SETS.index(part)]
    order = np.random.default_rng(base).permutation(len(pool))
    voices = [s for s in pool if s.category == "voices" and s.cls == "person"]
    out: list[WorldScene] = []
    for mic in mics:
        for cond in conditions:
            if cond == "legacy" and mic != "kemar":
                continue
            for kind in kinds:
                if cond == "legacy" and kind == "uneven":  # the old renderer has no such kind
                    continue
                for j in range(per_kind * (PAIR_WEIGHT if kind == "pair" else 1)):
                    # Each clip is fixed by its slot alone, so a run of one microphone, some
                    # kinds or --quick draws the same clips as the full run does.
                    slot = _slot(mic, cond, kind, j)
                    rng = np.random.default_rng([*base, slot, 7])
                    first = pool[order[_recording_index(part, mic, cond, kind, j, len(order))]]
                    out.append(_scene(rng, part, mic, cond, kind, j, first, pool, voices,
                                      duration_s))
    return out


def _slot(mic: str, cond: str, kind: str, j: int) -> int:
    """The clip's own number: its draws (:func:`make_world_scenes`) depend on it alone."""
    return ((MIC_NAMES.index(mic) * len(CONDITIONS) + CONDITIONS.index(cond))
            * len(WORLD_KINDS) + WORLD_KINDS.index(kind)) * SLOT_CLIPS + j


def _recording_index(part: str, mic: str, cond: str, kind: str, j: int, n: int) -> int:
    """Where in the set's seeded order of its ``n`` recordings the clip's (first) recording
    is: its slot's place (``slot % n``), moved on past the places that the clips of the same
    condition and kind before it already hold (by number, then by the set's microphones in
    order), so that the microphones of one row hear different recordings.

    Without the move, slots ``len(CONDITIONS) * len(WORLD_KINDS) * SLOT_CLIPS`` (1344) apart,
    one microphone to the next, fall on one place whenever ``n`` divides 1344 times their
    distance: the held-out part's 48 recordings divide 1344, so all five held-out
    microphones heard one recording in each condition and kind, and a 5-seed held-out row
    was 5 recordings, not 25 (its dry approaches: an explosion in 15 clips). Where slots do
    not collide (the tune part's 104 recordings), nothing moves. Depends on the clip alone
    (the set's microphone list, not the run's), so subsets draw the full run's clips."""
    order = mics_for(part)
    if mic not in order:
        return _slot(mic, cond, kind, j) % n
    taken: set[int] = set()
    for jj in range(j + 1):
        for m in order:
            i = _slot(m, cond, kind, jj) % n
            while i in taken and len(taken) < n:
                i = (i + 1) % n
            if (jj, m) == (j, mic):
                return i
            taken.add(i)
    raise AssertionError("unreachable")


def static_room_scene(rng: np.random.Generator, source: SourceInfo, part: str, *,
                      mic: str = "kemar", voices: list[SourceInfo] = (),
                      duration_s: float = 6.0) -> WorldScene:
    """One recording as one static source in a room of ``part``, with noise, drawn from
    ``rng`` exactly as :func:`make_world_scenes` draws its ``static`` ``room`` clips: a
    room of the part (:func:`draw_room`), the source's distance spread over 0.5-10 m and
    fitted into the room with its height, a noise kind of :data:`NOISE_KINDS` (babble only
    when ``voices`` are given: the set's own speech recordings, as :func:`render_world`
    needs them) at an SNR in :data:`SNR_RANGE_DB`. For benches that place their own
    recordings in the world bench's rooms (``benchmarks/names.py``'s ``world-room``)."""
    if part not in SETS:
        raise ValueError(f"unknown set {part!r}; choose from {', '.join(SETS)}")
    return _scene(rng, part, mic, "room", "static", 0, source, [source], list(voices),
                  duration_s)


def _scene(rng, part, mic, cond, kind, j, first, pool, voices, d) -> WorldScene:
    srcs = [first]
    gains = [0.0]
    if kind == "pair":
        others = [s for s in pool if s.cls != first.cls] or pool
        srcs.append(others[int(rng.integers(len(others)))])
        gains.append(float(rng.uniform(-3, 3)))
    room = draw_room(rng, part) if cond == "room" else None
    spread = float(np.exp(rng.uniform(np.log(0.5), np.log(3.0))))
    paths = _paths(rng, kind, j, d, scale=1.0 if cond == "legacy" else spread)
    heights = [float(rng.uniform(-0.4, 0.6)) for _ in srcs]
    if room is not None and mic_spec(mic).stereo != "panned":
        fitted = [_fit(room, p, h) for p, h in zip(paths, heights)]
        paths, heights = [f[0] for f in fitted], [f[1] for f in fitted]
    scene = WorldScene(
        name=f"{part}_{cond}_{mic}_{kind}_{j:02d}_" + "+".join(s.id for s in srcs),
        part=part, kind=kind, condition=cond, mic=mic, duration_s=d, sources=srcs,
        paths=paths, seed=int(rng.integers(1 << 31)), gains_db=gains, heights_m=heights,
        room=room)
    if mic == "spaced":
        scene.spacing_m = float(rng.choice(SPACINGS_M[part]))
    if cond == "legacy" and j % 2 == 1:  # every other clip in the old renderer's hall
        scene.noise, scene.snr_db = "pink", legacy.SNR_DB
    if cond == "room":
        kinds = [n for n in ("pink", "babble", "rumble", "wind") if n != "babble" or voices]
        scene.noise = str(kinds[int(rng.integers(len(kinds)))])
        scene.snr_db = round(float(rng.uniform(*SNR_RANGE_DB)), 1)
        if scene.stereo == "panned":
            scene.reverb_send_db = round(float(rng.uniform(-14.0, -4.0)), 1)
    return scene


def _paths(rng, kind, j, d, *, scale: float) -> list[Path]:
    """Azimuth/distance paths of the legacy kinds, with distances spread over 0.5-10 m."""
    direction = 1 if j % 2 == 0 else -1
    if kind == "pair":
        paths = legacy._pair_paths(rng, d)
    elif kind in ("static", "uneven"):
        paths = [legacy._static(rng, d)]
    elif kind == "sweep":
        paths = [legacy._sweep(rng, d, direction)]
    elif kind == "passby":
        paths = [legacy._passby(rng, d, direction)]
    elif kind in ("approach", "recede"):
        paths = [legacy._radial(rng, d, kind == "approach")]
    else:
        raise ValueError(f"unknown scene kind {kind!r}")
    for p in paths:
        if kind not in ("approach", "recede"):
            p.distance_m = np.clip(p.distance_m * scale, 0.5, 10.0)
        else:
            p.distance_m = np.clip(p.distance_m * min(scale, 1.4), 0.5, 10.0)
    return paths


def _fit(room: RoomSpec, path: Path, height_m: float) -> tuple[Path, float]:
    """The path scaled (about the microphone) until every point is inside the room, and the
    source's height (m above the microphone) after scaling; the truth (azimuth, distance)
    is read back from the positions actually used."""
    t = np.linspace(path.times_s[0], path.times_s[-1], PATH_POINTS)
    lo, hi = WALL_MARGIN_M - room.mic_m[2], room.dims_m[2] - WALL_MARGIN_M - room.mic_m[2]
    height_m = float(np.clip(height_m, 0.9 * lo, 0.9 * hi))
    local = _local(path, t, height_m)
    reach = np.array([room.max_reach(v) for v in local])
    dist = np.linalg.norm(local, axis=1)
    factor = min(1.0, float(np.min(reach / np.maximum(dist, 1e-9))))
    if factor < 1.0:
        local = local * factor
        # No closer than MIN_DISTANCE_M (the rooms leave that much space all round).
        dist = np.linalg.norm(local, axis=1, keepdims=True)
        local = local * np.maximum(1.0, MIN_DISTANCE_M / np.maximum(dist, 1e-9))
    return (Path(t, azimuth_of(local), np.linalg.norm(local, axis=1), path.motion,
                 path.doppler), float(height_m * factor))


def _local(path: Path, t: np.ndarray, height_m: float) -> np.ndarray:
    az, r = path.at(t)
    a = np.radians(az)
    return np.stack([r * np.cos(a), r * np.sin(a), np.full_like(r, height_m)], axis=1)


def render_world(scene: WorldScene, *, num_frames: int = 16, voices: list[SourceInfo] = (),
                 hrtf_dir=None) -> tuple[np.ndarray, list[np.ndarray]]:
    """The scene's audio ``(2, n)`` float32 at :data:`SAMPLE_RATE` and, per source, which of
    the ``num_frames`` video frames it is sounding in (within :data:`SOUNDING_DB` of its
    own active level)."""
    sr = SAMPLE_RATE
    rng = np.random.default_rng(scene.seed)
    if scene.condition == "legacy":
        return _render_legacy(scene, rng, num_frames, hrtf_dir)
    n = int(round(scene.duration_s * sr))
    mix = np.zeros((2, n))
    sounding = []
    for src, path, gain, height in zip(scene.sources, scene.paths, scene.gains_db,
                                       scene.heights_m or [0.0] * len(scene.sources)):
        x = extend_source(load_source(src, sr), sr, scene.duration_s, src.mode, rng)
        if scene.kind == "uneven":
            x *= _level_swings(n, sr, rng)
        x *= 10 ** ((LEVEL_DBFS + gain) / 20) / active_rms(x, sr)
        sounding.append(_sounding(x, sr, num_frames))
        mix += _spatialise(scene, x, path, height, rng)
    if scene.noise:
        mix += make_noise(scene, mix, rng, voices=voices)
    return recorder_gain(mix), sounding


def recorder_gain(mix: np.ndarray) -> np.ndarray:
    """The mix as a recorder sets its gain: the whole clip at about :data:`LEVEL_DBFS`,
    whatever the distances, and its peak kept under full scale; float32."""
    mix = mix * (10 ** (LEVEL_DBFS / 20) / (np.sqrt(np.mean(mix ** 2)) + 1e-12))
    peak = float(np.max(np.abs(mix)))
    if peak > 0.99:
        mix *= 0.99 / peak
    return mix.astype(np.float32)


def _spatialise(scene: WorldScene, x, path: Path, height, rng) -> np.ndarray:
    sr = SAMPLE_RATE
    n = len(x)
    t = np.arange(n) / sr
    if scene.stereo == "panned":
        az, r = path.at(t)
        y = pan_gains(np.clip(az, -90, 90) / 90.0, scene.mic) * (x * np.min(path.distance_m) / r)
        if scene.room is not None:
            send = 10 ** (scene.reverb_send_db / 20)
            ahead = np.array([1.0, 0.0, 0.0])
            ret = room_response(scene.room, make_microphone("spaced",
                                                           spacing_m=REVERB_SEND_SPACING_M),
                                ahead * min(3.0, 0.8 * scene.room.max_reach(ahead)),
                                sample_rate=sr, seed=scene.seed, direct=False)
            ret *= send / np.sqrt(np.sum(ret ** 2) / 2 + 1e-12)
            mono = x * np.min(path.distance_m) / r  # post-fader send
            from scipy.signal import fftconvolve
            y = y + fftconvolve(mono[None, :], ret, axes=1)[:, :n]
        return y
    mic = make_microphone(scene.mic, sample_rate=sr, spacing_m=scene.spacing_m or 0.3)
    moving = np.ptp(path.azimuth_deg) > 1e-6 or np.ptp(path.distance_m) > 1e-6
    if moving:
        tb = np.arange(block_count(scene.duration_s)) * BLOCK_HOP_S
    else:
        tb = np.array([0.0])
    local = _positions(path, tb, height, scene.room is not None)
    # Level: a source at 1 m sounds at the recording's level, farther ones quieter (1/r).
    return render_moving(x, local, scene.room, mic, sample_rate=sr, seed=scene.seed)


def _positions(path: Path, t, height, in_room: bool) -> np.ndarray:
    """Local positions at times ``t``: in rooms the fitted path is already 3-D (its distance
    includes the height); in the free field the source stays at the microphone's height."""
    az, r = path.at(np.asarray(t, float))
    a = np.radians(az)
    if in_room:
        h = np.clip(height, -0.99 * r, 0.99 * r)
        horiz = np.sqrt(np.maximum(r ** 2 - h ** 2, 1e-6))
        return np.stack([horiz * np.cos(a), horiz * np.sin(a), h], axis=1)
    return np.stack([r * np.cos(a), r * np.sin(a), np.zeros_like(r)], axis=1)


def _level_swings(n: int, sr: int, rng) -> np.ndarray:
    """A static source's own level moving by about +-6 dB (random, smooth over ~0.7 s)."""
    knots = max(3, int(n / sr / 0.7) + 2)
    db = rng.uniform(-6.0, 6.0, knots)
    return 10 ** (np.interp(np.arange(n), np.linspace(0, n - 1, knots), db) / 20)


def _sounding(x, sr, num_frames) -> np.ndarray:
    edges = np.linspace(0, len(x), num_frames + 1).astype(int)
    ref = active_rms(x, sr)
    hop = int(0.05 * sr)
    out = np.zeros(num_frames, bool)
    for i in range(num_frames):
        seg = x[edges[i]:edges[i + 1]]
        m = len(seg) // hop
        if m == 0:
            continue
        e = np.sqrt(np.mean(seg[:m * hop].reshape(m, hop) ** 2, axis=1))
        out[i] = bool(np.max(e) >= ref * 10 ** (-SOUNDING_DB / 20))
    return out


def make_noise(scene: WorldScene, mix: np.ndarray, rng, *, voices=()) -> np.ndarray:
    """Noise of ``scene.noise`` scaled to ``scene.snr_db`` below the mix's power ``(2, n)``.

    pink: a diffuse field (independent pink noise from :data:`DIFFUSE_DIRECTIONS` random
    directions through the microphone, so the channels are as coherent as that microphone
    makes a diffuse field; independent per channel for pan-pot mixes); babble: 6 speech
    recordings at random directions 3-6 m away, through the scene's microphone; rumble: brown noise below 120 Hz, nearly the
    same in both channels (long waves); wind: bursts of low noise (below 400 Hz) with gusty
    envelopes, independent per channel (turbulence at each capsule).
    """
    from scipy.signal import butter, sosfilt
    sr = SAMPLE_RATE
    n = mix.shape[1]
    kind = scene.noise
    if kind == "pink":
        noise = _diffuse_pink(scene, n, rng)
    elif kind == "babble" and voices:
        noise = np.zeros((2, n))
        for _ in range(6):
            v = voices[int(rng.integers(len(voices)))]
            x = extend_source(load_source(v, sr), sr, scene.duration_s, "events", rng)
            x /= active_rms(x, sr)
            az = rng.uniform(-180, 180)
            r = rng.uniform(3, 6)
            path = Path(np.array([0.0, scene.duration_s]), np.array([az, az]),
                        np.array([r, r]), "static")
            sub = WorldScene("babble", scene.part, "static", scene.condition, scene.mic,
                             scene.duration_s, [v], [path], scene.seed,
                             spacing_m=scene.spacing_m, reverb_send_db=scene.reverb_send_db,
                             room=scene.room)
            if scene.room is not None and scene.stereo != "panned":
                sub.paths = [_fit(scene.room, path, 0.0)[0]]
            noise += _spatialise(sub, x, sub.paths[0], 0.0, rng)
    elif kind == "rumble":
        sos = butter(4, 120, btype="low", fs=sr, output="sos")
        common = sosfilt(sos, np.cumsum(rng.standard_normal(n)))
        common -= np.linspace(common[0], common[-1], n)
        noise = np.stack([common + 0.1 * sosfilt(sos, np.cumsum(rng.standard_normal(n)))
                          for _ in range(2)])
    else:  # wind (or babble with no speech recordings in the set)
        sos = butter(2, 400, btype="low", fs=sr, output="sos")
        env = np.zeros(n)
        t = 0
        while t < n:
            length = int(rng.uniform(0.3, 1.5) * sr)
            env[t:t + length] += np.hanning(length)[:n - t] * rng.uniform(0.3, 1.0)
            t += int(rng.uniform(0.2, 1.2) * sr)
        noise = np.stack([sosfilt(sos, rng.standard_normal(n)) * env for _ in range(2)])
    p_mix = float(np.mean(mix ** 2))
    p_noise = float(np.mean(noise ** 2)) + 1e-20
    return noise * np.sqrt(p_mix / p_noise / 10 ** (scene.snr_db / 10))


def _diffuse_pink(scene: WorldScene, n: int, rng) -> np.ndarray:
    if scene.stereo == "panned":
        return np.stack([pink_noise(n, rng) for _ in range(2)])
    from scipy.signal import fftconvolve
    mic = make_microphone(scene.mic, sample_rate=SAMPLE_RATE, spacing_m=scene.spacing_m or 0.3)
    dirs = rng.standard_normal((DIFFUSE_DIRECTIONS, 3))
    dirs *= 5.0 / np.linalg.norm(dirs, axis=1, keepdims=True)
    out = np.zeros((2, n))
    for d in dirs:
        h = room_response(None, mic, d, sample_rate=SAMPLE_RATE)
        out += fftconvolve(pink_noise(n, rng)[None, :], h, axes=1)[:, :n]
    return out


def _render_legacy(scene: WorldScene, rng, num_frames, hrtf_dir):
    from .mics import _kemar
    hrtf = _kemar(SAMPLE_RATE, str(hrtf_dir)) if hrtf_dir else None
    old = legacy.Scene(scene.name, scene.kind, "reverb" if scene.noise else "anechoic",
                       scene.duration_s,
                       scene.sources, scene.paths, scene.seed, scene.gains_db)
    audio = legacy.render_scene(old, hrtf)
    sounding = []
    same = np.random.default_rng(scene.seed)  # the draws render_scene made, in its order
    for src in scene.sources:
        x = extend_source(load_source(src, SAMPLE_RATE), SAMPLE_RATE, scene.duration_s,
                          src.mode, same)
        sounding.append(_sounding(x, SAMPLE_RATE, num_frames))
    return audio, sounding
