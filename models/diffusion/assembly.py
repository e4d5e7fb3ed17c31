"""Putting an AnimateDiff pipeline together: from components (tests, benchmarks) or from disk.

:func:`build_pipeline` takes ready components, so tests build tiny random ones from configs and
the benchmark builds full-size ones with random weights. :func:`load_pipeline` reads a
Stable Diffusion 1.5 checkpoint and a motion adapter from safetensors files (never pickles) and
calls it. :func:`set_scheduler` chooses the sampler per render.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any

from engine.errors import ModelMissing, SpA2VError

from .weights import ModelFiles

LCM_LORA_SCALE = 0.8  # AnimateLCM's recommended LoRA weight for SD1.5 checkpoints


@contextlib.contextmanager
def _quiet_libraries():
    """Hush diffusers/transformers chatter and loading bars (we report what matters as Log
    and Progress events, which the CLI and the GUI show their own way)."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    names = ("diffusers", "transformers")
    old = {n: logging.getLogger(n).level for n in names}
    bars = [(m, m.is_progress_bar_enabled()) for m in (diffusers_logging, transformers_logging)]
    try:
        for n in names:
            logging.getLogger(n).setLevel(logging.ERROR)
        for m, _ in bars:
            m.disable_progress_bar()
        yield
    finally:
        for n, level in old.items():
            logging.getLogger(n).setLevel(level)
        for m, enabled in bars:
            if enabled:
                m.enable_progress_bar()


def build_pipeline(*, unet: Any, motion_adapter: Any, vae: Any, text_encoder: Any,
                   tokenizer: Any, scheduler: Any, dtype: Any = None) -> Any:
    """An ``AnimateDiffPipeline`` from components.

    ``unet`` may be a ``UNet2DConditionModel`` (the motion modules are merged in) or a ready
    ``UNetMotionModel``. ``dtype`` casts every model (the merge builds float32 weights).
    """
    with _quiet_libraries(), contextlib.redirect_stderr(io.StringIO()):
        # Imported in here: its first import warns through transformers' logger that
        # torchvision is missing (it is not needed), which printed in every CLI render.
        from diffusers import AnimateDiffPipeline

        pipe = AnimateDiffPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   unet=unet, motion_adapter=motion_adapter, scheduler=scheduler,
                                   feature_extractor=None, image_encoder=None)
        if pipe.unet is not unet:
            share_motion_modules(pipe.unet, motion_adapter)
        if dtype is not None:
            pipe.to(dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def share_motion_modules(unet: Any, adapter: Any) -> int:
    """Make the adapter hold the UNet's motion modules instead of its own copy; returns how
    many blocks were shared.

    ``AnimateDiffPipeline`` copies the adapter's weights into the ``UNetMotionModel`` it builds
    and keeps the adapter as a component as well (FreeNoise reads its config), so the 417 M
    motion-module parameters were held twice: 1.67 GB more RAM in float32, and 0.83 GB more
    VRAM in float16 when the whole pipeline moves to the GPU (found by the real-shape CPU run,
    benchmarks/render_cpu_real.py). Sharing the modules keeps one copy and the adapter's config.
    """
    shared = 0
    for adapter_blocks, unet_blocks in ((adapter.down_blocks, unet.down_blocks),
                                        (adapter.up_blocks, unet.up_blocks)):
        for a, u in zip(adapter_blocks, unet_blocks):
            if hasattr(u, "motion_modules"):
                a.motion_modules = u.motion_modules
                shared += 1
    mid_a, mid_u = getattr(adapter, "mid_block", None), getattr(unet, "mid_block", None)
    if mid_a is not None and hasattr(mid_a, "motion_modules") and hasattr(mid_u, "motion_modules"):
        mid_a.motion_modules = mid_u.motion_modules
        shared += 1
    return shared


def load_pipeline(base: ModelFiles, adapter: ModelFiles, *, dtype: Any,
                  lcm_lora: Path | None = None) -> Any:
    """Load SD1.5 + a motion adapter from local safetensors files into a pipeline on the CPU.

    With ``lcm_lora`` (AnimateLCM's LoRA; ``adapter`` is then AnimateLCM's motion adapter) the
    LoRA is fused into the UNet at AnimateLCM's recommended weight.
    """
    from diffusers import AutoencoderKL, DDIMScheduler, MotionAdapter, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    from .memory import is_out_of_memory

    folder = base.folder
    common = {"use_safetensors": True, "local_files_only": True}
    part = "UNet"
    try:
        with _quiet_libraries():
            unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", torch_dtype=dtype,
                                                        variant=base.variant, **common)
            part = "VAE"
            vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=dtype,
                                                variant=base.variant, **common)
            part = "text encoder"
            text_encoder = CLIPTextModel.from_pretrained(folder / "text_encoder", dtype=dtype,
                                                         variant=base.variant, **common)
            part = "tokenizer"
            tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer", local_files_only=True)
            part = "motion adapter"
            motion = MotionAdapter.from_pretrained(adapter.folder, torch_dtype=dtype,
                                                   variant=adapter.variant, **common)
            part = "scheduler"
            scheduler = DDIMScheduler.from_pretrained(folder, subfolder="scheduler",
                                                      local_files_only=True)
    except (OSError, ValueError, RuntimeError) as e:
        # transformers reports weights that do not fit their config as a RuntimeError ("You
        # set `ignore_mismatched_sizes` to `False` ... look at the above report!"), which was
        # a traceback, its report hidden by the quieting above.
        if is_out_of_memory(e):
            raise
        detail = (str(e).splitlines() or [type(e).__name__])[0]
        if "ignore_mismatched_sizes" in detail:
            detail = "its weights do not fit its config (a file from another model?)"
        raise ModelMissing(f"Could not load the video model's {part} from {base.name} / "
                           f"{adapter.name}: {detail}",
                           hint="Check the files with: spa2v models verify.") from None
    pipe = build_pipeline(unet=unet, motion_adapter=motion, vae=vae, text_encoder=text_encoder,
                          tokenizer=tokenizer, scheduler=scheduler, dtype=dtype)
    if lcm_lora is not None:
        fuse_lora(pipe, lcm_lora, LCM_LORA_SCALE)
    return pipe


