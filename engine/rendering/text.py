"""Text on the preview's pictures (object names), in any script.

OpenCV's Hershey fonts draw ASCII and a few alphabets (Latin-1, Cyrillic, Hebrew, Arabic): a
source named "σκύλος", "犬" or "कुत्ता" came out as "??????", "?" or "??????". Names are drawn
with TrueType fonts through Pillow (FreeType) instead:

* the bundled DejaVu Sans Bold (``resources/fonts/``, its licence beside it; bold, as the
  Hershey labels were, and as readable at 15 px over a busy backdrop) draws Latin, Greek,
  Cyrillic, Armenian, Georgian, Hebrew, Arabic and most symbols on every machine;
* for scripts it lacks (Chinese, Japanese, Korean, Devanagari, Thai...) the system's fonts
  are asked: fontconfig's list (``fc-list``) where there is one, else the usual font folders.
  Which characters a font has is read from its own character map (``cmap`` table), so a font
  is only used for the characters it really draws. A name is drawn in one font where one
  has all of its characters, else each run of characters in the first font that has them;
* characters no font has are drawn as the bundled font's empty box, and
  :func:`missing_note` says once, in one line, which they are and what to install.

A name is laid out once into a premultiplied sprite (white letters, a one-pixel dark outline)
and cached, so a frame costs a blend of a few hundred pixels per name. Pillow is imported
only when a name is drawn (exported videos have none by default).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

FONT_DIR = Path(__file__).resolve().parents[2] / "resources" / "fonts"
BUNDLED_FONT = FONT_DIR / "DejaVuSans-Bold.ttf"
LABEL_PX = 15          # design: the size and weight of the Hershey labels it replaced (bold)
OUTLINE_PX = 1         # design: the dark rim that keeps white letters readable on any backdrop,
                       # at LABEL_PX; larger letters get a rim in proportion (outline_px)
FILL = 255
OUTLINE = 20
ELLIPSIS = "..."
# Where fonts live when fontconfig is not there to say (Linux, macOS, Windows).
FONT_FOLDERS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
                "/Library/Fonts", "/System/Library/Fonts", "~/Library/Fonts",
                os.path.join(os.environ.get("WINDIR", r"C:\Windows"), "Fonts"))
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
# A FreeType face is not safe to use from two threads at once, and the studio draws names on
# its window thread while a render with names runs on a worker: one drawer at a time.
_FREETYPE = threading.RLock()


@dataclass(frozen=True)
class FontFace:
    """One face of a font file (``index``: its place in a .ttc collection)."""

    path: str
    index: int = 0


# ------------------------------------------------------------------------------ which font


@lru_cache(maxsize=None)
def characters(face: FontFace) -> frozenset[int]:
    """The code points ``face`` has a glyph for, from its cmap table (empty if the file is
    missing or unreadable: such a font is simply not used)."""
    try:
        return frozenset(_read_cmap(face.path, face.index))
    except (OSError, struct.error, ValueError, IndexError):
        return frozenset()


def _read_cmap(path: str, index: int) -> set[int]:
    with open(path, "rb") as f:
        start = 0
        if f.read(4) == b"ttcf":
            f.seek(12 + 4 * index)
            (start,) = struct.unpack(">I", f.read(4))
        f.seek(start + 4)
        (count,) = struct.unpack(">H", f.read(2))
        f.seek(start + 12)
        tables = f.read(16 * count)
        for k in range(count):
            tag, _, offset, length = struct.unpack(">4sIII", tables[16 * k:16 * k + 16])
            if tag == b"cmap":
                f.seek(offset)
                cmap = f.read(length)
                break
        else:
            raise ValueError(f"{path}: no cmap table")
    _, n = struct.unpack(">HH", cmap[:4])
    found: set[int] = set()
    for k in range(n):
        platform, encoding, offset = struct.unpack(">HHI", cmap[4 + 8 * k:12 + 8 * k])
        if platform == 0 or (platform == 3 and encoding in (1, 10)):  # the Unicode subtables
            (fmt,) = struct.unpack(">H", cmap[offset:offset + 2])
            if fmt == 4:
                found |= _format4(cmap, offset)
            elif fmt == 12:
                found |= _format12(cmap, offset)
    return found


def _format4(cmap: bytes, at: int) -> set[int]:
    segs = struct.unpack(">H", cmap[at + 6:at + 8])[0] // 2
    arr = lambda k: np.frombuffer(cmap, ">u2", segs, at + 14 + k * 2 * segs + (2 if k else 0))
    ends, starts, deltas, ranges = arr(0), arr(1), arr(2).astype(np.int64), arr(3)
    ranges_at = at + 16 + 6 * segs
    out: set[int] = set()
    for s in range(segs):
        lo, hi = int(starts[s]), int(ends[s])
        if lo == 0xFFFF:
            continue
        codes = np.arange(lo, hi + 1)
        if ranges[s] == 0:
            glyphs = (codes + deltas[s]) & 0xFFFF
        else:  # the glyph ids are read from glyphIdArray, 0 (none) kept as 0
            where = ranges_at + 2 * s + int(ranges[s]) + 2 * (codes - lo)
            raw = np.array([struct.unpack_from(">H", cmap, int(w))[0] if w + 2 <= len(cmap)
                            else 0 for w in where], np.int64)
            glyphs = np.where(raw != 0, (raw + deltas[s]) & 0xFFFF, 0)
        out.update(codes[glyphs != 0].tolist())
    return out


def _format12(cmap: bytes, at: int) -> set[int]:
    (groups,) = struct.unpack(">I", cmap[at + 12:at + 16])
    out: set[int] = set()
    for g in range(groups):
        lo, hi, glyph = struct.unpack(">III", cmap[at + 16 + 12 * g:at + 28 + 12 * g])
        out.update(range(lo + (glyph == 0), hi + 1))
    return out


@lru_cache(maxsize=256)
def system_faces(wanted: frozenset[int]) -> tuple[FontFace, ...]:
    """The machine's faces that have every character of ``wanted``, upright bold sans-serif
    faces first (the bundled face's look), then regular ones: fontconfig answers from its cache where it is installed (``fc-list
    :charset=...``), else each font in the usual folders is read."""
    listed = _fontconfig_faces(wanted)
    if listed is None:
        listed = [(face, name) for face, name in _folder_faces() if wanted <= characters(face)]
    ranked = sorted(listed, key=lambda f: (_preference(f[1]), f[0].path, f[0].index))
    return tuple(dict.fromkeys(face for face, _ in ranked
                               if Path(face.path).suffix.lower() in FONT_SUFFIXES))


def _fontconfig_faces(wanted: frozenset[int]) -> list[tuple[FontFace, str]] | None:
    """fontconfig's faces with all of ``wanted``, with their family and style; ``None`` when
    there is no fontconfig to ask."""
    if not shutil.which("fc-list"):
        return None
    pattern = ":charset=" + " ".join(f"{c:x}" for c in sorted(wanted))
    try:
        out = subprocess.run(["fc-list", "--format", "%{file}\t%{index}\t%{family[0]} %{style[0]}\n",
                              pattern], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    faces = []
    for line in out.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1].isdigit():
            faces.append((FontFace(parts[0], int(parts[1])), parts[2]))
    return faces


@lru_cache(maxsize=1)
def _folder_faces() -> tuple[tuple[FontFace, str], ...]:
    found = []
    for folder in FONT_FOLDERS:
        for dirpath, _, names in os.walk(os.path.expanduser(folder)):
            found += [(FontFace(os.path.join(dirpath, n)), n) for n in sorted(names)
                      if n.lower().endswith(FONT_SUFFIXES)]
    return tuple(found)


def _preference(name: str) -> tuple[int, ...]:
    """Sort key of a face by its family and style words: upright bold sans first."""
    n = name.lower().replace("-", " ")
    slanted = any(w in n for w in ("italic", "oblique"))
    # the bundled face's weight first, then regular ones
    weight = 0 if "bold" in n and "semi" not in n and "extra" not in n else 2 if any(
        w in n for w in ("black", "heavy", "light", "thin", "condensed")) else 1
    return slanted, weight, "mono" in n, "serif" in n.replace("sans serif", ""), "sans" not in n


def bundled_face() -> FontFace | None:
    """The font shipped with the app (``None`` if an install lost it: the system's are used)."""
    return FontFace(str(BUNDLED_FONT)) if BUNDLED_FONT.is_file() else None


def _needs_glyph(ch: str) -> bool:
    # spaces and invisible format marks (RTL/LTR marks, joiners) draw nothing either way
    return not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")


def _face_for(wanted: frozenset[int]) -> FontFace | None:
    bundled = bundled_face()
    if bundled is not None and wanted <= characters(bundled):
        return bundled
    return next(iter(system_faces(wanted)), None)


@lru_cache(maxsize=512)
def runs(text: str) -> tuple[tuple[str, FontFace | None], ...]:
    """``text`` cut into runs, each with the face that draws it: the bundled face where it has
    every character, else one system face that has them all, else each character in the first
    face that has it (``None`` where no face has it)."""
    wanted = frozenset(ord(c) for c in text if _needs_glyph(c))
    whole = _face_for(wanted)
    if whole is not None or not wanted:
        return ((text, whole or bundled_face()),) if text else ()
    out: list[tuple[str, FontFace | None]] = []
    for c in text:
        face = out[-1][1] if out and not _needs_glyph(c) else _face_for(frozenset({ord(c)}))
        if out and out[-1][1] == face:
            out[-1] = (out[-1][0] + c, face)
        else:
            out.append((c, face))
    return tuple(out)


def missing(text: str) -> str:
    """The characters of ``text`` that no font here can draw, each once, in order."""
    return "".join(dict.fromkeys(c for run, face in runs(text) if face is None
                                 for c in run if _needs_glyph(c)))


def missing_note(texts) -> str | None:
    """One line for the user when some names have characters no font here draws: which, and
    what to install; ``None`` when every character has a font."""
    chars = "".join(dict.fromkeys("".join(missing(t) for t in texts)))
    if not chars:
        return None
    cjk = any(unicodedata.name(c, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))
              for c in chars)
    package = "fonts-noto-cjk" if cjk else "fonts-noto-core"
    return (f"No font on this machine draws {' '.join(chars)} (in the object names): they show "
            f"as empty boxes. Install a font that has them (Debian/Ubuntu: sudo apt install "
            f"{package}).")


