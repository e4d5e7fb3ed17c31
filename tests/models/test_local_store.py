"""Import models already on disk (a GGUF by path, a folder, a copied HF cache) and remove them."""

from __future__ import annotations

import json
import pickle
import shutil
import time

import pytest

from engine.errors import BadInput
from engine.jobs import run_job
from models.download import download_job
from models.local_store import import_model, remove_model
from models.registry import hf_repo_folder, list_statuses, locate, read_index
from models.safety import UnsafeModelFile

from .conftest import DIFF_REPO, GGUF_NAME, UNET, make_gguf


def _state(paths, registry, name):
    return {s.name: s for s in list_statuses(paths, registry=registry)}[name]


def test_a_gguf_file_is_imported_by_path_and_found_where_it_is(tmp_path, registry, model_env, tiny_files):
    src = tmp_path / "usb" / GGUF_NAME
    src.parent.mkdir()
    src.write_bytes(tiny_files[GGUF_NAME])

    [result] = import_model(src, paths=model_env, registry=registry)

    assert (result.name, result.how, result.custom) == ("tiny-llm", "linked", False)
    loc = locate("tiny-llm", model_env, registry=registry)
    assert loc.kind == "imported" and loc.path() == src
    assert _state(model_env, registry, "tiny-llm").state == "installed"
    index = json.loads(model_env.index_file.read_text())
    assert index["schema"] == "spa2v.model-index/1" and index["models"]["tiny-llm"]["path"] == str(src.parent)


def test_a_gguf_with_another_name_is_bound_with_as_and_checked_for_format_only(tmp_path, registry, model_env):
    src = tmp_path / "my-own-model-Q5_K_M.gguf"
    src.write_bytes(make_gguf(500, seed=7))
    with pytest.raises(BadInput, match="--as NAME"):
        import_model(src, paths=model_env, registry=registry)

    [result] = import_model(src, as_name="tiny-llm", paths=model_env, registry=registry)

    assert result.custom and result.how == "linked"
    assert locate("tiny-llm", model_env, registry=registry).path() == src
    # The registry's size/sha256 pin is for the registry's file, not this one.
    assert _state(model_env, registry, "tiny-llm").state == "installed"


def test_import_copy_writes_into_the_models_folder(tmp_path, registry, model_env, tiny_files):
    src = tmp_path / GGUF_NAME
    src.write_bytes(tiny_files[GGUF_NAME])
    [result] = import_model(src, copy=True, paths=model_env, registry=registry)
    src.unlink()  # the USB stick is gone
    assert result.how == "copied"
    loc = locate("tiny-llm", model_env, registry=registry)
    assert loc.kind == "models-folder" and loc.path().read_bytes() == tiny_files[GGUF_NAME]
    assert not [p for p in loc.path().parent.iterdir() if ".part" in p.name]


def test_pickle_files_are_refused_on_import(tmp_path, registry, model_env):
    ckpt = tmp_path / "tiny-q4.ckpt"
    ckpt.write_bytes(pickle.dumps({"w": 1}))
    with pytest.raises(UnsafeModelFile, match="pickle"):
        import_model(ckpt, as_name="tiny-llm", paths=model_env, registry=registry)
    fake = tmp_path / GGUF_NAME
    fake.write_bytes(pickle.dumps({"w": 1}))
    with pytest.raises(UnsafeModelFile):
        import_model(fake, paths=model_env, registry=registry)
    assert not model_env.index_file.exists()


def test_a_model_folder_is_imported(tmp_path, registry, model_env, tiny_files):
    folder = tmp_path / "copied" / "sd"
    for rel in ("model_index.json", "unet/config.json", UNET):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(tiny_files[rel])
    [result] = import_model(folder, paths=model_env, registry=registry)
    assert result.name == "tiny-diffusers" and result.files == 3
    assert locate("tiny-diffusers", model_env, registry=registry).root == folder


def test_a_folder_without_a_known_model_is_refused_with_what_was_expected(tmp_path, registry, model_env):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match="model_index.json"):
        import_model(tmp_path / "empty", paths=model_env, registry=registry)


def test_a_copied_hf_cache_is_imported(hub, tmp_path, registry, model_env):
    run_job(download_job("tiny-diffusers", registry=registry, paths=model_env))
    other = tmp_path / "usb-cache"
    shutil.copytree(model_env.hf_cache_dir, other, symlinks=True)
    shutil.rmtree(model_env.hf_cache_dir)
    assert locate("tiny-diffusers", model_env, registry=registry) is None

    results = import_model(other, paths=model_env, registry=registry)

    assert [r.name for r in results] == ["tiny-diffusers"] and results[0].how == "cache"
    assert read_index(model_env)["hf_caches"] == [str(other.resolve())]
    assert locate("tiny-diffusers", model_env, registry=registry).root.is_relative_to(other.resolve())


