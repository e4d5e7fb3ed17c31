"""Object names in the preview are drawn in their own script (engine/rendering/text.py).

OpenCV's Hershey font drew ASCII (and a few other letters) only: a source named "σκύλος" or
"犬" came out as "??????" or "?" on the card."""

from __future__ import annotations

import numpy as np
import pytest

from engine.jobs import CancelToken, Log
from engine.layout import Layout, LayoutObject
from engine.protocols import Frame, RenderSettings
from engine.rendering import preview, text

CACHED = (text.characters, text.system_faces, text._folder_faces, text.runs, text._font,
          text.fitted, text.label_sprite)


@pytest.fixture(autouse=True)
def fresh_fonts():
    """Each test finds its fonts anew (and leaves no monkeypatched answer in the caches)."""
    for f in CACHED:
        f.cache_clear()
    yield
    for f in CACHED:
        f.cache_clear()


def drawn(name: str, width: int = 256) -> np.ndarray:
    canvas = np.full((48, width, 3), 90, np.uint8)
    preview._label(canvas, name, width // 2, 8)
    return canvas


def ink(canvas: np.ndarray) -> np.ndarray:
    """Where the white letters are."""
    return canvas.min(axis=2) > 200


def no_system_fonts(monkeypatch):
    monkeypatch.setattr(text, "_fontconfig_faces", lambda wanted: [])


def has_system_font(ch: str) -> bool:
    return bool(text.system_faces(frozenset({ord(ch)})))


@pytest.mark.parametrize("name", ["σκύλος", "собака", "çocuk", "ærø", "hund"])
def test_a_name_is_drawn_in_its_own_letters_not_question_marks(name):
    letters, marks = ink(drawn(name)), ink(drawn("?" * len(name)))
    assert letters.sum() > 20 * len(name) // 2
    assert (letters != marks).sum() > 30
    # and the letters are these letters: another word of the script looks different
    assert (letters != ink(drawn(name[::-1]))).sum() > 30


def test_the_bundled_font_has_the_scripts_it_is_said_to_have():
    face = text.bundled_face()
    assert face is not None and face.path.endswith("DejaVuSans-Bold.ttf")
    has = text.characters(face)
    for ch in "aZçæøßσΩжЖכלבكلب€":
        assert ord(ch) in has, ch
    assert ord("犬") not in has and ord("क") not in has


def test_a_chinese_name_is_drawn_with_a_system_font_when_there_is_one():
    if not has_system_font("犬"):
        pytest.skip("no CJK font on this machine (Debian: apt install fonts-noto-cjk)")
    (run, face), = text.runs("犬")
    assert face is not None and face != text.bundled_face()
    assert text.missing("a 犬 dog") == ""
    dog, marks = ink(drawn("犬")), ink(drawn("?"))
    assert dog.sum() > 20 and (dog != marks).sum() > 20
    assert (dog != ink(drawn("猫"))).sum() > 10


def test_characters_no_font_has_are_said_once_with_what_to_install(monkeypatch):
    no_system_fonts(monkeypatch)
    assert text.missing("a 犬 and a 犬") == "犬"
    note = text.missing_note(["犬", "a dog", "कुत्ता"])
    assert note.count("\n") == 0 and "犬" in note and "क" in note
    assert "fonts-noto-cjk" in note
    assert "fonts-noto-core" in text.missing_note(["कुत्ता"])
    assert text.missing_note(["a dog", "собака", ""]) is None
    # what can be drawn is drawn: the Latin words around it, and a box for the character
    assert ink(drawn("a 犬 dog")).sum() > ink(drawn("a dog")).sum()

    obj = LayoutObject(1, "犬", "a dog", "static", 0.9, [(0.3, 0.3, 0.6, 0.7)] * 4)
    layout = Layout(duration_s=2.0, num_frames=4, fps=2.0, objects=[obj])
    events = list(preview.PreviewRenderer().render(layout, RenderSettings(fps=4, labels=True),
                                                   CancelToken()))
    warnings = [e for e in events if isinstance(e, Log) and e.level == "warning"]
    assert [w.message for w in warnings] == [text.missing_note(["犬"])]
    assert sum(isinstance(e, Frame) for e in events) == 8
    quiet = preview.PreviewRenderer().render(layout, RenderSettings(fps=4), CancelToken())
    assert not [e for e in quiet if isinstance(e, Log)]  # no names drawn, nothing to say


def test_without_the_bundled_font_names_still_draw(monkeypatch, tmp_path):
    # an install that lost resources/fonts: the system's fonts, else Pillow's own face
    monkeypatch.setattr(text, "BUNDLED_FONT", tmp_path / "gone.ttf")
    assert text.bundled_face() is None
    assert ink(drawn("a dog")).sum() > 20
    if has_system_font("σ"):
        assert text.missing("σκύλος") == "" and ink(drawn("σκύλος")).sum() > 20
    no_system_fonts(monkeypatch)
    for f in CACHED:
        f.cache_clear()
    assert ink(drawn("a dog")).sum() > 20  # Pillow's built-in face


def test_a_listed_font_file_that_is_gone_is_passed_over(monkeypatch, tmp_path):
    gone = text.FontFace(str(tmp_path / "Gone Sans Bold.ttf"))
    monkeypatch.setattr(text, "_fontconfig_faces", lambda wanted: [(gone, "Gone Sans Bold")])
    assert text.characters(gone) == frozenset()
    assert ink(drawn("犬")).sum() > 0  # the bundled face's box, no error


def test_without_fontconfig_the_font_folders_are_read(monkeypatch):
    monkeypatch.setattr(text, "_fontconfig_faces", lambda wanted: None)
    faces = text.system_faces(frozenset({ord("a"), ord("σ")}))
    if not text._folder_faces():
        pytest.skip("no fonts in the usual folders")
    assert faces and all({ord("a"), ord("σ")} <= text.characters(f) for f in faces)


@pytest.mark.parametrize("name", ["כלב", "كلب", "a כלב dog", "\u200fكلب\u200f", "犬 كلب"])
def test_right_to_left_names_draw(name):
    assert ink(drawn(name)).sum() > 10


def test_a_long_name_in_another_script_is_shortened_to_fit():
    name = "очень длинное имя для собаки, которая лает громко"
    short = text.fitted(name, 120)
    assert short.endswith("...") and text.text_width(short) <= 120
    canvas = drawn(name, width=128)
    cols = np.flatnonzero((np.abs(canvas.astype(int) - 90).sum(axis=2) > 30).any(axis=0))
    assert cols[0] >= preview.LABEL_MARGIN - 1 and cols[-1] <= 128 - preview.LABEL_MARGIN
