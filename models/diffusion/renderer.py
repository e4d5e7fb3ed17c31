"""The diffusion renderer: a Video Scene Layout in, video frames whose objects sit in their boxes out.

Stable Diffusion 1.5 + an AnimateDiff motion adapter (diffusers ``AnimateDiffPipeline``),
float16 on a GPU and float32 on a CPU, with training-free box grounding (grounding.py),
FreeNoise context windows for clips longer than the motion module's 16 frames, memory tiers
chosen from the free VRAM with an automatic step down on out-of-memory (memory.py), live
progress with ETA, latent previews, and cancel within one denoising step (run.py).

Options: constructor keywords name the models and the device (see :class:`DiffusionRenderer`);
per-render options go in ``RenderSettings.options`` (see options.py and docs/video_engine.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.errors import BadInput, ModelMissing, SpA2VError
from engine.jobs import CancelToken, Job, Log, Progress, stage_progress
from engine.layout import Layout
from engine.protocols import Frame, RenderSettings

from . import weights
from .grounding import GroundingState, compose_prompt, frame_boxes, install_grounding
from .memory import (
    CPU_TIER,
    TIER_CHOICES,
    ModelSizes,
    TierPlan,
    Workload,
    apply_tier,
    choose_tier,
    free_device_memory,
    lower_tier,
    plan_tier,
    read_vram_budget,
    reset_placement,
    smaller_decode,
    usable_budget,
)
from .options import DiffusionOptions, parse_options
from .run import DenoiseCall, OutOfMemory, decode, denoise

_DENOISE_SHARE = 0.92  # of the progress bar; decoding takes the rest
LCM_STEPS = (4, 8)
# Constructor keywords. The CLI passes its --option pairs both to the constructor and in
# RenderSettings.options, so render() accepts (and ignores) these names there.
CONSTRUCTOR_OPTIONS = ("base_model", "motion_adapter", "lcm_model", "device", "dtype",
                       "local_files_only", "cache_dir")


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, str):
        low = value.strip().lower()
        if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise BadInput(f"Option {name} must be true or false, got {value!r}.")
        return low in ("1", "true", "yes", "on")
    return bool(value)


def _require_libraries() -> None:
    missing = []
    for name in ("torch", "diffusers", "transformers", "accelerate", "safetensors"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
        except (OSError, RuntimeError) as e:
            # Installed but not loadable here: a torch built for CUDA libraries that are not
            # installed ("libcudnn.so.9: cannot open shared object file"). That line alone, not
            # saying which library or what to do, was all the user got.
            raise ModelMissing(
                f"{name} is installed but cannot be loaded on this machine "
                f"({str(e).splitlines()[0][:240] if str(e) else type(e).__name__}).",
                hint=f"Reinstall {name} for this machine (for torch, the build for its CUDA "
                     "version, or the CPU build: https://pytorch.org/get-started/locally/). "
                     "The preview renderer works without it.") from None
    if missing:
        raise ModelMissing(f"The diffusion renderer needs {', '.join(missing)}.",
                           hint="pip install 'spa2v-studio[diffusion]'.")



def check_render_settings(settings: RenderSettings) -> None:
    """Refuse a memory tier, step count or guidance scale the renderer cannot use. Cheap and
    needs no weights: the CLI calls it before loading anything, so a typo in ``--memory-tier``
    is named at once, not after the weights are found (or found missing)."""
    if settings.memory_tier not in TIER_CHOICES:
        raise BadInput(f"Unknown memory tier {settings.memory_tier!r}.",
                       hint=f"Use one of: {', '.join(TIER_CHOICES)}.")
    if not 1 <= settings.steps <= 500:
        raise BadInput(f"steps must be between 1 and 500, got {settings.steps}.")
    if not 0.0 <= settings.guidance_scale <= 30.0:
        raise BadInput(f"guidance_scale must be between 0 and 30, got {settings.guidance_scale}.")

class DiffusionRenderer:
    """Renders a layout with SD1.5 + AnimateDiff and box grounding.

    Parameters
    ----------
    base_model : str
        SD1.5 checkpoint: Hugging Face repo id (looked up in the local HF cache) or a folder in
        diffusers layout. Default ``stable-diffusion-v1-5/stable-diffusion-v1-5``.
    motion_adapter : str
        AnimateDiff motion adapter, repo id or folder. Default
        ``guoyww/animatediff-motion-adapter-v1-5-3``.
    lcm_model : str
        AnimateLCM (motion adapter + LoRA) for the fast preview, used when a render asks for
        ``lcm``. Default ``wangfuyun/AnimateLCM``.
    device : str
        ``auto`` (CUDA when available, else CPU), ``cuda``, ``cuda:1``, ``cpu``.
    dtype : str
        ``auto`` (float16 on CUDA, float32 on CPU), ``float16``, ``bfloat16``, ``float32``.
    local_files_only : bool
        Never download (default). With False, missing weights are fetched from the Hub.
    cache_dir : str, optional
        Hugging Face cache folder to look in.
    pipeline, pipeline_factory
        For tests and benchmarks: a ready ``AnimateDiffPipeline``, or ``factory(lcm: bool)``
        returning one; the weights are then not looked up.
    **defaults
        Default per-render options (any name of :class:`DiffusionOptions`), overridden by
        ``RenderSettings.options``.

    Raises :class:`ModelMissing` (with what to download) when a library or the weights are
    missing; the weights are only checked here and loaded on the first render.
    """

    name = "diffusion"

    def __init__(self, *, base_model: str = weights.BASE_MODEL,
                 motion_adapter: str = weights.MOTION_ADAPTER, lcm_model: str = weights.LCM_MODEL,
                 device: str = "auto", dtype: str = "auto", local_files_only: bool = True,
                 cache_dir: str | None = None, pipeline: Any = None,
                 pipeline_factory: Callable[[bool], Any] | None = None, **defaults: Any):
        _require_libraries()
        import torch

        self._defaults = dict(defaults)
        parse_options(self._defaults)  # unknown names and bad values fail now, not mid-render
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self.device = torch.device(device)
        except RuntimeError:
            raise BadInput(f"Unknown device {device!r}.", hint="Use auto, cuda, cuda:N or cpu.") from None
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise BadInput("CUDA was asked for but no CUDA GPU is available.",
                           hint="Use --option device=cpu or auto.")
        dtypes = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
        if dtype == "auto":
            dtype = "float16" if self.device.type == "cuda" else "float32"
        if dtype not in dtypes:
            raise BadInput(f"Unknown dtype {dtype!r}.", hint=f"Use auto or one of {', '.join(dtypes)}.")
        self.dtype = dtypes[dtype]
        self._cuda = self.device.type == "cuda"
        local_files_only = _flag("local_files_only", local_files_only)
        self._local_only, self._cache_dir = local_files_only, cache_dir
        self._lcm_model = lcm_model
        self._factory = pipeline_factory
        self._pipes: dict[bool, Any] = {}
        if pipeline is not None and self._factory is None:
            self._factory = lambda lcm: None if lcm else pipeline
        self._base = self._adapter = None
        if self._factory is None:
            half = self.dtype != torch.float32
            self._base = weights.find_base_model(base_model, prefer_fp16=half,
                                                 local_files_only=local_files_only,
                                                 cache_dir=cache_dir)
            self._adapter = weights.find_motion_adapter(motion_adapter, prefer_fp16=half,
                                                        local_files_only=local_files_only,
                                                        cache_dir=cache_dir)
        self._state = GroundingState()
        self._placed: dict[bool, tuple] = {}
        self._scheduler_configs: dict[bool, dict] = {}

    # -- models --------------------------------------------------------------------------------

    def _pipeline(self, lcm: bool) -> Job[Any]:
        """The (cached) pipeline for standard or LCM rendering, loading it on first use."""
        if lcm in self._pipes and self._pipes[lcm] is not None:
            return self._pipes[lcm]
        # One set of weights in memory at a time: drop the other variant first.
        for key in list(self._pipes):
            if key != lcm:
                self._drop(key)
        if self._factory is not None:
            pipe = self._factory(lcm)
            if pipe is None:
                raise ModelMissing("This renderer was given no AnimateLCM pipeline.",
                                   hint="Render without the lcm option.")
        else:
            from .assembly import load_pipeline

            adapter, lora = self._adapter, None
            if lcm:
                adapter, lora = weights.find_lcm(self._lcm_model, local_files_only=self._local_only,
                                                 cache_dir=self._cache_dir)
            yield Log(f"Loading the video model ({self._base.name} + {adapter.name}"
                      f"{', AnimateLCM LoRA' if lcm else ''}).")
            yield Progress("load", 0.0, None, "loading weights")
            pipe = load_pipeline(self._base, adapter, dtype=self.dtype, lcm_lora=lora)
            yield Progress("load", 1.0, 0.0, "loaded")
        pipe.set_progress_bar_config(disable=True)
        install_grounding(pipe.unet, self._state)
        self._scheduler_configs[lcm] = dict(pipe.scheduler.config)
        self._pipes[lcm] = pipe
        return pipe

    def _drop(self, lcm: bool) -> None:
        self._pipes.pop(lcm, None)
        self._placed.pop(lcm, None)
        free_device_memory()

    def _unplace(self, lcm: bool, pipe: Any) -> Job[Any]:
        """Back to all-on-CPU, no offload hooks, no split; returns the pipeline (a fresh one
        when the old placement could not be undone)."""
        if lcm not in self._placed:
            return pipe
        self._placed.pop(lcm)
        if reset_placement(pipe):
            return pipe
        # Sequential offload leaves the weights on the meta device: build a new pipeline.
        self._drop(lcm)
        fresh = yield from self._pipeline(lcm)
        if fresh is pipe:
            raise SpA2VError("The pipeline cannot leave sequential offload.",
                             hint="Give the renderer a pipeline_factory that builds a new one.")
        return fresh

    def _place(self, lcm: bool, pipe: Any, plan: TierPlan, free_noise: tuple | None) -> Job[Any]:
        """Put ``pipe`` in ``plan``'s tier with FreeNoise set as asked; returns the pipeline."""
        wanted = (plan.tier, plan.split_rows, free_noise)
        if self._placed.get(lcm) == wanted:
            return pipe
        # FreeNoise swaps motion-module blocks, which offload hooks must not be holding.
        pipe = yield from self._unplace(lcm, pipe)
        if free_noise:
            pipe.enable_free_noise(context_length=free_noise[0], context_stride=free_noise[1])
        elif pipe.free_noise_enabled:
            pipe.disable_free_noise()
        apply_tier(pipe, plan, self.device if plan.tier != CPU_TIER else "cpu")
        self._placed[lcm] = wanted
        return pipe

    # -- render --------------------------------------------------------------------------------

    def render(self, layout: Layout, settings: RenderSettings, token: CancelToken) -> Job[None]:
        """Yields the clip's frames (:class:`Frame`, at the layout's frame rate) in order."""
        # 1. Check inputs
        per_render = {k: v for k, v in (settings.options or {}).items()
                      if k not in CONSTRUCTOR_OPTIONS}
        opts = parse_options(per_render, defaults=self._defaults)
        check_render_settings(settings)
        token.raise_if_cancelled()
        steps, guidance = settings.steps, settings.guidance_scale
        if opts.lcm:
            steps = int(np.clip(steps, *LCM_STEPS))
            guidance = opts.lcm_guidance_scale
            if steps != settings.steps:
                yield Log(f"AnimateLCM fast preview: {steps} steps instead of {settings.steps}.")

        # 2. The model
        pipe = yield from self._pipeline(opts.lcm)
        from .assembly import set_scheduler

        set_scheduler(pipe, self._scheduler_configs[opts.lcm], opts.scheduler, lcm=opts.lcm)

        # 3. Frames and size: the layout's own frames, at most max_frames
        frames = min(layout.num_frames, opts.max_frames)
        fps = layout.fps if frames == layout.num_frames else frames / layout.duration_s
        if frames < layout.num_frames:
            yield Log(f"The layout has {layout.num_frames} frames; rendering {frames} "
                      f"({fps:.2f} fps) and letting the export hold them.", "warning")
        width, height, out_size = self._sizes(pipe, layout, settings, opts)

        # 4. Prompt and grounding
        prompt = yield from self._configure_grounding(pipe, layout, frames, width, height,
                                                      guidance, opts)

        # 5. Long clips: FreeNoise context windows
        free_noise = None
        if frames > opts.context_length:
            free_noise = (opts.context_length, opts.context_stride)
            yield Log(f"{frames} frames: FreeNoise context windows of {opts.context_length} "
                      f"frames, stride {opts.context_stride}.")

        # 6. Memory tier and denoising, stepping down on out-of-memory
        work = Workload(width, height, frames, cfg=guidance > 1.0,
                        dtype_bytes=2 if self.dtype.itemsize == 2 else 4,
                        grounded=bool(self._state.spans), vae_scale=pipe.vae_scale_factor)
        sizes = ModelSizes.from_pipeline(pipe)
        budget = self._budget(opts)
        plan = choose_tier(budget, work, sizes, forced=settings.memory_tier, cuda=self._cuda)
        if not self._cuda:
            yield Log("No CUDA GPU in use: rendering on the CPU in float32 (slow); estimated "
                      f"peak RAM {plan.peak_bytes / 2**30:.1f} GB.")
        else:
            free = "unknown" if budget is None else f"{budget / 2**30:.1f} GB"
            yield Log(f"Memory tier: {plan.describe()} (VRAM available: {free}"
                      f"{', tier forced' if settings.memory_tier != 'auto' else ''}).")
            if not plan.fits:
                yield Log("The estimate says even this tier may not fit; trying anyway.",
                          "warning")
        call = DenoiseCall(prompt=prompt, negative_prompt=layout.negative_prompt,
                           num_frames=frames, width=width, height=height, steps=steps,
                           guidance_scale=guidance, seed=settings.seed,
                           preview_every=opts.preview_every, energy_steps=opts.energy_steps,
                           energy_scale=opts.energy_scale)
        while True:
            pipe = yield from self._place(opts.lcm, pipe, plan, free_noise)
            report = stage_progress("diffusion")
            try:
                latents = yield from denoise(
                    pipe, call, self._state, token,
                    lambda f, d: report(f * _DENOISE_SHARE, d))
                break
            except OutOfMemory as oom:
                message = str(oom)
            # Weights off the GPU first, so that the free VRAM read for the next plan is true.
            pipe = yield from self._unplace(opts.lcm, pipe)
            free_device_memory()
            plan = yield from self._step_down(plan, settings, work, sizes, message)
        token.raise_if_cancelled()

        # 7. Decode, streaming frames out; on out-of-memory decode smaller pieces
        if opts.decode_chunk:
            plan = TierPlan(plan.tier, plan.split_rows, opts.decode_chunk, plan.vae_tiling,
                            plan.peak_bytes, plan.fits)
        done = 0
        while done < frames:
            try:
                for index, image in decode(pipe, latents, start=done, chunk=plan.decode_chunk,
                                           tiling=plan.vae_tiling, token=token):
                    yield Frame(self._resize(image, out_size), index, fps)
                    done = index + 1
                    yield report(_DENOISE_SHARE + (1 - _DENOISE_SHARE) * done / frames,
                                 f"decoded frame {done}/{frames}")
            except OutOfMemory as oom:
                free_device_memory()
                smaller = smaller_decode(plan)
                if smaller is None:
                    raise SpA2VError(f"Out of {self._memory} while decoding frame {oom.done + 1} "
                                     "even one tiled frame at a time.",
                                     hint="Close other programs"
                                     f"{' using the GPU' if self._cuda else ''}, or render "
                                     "smaller.") from None
                yield Log(f"Out of {self._memory} while decoding; decoding {smaller.decode_chunk} "
                          f"frame(s) at a time{' with tiling' if smaller.vae_tiling else ''}.",
                          "warning")
                plan = smaller
        del latents
        if self._cuda:
            import torch

            torch.cuda.empty_cache()  # give the VRAM back to other programs between renders

    def _step_down(self, plan: TierPlan, settings: RenderSettings, work: Workload,
                   sizes: ModelSizes, message: str) -> Job[TierPlan]:
        lower = lower_tier(plan.tier) if settings.memory_tier == "auto" else None
        if lower is None:
            if not self._cuda:  # the CPU tier has no lower one: the computer's RAM ran out
                raise SpA2VError(f"Out of memory rendering on the CPU ({message}).",
                                 hint="Render fewer frames or a smaller size (--size), or close "
                                      "other programs.")
            if settings.memory_tier != "auto":
                raise SpA2VError(f"Out of GPU memory in the forced memory tier "
                                 f"{settings.memory_tier} ({message}).",
                                 hint="Use --memory-tier auto, or a lower tier.")
            raise SpA2VError(f"Out of GPU memory even with sequential offload ({message}).",
                             hint="Render fewer frames or a smaller size, or close other "
                                  "programs using the GPU.")
        budget = self._budget(None)
        new = plan_tier(lower, work, sizes, usable_budget(budget) if budget else 1 << 62)
        yield Log(f"Out of GPU memory in tier {plan.tier} ({message}); retrying with "
                  f"{new.describe()}.", "warning")
        return new

    @property
    def _memory(self) -> str:
        return "GPU memory" if self._cuda else "memory"

    def _budget(self, opts: DiffusionOptions | None) -> int | None:
        if opts is not None and opts.vram_budget_gb:
            return int(opts.vram_budget_gb * 2**30)
        return read_vram_budget(self.device) if self._cuda else None

    def _configure_grounding(self, pipe: Any, layout: Layout, frames: int, width: int,
                             height: int, guidance: float, opts: DiffusionOptions) -> Job[str]:
        phrases = [(o.id, o.label, o.prompt) for o in layout.objects]
        gp = compose_prompt(layout.caption, layout.background, phrases, pipe.tokenizer)
        if gp.shortened:
            yield Log("The caption was shortened to fit the model's 77-token prompt.", "warning")
        if gp.dropped:
            yield Log(f"No room in the prompt for object(s) {', '.join(map(str, gp.dropped))}; "
                      "they are not drawn.", "warning")
        by_id = frame_boxes(layout, frames)
        ids = [o.id for o in layout.objects if o.id in gp.spans and gp.spans[o.id]]
        scale = pipe.vae_scale_factor
        on = opts.grounding_strength > 0 and bool(ids)
        self._state.configure(num_frames=frames, cfg=guidance > 1.0,
                              latent_hw=(height // scale, width // scale),
                              spans=[gp.spans[i] for i in ids] if on else [],
                              boxes=[by_id[i] for i in ids] if on else [],
                              strength=opts.grounding_strength, until=opts.grounding_until)
        if on:
            yield Log(f"Grounding {len(ids)} object(s) in their boxes "
                      f"(strength {opts.grounding_strength:g}).")
        return gp.text

    def _sizes(self, pipe: Any, layout: Layout, settings: RenderSettings,
               opts: DiffusionOptions) -> tuple[int, int, tuple[int, int]]:
        """Render size (multiples of the UNet's total stride) and the output frame size."""
        out_w, out_h = settings.width or layout.width, settings.height or layout.height
        if out_w < 8 or out_h < 8:
            raise BadInput(f"Frame size {out_w}x{out_h} is too small.")
        stride = pipe.vae_scale_factor * 2 ** (len(pipe.unet.down_blocks) - 1)
        scale = 1.0
        if settings.width is None and settings.height is None:
            scale = min(1.0, opts.native_size / max(out_w, out_h))
        w = max(stride, int(round(out_w * scale / stride)) * stride)
        h = max(stride, int(round(out_h * scale / stride)) * stride)
        return w, h, (out_w, out_h)

    @staticmethod
    def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        if (image.shape[1], image.shape[0]) == size:
            return image
        import cv2

        up = size[0] * size[1] > image.shape[0] * image.shape[1]
        return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC if up else cv2.INTER_AREA)
