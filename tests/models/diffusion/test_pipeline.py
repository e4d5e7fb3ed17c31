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


class UNetInputs:
    """Records the shape of every UNet call's latent input ``(batch, 4, frames, h, w)``."""

    def __init__(self, renderer):
        self.shapes: list[tuple[int, ...]] = []
        pipe = renderer._factory(False)
        self._hook = pipe.unet.register_forward_pre_hook(self._record, with_kwargs=True)

    def _record(self, module, args, kwargs):
        sample = args[0] if args else kwargs["sample"]
        self.shapes.append(tuple(sample.shape))

    def close(self):
        self._hook.remove()


def test_layout_size_above_native_renders_small_and_scales_up(make_renderer):
    renderer = make_renderer(native_size=SIZE)
    spy = UNetInputs(renderer)
    layout = make_layout(2, size=2 * SIZE)
    frames, _ = render(renderer, layout, width=None, height=None, steps=1)
    spy.close()
    # The model ran at the native size (latent = pixels / the VAE's factor 2) ...
    assert spy.shapes and {s[-2:] for s in spy.shapes} == {(SIZE // 2, SIZE // 2)}
    # ... and the frames were scaled up to the layout's size, smoothly (not left small and
    # padded: every row and column of the output carries picture).
    image = frames[0].image
    assert image.shape == (2 * SIZE, 2 * SIZE, 3)
    assert image.std(axis=(0, 2)).min() > 0 and image.std(axis=(1, 2)).min() > 0


def test_a_layout_at_or_below_native_size_renders_at_its_own_size(make_renderer):
    renderer = make_renderer(native_size=4 * SIZE)
    spy = UNetInputs(renderer)
    frames, _ = render(renderer, make_layout(2, size=2 * SIZE), width=None, height=None,
                       steps=1)
    spy.close()
    assert {s[-2:] for s in spy.shapes} == {(SIZE, SIZE)}
    assert frames[0].image.shape == (2 * SIZE, 2 * SIZE, 3)


def test_an_explicit_size_is_not_scaled_down(make_renderer):
    renderer = make_renderer(native_size=SIZE)
    spy = UNetInputs(renderer)
    frames, _ = render(renderer, make_layout(2, size=2 * SIZE), width=2 * SIZE,
                       height=2 * SIZE, steps=1)
    spy.close()
    assert {s[-2:] for s in spy.shapes} == {(SIZE, SIZE)}
    assert frames[0].image.shape == (2 * SIZE, 2 * SIZE, 3)


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


class RecordedFrames:
    """A grounding recorder: the frame index of each conditional row, per grounded layer call."""

    def __init__(self):
        self.calls: list[list[int]] = []

    def __call__(self, name, probs, frames, h, w):
        assert probs.shape[0] == len(frames)
        self.calls.append([int(f) for f in frames])


@pytest.mark.parametrize("guidance, batch", [(1.0, 1), (7.5, 2)])
def test_guidance_off_renders_with_one_row_per_frame(make_renderer, guidance, batch):
    renderer = make_renderer(grounding_until=1.0)
    spy, recorder = UNetInputs(renderer), RecordedFrames()
    renderer._state.recorder = recorder
    frames, _ = render(renderer, make_layout(3), guidance_scale=guidance, steps=2)
    spy.close()
    assert len(frames) == 3
    # Without guidance one latent row per frame goes through the UNet; with it, two (the
    # unconditional copy) -- the grounding state must agree, or boxes land on wrong frames.
    assert {s[0] for s in spy.shapes} == {batch} and {s[2] for s in spy.shapes} == {3}
    assert renderer._state.cfg is (batch == 2)
    assert renderer._state.rows == 3 * batch
    # Every grounded layer saw each frame's conditional row exactly once, in order.
    assert recorder.calls and all(c == [0, 1, 2] for c in recorder.calls)


def test_grounding_acts_without_guidance_too(make_renderer):
    from .test_grounding import measure_inside_share

    free = measure_inside_share(make_renderer, 0.0, guidance_scale=1.0)
    grounded = measure_inside_share(make_renderer, 1.0, guidance_scale=1.0)
    for oid in free:
        assert grounded[oid] > free[oid] + 0.3


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
