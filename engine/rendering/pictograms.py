"""Pictograms: a colour picture for each noun a layout can name (resources/pictograms/).

The PNGs and ``manifest.json`` are written by ``scripts/build_pictograms.py`` from Microsoft's
Fluent Emoji (MIT; see resources/pictograms/LICENCE.txt). The manifest gives, per noun, the
file, which way the drawing faces ("left", "right" or "front") and the tagger family it
belongs to (vehicle, animal, instrument, water, tool, or none). A label that is not a known
noun is matched word by word ("a red car" -> car, "dogs" -> dog), everyday words through
:data:`ALIASES` ("a man" -> person, "a plane" -> airplane), else it gets the fallback picture
(a loudspeaker).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

PICTOGRAM_DIR = Path(__file__).resolve().parents[2] / "resources" / "pictograms"
MANIFEST = "manifest.json"
# Side of the stored PNGs (measured): the largest sprite the preview draws at the sizes videos
# are exported at, 1920x1080 and phones' 1080x1920, is 1108 px (a crowd, a choir, traffic:
# the planner's widest priors at the nearest distance, 1.2 x prior, boxes capped at 0.95 of the
# frame, in a frame 1080 px wide, swollen by a full-loudness pulse, 1.08;
# tests/engine/test_preview_pictures.py measures it again from engine/planning/priors.py). A
# car is 376 px at 1080p. Stored at 1120 px, nothing is upscaled at those sizes (at 160 px a
# car at 1080p was 2.4x upscaled, the crowd 7x: visibly soft); smaller sprites are scaled down,
# which stays sharp. Larger frames (4K) upscale again, by up to 2x.
SPRITE_PX = 1120
FALLBACK = "sound source"
ATTRIBUTION = "Pictograms: Fluent Emoji by Microsoft Corporation (MIT licence)."


# Everyday words (and irregular plurals) for things the manifest has a picture of, under
# another name: a hint such as "a man talking", "a plane" or "children" is the user's own
# word, and drawing it as the loudspeaker while a fitting picture exists reads as "not
# understood". Word -> manifest noun; matched like the nouns (whole words, plural "s").
ALIASES: dict[str, str] = {
    # people
    "man": "person", "men": "person", "woman": "person", "women": "person", "boy": "child",
    "girl": "child", "lady": "person", "guy": "person", "voice": "person", "speech": "person",
    "talking": "person", "speaking": "person", "laughter": "person", "laughing": "person",
    "shouting": "person", "scream": "person", "screaming": "person", "cough": "person",
    "coughing": "person", "children": "child", "kid": "child", "toddler": "baby",
    "infant": "baby", "people": "crowd", "audience": "crowd", "applause": "crowd",
    "clapping": "crowd", "cheering": "crowd",
    # animals
    "puppy": "dog", "puppies": "dog", "kitten": "cat", "geese": "goose", "mice": "mouse",
    "hen": "chicken", "chick": "chicken", "cattle": "cow", "calf": "cow", "bull": "cow",
    "lamb": "sheep", "pony": "horse", "foal": "horse", "gull": "bird", "seagull": "bird",
    "songbird": "bird", "sparrow": "bird", "parrot": "bird",
    # vehicles
    "plane": "airplane", "aeroplane": "airplane", "aircraft": "airplane",
    "airliner": "jet", "motorbike": "motorcycle", "scooter": "motorcycle",
    "moped": "motorcycle", "lorry": "truck", "van": "truck", "automobile": "car",
    "taxi": "car", "tram": "subway", "tractor": "lawn mower",
    # instruments and players
    "drums": "drum", "drummer": "drum", "guitarist": "guitar", "pianist": "piano",
    "violinist": "violin",
    # water and weather
    "sea": "ocean", "waves": "ocean", "surf": "ocean", "river": "stream", "brook": "stream",
    "creek": "stream", "storm": "thunderstorm", "drizzle": "rain", "rainfall": "rain",
    # things
    "telephone": "phone", "cellphone": "phone", "hoover": "vacuum cleaner",
}


def file_name(emoji: str) -> str:
    return f"{emoji}.png"


@dataclass(frozen=True, eq=False)  # hashed by identity: pictogram() caches one per noun
class Pictogram:
    """One noun's picture: ``rgba`` uint8 ``(SPRITE_PX, SPRITE_PX, 4)``, read-only."""

    noun: str
    rgba: np.ndarray
    faces: str          # "left", "right" or "front"
    family: str | None  # the tagger family (vehicle, animal, ...) or None


@lru_cache(maxsize=1)
def _manifest() -> dict[str, dict]:
    path = PICTOGRAM_DIR / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))["nouns"]
    except (OSError, ValueError, KeyError):
        return {}  # a checkout without pictograms still renders (the fallback shape below)


def known_nouns() -> tuple[str, ...]:
    return tuple(_manifest())


def noun_for(label: str) -> str:
    """The manifest noun that draws ``label`` (the label itself, its singular, one of its words,
    last word first, each as a noun or an everyday word for one, :data:`ALIASES`), else
    :data:`FALLBACK`."""
    nouns = _manifest()
    key = " ".join(label.lower().replace("-", " ").split())
    if key in nouns:
        return key
    words = key.split()
    for n in (2, 1):  # two-word nouns ("police car") before single words, from the end
        for i in range(len(words) - n, -1, -1):
            phrase = " ".join(words[i:i + n])
            for candidate in (phrase, phrase[:-1] if phrase.endswith("s") else None,
                              phrase[:-2] if phrase.endswith("es") else None):
                if candidate and candidate in nouns:
                    return candidate
                if candidate and ALIASES.get(candidate) in nouns:
                    return ALIASES[candidate]
    return FALLBACK


@lru_cache(maxsize=256)
def pictogram(label: str) -> Pictogram:
    """The picture for ``label`` (cached; one :class:`Pictogram` per noun, whatever the label's
    words: a picture is 5 MB in memory)."""
    return _noun_pictogram(noun_for(label))


@lru_cache(maxsize=24)
def _noun_pictogram(noun: str) -> Pictogram:
    entry = _manifest().get(noun)
    rgba = None
    if entry is not None:
        bgra = cv2.imread(str(PICTOGRAM_DIR / entry["file"]), cv2.IMREAD_UNCHANGED)
        if bgra is not None and bgra.ndim == 3 and bgra.shape[2] == 4:
            rgba = cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGBA)
    if rgba is None:
        rgba, entry = _disc(), {"faces": "front", "family": None}
    rgba.setflags(write=False)
    return Pictogram(noun, rgba, entry.get("faces", "front"), entry.get("family"))


def _disc() -> np.ndarray:
    """A plain grey disc: what is drawn when the pictogram files are missing."""
    img = np.zeros((SPRITE_PX, SPRITE_PX, 4), np.uint8)
    c = SPRITE_PX // 2
    cv2.circle(img, (c, c), int(SPRITE_PX * 0.42), (150, 150, 160, 255), -1, cv2.LINE_AA)
    return img
