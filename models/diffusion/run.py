"""Running the pipeline as a job: denoising with live events and cancel, then chunked decoding.

diffusers' ``__call__`` is one blocking call that reports through ``callback_on_step_end``. To
turn that into a generator of events (what the engine's jobs are), the call runs in a worker
thread and its callback hands each event over and waits until the consumer has taken it, so
the consumer sees every step as it happens and a cancel pressed while handling step *k*'s
event stops the run at the end of step *k* at the latest. The callback raises its own stop
exception (diffusers' interrupt flag would still decode the whole video) and the job then
raises :class:`engine.errors.Cancelled`.

The video is decoded here, not in the pipeline (``output_type="latent"``), a few frames at a
time, so frames stream out as they are ready, cancel works between chunks, and an
out-of-memory error while decoding only retries the decode with smaller chunks.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import Cancelled
from engine.jobs import CancelToken, Event, Job, Preview, Progress

from .energy import guide_latents
from .grounding import GroundingState
from .memory import is_out_of_memory
from .preview import preview_frame


class OutOfMemory(Exception):
    """The device ran out of memory. ``done`` frames were already decoded (decode only)."""

    def __init__(self, message: str, done: int = 0):
        super().__init__(message)
        self.done = done


class _Stop(Exception):
    """Raised inside the pipeline's callback to leave the denoising loop at once."""


@dataclass(frozen=True)
class DenoiseCall:
    """Arguments of one pipeline call."""

    prompt: str
    negative_prompt: str
    num_frames: int
    width: int
    height: int
    steps: int
    guidance_scale: float
    seed: int
    preview_every: int = 5
    energy_steps: int = 0
    energy_scale: float = 0.1


class _Channel:
    """Worker -> job hand-over. ``send`` blocks until the job has passed the event on."""

    def __init__(self) -> None:
        self._items: queue.Queue = queue.Queue()
        self._taken = threading.Semaphore(0)
        self.closed = threading.Event()

    def send(self, event: Event) -> None:
        if self.closed.is_set():
            raise _Stop
        self._items.put(("event", event))
        while not self._taken.acquire(timeout=0.1):
            if self.closed.is_set():
                raise _Stop

    def finish(self, kind: str, payload: Any) -> None:
        self._items.put((kind, payload))

    def receive(self) -> tuple[str, Any]:
        return self._items.get()

    def taken(self) -> None:
        self._taken.release()


