"""``--planner``, ``--llm-model``, ``--gemini-model``: the planner asked for, and what the user
is told when it cannot be had."""

import argparse

import pytest

from engine.errors import BadInput, ModelMissing
from spa2v_app.cli import main
from spa2v_app.cli.planner_options import (add_planner_arguments, planner_from_args,
                                           planner_name_from_args)
from tests.synth import panned_noise, write_wav


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_planner_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize("argv, name", [
    ((), "heuristic"),
    (("--planner", "gemini"), "gemini"),
    (("--llm-model", "m.gguf"), "llama"),
    (("--planner", "llama", "--llm-model", "m.gguf"), "llama"),
    (("--gemini-model", "gemini-2.0-flash"), "gemini"),
])
def test_planner_names(argv, name):
    assert planner_name_from_args(parse(*argv)) == name


def test_conflicting_options_are_bad_input():
    with pytest.raises(BadInput, match="--llm-model is for --planner llama"):
        planner_name_from_args(parse("--planner", "gemini", "--llm-model", "m.gguf"))
    with pytest.raises(BadInput, match="give one"):
        planner_name_from_args(parse("--llm-model", "m.gguf", "--gemini-model", "g"))
    with pytest.raises(SystemExit):
        parse("--planner", "gpt")


def test_default_planner_needs_nothing():
    assert planner_from_args(parse()).name == "heuristic"


def test_llama_without_a_model_file_says_which_file(tmp_path):
    pytest.importorskip("llama_cpp")
    with pytest.raises(ModelMissing, match="No GGUF file at .*missing.gguf"):
        planner_from_args(parse("--llm-model", str(tmp_path / "missing.gguf")))


def test_spa2v_plan_with_llama_and_no_model_exits_2_and_says_how(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    clip = write_wav(tmp_path / "dog.wav", panned_noise(-40, duration_s=1.0))
    out = tmp_path / "plan.json"
    assert main(["plan", str(clip), "-o", str(out), "--planner", "llama"]) == 2
    err = capsys.readouterr().err
    assert "spa2v models download planner-llm-default" in err or "spa2v-studio[llm]" in err
    assert "--planner heuristic" in err or "default planner" in err
    assert not out.exists()
    # ... and the default planner keeps working.
    assert main(["plan", str(clip), "-o", str(out)]) == 0 and out.exists()


def test_gemini_hears_the_audio_unless_told_not_to_and_the_help_says_so(monkeypatch):
    """The CLI could only send the audio (the studio has a box for it), and its help said only
    the cues leave the machine."""
    from models.backends import PLANNERS

    monkeypatch.setenv("GEMINI_API_KEY", "test-key")
    assert planner_from_args(parse("--planner", "gemini")).send_audio is True
    quiet = planner_from_args(parse("--gemini-no-audio"))
    assert quiet.name == "gemini" and quiet.send_audio is False
    with pytest.raises(BadInput, match="--gemini-no-audio is for --planner gemini"):
        planner_name_from_args(parse("--planner", "llama", "--gemini-no-audio"))
    assert "audio" in PLANNERS["gemini"].summary
