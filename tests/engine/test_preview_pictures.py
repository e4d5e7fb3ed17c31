"""The preview renderer's pictures: pictograms per noun, facing, scenes, loudness, labels."""

import json

import cv2

import numpy as np
import pytest

from engine.cues.types import Cues, SourceTrack
from engine.layout import Layout, LayoutObject
from engine.planning.priors import PRIORS
from engine.rendering import preview, text
from engine.rendering.activity import (ActivityMeter, attach_loudness, loudness_track,
                                       own_levels)
from engine.rendering.backdrops import SKY_LINE, WEATHER_SIDE, scene_for
from engine.rendering.pictograms import FALLBACK, PICTOGRAM_DIR, noun_for, pictogram

TAGGER = json.loads((PICTOGRAM_DIR.parent / "tagger" / "audioset_nouns.json").read_text())


def moving(label, motion, n=8, duration=4.0, y=(0.45, 0.75), loudness=None):
    if motion == "right_to_left":
        xs = np.linspace(0.75, 0.25, n)
    elif motion == "left_to_right":
        xs = np.linspace(0.25, 0.75, n)
    else:
        xs = np.full(n, 0.5)
    boxes = [(x - 0.15, y[0], x + 0.15, y[1]) for x in xs]
    obj = LayoutObject(1, label, f"a {label}", motion, 0.9, boxes)
    if loudness is not None:
        obj.extra["loudness_db"] = list(loudness)
    return Layout(duration_s=duration, num_frames=n, fps=n / duration, caption="",
                  background="", objects=[obj])


def test_every_noun_the_planner_can_name_has_a_picture():
    nouns = {v for v in TAGGER["nouns"].values() if v} | set(TAGGER["generic"])
    nouns |= {k for k in PRIORS if k != "default"}
    for noun in sorted(nouns):
        assert noun_for(noun) == noun, noun
        pic = pictogram(noun)
        assert pic.rgba.shape[2] == 4 and pic.rgba[..., 3].max() == 255, noun
    assert pictogram("vehicle").family == "vehicle"
    assert pictogram("truck").family == "vehicle"


@pytest.mark.parametrize("label, noun", [("a big red car", "car"), ("dogs", "dog"),
                                         ("Police Car", "police car"), ("a zorb", FALLBACK),
                                         ("", FALLBACK)])
def test_labels_find_their_noun(label, noun):
    assert noun_for(label) == noun


# A hint in everyday words ("a man", "a plane", "children") was drawn as the loudspeaker,
# though a picture of the thing exists.
@pytest.mark.parametrize("label, noun", [
    ("a man", "person"), ("two women", "person"), ("children", "child"), ("a plane", "airplane"),
    ("a lorry", "truck"), ("motorbikes", "motorcycle"), ("geese", "goose"), ("mice", "mouse"),
    ("a puppy", "dog"), ("seagulls", "bird"), ("the telephone", "phone"),
    ("a tractor", "lawn mower"),
    ("the sea", "ocean"), ("drums", "drum"), ("a big red car", "car"),
])
def test_everyday_words_get_the_picture_of_their_thing(label, noun):
    assert noun_for(label) == noun


def test_every_alias_names_a_picture():
    from engine.rendering.pictograms import ALIASES, known_nouns

    assert set(ALIASES.values()) <= set(known_nouns())
    assert not set(ALIASES) & set(known_nouns())  # a noun of its own is never redirected


def _looks_mirrored(layout, t) -> bool:
    """Whether the object in the frame looks more like the mirrored sprite than the stored one."""
    backdrop = np.zeros((256, 256, 3), np.uint8)
    frame = preview.draw_frame(layout, t, backdrop, labels=False)[:256].astype(np.float32)
    mask = frame.sum(axis=2) > 0
    ys, xs = np.nonzero(mask)
    crop = frame[ys.min():ys.max() + 1, xs.min():xs.max() + 1].mean(axis=2)
    pic = pictogram(layout.objects[0].label).rgba
    import cv2

    def score(rgba):
        a = rgba[..., 3] > 0
        ys2, xs2 = np.nonzero(a)
        ref = (rgba[..., :3].mean(axis=2) * a)[ys2.min():ys2.max() + 1, xs2.min():xs2.max() + 1]
        ref = cv2.resize(ref.astype(np.float32), (crop.shape[1], crop.shape[0]))
        return float(np.abs(ref - crop).mean())

    return score(pic[:, ::-1]) < score(pic)


