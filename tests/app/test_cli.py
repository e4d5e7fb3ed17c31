import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.export.mp4 import probe_mp4
from engine.layout import load_layout
from spa2v_app.cli import main
from tests.synth import panned_noise, write_wav

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clip(tmp_path):
    return write_wav(tmp_path / "car.wav", panned_noise((60, -60), duration_s=2.0))


def test_plan_writes_a_valid_layout(clip, tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["plan", str(clip), "-o", str(out), "--frames", "8"]) == 0
    layout = load_layout(out)
    assert layout.num_frames == 8 and layout.objects[0].motion == "right_to_left"
    assert "built-in defaults" in capsys.readouterr().err


def test_a_pan_law_given_is_recorded_for_a_pan_pot_mix_only(clip, tmp_path):
    out = tmp_path / "plan.json"
    assert main(["plan", str(clip), "-o", str(out), "--frames", "4", "--stereo", "panned",
                 "--pan-law=-6dB"]) == 0
    assert load_layout(out).extra["stereo"]["pan_law"] == "-6dB"
    # written as the help names it: argparse alone would take "-4.5dB" for an option
    assert main(["plan", str(clip), "-o", str(out), "--frames", "4", "--stereo", "panned",
                 "--pan-law", "-4.5dB"]) == 0
    assert load_layout(out).extra["stereo"]["pan_law"] == "-4.5dB"
    assert main(["plan", str(clip), "-o", str(out), "--frames", "4", "--stereo", "panned"]) == 0
    assert load_layout(out).extra["stereo"]["pan_law"] == "-3dB"  # the default, recorded
    # like --spacing, a pan law given for another kind is not used (nor recorded)
    assert main(["plan", str(clip), "-o", str(out), "--frames", "4", "--stereo", "binaural",
                 "--pan-law", "6dB"]) == 0
    assert "pan_law" not in load_layout(out).extra["stereo"]


