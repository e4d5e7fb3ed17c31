"""LVD-style energy guidance: nudge the latents so each object's attention falls in its box.

For a few early steps, the UNet is run once more on the conditional rows with gradients on;
the energy is, per object and frame, ``(1 - share of its tokens' cross-attention mass inside
its box)^2``, averaged; the latents take one normalized gradient step down that energy. It
costs a forward and a backward pass per guided step and the memory of the backward pass, so
it is off by default (``energy_steps=0``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .grounding import GroundingState, region_masks


class AttentionEnergy:
    """Collects the energy from the grounded layers' recorded attention (keeps the graph)."""

    def __init__(self, state: GroundingState):
        self.state = state
        self.terms: list[Any] = []
        self._masks: dict[tuple[int, int], Any] = {}

    def __call__(self, name: str, probs: Any, frames: np.ndarray, h: int, w: int) -> None:
        import torch

        if (h, w) not in self._masks:
            m = region_masks(self.state.boxes, h, w)  # (frames, objects, h, w)
            self._masks[(h, w)] = torch.from_numpy(m.reshape(m.shape[0], m.shape[1], -1))
        masks = self._masks[(h, w)].to(probs.device)[torch.as_tensor(frames)]  # (rows, O, N)
        for o, tokens in enumerate(self.state.spans):
            if not tokens:
                continue
            mass = probs[..., list(tokens)].float().sum(-1).mean(1)  # (rows, N)
            inside = (mass * masks[:, o]).sum(-1)
            total = mass.sum(-1) + 1e-8
            visible = masks[:, o].sum(-1) > 0
            if visible.any():
                self.terms.append(((1.0 - inside / total)[visible] ** 2).mean())

    def value(self) -> Any:
        import torch

        return torch.stack(self.terms).mean() if self.terms else None


def guide_latents(pipe: Any, latents: Any, timestep: Any, cond_embeds: Any,
                  state: GroundingState, step_size: float) -> tuple[Any, float | None]:
    """One energy-guidance step on ``latents`` (batch, 4, frames, h, w) at ``timestep``.

    ``cond_embeds`` are the conditional prompt embeddings, one row per frame. Returns the new
    latents and the energy before the step (None when no object is visible).
    """
    import torch

    saved = (state.weight, state.recorder, state.cfg)
    energy = AttentionEnergy(state)
    # The unbiased attention is what the latents themselves produce: measure that.
    state.weight, state.recorder, state.cfg = 0.0, energy, False
    state.generation += 1
    try:
        with torch.enable_grad():
            x = latents.detach().requires_grad_(True)
            model_in = pipe.scheduler.scale_model_input(x, timestep)
            pipe.unet(model_in, timestep, encoder_hidden_states=cond_embeds)
            e = energy.value()
            if e is None:
                return latents, None
            (grad,) = torch.autograd.grad(e, x)
    finally:
        state.weight, state.recorder, state.cfg = saved
        state.generation += 1
    grad = grad / (grad.float().pow(2).mean().sqrt() + 1e-12)
    return (latents - step_size * latents.float().std() * grad).to(latents.dtype), float(e.detach())
