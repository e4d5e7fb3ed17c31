"""The cheap latent preview and the optional LVD-style energy guidance."""

from __future__ import annotations

import numpy as np
import pytest

from engine.jobs import CancelToken, run_job
from engine.protocols import Frame, RenderSettings
from models.diffusion.preview import SD15_LATENT_RGB, latent_to_rgb

from .conftest import SIZE, make_layout

torch = pytest.importorskip("torch")


def test_preview_is_the_fixed_linear_map_enlarged():
    latent = np.zeros((4, 2, 3), np.float32)
    latent[0] = 1.0
    rgb = latent_to_rgb(latent, min_side=8)
    assert rgb.shape == (8, 12, 3) and rgb.dtype == np.uint8  # 2x3 enlarged by 4
    want = np.clip((SD15_LATENT_RGB[0] + 1) * 127.5, 0, 255).astype(np.uint8)
    assert (rgb == want).all()
    with pytest.raises(ValueError, match=r"\(4, h, w\)"):
        latent_to_rgb(np.zeros((3, 2, 2)))


def energy_setup(make_pipeline):
    from models.diffusion.grounding import GroundingState, compose_prompt, install_grounding

    pipe = make_pipeline()
    layout = make_layout(3)
    state = GroundingState()
    install_grounding(pipe.unet, state)
    gp = compose_prompt(layout.caption, "", [(o.id, o.label, o.prompt) for o in layout.objects],
                        pipe.tokenizer)
    state.configure(num_frames=3, cfg=True, latent_hw=(SIZE // 2, SIZE // 2),
                    spans=[gp.spans[o.id] for o in layout.objects],
                    boxes=[list(o.boxes) for o in layout.objects], strength=1.0, until=0.6)
    embeds, _ = pipe.encode_prompt(gp.text, "cpu", 1, False)
    pipe.scheduler.set_timesteps(10)
    latents = torch.randn(1, 4, 3, SIZE // 2, SIZE // 2, generator=torch.Generator().manual_seed(0))
    return pipe, state, embeds.repeat_interleave(3, dim=0), latents


def test_energy_guidance_step_lowers_the_energy(make_pipeline):
    from models.diffusion.energy import guide_latents

    pipe, state, cond, latents = energy_setup(make_pipeline)
    t = pipe.scheduler.timesteps[1]
    moved, before = guide_latents(pipe, latents, t, cond, state, 0.05)
    _, after = guide_latents(pipe, moved, t, cond, state, 0.0)
    print(f"\nattention energy before/after one guidance step: {before:.4f} -> {after:.4f}")
    assert 0 < after < before
    assert not torch.equal(moved, latents)
    assert state.cfg and state.recorder is None  # the render's settings are restored


def render_frames(renderer) -> np.ndarray:
    events = []
    run_job(renderer.render(make_layout(3), RenderSettings(width=SIZE, height=SIZE, steps=3,
                                                           seed=0), CancelToken()),
            events.append)
    return np.stack([e.image for e in events if isinstance(e, Frame)])


def test_render_with_energy_guidance(make_renderer, monkeypatch):
    import models.diffusion.run as run

    steps = []
    real = run.guide_latents

    def counting(pipe, latents, t, cond, state, step_size):
        # the guided rows are the conditional ones: one per frame, with the prompt's width
        assert cond.shape[0] == 3 and step_size == pytest.approx(0.1)
        moved, energy = real(pipe, latents, t, cond, state, step_size)
        steps.append(energy)
        return moved, energy

    monkeypatch.setattr(run, "guide_latents", counting)
    plain = render_frames(make_renderer())
    assert steps == []  # off by default
    guided = render_frames(make_renderer(energy_steps=2))
    assert guided.shape == plain.shape == (3, SIZE, SIZE, 3)
    # the guidance ran, measured an energy, and what it did reached the frames
    assert len(steps) >= 1 and all(e is not None and e > 0 for e in steps)
    assert np.abs(guided.astype(int) - plain).mean() > 0.5