def test_plan_many_inputs_to_out_dir(clip, tmp_path):
    other = write_wav(tmp_path / "dog.wav", panned_noise(-50, duration_s=1.0, seed=3))
    out_dir = tmp_path / "plans"
    assert main(["plan", str(clip), str(other), "--out-dir", str(out_dir), "--fps", "4"]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["car.json", "dog.json"]
    assert load_layout(out_dir / "dog.json").num_frames == 4


@pytest.mark.parametrize("args, needle", [
    (["plan", "{missing}", "-o", "{out}"], "not found"),
    (["plan", "{silent}", "-o", "{out}"], "silent"),
    (["plan", "{clip}", "-o", "{tmp}/plan.txt"], "must end in .json"),
    (["plan", "{clip}", "--frames", "0", "-o", "{out}"], "between 1 and"),
    (["render", "{clip}", "--plan", "{badplan}", "-o", "{tmp}/x.mp4"], "not valid JSON"),
    (["render", "{clip}", "-o", "{tmp}/x.avi"], "must end in .mp4"),
    (["render", "{clip}", "--renderer", "nope", "-o", "{tmp}/x.mp4"], "Unknown renderer"),
    (["plan", "{clip}", "--bogus"], "unrecognized arguments"),
    (["plan", "{clip}", "--stereo", "panned", "--pan-law=-5dB", "-o", "{out}"], "-3dB, -4.5dB, -6dB"),
    (["cues", "{clip}", "--pan-law", "linear", "-o", "{tmp}/c.json"], "--pan-law is the level"),
    (["render", "{clip}", "--pan-law", "5dB", "-o", "{tmp}/x.mp4"], "-3dB, -4.5dB, -6dB"),
    (["render", "{clip}", "--size", "513x301", "-o", "{tmp}/x.mp4"], "use 512x300"),
    (["plan", "{clip}", "--fps", "0", "-o", "{out}"], "more than 0"),  # was "between 0 and"
    # named before the diffusion weights are looked for (found or missing)
    (["render", "{clip}", "--renderer", "diffusion", "--memory-tier", "huge", "-o", "{tmp}/x.mp4"],
     "Unknown memory tier 'huge'"),
    (["render", "{clip}", "--renderer", "diffusion", "--steps", "0", "-o", "{tmp}/x.mp4"],
     "steps must be between 1 and 500"),
    (["render", "{clip}", "--memory-tier", "cpu", "-o", "{tmp}/x.mp4"],  # was ignored
     "(--memory-tier) need --renderer diffusion"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(clip, tmp_path, capsys, args, needle):
    silent = write_wav(tmp_path / "silent.wav", 0 * panned_noise(0, duration_s=0.5))
    badplan = tmp_path / "bad.json"
    badplan.write_text("{ nope")
    before = set(tmp_path.iterdir())
    fmt = dict(missing=tmp_path / "missing.wav", out=tmp_path / "plan.json", silent=silent,
               clip=clip, tmp=tmp_path, badplan=badplan)
    argv = [a.format(**fmt) for a in args]
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert needle in err[-1]
    assert set(tmp_path.iterdir()) == before


def test_render_from_audio_makes_an_mp4(clip, tmp_path):
    out = tmp_path / "v.mp4"
    assert main(["render", str(clip), "-o", str(out), "--size", "128x128", "--hint", "a car"]) == 0
    info = probe_mp4(out)
    assert info["video"]["width"] == 128 and info["video"]["height"] == 128
    # the recording's sound is in the file, as long as the picture (within one AAC frame)
    assert info["audio"]["codec"] == "aac" and info["audio"]["channels"] == 2
    assert info["audio"]["sample_rate"] == 44100
    assert info["audio"]["duration_s"] == pytest.approx(info["video"]["duration_s"],
                                                        abs=1024 / 44100)
    assert info["video"]["duration_s"] == pytest.approx(2.0, abs=1 / 24)


def test_render_refuses_a_plan_for_other_audio(clip, tmp_path, capsys):
    plan = tmp_path / "p.json"
    long_clip = write_wav(tmp_path / "long.wav", panned_noise(0, duration_s=5.0))
    assert main(["plan", str(long_clip), "-o", str(plan)]) == 0
    assert main(["render", str(clip), "--plan", str(plan), "-o", str(tmp_path / "v.mp4")]) == 2
    assert "audio is" in capsys.readouterr().err
    assert not (tmp_path / "v.mp4").exists()


def test_cues_json(clip, tmp_path):
    out = tmp_path / "cues.json"
    assert main(["cues", str(clip), "-o", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["schema"] == "spa2v.cues/1" and len(d["sources"][0]["azimuth_deg"]) == 16


def test_plan_path_never_imports_torch(clip, tmp_path):
    code = ("import sys, runpy; sys.argv=['spa2v','plan',%r,'-o',%r];"
            "from spa2v_app.cli import main; rc=main(sys.argv[1:]);"
            "heavy=[m for m in ('torch','diffusers','transformers','llama_cpp','PySide6') if m in sys.modules];"
            "print(rc, heavy)") % (str(clip), str(tmp_path / "p.json"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert out.stdout.strip() == "0 []", out.stderr


def test_studio_without_pyside6_says_how_to_install(monkeypatch, capsys):
    import spa2v_app.studio as studio
    monkeypatch.setitem(sys.modules, "PySide6.QtWidgets", None)  # import now raises ImportError
    assert studio.main([]) == 2
    assert "setup.sh --dev" in capsys.readouterr().err


def test_every_option_of_every_command_says_what_it_does():
    # 'spa2v cues --help' listed --frames N, 'render' --seed, 'check' --tracker with no word.
    import argparse

    from spa2v_app.cli import build_parser
    silent = []

    def walk(parser, name):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, p in action.choices.items():
                    walk(p, f"{name} {sub}")
            elif action.option_strings and not action.help:
                silent.append(f"{name} {action.option_strings[-1]}")
    walk(build_parser(), "spa2v")
    assert silent == []


def test_render_with_a_plan_says_that_planning_options_do_nothing(clip, tmp_path, capsys):
    # 'render clip --plan p.json --hint "a bus"' rendered the plan's names without a word.
    plan = tmp_path / "p.json"
    assert main(["-q", "plan", str(clip), "-o", str(plan), "--frames", "4"]) == 0
    capsys.readouterr()
    out = tmp_path / "v.mp4"
    assert main(["render", str(clip), "--plan", str(plan), "-o", str(out), "--size", "64x64",
                 "--hint", "a bus", "--stereo", "spaced"]) == 0
    err = capsys.readouterr().err
    assert "warning: --hint, --stereo have no effect with --plan" in err
    assert main(["render", str(clip), "--plan", str(plan), "-o", str(out), "--size", "64x64"]) == 0
    assert "no effect" not in capsys.readouterr().err


def test_a_usage_error_points_at_the_subcommand_help(clip, tmp_path, capsys):
    # 'spa2v plan x --frames 3 --fps 2' said "(see 'spa2v --help')", whose page lists only
    # the commands, not the options the error is about.
    with pytest.raises(SystemExit) as e:
        main(["plan", str(clip), "--frames", "3", "--fps", "2", "-o", str(tmp_path / "p.json")])
    assert e.value.code == 2
    assert "(see 'spa2v plan --help')" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["models", "remove"])  # a missing NAME: the subcommand's own parser's error
    assert "(see 'spa2v models remove --help')" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["plan"], ["cues"], ["render", "--plan", "{plan}"]])
def test_a_1_hz_file_is_one_line_not_a_traceback(tmp_path, capsys, command):
    """A 1 Hz WAV (200 samples: 200 s) crashed the cue extractor; render --plan made a video
    of it with AAC at 7350 Hz."""
    import numpy as np
    import soundfile as sf
    low = tmp_path / "low.wav"
    sf.write(low, 0.2 * np.random.default_rng(0).standard_normal((200, 2)), 1, subtype="PCM_16")
    plan = tmp_path / "plan.json"
    plan.write_text("{}")
    suffix = ".mp4" if command[0] == "render" else ".json"
    argv = [command[0], str(low)] + [a.format(plan=plan) for a in command[1:]] + [
        "-o", str(tmp_path / f"out{suffix}")]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sampled at 1 Hz" in err[0]
    assert not (tmp_path / f"out{suffix}").exists()


def test_render_plan_refuses_a_corrupt_sound_as_plan_does(clip, tmp_path, capsys):
    """render --plan reads no samples before the video: a float WAV that was 100 % NaN made
    an MP4 with a silent sound track, exit 0, though plan refuses such a file as corrupt."""
    import numpy as np
    import soundfile as sf
    plan = tmp_path / "plan.json"
    assert main(["plan", str(clip), "-o", str(plan), "--frames", "4"]) == 0
    data, sr = sf.read(clip, dtype="float32")
    data[::20] = np.nan  # 5 %
    corrupt = tmp_path / "corrupt.wav"
    sf.write(corrupt, data, sr, subtype="FLOAT")
    out = tmp_path / "out.mp4"
    capsys.readouterr()
    assert main(["render", str(corrupt), "--plan", str(plan), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "corrupt.wav is corrupt: 5.0% of its samples are NaN" in err[0]
    assert not out.exists()


def test_dash_is_standard_output_for_a_plan_and_said_plainly_elsewhere(clip, tmp_path, capsys):
    """'-' read as a file name: 'Audio file not found: -.', 'Output - must end in .json.',
    'Layout file not found: -.'; plan -o - now prints the plan as plan without -o does."""
    capsys.readouterr()
    assert main(["plan", str(clip), "-o", "-", "--frames", "4"]) == 0
    (tmp_path / "p.json").write_text(capsys.readouterr().out)
    assert load_layout(tmp_path / "p.json").num_frames == 4
    cases = [
        (["plan", "-", "-o", str(tmp_path / "q.json")], "'-' would be standard input"),
        (["check", "-", "--plan", str(tmp_path / "p.json")], "'-' would be standard input"),
        (["render", str(clip), "--plan", "-", "-o", str(tmp_path / "v.mp4")],
         "'-' would be standard input, which is not read for a layout"),
        (["cues", str(clip), "-o", "-"], "'-' would be standard output"),
        (["render", str(clip), "-o", "-"], "'-' would be standard output"),
    ]
    for argv, needle in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], (argv, err)
    assert not (tmp_path / "-").exists()


def test_a_hint_of_bytes_that_are_not_utf8_is_refused_before_the_work(clip, tmp_path, capsys):
    """--hint $'a \\xff car' (a Latin-1 terminal) planned the whole clip, then failed writing
    the plan with a UnicodeEncodeError traceback."""
    import os
    out = tmp_path / "plan.json"
    capsys.readouterr()
    assert main(["plan", str(clip), "--hint", os.fsdecode(b"a \xff car"), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--hint is not text" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("frames", ["0", "10001"])
def test_cues_frames_out_of_range_names_its_own_option(clip, tmp_path, capsys, frames):
    """cues --frames 0 said 'The plan would have 0 frames; use ... (--frames or --fps)', but
    cues makes no plan and has no --fps."""
    capsys.readouterr()
    assert main(["cues", str(clip), "--frames", frames, "-o", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"spa2v: --frames must be between 1 and 10000, got {frames}."]


def test_more_frames_than_a_layout_holds_is_said_before_the_work(clip, tmp_path, capsys):
    """plan --frames 2000 on a 2 s clip analysed it, then failed with 'Invalid layout: field
    'fps' must be between 0.001 and 240, got 1000' (a field of a file the user never saw)."""
    capsys.readouterr()
    out = tmp_path / "plan.json"
    assert main(["-q", "plan", str(clip), "--frames", "2000", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["spa2v: 2000 frames over 2.0 s would be 1000 a second; a layout holds at "
                   "most 240. Use --frames 480 or fewer."]
    assert main(["plan", str(clip), "--frames", "480", "-o", str(out)]) == 0


def test_too_few_frames_for_a_long_clip_is_said_before_the_work():
    """One frame over three hours is fewer than a layout's 0.001 a second: refused at once,
    not after analysing the three hours."""
    from engine.errors import BadInput
    from engine.pipeline import PlanSettings
    with pytest.raises(BadInput, match=r"Use --frames 11 or more"):
        PlanSettings(num_frames=1).check_layout_rate(3 * 3600.0)
    PlanSettings(num_frames=11).check_layout_rate(3 * 3600.0)


def test_a_batch_checks_every_inputs_frame_rate_before_the_first_plan(clip, tmp_path, capsys):
    short = write_wav(tmp_path / "blip.wav", panned_noise(30, duration_s=0.5, seed=2))
    out_dir = tmp_path / "plans"
    assert main(["-q", "plan", str(clip), str(short), "--frames", "200", "--out-dir",
                 str(out_dir)]) == 2
    assert "200 frames over 0.5 s" in capsys.readouterr().err
    assert not out_dir.exists()  # car.json was not written first


def test_an_odd_layout_size_is_said_when_the_video_is_a_pixel_smaller(clip, tmp_path, capsys):
    """render refuses an odd --size (the MP4 would quietly be a pixel smaller), but a plan of
    width 513 was rendered at 512 without a word."""
    plan = tmp_path / "plan.json"
    assert main(["plan", str(clip), "-o", str(plan), "--frames", "4"]) == 0
    d = json.loads(plan.read_text())
    d["width"] = 513
    plan.write_text(json.dumps(d))
    out = tmp_path / "v.mp4"
    capsys.readouterr()
    assert main(["render", str(clip), "--plan", str(plan), "-o", str(out)]) == 0
    assert "The frame is 513x512; H.264 takes even sizes, so the video is 512x512" in \
        capsys.readouterr().err
    assert probe_mp4(out)["video"]["width"] == 512


def test_a_plan_on_standard_output_is_utf8_whatever_the_locale(clip, monkeypatch):
    """In a Latin-1 locale, a plan named with a hint in another script ('a 犬') ended in a
    UnicodeEncodeError traceback once planned; JSON is UTF-8, so the plan is written as such."""
    import io
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="latin-1"))
    assert main(["-q", "plan", str(clip), "--frames", "4", "--hint", "a café 犬"]) == 0
    assert json.loads(raw.getvalue().decode("utf-8"))["num_frames"] == 4
    assert "café".encode("utf-8") in raw.getvalue() or "犬".encode("utf-8") in raw.getvalue()
