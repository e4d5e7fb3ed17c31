"""Video engine benchmark: seconds per clip and peak VRAM per memory tier, with and without box
grounding, next to the stock diffusers ``AnimateDiffPipeline`` in the same run.

Real-size SD1.5 + AnimateDiff v3 components are built from their configs with random float16
weights, so nothing is downloaded (the numbers depend on the shapes, not on the weights). Each
run gets a freshly built pipeline (sequential offload cannot be undone in place). Rows:

* for each tier: stock ``AnimateDiffPipeline`` call, our renderer with grounding off, with it on;
* ``auto @ 8 GB``: ``torch.cuda.set_per_process_memory_fraction`` caps the process at 8 GB and
  the renderer picks its tier (the stock pipeline is run on the GPU under the same cap);
* the lowest tier planned for a 3.5 GB budget (the "under 4 GB" target).

Usage::

    python benchmarks/render_gpu.py                  # 16 frames, 512x512, 25 steps, all rows
    python benchmarks/render_gpu.py --tiers gpu group_offload --steps 10
    python benchmarks/render_gpu.py --tiny           # tiny random models: a dry run of the
                                                     # code path, on the CPU or a GPU
    python benchmarks/render_gpu.py --cpu-real-shape # real-size models on the CPU, 256x256,
                                                     # 8 frames, 2 steps (render_cpu_real.py)

Without CUDA (and without ``--tiny``) it says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SD15_UNET = dict(
    block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, cross_attention_dim=768,
    attention_head_dim=8, sample_size=64, in_channels=4, out_channels=4, norm_num_groups=32,
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
# guoyww/animatediff-motion-adapter-v1-5-3
ADAPTER_V3 = dict(block_out_channels=(320, 640, 1280, 1280), motion_layers_per_block=2,
                  motion_mid_block_layers_per_block=1, motion_num_attention_heads=8,
                  motion_norm_num_groups=32, motion_max_seq_length=32, use_motion_mid_block=False)
SD15_VAE = dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
                down_block_types=("DownEncoderBlock2D",) * 4, norm_num_groups=32,
                up_block_types=("UpDecoderBlock2D",) * 4, sample_size=512, scaling_factor=0.18215)
SD15_TEXT = dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12,
                 num_hidden_layers=12, max_position_embeddings=77, vocab_size=49408,
                 hidden_act="quick_gelu", projection_dim=768)

TINY_UNET = dict(block_out_channels=(32, 64), layers_per_block=1, cross_attention_dim=32,
                 attention_head_dim=4, sample_size=16, in_channels=4, out_channels=4,
                 norm_num_groups=2, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                 up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))
TINY_ADAPTER = dict(block_out_channels=(32, 64), motion_layers_per_block=1,
                    motion_norm_num_groups=2, motion_num_attention_heads=2,
                    motion_max_seq_length=32)
TINY_VAE = dict(block_out_channels=(32, 64), latent_channels=4, norm_num_groups=2,
                down_block_types=("DownEncoderBlock2D",) * 2,
                up_block_types=("UpDecoderBlock2D",) * 2, sample_size=32)
TINY_TEXT = dict(hidden_size=32, intermediate_size=37, num_attention_heads=4,
                 num_hidden_layers=2, max_position_embeddings=77, vocab_size=1000)

WORDS = "a red car dog city street drives past sits on the left blurry low quality".split()


def write_tokenizer(folder: Path) -> Path:
    from tests.models.diffusion.clip_tokenizer import write_tokenizer as write
    return write(folder, WORDS)


def build_pipeline(tiny: bool, tokenizer_dir: Path, build_device: str, dtype):
    """A fresh pipeline with random weights, left on the CPU."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, MotionAdapter, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from models.diffusion.assembly import build_pipeline as assemble

    torch.manual_seed(0)
    with torch.device(build_device):  # random init is much faster on a GPU
        unet = UNet2DConditionModel(**(TINY_UNET if tiny else SD15_UNET))
        adapter = MotionAdapter(**(TINY_ADAPTER if tiny else ADAPTER_V3))
        vae = AutoencoderKL(**(TINY_VAE if tiny else SD15_VAE))
        text = CLIPTextModel(CLIPTextConfig(**(TINY_TEXT if tiny else SD15_TEXT)))
        scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear",
                                  clip_sample=False, timestep_spacing="linspace", steps_offset=1)
        pipe = assemble(unet=unet, motion_adapter=adapter, vae=vae, text_encoder=text,
                        tokenizer=CLIPTokenizer.from_pretrained(tokenizer_dir),
                        scheduler=scheduler, dtype=dtype)
    pipe.to("cpu")
    del unet, adapter, vae, text
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return pipe


