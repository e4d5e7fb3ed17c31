"""Binaural benchmark scenes with per-frame ground truth, rendered from real recordings.

Each scene places one or two development recordings (``shared/data/sources``) on a known
path and renders them with the KEMAR renderer (:mod:`engine.binaural`):

========  ====================================================================
static    at one azimuth (-75 to 75 degrees), 2 m away
sweep     around the head at 2.5 m, left to right or right to left (+-60..80 degrees)
passby    a straight walking-pace pass 3-4 m in front (ends at +-70..78 degrees, 8-19 m
          away; 2.7-6 m/s), Doppler on
approach  from 7 m to 1.5 m at a fixed azimuth (recede: the reverse)
pair      two different sources at once, 40 degrees or more apart; one may sweep
========  ====================================================================

Conditions: ``anechoic`` (free field), and ``reverb``: a 20 x 16 x 6 m hall with RT60 0.5 s
(first-order images and a diffuse tail; critical distance 3.5 m, so the direct-to-reverberant
ratio is about +5 dB at 2 m, 0 dB at 3.5 m, -6 dB at 7 m) plus independent pink noise in each
ear at 10 dB SNR (of the whole clip's power). Ground truth per video frame: azimuth at the frame's centre time,
x-centre ``0.5 + az / 180``, relative proximity ``r_min / r``, the motion label, the class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..binaural import Room, render_binaural
from ..binaural.hrtf import HrirSet
from ..cues.calibration import pink_noise
from ..layout import Layout, LayoutObject, PlannerInfo
from ..layout.screen import x_from_azimuth
from ..planning.priors import prior_for
from .sources import SourceInfo, active_rms, extend_source, load_source

SAMPLE_RATE = 44100
CONDITIONS = ("anechoic", "reverb")
KINDS = ("static", "sweep", "passby", "approach", "recede", "pair")
REVERB_ROOM = dict(rt60_s=0.5, size_m=(20.0, 16.0, 6.0))
SNR_DB = 10.0
LEVEL_DBFS = -22.0

# What the benchmark calls each catalogue class, and the tagger nouns that count as right.
CANONICAL = {"aircraft": "airplane", "car_horn": "car", "applause": "crowd"}
ACCEPTED = {
    "car": {"car", "race car", "vehicle", "engine", "traffic"},
    "truck": {"truck", "vehicle", "engine"}, "bus": {"bus", "vehicle", "engine"},
    "motorcycle": {"motorcycle", "engine", "race car", "vehicle"},
    "train": {"train", "subway"}, "bell": {"bell", "church bell", "chime", "alarm"},
    "airplane": {"airplane", "jet"}, "bird": {"bird", "crow", "pigeon", "owl", "chicken",
                                              "rooster", "duck", "goose"},
    "crowd": {"crowd", "applause"}, "explosion": {"explosion", "gun", "fireworks", "cannon"},
    "thunder": {"thunder", "thunderstorm"}, "water": {"water", "stream", "waterfall", "ocean"},
    "clock": {"clock", "alarm clock"}, "chainsaw": {"chainsaw", "saw", "power tool"},
    "jackhammer": {"jackhammer", "drill", "power tool", "hammer"},
}


def canonical_label(cls: str) -> str:
    return CANONICAL.get(cls, cls)


def label_matches(predicted: str | None, truth: str) -> bool:
    if not predicted:
        return False
    p = predicted.strip().lower()
    return p == truth or p in ACCEPTED.get(truth, set())


@dataclass
class Path:
    """A source's trajectory: control points ``times_s``, ``azimuth_deg``, ``distance_m``."""

    times_s: np.ndarray
    azimuth_deg: np.ndarray
    distance_m: np.ndarray
    motion: str
    doppler: bool = False

    def at(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.interp(t, self.times_s, self.azimuth_deg),
                np.interp(t, self.times_s, self.distance_m))


@dataclass
class Scene:
    """One benchmark clip: what to render and the truth to score against."""

    name: str
    kind: str
    condition: str
    duration_s: float
    sources: list[SourceInfo]
    paths: list[Path]
    seed: int
    gains_db: list[float] = field(default_factory=list)

    @property
    def single(self) -> bool:
        return len(self.sources) == 1


def _static(rng, d):
    az = float(rng.choice([-75, -50, -30, -12, 0, 12, 30, 50, 75])) + rng.uniform(-3, 3)
    return Path(np.array([0.0, d]), np.array([az, az]), np.array([2.0, 2.0]), "static")


def _sweep(rng, d, direction):
    a0, a1 = -rng.uniform(60, 80), rng.uniform(60, 80)
    if direction < 0:
        a0, a1 = a1, a0
    return Path(np.array([0.0, d]), np.array([a0, a1]), np.array([2.5, 2.5]),
                "left_to_right" if direction > 0 else "right_to_left")


def _passby(rng, d, direction):
    lateral = rng.uniform(3.0, 4.0)
    reach = lateral * np.tan(np.deg2rad(rng.uniform(70.0, 78.0)))  # ends at +-70..78 degrees
    t = np.linspace(0.0, d, 61)
    x = direction * reach * (2 * t / d - 1)
    return Path(t, np.rad2deg(np.arctan2(x, lateral)), np.hypot(x, lateral),
                "left_to_right" if direction > 0 else "right_to_left", doppler=True)


def _radial(rng, d, approach):
    az = rng.uniform(-50, 50)
    r0, r1 = (7.0, 1.5) if approach else (1.5, 7.0)
    return Path(np.array([0.0, d]), np.array([az, az]), np.array([r0, r1]),
                "approaching" if approach else "receding")


