"""Fixtures for model-handling tests: a private models folder and HF cache, tiny real model
files (a GGUF and a safetensors written by their own libraries), a test registry, and a fake
hub on 127.0.0.1. Nothing here reaches the internet."""

from __future__ import annotations

import hashlib
import json
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest

from models.registry import ModelPaths, load_registry

from .fake_hub import FakeHub

LLM_REPO = "test-org/tiny-llm-GGUF"
DIFF_REPO = "test-org/tiny-diffusers"
GGUF_NAME = "tiny-q4.gguf"
UNET = "unet/diffusion_pytorch_model.fp16.safetensors"


def make_gguf(n_floats: int, seed: int = 0) -> bytes:
    """A real GGUF file (one float32 tensor) written by the gguf library when it is installed."""
    data = np.random.default_rng(seed).standard_normal(n_floats).astype(np.float32)
    try:
        import gguf
    except ImportError:  # the header a reader checks: magic, version 3, one tensor, no metadata
        return b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + data.tobytes()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.gguf"
        w = gguf.GGUFWriter(str(path), "llama")
        w.add_tensor("weight", data)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        return path.read_bytes()


def make_safetensors(n_floats: int, seed: int = 1) -> bytes:
    data = np.random.default_rng(seed).standard_normal(n_floats).astype(np.float16)
    try:
        from safetensors.numpy import save
    except ImportError:
        header = json.dumps({"weight": {"dtype": "F16", "shape": [n_floats],
                                        "data_offsets": [0, data.nbytes]}}).encode()
        return struct.pack("<Q", len(header)) + header + data.tobytes()
    return save({"weight": data})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="session")
def tiny_files() -> dict[str, bytes]:
    return {
        GGUF_NAME: make_gguf(600_000),  # 2.4 MB
        "model_index.json": json.dumps({"_class_name": "TinyPipeline", "unet": ["diffusers", "UNet2DModel"]}).encode(),
        "unet/config.json": json.dumps({"sample_size": 8, "in_channels": 4}).encode(),
        UNET: make_safetensors(1_000_000),  # 2 MB
    }


def registry_doc(files: dict[str, bytes], *, pin_llm: bool = True) -> dict:
    import importlib.metadata

    llm = files[GGUF_NAME]
    return {
        "schema": "spa2v.models/1",
        "models": [
            {"name": "tiny-llm", "role": "planner_llm", "title": "Tiny test LLM", "default": True,
             "source": {"kind": "hf", "repo_id": LLM_REPO, "revision": "main"}, "format": "gguf",
             "files": [{"path": GGUF_NAME, "size": len(llm) if pin_llm else None,
                        "sha256": sha256(llm) if pin_llm else None, "approx_size": len(llm)}],
             "licence": "apache-2.0", "vram_gb": 0.1, "ram_gb": 0.1},
            {"name": "tiny-diffusers", "role": "sd15_base", "title": "Tiny diffusers folder", "default": True,
             "source": {"kind": "hf", "repo_id": DIFF_REPO, "revision": "main"}, "format": "diffusers",
             "variant": "fp16",
             "files": [{"path": p, "size": None, "sha256": None, "approx_size": len(files[p])}
                       for p in ("model_index.json", "unet/config.json", UNET)],
             "licence": "creativeml-openrail-m"},
            {"name": "tiny-tagger", "role": "sound_tagger", "title": "A package-shipped model", "default": True,
             "source": {"kind": "pypi", "package": "soundfile",
                        "version": importlib.metadata.version("soundfile"), "file_glob": "soundfile.py"},
             "format": "onnx", "files": [], "licence": "unstated"},
        ],
    }


@pytest.fixture
def model_env(tmp_path, monkeypatch) -> ModelPaths:
    """An empty models folder and HF cache under tmp_path; online; the test registry."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HF_HOME", "XDG_DATA_HOME",
                "HUGGINGFACE_HUB_CACHE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    try:  # huggingface_hub reads HF_HUB_OFFLINE once, at import: a CI machine may have set it
        import huggingface_hub.constants as hf_constants
        monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    except ImportError:
        pass
    import models.download as download
    monkeypatch.setattr(download, "RETRY_DELAYS_S", (0.0, 0.0, 0.0))
    return ModelPaths.from_env()


@pytest.fixture
def registry_file(tmp_path, tiny_files, monkeypatch, model_env) -> Path:
    path = tmp_path / "models.json"
    path.write_text(json.dumps(registry_doc(tiny_files)), encoding="utf-8")
    monkeypatch.setenv("SPA2V_REGISTRY", str(path))
    return path


@pytest.fixture
def registry(registry_file):
    return load_registry(registry_file)


@pytest.fixture
def hub(tiny_files, registry_file, monkeypatch):
    h = FakeHub()
    h.add_repo(LLM_REPO, {GGUF_NAME: tiny_files[GGUF_NAME]})
    h.add_repo(DIFF_REPO, {p: tiny_files[p] for p in ("model_index.json", "unet/config.json", UNET)})
    h.start()
    monkeypatch.setenv("HF_ENDPOINT", h.url)
    yield h
    h.stop()


@pytest.fixture
def broken_torch(monkeypatch):
    """A torch built for CUDA libraries that are not installed: importing it raises OSError
    ("libcudnn.so.9: cannot open shared object file"), as such a wheel does."""
    import sys

    class BrokenTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch":
                raise OSError("libcudnn.so.9: cannot open shared object file")
            return None

    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setattr(sys, "meta_path", [BrokenTorch(), *sys.meta_path])
