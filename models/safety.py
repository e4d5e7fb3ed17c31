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
    """What is wrong with a GGUF file, or None.

    The header, every metadata value and the tensor table are walked (the magic alone proves
    nothing), with the value types, quantisation block sizes and alignment rule of the
    ``gguf`` package; every tensor's data must lie inside the file (a download cut short fails
    here). ``gguf.GGUFReader`` reads the same, but builds an array per vocabulary entry: 47 s
    for a 150k-token vocabulary on 2 cores, against well under a second here.
    """
    import mmap
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return _GGUFWalk(mm).problem()
    except (OSError, ValueError) as e:  # mmap of an empty file, unreadable file
        return f"it cannot be read ({e})"


def gguf_refusal(path: str | Path, *, kind: str | None = None) -> str | None:
    """Why ``path`` cannot be loaded as a GGUF, in words for a message, or None. The one check
    the loaders (llama planner, audio listener) make before handing a file to llama.cpp: a
    download cut short has the magic but not its tensors, and llama.cpp's own refusal of it
    ("Failed to load model") says nothing of why. ``kind`` ``"text"`` (a language model) or
    ``"projector"`` (an mmproj) also refuses the other kind: the two files of a listener look
    alike by name, and llama.cpp's refusal of a swapped one says nothing of why either."""
    if not _has_gguf_magic(path):
        return f"{path} is not a GGUF file."
    why = gguf_problem(path)
    if why is not None:
        return f"{path} is not a usable GGUF file ({why}; truncated or corrupt download?)."
    return gguf_kind_refusal(path, kind) if kind else None


PROJECTOR_ARCH = "clip"  # llama.cpp's multimodal projectors (mmproj), audio and vision


def gguf_architecture(path: str | Path) -> str | None:
    """A well-formed GGUF's ``general.architecture`` (``"llama"``, ``"qwen2"``, ``"clip"``
    for a projector), or None when it has none."""
    return _gguf_header(path)[0]


def _gguf_header(path: str | Path) -> tuple[str | None, dict[str, bool]]:
    import mmap
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            walk = _GGUFWalk(mm)
            walk.problem()
            return walk.architecture, walk.flags
    except (OSError, ValueError):
        return None, {}


def gguf_kind_refusal(path: str | Path, kind: str) -> str | None:
    """Why a well-formed GGUF is not the ``kind`` wanted (``"text"`` or ``"projector"``)."""
    arch, flags = _gguf_header(path)
    name = Path(path).name
    if kind == "text" and arch == PROJECTOR_ARCH:
        return (f"{name} is a projector (mmproj: the audio or image part of a model), not a "
                "language model; give the model's main GGUF.")
    if kind == "projector" and arch is not None and arch != PROJECTOR_ARCH:
        return (f"{name} is a language model ({arch}), not an audio projector (mmproj); "
                "give the model's mmproj GGUF.")
    audio = flags.get("clip.has_audio_encoder")
    if kind == "projector" and (audio is False or (audio is None and
                                                   flags.get("clip.has_vision_encoder"))):
        return (f"{name} is a projector with no audio encoder (an image one?); the listener "
                "needs the mmproj of an audio model (Qwen2.5-Omni, Voxtral).")
    return None