def _pair_paths(rng, d) -> list[Path]:
    a = float(rng.uniform(-75, -20))
    b = float(np.clip(a + rng.uniform(45, 110), -75, 75))
    first = Path(np.array([0.0, d]), np.array([a, a]), np.array([2.0, 2.0]), "static")
    if rng.random() < 0.5:
        second = Path(np.array([0.0, d]), np.array([b, b]), np.array([2.2, 2.2]), "static")
    else:
        lo = max(a + 40, -20.0)
        second = Path(np.array([0.0, d]), np.array([lo, 78.0]), np.array([2.5, 2.5]),
                      "left_to_right")
        if rng.random() < 0.5:
            second.azimuth_deg = second.azimuth_deg[::-1].copy()
            second.motion = "right_to_left"
    return [first, second]


def make_scenes(catalogue: list[SourceInfo], *, per_kind: int, duration_s: float,
                seed: int = 0, conditions=CONDITIONS) -> list[Scene]:
    """``per_kind`` scenes of each kind and condition; sources cycle through the catalogue
    in a seeded order so every recording gets used."""
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(len(catalogue)))
    scenes: list[Scene] = []
    k = 0
    for cond in conditions:
        for kind in KINDS:
            for j in range(per_kind):
                srng = np.random.default_rng([seed, k])
                first = catalogue[order[k % len(order)]]
                k += 1
                if kind == "pair":
                    others = [s for s in catalogue if s.cls != first.cls]
                    second = others[int(srng.integers(len(others)))]
                    srcs, paths = [first, second], _pair_paths(srng, duration_s)
                    gains = [0.0, float(srng.uniform(-3, 3))]
                else:
                    srcs, gains = [first], [0.0]
                    direction = 1 if j % 2 == 0 else -1
                    paths = [{"static": lambda: _static(srng, duration_s),
                              "sweep": lambda: _sweep(srng, duration_s, direction),
                              "passby": lambda: _passby(srng, duration_s, direction),
                              "approach": lambda: _radial(srng, duration_s, True),
                              "recede": lambda: _radial(srng, duration_s, False)}[kind]()]
                name = f"{cond}_{kind}_{j:02d}_" + "+".join(s.id for s in srcs)
                scenes.append(Scene(name, kind, cond, duration_s, srcs, paths,
                                    int(srng.integers(1 << 31)), gains))
    return scenes


def render_scene(scene: Scene, hrtf: HrirSet | None = None) -> np.ndarray:
    """The scene's binaural audio ``(2, n)`` float32 at :data:`SAMPLE_RATE`."""
    sr = SAMPLE_RATE
    rng = np.random.default_rng(scene.seed)
    room = Room(**REVERB_ROOM, seed=scene.seed % 1000) if scene.condition == "reverb" else None
    mix = None
    for src, path, gain in zip(scene.sources, scene.paths, scene.gains_db):
        x = extend_source(load_source(src, sr), sr, scene.duration_s, src.mode, rng)
        x *= 10 ** ((LEVEL_DBFS + gain) / 20) / active_rms(x, sr)
        y = render_binaural(x, sr, azimuth_deg=path.azimuth_deg, distance_m=path.distance_m,
                            times_s=path.times_s, doppler=path.doppler, room=room, hrtf=hrtf)
        mix = y if mix is None else mix + y
    if scene.condition == "reverb":
        noise = np.stack([pink_noise(mix.shape[1], rng) for _ in range(2)])
        noise *= np.sqrt(np.mean(mix.astype(float) ** 2) / 10 ** (SNR_DB / 10))
        mix = mix + noise
    peak = float(np.max(np.abs(mix)))
    if peak > 0.99:  # keep it unclipped; levels are relative anyway
        mix *= 0.99 / peak
    return mix.astype(np.float32)


def truth_layout(scene: Scene, num_frames: int) -> Layout:
    """The ideal layout: each source's box at its true x, sized by the planner's class prior
    and true relative proximity (the heuristic planner's rule), visible in every frame."""
    d = scene.duration_s
    t = (np.arange(num_frames) + 0.5) * d / num_frames
    objects = []
    for k, (src, path) in enumerate(zip(scene.sources, scene.paths)):
        az, r = path.at(t)
        az = np.where(np.abs(az) > 90, np.sign(az) * 180 - az, az)  # behind -> mirrored front
        label = canonical_label(src.cls)
        prior = prior_for(label)
        prox = path.distance_m.min() / r
        boxes = []
        for i in range(num_frames):
            scale = 0.6 + 0.6 * prox[i]
            w, h = min(0.95, prior.width * scale), min(0.95, prior.height * scale)
            cx = float(np.clip(x_from_azimuth(az[i]), w / 2, 1 - w / 2))
            cy = float(np.clip(prior.y_center + 0.08 * (prox[i] - 0.5), h / 2, 1 - h / 2))
            boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        objects.append(LayoutObject(id=k + 1, label=label, prompt=f"a {label}",
                                    motion=path.motion, confidence=1.0, boxes=boxes))
    return Layout(duration_s=d, num_frames=num_frames, fps=num_frames / d,
                  caption="ground truth", background="", planner=PlannerInfo("truth", None),
                  objects=objects)


def truth_x(scene: Scene, num_frames: int) -> list[np.ndarray]:
    """Each source's true x-centre per frame (unclipped by box width)."""
    t = (np.arange(num_frames) + 0.5) * scene.duration_s / num_frames
    return [x_from_azimuth(p.at(t)[0]) for p in scene.paths]
