"""An offline CLIP BPE tokenizer for tiny diffusion pipelines (tests and the GPU benchmark).

Every word in ``words`` becomes one token (plus single characters), so prompts built from
those words tokenize without any download.
"""

from __future__ import annotations

import json
from pathlib import Path


def write_tokenizer(folder: Path, words) -> Path:
    """A CLIP BPE tokenizer whose every word of ``words`` is one token (plus single characters)."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2}
    for ch in sorted(set("".join(words)) | set(",.;")):
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault(ch + "</w>", len(vocab))
    merges, seen = ["#version: 0.2"], set()
    for word in words:
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            merge = f"{parts[0]} {parts[1]}"
            if merge not in seen:
                merges.append(merge)
                seen.add(merge)
            vocab.setdefault(parts[0] + parts[1], len(vocab))
            parts = [parts[0] + parts[1]] + parts[2:]
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("\n".join(merges) + "\n")
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"model_max_length": 77, "pad_token": "!", "bos_token": "<|startoftext|>",
         "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}))
    return folder
