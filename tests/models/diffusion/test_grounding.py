"""Box grounding: prompt token spans, region masks, the attention bias, the processors, and the
measured effect: the share of each object's cross-attention mass that falls inside its box."""

from __future__ import annotations

import numpy as np
import pytest

from engine.jobs import CancelToken, run_job
from engine.protocols import Frame, RenderSettings
from models.diffusion.grounding import (
    GroundedCrossAttention,
    attention_bias,
    box_coverage,
    compose_prompt,
    grid_for,
    install_grounding,
    region_masks,
    remove_grounding,
    spatial_cross_attention_names,
)

from .conftest import SIZE, make_layout

torch = pytest.importorskip("torch")


@pytest.fixture
def tokenizer(tokenizer_dir):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(tokenizer_dir)


def tokens_at(tokenizer, text, positions):
    ids = tokenizer(text).input_ids
    return [tokenizer.convert_ids_to_tokens(ids[p]) for p in positions]


# -- prompt and token spans ----------------------------------------------------------------------


def test_phrase_in_caption_is_grounded_where_it_stands(tokenizer):
    gp = compose_prompt("a red car drives past the city street", "", [(1, "car", "a red car")],
                        tokenizer)
    assert gp.text == "a red car drives past the city street"
    assert gp.spans[1] == (1, 2, 3)
    assert tokens_at(tokenizer, gp.text, gp.spans[1]) == ["a</w>", "red</w>", "car</w>"]


def test_missing_phrase_is_appended_and_label_in_caption_is_grounded_too(tokenizer):
    gp = compose_prompt("a dog sits on the left", "green field",
                        [(7, "dog", "a small white dog")], tokenizer)
    assert gp.text == "a dog sits on the left, green field, a small white dog"
    got = tokens_at(tokenizer, gp.text, gp.spans[7])
    assert got == ["dog</w>", "a</w>", "small</w>", "white</w>", "dog</w>"]


def test_two_objects_with_the_same_phrase_get_separate_tokens(tokenizer):
    gp = compose_prompt("a dog and a dog", "", [(1, "dog", "a dog"), (2, "dog", "a dog")],
                        tokenizer)
    assert gp.text == "a dog and a dog, a dog, a dog"
    assert set(gp.spans[1]).isdisjoint(gp.spans[2])
    assert tokens_at(tokenizer, gp.text, gp.spans[1]) == ["a</w>", "dog</w>"]
    assert min(gp.spans[2]) > max(gp.spans[1])


def test_long_caption_is_shortened_so_objects_keep_their_tokens(tokenizer):
    caption = " ".join(["city street"] * 40)
    gp = compose_prompt(caption, "", [(1, "car", "a red car")], tokenizer)
    assert gp.shortened and not gp.dropped
    ids = tokenizer(gp.text).input_ids
    assert len(ids) <= 77
    assert tokens_at(tokenizer, gp.text, gp.spans[1])[-1] == "car</w>"


# -- masks and bias ------------------------------------------------------------------------------


def test_box_coverage_counts_partial_cells():
    cov = box_coverage((0.25, 0.0, 0.625, 0.5), 2, 4)
    # Columns are 0.25 wide: the box covers column 1 fully and half of column 2; rows: the top.
    np.testing.assert_allclose(cov, [[0, 1, 0.5, 0], [0, 0, 0, 0]], atol=1e-6)
    assert box_coverage(None, 3, 3).sum() == 0


def test_region_masks_follow_the_boxes_per_frame():
    boxes = [[(0.0, 0.0, 0.5, 1.0), (0.5, 0.0, 1.0, 1.0), None]]
    masks = region_masks(boxes, 2, 2)
    assert masks.shape == (3, 1, 2, 2)
    np.testing.assert_allclose(masks[0, 0], [[1, 0], [1, 0]])
    np.testing.assert_allclose(masks[1, 0], [[0, 1], [0, 1]])
    assert masks[2].sum() == 0


def test_bias_raises_object_tokens_inside_and_lowers_them_outside():
    masks = region_masks([[(0.0, 0.0, 0.5, 1.0)]], 1, 2)  # left cell inside
    bias = attention_bias(masks, [(3, 4)], 6, inside=1.5, outside=5.0)
    assert bias.shape == (1, 2, 6)
    np.testing.assert_allclose(bias[0, 0], [0, 0, 0, 1.5, 1.5, 0])
    np.testing.assert_allclose(bias[0, 1], [0, 0, 0, -5, -5, 0])


