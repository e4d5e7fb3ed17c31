"""``spa2v plan --listener tagger|audio-llm``: what names the sounds, and that the command
says which (no model weights here, so the audio listener is never the default)."""

import subprocess
import sys
from pathlib import Path


from tests.synth import panned_noise, write_wav

REPO = Path(__file__).resolve().parents[2]


def _plan(tmp_path, *args):
    clip = write_wav(tmp_path / "clip.wav", panned_noise((-40, -40), duration_s=1.5, seed=1))
    env = {"SPA2V_MODELS_DIR": str(tmp_path / "models"), "HF_HUB_CACHE": str(tmp_path / "hf"),
           "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    import os
    env = {**os.environ, **env}
    env.pop("SPA2V_REGISTRY", None)
    return subprocess.run([sys.executable, "-m", "spa2v_app", "plan", str(clip), "-o",
                           str(tmp_path / "plan.json"), *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_without_a_listener_model_the_tagger_names_and_the_command_says_so(tmp_path):
    out = _plan(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "named by the built-in sound tagger" in out.stdout + out.stderr
    assert "listener-audio-default" in out.stdout + out.stderr
    assert "(no audio listener model is installed; spa2v models download listener-audio-default)" \
        in out.stderr and "cannot be used" not in out.stderr


def test_asking_for_the_tagger_says_so(tmp_path):
    out = _plan(tmp_path, "--listener", "tagger")
    assert out.returncode == 0 and "(--listener tagger)" in out.stdout + out.stderr


def test_asking_for_a_missing_audio_listener_is_one_clear_line_and_exit_2(tmp_path):
    out = _plan(tmp_path, "--listener", "audio-llm")
    assert out.returncode == 2
    lines = [l for l in out.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "audio listener" in lines[0]
    assert not (tmp_path / "plan.json").exists()


def test_a_half_installed_listener_is_named_as_such_not_as_missing(tmp_path):
    """The text model without its audio projector: the tagger still names the sounds, and the
    note says which file is missing (it used to say no listener was installed)."""
    import importlib.util

    import pytest
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("without llama-cpp-python the listener is never tried")
    from tests.models.tiny_gguf import write_tiny_llama

    folder = tmp_path / "models" / "listener-audio-default"
    folder.mkdir(parents=True)
    write_tiny_llama(folder / "Qwen2.5-Omni-7B-Q4_K_M.gguf", seed=0)
    out = _plan(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "only partly installed (missing mmproj-Qwen2.5-Omni-7B-Q8_0.gguf)" in out.stderr
    assert "no audio listener model is installed" not in out.stderr
    (tmp_path / "plan.json").unlink()
    out = _plan(tmp_path, "--listener", "audio-llm")
    assert out.returncode == 2 and "missing mmproj-Qwen2.5-Omni-7B-Q8_0.gguf" in out.stderr


def _render(tmp_path, *args):
    """``spa2v render`` without --plan plans first: it must name the sounds as ``plan`` does."""
    import os
    clip = write_wav(tmp_path / "clip.wav", panned_noise((-40, -40), duration_s=1.5, seed=1))
    env = {**os.environ, "SPA2V_MODELS_DIR": str(tmp_path / "models"),
           "HF_HUB_CACHE": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    env.pop("SPA2V_REGISTRY", None)
    return subprocess.run([sys.executable, "-m", "spa2v_app", "render", str(clip), "-o",
                           str(tmp_path / "out.mp4"), "--size", "64x64", *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_render_names_the_sounds_as_plan_does_and_takes_listener(tmp_path):
    # It used to plan with the tagger alone, whatever was installed, and had no --listener:
    # 'spa2v render clip.wav' and 'spa2v plan' + 'render --plan' named sounds differently.
    out = _render(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "named by the built-in sound tagger" in out.stderr
    (tmp_path / "out.mp4").unlink()
    out = _render(tmp_path, "--listener", "audio-llm")
    assert out.returncode == 2
    lines = [l for l in out.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "audio listener" in lines[0], out.stderr
    assert not (tmp_path / "out.mp4").exists()