def make_layout(frames: int, size: int):
    from engine.layout import Layout, LayoutObject

    car = [(0.55 - 0.45 * i / max(1, frames - 1), 0.45, 0.95 - 0.45 * i / max(1, frames - 1), 0.85)
           for i in range(frames)]
    side = max(64, size)  # the layout format's minimum; the render size is set explicitly
    return Layout(duration_s=frames / 2.0, num_frames=frames, fps=2.0, width=side, height=side,
                  caption="a red car drives past on a city street", background="city street",
                  negative_prompt="blurry, low quality",
                  objects=[LayoutObject(1, "car", "a red car", "right_to_left", 0.9, car),
                           LayoutObject(2, "dog", "a dog", "static", 0.8,
                                        [(0.02, 0.5, 0.3, 0.95)] * frames)]).validate()


@dataclass
class Row:
    run: str
    tier: str
    grounding: str
    seconds: float | None = None
    peak_gb: float | None = None
    reserved_gb: float | None = None
    estimate_gb: float | None = None
    note: str = ""


@contextlib.contextmanager
def measured(row: Row, cuda: bool):
    """Time the block and record the peak VRAM it allocated; an OOM is a result, not a crash."""
    import torch

    from models.diffusion.memory import is_out_of_memory

    if cuda:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    try:
        yield
        if cuda:
            torch.cuda.synchronize()
        row.seconds = time.perf_counter() - start
    except Exception as e:  # noqa: BLE001 - every failure is reported in the table
        row.note = ("out of memory" if is_out_of_memory(e) else type(e).__name__) + (
            f" ({str(e).splitlines()[0][:80]})" if str(e) else "")
    finally:
        if cuda:
            row.peak_gb = torch.cuda.max_memory_allocated() / 2**30
            row.reserved_gb = torch.cuda.max_memory_reserved() / 2**30


def run_ours(pipe, layout, args, *, tier: str, grounding: float, budget_gb: float | None,
             cuda: bool, row: Row) -> None:
    from engine.jobs import CancelToken, Log, run_job
    from engine.protocols import Frame, RenderSettings
    from models.diffusion.renderer import DiffusionRenderer

    renderer = DiffusionRenderer(pipeline=pipe, device="cuda" if cuda else "cpu")
    options = {"grounding_strength": grounding, "preview_every": 0}
    if budget_gb:
        options["vram_budget_gb"] = budget_gb
    settings = RenderSettings(renderer="diffusion", width=args.size, height=args.size,
                              steps=args.steps, seed=0, memory_tier=tier, options=options)
    frames, notes = [], []

    def on_event(event):
        if isinstance(event, Frame):
            frames.append(event.index)
        elif isinstance(event, Log) and (event.message.startswith("Memory tier:")
                                         or event.level == "warning"):
            notes.append(event.message)

    with measured(row, cuda):
        run_job(renderer.render(layout, settings, CancelToken()), on_event)
        if len(frames) != layout.num_frames:
            raise RuntimeError(f"got {len(frames)} frames")
    plans = [n for n in notes if n.startswith("Memory tier:")]
    if plans:
        row.tier = plans[-1].split(":", 1)[1].split(";")[0].strip().replace(" ", "_")
        if "estimated peak" in plans[-1]:
            row.estimate_gb = float(plans[-1].split("estimated peak ")[1].split(" GB")[0])
    warnings = [n for n in notes if not n.startswith("Memory tier:")]
    if warnings:
        row.note = (row.note + " " + "; ".join(warnings)).strip()[:160]


