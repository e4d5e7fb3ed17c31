"""Class priors: how big things look, where they sit in the frame, and what scene fits them.

Loudness cannot tell absolute distance, so each label gets a typical on-screen size at a
medium distance; proximity from the cues scales it. Unknown labels use the ``default`` entry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prior:
    width: float        # box width at medium distance, fraction of frame width
    height: float       # box height, fraction of frame height
    y_center: float     # vertical centre of the box (0 top, 1 bottom)
    background: str     # a scene this source is usually heard in


_GROUND = 0.62
PRIORS: dict[str, Prior] = {
    "car": Prior(0.34, 0.24, _GROUND, "a city street"),
    "truck": Prior(0.42, 0.32, 0.58, "a highway"),
    "bus": Prior(0.45, 0.34, 0.58, "a city street"),
    "motorcycle": Prior(0.26, 0.24, _GROUND, "a country road"),
    "train": Prior(0.60, 0.32, 0.58, "a railway track in the countryside"),
    "engine": Prior(0.30, 0.24, _GROUND, "a garage"),
    "siren": Prior(0.34, 0.24, _GROUND, "a city street at night"),
    "airplane": Prior(0.40, 0.20, 0.32, "an airport runway under a wide sky"),
    "jet": Prior(0.40, 0.20, 0.32, "an airport runway under a wide sky"),
    "helicopter": Prior(0.30, 0.20, 0.30, "a sky above hills"),
    "bird": Prior(0.10, 0.10, 0.35, "a forest"),
    "dog": Prior(0.20, 0.22, 0.66, "a park"),
    "cat": Prior(0.14, 0.16, 0.68, "a living room"),
    "cow": Prior(0.30, 0.28, 0.62, "a green pasture"),
    "sheep": Prior(0.20, 0.18, 0.66, "a green pasture"),
    "horse": Prior(0.32, 0.34, 0.60, "a farm field"),
    "lion": Prior(0.30, 0.28, 0.62, "a savanna"),
    "person": Prior(0.16, 0.46, 0.56, "a room"),
    "crowd": Prior(0.80, 0.40, 0.62, "a concert hall"),
    "chainsaw": Prior(0.22, 0.20, 0.62, "a forest clearing"),
    "jackhammer": Prior(0.18, 0.34, 0.60, "a construction site"),
    "clock": Prior(0.14, 0.18, 0.40, "a quiet room"),
    "bell": Prior(0.14, 0.18, 0.40, "a railway crossing"),
    "explosion": Prior(0.50, 0.50, 0.50, "a desert"),
    "thunder": Prior(0.70, 0.30, 0.20, "a stormy sky over fields"),
    "rain": Prior(0.90, 0.80, 0.50, "a rainy street"),
    "water": Prior(0.70, 0.30, 0.72, "a river in a forest"),
    "waterfall": Prior(0.40, 0.60, 0.45, "a rocky gorge"),
    "piano": Prior(0.36, 0.30, 0.60, "a concert hall"),
    "guitar": Prior(0.18, 0.30, 0.58, "a small stage"),
    "drum": Prior(0.26, 0.24, 0.62, "a small stage"),
    # Family nouns (the tagger says these when it cannot tell the members apart) and nouns
    # a person uses for what is heard rather than seen.
    "vehicle": Prior(0.34, 0.24, _GROUND, "a road"),
    "animal": Prior(0.24, 0.22, 0.64, "a meadow"),
    "wolf": Prior(0.22, 0.22, 0.66, "a snowy forest"),
    "rooster": Prior(0.12, 0.14, 0.66, "a farmyard"),
    "footsteps": Prior(0.16, 0.46, 0.56, "a park path"),
    "default": Prior(0.26, 0.26, 0.58, "an open outdoor scene"),
}

# Labels that fill the scene rather than sit at one spot.
AMBIENT = {"rain", "crowd", "thunder", "wind"}


def prior_for(label: str | None) -> Prior:
    if not label:
        return PRIORS["default"]
    key = label.strip().lower()
    if key in PRIORS:
        return PRIORS[key]
    for word in key.replace("-", " ").split():
        if word in PRIORS:
            return PRIORS[word]
        if word.endswith("s") and word[:-1] in PRIORS:
            return PRIORS[word[:-1]]
    return PRIORS["default"]