def test_remove_deletes_the_cached_files_and_only_forgets_a_linked_import(hub, tmp_path, registry, model_env,
                                                                          tiny_files):
    run_job(download_job("tiny-diffusers", registry=registry, paths=model_env))
    result = remove_model("tiny-diffusers", paths=model_env, registry=registry)
    assert result.freed_bytes == sum(len(tiny_files[p]) for p in ("model_index.json", "unet/config.json", UNET))
    repo = hf_repo_folder(model_env.hf_cache_dir, DIFF_REPO)
    assert not [p for p in (repo / "snapshots").rglob("*") if p.is_file()]
    assert not [p for p in (repo / "blobs").iterdir()]
    assert _state(model_env, registry, "tiny-diffusers").state == "missing"

    src = tmp_path / GGUF_NAME
    src.write_bytes(tiny_files[GGUF_NAME])
    import_model(src, paths=model_env, registry=registry)
    result = remove_model("tiny-llm", paths=model_env, registry=registry)
    assert src.exists() and "the file stays" in result.actions[0]
    assert _state(model_env, registry, "tiny-llm").state == "missing"
    with pytest.raises(BadInput, match="not installed"):
        remove_model("tiny-llm", paths=model_env, registry=registry)


def test_package_models_are_not_imported_or_removed(tmp_path, registry, model_env):
    with pytest.raises(BadInput, match="pip uninstall soundfile"):
        remove_model("tiny-tagger", paths=model_env, registry=registry)


def test_two_imports_at_once_both_stay_recorded(tmp_path, registry, model_env, monkeypatch):
    """Two imports at once (two commands, or the studio and a command): each read the index,
    added its model and wrote it back, so the later write dropped the other's record and that
    model was 'missing' again. Reading is slowed here so the two always overlap."""
    import threading

    import models.local_store as store
    from models.local_store import _record

    slow_read = store.read_index

    def read_index(paths):
        index = slow_read(paths)
        time.sleep(0.3)
        return index

    monkeypatch.setattr(store, "read_index", read_index)
    errors = []

    def record(name):
        try:
            _record(model_env, name, {"kind": "folder", "path": str(tmp_path / name)})
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=record, args=(n,)) for n in ("tiny-llm", "tiny-diffusers")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    index = json.loads(model_env.index_file.read_text())
    assert set(index["models"]) == {"tiny-llm", "tiny-diffusers"}


def test_two_pins_at_once_both_stay_recorded(registry, model_env, monkeypatch):
    import threading

    import models.local_store as store

    slow_read = store.read_pins

    def read_pins(paths):
        pins = slow_read(paths)
        time.sleep(0.3)
        return pins

    monkeypatch.setattr(store, "read_pins", read_pins)
    threads = [threading.Thread(target=store.record_pins, args=(model_env, n),
                                kwargs={"revision": None, "files": {"a": {"size": 1}}})
               for n in ("tiny-llm", "tiny-diffusers")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pins = json.loads(model_env.pins_file.read_text())
    assert set(pins["models"]) == {"tiny-llm", "tiny-diffusers"}


def test_a_projector_is_not_imported_as_a_planner_llm(tmp_path, registry, model_env):
    """It showed 'installed' (format checked only), and every plan then fell back."""
    pytest.importorskip("gguf")
    from tests.models.tiny_mmproj import write_tiny_audio_projector

    src = write_tiny_audio_projector(tmp_path / "mmproj-Omni.gguf", n_embd_text=64)
    with pytest.raises(BadInput, match=r"Cannot import mmproj-Omni.gguf as tiny-llm: .* is a "
                                       r"projector \(mmproj"):
        import_model(src, as_name="tiny-llm", paths=model_env, registry=registry)
    assert not model_env.index_file.exists()


def test_a_model_imported_from_a_drive_that_is_gone_says_so(tmp_path, registry, model_env,
                                                            tiny_files):
    """It showed only 'missing', and list and the planner said to download it again."""
    stick = tmp_path / "usb"
    stick.mkdir()
    (stick / GGUF_NAME).write_bytes(tiny_files[GGUF_NAME])
    import_model(stick / GGUF_NAME, paths=model_env, registry=registry)
    shutil.rmtree(stick)  # unplugged
    status = _state(model_env, registry, "tiny-llm")
    assert status.state == "missing"
    assert status.detail.startswith(f"imported from {stick}, which is not there now")
    from models import readiness
    llama = next(r for r in readiness.planner_readiness([status]) if r.name == "llama")
    assert "which is not there now" in llama.reason and "download" not in llama.reason
