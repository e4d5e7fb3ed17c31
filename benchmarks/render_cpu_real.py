"""The real-size video engine on the CPU: SD1.5 UNet + AnimateDiff v1-5-3 motion modules + VAE +
CLIP text encoder, built from their real configs (``render_gpu.py`` holds them) with random
float32 weights, run through our renderer with grounding off and on, with FreeNoise windows,
and through the stock diffusers ``AnimateDiffPipeline``, all in one process on one pipeline.

Nothing is downloaded; the numbers depend on the shapes, not on the weights. The tokenizer is
a small offline BPE one (token count 77 as CLIP's; the vocabulary does not change any shape).
What it proves: real head counts and channel sizes, the grounding processor on every real
spatial cross-attention layer, FreeNoise windows and the VAE decode all run through.

Printed per run: seconds per denoising step (text encoding included, as diffusers times it),
decode seconds, peak RSS while denoising and while decoding (``/proc/self/clear_refs`` resets
the high-water mark between phases), the grounding overhead as a ratio to the stock pipeline,
and the memory the tier chooser (``models/diffusion/memory.py``) predicts for the same
workload in float32 next to what was measured above the resident weights.

Usage (budget: about 5-10 minutes on 2 cores, about 9 GB of RAM)::

    OMP_NUM_THREADS=2 python benchmarks/render_cpu_real.py              # 256x256, 8 frames, 2 steps
    python benchmarks/render_gpu.py --cpu-real-shape                    # the same
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

GIB = 2 ** 30


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def rss_bytes() -> int:
    return _status_kb("VmRSS") * 1024


def peak_rss_bytes() -> int:
    return _status_kb("VmHWM") * 1024


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def reset_peak_rss() -> None:
    """Set the process's RSS high-water mark back to its current RSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


@dataclass
class Run:
    name: str
    grounding: str
    steps: int = 0
    step_s: float | None = None
    step_cpu_s: float | None = None  # CPU seconds of this process per step (all threads)
    decode_s: float | None = None
    total_s: float | None = None
    base_rss_gb: float | None = None
    denoise_peak_gb: float | None = None
    decode_peak_gb: float | None = None
    grounded_layers: int = 0
    notes: list[str] = field(default_factory=list)


def _record(run: Run, steps: int, marks: dict, *, start: float, cpu0: float, end: float) -> None:
    """Fill a run's figures; ``marks`` holds the time, CPU time and peak RSS when the last
    denoising step ended (the decode follows; for the stock call the peak is the whole call's)."""
    run.steps = steps
    run.step_s = (marks["denoised"] - start) / steps
    run.step_cpu_s = (marks["cpu"] - cpu0) / steps
    run.decode_s = end - marks["denoised"]
    run.total_s = end - start
    run.denoise_peak_gb = marks["peak"] / GIB
    run.decode_peak_gb = peak_rss_bytes() / GIB


def run_stock(pipe, layout, args, run: Run) -> None:
    """Stock AnimateDiffPipeline (no grounding processors), decoding inside the call."""
    import torch

    from models.diffusion.grounding import compose_prompt, remove_grounding

    remove_grounding(pipe.unet)
    if pipe.free_noise_enabled:
        pipe.disable_free_noise()
    prompt = compose_prompt(layout.caption, layout.background,
                            [(o.id, o.label, o.prompt) for o in layout.objects],
                            pipe.tokenizer).text
    marks: dict[str, float] = {}

    def on_step_end(p, i, t, kw):
        marks["denoised"] = time.perf_counter()
        marks["cpu"] = cpu_s()
        marks["peak"] = peak_rss_bytes()
        return {}

    gc.collect()
    run.base_rss_gb = rss_bytes() / GIB
    reset_peak_rss()
    errors: list[BaseException] = []

    def call():
        try:
            with torch.no_grad():
                pipe(prompt, negative_prompt=layout.negative_prompt,
                     num_frames=layout.num_frames, width=args.size, height=args.size,
                     num_inference_steps=args.steps, guidance_scale=7.5,
                     generator=torch.Generator("cpu").manual_seed(0),
                     decode_chunk_size=layout.num_frames, output_type="np",
                     callback_on_step_end=on_step_end)
        except BaseException as e:  # noqa: BLE001 - re-raised in this thread
            errors.append(e)

    # A worker thread, as our renderer runs the pipeline: on this shared machine torch ran the
    # same call 3-4x slower on the main thread than on a worker (OpenMP waits when
    # oversubscribed), which would make the stock pipeline look slow for the wrong reason.
    start, cpu0 = time.perf_counter(), cpu_s()
    worker = threading.Thread(target=call)
    worker.start()
    worker.join()
    end = time.perf_counter()
    if errors:
        raise errors[0]
    _record(run, args.steps, marks, start=start, cpu0=cpu0, end=end)


