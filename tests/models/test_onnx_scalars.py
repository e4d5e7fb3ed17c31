"""Reading quantization scalars from an ONNX protobuf without the onnx package."""

from __future__ import annotations

import struct

import pytest

from models.onnx_scalars import read_scalar_initializers


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _tensor(name: str, data_type: int, **parts: bytes) -> bytes:
    # TensorProto: dims=1, data_type=2, float_data=4, int32_data=5, name=8, raw_data=9
    body = _field(2, data_type) + _field(8, name.encode())
    numbers = {"float_data": 4, "int32_data": 5, "raw_data": 9}
    for key, value in parts.items():
        body += _field(numbers[key], value)
    return body


def _model(*tensors: bytes) -> bytes:
    node = _field(1, b"x")  # a node before the initializers, to be skipped
    graph = _field(1, node) + b"".join(_field(5, t) for t in tensors) + _field(2, b"g")
    return _field(1, 8) + _field(2, b"test") + _field(7, graph)


def test_reads_raw_packed_and_varint_scalars(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(_model(
        _tensor("audio_scale", 1, raw_data=struct.pack("<f", 0.0479)),
        _tensor("audio_zero_point", 2, raw_data=bytes([144])),
        _tensor("out_scale", 1, float_data=struct.pack("<f", 0.75)),
        _tensor("out_zero_point", 2, int32_data=_varint(190)),
        _tensor("weights", 1, raw_data=struct.pack("<3f", 1, 2, 3)),
    ))
    found = read_scalar_initializers(path, ["audio_scale", "audio_zero_point", "out_scale",
                                            "out_zero_point", "absent"])
    assert found == pytest.approx({"audio_scale": 0.0479, "audio_zero_point": 144.0,
                                   "out_scale": 0.75, "out_zero_point": 190.0}, rel=1e-6)


def test_a_tensor_that_is_not_a_scalar_is_refused(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(_model(_tensor("weights", 1, raw_data=struct.pack("<3f", 1, 2, 3))))
    with pytest.raises(ValueError, match="3 values"):
        read_scalar_initializers(path, ["weights"])


def test_garbage_is_a_value_error(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(_field(7, b"") [:1] + b"\xff\xff\xff")
    with pytest.raises(ValueError):
        read_scalar_initializers(path, ["audio_scale"])