def test_a_vehicle_faces_the_way_it_moves():
    assert pictogram("car").faces == "left"  # the Fluent automobile is drawn facing left
    assert not _looks_mirrored(moving("car", "right_to_left"), 2.0)
    assert _looks_mirrored(moving("car", "left_to_right"), 2.0)
    assert pictogram("dog").faces == "left"  # head on the left, tail on the right
    assert not _looks_mirrored(moving("dog", "right_to_left"), 2.0)
    assert _looks_mirrored(moving("dog", "left_to_right"), 2.0)


# Which way each drawing's head, bonnet, bow or muzzle points, read off the pictures by eye
# (round 11). These were "right" (or "front" for the bicycle), so a dog or motorcycle moving
# right was drawn going backwards, tail or seat first.
@pytest.mark.parametrize("noun, faces", [
    ("dog", "left"), ("motorcycle", "left"), ("bicycle", "left"), ("ship", "left"),
    ("insect", "left"), ("snake", "left"), ("gun", "left"),
    ("airplane", "right"), ("jet", "right"), ("car", "left"), ("horse", "left"),
])
def test_each_drawing_says_which_way_it_really_faces(noun, faces):
    assert pictogram(noun).faces == faces


@pytest.mark.parametrize("background, nouns, families, kind", [
    ("a highway", (), (), "road"), ("a city street at night", (), (), "road"),
    ("an airport runway under a wide sky", (), (), "sky"), ("a small stage", (), (), "stage"),
    ("a living room", (), (), "room"), ("a river in a forest", (), (), "water"),
    ("a savanna", (), (), "field"),
    ("", ("jet",), ("vehicle",), "sky"), ("", ("truck",), ("vehicle",), "road"),
    ("", ("guitar",), ("instrument",), "stage"), ("", ("person",), (None,), "room"),
    ("", ("sailboat",), ("vehicle",), "water"), ("", ("dog",), ("animal",), "field"),
])
def test_the_scene_follows_the_words_then_the_things(background, nouns, families, kind):
    assert scene_for(background, nouns, families).kind == kind


# A telephone was drawn on a meadow and a toilet or sink on a lake (the water family's scene).
@pytest.mark.parametrize("noun", ["phone", "toilet", "sink", "television", "vacuum cleaner",
                                  "door", "clock"])
def test_household_things_are_in_a_room(noun):
    pic = pictogram(noun)
    assert pic.noun == noun
    assert scene_for("", (noun,), (pic.family,)).kind == "room"


def test_household_names_are_manifest_nouns():
    from engine.rendering.backdrops import _HOUSEHOLD
    from engine.rendering.pictograms import known_nouns

    assert _HOUSEHOLD <= set(known_nouns())


# "an open outdoor scene" is what the planner says when it knows nothing of the place: a river
# was drawn as a wave on a meadow, a trumpet and a thunderstorm on grass, a typewriter (heard
# as a coin) on grass.
@pytest.mark.parametrize("nouns, families, kind", [
    (("stream",), ("water",), "water"), (("trumpet",), ("instrument",), "stage"),
    (("thunderstorm",), (None,), "sky"), (("car",), ("vehicle",), "road"),
    (("coin",), (None,), "room"), (("drill",), ("tool",), "room"),
    (("sound source",), (None,), "field"),
])
def test_words_that_only_say_outdoors_leave_the_place_to_the_things(nouns, families, kind):
    assert scene_for(PRIORS["default"].background, nouns, families).kind == kind


def test_backdrops_differ_by_kind_and_are_cached():
    a = preview.draw_backdrop("a highway", 128, 100)
    b = preview.draw_backdrop("a small stage", 128, 100)
    assert a.shape == (100, 128, 3) and a.dtype == np.uint8
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 20
    assert preview.draw_backdrop("a highway", 128, 100) is a
    assert not a.flags.writeable


