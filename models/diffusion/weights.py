"""Where the video engine's weights are, and what to download when they are not.

A model is named by a local folder laid out like its Hugging Face repo, by its repo id, or by
its name in the model registry (``sd15-base``, ``motion-adapter``, ``fast-preview``). A
registry model is looked for where ``spa2v models download`` and ``import`` put it (see
models/registry.py); any other repo id in the local Hugging Face cache. Only ``.safetensors``
weights are ever used: a folder that holds only pickled weights (``.bin``, ``.ckpt``, ``.pt``)
counts as missing.

Nothing here imports torch or diffusers, so checking for weights is instant and works in a
process that never renders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ModelMissing

BASE_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
MOTION_ADAPTER = "guoyww/animatediff-motion-adapter-v1-5-3"
LCM_MODEL = "wangfuyun/AnimateLCM"
LCM_LORA_FILE = "AnimateLCM_sd15_t2v_lora.safetensors"

# The base checkpoint's parts, each a diffusers subfolder with a config and one weights file.
_BASE_WEIGHTS = {
    "unet": "diffusion_pytorch_model{}.safetensors",
    "vae": "diffusion_pytorch_model{}.safetensors",
    "text_encoder": "model{}.safetensors",
}
_BASE_CONFIGS = ("unet/config.json", "vae/config.json", "text_encoder/config.json",
                 "scheduler/scheduler_config.json")
# The tokenizer as vocab + merges (the SD1.5 repo) or as one tokenizer.json (newer saves).
_TOKENIZER_FILES = (("tokenizer/vocab.json", "tokenizer/merges.txt"), ("tokenizer/tokenizer.json",))


@dataclass(frozen=True)
class ModelFiles:
    """A model found on disk: its folder and the weights variant to load (``"fp16"`` or None).

    ``name`` is what the user asked for (repo id or path), kept for messages.
    """

    name: str
    folder: Path
    variant: str | None


def _registry_entry(name: str) -> Any:
    """The registry's entry for a model name or Hugging Face repo id, or None."""
    try:
        from models.registry import load_registry

        registry = load_registry()
    except Exception:  # no or unreadable registry: plain repo-id lookup still works
        return None
    if name in registry.names:
        return registry.get(name)
    matches = [e for e in registry.entries if e.source.kind == "hf" and e.source.repo_id == name]
    matches.sort(key=lambda e: not e.default)
    return matches[0] if matches else None


def _download_hint(name: str, what: str) -> str:
    entry = _registry_entry(name)
    if entry is not None:
        return (f"Download the {what}: spa2v models download {entry.name} (or spa2v models "
                f"import a folder laid out like {entry.source.repo_id}).")
    if _looks_like_repo_id(name):
        return (f"Download the {what} ({name}) into the Hugging Face cache, or pass a local "
                "folder laid out like that repo.")
    return f"Point the option at a folder that holds the {what} in diffusers layout."


def _looks_like_repo_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(p and not p.startswith(".") for p in parts)


def _snapshot_folder(name: str, *, local_files_only: bool, cache_dir: str | None,
                     allow_patterns: list[str], what: str) -> Path:
    """The local folder for ``name``: the folder itself, or the repo's snapshot in the HF cache."""
    as_path = Path(os.path.expanduser(name))
    if as_path.is_dir():
        return as_path
    entry = _registry_entry(name)
    if entry is not None and cache_dir is None:
        from models.registry import locate

        found = locate(entry)
        if found is not None and found.root is not None:
            return found.root
        name = entry.source.repo_id or name
    if not _looks_like_repo_id(name):
        raise ModelMissing(f"The {what} {name!r} is neither a folder nor a Hugging Face repo id.",
                           hint=_download_hint(name, what))
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelMissing(f"The {what} {name} cannot be looked up: huggingface_hub is not "
                           "installed.", hint="pip install 'spa2v-studio[hub]'.") from None
    try:
        return Path(snapshot_download(name, local_files_only=local_files_only, cache_dir=cache_dir,
                                      allow_patterns=allow_patterns))
    except Exception as e:  # offline cache miss, network error, unknown repo: all mean "missing"
        raise ModelMissing(f"{what[0].upper()}{what[1:]} not found on this machine ({name}).",
                           hint=_download_hint(name, what)) from None


