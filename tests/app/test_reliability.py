"""Nothing broken, nothing lost: the numbered cases of issue 16, each a test.

Every case runs the command line as a user would (``main([...])`` here, the real entry point as
a subprocess in ``test_reliability_sweep.py``) and checks the exit status, a one-line error
without a traceback, and that nothing of the user's was changed or left half-written.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.errors import BadInput
from engine.export.mp4 import Mp4Writer, probe_mp4
from spa2v_app.cli import main
from tests.synth import panned_noise, write_wav


# -- helpers ------------------------------------------------------------------------------------

def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time (ns)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out


def run_cli(capsys, *argv) -> tuple[int, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse errors
        code = e.code
    return code, capsys.readouterr().err


def one_clean_line(err: str) -> str:
    """The error: the last line of stderr. Fails on a traceback, a blank line, or any line that
    is not one of the app's own ``spa2v: ...`` lines (a library's print, a second error line)."""
    assert "Traceback" not in err, err
    lines = err.rstrip("\n").split("\n")
    assert all(line.startswith("spa2v: ") for line in lines), err
    return lines[-1]


@pytest.fixture
def clip(tmp_path):
    return write_wav(tmp_path / "car.wav", panned_noise((60, -60), duration_s=1.0))


@pytest.fixture
def plan(clip, tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["-q", "plan", str(clip), "-o", str(out), "--frames", "4"]) == 0
    capsys.readouterr()
    return out


# -- 1. check notices a damaged sound track -----------------------------------------------------

def test_check_refuses_a_video_whose_sound_track_is_cut_short(clip, tmp_path, capsys):
    short = write_wav(tmp_path / "short.wav", panned_noise(0, duration_s=0.2))
    video = tmp_path / "v.mp4"
    # The writer pads a short sound with silence to the picture's end; a broken mux is made
    # by cutting the sound at 0.2 s under a 1 s picture.
    with Mp4Writer(video, fps=12, size=(64, 64), audio_path=short, duration_s=0.2) as w:
        w.total_frames = 12
        w.write(np.full((64, 64, 3), 128, np.uint8))
    code, err = run_cli(capsys, "check", clip, "--video", video)
    assert code == 2 and "sound track is 0.2 s long" in one_clean_line(err)


# -- 2. what plan accepts, render renders -------------------------------------------------------

@pytest.mark.parametrize("kind", ["192k", "nan"])
def test_render_takes_every_file_plan_takes(tmp_path, capsys, kind):
    sr = 192000 if kind == "192k" else 44100
    x = panned_noise(40, duration_s=1.0, sr=sr)
    if kind == "nan":
        x[:, 500:600] = np.nan
    audio = write_wav(tmp_path / f"{kind}.wav", x, sr=sr)
    out = tmp_path / "v.mp4"
    code, err = run_cli(capsys, "render", audio, "-o", out, "--size", "64x64", "--frames", "4")
    assert code == 0, err
    info = probe_mp4(out)
    assert info["audio"]["duration_s"] == pytest.approx(1.0, abs=0.1)


# -- 3. an output is never one of the inputs ----------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["spatialize", "{clip}", "--plan", "{plan}", "-o", "{clip}"],
    ["spatialize", "{clip}", "--plan", "{plan}", "-o", "{tmp}/./car.wav"],
    ["check", "{clip}", "--plan", "{plan}", "--json", "{plan}"],
    ["render", "{video}", "-o", "{video}"],
    ["plan", "{jsonaudio}", "-o", "{jsonaudio}"],
    ["plan", "{jsonaudio}", "--out-dir", "{tmp}"],
    ["cues", "{jsonaudio}", "-o", "{jsonaudio}"],
])
def test_an_output_that_is_an_input_is_refused(clip, plan, tmp_path, capsys, argv):
    video = tmp_path / "clip.mp4"
    with Mp4Writer(video, fps=12, size=(64, 64), audio_path=clip, duration_s=1.0) as w:
        w.write(np.full((64, 64, 3), 128, np.uint8))
    jsonaudio = tmp_path / "take.json"  # a WAV with an odd name
    sf.write(str(jsonaudio), panned_noise(20, duration_s=1.0).T, 44100, format="WAV")
    before = snapshot(tmp_path)
    fmt = dict(clip=clip, plan=plan, tmp=tmp_path, video=video, jsonaudio=jsonaudio)
    code, err = run_cli(capsys, *[a.format(**fmt) for a in argv])
    assert code == 2 and "is also an input" in one_clean_line(err)
    assert snapshot(tmp_path) == before


def test_mux_output_that_is_the_video_is_refused(clip, tmp_path, capsys):
    video = tmp_path / "clip.mp4"
    with Mp4Writer(video, fps=12, size=(64, 64), audio_path=clip, duration_s=1.0) as w:
        w.write(np.full((64, 64, 3), 128, np.uint8))
    mono = write_wav(tmp_path / "hum.wav", panned_noise(0, duration_s=1.0)[:1])
    before = snapshot(tmp_path)
    code, err = run_cli(capsys, "spatialize", mono, "--video", video, "-o", tmp_path / "o.wav",
                        "--mux", video)
    assert code == 2 and "is also an input" in one_clean_line(err)
    assert snapshot(tmp_path) == before


# -- 4. unwritable outputs fail before the work, in one line ------------------------------------

@pytest.mark.parametrize("cmd", ["plan", "cues", "render", "spatialize", "plan-dir"])
def test_an_out_dir_that_is_a_file_fails_before_the_analysis(clip, plan, tmp_path, capsys, cmd,
                                                               monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    # the pipeline imports the extractor when it runs (start-up time), so patch it at its home
    import engine.cues.extract as extract
    monkeypatch.setattr(extract, "extract_cues", _must_not_run)
    argv = {"plan": ["plan", clip, "-o", blocker / "p.json"],
            "plan-dir": ["plan", clip, "--out-dir", blocker],
            "cues": ["cues", clip, "-o", blocker / "c.json"],
            "render": ["render", clip, "-o", blocker / "v.mp4"],
            "spatialize": ["spatialize", clip, "--plan", plan, "-o", blocker / "s.wav"]}[cmd]
    before = snapshot(tmp_path)
    code, err = run_cli(capsys, *argv)
    line = one_clean_line(err)
    assert code == 2 and "blocker" in line and "not a folder" in line
    assert snapshot(tmp_path) == before


def _must_not_run(*a, **k):
    raise AssertionError("the analysis ran before the output was checked")


def test_a_write_error_mid_way_is_one_line_and_keeps_the_old_file(clip, plan, tmp_path, capsys,
                                                                    monkeypatch):
    old = plan.read_bytes()
    import engine.fileio as fileio
    real = fileio.os.replace

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(fileio.os, "replace", full_disk)
    code, err = run_cli(capsys, "plan", clip, "-o", plan)
    monkeypatch.setattr(fileio.os, "replace", real)
    line = one_clean_line(err)
    assert code == 2 and "No space left on device" in line and "plan.json" in line
    assert plan.read_bytes() == old
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_spatialize_write_error_names_the_problem(clip, plan, tmp_path, capsys, monkeypatch):
    import soundfile

    def broken_write(*a, **k):  # what libsndfile says on a full or vanished disk
        raise soundfile.LibsndfileError(2, "Error opening file: ")
    monkeypatch.setattr(soundfile, "write", broken_write)
    code, err = run_cli(capsys, "spatialize", clip, "--plan", plan, "-o", tmp_path / "o.wav")
    line = one_clean_line(err)
    assert code == 2 and "o.wav" in line and line != "spa2v: System error."
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


# -- 6. Ctrl-C in a batch says what was written -------------------------------------------------

def test_ctrl_c_in_a_batch_says_what_was_written(tmp_path, capsys, monkeypatch):
    clips = [write_wav(tmp_path / f"{n}.wav", panned_noise(a, duration_s=0.5, seed=i))
             for i, (n, a) in enumerate([("a", -40), ("b", 0), ("c", 40)])]
    import engine.pipeline as pipeline
    real = pipeline.plan_job

    def interrupted_third(path, *a, **k):
        if Path(path).stem == "c":
            raise KeyboardInterrupt
        return real(path, *a, **k)
    monkeypatch.setattr(pipeline, "plan_job", interrupted_third)
    # -q: on a busy machine a plan runs past the second after which progress lines show.
    code, err = run_cli(capsys, "plan", *clips, "--out-dir", tmp_path / "plans", "-q")
    assert code == 130
    line = one_clean_line(err)
    assert "nothing was written" not in line
    assert "a.json" in line and "b.json" in line and "c.wav" in line
    assert sorted(p.name for p in (tmp_path / "plans").iterdir()) == ["a.json", "b.json"]


def test_a_bad_file_in_a_batch_says_what_was_written_and_what_not(tmp_path, capsys):
    good = write_wav(tmp_path / "a.wav", panned_noise(-40, duration_s=0.5))
    silent = write_wav(tmp_path / "b.wav", 0 * panned_noise(0, duration_s=0.5))  # opens fine
    later = write_wav(tmp_path / "c.wav", panned_noise(40, duration_s=0.5, seed=2))
    code, err = run_cli(capsys, "plan", good, silent, later, "--out-dir", tmp_path / "plans",
                        "-q")
    assert code == 2
    line = one_clean_line(err)
    # The error alone did not say that a.json stands and c.wav was never planned.
    assert "b.wav is silent" in line
    assert "wrote" in line and "a.json" in line and "not done" in line and "c.wav" in line
    assert sorted(p.name for p in (tmp_path / "plans").iterdir()) == ["a.json"]


@pytest.mark.parametrize("content", [b"", b"not a sound at all"])
def test_a_file_that_is_not_sound_stops_a_batch_before_any_work(tmp_path, capsys, content):
    # It was found at its turn: after the earlier plans and after two lines of news about the
    # defaults, so the error was not the one line on stderr.
    good = write_wav(tmp_path / "a.wav", panned_noise(-40, duration_s=0.5))
    bad = tmp_path / "b.wav"
    bad.write_bytes(content)
    code, err = run_cli(capsys, "plan", good, bad, "--out-dir", tmp_path / "plans")
    assert code == 2
    assert err.count("\n") == 1 and "b.wav" in one_clean_line(err)
    assert not (tmp_path / "plans").exists()


def test_ctrl_c_while_the_commands_load_is_one_line(capsys, monkeypatch):
    # The first third of a second goes on importing numpy for the parser: Ctrl+C there gave
    # a traceback and no word of what was (not) written.
    import spa2v_app.cli as cli

    def interrupted():
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "build_parser", interrupted)
    try:
        code, err = run_cli(capsys, "plan", "x.wav", "-o", "x.json")
    except KeyboardInterrupt:
        pytest.fail("Ctrl+C escaped main(): Python prints a traceback")
    assert code == 130 and one_clean_line(err) == "spa2v: cancelled; nothing was written."


# -- 7. same-stem inputs get distinct outputs ---------------------------------------------------

def test_same_stem_inputs_get_unique_names_and_say_so(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    x1 = write_wav(tmp_path / "a" / "x.wav", panned_noise(-50, duration_s=0.5))
    x2 = write_wav(tmp_path / "b" / "x.wav", panned_noise(50, duration_s=0.5, seed=2))
    out = tmp_path / "plans"
    code, err = run_cli(capsys, "plan", x1, x2, "--out-dir", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["x-2.json", "x.json"]
    assert "x-2.json" in err and str(x2) in err
    assert err.count("wrote ") == 2
    from engine.layout import load_layout
    assert load_layout(out / "x.json").objects[0].boxes[0][0] < 0.5  # a/x.wav: on the left
    assert load_layout(out / "x-2.json").objects[0].boxes[0][0] > 0.3  # b/x.wav: on the right


# -- 8. hostile JSON ----------------------------------------------------------------------------

HOSTILE_JSON = {
    "deep": "[" * 100_000 + "]" * 100_000,
    "deep-object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "huge-int": '{"schema": "spa2v.vsl/1", "duration_s": ' + "9" * 5000 + "}",
    "huge-float": '{"schema": "spa2v.vsl/1", "duration_s": 1e999, "num_frames": 1e999}',
    "big-int-field": '{"schema": "spa2v.vsl/1", "duration_s": 2, "num_frames": ' + "9" * 400 + "}",
    "not-an-object": "[1, 2, 3]",
    "wrong-types": '{"schema": "spa2v.vsl/1", "duration_s": "long", "objects": "many"}',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_JSON))
@pytest.mark.parametrize("cmd", ["render", "spatialize", "check"])
def test_hostile_plan_json_is_one_line(clip, tmp_path, capsys, kind, cmd):
    bad = tmp_path / "bad.json"
    bad.write_text(HOSTILE_JSON[kind])
    argv = {"render": ["render", clip, "--plan", bad, "-o", tmp_path / "v.mp4"],
            "spatialize": ["spatialize", clip, "--plan", bad, "-o", tmp_path / "s.wav"],
            "check": ["check", clip, "--plan", bad]}[cmd]
    before = snapshot(tmp_path)
    code, err = run_cli(capsys, *argv)
    assert code == 2 and "bad.json" in one_clean_line(err)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("doc", [
    HOSTILE_JSON["deep"],
    '{"schema": "spa2v.project/1", "settings": ' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}",
    '{"schema": "spa2v.project/1", "version": ' + "9" * 5000 + "}",
    '{"schema": "spa2v.project/1", "version": 1e999}',
    '{"schema": "spa2v.project/1", "audio": "x"}',
    '{"schema": "spa2v.project/1", "audio": {"path": 5}}',
    '{"schema": "spa2v.project/1", "renders": "abc"}',
    '{"schema": "spa2v.project/1", "name": ["x"]}',
    '{"schema": "spa2v.project/1", "cues": "x", "layout": 5}',
])
def test_hostile_project_files_are_one_clear_error(tmp_path, doc):
    from engine.project import load_project
    path = tmp_path / "p.spa2v"
    path.write_text(doc)
    with pytest.raises(BadInput) as e:
        load_project(path)
    assert "p.spa2v" in str(e.value) and "\n" not in str(e.value)


def test_an_unreadable_render_record_is_left_out_with_a_note(tmp_path):
    from engine.project import load_project
    path = tmp_path / "p.spa2v"
    path.write_text('{"schema": "spa2v.project/1", "renders": [{"path": {"a": 1}}, 7]}')
    project = load_project(path)
    assert project.renders == [] and len(project.notes) == 2


def test_a_project_audio_path_that_climbs_out_is_resolved_and_shown(tmp_path):
    from engine.project import load_project
    folder = tmp_path / "deep" / "er"
    folder.mkdir(parents=True)
    outside = write_wav(tmp_path / "outside.wav", panned_noise(0, duration_s=0.3))
    path = folder / "p.spa2v"
    path.write_text(json.dumps({"schema": "spa2v.project/1", "name": "../../../../tmp/evil",
                                "audio": {"path": "../../outside.wav"}}))
    project = load_project(path)
    assert project.audio_path == outside.resolve()
    assert any(str(outside.resolve()) in n and "outside the project's folder" in n
               for n in project.notes)
    assert "/" not in project.name and ".." not in project.name  # never a path to write to


# -- 10. GGUF files are read, not just sniffed --------------------------------------------------

def test_a_garbage_file_with_the_gguf_magic_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "models"))
    garbage = tmp_path / "llm.gguf"
    garbage.write_bytes(b"GGUF" + struct.pack("<I", 3) + os.urandom(4096))
    from models.safety import UnsafeModelFile, check_weights
    with pytest.raises(UnsafeModelFile, match="llm.gguf"):
        check_weights(garbage)
    code, err = run_cli(capsys, "models", "import", garbage, "--as", "planner-llm-default")
    assert code == 2 and "llm.gguf" in one_clean_line(err)
    assert not (tmp_path / "models" / "imported.json").exists()


def test_info_and_verify_call_a_garbage_gguf_in_place_corrupt(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "models"))
    from models.registry import load_registry
    entry = load_registry().get("planner-llm-default")
    dest = tmp_path / "models" / entry.name / entry.files[0].path
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"GGUF" + struct.pack("<I", 3) + os.urandom(4096))
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "planner-llm-default (corrupt)" in out and "llama: not ready" in out
    code, _ = run_cli(capsys, "models", "verify", "planner-llm-default")
    assert code != 0


def test_a_gguf_whose_tensors_run_past_its_end_is_refused(tmp_path):
    from models.safety import UnsafeModelFile, check_weights
    from tests.models.conftest import make_gguf
    whole = make_gguf(1000)
    (tmp_path / "ok.gguf").write_bytes(whole)
    assert check_weights(tmp_path / "ok.gguf") == "gguf"
    (tmp_path / "cut.gguf").write_bytes(whole[:-2000])  # a download cut short
    with pytest.raises(UnsafeModelFile, match="cut.gguf"):
        check_weights(tmp_path / "cut.gguf")


# -- 11. a DC offset is not a sound -------------------------------------------------------------

def test_a_dc_offset_alone_is_refused_as_silent(tmp_path, capsys):
    dc = write_wav(tmp_path / "dc.wav", np.full((2, 22050), 0.3, np.float32))
    out = tmp_path / "p.json"
    code, err = run_cli(capsys, "plan", dc, "-o", out)
    assert code == 2 and "silent" in one_clean_line(err) and not out.exists()


def test_a_sound_on_a_dc_offset_is_still_placed(tmp_path, capsys):
    x = panned_noise(-60, duration_s=1.0) + 0.3
    clip = write_wav(tmp_path / "offset.wav", x)
    out = tmp_path / "p.json"
    # Named by hand: what the tagger calls noise (water, rain) may fill the frame's width, and
    # this is about where the sound is placed.
    code, err = run_cli(capsys, "plan", clip, "-o", out, "--frames", "4", "--hint", "a dog")
    assert code == 0, err
    from engine.layout import load_layout
    box = load_layout(out).objects[0].boxes[0]
    assert (box[0] + box[2]) / 2 < 0.4  # on the left, as heard


# -- 12. the small ones -------------------------------------------------------------------------

def test_errors_do_not_start_with_a_blank_line(tmp_path, capsys):
    code, err = run_cli(capsys, "plan", tmp_path / "missing.wav", "-o", tmp_path / "p.json")
    assert code == 2 and err.startswith("spa2v: ") and "\n\n" not in err


def test_a_folder_given_to_spatialize_is_called_a_folder(plan, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    code, err = run_cli(capsys, "spatialize", tmp_path / "in", "--plan", plan, "-o",
                        tmp_path / "o.wav")
    line = one_clean_line(err)
    assert code == 2 and "is a folder" in line and "not found" not in line


def test_a_hint_with_control_characters_is_blamed_on_the_hint(clip, tmp_path, capsys):
    code, err = run_cli(capsys, "plan", clip, "-o", tmp_path / "p.json", "--hint", "a car\x07")
    line = one_clean_line(err)
    assert code == 2 and "--hint" in line and "objects[0]" not in line


def test_a_file_named_like_an_option_gets_a_hint(tmp_path, capsys, monkeypatch):
    write_wav(tmp_path / "-x.wav", panned_noise(0, duration_s=0.5))
    monkeypatch.chdir(tmp_path)
    code, err = run_cli(capsys, "plan", "-x.wav", "-o", "p.json")
    assert code == 2 and "-- -x.wav" in one_clean_line(err)
    code, err = run_cli(capsys, "-q", "plan", "-o", "p.json", "--", "-x.wav")
    assert code == 0, err


def test_quiet_works_after_the_subcommand(clip, tmp_path, capsys):
    code, err = run_cli(capsys, "plan", clip, "-o", tmp_path / "p.json", "-q")
    assert code == 0 and "wrote" not in err and "built-in defaults" not in err


def test_a_truncated_wav_is_warned_about(tmp_path, capsys):
    whole = write_wav(tmp_path / "whole.wav", panned_noise(30, duration_s=1.0), subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: 44 + 4 * 22050])  # the header still says 1 s
    code, err = run_cli(capsys, "plan", cut, "-o", tmp_path / "p.json")
    assert code == 0, err
    assert "cut.wav is cut short: 50%" in err
    code, err = run_cli(capsys, "plan", whole, "-o", tmp_path / "q.json")
    assert "cut short" not in err
    assert sf.info(str(cut)).frames == 22050


@pytest.mark.parametrize("command", ["plan", "cues", "render"])
def test_a_clip_too_short_to_measure_is_one_line_naming_it(tmp_path, capsys, command):
    # It passed the header check and was refused only when measured: after two lines of news
    # about the defaults, and as "The audio is 10 ms long", without the file's name.
    short = write_wav(tmp_path / "blip.wav", panned_noise(-40, duration_s=0.01))
    ext = ".mp4" if command == "render" else ".json"
    code, err = run_cli(capsys, command, short, "-o", tmp_path / f"out{ext}")
    assert code == 2
    line = one_clean_line(err)
    assert err.count("\n") == 1 and line.startswith("spa2v: blip.wav is 10 ms long")
    assert list(tmp_path.iterdir()) == [short]


def test_a_plan_to_a_full_standard_output_says_it_was_standard_output(clip, capsys,
                                                                        monkeypatch):
    # 'spa2v plan clip.wav > /dev/full' said only "No space left on device.", not what could
    # not be written.
    import errno
    import sys

    def full(_text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(sys.stdout, "write", full)
    code, err = run_cli(capsys, "plan", clip, "-q")
    assert code == 2
    assert one_clean_line(err) == ("spa2v: Could not write the plan to standard output: No "
                                   "space left on device. Give a file with -o plan.json.")


def test_a_header_without_samples_is_one_line_before_any_work(tmp_path, capsys):
    # "holds no audio samples" came third, after two lines of news about the defaults.
    empty = tmp_path / "hdr.wav"
    sf.write(empty, np.zeros((0, 2), np.float32), 44100)
    code, err = run_cli(capsys, "plan", empty, "-o", tmp_path / "out.json")
    assert code == 2
    assert err.count("\n") == 1 and one_clean_line(err) == "spa2v: hdr.wav holds no audio samples."
