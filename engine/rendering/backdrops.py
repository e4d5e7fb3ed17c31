"""Procedural backdrops for the preview renderer: a road, a sky, a room, a field, water, a stage.

The scene kind comes from the layout's ``background`` words ("a city street" -> road), and when
those do not decide, from what is in the picture (vehicles -> road, aircraft and birds -> sky,
instruments -> stage, people and household things -> room, boats -> water, animals -> field).
Each backdrop is drawn
once per kind and size (a few milliseconds) and cached; frames copy it.

Fine detail in pixels (windows, grass tufts, planks, ripples, their lines) is the 512x512
default's, drawn larger in a larger backdrop (scale.py: a 1080p export had 4 px windows and
one-pixel grass, a dotted texture a third of the default's size).

Every kind puts its ground where the planner's class priors put things that stand on it
(engine/planning/priors.py: ground objects are centred at 0.58-0.68 of the height), so a car's
wheels are on the road and a dog stands on the grass.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .scale import frame_scale, scaled

KINDS = ("road", "sky", "room", "field", "water", "stage")

# Background words -> kind, checked in this order (the first kind with a matching word wins).
_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("stage", ("stage", "concert", "theatre", "theater", "club", "orchestra", "hall")),
    ("sky", ("sky", "airport", "runway", "air ", "clouds", "airfield")),
    ("water", ("river", "sea", "ocean", "beach", "lake", "harbour", "harbor", "waterfall",
               "gorge", "water", "pond", "port")),
    ("road", ("street", "city", "road", "highway", "motorway", "garage", "crossing", "traffic",
              "parking", "town", "construction")),
    ("room", ("room", "kitchen", "office", "studio", "house", "home", "bathroom", "indoors",
              "classroom", "shop", "church")),
    ("field", ("forest", "park", "pasture", "farm", "field", "meadow", "hills", "countryside",
               "savanna", "desert", "railway", "garden", "jungle", "woods")),
)
# "outdoor" alone names no place: "an open outdoor scene" is the planner's phrase for any
# label it has no prior for (a coin, a typewriter, a stream), so it tells nothing, and what
# is in the picture decides (a stream gets water, a trumpet a stage, a typewriter a room).
# Things that are seen against the sky rather than standing on the ground.
AIRBORNE = frozenset({"airplane", "jet", "helicopter", "bird", "pigeon", "crow", "owl",
                      "fireworks", "thunder", "thunderstorm"})
# Small things that fly without making the scene a sky (a bee belongs in a field): drawn
# like AIRBORNE ones, centred in their box with no shadow. The planner's priors put the same
# things in the air (engine/planning/priors.py, place AIR; a test keeps the two in step).
FLIERS = frozenset({"bee", "fly", "mosquito"})
# Things that run on rails: the preview lays a track under them (a locomotive on bare grass
# read as a toy dropped in a field).
RAIL = frozenset({"train"})
# Weather: heard everywhere (the planner gives rain a box as big as the scene), seen in the sky.
# The preview draws it as a cloud above the horizon, at most WEATHER_SIDE of the height.
WEATHER = frozenset({"rain", "thunder", "thunderstorm", "wind"})
WEATHER_SIDE = 0.3  # design: the planner's thunder cloud (priors: 0.3 of the height)
SKY_LINE = 0.44     # the highest horizon of the outdoor backdrops (the road's), share of height
# Family (from the pictogram manifest) -> the scene it suggests when the words say nothing.
_FAMILY_KIND = {"vehicle": "road", "engine": "road", "instrument": "stage", "water": "water",
                "animal": "field", "tool": "room"}
_PEOPLE = frozenset({"person", "child", "baby", "singer", "choir", "crowd"})
# Things found in a house: a room, before their family is asked (a toilet or a sink is of the
# water family, but belongs in a bathroom, not on a lake).
_HOUSEHOLD = frozenset({
    "air conditioner", "alarm clock", "bathtub", "blender", "buzzer", "camera", "cards",
    "cash register", "clock", "coin", "computer", "cupboard", "cutlery", "dishes", "door",
    "doorbell", "drawer", "fan", "faucet", "frying pan", "glass", "hair dryer", "keys", "knife",
    "microwave", "paper", "pen", "phone", "pot", "printer", "radio", "scissors",
    "sewing machine", "shaver", "sink", "spoon", "television", "toilet", "toothbrush",
    "typewriter", "vacuum cleaner", "zipper"})
_BOATS = frozenset({"boat", "motorboat", "sailboat", "rowboat", "ship", "whale"})


@dataclass(frozen=True)
class Scene:
    """``kind`` one of :data:`KINDS`; ``variant`` refines it ("night", "dry", "forest", "")."""

    kind: str
    variant: str = ""


def scene_for(background: str, nouns: tuple[str, ...] = (),
              families: tuple[str | None, ...] = ()) -> Scene:
    """The scene for a layout's background words and the nouns (with their families) in it."""
    words = f" {background.lower()} "
    variant = ("night" if "night" in words else
               "dry" if any(w in words for w in ("savanna", "desert", "dry")) else
               "forest" if any(w in words for w in ("forest", "woods", "jungle")) else "")
    for kind, keys in _WORDS:
        if any(k in words for k in keys):
            return Scene(kind, variant)
    for noun, family in zip(nouns, families):
        if noun in AIRBORNE:
            return Scene("sky", variant)
        if noun in _BOATS:
            return Scene("water", variant)
        if noun in _PEOPLE or noun in _HOUSEHOLD:
            return Scene("room", variant)
        if family in _FAMILY_KIND:
            return Scene(_FAMILY_KIND[family], variant)
    return Scene("field", variant)