def _pick_variant(folder: Path, sub_files: dict[str, str], prefer_fp16: bool) -> str | None:
    """``"fp16"`` when every weights file exists in that variant (and it is wanted), else None."""
    variants = ["fp16", None] if prefer_fp16 else [None, "fp16"]
    for variant in variants:
        suffix = f".{variant}" if variant else ""
        if all((folder / sub / pattern.format(suffix)).is_file() for sub, pattern in sub_files.items()):
            return variant
    raise FileNotFoundError


def find_base_model(name: str = BASE_MODEL, *, prefer_fp16: bool = True,
                    local_files_only: bool = True, cache_dir: str | None = None) -> ModelFiles:
    """Locate a Stable Diffusion 1.5 checkpoint in diffusers layout (safetensors only).

    Raises :class:`ModelMissing` naming the missing files and what to download.
    """
    what = "Stable Diffusion 1.5 weights"
    patterns = ["*.json", "tokenizer/*.txt"] + [
        f"{sub}/{pat.format(v)}" for sub, pat in _BASE_WEIGHTS.items() for v in (".fp16", "")]
    folder = _snapshot_folder(name, local_files_only=local_files_only, cache_dir=cache_dir,
                              allow_patterns=patterns, what=what)
    missing = [c for c in _BASE_CONFIGS if not (folder / c).is_file()]
    if not any(all((folder / f).is_file() for f in files) for files in _TOKENIZER_FILES):
        missing += list(_TOKENIZER_FILES[0])
    try:
        variant = _pick_variant(folder, {s: p for s, p in _BASE_WEIGHTS.items()}, prefer_fp16)
    except FileNotFoundError:
        variant = None
        missing += [f"{s}/{p.format('')}" for s, p in _BASE_WEIGHTS.items()
                    if not (folder / s / p.format("")).is_file()
                    and not (folder / s / p.format(".fp16")).is_file()]
    if missing:
        raise ModelMissing(f"The {what} in {name} are incomplete: missing {', '.join(missing)}.",
                           hint=_download_hint(name, what))
    return ModelFiles(name, folder, variant)


def find_motion_adapter(name: str = MOTION_ADAPTER, *, prefer_fp16: bool = True,
                        local_files_only: bool = True, cache_dir: str | None = None,
                        what: str = "AnimateDiff motion adapter") -> ModelFiles:
    """Locate a diffusers ``MotionAdapter`` (``config.json`` + safetensors weights)."""
    patterns = ["config.json", "diffusion_pytorch_model.safetensors",
                "diffusion_pytorch_model.fp16.safetensors"]
    folder = _snapshot_folder(name, local_files_only=local_files_only, cache_dir=cache_dir,
                              allow_patterns=patterns, what=what)
    if not (folder / "config.json").is_file():
        raise ModelMissing(f"The {what} in {name} has no config.json.",
                           hint=_download_hint(name, what))
    try:
        variant = _pick_variant(folder, {".": "diffusion_pytorch_model{}.safetensors"}, prefer_fp16)
    except FileNotFoundError:
        raise ModelMissing(f"The {what} in {name} has no diffusion_pytorch_model.safetensors "
                           "(pickled .ckpt/.bin weights are never loaded).",
                           hint=_download_hint(name, what)) from None
    return ModelFiles(name, folder, variant)


def find_lcm(name: str = LCM_MODEL, *, local_files_only: bool = True,
             cache_dir: str | None = None) -> tuple[ModelFiles, Path]:
    """Locate AnimateLCM: its motion adapter and its SD1.5 LoRA file."""
    what = "AnimateLCM fast-preview weights"
    adapter = find_motion_adapter(name, prefer_fp16=False, local_files_only=local_files_only,
                                  cache_dir=cache_dir, what=what)
    lora = adapter.folder / LCM_LORA_FILE
    if not lora.is_file() and not local_files_only and _looks_like_repo_id(name):
        _snapshot_folder(name, local_files_only=False, cache_dir=cache_dir,
                         allow_patterns=[LCM_LORA_FILE], what=what)
    if not lora.is_file():
        raise ModelMissing(f"The {what} in {name} lack {LCM_LORA_FILE}.",
                           hint=_download_hint(name, what))
    return adapter, lora