def test_activity_follows_the_objects_own_level_and_the_mix_timing():
    n, duration = 8, 4.0
    levels = [-20.0] * 4 + [-60.0] * 4  # loud in the first half, silent in the second
    layout = moving("dog", "static", n=n, duration=duration, loudness=levels)
    meter = ActivityMeter(layout)
    assert meter.activity(layout.objects[0], 0.5) == pytest.approx(1.0)
    assert meter.activity(layout.objects[0], 3.8) == 0.0
    # A mix that is loud for 0.1 s in every 0.5 s: activity follows it within a frame.
    sr = 8000
    t = np.arange(int(duration * sr)) / sr
    mix = (0.1 * np.sin(2 * np.pi * 440 * t) * ((t % 0.5) < 0.1))[None, :]
    meter = ActivityMeter(layout, loudness_track(mix, sr))
    on, off = meter.activity(layout.objects[0], 1.05), meter.activity(layout.objects[0], 1.3)
    assert on > off + 0.2


def test_a_loud_object_sends_out_rings_a_silent_one_does_not():
    backdrop = np.full((256, 256, 3), 60, np.uint8)
    loud = moving("dog", "static", loudness=[-20.0] * 8)
    quiet = moving("dog", "static", loudness=[-20.0] + [-80.0] * 7)
    f_loud = preview.draw_frame(loud, 2.1, backdrop, labels=False, meter=ActivityMeter(loud))
    f_quiet = preview.draw_frame(quiet, 2.1, backdrop, labels=False, meter=ActivityMeter(quiet))
    changed = (np.abs(f_loud.astype(int) - f_quiet.astype(int)).sum(axis=2) > 20)[:256]
    # The rings lie outside the box (x 0.35-0.65 of 256 px): look only there.
    assert changed[:, :80].sum() + changed[:, 176:].sum() > 50


def test_attach_loudness_copies_each_sources_level_per_frame():
    n = 4
    src = SourceTrack(id=3, azimuth_deg=np.zeros(n), confidence=np.ones(n),
                      loudness_db=np.array([-30.0, -20.0, np.nan, -25.0]),
                      active=np.ones(n, bool), proximity=np.full(n, 0.5))
    cues = Cues(duration_s=2.0, num_frames=n, sample_rate=16000, mono=False,
                loudness_db=np.zeros(n), centroid_hz=np.zeros(n), sources=[src])
    layout = moving("dog", "static", n=n, duration=2.0)
    layout.objects[0].id = 3
    attach_loudness(layout, cues)
    assert layout.objects[0].extra["loudness_db"] == [-30.0, -20.0, None, -25.0]
    assert np.isnan(own_levels(layout.objects[0], n)[2])
    layout.validate()  # the extra key survives the layout's own checks


def test_labels_are_drawn_only_when_asked_for():
    layout = moving("car", "static")
    backdrop = np.full((256, 256, 3), 90, np.uint8)
    on = preview.draw_frame(layout, 1.0, backdrop, labels=True)
    off = preview.draw_frame(layout, 1.0, backdrop, labels=False)
    assert (np.abs(on.astype(int) - off.astype(int)).sum(axis=2) > 100).sum() > 20
    from engine.protocols import RenderSettings
    assert RenderSettings().labels is False


def test_motion_blur_smears_but_keeps_the_sprites_coverage():
    pic = pictogram("car")
    rgb0, a0 = preview._sprite(pic, 64, False, 0)
    rgb1, a1 = preview._sprite(pic, 64, False, 12)
    assert a1.shape[1] == a0.shape[1] + 12
    assert a1.sum() == pytest.approx(a0.sum(), rel=0.01)
    assert (a1 > 0.01).sum() > (a0 > 0.01).sum()


def test_a_passing_vehicle_is_blurred_a_standing_one_is_not():
    layout = moving("car", "right_to_left", n=4, duration=1.0)  # half the frame in 1 s
    still = moving("car", "static", n=4, duration=1.0)
    backdrop = np.zeros((256, 256, 3), np.uint8)

    def edge_sharpness(lay):
        f = preview.draw_frame(lay, 0.5, backdrop, labels=False, fps=24)[:256].astype(float)
        return np.abs(np.diff(f.mean(axis=2), axis=1)).max()

    assert edge_sharpness(layout) < edge_sharpness(still)


