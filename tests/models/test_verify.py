"""verify: against the registry's pin, the user's pin, the hub's hash, or format only; pin."""

from __future__ import annotations

import json
import os

import pytest

from engine.errors import BadInput
from engine.jobs import Progress, run_job
from models.download import download_job
from models.registry import locate
from models.verify import NOT_PINNED, verify_job

from .conftest import GGUF_NAME, UNET, make_gguf


def _verify(name, registry, paths, **kw):
    events = []
    result = run_job(verify_job(name, registry=registry, paths=paths, **kw), events.append)
    return result, events


def _damage(path):
    real = os.path.realpath(path)
    data = bytearray(open(real, "rb").read())
    data[len(data) // 2] ^= 0xFF
    os.chmod(real, 0o644)
    with open(real, "wb") as f:
        f.write(bytes(data))


def test_a_pinned_model_verifies_ok_and_damage_is_found(hub, registry, model_env):
    run_job(download_job("tiny-llm", registry=registry, paths=model_env))
    result, events = _verify("tiny-llm", registry, model_env)
    assert result.state == "ok" and "OK" in result.summary()
    assert [e.fraction for e in events if isinstance(e, Progress)][-1] == 1.0

    _damage(locate("tiny-llm", model_env, registry=registry).path())
    result, _ = _verify("tiny-llm", registry, model_env)
    assert result.state == "corrupt" and not result.ok
    assert GGUF_NAME in result.summary() and "expected" in result.summary()


def test_an_unpinned_model_says_so_and_still_checks_the_hub_hash(hub, registry, model_env):
    run_job(download_job("tiny-diffusers", registry=registry, paths=model_env))
    result, _ = _verify("tiny-diffusers", registry, model_env)
    assert result.state == "unpinned" and result.ok
    assert NOT_PINNED in result.summary() and "3 of 3 files also match the hub" in result.summary()

    _damage(locate("tiny-diffusers", model_env, registry=registry).files[UNET])
    result, _ = _verify("tiny-diffusers", registry, model_env)
    assert result.state == "corrupt" and UNET in result.summary()


def test_a_file_outside_the_cache_without_pins_gets_format_checks_only(tmp_path, registry, model_env, tiny_files):
    root = model_env.models_dir / "tiny-diffusers"
    for rel in ("model_index.json", "unet/config.json", UNET):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(tiny_files[rel])
    result, _ = _verify("tiny-diffusers", registry, model_env)
    assert result.state == "unpinned" and result.summary() == f"tiny-diffusers: {NOT_PINNED}"
    assert all(f.basis == "" for f in result.files)


def test_pin_records_sha256_and_later_damage_is_caught(registry, model_env, tiny_files):
    root = model_env.models_dir / "tiny-diffusers"
    for rel in ("model_index.json", "unet/config.json", UNET):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(tiny_files[rel])

    result, _ = _verify("tiny-diffusers", registry, model_env, record=True)

    pins = json.loads(model_env.pins_file.read_text())
    assert pins["schema"] == "spa2v.model-pins/1"
    import hashlib
    assert pins["models"]["tiny-diffusers"]["files"][UNET] == {
        "size": len(tiny_files[UNET]), "sha256": hashlib.sha256(tiny_files[UNET]).hexdigest()}
    result, _ = _verify("tiny-diffusers", registry, model_env)
    assert result.state == "ok" and all(f.basis == "user" for f in result.files)
    _damage(root / UNET)
    result, _ = _verify("tiny-diffusers", registry, model_env)
    assert result.state == "corrupt"
    with pytest.raises(BadInput, match="Not pinning"):
        _verify("tiny-diffusers", registry, model_env, record=True)


def test_a_missing_model_and_a_package_model(registry, model_env):
    result, _ = _verify("tiny-llm", registry, model_env)
    assert result.state == "missing" and not result.ok
    result, _ = _verify("tiny-tagger", registry, model_env)
    assert result.state == "unpinned" and NOT_PINNED in result.summary()


def test_a_custom_import_is_checked_for_format_only(tmp_path, registry, model_env):
    from models.local_store import import_model
    src = tmp_path / "other.gguf"
    src.write_bytes(make_gguf(300, seed=3))
    import_model(src, as_name="tiny-llm", paths=model_env, registry=registry)
    result, _ = _verify("tiny-llm", registry, model_env)
    assert result.state == "unpinned"