def fuse_lora(pipe: Any, path: Path, scale: float) -> None:
    """Fuse a LoRA (safetensors) into the UNet for good, so no per-step LoRA cost remains."""
    try:
        import peft  # noqa: F401  (diffusers' LoRA loading needs it)
    except ImportError:
        raise ModelMissing("AnimateLCM needs the peft library to load its LoRA.",
                           hint="pip install 'spa2v-studio[diffusion]' (peft is in that extra).") from None
    from ..safety import check_weights
    from .memory import is_out_of_memory

    hint = ("Check it with: spa2v models verify fast-preview; get it again with: spa2v models "
            "download fast-preview --force.")
    try:
        check_weights(path, model="fast-preview")  # a file cut short is said as such
    except ModelMissing:
        raise
    except SpA2VError as e:
        raise ModelMissing(f"The fast-preview LoRA cannot be used: {e.message}", hint=hint) from None
    try:
        with _quiet_libraries():
            pipe.load_lora_weights(str(path.parent), weight_name=path.name, adapter_name="lcm",
                                   use_safetensors=True)
            pipe.fuse_lora(components=["unet"], lora_scale=scale, adapter_names=["lcm"])
            pipe.unload_lora_weights()
    except Exception as e:  # noqa: BLE001 - safetensors', peft's and torch's own error types
        if is_out_of_memory(e):
            raise
        # A LoRA for another model ("Error(s) in loading state_dict"), or a damaged file: was
        # a traceback from deep inside diffusers.
        raise ModelMissing(f"The fast-preview LoRA {path} cannot be used: "
                           f"{(str(e).splitlines() or [type(e).__name__])[0][:200]}",
                           hint="It must be AnimateLCM's LoRA for Stable Diffusion 1.5. "
                                + hint) from None


def set_scheduler(pipe: Any, base_config: dict, name: str, *, lcm: bool) -> None:
    """Put the sampler ``name`` (``ddim``, ``dpm++``, ``euler``; LCM when ``lcm``) on ``pipe``.

    AnimateDiff's motion modules were trained on SD1.5's linear beta schedule, so every sampler
    is built from the checkpoint's config with ``beta_schedule="linear"``.
    """
    from diffusers import (
        DDIMScheduler,
        DPMSolverMultistepScheduler,
        EulerDiscreteScheduler,
        LCMScheduler,
    )

    config = dict(base_config)
    with _quiet_libraries():
        if lcm:
            pipe.scheduler = LCMScheduler.from_config(config, beta_schedule="linear")
        elif name == "dpm++":
            pipe.scheduler = DPMSolverMultistepScheduler.from_config(
                config, beta_schedule="linear", algorithm_type="dpmsolver++",
                use_karras_sigmas=True)
        elif name == "euler":
            pipe.scheduler = EulerDiscreteScheduler.from_config(
                config, beta_schedule="linear", timestep_spacing="linspace")
        else:
            pipe.scheduler = DDIMScheduler.from_config(
                config, beta_schedule="linear", clip_sample=False, timestep_spacing="linspace",
                steps_offset=1)