def test_broken_samples_count_as_silence_in_the_loudness_track():
    x = np.zeros((2, 8000), np.float32)
    x[:, 4000:] = 0.1
    x[:, 100:200] = np.nan
    track = loudness_track(x, 8000)
    assert np.isfinite(track.db).all()
    assert track.at(0.75) > track.at(0.25) + 40


def test_the_timeline_has_a_lane_for_every_object():
    # A plan may hold 8 objects; the strip drew lanes for the first 4 only, so the other four
    # had no sign of when they were on screen.
    n = 8
    objects = []
    for k in range(8):
        boxes = [(0.1, 0.4, 0.3, 0.6) if i == k else None for i in range(n)]  # object k: frame k
        objects.append(LayoutObject(k, f"thing{k}", "a thing", "static", 0.9, boxes))
    layout = Layout(duration_s=4.0, num_frames=n, fps=2.0, objects=objects)
    strip = preview.timeline_strip(layout, 160)
    for k in range(8):
        column = strip[:, k * 20 + 10]  # the middle of layout frame k
        lit = np.flatnonzero(np.abs(column.astype(int) - 28).sum(axis=1) > 30)
        assert lit.size, f"no lane drawn for object {k}"
        assert np.array_equal(column[lit[0]], np.array(preview.object_color(f"thing{k}"), np.uint8))


def _label_pixels(text, width=256, cx=128):
    canvas = np.full((64, width, 3), 90, np.uint8)
    preview._label(canvas, text, cx, 20)
    return canvas


def test_a_long_label_stays_inside_the_frame_shortened():
    # "a very long name ..." under an object near the right edge ran off the frame.
    canvas = _label_pixels("a very long name for a thing that goes beep beep", cx=220)
    drawn = np.flatnonzero((np.abs(canvas.astype(int) - 90).sum(axis=2) > 30).any(axis=0))
    assert drawn.size
    assert drawn[0] >= preview.LABEL_MARGIN - 1 and drawn[-1] <= 256 - preview.LABEL_MARGIN
    assert text.fitted("a very long name for a thing that goes beep beep", 200).endswith("...")
    assert text.fitted("dog", 200) == "dog"


def test_a_labels_outline_stays_with_its_letters():
    # The outline was the same text drawn 3 px thick, which advances every letter further:
    # over a long label it drifted right of the white letters, leaving a dark ghost letter
    # after the end. The dark pixels must end where the white ones do (one pixel of outline).
    canvas = _label_pixels("a big red car next to the house", width=400, cx=200)
    diff = canvas.astype(int)
    white = np.flatnonzero((diff.min(axis=2) > 200).any(axis=0))
    dark = np.flatnonzero((diff.max(axis=2) < 60).any(axis=0))
    assert white.size and dark.size
    assert dark[-1] <= white[-1] + 2 and dark[0] >= white[0] - 2


def test_a_nearer_object_does_not_hide_a_farther_ones_label():
    # Labels were drawn with their objects, far to near, so a nearer sprite covered the name
    # of the thing behind it.
    far = LayoutObject(1, "dog", "a dog", "static", 0.9, [(0.4, 0.2, 0.6, 0.4)] * 4)
    near = LayoutObject(2, "door", "a door", "static", 0.9, [(0.2, 0.3, 0.8, 0.95)] * 4)
    layout = Layout(duration_s=2.0, num_frames=4, fps=2.0, objects=[far, near])
    backdrop = np.full((256, 256, 3), 90, np.uint8)
    with_names = preview.draw_frame(layout, 1.0, backdrop, labels=True).astype(int)
    without = preview.draw_frame(layout, 1.0, backdrop, labels=False).astype(int)
    both = preview.draw_frame(layout, 1.0, backdrop, labels=True)
    # the dog's name sits just under its box: rows 0.4 h + a little, across its centre
    rows = slice(int(0.4 * 256) + 2, int(0.4 * 256) + 30)
    cols = slice(100, 156)
    changed = np.abs(with_names[rows, cols] - without[rows, cols]).sum(axis=2) > 100
    white = (both[rows, cols].min(axis=2) > 220)
    assert changed.sum() > 30 and white.sum() > 15