def test_grid_for_finds_each_unet_level():
    assert grid_for(64 * 40, 64, 40) == (64, 40)
    assert grid_for(32 * 20, 64, 40) == (32, 20)
    assert grid_for(5 * 3, 9, 5) == (5, 3)  # stride-2 downsampling rounds up
    with pytest.raises(ValueError):
        grid_for(7, 16, 16)


# -- processors ----------------------------------------------------------------------------------


def test_only_spatial_cross_attention_is_replaced_and_can_be_restored(make_pipeline):
    from models.diffusion.grounding import GroundingState

    pipe = make_pipeline()
    before = {n: type(p) for n, p in pipe.unet.attn_processors.items()}
    count = install_grounding(pipe.unet, GroundingState())
    names = spatial_cross_attention_names(pipe.unet)
    assert count == len(names) == 4  # down 0, mid, and the two of up 1
    for name, proc in pipe.unet.attn_processors.items():
        assert isinstance(proc, GroundedCrossAttention) == (name in names)
        assert "motion_modules" not in name or not isinstance(proc, GroundedCrossAttention)
    remove_grounding(pipe.unet)
    assert {n: type(p) for n, p in pipe.unet.attn_processors.items()} == before


def test_grounding_off_gives_the_stock_pipeline_result(make_renderer):
    renderer = make_renderer(grounding_strength=0.0)
    layout = make_layout(4)
    frames: list[np.ndarray] = []
    run_job(renderer.render(layout, RenderSettings(width=SIZE, height=SIZE, steps=2, seed=5),
                            CancelToken()),
            lambda e: frames.append(e.image) if isinstance(e, Frame) else None)
    pipe = renderer._pipes[False]
    stock = pipe("a city street, a red car, a dog", negative_prompt=layout.negative_prompt,
                 num_frames=4, width=SIZE, height=SIZE, num_inference_steps=2,
                 generator=torch.Generator("cpu").manual_seed(5), output_type="np").frames[0]
    np.testing.assert_allclose(np.stack(frames), np.round(stock * 255), atol=1)


# -- the measured effect -------------------------------------------------------------------------


class InsideShare:
    """Per object: cross-attention mass of its tokens inside its box / all its mass.

    The box membership of each cell is computed here from the layout (cell centre inside the
    box), independently of the renderer's mask code, so a misplaced mask would show.
    """

    def __init__(self, layout, spans):
        self.layout, self.spans = layout, spans
        self.inside = {oid: 0.0 for oid in spans}
        self.total = {oid: 0.0 for oid in spans}

    def __call__(self, name, probs, frames, h, w):
        ys, xs = (np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w
        p = probs.detach().float().mean(1).numpy()  # (rows, pixels, tokens), heads averaged
        for oid, tokens in self.spans.items():
            obj = self.layout.object(oid)
            mass = p[:, :, list(tokens)].sum(-1)  # (rows, pixels)
            for row, f in enumerate(frames):
                x0, y0, x1, y1 = obj.boxes[f]
                inside = ((ys[:, None] >= y0) & (ys[:, None] < y1)
                          & (xs[None, :] >= x0) & (xs[None, :] < x1)).reshape(-1)
                self.inside[oid] += float(mass[row, inside].sum())
                self.total[oid] += float(mass[row].sum())

    def shares(self):
        return {oid: self.inside[oid] / self.total[oid] for oid in self.spans}


def measure_inside_share(make_renderer, strength: float,
                         guidance_scale: float = 7.5) -> dict[int, float]:
    renderer = make_renderer(grounding_strength=strength, grounding_until=1.0)
    layout = make_layout(4)
    pipe_tok = renderer._factory(False).tokenizer
    gp = compose_prompt(layout.caption, layout.background,
                        [(o.id, o.label, o.prompt) for o in layout.objects], pipe_tok)
    meter = InsideShare(layout, gp.spans)
    renderer._state.recorder = meter
    run_job(renderer.render(layout, RenderSettings(width=SIZE, height=SIZE, steps=3, seed=0,
                                                   guidance_scale=guidance_scale),
                            CancelToken()))
    return meter.shares()


def test_grounding_raises_each_objects_attention_share_inside_its_box(make_renderer):
    free = measure_inside_share(make_renderer, 0.0)
    grounded = measure_inside_share(make_renderer, 1.0)
    print(f"\nshare of cross-attention mass inside the box (ungrounded -> grounded): "
          + ", ".join(f"object {k}: {free[k]:.3f} -> {grounded[k]:.3f}" for k in free))
    for oid in free:
        assert grounded[oid] > free[oid] + 0.3
        assert grounded[oid] > 0.8