def draw_backdrop(background: str, width: int, height: int, *, scene: Scene | None = None
                  ) -> np.ndarray:
    """RGB uint8 ``(height, width, 3)`` backdrop; ``scene`` overrides the words (cached, read-only)."""
    return _cached(scene or scene_for(background), int(width), int(height))


@lru_cache(maxsize=24)
def _cached(scene: Scene, width: int, height: int) -> np.ndarray:
    draw = {"road": _road, "sky": _sky, "room": _room, "field": _field, "water": _water,
            "stage": _stage}[scene.kind]
    img = draw(width, height, scene.variant)
    if scene.variant == "night":
        img = img * np.array([0.38, 0.42, 0.62], np.float32)
        _stars(img, width, int(height * 0.45))
    img = _vignette(img)
    out = np.clip(img, 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


# ------------------------------------------------------------------------------ the kinds


def _gradient(h: int, w: int, top, bottom, power: float = 1.0) -> np.ndarray:
    t = np.linspace(0.0, 1.0, max(1, h), dtype=np.float32)[:, None, None] ** power
    col = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    return np.broadcast_to(col, (max(1, h), w, 3)).copy()


def _sky_band(img: np.ndarray, h_end: int, top=(96, 156, 224), bottom=(206, 226, 244)) -> None:
    img[:h_end] = _gradient(h_end, img.shape[1], top, bottom, 0.9)


def _clouds(img: np.ndarray, seed: int, count: int, y_max: int) -> None:
    h, w = img.shape[:2]
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), np.float32)
    for _ in range(count):
        cx, cy = rng.uniform(0.05, 0.95) * w, rng.uniform(0.08, 0.8) * y_max
        s = rng.uniform(0.05, 0.1) * w
        for k in range(4):
            cv2.ellipse(mask, (int(cx + (k - 1.5) * s * 0.6), int(cy + rng.uniform(-0.2, 0.2) * s)),
                        (int(s * rng.uniform(0.5, 0.8)), int(s * rng.uniform(0.3, 0.45))), 0, 0,
                        360, 1.0, -1, cv2.LINE_AA)
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=max(1.0, w / 150))[..., None] * 0.85
    img[:] = img * (1 - mask) + 250 * mask


def _hills(img: np.ndarray, y: int, amp: int, color, seed: int) -> None:
    h, w = img.shape[:2]
    rng = np.random.default_rng(seed)
    xs = np.arange(w)
    phase = rng.uniform(0, 6.3, 3)
    ridge = y - amp * (0.5 + 0.3 * np.sin(xs / w * 5.1 + phase[0])
                       + 0.2 * np.sin(xs / w * 11.3 + phase[1]))
    rows = np.arange(h)[:, None]
    inside = (rows >= ridge[None, :]) & (rows < y + amp)
    img[inside] = np.asarray(color, np.float32)