def test_an_odd_sized_plan_is_drawn_at_the_even_size_of_the_video():
    # H.264 (yuv420p) takes even sizes: frames drawn 513 x 99 were each resized to 512 x 98
    # by the writer, a slight blur over the whole picture.
    from engine.jobs import CancelToken
    from engine.protocols import Frame, RenderSettings
    layout = moving("car", "left_to_right")
    layout.width, layout.height = 513, 99
    frames = [e for e in preview.PreviewRenderer().render(layout, RenderSettings(fps=4),
                                                         CancelToken()) if isinstance(e, Frame)]
    assert frames and all(f.image.shape == (98, 512, 3) for f in frames)


def test_rain_is_one_cloud_in_the_sky_not_a_cloud_as_big_as_the_scene():
    # The planner gives rain a box as big as the scene (0.9 x 0.8, centred): it was drawn as a
    # cloud 90 % of the frame wide standing on the road.
    r = PRIORS["rain"]
    box = (0.5 - r.width / 2, r.y_center - r.height / 2,
           0.5 + r.width / 2, r.y_center + r.height / 2)
    obj = LayoutObject(1, "rain", "rain", "static", 0.9, [box] * 4)
    layout = Layout(duration_s=2.0, num_frames=4, fps=2.0, caption="", background="a rainy street",
                    objects=[obj])
    h = 256
    frame = preview.draw_frame(layout, 1.0, np.zeros((h, 256, 3), np.uint8), labels=False)[:h]
    ys, xs = np.nonzero(frame.sum(axis=2) > 0)
    assert ys.max() <= SKY_LINE * h + 1            # above every backdrop's horizon, no shadow
    assert ys.max() - ys.min() <= WEATHER_SIDE * h + 2
    assert xs.max() - xs.min() <= WEATHER_SIDE * h + 2


def test_a_dark_drawing_on_a_dark_backdrop_gets_a_light_rim():
    # The musical notes ("instrument", "whistle"), paw prints and a crowd's silhouettes are
    # drawn dark: on the dark stage or at night they all but vanished.
    layout = moving("instrument", "static")
    assert preview._luma(pictogram("instrument")) < preview.RIM_DARK
    dark = preview.draw_frame(layout, 2.0, np.full((256, 256, 3), 40, np.uint8), labels=False)
    assert (dark[:256].min(axis=2) > 180).sum() > 200           # a light outline
    light = preview.draw_frame(layout, 2.0, np.full((256, 256, 3), 200, np.uint8), labels=False)
    assert (np.abs(light[:256].astype(int) - 200).max(axis=2) > 20).sum() > 0
    assert (light[:256].min(axis=2) > 215).sum() == 0           # no rim where it reads anyway
    # a brown horse on (lit) green grass has about the grass's luma, yet reads: no rim
    grass = np.zeros((256, 256, 3), np.uint8)
    grass[:] = (92, 150, 70)
    horse = preview.draw_frame(moving("horse", "static"), 2.0, grass, labels=False)
    assert (horse[:256].min(axis=2) > 215).sum() == 0
    _, keep = preview._sprite_u8(pictogram("truck"), 64, False, 0)
    assert not preview._needs_rim(np.full((64, 64, 3), 40, np.uint8), pictogram("truck"), keep,
                                  0, 0)                            # a light drawing: none


def test_a_train_runs_on_a_track_under_its_wheels():
    # A locomotive was drawn standing on bare grass, like a toy dropped in a field.
    bg = np.full((256, 256, 3), 90, np.uint8)
    frame = preview.draw_frame(moving("train", "static"), 2.0, bg, labels=False)[:256]
    changed = (np.abs(frame.astype(int) - 90).max(axis=2) > 10)
    rows = np.flatnonzero(changed[:, :8].all(axis=1) & changed[:, -8:].all(axis=1))
    assert rows.size  # something across the whole width, beside the train as well
    # its top is where the locomotive's wheels are: the drawing's lowest row in the middle
    middle = np.flatnonzero(changed[:rows.min(), 100:156].any(axis=1))
    assert abs(int(middle.max()) + 1 - int(rows.min())) <= 3
    car = preview.draw_frame(moving("car", "static"), 2.0, bg, labels=False)[:256]
    assert not (np.abs(car[:, :8].astype(int) - 90).max(axis=2) > 10).any()


