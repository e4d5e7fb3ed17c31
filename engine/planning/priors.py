"""Class priors: how big things look, where they sit in the frame, and what scene fits them.

Loudness cannot tell absolute distance, so each label gets a typical on-screen size at a
medium distance; proximity from the cues scales it. The first table (:data:`HAND_SET`) was set
by hand; every other noun the built-in tagger can name, and the everyday words the preview's
pictures know (:data:`WORDS`), gets its box from a typical real-world size and where the thing
is usually seen (:func:`derived_prior`, the size law below, fitted to the hand-set entries).
Sound that fills the scene rather than coming from one object (an ocean, traffic, a
thunderstorm) borrows the hand-set box of its kind (:data:`SCENE_FILLING`). Unknown labels use
the ``default`` entry.
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
HAND_SET: dict[str, Prior] = {
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

# ---------------------------------------------------------------------------------------
# The size law. A thing's on-screen size at medium distance, the geometric mean of its box's
# sides (what engine.spatialize.paths reads back as size, whatever the aspect), is
#
#     size = SIZE_AT_1M * (length_m ** SIZE_EXPONENT) * place scale,  at least LEGIBLE
#
# length_m: its largest real dimension. The preview compresses real size: a bus is 50 times
# a songbird's length but drawn 4 times its size, because a layout is a sketch of what is
# heard, where every source must be seen and none may fill the frame. SIZE_EXPONENT and
# SIZE_AT_1M are fitted (least squares in log-log) to the 22 hand-set entries that are one
# thing of a known length (REFERENCE_LENGTHS_M; tests/engine/planning/test_priors.py re-fits
# them): exponent 0.283, 0.207 of the frame at 1 m, residual spread 16 % (one standard
# deviation). Farthest from the law: the piano (1.41x), horse (1.24x), rooster (0.76x) and
# bird (0.71x); all within about two spreads, so they are kept as set.
SIZE_EXPONENT = 0.283   # fitted
SIZE_AT_1M = 0.207      # fitted: a 1 m thing is 0.207 of the frame at medium distance
# Legibility floor (design): a pictogram scaled below about 16 px loses its shape (the
# renderer's own lower bound is 12 px). The planner draws a source between 0.6 and 1.2 times
# its prior (heuristic.SIZE_FAR/SIZE_SPAN), so at 0.06 the farthest speck is still about 18 px
# in a 512 px frame. The law gives 0.069 at 2 cm, so for a square box the floor binds only
# below about 1.3 cm; it holds the smaller side of a long or tall box.
LEGIBLE = 0.06
LARGEST = 0.8           # design: nothing but the scene itself fills more of the frame

# Size classes: typical largest real dimension, metres (physical, rounded).
TINY = 0.02      # an insect, a coin, a set of keys
HAND = 0.15      # a phone, a hammer, a frog
SMALL = 0.5      # a cat, a chicken, a violin, a microwave
MEDIUM = 1.0     # a goat, a cello, a child, a lawn mower
PERSON = 1.7     # a person, a door, a bicycle, an organ
CAR = 4.5        # a car, a rowboat, a tractor
LARGE = 12.0     # a bus, a whale, a sailboat, a tree
HUGE = 30.0      # a ship, a volcano seen whole

# Where a thing is usually seen. Ground things stand on the ground line: the hand-set ground
# entries' box bottoms lie at 0.72-0.79 of the height, mean GROUND_LINE (fitted). RAISED things
# (on a table or counter, held in the hand, on a wall) stand RAISE_M above it, converted with
# the person's scale (0.46 of the height for 1.7 m): 1 m puts the foot at 0.48, where the
# hand-set clock and bell sit (0.49). AIR: flying things at the bird's height (y 0.35). SKY:
# aircraft (y 0.31, the mean of airplane, jet, helicopter), seen far off: SKY_SCALE is their
# mean size over the law's (fitted). WATER: on the water line, the ground line's place.
GROUND, RAISED, AIR, SKY, WATER = "ground", "raised", "air", "sky", "water"
GROUND_LINE = 0.75      # fitted (mean box bottom of the hand-set ground entries)
RAISE_M = 1.0           # physical: table, counter or hand height, metres
PERSON_SCALE = 0.46 / 1.7  # frame height per metre at the ground line (the person's prior)
AIR_Y = 0.35            # the bird's
SKY_Y = 0.31            # the aircraft's
SKY_SCALE = 0.50        # fitted: airplane, jet and helicopter at 0.48-0.55 of the law

# Shapes: box width over height (the hand-set entries: vehicles 1.3-1.9, animals 0.9-1.1,
# a guitar or jackhammer 0.55-0.6, a person 0.35).
LONG, EVEN, TALL, UPRIGHT = 1.4, 1.0, 0.55, 0.35


@dataclass(frozen=True)
class Thing:
    length_m: float
    place: str
    shape: float = EVEN


# Real lengths (physical, rounded) of the hand-set entries the law is fitted to: the sky ones
# give SKY_SCALE instead; generic, scene-filling and borrowed entries name no one size.
REFERENCE_LENGTHS_M: dict[str, float] = {
    "car": 4.5, "truck": 10.0, "bus": 12.0, "motorcycle": 2.1, "train": 25.0, "dog": 0.9,
    "cat": 0.5, "cow": 2.4, "sheep": 1.3, "horse": 2.4, "lion": 2.5, "wolf": 1.5,
    "rooster": 0.5, "person": 1.7, "piano": 1.5, "guitar": 1.0, "drum": 1.5, "chainsaw": 0.8,
    "jackhammer": 1.2, "clock": 0.3, "bell": 0.3, "bird": 0.25,
}
SKY_LENGTHS_M: dict[str, float] = {"airplane": 40.0, "jet": 40.0, "helicopter": 15.0}


def derived_prior(thing: Thing, background: str) -> Prior:
    """The box of ``thing`` at medium distance by the size law and its place."""
    size = SIZE_AT_1M * thing.length_m ** SIZE_EXPONENT
    if thing.place == SKY:
        size *= SKY_SCALE
    size = min(LARGEST, max(LEGIBLE * max(thing.shape, 1 / thing.shape) ** 0.5, size))
    width, height = size * thing.shape ** 0.5, size / thing.shape ** 0.5
    if thing.place == AIR:
        y = AIR_Y
    elif thing.place == SKY:
        y = SKY_Y
    else:
        raise_m = RAISE_M if thing.place == RAISED else 0.0
        y = GROUND_LINE - raise_m * PERSON_SCALE - height / 2
    return Prior(round(width, 4), round(height, 4), round(y, 4), background)


# Every other noun the built-in tagger can name (resources/tagger/audioset_nouns.json) that
# is one thing (kinds of a hand-set thing: KINDS_OF, below).
THINGS: dict[str, Thing] = {
    # insects and small animals
    "bee": Thing(TINY, AIR), "fly": Thing(TINY, AIR), "mosquito": Thing(TINY, AIR),
    "cricket": Thing(TINY, GROUND),
    "insect": Thing(TINY, GROUND),  # the picture is a crawling bug
    "mouse": Thing(HAND, GROUND), "frog": Thing(HAND, GROUND),
    "chicken": Thing(SMALL, GROUND), "duck": Thing(SMALL, WATER), "goose": Thing(SMALL, GROUND),
    "crow": Thing(SMALL, AIR), "pigeon": Thing(SMALL, AIR), "owl": Thing(SMALL, AIR),
    "turkey": Thing(MEDIUM, GROUND), "goat": Thing(MEDIUM, GROUND), "pig": Thing(MEDIUM, GROUND),
    "snake": Thing(MEDIUM, GROUND, LONG), "whale": Thing(LARGE, WATER, LONG),
    # people
    "baby": Thing(SMALL, GROUND), "child": Thing(MEDIUM, GROUND, UPRIGHT),
    "singer": Thing(PERSON, GROUND, UPRIGHT),
    # vehicles and boats
    "bicycle": Thing(PERSON, GROUND, LONG), "skateboard": Thing(SMALL, GROUND, LONG),
    "ambulance": Thing(CAR, GROUND, LONG), "subway": Thing(LARGE, GROUND, LONG),
    "boat": Thing(CAR, WATER, LONG), "rowboat": Thing(CAR, WATER, LONG),
    "motorboat": Thing(CAR, WATER, LONG), "sailboat": Thing(LARGE, WATER),
    "ship": Thing(HUGE, WATER, LONG), "lawn mower": Thing(MEDIUM, GROUND, LONG),
    "cannon": Thing(PERSON, GROUND, LONG),
    # instruments: held ones at hand height, standing ones on the ground
    "accordion": Thing(SMALL, RAISED), "bagpipes": Thing(MEDIUM, RAISED),
    "banjo": Thing(MEDIUM, RAISED, TALL), "mandolin": Thing(SMALL, RAISED, TALL),
    "ukulele": Thing(SMALL, RAISED, TALL), "sitar": Thing(MEDIUM, RAISED, TALL),
    "violin": Thing(SMALL, RAISED, LONG), "zither": Thing(SMALL, RAISED, LONG),
    "clarinet": Thing(SMALL, RAISED, TALL), "saxophone": Thing(SMALL, RAISED, TALL),
    "flute": Thing(SMALL, RAISED, LONG), "trumpet": Thing(SMALL, RAISED, LONG),
    "trombone": Thing(MEDIUM, RAISED, LONG), "french horn": Thing(SMALL, RAISED),
    "shofar": Thing(SMALL, RAISED, LONG), "didgeridoo": Thing(MEDIUM, GROUND, TALL),
    "harmonica": Thing(HAND, RAISED), "whistle": Thing(HAND, RAISED),
    "maracas": Thing(HAND, RAISED), "tambourine": Thing(HAND, RAISED),
    "wood block": Thing(HAND, RAISED), "tuning fork": Thing(HAND, RAISED, TALL),
    "singing bowl": Thing(HAND, RAISED), "cymbal": Thing(SMALL, RAISED),
    "chime": Thing(SMALL, RAISED, TALL), "wind chime": Thing(SMALL, RAISED, TALL),
    "glockenspiel": Thing(SMALL, RAISED, LONG), "theremin": Thing(SMALL, RAISED),
    "tabla": Thing(SMALL, GROUND), "instrument": Thing(SMALL, RAISED),
    "keyboard": Thing(MEDIUM, RAISED, LONG), "synthesizer": Thing(MEDIUM, RAISED, LONG),
    "xylophone": Thing(MEDIUM, RAISED, LONG), "drum machine": Thing(SMALL, RAISED, LONG),
    "turntable": Thing(SMALL, RAISED, LONG), "cello": Thing(MEDIUM, GROUND, TALL),
    "double bass": Thing(PERSON, GROUND, TALL), "harp": Thing(PERSON, GROUND, TALL),
    "harpsichord": Thing(PERSON, GROUND, LONG), "organ": Thing(PERSON, GROUND),
    "vibraphone": Thing(PERSON, GROUND, LONG), "gong": Thing(MEDIUM, GROUND),
    "foghorn": Thing(MEDIUM, RAISED),
    # household things and tools
    "coin": Thing(TINY, RAISED), "keys": Thing(TINY, RAISED), "zipper": Thing(TINY, RAISED),
    "phone": Thing(HAND, RAISED), "camera": Thing(HAND, RAISED), "cards": Thing(HAND, RAISED),
    "pen": Thing(HAND, RAISED), "paper": Thing(HAND, RAISED), "glass": Thing(HAND, RAISED, TALL),
    "spoon": Thing(HAND, RAISED), "cutlery": Thing(HAND, RAISED), "knife": Thing(HAND, RAISED),
    "dishes": Thing(HAND, RAISED), "scissors": Thing(HAND, RAISED), "shaver": Thing(HAND, RAISED),
    "toothbrush": Thing(HAND, RAISED), "hair dryer": Thing(HAND, RAISED),
    "alarm": Thing(HAND, RAISED), "alarm clock": Thing(HAND, RAISED),
    "smoke alarm": Thing(HAND, RAISED), "buzzer": Thing(HAND, RAISED),
    "doorbell": Thing(HAND, RAISED), "faucet": Thing(HAND, RAISED),
    "gun": Thing(HAND, RAISED), "hammer": Thing(HAND, RAISED), "wrench": Thing(HAND, RAISED),
    "file": Thing(HAND, RAISED), "drill": Thing(HAND, RAISED), "sander": Thing(HAND, RAISED),
    "power tool": Thing(HAND, RAISED), "tool": Thing(HAND, RAISED),
    "ball": Thing(HAND, GROUND), "basketball": Thing(HAND, GROUND),
    "saw": Thing(SMALL, RAISED, LONG), "frying pan": Thing(SMALL, RAISED, LONG),
    "pot": Thing(SMALL, RAISED), "blender": Thing(SMALL, RAISED, TALL),
    "radio": Thing(SMALL, RAISED, LONG), "computer": Thing(SMALL, RAISED),
    "typewriter": Thing(SMALL, RAISED, LONG), "printer": Thing(SMALL, RAISED, LONG),
    "sewing machine": Thing(SMALL, RAISED, LONG), "cash register": Thing(SMALL, RAISED),
    "microwave": Thing(SMALL, RAISED, LONG), "fan": Thing(SMALL, RAISED),
    "drawer": Thing(SMALL, RAISED, LONG), "sink": Thing(SMALL, RAISED, LONG),
    "air conditioner": Thing(MEDIUM, RAISED, LONG), "television": Thing(MEDIUM, RAISED, LONG),
    "toilet": Thing(SMALL, GROUND), "pump": Thing(MEDIUM, GROUND),
    "machine": Thing(MEDIUM, GROUND), "vacuum cleaner": Thing(MEDIUM, GROUND, TALL),
    "whip": Thing(MEDIUM, RAISED, LONG), "cupboard": Thing(PERSON, GROUND, TALL),
    "door": Thing(PERSON, GROUND, TALL), "bathtub": Thing(PERSON, GROUND, LONG),
    # large things
    "tree": Thing(LARGE, GROUND, TALL), "volcano": Thing(HUGE, GROUND),
    "fireworks": Thing(LARGE, SKY),
}

# Tagger nouns that are a kind of a hand-set thing take its box.
KINDS_OF: dict[str, str] = {
    "fire truck": "truck", "ice cream truck": "truck", "police car": "car", "race car": "car",
    "steel drum": "drum", "church bell": "bell",
}

# Sound that fills the scene rather than coming from one object: it borrows the hand-set box
# of its kind (a band of sky, of water, of a crowd; a blaze like an explosion).
SCENE_FILLING: dict[str, str] = {
    "rain": "rain", "thunder": "thunder", "crowd": "crowd", "water": "water",
    "waterfall": "waterfall", "explosion": "explosion",
    "thunderstorm": "thunder", "wind": "thunder", "ocean": "water", "stream": "water",
    "traffic": "crowd", "choir": "crowd", "orchestra": "crowd", "fire": "explosion",
}

# Everyday words the preview's pictures know (engine.rendering.pictograms.ALIASES) that name
# a thing: a synonym shares its noun's prior (str), another size of thing has its own (Thing).
# Words for a sound rather than a thing ("talking", "applause") have none: in a hint they
# must not outrank the noun beside them ("screaming children").
WORDS: dict[str, str | Thing] = {
    "man": "person", "men": "person", "woman": "person", "women": "person", "lady": "person",
    "guy": "person", "drummer": "person", "guitarist": "person", "pianist": "person",
    "violinist": "person",
    "boy": "child", "girl": "child", "kid": "child", "children": "child",
    "toddler": "baby", "infant": "baby", "people": "crowd", "audience": "crowd",
    "puppy": Thing(SMALL, GROUND), "puppies": Thing(SMALL, GROUND),
    "kitten": Thing(HAND, GROUND), "geese": "goose", "mice": "mouse", "hen": "chicken",
    "chick": Thing(HAND, GROUND), "cattle": "cow", "bull": "cow", "calf": Thing(MEDIUM, GROUND),
    "lamb": Thing(SMALL, GROUND), "pony": Thing(PERSON, GROUND), "foal": Thing(MEDIUM, GROUND),
    "gull": Thing(SMALL, AIR), "seagull": Thing(SMALL, AIR), "songbird": "bird",
    "sparrow": "bird", "parrot": Thing(SMALL, AIR),
    "plane": "airplane", "aeroplane": "airplane", "aircraft": "airplane", "airliner": "jet",
    "motorbike": "motorcycle", "scooter": Thing(PERSON, GROUND, LONG),
    "moped": Thing(PERSON, GROUND, LONG), "lorry": "truck", "van": Thing(CAR, GROUND, LONG),
    "automobile": "car", "taxi": "car", "tram": "subway", "tractor": Thing(CAR, GROUND, LONG),
    "drums": "drum", "sea": "ocean", "waves": "ocean", "surf": "ocean", "river": "stream",
    "brook": "stream", "creek": "stream", "storm": "thunderstorm", "drizzle": "rain",
    "rainfall": "rain", "telephone": "phone", "cellphone": "phone", "hoover": "vacuum cleaner",
}


def _build() -> tuple[dict[str, Prior], dict[str, Prior]]:
    default_bg = HAND_SET["default"].background
    priors = dict(HAND_SET)
    for noun, thing in THINGS.items():
        priors[noun] = derived_prior(thing, default_bg)
    for noun, like in (KINDS_OF | SCENE_FILLING).items():
        priors.setdefault(noun, HAND_SET[like])
    words = {}
    for word, what in WORDS.items():
        words[word] = priors[what] if isinstance(what, str) else derived_prior(what, default_bg)
    return priors, words


# PRIORS holds nouns (each has a picture of its own); WORD_PRIORS the everyday words.
PRIORS, WORD_PRIORS = _build()

# Labels that fill the scene rather than sit at one spot, as far as the spatial guard goes
# (a language model may draw these as background): sound heard from all around, as the
# built-in tagger names it: weather (its "Thunderstorm" is thunder), a crowd, the sea's waves.
AMBIENT = {"rain", "crowd", "thunder", "thunderstorm", "wind", "ocean"}


def _lookup(phrase: str) -> Prior | None:
    for candidate in (phrase, phrase[:-1] if phrase.endswith("s") else None):
        if candidate:
            found = PRIORS.get(candidate) or WORD_PRIORS.get(candidate)
            if found is not None:
                return found
    return None


def known_noun(words: list[str]) -> str | None:
    """The first noun in ``words`` with a prior, as written, else None. A noun of two or
    three words is taken whole ("a fire truck" -> "fire truck", not "fire")."""
    for i, word in enumerate(words):
        for n in (3, 2):  # "ice cream truck", "alarm clock"
            phrase = " ".join(words[i:i + n])
            if i + n <= len(words) and _lookup(phrase) is not None:
                return phrase
        if _lookup(word) is not None:
            return word
    return None


def prior_for(label: str | None) -> Prior:
    if not label:
        return PRIORS["default"]
    key = " ".join(label.strip().lower().split())
    found = _lookup(key)
    if found is not None:
        return found
    noun = known_noun(key.replace("-", " ").split())
    return _lookup(noun) if noun is not None else PRIORS["default"]
