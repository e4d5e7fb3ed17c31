"""Finding and loading weights: repo ids and folders, safetensors only, clear ModelMissing
messages, the AnimateLCM fast preview, and no heavy imports before a render is asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.errors import ModelMissing
from engine.jobs import CancelToken, Log, run_job
from engine.protocols import Frame, RenderSettings
from models.diffusion import weights

from .conftest import SIZE, make_layout, tiny_components

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[3]


def test_importing_the_backends_and_the_renderer_module_imports_no_heavy_library():
    code = ("import sys, models.backends, models.diffusion, models.diffusion.renderer;"
            "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules];"
            "print(heavy); sys.exit(1 if heavy else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def no_models(tmp_path, monkeypatch):
    """Empty model folders and Hugging Face cache."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("SPA2V_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path / "models"


def test_missing_model_names_what_to_download(no_models):
    with pytest.raises(ModelMissing) as err:
        weights.find_base_model(weights.BASE_MODEL)
    assert weights.BASE_MODEL in str(err.value)
    assert "spa2v models download sd15-base" in err.value.hint
    with pytest.raises(ModelMissing, match="animatediff-motion-adapter-v1-5-3") as err:
        weights.find_motion_adapter(weights.MOTION_ADAPTER)
    assert "spa2v models download motion-adapter" in err.value.hint
    with pytest.raises(ModelMissing, match="AnimateLCM") as err:
        weights.find_lcm()
    assert "spa2v models download fast-preview" in err.value.hint


def test_registry_model_in_the_models_folder_is_found_by_repo_id_and_name(no_models):
    from models.registry import load_registry

    entry = load_registry().get("sd15-base")
    root = no_models / "sd15-base"
    for f in entry.files:
        (root / f.path).parent.mkdir(parents=True, exist_ok=True)
        (root / f.path).write_text("{}")
    for ref in (weights.BASE_MODEL, "sd15-base"):
        found = weights.find_base_model(ref)
        assert found.folder == root and found.variant == "fp16"


def test_renderer_constructor_raises_model_missing(tmp_path, no_models):
    from models.backends import make_renderer

    with pytest.raises(ModelMissing, match="Stable Diffusion 1.5"):
        make_renderer("diffusion", device="cpu")
    with pytest.raises(ModelMissing, match="neither a folder nor"):
        make_renderer("diffusion", base_model=str(tmp_path / "no" / "such" / "folder"),
                      device="cpu")


def write_base_layout(folder: Path, suffixes=("",), weights_ext="safetensors"):
    for sub, name in (("unet", "diffusion_pytorch_model"), ("vae", "diffusion_pytorch_model"),
                      ("text_encoder", "model")):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / sub / "config.json").write_text("{}")
        for s in suffixes:
            (folder / sub / f"{name}{s}.{weights_ext}").write_bytes(b"x")
    (folder / "tokenizer").mkdir(exist_ok=True)
    (folder / "tokenizer" / "vocab.json").write_text("{}")
    (folder / "tokenizer" / "merges.txt").write_text("")
    (folder / "scheduler").mkdir(exist_ok=True)
    (folder / "scheduler" / "scheduler_config.json").write_text("{}")


def test_fp16_variant_is_preferred_when_complete(tmp_path):
    write_base_layout(tmp_path / "both", suffixes=("", ".fp16"))
    assert weights.find_base_model(str(tmp_path / "both")).variant == "fp16"
    assert weights.find_base_model(str(tmp_path / "both"), prefer_fp16=False).variant is None
    write_base_layout(tmp_path / "full", suffixes=("",))
    assert weights.find_base_model(str(tmp_path / "full")).variant is None


def test_pickled_weights_count_as_missing(tmp_path):
    write_base_layout(tmp_path / "pickles", weights_ext="bin")
    with pytest.raises(ModelMissing, match="unet/diffusion_pytorch_model.safetensors"):
        weights.find_base_model(str(tmp_path / "pickles"))
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "config.json").write_text("{}")
    (tmp_path / "adapter" / "mm_sd_v15_v3.ckpt").write_bytes(b"x")
    with pytest.raises(ModelMissing, match="never loaded"):
        weights.find_motion_adapter(str(tmp_path / "adapter"))