@pytest.mark.parametrize("label, stands", [("bee", False), ("mosquito", False),
                                           ("cricket", True)])
def test_a_flying_insect_is_drawn_in_the_air(label, stands):
    # Flying insects stood on the ground with a shadow (only aircraft, birds and weather flew).
    box = (0.4, 0.3, 0.6, 0.5)
    obj = LayoutObject(1, label, label, "static", 0.9, [box] * 4)
    layout = Layout(duration_s=2.0, num_frames=4, fps=2.0, caption="", background="a meadow",
                    objects=[obj])
    h = 256
    grey = np.full((h, 256, 3), 128, np.uint8)
    frame = preview.draw_frame(layout, 1.0, grey, labels=False)[:h]
    changed = np.nonzero(np.abs(frame.astype(int) - 128).sum(axis=2) > 0)[0]
    side = 0.2 * h
    # a flier is centred in its box with no shadow; a ground thing stands on its box's bottom
    below_centred_sprite = changed > 0.4 * h + side / 2 + 2
    assert below_centred_sprite.any() == stands


def _largest_sprite_px(width: int, height: int) -> float:
    """The largest sprite side the preview draws in a ``width`` x ``height`` video: every
    prior at the planner's nearest scale (boxes capped at 0.95 of the frame), as
    ``preview._draw_object`` sizes it, swollen by a full-loudness pulse."""
    from engine.planning.heuristic import SIZE_FAR, SIZE_SPAN
    from engine.planning.priors import WORD_PRIORS
    from engine.rendering.backdrops import WEATHER

    near = SIZE_FAR + SIZE_SPAN
    h = height - preview.TIMELINE_H
    sides = []
    for label, p in {**PRIORS, **WORD_PRIORS}.items():
        box = (0.0, 0.0, min(0.95, p.width * near), min(0.95, p.height * near))
        side = preview._base_side(width, h, box)
        if noun_for(label) in WEATHER:
            side = min(side, WEATHER_SIDE * h)
        sides.append(side * (1 + preview.PULSE))
    return max(sides)


def test_the_stored_pictures_are_as_large_as_the_largest_sprite_in_a_1080p_video():
    """At 160 px a car in a 1920x1080 video was upscaled 2.4x and a crowd in a phone's
    1080x1920 one 7x: soft pictures in an HD export."""
    import struct

    from engine.rendering.pictograms import MANIFEST, SPRITE_PX

    need = max(_largest_sprite_px(1920, 1080), _largest_sprite_px(1080, 1920))
    assert 1000 < need <= SPRITE_PX
    manifest = json.loads((PICTOGRAM_DIR / MANIFEST).read_text())
    assert manifest["sprite_px"] == SPRITE_PX
    for entry in manifest["nouns"].values():  # the PNG header's width and height
        head = (PICTOGRAM_DIR / entry["file"]).read_bytes()[16:24]
        assert struct.unpack(">II", head) == (SPRITE_PX, SPRITE_PX), entry["file"]
    assert pictogram("car").rgba.shape == (SPRITE_PX, SPRITE_PX, 4)


def test_a_small_sprite_is_scaled_from_a_halving_of_the_large_picture():
    """The large stored pictures must not slow the 512 px preview: a sprite is scaled from
    the smallest halving still at least its size, and looks like one scaled from the whole."""
    pic = pictogram("car")
    for side in (12, 60, 150, 400, 1100):
        src = preview._source(pic, side)
        assert side <= src.shape[0] < max(2 * side, 4) or src is pic.rgba
    rgb, _ = preview._sprite(pic, 100, False, 0)
    direct = cv2.resize(pic.rgba, (100, 100), interpolation=cv2.INTER_AREA).astype(np.float32)
    direct = direct[..., :3] * (direct[..., 3:] / 255.0)
    assert np.abs(rgb - direct).mean() < 2.0


def _ink_rows(canvas, background):
    """Rows of ``canvas`` where something other than the flat ``background`` was drawn."""
    return np.flatnonzero((np.abs(canvas.astype(int) - background).sum(axis=2) > 30).any(axis=1))