def run_ours(pipe, layout, args, run: Run, *, grounding: float, context: int | None) -> None:
    from engine.jobs import CancelToken, Log, Progress, run_job
    from engine.protocols import Frame, RenderSettings
    from models.diffusion.grounding import spatial_cross_attention_names
    from models.diffusion.renderer import DiffusionRenderer

    renderer = DiffusionRenderer(pipeline=pipe, device="cpu")
    # The default grounding_until (0.6) keeps the bias on in both of 2 steps (full, then 1/3).
    options = {"grounding_strength": grounding, "preview_every": 0}
    if context:
        options.update(context_length=context, context_stride=max(1, context // 2))
    settings = RenderSettings(renderer="diffusion", width=args.size, height=args.size,
                              steps=args.steps, seed=0, memory_tier="cpu", options=options)
    marks: dict[str, float] = {}
    frames: list[int] = []

    last_step = f"step {args.steps}/{args.steps}"

    def on_event(event):
        if isinstance(event, Progress) and event.detail == last_step:
            # Sent from the last step's callback: denoising is over, decoding comes next.
            marks["denoised"] = time.perf_counter()
            marks["cpu"] = cpu_s()
            marks["peak"] = peak_rss_bytes()
            reset_peak_rss()
        elif isinstance(event, Frame):
            frames.append(event.index)
        elif isinstance(event, Log):
            run.notes.append(event.message)

    gc.collect()
    run.base_rss_gb = rss_bytes() / GIB
    reset_peak_rss()
    start, cpu0 = time.perf_counter(), cpu_s()
    run_job(renderer.render(layout, settings, CancelToken()), on_event)
    end = time.perf_counter()
    if len(frames) != layout.num_frames:
        raise RuntimeError(f"{run.name}: got {len(frames)} frames of {layout.num_frames}")
    _record(run, args.steps, marks, start=start, cpu0=cpu0, end=end)
    processors = pipe.unet.attn_processors
    run.grounded_layers = sum(type(processors[n]).__name__ == "GroundedCrossAttention"
                              for n in spatial_cross_attention_names(pipe.unet))


def predictions(pipe, args, grounded: bool) -> dict[str, float]:
    """What memory.py predicts for this workload in float32, split into weights and work."""
    from models.diffusion.memory import (ModelSizes, Workload, estimate_decode_bytes,
                                         estimate_denoise_bytes)

    sizes = ModelSizes.from_pipeline(pipe)
    work = Workload(args.size, args.size, args.frames, cfg=True, dtype_bytes=4,
                    grounded=grounded, vae_scale=pipe.vae_scale_factor)
    weights = sizes.unet_bytes + sizes.text_encoder_bytes + sizes.vae_bytes
    denoise = estimate_denoise_bytes("gpu", work, sizes) - weights
    decode = estimate_decode_bytes("gpu", work, sizes, min(16, args.frames)) - weights
    return {"weights_gb": weights / GIB, "denoise_work_gb": denoise / GIB,
            "decode_work_gb": decode / GIB}


def vae_only(size: int, frames: int) -> int:
    """Decode ``frames`` random latents of a ``size`` x ``size`` clip with the real SD1.5 VAE and
    print the peak RSS above the resident weights next to memory.py's decode estimate (a
    workload the decode constant was not calibrated on)."""
    import torch
    from diffusers import AutoencoderKL

    from models.diffusion.memory import ModelSizes, Workload, estimate_decode_bytes
    from render_gpu import SD15_VAE

    torch.manual_seed(0)
    vae = AutoencoderKL(**SD15_VAE).eval()
    weights = sum(p.numel() * 4 for p in vae.parameters())
    z = torch.randn(frames, 4, size // 8, size // 8)
    gc.collect()
    base = rss_bytes()
    reset_peak_rss()
    start = time.perf_counter()
    with torch.no_grad():
        vae.decode(z / vae.config.scaling_factor)
    measured = peak_rss_bytes() - base
    sizes = ModelSizes(0, 0, weights, 0, 0, 0)
    work = Workload(size, size, frames, dtype_bytes=4)
    estimate = estimate_decode_bytes("gpu", work, sizes, frames) - weights
    print(f"VAE decode of {frames} frames at {size}x{size}, float32: measured "
          f"{measured / GIB:.2f} GiB above the weights, estimated {estimate / GIB:.2f} GiB "
          f"({estimate / measured:.2f}x); {time.perf_counter() - start:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--context", type=int, default=4,
                        help="FreeNoise window for the last run (frames; stride = half)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--tiny", action="store_true", help="tiny configs: a quick dry run")
    parser.add_argument("--runs", default="stock,off,on,freenoise",
                        help="which runs, in order (comma list of stock, off, on, freenoise)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--vae-only", nargs=2, type=int, metavar=("SIZE", "FRAMES"),
                        help="only decode FRAMES random latents at SIZE x SIZE with the real "
                             "VAE and compare the peak RSS with the estimate")
    args = parser.parse_args(argv)
    if args.vae_only:
        return vae_only(*args.vae_only)

    import torch

    from render_gpu import build_pipeline, make_layout, write_tokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    print(f"# real-shape CPU run: {'tiny' if args.tiny else 'SD1.5 + AnimateDiff v1-5-3'} "
          f"random float32 weights, {args.frames} frames, {args.size}x{args.size}, "
          f"{args.steps} DDIM steps, guidance 7.5, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    rss0 = rss_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        tok = write_tokenizer(Path(tmp) / "tokenizer")
        t0 = time.perf_counter()
        pipe = build_pipeline(args.tiny, tok, "cpu", torch.float32)
    gc.collect()
    print(f"built in {time.perf_counter() - t0:.0f} s; RSS {rss0 / GIB:.2f} -> "
          f"{rss_bytes() / GIB:.2f} GB", flush=True)
    layout = make_layout(args.frames, args.size)
    # Warm-up (one step, 2 frames at 64x64) so that no timed run pays for first calls.
    t = time.perf_counter()
    warm = threading.Thread(target=lambda: pipe("a car", num_frames=2, width=64, height=64,
                                                 num_inference_steps=1, output_type="latent"))
    warm.start()
    warm.join()
    print(f"warm-up {time.perf_counter() - t:.0f} s", flush=True)
    known = {"stock": Run("stock AnimateDiffPipeline", "stock"), "off": Run("ours", "off"),
             "on": Run("ours", "on"),
             "freenoise": Run(f"ours + FreeNoise {args.context}/{max(1, args.context // 2)}", "on")}
    runs = [known[k.strip()] for k in args.runs.split(",")]
    for run in runs:
        t = time.perf_counter()
        try:
            if run.grounding == "stock":
                run_stock(pipe, layout, args, run)
            else:
                run_ours(pipe, layout, args, run, grounding=1.0 if run.grounding == "on" else 0.0,
                         context=args.context if "FreeNoise" in run.name else None)
        except Exception as e:  # noqa: BLE001 - a failure is a result: print it and go on
            run.notes.append(f"FAILED: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
        print(f"  {run.name} [{run.grounding}] {time.perf_counter() - t:.0f} s: "
              f"{json.dumps(asdict(run))}", flush=True)

    def f(v, fmt):
        return "-" if v is None else format(v, fmt)

    print("\n| run | grounding | s / step | CPU s / step | decode s | total s | "
          "peak RSS denoise GB | peak RSS decode GB | grounded layers |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(f"| {r.name} | {r.grounding} | {f(r.step_s, '.1f')} | {f(r.step_cpu_s, '.1f')} | "
              f"{f(r.decode_s, '.1f')} | "
              f"{f(r.total_s, '.1f')} | {f(r.denoise_peak_gb, '.2f')} | "
              f"{f(r.decode_peak_gb, '.2f')} | {r.grounded_layers} |")
    stock, off, on = known["stock"], known["off"], known["on"]
    print()
    for unit, key in (("wall", "step_s"), ("CPU", "step_cpu_s")):
        s_, o_, g_ = (getattr(r, key) for r in (stock, off, on))
        if g_ and s_:
            print(f"- grounding overhead ({unit} time per step): {g_ / s_:.3f}x stock"
                  + (f", {g_ / o_:.3f}x ours with grounding off" if o_ else ""))
    print(f"- peak RSS of the process: {peak_rss_bytes() / GIB:.2f} GB (last phase); "
          f"weights resident {runs[0].base_rss_gb or 0:.2f} GB")
    for r, grounded in ((off, False), (on, True)):
        if r.denoise_peak_gb is None:
            continue
        p = predictions(pipe, args, grounded)
        print(f"- {r.name} {r.grounding}: predicted work above weights "
              f"{p['denoise_work_gb']:.2f} GB denoise / {p['decode_work_gb']:.2f} GB decode; "
              f"measured {r.denoise_peak_gb - r.base_rss_gb:.2f} / "
              f"{r.decode_peak_gb - r.base_rss_gb:.2f} GB (weights {p['weights_gb']:.2f} GB)")
    for r in runs:
        for note in r.notes:
            print(f"  note [{r.name} {r.grounding}]: {note}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=2))
    return 1 if any(r.step_s is None for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