# ------------------------------------------------------------------------------ drawing


@lru_cache(maxsize=None)
def _font(face: FontFace | None, px: int):
    from PIL import ImageFont

    if face is not None:
        try:
            return ImageFont.truetype(face.path, px, index=face.index)
        except OSError:  # listed but gone or unreadable: the next best
            pass
    bundled = bundled_face()
    if bundled is not None and bundled != face:
        try:
            return ImageFont.truetype(bundled.path, px)
        except OSError:
            pass
    return ImageFont.load_default(px)  # Pillow's own (Latin) face: no font file at all


def outline_px(px: int) -> int:
    """The dark rim's width around letters ``px`` high: OUTLINE_PX at LABEL_PX, in proportion
    above (a one-pixel rim around 32 px letters in a 1080p video is a hairline)."""
    return max(OUTLINE_PX, int(round(OUTLINE_PX * px / LABEL_PX)))


def _drawn_runs(text: str, px: int):
    # a character no face has is drawn by the bundled face: its empty box
    return [(run, _font(face if face is not None else bundled_face(), px))
            for run, face in runs(text)]


def text_width(text: str, px: int = LABEL_PX) -> int:
    """Width in pixels of ``text`` as :func:`label_sprite` draws it, outline included."""
    with _FREETYPE:
        return int(np.ceil(sum(f.getlength(r) for r, f in _drawn_runs(text, px)))) + 2 * outline_px(px)


