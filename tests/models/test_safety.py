"""Only safetensors and GGUF weights load; pickles are refused by name and by content."""

from __future__ import annotations

import pickle
import struct

import pytest

from models.safety import UnsafeModelFile, check_weights, refuse_pickle, weight_format

from .conftest import make_gguf, make_safetensors


@pytest.mark.parametrize("name", ["model.bin", "model.pt", "model.pth", "model.ckpt", "model.PKL"])
def test_pickle_checkpoints_are_refused_by_name(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}))
    with pytest.raises(UnsafeModelFile) as err:
        check_weights(path)
    assert name in str(err.value) and "safetensors" in str(err.value)
    with pytest.raises(UnsafeModelFile):
        refuse_pickle(path)


def test_a_pickle_renamed_to_safetensors_is_refused_by_content(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"weight": [1.0]}, protocol=4))
    assert weight_format(path) == "pickle"
    with pytest.raises(UnsafeModelFile, match="holds a Python pickle"):
        check_weights(path)


def test_a_torch_zip_checkpoint_renamed_to_gguf_is_refused(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(UnsafeModelFile, match="pickle"):
        check_weights(path)


def test_real_gguf_and_safetensors_files_pass(tmp_path):
    (tmp_path / "m.gguf").write_bytes(make_gguf(100))
    (tmp_path / "m.safetensors").write_bytes(make_safetensors(100))
    assert check_weights(tmp_path / "m.gguf") == "gguf"
    assert check_weights(tmp_path / "m.safetensors") == "safetensors"
    (tmp_path / "config.json").write_text("{}")
    assert check_weights(tmp_path / "config.json") == "other"


def test_a_truncated_safetensors_file_is_caught_by_its_header(tmp_path):
    data = make_safetensors(1000)
    path = tmp_path / "m.safetensors"
    path.write_bytes(data[: len(data) - 10])  # tensor data now runs past the end
    with pytest.raises(UnsafeModelFile, match="not a valid safetensors"):
        check_weights(path)
    path.write_bytes(struct.pack("<Q", 10**9) + b"{}")  # header longer than the file
    assert weight_format(path) == "unknown"


def test_a_gguf_without_its_magic_is_refused(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGML" + make_gguf(10)[4:])
    with pytest.raises(UnsafeModelFile, match="not a valid gguf"):
        check_weights(path)