class _GGUFWalk:
    """A bounds-checked walk over a GGUF's header, metadata and tensor table."""

    def __init__(self, buf):
        from gguf.constants import GGUFValueType as T
        self.buf, self.size, self.pos, self.T = buf, len(buf), 0, T
        self.architecture: str | None = None
        self.flags: dict[str, bool] = {}  # clip.has_audio_encoder, clip.has_vision_encoder
        self.scalar = {T.UINT8: "B", T.INT8: "b", T.UINT16: "H", T.INT16: "h", T.UINT32: "I",
                       T.INT32: "i", T.FLOAT32: "f", T.BOOL: "?", T.UINT64: "Q", T.INT64: "q",
                       T.FLOAT64: "d"}

    def take(self, fmt: str):
        n = struct.calcsize("<" + fmt)
        if self.pos + n > self.size:
            raise _Bad("it ends inside its header")
        v = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += n
        return v if len(v) > 1 else v[0]

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > self.size:
            raise _Bad("a header field runs past the end of the file")
        self.pos += n

    def string(self) -> bytes:
        n = self.take("Q")
        start = self.pos
        self.skip(n)
        return bytes(self.buf[start:start + n]) if n <= 256 else b""

    def value(self, vtype: int, depth: int = 0):
        T = self.T
        if vtype == T.STRING:
            return self.string()
        if vtype == T.ARRAY:
            etype, count = self.take("I"), self.take("Q")
            if etype in self.scalar:
                self.skip(count * struct.calcsize(self.scalar[T(etype)]))
            elif etype in (T.STRING, T.ARRAY) and depth < 4:
                for _ in range(count):
                    self.value(etype, depth + 1)
            else:
                raise _Bad(f"an array of unknown type {etype}")
            return None
        if vtype not in self.scalar:
            raise _Bad(f"a metadata value of unknown type {vtype}")
        return self.take(self.scalar[T(vtype)])

    def problem(self) -> str | None:
        from gguf.constants import GGML_QUANT_SIZES, GGUF_DEFAULT_ALIGNMENT, GGMLQuantizationType
        try:
            if self.take("4s") != GGUF_MAGIC:
                return "it does not start with the GGUF magic"
            version = self.take("I")
            if version not in (2, 3):
                return f"it is GGUF version {version}; versions 2 and 3 are read"
            n_tensors, n_kv = self.take("Q"), self.take("Q")
            alignment = GGUF_DEFAULT_ALIGNMENT
            for _ in range(n_kv):
                key = self.string()
                value = self.value(self.take("I"))
                if key == b"general.alignment":
                    alignment = value
                elif key == b"general.architecture" and isinstance(value, bytes):
                    self.architecture = value.decode("utf-8", "replace")
                elif key in (b"clip.has_audio_encoder", b"clip.has_vision_encoder"):
                    self.flags[key.decode()] = bool(value)
            if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
                return f"its alignment {alignment!r} is not a power of two"
            tensors = []
            for _ in range(n_tensors):
                name = self.string().decode("utf-8", "replace")
                n_dims = self.take("I")
                if not 1 <= n_dims <= 8:
                    return f"tensor {name} has {n_dims} dimensions"
                dims = [self.take("Q") for _ in range(n_dims)]
                ttype, offset = self.take("I"), self.take("Q")
                try:
                    block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ttype)]
                except (ValueError, KeyError):
                    return f"tensor {name} has unknown type {ttype}"
                count = 1
                for d in dims:
                    count *= d
                if count % block:
                    return f"tensor {name} does not fill whole blocks of its type"
                tensors.append((name, offset, count // block * type_size))
            data_start = -(-self.pos // alignment) * alignment
            for name, offset, nbytes in tensors:
                if data_start + offset + nbytes > self.size:
                    return f"tensor {name} runs past the end of the file"
        except _Bad as e:
            return str(e)
        return None


class _Bad(Exception):
    pass


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


def check_weights(path: str | Path, *, model: str | None = None) -> str:
    """Check that ``path`` is a loadable weights file and return its format.

    Refuses pickle checkpoints by suffix and by content; checks the GGUF magic and the
    safetensors header (valid JSON, tensor offsets inside the file). ``.onnx`` files have no
    magic number and are only checked to be non-empty. Other files (configs, tokenizers) are
    accepted as they are: they are read as text, never unpickled.

    ``model``: the registry model the file belongs to, named in the hint (None: a file the
    user gives, as ``spa2v models import`` and the studio's Import… do).

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
            "corrupt download?).", hint=f"Download it again (spa2v models download {model} --force)."
            if model else "Use a complete copy of the file: this one is cut short or damaged.")
    return found
