"""Tiny random SD1.5-shaped components built from configs, and layouts to render with them.

The UNet has two levels (32 and 64 channels) with cross-attention on the first, a motion
adapter with one layer per block, a two-level VAE (scale factor 2), a 2-layer CLIP text model
and a CLIP tokenizer whose vocab and merges this file writes, so nothing is downloaded. A
frame is 32x32 pixels (a 16x16 latent).
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from engine.layout import Layout, LayoutObject  # noqa: E402
from tests.models.diffusion.clip_tokenizer import write_tokenizer as _write_tokenizer  # noqa: E402

WORDS = ("a red car drives past the on left right city street dog barking sits blurry low "
         "quality green field person walking in park small white cat bird sky blue").split()
SIZE = 32  # pixels per side of a tiny frame


def write_tokenizer(folder: Path) -> Path:
    return _write_tokenizer(folder, WORDS)


def tiny_components(tokenizer_dir: Path, seed: int = 0) -> dict:
    from diffusers import AutoencoderKL, DDIMScheduler, MotionAdapter, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=SIZE // 2, in_channels=4,
        out_channels=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
        norm_num_groups=2, attention_head_dim=4)
    adapter = MotionAdapter(block_out_channels=(32, 64), motion_layers_per_block=1,
                            motion_norm_num_groups=2, motion_num_attention_heads=2,
                            motion_max_seq_length=32)
    vae = AutoencoderKL(block_out_channels=(32, 64), in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 2,
                        up_block_types=["UpDecoderBlock2D"] * 2, latent_channels=4,
                        norm_num_groups=2, sample_size=SIZE)
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=2, hidden_size=32, intermediate_size=37,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=len(tokenizer) + 8,
        max_position_embeddings=77))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear",
                              clip_sample=False)
    return dict(unet=unet, motion_adapter=adapter, vae=vae, text_encoder=text_encoder,
                tokenizer=tokenizer, scheduler=scheduler)


@pytest.fixture(autouse=True)
def one_cpu_thread():
    """Tiny models gain nothing from threads, and on a shared, busy machine OpenMP threads
    spinning against each other make a 0.3 s render take 15 s."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory) -> Path:
    return write_tokenizer(tmp_path_factory.mktemp("clip-tokenizer"))


@pytest.fixture
def make_pipeline(tokenizer_dir):
    """``make_pipeline(seed=0)`` -> a fresh tiny AnimateDiffPipeline on the CPU (float32)."""
    from models.diffusion.assembly import build_pipeline

    def make(seed: int = 0):
        return build_pipeline(**tiny_components(tokenizer_dir, seed), dtype=torch.float32)

    return make


@pytest.fixture
def make_renderer(make_pipeline):
    """``make_renderer(**defaults)`` -> a DiffusionRenderer on a tiny pipeline, CPU."""
    from models.diffusion.renderer import DiffusionRenderer

    def make(**defaults):
        pipe = make_pipeline()
        return DiffusionRenderer(pipeline_factory=lambda lcm: pipe, device="cpu", **defaults)

    return make


def make_layout(num_frames: int = 4, *, duration_s: float | None = None,
                size: int = 64) -> Layout:
    """A car crossing from right to left and a dog sitting on the left."""
    duration = duration_s or num_frames / 2.0
    car = []
    for i in range(num_frames):
        x = 0.75 - 0.5 * i / max(1, num_frames - 1)
        car.append((round(x - 0.2, 4), 0.45, round(x + 0.2, 4), 0.9))
    dog = [(0.0, 0.0, 0.35, 0.4)] * num_frames
    return Layout(
        duration_s=duration, num_frames=num_frames, fps=num_frames / duration,
        width=size, height=size, caption="a city street", background="",
        negative_prompt="blurry low quality",
        objects=[LayoutObject(1, "car", "a red car", "right_to_left", 0.9, car),
                 LayoutObject(2, "dog", "a dog", "static", 0.8, dog)],
    ).validate()
