"""Write audioset_nouns.json: each of YAMNet's 521 AudioSet classes -> a short noun or null.

The planner draws a box per sounding *thing*, so a class maps to the noun a person would use
for the thing making that sound ("Vehicle horn, car horn, honking" -> "car", "Bark" -> "dog").
Classes that name no placeable source map to null: music genres and moods, acoustic scenes
("Inside, small room"), signal descriptions ("Sine wave", "White noise") and bare sound
shapes ("Thump, thud", "Whoosh") that any object can make.

Some nouns name a family ("vehicle", "animal"): YAMNet is usually surest of the parent class,
so the tagger replaces a family noun by the best specific noun of the family when the model
names one clearly, and keeps the family noun when two members compete (models/yamnet.py).
``FAMILIES`` names the family nouns; their members come from the AudioSet ontology.

Run from the repository root after editing the table:
    python resources/tagger/make_nouns.py
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Display name -> noun, in class-map order. Anything not listed here maps to null; the script
# refuses names that are not in the class map, so a typo cannot silently drop a class.
# Left null on purpose: sounds the ontology files under one animal but any source makes
# ("Hiss" under Cat, "Buzz" under Fly, "Rattle" under Snake, "Patter" under Mouse), because
# YAMNet gives them to noise, hum and rain; likewise "Steam", "Spray", "Liquid" and "Arrow",
# which it gives to engines and wind.
NOUNS: dict[str, str] = {
    # People. Nearly every human sound is drawn as a person; children and babies differ.
    "Speech": "person", "Child speech, kid speaking": "child", "Conversation": "person",
    "Narration, monologue": "person", "Babbling": "baby", "Shout": "person",
    "Bellow": "person", "Whoop": "person", "Yell": "person", "Children shouting": "child",
    "Screaming": "person", "Whispering": "person", "Laughter": "person",
    "Baby laughter": "baby", "Giggle": "person", "Snicker": "person", "Belly laugh": "person",
    "Chuckle, chortle": "person", "Crying, sobbing": "person", "Baby cry, infant cry": "baby",
    "Whimper": "person", "Wail, moan": "person", "Sigh": "person", "Singing": "singer",
    "Choir": "choir", "Yodeling": "singer", "Chant": "person", "Mantra": "person",
    "Child singing": "child", "Rapping": "singer", "Humming": "person", "Groan": "person",
    "Grunt": "person", "Whistling": "person", "Breathing": "person", "Wheeze": "person",
    "Snoring": "person", "Gasp": "person", "Pant": "person", "Snort": "person",
    "Cough": "person", "Throat clearing": "person", "Sneeze": "person", "Sniff": "person",
    "Run": "footsteps", "Shuffle": "footsteps", "Walk, footsteps": "footsteps",
    "Chewing, mastication": "person", "Biting": "person", "Gargling": "person",
    "Stomach rumble": "person", "Burping, eructation": "person", "Hiccup": "person",
    "Fart": "person", "Hands": "person", "Finger snapping": "person", "Clapping": "person",
    "Cheering": "crowd", "Applause": "crowd", "Chatter": "crowd", "Crowd": "crowd",
    "Hubbub, speech noise, speech babble": "crowd", "Children playing": "child",
    "Beatboxing": "person", "Vocal music": "singer", "A capella": "singer",
    # Animals.
    "Animal": "animal", "Domestic animals, pets": "animal", "Dog": "dog", "Bark": "dog",
    "Yip": "dog", "Howl": "wolf", "Bow-wow": "dog", "Growling": "dog", "Whimper (dog)": "dog",
    "Cat": "cat", "Purr": "cat", "Meow": "cat", "Caterwaul": "cat",
    "Livestock, farm animals, working animals": "animal", "Horse": "horse",
    "Clip-clop": "horse", "Neigh, whinny": "horse", "Cattle, bovinae": "cow", "Moo": "cow",
    "Cowbell": "bell", "Pig": "pig", "Oink": "pig", "Goat": "goat", "Bleat": "sheep",
    "Sheep": "sheep", "Fowl": "chicken", "Chicken, rooster": "rooster", "Cluck": "chicken",
    "Crowing, cock-a-doodle-doo": "rooster", "Turkey": "turkey", "Gobble": "turkey",
    "Duck": "duck", "Quack": "duck", "Goose": "goose", "Honk": "goose",
    "Wild animals": "animal", "Roaring cats (lions, tigers)": "lion", "Roar": "lion",
    "Bird": "bird", "Bird vocalization, bird call, bird song": "bird", "Chirp, tweet": "bird",
    "Squawk": "bird", "Pigeon, dove": "pigeon", "Coo": "pigeon", "Crow": "crow",
    "Caw": "crow", "Owl": "owl", "Hoot": "owl", "Bird flight, flapping wings": "bird",
    "Canidae, dogs, wolves": "dog", "Rodents, rats, mice": "mouse", "Mouse": "mouse",
    "Insect": "insect", "Cricket": "cricket", "Mosquito": "mosquito",
    "Fly, housefly": "fly", "Bee, wasp, etc.": "bee", "Frog": "frog", "Croak": "frog",
    "Snake": "snake", "Whale vocalization": "whale",
    # Musical instruments (genres and moods map to null: they are not things in the scene).
    "Musical instrument": "instrument", "Plucked string instrument": "guitar",
    "Guitar": "guitar", "Electric guitar": "guitar", "Bass guitar": "guitar",
    "Acoustic guitar": "guitar", "Steel guitar, slide guitar": "guitar",
    "Tapping (guitar technique)": "guitar", "Strum": "guitar", "Banjo": "banjo",
    "Sitar": "sitar", "Mandolin": "mandolin", "Zither": "zither", "Ukulele": "ukulele",
    "Keyboard (musical)": "keyboard", "Piano": "piano", "Electric piano": "piano",
    "Organ": "organ", "Electronic organ": "organ", "Hammond organ": "organ",
    "Synthesizer": "synthesizer", "Harpsichord": "harpsichord", "Percussion": "drum",
    "Drum kit": "drum", "Drum machine": "drum machine", "Drum": "drum", "Snare drum": "drum",
    "Rimshot": "drum", "Drum roll": "drum", "Bass drum": "drum", "Timpani": "drum",
    "Tabla": "tabla", "Cymbal": "cymbal", "Hi-hat": "cymbal", "Wood block": "wood block",
    "Tambourine": "tambourine", "Rattle (instrument)": "maracas", "Maraca": "maracas",
    "Gong": "gong", "Tubular bells": "bell", "Mallet percussion": "xylophone",
    "Marimba, xylophone": "xylophone", "Glockenspiel": "glockenspiel",
    "Vibraphone": "vibraphone", "Steelpan": "steel drum", "Orchestra": "orchestra",
    "Brass instrument": "trumpet", "French horn": "french horn", "Trumpet": "trumpet",
    "Trombone": "trombone", "Bowed string instrument": "violin", "String section": "orchestra",
    "Violin, fiddle": "violin", "Pizzicato": "violin", "Cello": "cello",
    "Double bass": "double bass", "Wind instrument, woodwind instrument": "flute",
    "Flute": "flute", "Saxophone": "saxophone", "Clarinet": "clarinet", "Harp": "harp",
    "Bell": "bell", "Church bell": "church bell", "Jingle bell": "bell",
    "Bicycle bell": "bicycle", "Tuning fork": "tuning fork", "Chime": "chime",
    "Wind chime": "wind chime", "Change ringing (campanology)": "church bell",
    "Harmonica": "harmonica", "Accordion": "accordion", "Bagpipes": "bagpipes",
    "Didgeridoo": "didgeridoo", "Shofar": "shofar", "Theremin": "theremin",
    "Singing bowl": "singing bowl", "Scratching (performance technique)": "turntable",
    # Weather and water.
    "Wind": "wind", "Rustling leaves": "tree", "Thunderstorm": "thunderstorm",
    "Thunder": "thunder", "Water": "water", "Rain": "rain", "Raindrop": "rain",
    "Rain on surface": "rain", "Stream": "stream", "Waterfall": "waterfall",
    "Ocean": "ocean", "Waves, surf": "ocean", "Gurgling": "water",
    "Fire": "fire", "Crackle": "fire",
    # Vehicles.
    "Vehicle": "vehicle", "Boat, Water vehicle": "boat", "Sailboat, sailing ship": "sailboat",
    "Rowboat, canoe, kayak": "rowboat", "Motorboat, speedboat": "motorboat", "Ship": "ship",
    "Motor vehicle (road)": "vehicle", "Car": "car", "Vehicle horn, car horn, honking": "car",
    "Toot": "car", "Car alarm": "car", "Power windows, electric windows": "car",
    "Skidding": "car", "Tire squeal": "car", "Car passing by": "car",
    "Race car, auto racing": "race car", "Truck": "truck", "Air brake": "truck",
    "Air horn, truck horn": "truck", "Reversing beeps": "truck",
    "Ice cream truck, ice cream van": "ice cream truck", "Bus": "bus",
    "Emergency vehicle": "police car", "Police car (siren)": "police car",
    "Ambulance (siren)": "ambulance", "Fire engine, fire truck (siren)": "fire truck",
    "Motorcycle": "motorcycle", "Traffic noise, roadway noise": "traffic",
    "Rail transport": "train", "Train": "train", "Train whistle": "train",
    "Train horn": "train", "Railroad car, train wagon": "train",
    "Train wheels squealing": "train", "Subway, metro, underground": "subway",
    "Aircraft": "airplane", "Aircraft engine": "airplane", "Jet engine": "airplane",
    "Propeller, airscrew": "airplane", "Helicopter": "helicopter",
    "Fixed-wing aircraft, airplane": "airplane", "Bicycle": "bicycle",
    "Skateboard": "skateboard", "Engine": "engine",
    "Light engine (high frequency)": "engine", "Medium engine (mid frequency)": "engine",
    "Heavy engine (low frequency)": "engine", "Engine knocking": "engine",
    "Engine starting": "engine", "Idling": "engine", "Accelerating, revving, vroom": "car",
    "Clickety-clack": "train",
    # Home and work.
    "Dental drill, dentist's drill": "drill", "Lawn mower": "lawn mower",
    "Chainsaw": "chainsaw", "Door": "door", "Doorbell": "doorbell", "Ding-dong": "doorbell",
    "Sliding door": "door", "Slam": "door", "Knock": "door",
    "Cupboard open or close": "cupboard", "Drawer open or close": "drawer",
    "Dishes, pots, and pans": "dishes", "Cutlery, silverware": "cutlery",
    "Chopping (food)": "knife", "Frying (food)": "frying pan", "Sizzle": "frying pan",
    "Microwave oven": "microwave", "Blender": "blender", "Water tap, faucet": "faucet",
    "Sink (filling or washing)": "sink", "Bathtub (filling or washing)": "bathtub",
    "Hair dryer": "hair dryer", "Toilet flush": "toilet", "Toothbrush": "toothbrush",
    "Electric toothbrush": "toothbrush", "Vacuum cleaner": "vacuum cleaner",
    "Zipper (clothing)": "zipper", "Keys jangling": "keys", "Coin (dropping)": "coin",
    "Scissors": "scissors", "Electric shaver, electric razor": "shaver",
    "Shuffling cards": "cards", "Typing": "computer", "Typewriter": "typewriter",
    "Computer keyboard": "computer", "Writing": "pen", "Alarm": "alarm",
    "Telephone": "phone", "Telephone bell ringing": "phone", "Ringtone": "phone",
    "Telephone dialing, DTMF": "phone", "Dial tone": "phone", "Busy signal": "phone",
    "Alarm clock": "alarm clock", "Siren": "siren", "Civil defense siren": "siren",
    "Buzzer": "buzzer", "Smoke detector, smoke alarm": "smoke alarm",
    "Fire alarm": "smoke alarm", "Foghorn": "foghorn", "Whistle": "whistle",
    "Steam whistle": "whistle", "Ratchet, pawl": "wrench", "Clock": "clock", "Tick": "clock",
    "Tick-tock": "clock", "Gears": "machine", "Sewing machine": "sewing machine",
    "Mechanical fan": "fan", "Air conditioning": "air conditioner",
    "Cash register": "cash register", "Printer": "printer", "Camera": "camera",
    "Single-lens reflex camera": "camera", "Tools": "tool", "Hammer": "hammer",
    "Jackhammer": "jackhammer", "Sawing": "saw", "Filing (rasp)": "file",
    "Sanding": "sander", "Power tool": "power tool", "Drill": "drill",
    "Pump (liquid)": "pump", "Stir": "spoon", "Boiling": "pot",
    "Basketball bounce": "basketball", "Bouncing": "ball", "Whip": "whip",
    "Crumpling, crinkling": "paper", "Tearing": "paper", "Television": "television",
    "Radio": "radio",
    # Explosions and fire arms.
    "Explosion": "explosion", "Gunshot, gunfire": "gun", "Machine gun": "gun",
    "Fusillade": "gun", "Artillery fire": "cannon", "Cap gun": "gun",
    "Fireworks": "fireworks", "Firecracker": "fireworks", "Eruption": "volcano",
    # Glass and liquids with a visible source.
    "Glass": "glass", "Chink, clink": "glass", "Shatter": "glass", "Splash, splatter": "water",
    "Slosh": "water", "Drip": "water", "Pour": "water", "Trickle, dribble": "water",
    "Gush": "water", "Fill (with liquid)": "water",
}

# Family nouns: the words a person uses for a thing of a kind they cannot tell apart ("a
# vehicle", "an animal"). Which nouns belong to a family comes from the AudioSet ontology
# (audioset_ontology.json, CC BY-SA 4.0): every noun of a class below one of the family's
# classes. Other parent-child links of the ontology are sound relations, not kinds of thing
# ("Growling" sits under both Dog and Roaring cats, "Cowbell" under Cattle, "Car alarm" under
# Alarm), so they make no family.
FAMILIES: dict[str, list[str]] = {
    "animal": ["Animal"], "bird": ["Bird"], "insect": ["Insect"], "vehicle": ["Vehicle"],
    "boat": ["Boat, Water vehicle"], "instrument": ["Musical instrument"],
    "tool": ["Tools", "Power tool"], "water": ["Water"],
    # An engine is the sound of a thing, not a thing: what has one, by the ontology's motor
    # vehicles, aircraft, motorboats and engine-driven tools.
    "engine": ["Engine", "Motor vehicle (road)", "Rail transport", "Aircraft",
               "Motorboat, speedboat", "Power tool", "Chainsaw", "Lawn mower"],
}
# A few things the ontology files elsewhere that a person still calls by the family word, and
# nouns reached through a sound relation below a family ("Cowbell" under Cattle, "Bicycle
# bell" under Bell) that are not of its kind.
FAMILY_EXTRA: dict[str, list[str]] = {"water": ["faucet", "sink", "bathtub", "toilet"]}
NOT_OF_KIND: dict[str, list[str]] = {"animal": ["bell"], "instrument": ["bicycle"],
                                     "engine": ["vehicle"]}


def families(names: list[str], ontology: dict) -> dict[str, list[str]]:
    """Family noun -> the sorted nouns of every class below its classes in the ontology."""
    by_name = {c["name"]: c for c in ontology["classes"]}
    by_id = {c["id"]: c for c in ontology["classes"]}
    out = {}
    for noun, roots in FAMILIES.items():
        members, stack = set(), [by_name[r]["id"] for r in roots]
        while stack:
            c = by_id[stack.pop()]
            members.add(NOUNS.get(c["name"]))
            stack.extend(c["children"])
        members |= set(FAMILY_EXTRA.get(noun, []))
        members -= set(NOT_OF_KIND.get(noun, [])) | {None, noun}
        out[noun] = sorted(members)
    return out


def build(class_map: Path) -> dict:
    with open(class_map, newline="", encoding="utf-8") as f:
        names = [row["display_name"] for row in csv.DictReader(f)]
    if len(names) != 521 or len(set(names)) != 521:
        raise SystemExit(f"expected 521 distinct AudioSet classes, got {len(set(names))}")
    unknown = sorted(set(NOUNS) - set(names))
    if unknown:
        raise SystemExit(f"not in the class map: {unknown}")
    nouns = set(NOUNS.values())
    ontology = json.loads((class_map.parent / "audioset_ontology.json").read_text("utf-8"))
    generic = families(names, ontology)
    for generic_noun, family in generic.items():
        strays = sorted(set(family) - nouns)
        if generic_noun not in nouns or strays:
            raise SystemExit(f"family {generic_noun!r} names nouns no class maps to: {strays}")
    return {
        "about": "AudioSet display name (YAMNet class map) -> short noun for the thing making "
                 "the sound, or null when the class names no placeable source. Generated by "
                 "make_nouns.py; edit that script, not this file.",
        "nouns": {name: NOUNS.get(name) for name in names},
        "generic": generic,
    }


def main() -> None:
    table = build(HERE / "yamnet_class_map.csv")
    out = HERE / "audioset_nouns.json"
    tmp = out.with_suffix(".json.part")
    tmp.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out)
    named = sum(v is not None for v in table["nouns"].values())
    print(f"wrote {out}: {named} of 521 classes name a source, "
          f"{len(set(table['nouns'].values()) - {None})} distinct nouns")


if __name__ == "__main__":
    main()
