"""Tiny random llama GGUF files, written at test time with the ``gguf`` package.

A 2-layer llama with small dimensions and random weights loads and runs in llama.cpp like any
real model; its output is noise, which is the point: only a grammar can make it write valid
JSON. The vocabulary is byte-level BPE (GPT-2 style: 256 byte tokens, a few merges, an
end-of-text token), or copied from a vocabulary-only GGUF such as llama.cpp's
``models/ggml-vocab-qwen2.gguf`` to count tokens as a real tokenizer does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

# Pairs common in the planner's JSON, in GPT-2's byte alphabet (Ġ is the space byte).
DEFAULT_MERGES = ['" :', '" ,', "[ 1", "] ,", "n u", "nu l", "nul l", "Ġ a", "s t", "e r"]

TOKEN_NORMAL, TOKEN_CONTROL = 1, 3


@dataclass
class Vocab:
    tokens: list[str]
    token_types: list[int]
    merges: list[str]
    pre: str
    bos_id: int
    eos_id: int
    chat_template: str | None = CHATML


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


def byte_level_vocab(merges: list[str] = DEFAULT_MERGES) -> Vocab:
    """256 byte tokens, one token per merge, then ``<|endoftext|>`` (BOS and EOS)."""
    tokens = [_bytes_to_unicode()[b] for b in range(256)]
    for m in merges:
        a, b = m.split(" ")
        assert a in tokens and b in tokens, m
        tokens.append(a + b)
    tokens.append("<|endoftext|>")
    types = [TOKEN_NORMAL] * (len(tokens) - 1) + [TOKEN_CONTROL]
    eos = len(tokens) - 1
    return Vocab(tokens, types, list(merges), "gpt-2", eos, eos)


def vocab_from_gguf(path: str | Path) -> Vocab:
    """The tokenizer of a vocabulary-only (or any) GGUF file."""
    from gguf import GGUFReader

    fields = GGUFReader(str(path)).fields

    def value(key, default=None):
        return fields[key].contents() if key in fields else default

    return Vocab(tokens=list(value("tokenizer.ggml.tokens")),
                 token_types=[int(t) for t in value("tokenizer.ggml.token_type")],
                 merges=list(value("tokenizer.ggml.merges", [])),
                 pre=str(value("tokenizer.ggml.pre", "default")),
                 bos_id=int(value("tokenizer.ggml.bos_token_id")),
                 eos_id=int(value("tokenizer.ggml.eos_token_id")),
                 chat_template=value("tokenizer.chat_template", CHATML))


@dataclass(frozen=True)
class Shape:
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 128
    n_ctx: int = 8192


# The shape of a 3B llama (Llama 3.2 3B): for timing a real-size model on a GPU.
SHAPE_3B = Shape(n_layer=28, n_embd=3072, n_head=24, n_head_kv=8, n_ff=8192, n_ctx=8192)


def write_tiny_llama(path: str | Path, vocab: Vocab | None = None, *, shape: Shape = Shape(),
                     seed: int = 0, dtype=np.float32) -> Path:
    """Write a random llama GGUF at ``path`` and return it."""
    from gguf import GGUFWriter

    vocab = vocab or byte_level_vocab()
    rng = np.random.default_rng(seed)
    n_vocab, d, head_dim = len(vocab.tokens), shape.n_embd, shape.n_embd // shape.n_head
    kv = shape.n_head_kv * head_dim

    def w(*dims):  # numpy (out, in): GGUF stores the reverse, as llama.cpp expects
        return (rng.standard_normal(dims) * 0.02).astype(dtype)

    writer = GGUFWriter(str(path), "llama")
    writer.add_name("spa2v-tiny-random")
    writer.add_context_length(shape.n_ctx)
    writer.add_embedding_length(d)
    writer.add_block_count(shape.n_layer)
    writer.add_feed_forward_length(shape.n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(head_dim)
    writer.add_vocab_size(n_vocab)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(vocab.pre)
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.token_types)
    writer.add_token_merges(vocab.merges)
    writer.add_bos_token_id(vocab.bos_id)
    writer.add_eos_token_id(vocab.eos_id)
    writer.add_add_bos_token(False)
    if vocab.chat_template:
        writer.add_chat_template(vocab.chat_template)
    ones = np.ones(d, dtype=np.float32)
    writer.add_tensor("token_embd.weight", w(n_vocab, d))
    for i in range(shape.n_layer):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", ones)
        writer.add_tensor(f"blk.{i}.attn_q.weight", w(d, d))
        writer.add_tensor(f"blk.{i}.attn_k.weight", w(kv, d))
        writer.add_tensor(f"blk.{i}.attn_v.weight", w(kv, d))
        writer.add_tensor(f"blk.{i}.attn_output.weight", w(d, d))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", ones)
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", w(shape.n_ff, d))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", w(shape.n_ff, d))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", w(d, shape.n_ff))
    writer.add_tensor("output_norm.weight", ones)
    writer.add_tensor("output.weight", w(n_vocab, d))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return Path(path)
