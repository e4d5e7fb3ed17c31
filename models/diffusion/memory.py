"""Memory tiers: how much of the model sits on the GPU, chosen from the free VRAM.

Tiers, fastest first:

``gpu``
    Everything on the GPU.
``model_offload``
    One whole model at a time on the GPU (text encoder, then UNet, then VAE).
``group_offload``
    The UNet's blocks are moved to the GPU one group at a time, the next one prefetched on a
    separate CUDA stream while the current one computes.
``sequential_offload``
    Every layer is moved to the GPU only for its own forward: the least VRAM, the slowest.

Within a tier, activations are capped by *split inference* (diffusers' FreeNoise split: the
UNet's spatial layers see ``split_rows`` frame rows at a time instead of all of them), and the
VAE decodes ``decode_chunk`` frames at a time, tiled at the last resort. ``cpu`` is the tier of
a machine without CUDA (float32, everything on the CPU).

The decision (:func:`choose_tier`) is pure arithmetic on byte counts so that it can be tested
with a made-up free-memory figure; :func:`apply_tier` does the torch/diffusers side. The
activation constants are element counts per latent pixel per frame row for SD1.5's channel
widths, sized from the UNet's structure (skip connections kept for the up path; the GEGLU
feed-forward of the first level as the largest short-lived working set) with a 1.5x margin;
``benchmarks/render_gpu.py`` prints measured peaks next to these estimates.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, replace
from typing import Any

TIERS = ("gpu", "model_offload", "group_offload", "sequential_offload")
CPU_TIER = "cpu"
TIER_CHOICES = ("auto", *TIERS, CPU_TIER)

GB = 1024 ** 3
MB = 1024 ** 2

# Elements per latent pixel per frame row (see the module docstring).
_PERSISTENT_ELEMS = 2000     # skip connections + residual stream across the UNet
_TRANSIENT_ELEMS = 5000      # largest working set of one layer (first-level GEGLU feed-forward)
_GROUNDING_ELEMS = 160       # the additive attention bias (77 tokens padded to 80, + the slice)
# VAE decoder working set per output pixel per frame. Calibrated on the real-shape CPU runs
# (2026-12-07, benchmarks/render_cpu_real.py: 8 frames of 256x256 in float32 decoded at once
# peaked 1.88 and 1.95 GiB above the resident weights, up to 1000 elements per pixel and
# frame): 600 x 1.5 = 900 fell short, 700 x 1.5 = 1050 covers both runs with 5 % to spare.
# The UNet estimate (2000 + 5000 per latent pixel and row, x1.5) came out 10-25 % above the
# measured 0.51-0.59 GiB and is kept.
_DECODE_ELEMS = 700
_TILED_DECODE_FACTOR = 0.35  # share of that left when decoding in 256-pixel tiles
_SAFETY = 1.5
# What the driver, the CUDA context and fragmentation take beyond the tensors we count.
_HEADROOM_FRACTION = 0.08
_HEADROOM_BYTES = 256 * MB

SPLIT_ROWS = (None, 8, 4, 2, 1)
DECODE_CHUNKS = (16, 8, 4, 2, 1)


@dataclass(frozen=True)
class ModelSizes:
    """Bytes of each part of the pipeline in the dtype it runs in."""

    unet_bytes: int            # UNet with its motion modules
    text_encoder_bytes: int
    vae_bytes: int
    largest_block_bytes: int   # the largest block group-offloading moves at once
    unet_rest_bytes: int       # UNet parameters outside its down/up blocks (stay during a step)
    largest_layer_bytes: int   # the largest single layer sequential offloading moves

    @classmethod
    def sd15(cls, dtype_bytes: int = 2) -> "ModelSizes":
        """SD1.5 + AnimateDiff v3, parameter counts (millions) taken from their configs: UNet
        860 + motion modules 417; the largest block is ``up_blocks.1`` (367), the loose rest is
        mostly the mid block (99); the largest layer is a 2560->1280 3x3 convolution (29.5)."""
        m = 1_000_000 * dtype_bytes
        return cls(unet_bytes=int(1_277 * m), text_encoder_bytes=int(123 * m),
                   vae_bytes=int(84 * m), largest_block_bytes=int(367 * m),
                   unet_rest_bytes=int(99 * m), largest_layer_bytes=int(29.5 * m))

    @classmethod
    def from_pipeline(cls, pipe: Any) -> "ModelSizes":
        """Sizes counted from a loaded pipeline's parameters."""
        def nbytes(module) -> int:
            return sum(p.numel() * p.element_size() for p in module.parameters())

        unet = pipe.unet
        blocks = [b for name in ("down_blocks", "up_blocks") for b in getattr(unet, name, [])]
        block_bytes = [nbytes(b) for b in blocks] or [0]
        layers = [nbytes(m) for m in unet.modules() if not list(m.children())] or [0]
        unet_bytes = nbytes(unet)
        return cls(unet_bytes=unet_bytes, text_encoder_bytes=nbytes(pipe.text_encoder),
                   vae_bytes=nbytes(pipe.vae), largest_block_bytes=max(block_bytes),
                   unet_rest_bytes=max(0, unet_bytes - sum(block_bytes)),
                   largest_layer_bytes=max(layers))