def run_stock(pipe, layout, args, *, tier: str, cuda: bool, row: Row) -> None:
    """The stock pipeline on the same placement (diffusers' own offload calls), same settings."""
    import torch

    from models.diffusion.grounding import compose_prompt, remove_grounding
    from models.diffusion.memory import CPU_TIER, ModelSizes, TierPlan, Workload, apply_tier
    from models.diffusion.memory import choose_tier

    remove_grounding(pipe.unet)
    prompt = compose_prompt(layout.caption, layout.background,
                            [(o.id, o.label, o.prompt) for o in layout.objects],
                            pipe.tokenizer).text
    work = Workload(args.size, args.size, layout.num_frames, cfg=True, grounded=False,
                    vae_scale=pipe.vae_scale_factor)
    plan = choose_tier(None, work, ModelSizes.from_pipeline(pipe), forced=tier, cuda=cuda)
    plan = TierPlan(plan.tier, None, plan.decode_chunk)  # stock: no split inference
    with measured(row, cuda):
        apply_tier(pipe, plan, "cuda" if cuda else "cpu")
        pipe(prompt, negative_prompt=layout.negative_prompt, num_frames=layout.num_frames,
             width=args.size, height=args.size, num_inference_steps=args.steps,
             guidance_scale=7.5, generator=torch.Generator("cpu").manual_seed(0),
             decode_chunk_size=plan.decode_chunk, output_type="np")
    row.tier = plan.tier if plan.tier != CPU_TIER else "cpu"


def table(rows: list[Row]) -> str:
    def f(v, fmt):
        return "-" if v is None else format(v, fmt)

    lines = ["| run | tier | grounding | s / clip | peak VRAM GB | reserved GB | estimate GB | note |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r.run} | {r.tier} | {r.grounding} | {f(r.seconds, '.1f')} | "
                     f"{f(r.peak_gb, '.2f')} | {f(r.reserved_gb, '.2f')} | "
                     f"{f(r.estimate_gb, '.1f')} | {r.note} |")
    return "\n".join(lines)


