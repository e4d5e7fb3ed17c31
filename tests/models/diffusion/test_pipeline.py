"""The diffusion renderer end to end on tiny random components (CPU): frames, events, seeds,
sizes, long clips with FreeNoise, and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import BadInput
from engine.jobs import CancelToken, Log, Preview, Progress, run_job
from engine.protocols import Frame, RenderSettings, Renderer

from .conftest import SIZE, make_layout

torch = pytest.importorskip("torch")


def render(renderer, layout, **settings):
    settings.setdefault("width", SIZE)
    settings.setdefault("height", SIZE)
    settings.setdefault("steps", 2)
    events: list = []
    run_job(renderer.render(layout, RenderSettings(renderer="diffusion", **settings),
                            CancelToken()), events.append)
    frames = [e for e in events if isinstance(e, Frame)]
    return frames, events


def test_full_render_yields_frames_in_order_with_progress_and_previews(make_renderer):
    renderer = make_renderer(preview_every=1)
    assert isinstance(renderer, Renderer) and renderer.name == "diffusion"
    layout = make_layout(4, duration_s=1.5)
    frames, events = render(renderer, layout, steps=3, seed=1)
    assert [f.index for f in frames] == [0, 1, 2, 3]
    for f in frames:
        assert f.image.shape == (SIZE, SIZE, 3) and f.image.dtype == np.uint8
        assert f.fps == pytest.approx(layout.fps)
    steps = [e for e in events if isinstance(e, Progress) and e.detail.startswith("step")]
    assert [e.detail for e in steps] == ["step 1/3", "step 2/3", "step 3/3"]
    assert all(e.eta_s is not None and e.eta_s >= 0 for e in steps)
    fractions = [e.fraction for e in events if isinstance(e, Progress)]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    previews = [e for e in events if isinstance(e, Preview)]
    assert len(previews) == 3
    assert previews[0].image.dtype == np.uint8 and previews[0].image.shape[2] == 3
    assert previews[0].total == 4
    # Every step's events come before the first frame: frames follow the denoising.
    assert events.index(steps[-1]) < events.index(frames[0])


def test_same_seed_same_video_other_seed_other_video(make_renderer):
    renderer = make_renderer()
    layout = make_layout(3)
    a = np.stack([f.image for f in render(renderer, layout, seed=7)[0]])
    b = np.stack([f.image for f in render(renderer, layout, seed=7)[0]])
    c = np.stack([f.image for f in render(renderer, layout, seed=8)[0]])
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c).mean() > 1.0


def test_layout_size_above_native_renders_small_and_scales_up(make_renderer):
    renderer = make_renderer(native_size=SIZE)
    layout = make_layout(2, size=64)
    frames, _ = render(renderer, layout, width=None, height=None)
    assert frames[0].image.shape == (64, 64, 3)


def test_more_frames_than_max_frames_are_sampled_over_the_clip(make_renderer):
    renderer = make_renderer(max_frames=3)
    layout = make_layout(6, duration_s=3.0)
    frames, events = render(renderer, layout)
    assert len(frames) == 3
    assert frames[0].fps == pytest.approx(1.0)  # 3 frames over 3 s
    assert any(isinstance(e, Log) and "rendering 3" in e.message for e in events)


def test_long_clip_uses_freenoise_context_windows(make_renderer):
    from diffusers.models.attention import BasicTransformerBlock, FreeNoiseTransformerBlock

    renderer = make_renderer(context_length=4, context_stride=2)
    layout = make_layout(6, duration_s=6.0)
    frames, events = render(renderer, layout)
    pipe = renderer._pipes[False]
    assert len(frames) == 6
    assert any(isinstance(e, Log) and "FreeNoise" in e.message for e in events)
    assert pipe.free_noise_enabled
    blocks = [b for m in pipe.unet.modules() if hasattr(m, "transformer_blocks")
              and "Transformer3D" in type(m).__name__ for b in m.transformer_blocks]
    assert blocks and all(isinstance(b, FreeNoiseTransformerBlock) for b in blocks)
    assert {b.context_length for b in blocks} == {4}
    # A short clip afterwards goes back to the plain motion modules.
    render(renderer, make_layout(3))
    assert not pipe.free_noise_enabled
    blocks = [b for m in pipe.unet.modules() if hasattr(m, "transformer_blocks")
              and "Transformer3D" in type(m).__name__ for b in m.transformer_blocks]
    assert all(type(b) is BasicTransformerBlock for b in blocks)


def test_guidance_off_renders_with_one_row_per_frame(make_renderer):
    frames, _ = render(make_renderer(), make_layout(3), guidance_scale=1.0)
    assert len(frames) == 3


@pytest.mark.parametrize("options, message", [
    ({"no_such_option": 1}, "Unknown diffusion option"),
    ({"grounding_strength": "lots"}, "grounding_strength"),
    ({"grounding_strength": 9}, "between"),
    ({"scheduler": "heun"}, "scheduler"),
])
def test_bad_options_are_rejected_before_any_work(make_renderer, options, message):
    with pytest.raises(BadInput, match=message):
        render(make_renderer(), make_layout(2), options=options)


def test_bad_settings_are_rejected(make_renderer):
    with pytest.raises(BadInput, match="memory tier"):
        render(make_renderer(), make_layout(2), memory_tier="turbo")
    with pytest.raises(BadInput, match="steps"):
        render(make_renderer(), make_layout(2), steps=0)


def test_option_text_from_the_command_line_is_converted():
    from models.diffusion.options import parse_options

    opts = parse_options({"grounding_strength": "0.5", "lcm": "yes", "decode_chunk": "4",
                          "vram_budget_gb": "none"})
    assert opts.grounding_strength == 0.5 and opts.lcm is True and opts.decode_chunk == 4
    assert opts.vram_budget_gb is None