@dataclass(frozen=True)
class Workload:
    """One render: output size in pixels, frame count, classifier-free guidance on or off."""

    width: int
    height: int
    num_frames: int
    cfg: bool = True
    dtype_bytes: int = 2
    grounded: bool = True
    vae_scale: int = 8

    @property
    def latent_pixels(self) -> int:
        return (self.width // self.vae_scale) * (self.height // self.vae_scale)

    @property
    def rows(self) -> int:
        """Frame rows the UNet sees per step (two per frame with guidance)."""
        return self.num_frames * (2 if self.cfg else 1)


@dataclass(frozen=True)
class TierPlan:
    """A tier and the settings that make it fit; ``peak_bytes`` is the estimate it was chosen on."""

    tier: str
    split_rows: int | None = None
    decode_chunk: int = 16
    vae_tiling: bool = False
    peak_bytes: int = 0
    fits: bool = True

    def describe(self) -> str:
        parts = [self.tier.replace("_", " ")]
        if self.split_rows:
            parts.append(f"UNet split into {self.split_rows}-row chunks")
        parts.append(f"VAE decodes {self.decode_chunk} frame{'s' if self.decode_chunk > 1 else ''}"
                     " at a time" + (", tiled" if self.vae_tiling else ""))
        if self.peak_bytes:
            parts.append(f"estimated peak {self.peak_bytes / GB:.1f} GB")
        return "; ".join(parts)


def usable_budget(free_bytes: int) -> int:
    """What the renderer plans with out of ``free_bytes`` of free VRAM."""
    return max(0, int(free_bytes * (1 - _HEADROOM_FRACTION)) - _HEADROOM_BYTES)


def _resident_bytes(tier: str, sizes: ModelSizes) -> tuple[int, int]:
    """Weights on the GPU while denoising, and while decoding."""
    if tier == "gpu":
        total = sizes.unet_bytes + sizes.text_encoder_bytes + sizes.vae_bytes
        return total, total
    if tier == "model_offload":
        return sizes.unet_bytes, sizes.vae_bytes
    if tier == "group_offload":
        # Two block groups (current + prefetched), the UNet's loose layers, and the text
        # encoder, which stays on the GPU in this tier; the VAE moves its decoder as one group.
        unet = 2 * sizes.largest_block_bytes + sizes.unet_rest_bytes + sizes.text_encoder_bytes
        return unet, sizes.text_encoder_bytes + sizes.vae_bytes
    if tier == "sequential_offload":
        return 2 * sizes.largest_layer_bytes, 2 * sizes.largest_layer_bytes
    if tier == CPU_TIER:
        return 0, 0
    raise ValueError(f"unknown memory tier {tier!r}")


def estimate_denoise_bytes(tier: str, work: Workload, sizes: ModelSizes,
                           split_rows: int | None = None) -> int:
    """Estimated peak VRAM while denoising in ``tier``."""
    chunk = min(work.rows, split_rows or work.rows)
    per_row = _TRANSIENT_ELEMS + (_GROUNDING_ELEMS if work.grounded else 0)
    act = _SAFETY * work.dtype_bytes * work.latent_pixels * (
        _PERSISTENT_ELEMS * work.rows + per_row * chunk)
    return _resident_bytes(tier, sizes)[0] + int(act)


def estimate_decode_bytes(tier: str, work: Workload, sizes: ModelSizes, chunk: int,
                          tiling: bool = False) -> int:
    """Estimated peak VRAM while the VAE decodes ``chunk`` frames at once."""
    per_frame = _SAFETY * work.dtype_bytes * work.width * work.height * _DECODE_ELEMS
    if tiling:
        per_frame *= _TILED_DECODE_FACTOR
    latents = work.num_frames * work.latent_pixels * 4 * 4  # the float32 latents kept around
    return _resident_bytes(tier, sizes)[1] + int(per_frame * chunk) + latents


def plan_tier(tier: str, work: Workload, sizes: ModelSizes, budget_bytes: int) -> TierPlan:
    """The fastest settings of ``tier`` that fit ``budget_bytes`` (``fits=False`` if none do)."""
    split_options = [s for s in SPLIT_ROWS if s is None or s < work.rows]
    split, denoise = split_options[-1], 0
    for s in split_options:
        denoise = estimate_denoise_bytes(tier, work, sizes, s)
        split = s
        if denoise <= budget_bytes:
            break
    decode_options = [(c, False) for c in DECODE_CHUNKS if c <= max(1, work.num_frames)]
    decode_options.append((1, True))
    chunk, tiling, decode = 1, True, 0
    for c, t in decode_options:
        chunk, tiling = c, t
        decode = estimate_decode_bytes(tier, work, sizes, c, t)
        if decode <= budget_bytes:
            break
    peak = max(denoise, decode)
    return TierPlan(tier, split, chunk, tiling, peak, fits=peak <= budget_bytes)


def choose_tier(free_bytes: int | None, work: Workload, sizes: ModelSizes, *,
                forced: str = "auto", cuda: bool = True) -> TierPlan:
    """Pick the memory tier for a render.

    ``free_bytes`` is the free VRAM (``torch.cuda.mem_get_info``, or a budget the user set);
    ``None`` with ``cuda`` means unknown, which plans the fastest tier and relies on the
    out-of-memory step-down. ``forced`` names a tier to use whatever the estimate says (its
    chunk sizes are still fitted to the budget). Without CUDA the answer is ``cpu``.
    """
    if forced not in TIER_CHOICES:
        raise ValueError(f"memory tier must be one of {', '.join(TIER_CHOICES)}, got {forced!r}")
    if not cuda or forced == CPU_TIER:
        # RAM, not VRAM: every weight resident, as in the gpu tier (the real-shape CPU run,
        # benchmarks/render_cpu_real.py, measures its peak RSS against this estimate).
        chunk = min(16, max(1, work.num_frames))
        peak = max(estimate_denoise_bytes("gpu", work, sizes),
                   estimate_decode_bytes("gpu", work, sizes, chunk))
        return TierPlan(CPU_TIER, None, chunk, False, peak, True)
    budget = usable_budget(free_bytes) if free_bytes is not None else 1 << 62
    if forced != "auto":
        return plan_tier(forced, work, sizes, budget)
    plan = None
    for tier in TIERS:
        plan = plan_tier(tier, work, sizes, budget)
        if plan.fits:
            return plan
    return plan  # the lowest tier, marked as not fitting: try anyway, the user is told


def lower_tier(tier: str) -> str | None:
    """The next tier down, or None below ``sequential_offload`` (and for ``cpu``)."""
    if tier not in TIERS:
        return None
    i = TIERS.index(tier)
    return TIERS[i + 1] if i + 1 < len(TIERS) else None


def smaller_decode(plan: TierPlan) -> TierPlan | None:
    """The same tier with a smaller VAE decode (after an out-of-memory while decoding)."""
    if plan.decode_chunk > 1:
        return replace(plan, decode_chunk=max(1, plan.decode_chunk // 2))
    if not plan.vae_tiling:
        return replace(plan, vae_tiling=True)
    return None


# ------------------------------------------------------------------ torch and diffusers side


def read_vram_budget(device: Any) -> int | None:
    """Bytes this process may still allocate on ``device``: the free VRAM, capped by a
    ``torch.cuda.set_per_process_memory_fraction`` limit. None when not a CUDA device."""
    import torch

    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    free, total = torch.cuda.mem_get_info(device)
    # Memory this process's allocator already holds but does not use is free for us too.
    reserved = torch.cuda.memory_reserved(device)
    idle = reserved - torch.cuda.memory_allocated(device)
    budget = free + idle
    fraction = torch.cuda.get_per_process_memory_fraction(device)
    if fraction < 1.0:
        budget = min(budget, int(total * fraction) - torch.cuda.memory_allocated(device))
    return max(0, int(budget))


def is_out_of_memory(exc: BaseException) -> bool:
    """True for an out-of-memory error: CUDA's (or another accelerator's), PyTorch's CPU
    allocator's ("DefaultCPUAllocator: can't allocate memory" / "not enough memory") and
    Python's own :class:`MemoryError`."""
    try:
        import torch

        if isinstance(exc, torch.OutOfMemoryError):
            return True
    except (ImportError, AttributeError):
        pass
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        s in text for s in ("out of memory", "cudnn_status_alloc_failed", "defaultcpuallocator",
                            "can't allocate memory"))


def free_device_memory() -> None:
    """Drop what the allocator caches, after an out-of-memory error has been let go of."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def _unwrap_split_inference(unet: Any) -> None:
    from diffusers.pipelines.free_noise_utils import SplitInferenceModule

    for _ in range(4):  # wrappers may be nested if split inference was enabled twice
        found = [(parent, key, child) for parent in unet.modules()
                 for key, child in parent.named_children() if isinstance(child, SplitInferenceModule)]
        if not found:
            return
        for parent, key, child in found:
            setattr(parent, key, child.module)  # ModuleList accepts its index as a name


def reset_placement(pipe: Any) -> bool:
    """Undo any offloading and split inference; move every model to the CPU.

    Returns False when that is impossible (sequential offload leaves weights on the ``meta``
    device), in which case the pipeline must be rebuilt.
    """
    import torch
    from diffusers.hooks import HookRegistry

    _unwrap_split_inference(pipe.unet)
    for module in pipe.components.values():
        if not isinstance(module, torch.nn.Module):
            continue
        # Hooks may sit on submodules only (the VAE's encoder/decoder), so always recurse.
        registry = HookRegistry.check_if_exists_or_initialize(module)
        for name in ("group_offloading", "layer_execution_tracker",
                     "lazy_prefetch_group_offloading"):
            registry.remove_hook(name, recurse=True)
    pipe.remove_all_hooks()
    if any(p.device.type == "meta" for m in pipe.components.values()
           if isinstance(m, torch.nn.Module) for p in m.parameters()):
        return False
    pipe.to("cpu")
    return True


def apply_tier(pipe: Any, plan: TierPlan, device: Any) -> None:
    """Place the pipeline on ``device`` as ``plan`` says (from a clean, all-on-CPU state)."""
    import torch

    device = torch.device(device)
    if plan.split_rows:
        # Frames rows per spatial chunk; the motion modules see (rows x pixels) sequences, so
        # their chunk is sized to hold about the same number of elements.
        pipe.enable_free_noise_split_inference(spatial_split_size=max(64, 256 * plan.split_rows),
                                               temporal_split_size=plan.split_rows)
    if plan.tier in (CPU_TIER, "gpu"):
        pipe.to(device)
    elif plan.tier == "model_offload":
        pipe.enable_model_cpu_offload(device=device)
    elif plan.tier == "group_offload":
        pipe.enable_group_offload(onload_device=device, offload_device=torch.device("cpu"),
                                  offload_type="block_level", num_blocks_per_group=1,
                                  use_stream=device.type == "cuda",
                                  exclude_modules=["text_encoder"])
    elif plan.tier == "sequential_offload":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        raise ValueError(f"unknown memory tier {plan.tier!r}")