@pytest.fixture
def saved_models(tmp_path, tokenizer_dir):
    """Tiny components saved in diffusers layout (safetensors): base, adapter, AnimateLCM."""
    c = tiny_components(tokenizer_dir)
    base = tmp_path / "sd15"
    for sub in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        c[sub].save_pretrained(base / sub)
    adapter = tmp_path / "adapter"
    c["motion_adapter"].save_pretrained(adapter, safe_serialization=True)
    lcm = tmp_path / "lcm"
    other = tiny_components(tokenizer_dir, seed=1)
    other["motion_adapter"].save_pretrained(lcm)
    write_lora(other["unet"], lcm / weights.LCM_LORA_FILE)
    return base, adapter, lcm, c


def write_lora(unet, path: Path) -> None:
    """A random LoRA on the spatial attention of ``unet`` in diffusers' saved format."""
    from diffusers import AnimateDiffPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(3)
    unet.add_adapter(LoraConfig(r=2, lora_alpha=2, init_lora_weights=False,
                                target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    AnimateDiffPipeline.save_lora_weights(path.parent, unet_lora_layers=layers,
                                          weight_name=path.name, safe_serialization=True)


def frames_of(renderer, **settings):
    events = []
    run_job(renderer.render(make_layout(3), RenderSettings(width=SIZE, height=SIZE, seed=4,
                                                           **settings), CancelToken()),
            events.append)
    return np.stack([e.image for e in events if isinstance(e, Frame)]), events


def test_renderer_loads_folders_and_matches_the_same_components_in_memory(saved_models):
    from models.backends import make_renderer
    from models.diffusion.assembly import build_pipeline
    from models.diffusion.renderer import DiffusionRenderer

    base, adapter, _, c = saved_models
    # As the CLI does it: every --option as text, to the constructor and in the settings.
    options = {"base_model": str(base), "motion_adapter": str(adapter), "device": "cpu",
               "local_files_only": "true", "grounding_strength": "1.0"}
    loaded = make_renderer("diffusion", **options)
    frames, events = frames_of(loaded, steps=2, options=options)
    assert any(isinstance(e, Log) and e.message.startswith("Loading the video model")
               for e in events)
    pipe = build_pipeline(**c, dtype=torch.float32)
    in_memory, _ = frames_of(DiffusionRenderer(pipeline=pipe, device="cpu"), steps=2)
    np.testing.assert_array_equal(frames, in_memory)


def test_animatelcm_fast_preview_uses_its_adapter_lora_and_few_steps(saved_models):
    from diffusers import LCMScheduler

    from models.diffusion.renderer import DiffusionRenderer

    base, adapter, lcm, c = saved_models
    renderer = DiffusionRenderer(base_model=str(base), motion_adapter=str(adapter),
                                 lcm_model=str(lcm), device="cpu")
    plain, _ = frames_of(renderer, steps=4)
    fast, events = frames_of(renderer, steps=25, options={"lcm": True})
    pipe = renderer._pipes[True]
    assert isinstance(pipe.scheduler, LCMScheduler)
    assert False not in renderer._pipes  # one set of weights in memory at a time
    steps = [e.detail for e in events if getattr(e, "detail", "").startswith("step")]
    assert steps[-1] == "step 8/8"
    assert any(isinstance(e, Log) and "8 steps instead of 25" in e.message for e in events)
    assert fast.shape == plain.shape and np.abs(fast.astype(int) - plain).mean() > 1
    # The LoRA is fused into the spatial layers and its wrappers are gone.
    fused = pipe.unet.down_blocks[0].attentions[0].transformer_blocks[0].attn1.to_q
    original = c["unet"].down_blocks[0].attentions[0].transformer_blocks[0].attn1.to_q
    assert type(fused) is torch.nn.Linear
    assert not torch.allclose(fused.weight, original.weight)


def test_animatelcm_missing_is_model_missing(saved_models, tmp_path):
    from models.diffusion.renderer import DiffusionRenderer

    base, adapter, _, _ = saved_models
    renderer = DiffusionRenderer(base_model=str(base), motion_adapter=str(adapter),
                                 lcm_model=str(tmp_path / "nowhere"), device="cpu")
    with pytest.raises(ModelMissing, match="AnimateLCM"):
        frames_of(renderer, steps=4, options={"lcm": True})


def test_building_the_pipeline_prints_no_library_chatter(tmp_path):
    # The first import of diffusers' AnimateDiffPipeline warns, through transformers' logger,
    # that torchvision is not installed (it is not needed); that warning printed two lines of
    # "[transformers] `CLIPImageProcessor` requires torchvision" in every CLI render. It runs
    # in a fresh interpreter, since the warning comes once per process.
    root = Path(__file__).resolve().parents[3]
    code = (
        "import sys; from pathlib import Path\n"
        "from tests.models.diffusion.conftest import tiny_components, write_tokenizer\n"
        "from models.diffusion.assembly import build_pipeline\n"
        f"c = tiny_components(write_tokenizer(Path({str(tmp_path)!r})))\n"
        "build_pipeline(**c)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "torchvision" not in done.stderr + done.stdout


@pytest.mark.parametrize("damage", ["cut short", "for another model"])
def test_a_fast_preview_lora_that_cannot_be_used_is_one_clear_error(saved_models, damage,
                                                                     tokenizer_dir):
    """A LoRA cut short raised safetensors' own SafetensorError, one for another UNet torch's
    "Error(s) in loading state_dict": tracebacks from deep inside diffusers (exit 1)."""
    from diffusers import UNet2DConditionModel

    from models.diffusion.renderer import DiffusionRenderer

    base, adapter, lcm, _ = saved_models
    lora = lcm / weights.LCM_LORA_FILE
    if damage == "cut short":
        data = lora.read_bytes()
        lora.write_bytes(data[: len(data) // 2])
    else:
        wider = UNet2DConditionModel(
            block_out_channels=(64, 128), layers_per_block=1, sample_size=32, in_channels=4,
            out_channels=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
            norm_num_groups=2, attention_head_dim=4)
        write_lora(wider, lora)
    renderer = DiffusionRenderer(base_model=str(base), motion_adapter=str(adapter),
                                 lcm_model=str(lcm), device="cpu")
    with pytest.raises(ModelMissing) as e:
        frames_of(renderer, steps=2, options={"lcm": True})
    text = str(e.value)
    assert text.startswith("The fast-preview LoRA") and "spa2v models download fast-preview" in text
    assert ("truncated or corrupt" in text) == (damage == "cut short")


def test_a_text_encoder_from_another_model_is_one_clear_error(saved_models, tmp_path):
    """transformers raised RuntimeError ("You set `ignore_mismatched_sizes` to `False` ...
    look at the above report!"): a traceback, and the report it points to was hidden."""
    import shutil

    from transformers import CLIPTextConfig, CLIPTextModel

    from models.diffusion.renderer import DiffusionRenderer

    base, adapter, _, _ = saved_models
    wider = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=2, hidden_size=64, intermediate_size=37,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=100, max_position_embeddings=77))
    wider.save_pretrained(tmp_path / "wider")
    shutil.copy(next((tmp_path / "wider").glob("*.safetensors")),
                next((base / "text_encoder").glob("*.safetensors")))
    renderer = DiffusionRenderer(base_model=str(base), motion_adapter=str(adapter), device="cpu")
    with pytest.raises(ModelMissing, match="Could not load the video model's text encoder .*: "
                                           r"its weights do not fit its config"):
        frames_of(renderer, steps=2)


def test_a_torch_that_cannot_be_loaded_is_named_with_what_to_do(broken_torch):
    """A torch built for CUDA libraries that are not installed raises OSError on import: the
    user saw "libcudnn.so.9: cannot open shared object file." and nothing about torch."""
    from models.diffusion.renderer import _require_libraries
    with pytest.raises(ModelMissing) as e:
        _require_libraries()
    assert str(e.value).startswith("torch is installed but cannot be loaded on this machine "
                                   "(libcudnn.so.9")
    assert "The preview renderer works without it" in str(e.value)
