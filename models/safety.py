"""Which weight files may be loaded: safetensors and GGUF only, never pickle.

A pickle checkpoint (``.bin``, ``.pt``, ``.pth``, ``.ckpt``, ``.pkl``) can run arbitrary code
when it is loaded, so SpA2V Studio refuses it by name and by content, with a message that says
where to get a safe copy. The header checks here are cheap (a few bytes to a few hundred
kilobytes per file) so that ``spa2v models list`` can run them on every file.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from engine.errors import BadInput

PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"})
WEIGHT_SUFFIXES = frozenset({".safetensors", ".gguf", ".onnx"})

GGUF_MAGIC = b"GGUF"
# A safetensors header is JSON; real ones are well under this (about 100 kB for SD1.5's UNet).
_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
_PICKLE_PROTOCOL_BYTE = 0x80  # pickle protocol 2+ starts with PROTO (0x80) then the version
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's default format: a zip holding a pickle


class UnsafeModelFile(BadInput):
    """The file is a pickle checkpoint (or claims to be weights and is not)."""


def refuse_pickle(path: str | Path) -> None:
    """Raise :class:`UnsafeModelFile` if ``path`` is named like a pickle checkpoint."""
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise UnsafeModelFile(
            f"Refusing to load {path.name}: {path.suffix} checkpoints are Python pickles, which "
            "can run code when loaded.",
            hint="Use the .safetensors or .gguf version of this model (most Hugging Face repos "
                 "have one), or convert it on a machine you trust.")


def weight_format(path: str | Path) -> str:
    """The format of a weights file, read from its first bytes.

    Returns ``"safetensors"``, ``"gguf"``, ``"pickle"``, ``"zip"`` or ``"unknown"``. Never
    raises for a readable file; :func:`check_weights` turns the answer into an error.
    """
    with open(path, "rb") as f:
        head = f.read(8)
        if head[:4] == GGUF_MAGIC:
            return "gguf" if gguf_problem(path) is None else "unknown"
        if head[:4] == _ZIP_MAGIC:
            return "zip"
        if len(head) >= 2 and head[0] == _PICKLE_PROTOCOL_BYTE and head[1] <= 5:
            return "pickle"
        if len(head) == 8 and _safetensors_header_ok(f, struct.unpack("<Q", head)[0], path):
            return "safetensors"
    return "unknown"


def gguf_problem(path: str | Path) -> str | None:
    """What is wrong with a GGUF file, or None: its header, metadata and tensor table are read
    with the ``gguf`` package (the magic alone proves nothing), and every tensor's data must
    lie inside the file (a truncated download fails here)."""
    try:
        from gguf import GGUFReader
    except ImportError:  # a core dependency; without it nothing can be said for the file
        return "the gguf package is not installed to read it"
    size = Path(path).stat().st_size
    try:
        reader = GGUFReader(str(path))
        tensors = list(reader.tensors)
        for t in tensors:
            if t.data_offset + int(t.n_bytes) > size:
                return f"tensor {t.name} runs past the end of the file"
    except Exception as e:  # the reader's failures on garbage are of many kinds
        return f"its header or tensor table cannot be read ({type(e).__name__})"
    if not tensors:
        return "it holds no tensors"
    return None


def _safetensors_header_ok(f, header_len: int, path) -> bool:
    size = Path(path).stat().st_size
    if not 2 <= header_len <= min(_MAX_SAFETENSORS_HEADER, size - 8):
        return False
    raw = f.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    if not isinstance(header, dict):
        return False
    # Every tensor's data must lie inside the file: a truncated download fails here.
    data_len = size - 8 - header_len
    for key, info in header.items():
        if key == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and 0 <= offsets[0] <= offsets[1] <= data_len):
            return False
    return True


def _has_gguf_magic(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == GGUF_MAGIC


def check_weights(path: str | Path) -> str:
    """Check that ``path`` is a loadable weights file and return its format.

    Refuses pickle checkpoints by suffix and by content; checks the GGUF magic and the
    safetensors header (valid JSON, tensor offsets inside the file). ``.onnx`` files have no
    magic number and are only checked to be non-empty. Other files (configs, tokenizers) are
    accepted as they are: they are read as text, never unpickled.

    Raises
    ------
    UnsafeModelFile
        For a pickle checkpoint, or a ``.gguf``/``.safetensors`` file whose content is not one.
    """
    path = Path(path)
    refuse_pickle(path)
    suffix = path.suffix.lower()
    if suffix not in WEIGHT_SUFFIXES:
        return "other"
    if suffix == ".onnx":
        if path.stat().st_size == 0:
            raise UnsafeModelFile(f"{path} is empty.", hint="Reinstall the package or file it came from.")
        return "onnx"
    found = weight_format(path)
    expected = suffix.lstrip(".")
    if found in ("pickle", "zip"):
        raise UnsafeModelFile(
            f"Refusing to load {path.name}: it is named {suffix} but holds a Python pickle.",
            hint="Get the file again from its original source.")
    if found != expected:
        why = gguf_problem(path) if expected == "gguf" and _has_gguf_magic(path) else None
        raise UnsafeModelFile(
            f"{path.name} is not a valid {expected} file ({why or 'bad header'}; truncated or "
            "corrupt download?).", hint="Download it again (spa2v models download NAME --force).")
    return found