@lru_cache(maxsize=256)
def fitted(text: str, width: int, px: int = LABEL_PX) -> str:
    """``text``, cut at the end with "..." where it is wider than ``width`` pixels."""
    if text_width(text, px) <= width:
        return text
    while text and text_width(text.rstrip() + ELLIPSIS, px) > width:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


@lru_cache(maxsize=256)
def label_sprite(text: str, px: int = LABEL_PX) -> tuple[np.ndarray, np.ndarray, int]:
    """``text`` in white with a dark outline: premultiplied colour and how much of the
    background shows through (both uint8 ``(h, w, 3)``, as ``preview._blend`` takes them), and
    the row of the baseline."""
    from PIL import Image, ImageDraw

    parts = _drawn_runs(text, px)
    with _FREETYPE:
        ascent = max([f.getmetrics()[0] for _, f in parts] + [px])
        descent = max([f.getmetrics()[1] for _, f in parts] + [1])
    edge = outline_px(px)
    pad = edge + 1  # a letter may reach a pixel past its advance (its side bearings)
    w = text_width(text, px) - 2 * edge + 2 * pad
    h = ascent + descent + 2 * pad
    base = ascent + pad
    ink = Image.new("L", (w, h))
    x = float(pad)
    with _FREETYPE:
        for run, font in parts:
            ImageDraw.Draw(ink).text((x, base), run, font=font, fill=255, anchor="ls")
            x += font.getlength(run)
    # the rim: the letters grown by outline_px every way (a solid dark edge that hugs each letter;
    # FreeType's stroker gave a thinner, greyer one)
    size = 2 * edge + 1
    rim = cv2.dilate(np.asarray(ink, np.uint8), np.ones((size, size), np.uint8))
    a = rim.astype(np.uint16)
    i = np.minimum(np.asarray(ink, np.uint16), a)
    colour = ((i * FILL + (a - i) * OUTLINE + 127) // 255).astype(np.uint8)
    keep = (255 - a).astype(np.uint8)
    return (np.repeat(colour[..., None], 3, axis=2), np.repeat(keep[..., None], 3, axis=2), base)


if __name__ == "__main__":  # python -m engine.rendering.text "犬" : which font draws what
    for arg in sys.argv[1:]:
        print(arg, [(r, f.path if f else None) for r, f in runs(arg)], missing_note([arg]))
