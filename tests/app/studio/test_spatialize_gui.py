"""The studio's Spatialize action and the picture/sound scores shown after a render."""

import numpy as np
import soundfile as sf

from .helpers import finished, import_clip, plan


def test_render_is_followed_by_agreement_scores(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    plan(qtbot, window)
    finished(qtbot, window.render(tmp_path / "clip.mp4", fps=12))
    qtbot.waitUntil(lambda: getattr(window, "last_agreement", None) is not None, timeout=30_000)
    report = window.last_agreement
    # The clip moves right to left and the plan follows it: most heard frames line up.
    assert report.spatial.aligned_fraction >= 0.6
    assert window.last_message[0].startswith("Picture and sound")


def test_spatialize_places_a_mono_sound_on_the_objects_side(qtbot, window, clip, tmp_path):
    import_clip(qtbot, window, clip)
    layout = plan(qtbot, window)
    # Move the object to the far left for the whole clip, then spatialize a mono noise.
    obj = layout.objects[0]
    obj.boxes = [None if b is None else (0.0, b[1], 0.2, b[3]) for b in obj.boxes]
    obj.motion = "static"
    mono = tmp_path / "mono.wav"
    rng = np.random.default_rng(0)
    sf.write(str(mono), (0.1 * rng.standard_normal(44100 * 2)).astype(np.float32), 44100)
    out = tmp_path / "placed.wav"
    finished(qtbot, window.spatialize(mono, out))
    stereo, _ = sf.read(str(out), always_2d=True)
    left, right = np.mean(stereo[:, 0] ** 2), np.mean(stereo[:, 1] ** 2)
    assert left > 2 * right