def test_names_timeline_and_rims_grow_with_the_frame():
    """A 1920x1080 export drew 15 px names with a one-pixel rim and a 28 px timeline: a third
    of their size in the 512x512 default's picture, unreadable on a phone."""
    small = np.full((512 - preview.TIMELINE_H, 512, 3), 90, np.uint8)
    ph = preview.picture_height(1920, 1080)
    large = np.full((ph, 1920, 3), 90, np.uint8)
    preview._label(small, "dog", 256, 20)
    preview._label(large, "dog", 960, 20)
    grow = ph / small.shape[0]
    letters = [np.ptp(_ink_rows(c, 90)) + 1 for c in (small, large)]
    assert letters[1] >= 0.85 * grow * letters[0]
    dark = [int((c.max(axis=2) < 40).sum()) for c in (small, large)]  # the outline's pixels
    assert dark[1] >= 0.7 * grow ** 2 * dark[0]
    assert 1080 - ph >= 0.9 * grow * preview.TIMELINE_H
    layout = moving("dog", "left_to_right")
    strip = preview.timeline_strip(layout, 1920, 1080 - ph)
    lane = np.flatnonzero((strip[:, 960] != 28).any(axis=1))
    assert lane.size >= 0.8 * grow * (preview.TIMELINE_H - 10)
    # the studio's 384 px layout view and the default keep the design sizes
    assert preview.frame_scale(384, 356) == preview.frame_scale(512, 484) == 1.0


@pytest.mark.parametrize("size", [(512, 512), (1280, 720), (1920, 1080), (1080, 1920),
                                  (720, 1280), (1000, 998)])
def test_a_video_of_any_size_gets_frames_of_exactly_that_size(size):
    from engine.jobs import CancelToken
    from engine.protocols import Frame, RenderSettings

    layout = moving("car", "right_to_left", duration=0.25)
    settings = RenderSettings(labels=True, width=size[0], height=size[1], fps=8)
    frames = [e.image for e in preview.PreviewRenderer().render(layout, settings, CancelToken())
              if isinstance(e, Frame)]
    assert frames and all(f.shape == (size[1], size[0], 3) for f in frames)


@pytest.mark.parametrize("kind,variant", [("field", ""), ("field", "dry"), ("room", ""),
                                          ("water", ""), ("stage", ""), ("sky", "")])
def test_a_backdrops_detail_grows_with_the_frame(kind, variant):
    """Grass tufts, planks, ripples and the runway's marks were one-pixel lines of fixed
    length: in a 1080p export a faint dotted texture, a third of the default's size. Drawn 3
    times larger and scaled back down, a backdrop keeps its detail (the picture minus its
    blur), as at the default size."""
    from engine.rendering.backdrops import Scene, _cached

    def detail(im):
        im = im.astype(np.float32)
        return np.abs(im - cv2.GaussianBlur(im, (0, 0), 3)).mean()

    small = _cached(Scene(kind, variant), 512, 484)
    large = cv2.resize(_cached(Scene(kind, variant), 1536, 1452), (512, 484),
                       interpolation=cv2.INTER_AREA)
    assert detail(large) >= 0.9 * detail(small)


def test_a_streets_windows_grow_with_the_frame():
    from engine.rendering.backdrops import Scene, _cached

    sizes = []
    for k in (1, 3):
        img = _cached(Scene("road", ""), 512 * k, 484 * k).astype(int)
        h, w = img.shape[:2]
        centre = img[:, w // 4:3 * w // 4]  # away from the vignette's darkened edges
        lit = (np.abs(centre - np.array([226, 222, 190])).sum(axis=2) < 30).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(lit)
        sizes.append(np.median(stats[1:, cv2.CC_STAT_AREA]))
    assert sizes[1] >= 0.7 * 9 * sizes[0]


def test_no_picture_is_cut_off_at_its_edge():
    """The jet (an emoji turned level) had its nose cut off straight at the sprite's edge."""
    from engine.rendering.pictograms import MANIFEST

    manifest = json.loads((PICTOGRAM_DIR / MANIFEST).read_text())
    for name in sorted({e["file"] for e in manifest["nouns"].values()}):
        alpha = cv2.imread(str(PICTOGRAM_DIR / name), cv2.IMREAD_UNCHANGED)[..., 3]
        edge = max(alpha[0].max(), alpha[-1].max(), alpha[:, 0].max(), alpha[:, -1].max())
        assert edge == 0, name
