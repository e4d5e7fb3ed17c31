"""A tiny random audio projector GGUF (libmtmd's ``qwen2a``: a Whisper-style encoder plus one
linear projection), written at test time with the ``gguf`` package.

Tensor names and keys follow llama.cpp's ``tools/mtmd`` (clip-impl.h, clip.cpp ``load_tensors``
for ``PROJECTOR_TYPE_QWEN2A``, models/whisper-enc.cpp) as vendored in llama-cpp-python
0.3.36: two 1-D convolutions ``a.conv1d.{1,2}`` (the second with stride 2), learned positions
``a.position_embd`` for 1500 frames (30 s of 10 ms mel frames, halved by the stride), Whisper
encoder blocks ``a.blk.N.*`` (no bias on ``attn_k``), a final ``a.post_ln``, then average
pooling by 2 and ``mm.a.fc`` into the text model's width. A 30 s chunk becomes 750 tokens.
If llama.cpp renames any of these, loading fails and the listener test says so: that is the
canary the test is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

N_MEL = 128          # Qwen2-Audio / Qwen2.5-Omni mel bins
N_POSITIONS = 1500   # 3000 mel frames (30 s) after the stride-2 convolution


@dataclass(frozen=True)
class AudioShape:
    n_embd: int = 32
    n_head: int = 2
    n_ff: int = 64
    n_layer: int = 1


def write_tiny_audio_projector(path: str | Path, *, n_embd_text: int, shape: AudioShape = AudioShape(),
                               seed: int = 0) -> Path:
    """Write the projector at ``path``; ``n_embd_text`` must be the text model's width."""
    from gguf import GGUFWriter

    rng = np.random.default_rng(seed)
    d = shape.n_embd

    def w(*dims, dtype=np.float32, scale=0.02):  # numpy (out, in): GGUF stores the reverse
        return (rng.standard_normal(dims) * scale).astype(dtype)

    def zeros(*dims):
        return np.zeros(dims, dtype=np.float32)

    writer = GGUFWriter(str(path), "clip")
    writer.add_name("spa2v-tiny-random-audio-projector")
    writer.add_bool("clip.has_audio_encoder", True)
    writer.add_bool("clip.has_vision_encoder", False)
    writer.add_string("clip.projector_type", "qwen2a")
    writer.add_uint32("clip.audio.num_mel_bins", N_MEL)
    writer.add_uint32("clip.audio.embedding_length", d)
    writer.add_uint32("clip.audio.feed_forward_length", shape.n_ff)
    writer.add_uint32("clip.audio.block_count", shape.n_layer)
    writer.add_uint32("clip.audio.projection_dim", n_embd_text)
    writer.add_uint32("clip.audio.attention.head_count", shape.n_head)
    writer.add_float32("clip.audio.attention.layer_norm_epsilon", 1e-5)
    # Convolutions: kernel 3; conv weights in half precision, as converted models have them.
    writer.add_tensor("a.conv1d.1.weight", w(d, N_MEL, 3, dtype=np.float16))
    writer.add_tensor("a.conv1d.1.bias", zeros(d, 1))
    writer.add_tensor("a.conv1d.2.weight", w(d, d, 3, dtype=np.float16))
    writer.add_tensor("a.conv1d.2.bias", zeros(d, 1))
    writer.add_tensor("a.position_embd.weight", w(N_POSITIONS, d))
    ones = np.ones(d, dtype=np.float32)
    for i in range(shape.n_layer):
        p = f"a.blk.{i}"
        writer.add_tensor(f"{p}.ln1.weight", ones)
        writer.add_tensor(f"{p}.ln1.bias", zeros(d))
        writer.add_tensor(f"{p}.attn_q.weight", w(d, d))
        writer.add_tensor(f"{p}.attn_q.bias", zeros(d))
        writer.add_tensor(f"{p}.attn_k.weight", w(d, d))
        writer.add_tensor(f"{p}.attn_v.weight", w(d, d))
        writer.add_tensor(f"{p}.attn_v.bias", zeros(d))
        writer.add_tensor(f"{p}.attn_out.weight", w(d, d))
        writer.add_tensor(f"{p}.attn_out.bias", zeros(d))
        writer.add_tensor(f"{p}.ln2.weight", ones)
        writer.add_tensor(f"{p}.ln2.bias", zeros(d))
        writer.add_tensor(f"{p}.ffn_up.weight", w(shape.n_ff, d))
        writer.add_tensor(f"{p}.ffn_up.bias", zeros(shape.n_ff))
        writer.add_tensor(f"{p}.ffn_down.weight", w(d, shape.n_ff))
        writer.add_tensor(f"{p}.ffn_down.bias", zeros(d))
    writer.add_tensor("a.post_ln.weight", ones)
    writer.add_tensor("a.post_ln.bias", zeros(d))
    writer.add_tensor("mm.a.fc.weight", w(n_embd_text, d))
    writer.add_tensor("mm.a.fc.bias", zeros(n_embd_text))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return Path(path)
