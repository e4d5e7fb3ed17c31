"""Read scalar initializers (quantization scales and zero points) from an ONNX file.

onnxruntime runs a quantized model but does not expose its initializers, and the ``onnx``
package (with its protobuf build) is a large dependency for four numbers. An ONNX file is a
protobuf ``ModelProto``; this walks its wire format just far enough to reach
``graph.initializer[*]`` and decode small tensors. Field numbers are those of onnx.proto3:
ModelProto.graph = 7; GraphProto.initializer = 5; TensorProto.dims = 1, data_type = 2,
float_data = 4, int32_data = 5, name = 8, raw_data = 9, double_data = 10, int64_data = 7.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator

import numpy as np

# TensorProto.DataType -> numpy dtype of raw_data (little-endian, as ONNX stores it).
_RAW_DTYPES = {1: "<f4", 2: "u1", 3: "i1", 4: "<u2", 5: "<i2", 6: "<i4", 7: "<i8",
               10: "<f2", 11: "<f8", 12: "<u4", 13: "<u8"}


def read_scalar_initializers(path: str | os.PathLike, names: Iterable[str]) -> dict[str, float]:
    """Values of the named scalar (one-element) initializers of an ONNX model.

    Parameters
    ----------
    path : path-like
        The ``.onnx`` file (external tensor data is not read: scalars are always inline).
    names : iterable of str
        Initializer names wanted, e.g. ``"audio_scale"``, ``"audio_zero_point"``.

    Returns
    -------
    dict[str, float]
        The names found, each with its value; names absent from the graph are left out.

    Raises
    ------
    ValueError
        The file is not a readable ONNX protobuf, or a named initializer is not a scalar.
    """
    wanted = set(names)
    data = memoryview(open(path, "rb").read())
    found: dict[str, float] = {}
    try:
        for field, value in _fields(data):
            if field != 7:  # ModelProto.graph
                continue
            for gfield, tensor in _fields(value):
                if gfield == 5:  # GraphProto.initializer
                    name, number = _scalar_tensor(tensor, wanted)
                    if name is not None:
                        found[name] = number
    except (IndexError, struct.error) as e:
        raise ValueError(f"{os.fspath(path)} is not a readable ONNX model ({e})") from None
    return found


def _scalar_tensor(buf: memoryview, wanted: set[str]) -> tuple[str | None, float]:
    parts: dict[int, list] = {}
    for field, value in _fields(buf):
        parts.setdefault(field, []).append(value)
    name = bytes(parts.get(8, [b""])[0]).decode("utf-8", "replace")
    if name not in wanted:
        return None, 0.0
    dtype = parts.get(2, [1])[0]
    if 9 in parts:  # raw_data
        values = np.frombuffer(bytes(parts[9][0]), dtype=_RAW_DTYPES[dtype])
    elif 4 in parts:  # float_data, packed or not
        values = np.array([x for v in parts[4] for x in _floats(v)])
    elif 5 in parts:  # int32_data (holds uint8/int8/int16 zero points too), varints
        values = np.array([x for v in parts[5] for x in _ints(v)])
    elif 7 in parts:  # int64_data
        values = np.array([x for v in parts[7] for x in _ints(v)])
    elif 10 in parts:  # double_data
        values = np.array([x for v in parts[10] for x in _floats(v, "<d")])
    else:
        raise ValueError(f"initializer {name!r} keeps its value outside the file")
    if values.size != 1:
        raise ValueError(f"initializer {name!r} has {values.size} values, expected one")
    return name, float(values.reshape(-1)[0])


def _fields(buf: memoryview) -> Iterator[tuple[int, object]]:
    """(field number, value) pairs of one protobuf message; length-delimited values stay
    memoryviews so that nested messages are parsed without copying."""
    i, end = 0, len(buf)
    while i < end:
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if i > end:
            raise ValueError("truncated protobuf message")
        yield field, value


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, i
        shift += 7


def _floats(value, fmt: str = "<f") -> list[float]:
    # A repeated float arrives packed (one length-delimited blob) or as single fixed32 fields.
    raw = bytes(value)
    size = struct.calcsize(fmt)
    return [struct.unpack_from(fmt, raw, k)[0] for k in range(0, len(raw), size)]


def _ints(value) -> list[int]:
    if isinstance(value, int):  # a single unpacked varint
        return [value]
    out, i, buf = [], 0, memoryview(bytes(value))
    while i < len(buf):
        v, i = _varint(buf, i)
        out.append(v - (1 << 64) if v >= 1 << 63 else v)
    return out