def _road(w: int, h: int, variant: str) -> np.ndarray:
    img = np.zeros((h, w, 3), np.float32)
    k = frame_scale(w, h)
    px = lambda v: scaled(v, k)  # noqa: E731 (the default's pixels, here)
    horizon = int(SKY_LINE * h)
    _sky_band(img, horizon)
    _clouds(img, 3, 3, horizon)
    # A far row of buildings: blocks of different heights and greys, with lit windows.
    rng = np.random.default_rng(7)
    x = 0
    img[horizon:] = (150, 150, 156)
    while x < w:
        bw = int(rng.uniform(0.06, 0.14) * w)
        top = horizon - int(rng.uniform(0.05, 0.2) * h)
        shade = rng.uniform(120, 175)
        img[top:int(0.52 * h), x:x + bw] = (shade, shade * 1.01, shade * 1.06)
        for wy in range(top + px(6), int(0.5 * h) - px(4), px(9)):
            for wx in range(x + px(4), x + bw - px(5), px(8)):
                img[wy:wy + px(4), wx:wx + px(4)] = (226, 222, 190) if rng.random() < 0.3 else (
                    shade * 0.75, shade * 0.78, shade * 0.85)
        x += bw + int(rng.uniform(0.0, 0.03) * w)
    # Far pavement, kerb, road, near kerb, near pavement.
    y_kerb, y_road, y_near = int(0.52 * h), int(0.555 * h), int(0.92 * h)
    img[int(0.5 * h):y_kerb] = (196, 192, 184)
    img[y_kerb:y_road] = _gradient(y_road - y_kerb, w, (170, 168, 164), (120, 118, 116))
    img[y_road:y_near] = _gradient(y_near - y_road, w, (92, 94, 100), (70, 72, 78))
    img[y_near:y_near + max(2, h // 90)] = (178, 176, 170)
    img[y_near + max(2, h // 90):] = (200, 196, 188)
    # Lane markings: an edge line near each kerb and a dashed centre line.
    lw = max(2, h // 120)
    img[y_road + lw * 2:y_road + lw * 3] = (230, 230, 224)
    img[y_near - lw * 3:y_near - lw * 2] = (230, 230, 224)
    yc = int(0.735 * h)
    dash, gap = max(8, w // 14), max(6, w // 20)
    for x0 in range(-dash // 2, w, dash + gap):
        img[yc - lw:yc + lw, max(0, x0):max(0, x0 + dash)] = (238, 214, 96)
    # A few lamp posts on the far pavement.
    for x0 in range(w // 10, w, w // 3):
        cv2.line(img, (x0, y_kerb), (x0, int(0.3 * h)), (70, 72, 78), max(2, w // 200), cv2.LINE_AA)
        cv2.line(img, (x0, int(0.3 * h)), (x0 + w // 30, int(0.3 * h)), (70, 72, 78),
                 max(2, w // 200), cv2.LINE_AA)
    return img


def _sky(w: int, h: int, variant: str) -> np.ndarray:
    img = np.zeros((h, w, 3), np.float32)
    ground = int(0.86 * h)
    _sky_band(img, ground, top=(70, 130, 212), bottom=(200, 224, 246))
    _clouds(img, 11, 6, int(0.8 * h))
    _hills(img, ground, max(4, h // 30), (112, 150, 110), 5)
    img[ground:] = _gradient(h - ground, w, (104, 140, 98), (78, 110, 74))
    # A runway strip along the bottom.
    y0 = int(0.93 * h)
    img[y0:] = (96, 98, 104)
    half = scaled(1, frame_scale(w, h))
    for x0 in range(0, w, max(16, w // 10)):
        img[y0 + (h - y0) // 2 - half:y0 + (h - y0) // 2 + half, x0:x0 + max(8, w // 20)] = (236, 236, 236)
    return img


def _room(w: int, h: int, variant: str) -> np.ndarray:
    img = np.zeros((h, w, 3), np.float32)
    floor = int(0.66 * h)
    img[:floor] = _gradient(floor, w, (226, 214, 194), (238, 230, 214))
    # A window with a view of sky, and a picture frame.
    x0, x1, y0, y1 = int(0.62 * w), int(0.86 * w), int(0.12 * h), int(0.44 * h)
    img[y0:y1, x0:x1] = _gradient(y1 - y0, x1 - x0, (150, 196, 236), (214, 232, 246))
    cv2.rectangle(img, (x0, y0), (x1, y1), (250, 248, 244), max(3, w // 80))
    cv2.line(img, ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1), (250, 248, 244), max(2, w // 120))
    cv2.rectangle(img, (int(0.14 * w), int(0.18 * h)), (int(0.32 * w), int(0.34 * h)),
                  (150, 110, 80), max(3, w // 90))
    img[int(0.19 * h):int(0.33 * h), int(0.15 * w):int(0.31 * w)] = (176, 196, 160)
    # Skirting board and a wooden floor with planks.
    img[floor - max(3, h // 60):floor] = (246, 244, 238)
    img[floor:] = _gradient(h - floor, w, (170, 124, 84), (128, 88, 58))
    line = scaled(1, frame_scale(w, h))
    for k, y in enumerate(range(floor + h // 24, h, h // 24)):
        cv2.line(img, (0, y), (w, y), (112, 78, 52), line, cv2.LINE_AA)
        for x in range((k * 37) % (w // 3), w, w // 3):
            cv2.line(img, (x, y - h // 24), (x, y), (112, 78, 52), line, cv2.LINE_AA)
    return img


def _field(w: int, h: int, variant: str) -> np.ndarray:
    img = np.zeros((h, w, 3), np.float32)
    horizon = int(0.48 * h)
    dry = variant == "dry"
    _sky_band(img, horizon + h // 30 + 1, top=(110, 168, 228) if not dry else (140, 182, 226),
              bottom=(210, 230, 244) if not dry else (242, 226, 190))
    _clouds(img, 5, 3, horizon)
    _hills(img, horizon + h // 60, max(6, h // 14), (140, 170, 150) if not dry else (196, 168, 120), 3)
    _hills(img, horizon + h // 30, max(5, h // 20), (110, 150, 96) if not dry else (206, 176, 112), 9)
    grass = ((118, 170, 88), (66, 118, 50)) if not dry else ((222, 190, 118), (176, 136, 78))
    img[horizon + h // 30:] = _gradient(h - horizon - h // 30, w, *grass, power=0.8)
    rng = np.random.default_rng(2)
    # Tufts of grass, denser and larger towards the viewer.
    k = frame_scale(w, h)
    line = scaled(1, k)
    for _ in range(160):
        y = int(horizon + (h - horizon) * rng.uniform(0.1, 1.0) ** 0.7)
        x = int(rng.uniform(0, w))
        s = max(2, int((y - horizon) / h * 18 * k))
        color = tuple(float(c) * 0.8 for c in grass[1])
        cv2.line(img, (x, y), (x - s // 2, y - s), color, line, cv2.LINE_AA)
        cv2.line(img, (x, y), (x + s // 2, y - s), color, line, cv2.LINE_AA)
    if variant in ("forest", ""):
        trees = 9 if variant == "forest" else 4
        for k in range(trees):
            x = int((k + 0.5) / trees * w + rng.uniform(-0.04, 0.04) * w)
            s = int(rng.uniform(0.035, 0.06) * h)
            base = horizon + h // 40
            cv2.rectangle(img, (x - s // 6, base - s), (x + s // 6, base), (96, 70, 50), -1)
            cv2.circle(img, (x, base - s - s // 2), s, (58, 112, 58), -1, cv2.LINE_AA)
    return img


def _water(w: int, h: int, variant: str) -> np.ndarray:
    img = np.zeros((h, w, 3), np.float32)
    horizon = int(0.46 * h)
    _sky_band(img, horizon)
    _clouds(img, 8, 3, horizon)
    _hills(img, horizon, max(5, h // 18), (96, 136, 104), 4)
    img[horizon:] = _gradient(h - horizon, w, (96, 156, 196), (34, 92, 140), 0.8)
    rng = np.random.default_rng(4)
    k = frame_scale(w, h)
    for _ in range(90):
        y = int(horizon + (h - horizon) * rng.uniform(0.03, 1.0) ** 0.8)
        x = int(rng.uniform(0, w))
        s = max(3, int((y - horizon) / h * 40 * k))
        cv2.line(img, (x - s, y), (x + s, y), (170, 206, 230), scaled(1, k), cv2.LINE_AA)
    return img


def _stage(w: int, h: int, variant: str) -> np.ndarray:
    img = np.zeros((h, w, 3), np.float32)
    floor = int(0.7 * h)
    img[:floor] = _gradient(floor, w, (24, 22, 34), (46, 40, 58))
    # Curtains at both sides and a pelmet along the top.
    cw = int(0.12 * w)
    for x0, x1 in ((0, cw), (w - cw, w)):
        img[:floor, x0:x1] = (128, 24, 36)
        for x in range(x0 + 4, x1, max(6, cw // 5)):
            cv2.line(img, (x, 0), (x, floor), (96, 16, 26), max(2, w // 160), cv2.LINE_AA)
    img[:int(0.08 * h)] = (140, 28, 40)
    img[floor:] = _gradient(h - floor, w, (126, 86, 56), (86, 56, 36))
    for y in range(floor + h // 30, h, h // 30):
        cv2.line(img, (0, y), (w, y), (74, 48, 30), scaled(1, frame_scale(w, h)), cv2.LINE_AA)
    # A warm spotlight pool on the stage and its beam.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    pool = np.exp(-(((xx - w / 2) / (0.32 * w)) ** 2 + ((yy - 0.8 * h) / (0.1 * h)) ** 2))
    beam = np.clip(1 - np.abs(xx - w / 2) / (0.08 * w + 0.3 * yy), 0, 1) * (yy < floor) * 0.35
    light = np.maximum(pool, beam)[..., None]
    img[:] = img * (1 - 0.6 * light) + np.array([255, 236, 190], np.float32) * 0.6 * light
    return img


def _stars(img: np.ndarray, w: int, y_max: int) -> None:
    rng = np.random.default_rng(1)
    r = scaled(1, frame_scale(w, img.shape[0]))
    for _ in range(60):
        x, y = int(rng.uniform(0, w)), int(rng.uniform(0, y_max))
        img[y:y + r, x:x + r] = 240


def _vignette(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    ys = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    r = np.sqrt(xs ** 2 + ys ** 2)
    return img * (1 - 0.2 * np.clip(r - 0.6, 0, 1))[..., None]
