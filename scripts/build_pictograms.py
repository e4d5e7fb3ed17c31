"""Build resources/pictograms/: one colour pictogram (PNG) for every noun the built-in planner can
put in a layout, from Microsoft's Fluent Emoji (flat style, MIT licence), plus a manifest.

The nouns are not listed here: they are the tagger vocabulary (resources/tagger/make_nouns.py:
every noun an AudioSet class maps to, and the generic noun of each family), the planner's class
priors (engine/planning/priors.py: "jet", "person", ...) and a fallback for anything else
(``sound source``). This script only says which emoji draws each noun and which way that
drawing faces, and fails if a noun has no picture.

The emoji come from the npm package ``@iconify-json/fluent-emoji-flat`` (every Fluent Emoji
flat SVG in one JSON file), fetched with ``npm pack`` into ``~/.cache/spa2v/pictograms/`` and
rendered with cairosvg (``pip install cairosvg``; only this script needs it).

    python scripts/build_pictograms.py            # fetch (once), render, write resources/pictograms
    python scripts/build_pictograms.py --sheet out.png   # also a contact sheet to check facing
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.planning.priors import PRIORS  # noqa: E402
from engine.rendering.pictograms import (  # noqa: E402
    FALLBACK, MANIFEST, PICTOGRAM_DIR, SPRITE_PX, file_name)

# The tagger's noun map as built by resources/tagger/make_nouns.py (nouns, and the families with
# their members from the AudioSet ontology): the one list of what the tagger can name.
_TAGGER_NOUNS = json.loads((ROOT / "resources" / "tagger" / "audioset_nouns.json").read_text())
NOUNS: dict[str, str | None] = _TAGGER_NOUNS["nouns"]
GENERIC: dict[str, list[str]] = _TAGGER_NOUNS["generic"]

PACKAGE = "@iconify-json/fluent-emoji-flat"
VERSION = "1.2.6"
CACHE = Path.home() / ".cache" / "spa2v" / "pictograms"

# noun -> (emoji name in the package, which way the drawing faces: "left", "right" or "front").
# Facing was read off the rendered contact sheet (--sheet: where the head, bonnet, bow or
# muzzle is; round 11 found dog, motorcycle, bicycle, ship, bug, snake and pistol read the
# wrong way round and corrected them); the renderer mirrors a sprite so
# that a thing moving right to left faces left.
# Emoji drawn climbing at 45 degrees, turned level (degrees clockwise) so they fly across.
# Turned, a drawing along its square's diagonal is longer than the square's side: the jet's
# nose was cut off straight at the sprite's edge. A turned drawing is shrunk, by the largest
# of FIT_SCALES that keeps it off the edge (rendered and checked, see fitted_png).
ROTATE = {"airplane": 45, "small-airplane": 45}
FIT_SCALES = (1.0, 0.97, 0.94, 0.91, 0.88, 0.85, 0.82, 0.79, 0.76, 0.73, 0.707)
EMOJI: dict[str, tuple[str, str]] = {
    # vehicles
    "car": ("automobile", "left"), "vehicle": ("automobile", "left"),
    "traffic": ("automobile", "left"), "race car": ("racing-car", "left"),
    "truck": ("delivery-truck", "left"), "ice cream truck": ("delivery-truck", "left"),
    "fire truck": ("fire-engine", "left"), "police car": ("police-car", "left"),
    "ambulance": ("ambulance", "left"), "bus": ("bus", "left"),
    "motorcycle": ("motorcycle", "left"), "bicycle": ("bicycle", "left"),
    "skateboard": ("skateboard", "front"), "train": ("locomotive", "left"),
    "subway": ("metro", "front"), "airplane": ("small-airplane", "right"),
    "jet": ("airplane", "right"), "helicopter": ("helicopter", "left"),
    "boat": ("motor-boat", "left"), "motorboat": ("motor-boat", "left"),
    "sailboat": ("sailboat", "front"), "rowboat": ("canoe", "front"), "ship": ("ship", "left"),
    "engine": ("gear", "front"), "siren": ("police-car-light", "front"),
    # animals
    "animal": ("paw-prints", "front"), "dog": ("dog", "left"), "cat": ("cat", "left"),
    "wolf": ("wolf", "front"),
    "horse": ("horse", "left"), "cow": ("cow", "left"), "pig": ("pig", "left"),
    "goat": ("goat", "left"), "sheep": ("ewe", "left"), "chicken": ("chicken", "left"),
    "rooster": ("rooster", "left"), "turkey": ("turkey", "left"), "duck": ("duck", "left"),
    "goose": ("goose", "left"), "lion": ("lion", "front"), "bird": ("bird", "left"),
    "pigeon": ("dove", "left"), "crow": ("blackbird", "left"), "owl": ("owl", "front"),
    "mouse": ("mouse", "left"), "insect": ("bug", "left"), "cricket": ("cricket", "left"),
    "mosquito": ("mosquito", "left"), "fly": ("fly", "front"), "bee": ("honeybee", "left"),
    "frog": ("frog", "front"), "snake": ("snake", "left"), "whale": ("spouting-whale", "left"),
    # people
    "person": ("person-standing", "front"), "child": ("child", "front"),
    "footsteps": ("footprints", "front"),
    "baby": ("baby", "front"), "singer": ("singer", "front"),
    "choir": ("busts-in-silhouette", "front"), "crowd": ("busts-in-silhouette", "front"),
    # instruments
    "instrument": ("musical-notes", "front"), "guitar": ("guitar", "front"),
    "banjo": ("banjo", "front"), "sitar": ("guitar", "front"), "mandolin": ("guitar", "front"),
    "ukulele": ("guitar", "front"), "zither": ("guitar", "front"),
    "keyboard": ("musical-keyboard", "front"), "piano": ("musical-keyboard", "front"),
    "organ": ("musical-keyboard", "front"), "harpsichord": ("musical-keyboard", "front"),
    "synthesizer": ("control-knobs", "front"), "drum machine": ("control-knobs", "front"),
    "drum": ("drum", "front"), "tabla": ("long-drum", "front"), "steel drum": ("drum", "front"),
    "cymbal": ("drum", "front"), "tambourine": ("drum", "front"),
    "didgeridoo": ("long-drum", "front"), "maracas": ("maracas", "front"),
    "gong": ("bell", "front"), "xylophone": ("musical-notes", "front"),
    "glockenspiel": ("musical-notes", "front"), "vibraphone": ("musical-notes", "front"),
    "trumpet": ("trumpet", "front"), "trombone": ("trumpet", "front"),
    "french horn": ("postal-horn", "front"), "shofar": ("postal-horn", "front"),
    "violin": ("violin", "front"), "cello": ("violin", "front"),
    "double bass": ("violin", "front"), "flute": ("flute", "front"),
    "clarinet": ("flute", "front"), "saxophone": ("saxophone", "front"),
    "harp": ("musical-score", "front"), "harmonica": ("musical-notes", "front"),
    "accordion": ("accordion", "front"), "bagpipes": ("musical-notes", "front"),
    "orchestra": ("musical-score", "front"), "theremin": ("musical-notes", "front"),
    "tuning fork": ("musical-note", "front"), "singing bowl": ("bell", "front"),
    "turntable": ("optical-disk", "front"),
    # water and weather
    "water": ("droplet", "front"), "rain": ("cloud-with-rain", "front"),
    "stream": ("water-wave", "front"), "waterfall": ("water-wave", "front"),
    "ocean": ("water-wave", "front"), "faucet": ("potable-water", "front"),
    "sink": ("potable-water", "front"), "bathtub": ("bathtub", "front"),
    "toilet": ("toilet", "front"), "thunder": ("cloud-with-lightning", "front"),
    "thunderstorm": ("cloud-with-lightning-and-rain", "front"), "wind": ("wind-face", "front"),
    "fire": ("fire", "front"), "volcano": ("volcano", "front"), "tree": ("deciduous-tree", "front"),
    # tools and machines
    "tool": ("toolbox", "front"), "hammer": ("hammer", "front"),
    "jackhammer": ("hammer-and-pick", "front"), "saw": ("carpentry-saw", "front"),
    "chainsaw": ("carpentry-saw", "front"), "sander": ("toolbox", "front"),
    "file": ("toolbox", "front"), "power tool": ("hammer-and-wrench", "front"),
    "drill": ("hammer-and-wrench", "front"), "wrench": ("wrench", "front"),
    "lawn mower": ("tractor", "left"), "machine": ("gear", "front"), "pump": ("fuel-pump", "front"),
    "sewing machine": ("sewing-needle", "front"), "printer": ("printer", "front"),
    "typewriter": ("memo", "front"), "computer": ("desktop-computer", "front"),
    "television": ("television", "front"), "radio": ("radio", "front"),
    "phone": ("mobile-phone", "front"), "camera": ("camera-with-flash", "front"),
    "air conditioner": ("snowflake", "front"), "fan": ("wind-face", "front"),
    "hair dryer": ("wind-face", "front"), "vacuum cleaner": ("broom", "front"),
    "blender": ("cup-with-straw", "front"), "microwave": ("timer-clock", "front"),
    "shaver": ("razor", "front"), "toothbrush": ("toothbrush", "front"),
    # alarms, bells and clocks
    "alarm": ("police-car-light", "front"), "smoke alarm": ("police-car-light", "front"),
    "alarm clock": ("alarm-clock", "front"), "clock": ("mantelpiece-clock", "front"),
    "bell": ("bell", "front"), "church bell": ("bell", "front"), "doorbell": ("bell", "front"),
    "buzzer": ("bellhop-bell", "front"), "chime": ("wind-chime", "front"),
    "wind chime": ("wind-chime", "front"), "foghorn": ("postal-horn", "front"),
    "whistle": ("musical-note", "front"),
    # household things
    "door": ("door", "front"), "cupboard": ("file-cabinet", "front"),
    "drawer": ("file-cabinet", "front"), "cutlery": ("fork-and-knife", "front"),
    "dishes": ("fork-and-knife-with-plate", "front"), "spoon": ("spoon", "front"),
    "knife": ("kitchen-knife", "front"), "pot": ("pot-of-food", "front"),
    "frying pan": ("cooking", "front"), "glass": ("wine-glass", "front"),
    "keys": ("key", "front"), "coin": ("coin", "front"), "cash register": ("receipt", "front"),
    "paper": ("page-with-curl", "front"), "pen": ("pen", "front"), "scissors": ("scissors", "front"),
    "zipper": ("jeans", "front"), "cards": ("joker", "front"), "ball": ("soccer-ball", "front"),
    "basketball": ("basketball", "front"), "whip": ("curly-loop", "front"),
    "wood block": ("wood", "front"),
    # bangs
    "explosion": ("collision", "front"), "gun": ("water-pistol", "left"),
    "cannon": ("bomb", "front"), "fireworks": ("fireworks", "front"),
    # anything else
    FALLBACK: ("speaker-high-volume", "front"),
}

LICENCE = """Pictograms in this folder: Fluent Emoji (flat style) by Microsoft Corporation,
https://github.com/microsoft/fluentui-emoji, from the npm package {package}@{version}
(Iconify's packaging of the same SVGs). Rendered to PNG by scripts/build_pictograms.py.
Licence: MIT, reproduced below.

MIT License

Copyright (c) Microsoft Corporation.

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def wanted_nouns() -> list[str]:
    """Every noun a layout from the built-in planner can carry, plus the fallback."""
    nouns = set(NOUNS.values()) - {None}
    nouns |= set(GENERIC)
    nouns |= {k for k in PRIORS if k != "default"}
    return sorted(nouns) + [FALLBACK]


def family_of(noun: str) -> str | None:
    """The first tagger family (vehicle, animal, ...) that lists the noun, or the noun's own
    family name when it is a generic noun."""
    if noun in GENERIC:
        return noun
    return next((g for g, members in GENERIC.items() if noun in members), None)


def fetch_package() -> dict:
    """icons.json of the npm package, fetched once into the cache with ``npm pack``."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"iconify-json-fluent-emoji-flat-{VERSION}.tgz"
    if not tarball.exists():
        subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(CACHE)],
                       check=True, capture_output=True)
    with tarfile.open(tarball) as tar:
        info = json.load(tar.extractfile("package/info.json"))
        icons = json.load(tar.extractfile("package/icons.json"))
    if info["license"]["spdx"] != "MIT":
        raise SystemExit(f"{PACKAGE}@{VERSION} is not MIT any more: {info['license']}")
    return icons


def svg_of(icons: dict, name: str, scale: float = 1.0) -> str:
    """A standalone SVG document for icon ``name`` (aliases resolved, flips applied)."""
    flip = False
    while name not in icons["icons"]:
        alias = icons.get("aliases", {}).get(name)
        if alias is None:
            raise SystemExit(f"no emoji named {name!r} in {PACKAGE}")
        flip ^= bool(alias.get("hFlip"))
        name = alias["parent"]
    icon = icons["icons"][name]
    w, h = icon.get("width", icons.get("width", 32)), icon.get("height", icons.get("height", 32))
    body = icon["body"]
    if name in ROTATE:
        body = (f'<g transform="translate({w / 2} {h / 2}) scale({scale}) '
                f'translate({-w / 2} {-h / 2}) rotate({ROTATE[name]} {w / 2} {h / 2})">{body}</g>')
    if flip:
        body = f'<g transform="translate({w} 0) scale(-1 1)">{body}</g>'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" '
            f'width="{SPRITE_PX}" height="{SPRITE_PX}">{body}</svg>')


def render_png(svg: str) -> bytes:
    import cairosvg

    return cairosvg.svg2png(bytestring=svg.encode(), output_width=SPRITE_PX,
                            output_height=SPRITE_PX)


def touches_edge(png: bytes) -> bool:
    """Whether the drawing's opaque pixels reach the picture's edge (it was cut off there)."""
    import cv2
    import numpy as np

    alpha = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)[..., 3]
    return max(alpha[0].max(), alpha[-1].max(), alpha[:, 0].max(), alpha[:, -1].max()) > 0


def fitted_png(icons: dict, emoji: str) -> bytes:
    """The emoji rendered; a turned one (ROTATE) at the largest of FIT_SCALES that keeps it
    whole (1/sqrt(2), the last, always does)."""
    if emoji not in ROTATE:
        return render_png(svg_of(icons, emoji))
    for scale in FIT_SCALES:
        png = render_png(svg_of(icons, emoji, scale))
        if not touches_edge(png):
            return png
    return png


def contact_sheet(paths: list[tuple[str, Path]], out: Path) -> None:
    import cv2
    import numpy as np

    cell, cols = 96, 12
    rows = -(-len(paths) // cols)
    sheet = np.full((rows * (cell + 14), cols * cell, 3), 235, np.uint8)
    for k, (noun, path) in enumerate(paths):
        rgba = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        rgba = cv2.resize(rgba, (cell - 16, cell - 16), interpolation=cv2.INTER_AREA)
        a = rgba[..., 3:4].astype(np.float32) / 255
        y, x = (k // cols) * (cell + 14), (k % cols) * cell
        patch = sheet[y + 2:y + cell - 14, x + 8:x + cell - 8]
        patch[:] = (patch * (1 - a) + rgba[..., :3] * a).astype(np.uint8)
        cv2.putText(sheet, noun[:14], (x + 2, y + cell + 6), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                    (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(out), sheet)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheet", type=Path, help="also write a contact sheet of every noun")
    args = parser.parse_args(argv)
    nouns = wanted_nouns()
    missing = [n for n in nouns if n not in EMOJI]
    if missing:
        raise SystemExit(f"no emoji chosen for: {', '.join(missing)} (add them to EMOJI)")
    icons = fetch_package()
    PICTOGRAM_DIR.mkdir(parents=True, exist_ok=True)
    for old in PICTOGRAM_DIR.glob("*.png"):
        old.unlink()
    rendered: dict[str, str] = {}
    entries, sheet = {}, []
    for noun in nouns:
        emoji, faces = EMOJI[noun]
        name = file_name(emoji)
        if emoji not in rendered:
            png = fitted_png(icons, emoji)
            (PICTOGRAM_DIR / name).write_bytes(png)
            rendered[emoji] = name
        entries[noun] = {"file": name, "emoji": emoji, "faces": faces, "family": family_of(noun)}
        sheet.append((noun, PICTOGRAM_DIR / name))
    manifest = {
        "schema": "spa2v.pictograms/1",
        "about": "Noun -> pictogram. Written by scripts/build_pictograms.py; edit that script.",
        "source": f"{PACKAGE}@{VERSION} (Fluent Emoji flat, Microsoft, MIT)",
        "sprite_px": SPRITE_PX,
        "nouns": entries,
    }
    (PICTOGRAM_DIR / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (PICTOGRAM_DIR / "LICENCE.txt").write_text(
        LICENCE.format(package=PACKAGE, version=VERSION), encoding="utf-8")
    if args.sheet:
        contact_sheet(sheet, args.sheet)
    size = sum(p.stat().st_size for p in PICTOGRAM_DIR.glob("*.png"))
    print(f"wrote {len(rendered)} pictograms for {len(entries)} nouns into {PICTOGRAM_DIR} "
          f"({size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