def verdicts(rows: list[Row]) -> list[str]:
    out = []
    by = {(r.run, r.grounding): r for r in rows}
    for r in rows:
        if r.grounding == "on" and r.seconds:
            stock = by.get((r.run, "stock"))
            if stock and stock.seconds:
                extra = 100 * (r.seconds / stock.seconds - 1)
                out.append(f"{r.run}: grounding costs {extra:+.1f} % time vs stock "
                           f"({'OK' if extra <= 20 else 'over'} the 20 % target)")
    auto = [r for r in rows if r.run.startswith("auto") and r.grounding != "stock"]
    if auto:
        ok = all(r.seconds is not None for r in auto)
        out.append(f"auto @ budget: {'completes' if ok else 'FAILS'} "
                   f"(tier {', '.join(sorted({r.tier for r in auto}))})")
    low = [r for r in rows if r.run.startswith("lowest") and r.peak_gb is not None]
    if low:
        peak = max(r.peak_gb for r in low)
        out.append(f"lowest tier peak: {peak:.2f} GB ({'under' if peak < 4 else 'OVER'} 4 GB)")
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--cpu-real-shape" in argv:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from render_cpu_real import main as cpu_real

        return cpu_real([a for a in argv if a != "--cpu-real-shape"])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true",
                        help="tiny random models (a dry run of the code path; CPU is fine)")
    parser.add_argument("--frames", type=int, default=None, help="default 16 (tiny: 4)")
    parser.add_argument("--size", type=int, default=None, help="pixels per side (default 512, "
                                                               "tiny: 32)")
    parser.add_argument("--steps", type=int, default=None, help="default 25 (tiny: 2)")
    parser.add_argument("--tiers", nargs="*", default=None,
                        help="tiers to run (default: all four on CUDA, cpu without)")
    parser.add_argument("--budget-gb", type=float, default=8.0, help="the auto-tier cap")
    parser.add_argument("--lowest-budget-gb", type=float, default=3.5)
    parser.add_argument("--build-device", default=None, help="where random weights are drawn")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)

    try:
        import torch
    except ImportError:
        print("torch is not installed: pip install 'spa2v-studio[diffusion]'.", file=sys.stderr)
        return 2
    cuda = torch.cuda.is_available()
    if not cuda and not args.tiny:
        print("No CUDA GPU here: this benchmark measures GPU time and VRAM per memory tier. "
              "Run it on a machine with an NVIDIA GPU, or add --tiny for a CPU dry run of the "
              "code path.", file=sys.stderr)
        return 2
    args.frames = args.frames or (4 if args.tiny else 16)
    args.size = args.size or (32 if args.tiny else 512)
    args.steps = args.steps or (2 if args.tiny else 25)
    tiers = args.tiers or (["gpu", "model_offload", "group_offload", "sequential_offload"]
                           if cuda else ["cpu"])
    dtype = torch.float16 if cuda else torch.float32
    build_device = args.build_device or ("cuda" if cuda else "cpu")
    layout = make_layout(args.frames, args.size)
    device_name = torch.cuda.get_device_name() if cuda else "CPU"
    print(f"# video engine benchmark: {'tiny random' if args.tiny else 'SD1.5 + AnimateDiff v3'}"
          f" models, {args.frames} frames, {args.size}x{args.size}, {args.steps} steps, "
          f"{'float16' if cuda else 'float32'}, {device_name}, {time.strftime('%Y-%m-%d')}",
          flush=True)

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        tok = write_tokenizer(Path(tmp) / "tokenizer")

        def fresh():
            return build_pipeline(args.tiny, tok, build_device, dtype)

        # Warm-up: kernels load and the allocator settles before anything is timed.
        warm = Row("warm-up", "gpu" if cuda else "cpu", "on")
        run_ours(fresh(), make_layout(2, args.size), argparse.Namespace(
            size=args.size, steps=2), tier="gpu" if cuda else "cpu", grounding=1.0,
            budget_gb=None, cuda=cuda, row=warm)

        for tier in tiers:
            for grounding in ("stock", "off", "on"):
                row = Row(tier, tier, grounding)
                if grounding == "stock":
                    run_stock(fresh(), layout, args, tier=tier, cuda=cuda, row=row)
                else:
                    run_ours(fresh(), layout, args, tier=tier,
                             grounding=1.0 if grounding == "on" else 0.0, budget_gb=None,
                             cuda=cuda, row=row)
                rows.append(row)
                print(f"  {row}", flush=True)
        if cuda:
            total = torch.cuda.get_device_properties(0).total_memory
            name = f"auto @ {args.budget_gb:g} GB"
            for grounding in ("stock", "off", "on"):
                pipe = fresh()
                torch.cuda.set_per_process_memory_fraction(args.budget_gb * 2**30 / total)
                try:
                    row = Row(name, "auto", grounding)
                    if grounding == "stock":
                        run_stock(pipe, layout, args, tier="gpu", cuda=cuda, row=row)
                    else:
                        run_ours(pipe, layout, args, tier="auto",
                                 grounding=1.0 if grounding == "on" else 0.0, budget_gb=None,
                                 cuda=cuda, row=row)
                finally:
                    torch.cuda.set_per_process_memory_fraction(1.0)
                rows.append(row)
                print(f"  {row}", flush=True)
                del pipe
            name = f"lowest @ {args.lowest_budget_gb:g} GB"
            for grounding in ("off", "on"):
                row = Row(name, "sequential_offload", grounding)
                run_ours(fresh(), layout, args, tier="sequential_offload",
                         grounding=1.0 if grounding == "on" else 0.0,
                         budget_gb=args.lowest_budget_gb, cuda=cuda, row=row)
                rows.append(row)
                print(f"  {row}", flush=True)

    print()
    print(table(rows))
    print()
    for line in verdicts(rows):
        print(f"- {line}")
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=2))
    failed = [r for r in rows if r.seconds is None and not r.run.startswith("auto")]
    return 1 if args.tiny and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