def denoise(pipe: Any, call: DenoiseCall, state: GroundingState, token: CancelToken,
            progress: Callable[[float, str], Progress]) -> Job[Any]:
    """A job that runs the denoising loop and returns the latents ``(1, 4, frames, h, w)``.

    ``progress(fraction, detail)`` makes the per-step Progress events. Raises
    :class:`Cancelled` when ``token`` is cancelled and :class:`OutOfMemory` when the device ran
    out of memory (nothing of the failed attempt is kept, so the caller may retry).
    """
    import torch

    channel = _Channel()
    mid = call.num_frames // 2
    cfg = call.guidance_scale > 1.0

    def on_step_end(p: Any, i: int, t: Any, kw: dict) -> dict:
        latents = kw["latents"]
        total = p.num_timesteps
        state.set_step(i + 1, total)
        if token.cancelled or channel.closed.is_set():
            raise _Stop
        if i + 1 < min(call.energy_steps, total):
            cond = kw["prompt_embeds"][call.num_frames:] if cfg else kw["prompt_embeds"]
            latents, _ = guide_latents(p, latents, p.scheduler.timesteps[i + 1], cond, state,
                                       call.energy_scale)
        channel.send(progress((i + 1) / total, f"step {i + 1}/{total}"))
        every = call.preview_every
        if every and ((i + 1) % every == 0 or i + 1 == total):
            channel.send(Preview(preview_frame(latents, mid), index=mid, total=call.num_frames,
                                 stage="denoise"))
        if token.cancelled:
            raise _Stop
        return {"latents": latents}

    inputs = ["latents", "prompt_embeds"] if call.energy_steps else ["latents"]

    def work() -> None:
        device = pipe._execution_device
        try:
            if device.type == "cuda":
                # A new thread starts on CUDA device 0; streams and hooks use the current one.
                torch.cuda.set_device(device)
            out = pipe(prompt=call.prompt, negative_prompt=call.negative_prompt,
                       num_frames=call.num_frames, height=call.height, width=call.width,
                       num_inference_steps=call.steps, guidance_scale=call.guidance_scale,
                       generator=torch.Generator("cpu").manual_seed(call.seed),
                       output_type="latent", callback_on_step_end=on_step_end,
                       callback_on_step_end_tensor_inputs=inputs)
            channel.finish("done", out.frames)
        except _Stop:
            channel.finish("stopped", None)
        except BaseException as e:  # handed to the job thread, which re-raises it
            if is_out_of_memory(e):
                # Only the text travels: the error's traceback holds the tensors to be freed.
                channel.finish("oom", str(e).splitlines()[0] if str(e) else "out of memory")
            else:
                channel.finish("error", e)
        finally:
            try:
                pipe.maybe_free_model_hooks()
            except Exception:  # cleanup after a failed call must not hide its error
                pass

    worker = threading.Thread(target=work, name="spa2v-denoise", daemon=True)
    worker.start()
    try:
        while True:
            kind, payload = channel.receive()
            if kind == "event":
                try:
                    yield payload
                finally:
                    channel.taken()
            elif kind == "done":
                return payload
            elif kind == "stopped":
                raise Cancelled()
            elif kind == "oom":
                raise OutOfMemory(payload)
            else:
                raise payload
    finally:
        channel.closed.set()
        channel.taken()
        worker.join()


def _set_vae_tiling(vae: Any, on: bool) -> None:
    if not hasattr(vae, "enable_tiling"):
        return
    if not hasattr(vae, "_spa2v_tile_defaults"):
        vae._spa2v_tile_defaults = (vae.tile_sample_min_size, vae.tile_latent_min_size)
    if on:
        # The stock tile (the training size, 512) would not split a 512-pixel frame at all.
        scale = vae._spa2v_tile_defaults[0] // max(1, vae._spa2v_tile_defaults[1])
        vae.tile_sample_min_size = max(64, vae._spa2v_tile_defaults[0] // 2)
        vae.tile_latent_min_size = vae.tile_sample_min_size // max(1, scale)
        vae.enable_tiling()
    else:
        vae.tile_sample_min_size, vae.tile_latent_min_size = vae._spa2v_tile_defaults
        vae.disable_tiling()


def decode(pipe: Any, latents: Any, *, start: int, chunk: int, tiling: bool,
           token: CancelToken) -> Iterator[tuple[int, np.ndarray]]:
    """Decode frames ``start..`` of ``latents`` ``chunk`` at a time; yields ``(index, image)``.

    Images are RGB uint8 ``(H, W, 3)``. Raises :class:`OutOfMemory` with the count of frames
    already yielded, so the caller can resume with a smaller chunk.
    """
    import torch

    vae = pipe.vae
    _set_vae_tiling(vae, tiling)
    frames = latents.shape[2]
    device = pipe._execution_device
    done = start
    try:
        with torch.no_grad():
            for first in range(start, frames, chunk):
                token.raise_if_cancelled()
                z = latents[0, :, first:first + chunk].permute(1, 0, 2, 3)
                z = (z / vae.config.scaling_factor).to(device=device, dtype=vae.dtype)
                try:
                    x = vae.decode(z).sample
                except BaseException as e:
                    if not is_out_of_memory(e):
                        raise
                    message = str(e).splitlines()[0] if str(e) else "out of memory"
                    del e
                    raise OutOfMemory(message, done) from None
                images = ((x.float() / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8)
                images = images.permute(0, 2, 3, 1).cpu().numpy()
                del x
                for k, image in enumerate(images):
                    yield (first + k, np.ascontiguousarray(image))
                    done = first + k + 1
    finally:
        _set_vae_tiling(vae, False)
