import json

import numpy as np
import pytest
import soundfile as sf

from engine.export.mp4 import probe_mp4
from spa2v_app.cli import main
from tests.synth import panned_noise, write_wav
from tests.synth_video import write_square_video

SR = 22050


def _mono(path, seconds, seed=0):
    sf.write(str(path), np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 0.1, SR)
    return path


@pytest.fixture
def planned(tmp_path):
    """A plan made from a right-to-left crossing, and a mono sound of the same length."""
    clip = write_wav(tmp_path / "car.wav", panned_noise((60, -60), duration_s=2.0))
    plan = tmp_path / "plan.json"
    assert main(["-q", "plan", str(clip), "-o", str(plan), "--frames", "8", "--hint", "a car"]) == 0
    return plan, _mono(tmp_path / "engine.wav", 2.0)


def test_spatialize_a_plan_then_check_prints_both_scores(planned, tmp_path, capsys):
    plan, mono = planned
    out = tmp_path / "out.wav"
    assert main(["spatialize", str(mono), "--plan", str(plan), "-o", str(out)]) == 0
    x, _ = sf.read(str(out), always_2d=True)
    assert x.shape == (2 * SR, 2)
    quarter = SR // 2
    assert np.mean(x[:quarter, 1] ** 2) > 2 * np.mean(x[:quarter, 0] ** 2)  # starts right
    assert np.mean(x[-quarter:, 0] ** 2) > 2 * np.mean(x[-quarter:, 1] ** 2)  # ends left
    capsys.readouterr()
    scores = tmp_path / "scores.json"
    assert main(["check", str(out), "--plan", str(plan), "--json", str(scores)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("spatial alignment: ") and lines[1].startswith("AV-Align: ")
    d = json.loads(scores.read_text())
    assert d["spatial"]["aligned_fraction"] >= 0.85 and 0 <= d["timing"]["av_align"] <= 1


def test_spatialize_options_stereo_room_and_per_object_sound(planned, tmp_path):
    plan, mono = planned
    out = tmp_path / "out.flac"
    assert main(["-q", "spatialize", "--object", f"1={mono}", "--plan", str(plan), "-o", str(out),
                 "--method", "stereo", "--room", "0.5", "--peak-db", "-6"]) == 0
    x, _ = sf.read(str(out))
    assert np.abs(x).max() == pytest.approx(10 ** (-6 / 20), abs=1e-3)


def test_spatialize_a_video_and_mux(tmp_path, capsys):
    video = tmp_path / "square.mp4"
    truth = write_square_video(video, duration_s=2.0, fps=12)
    mono = _mono(tmp_path / "hum.wav", 2.0)
    out = tmp_path / "hum_placed.wav"
    box = ",".join(f"{v:.3f}" for v in truth[0])
    assert main(["spatialize", str(mono), "--video", str(video), "--box", box, "-o", str(out),
                 "--mux", "--label", "dog"]) == 0
    info = probe_mp4(tmp_path / "hum_placed.mp4")
    assert info["audio"]["channels"] == 2 and info["video"]["frames"] == 24
    assert "hum_placed.mp4" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "hum_placed.mp4"), "--video", str(video)]) == 0


@pytest.mark.parametrize("args, needle", [
    (["spatialize", "{mono}", "-o", "{tmp}/o.wav"], "--plan PLAN.json or --video"),
    (["spatialize", "{short}", "--plan", "{plan}", "-o", "{tmp}/o.wav"], "1.0 s long but the clip"),
    (["spatialize", "{mono}", "--plan", "{plan}", "-o", "{tmp}/o.mp3"], "must end in .wav or .flac"),
    (["spatialize", "{mono}", "--plan", "{plan}", "-o", "{tmp}/o.wav", "--mux"], "needs --video"),
    (["spatialize", "--object", "x={mono}", "--plan", "{plan}", "-o", "{tmp}/o.wav"], "ID=FILE"),
    (["spatialize", "--object", "4={mono}", "--plan", "{plan}", "-o", "{tmp}/o.wav"], "no object with id 4"),
    (["spatialize", "{tmp}/nope.wav", "--plan", "{plan}", "-o", "{tmp}/o.wav"], "not found"),
    (["spatialize", "{mono}", "--video", "{empty}", "-o", "{tmp}/o.wav", "--mux"], "No moving object"),
    (["spatialize", "{mono}", "--video", "{empty}", "-o", "{tmp}/o.wav", "--box", "0.1,0.2"], "four numbers"),
    (["spatialize", "{mono}", "--plan", "{plan}", "-o", "{tmp}/o.wav", "--room", "20"], "RT60"),
    (["check", "{mono}"], "--plan PLAN.json or --video"),
    (["check", "{short}", "--plan", "{plan}"], "plan is 2.0 s long but the audio is 1.0 s"),
    (["check", "{mono}", "--video", "{empty}"], "No moving object"),
    (["check", "{mono}", "--plan", "{plan}", "--tolerance", "3"], "tolerance"),
    # a --video that is no video: one line, not a traceback from the sound-track check
    (["check", "{mono}", "--video", "{tmp}/nope.mp4"], "Video file not found"),
    (["check", "{mono}", "--video", "{zero}"], "not a video this app can read"),
    (["check", "{mono}", "--video", "{mono}"], "has no video stream"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(planned, tmp_path, capsys, args, needle):
    plan, mono = planned
    short = _mono(tmp_path / "short.wav", 1.0)
    empty = tmp_path / "empty.mp4"
    write_square_video(empty, duration_s=2.0, show_square=False)
    zero = tmp_path / "zero.mp4"
    zero.write_bytes(b"")
    before = set(tmp_path.iterdir())
    argv = [a.format(mono=mono, short=short, plan=plan, tmp=tmp_path, empty=empty, zero=zero)
            for a in args]
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert needle in err[-1]
    assert set(tmp_path.iterdir()) == before


def test_scores_to_a_full_standard_output_say_it_was_standard_output(planned, capsys,
                                                                       monkeypatch):
    """'spa2v check ... > /dev/full' said only 'No space left on device.'"""
    import errno
    import os
    import sys
    plan, mono = planned

    def full(_text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    capsys.readouterr()
    monkeypatch.setattr(sys.stdout, "write", full)
    assert main(["-q", "check", str(mono), "--plan", str(plan)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "spa2v: Could not write the scores to standard output: No space left on device. "
        "Keep them with --json OUT.json."]
