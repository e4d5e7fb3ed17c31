"""Memory tiers: the choice from a (faked) free-memory figure, forced tiers, and the
out-of-memory step-down, in the decision logic and wired through the renderer."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import SpA2VError
from engine.jobs import CancelToken, Log, run_job
from engine.protocols import Frame, RenderSettings
from models.diffusion import memory
from models.diffusion.memory import (
    GB,
    TIERS,
    ModelSizes,
    TierPlan,
    Workload,
    choose_tier,
    estimate_denoise_bytes,
    is_out_of_memory,
    lower_tier,
    smaller_decode,
    usable_budget,
)

from .conftest import SIZE, make_layout

torch = pytest.importorskip("torch")

CLIP = Workload(512, 512, 16)  # the benchmark's clip: 16 frames, 512x512, guidance, fp16
SD15 = ModelSizes.sd15()


@pytest.mark.parametrize("free_gb, tier, split", [
    (24, "gpu", None),
    (12, "gpu", None),
    (6, "gpu", 8),
    (4, "model_offload", 4),
    (3.5, "group_offload", 4),
    (2, "sequential_offload", 8),
])
def test_tier_follows_the_free_memory(free_gb, tier, split):
    plan = choose_tier(int(free_gb * GB), CLIP, SD15)
    assert (plan.tier, plan.split_rows) == (tier, split)
    assert plan.fits and plan.peak_bytes <= usable_budget(int(free_gb * GB))


def test_decode_chunk_shrinks_to_fit_before_the_tier_changes():
    assert choose_tier(24 * GB, CLIP, SD15).decode_chunk == 16
    eight = choose_tier(8 * GB, CLIP, SD15)
    assert eight.tier == "gpu" and eight.decode_chunk == 8


def test_less_memory_never_picks_a_faster_tier():
    ranks = [TIERS.index(choose_tier(int(gb * GB), CLIP, SD15).tier)
             for gb in np.arange(40, 0.5, -0.25)]
    assert ranks == sorted(ranks)


def test_too_little_memory_still_answers_the_lowest_tier_marked_as_not_fitting():
    plan = choose_tier(int(0.5 * GB), CLIP, SD15)
    assert plan.tier == "sequential_offload" and not plan.fits
    assert plan.decode_chunk == 1 and plan.vae_tiling


def test_forced_tier_is_used_even_with_plenty_of_memory():
    plan = choose_tier(80 * GB, CLIP, SD15, forced="group_offload")
    assert plan.tier == "group_offload" and plan.split_rows is None


def test_no_cuda_means_the_cpu_tier_and_unknown_memory_means_the_fastest():
    assert choose_tier(None, CLIP, SD15, cuda=False).tier == "cpu"
    assert choose_tier(None, CLIP, SD15).tier == "gpu"
    with pytest.raises(ValueError, match="memory tier"):
        choose_tier(GB, CLIP, SD15, forced="turbo")


def test_estimates_fall_with_each_tier_and_each_split():
    peaks = [estimate_denoise_bytes(t, CLIP, SD15) for t in TIERS]
    assert peaks == sorted(peaks, reverse=True)
    splits = [estimate_denoise_bytes("gpu", CLIP, SD15, s) for s in (None, 8, 4, 2, 1)]
    assert splits == sorted(splits, reverse=True)


def test_step_down_order_and_decode_fallbacks():
    assert [lower_tier(t) for t in TIERS] == [*TIERS[1:], None]
    assert lower_tier("cpu") is None
    plan, chain = TierPlan("gpu", decode_chunk=4), []
    while plan is not None:
        chain.append((plan.decode_chunk, plan.vae_tiling))
        plan = smaller_decode(plan)
    assert chain == [(4, False), (2, False), (1, False), (1, True)]


def test_out_of_memory_errors_are_recognised():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate"))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))


def test_model_sizes_are_counted_from_the_pipeline(make_pipeline):
    pipe = make_pipeline()
    sizes = ModelSizes.from_pipeline(pipe)
    unet = sum(p.numel() * 4 for p in pipe.unet.parameters())
    assert sizes.unet_bytes == unet
    assert 0 < sizes.largest_block_bytes < unet and 0 < sizes.largest_layer_bytes
    assert sizes.vae_bytes == sum(p.numel() * 4 for p in pipe.vae.parameters())


def test_reset_undoes_group_offload_and_split_inference(make_pipeline):
    from diffusers.hooks.group_offloading import _is_group_offload_enabled
    from diffusers.pipelines.free_noise_utils import SplitInferenceModule

    pipe = make_pipeline()
    memory.apply_tier(pipe, TierPlan("group_offload", split_rows=2), "cpu")
    assert _is_group_offload_enabled(pipe.unet)
    assert any(isinstance(m, SplitInferenceModule) for m in pipe.unet.modules())
    assert memory.reset_placement(pipe)
    assert not _is_group_offload_enabled(pipe.unet) and not _is_group_offload_enabled(pipe.vae)
    assert not any(isinstance(m, SplitInferenceModule) for m in pipe.unet.modules())


# -- wired through the renderer (CPU pretending to be a GPU) ----------------------------------


@pytest.fixture
def fake_gpu(monkeypatch, make_renderer):
    """A renderer that believes it has CUDA with ``state['free']`` bytes free and SD1.5-sized
    models; tiers are recorded (and split inference applied for real) instead of moving
    anything to a GPU."""
    from models.diffusion import renderer as renderer_module

    state = {"free": 24 * GB, "applied": []}
    monkeypatch.setattr(renderer_module, "read_vram_budget", lambda device: state["free"])
    monkeypatch.setattr(renderer_module.ModelSizes, "from_pipeline", lambda pipe: SD15)

    def apply(pipe, plan, device):
        state["applied"].append(plan)
        memory.apply_tier(pipe, TierPlan("cpu", plan.split_rows), "cpu")

    monkeypatch.setattr(renderer_module, "apply_tier", apply)
    renderer = make_renderer()
    renderer._cuda = True
    return renderer, state


def render(renderer, **settings):
    events = []
    run_job(renderer.render(make_layout(4), RenderSettings(width=SIZE, height=SIZE, steps=2,
                                                           seed=2, **settings), CancelToken()),
            events.append)
    frames = np.stack([e.image for e in events if isinstance(e, Frame)])
    logs = [e for e in events if isinstance(e, Log)]
    return frames, logs


def expected_plan(free, forced="auto"):
    clip = Workload(SIZE, SIZE, 4, cfg=True, dtype_bytes=4, grounded=True, vae_scale=2)
    return choose_tier(free, clip, SD15, forced=forced)


@pytest.mark.parametrize("free_gb", [24, 1.5])
def test_renderer_chooses_the_tier_from_the_free_memory_figure(fake_gpu, free_gb):
    renderer, state = fake_gpu
    state["free"] = int(free_gb * GB)
    _, logs = render(renderer)
    want = expected_plan(state["free"])
    assert [p.tier for p in state["applied"]] == [want.tier]
    assert any(log.message.startswith(f"Memory tier: {want.describe()}") for log in logs)
    assert want.tier == ("gpu" if free_gb > 10 else "sequential_offload")


def test_forced_tier_setting_wins(fake_gpu):
    renderer, state = fake_gpu
    render(renderer, memory_tier="group_offload")
    assert [p.tier for p in state["applied"]] == ["group_offload"]


def oom_once(pipe, where="unet"):
    module = getattr(pipe, where)
    original = module.forward if where == "unet" else module.decode
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(*args, **kwargs)

    if where == "unet":
        module.forward = failing
    else:
        module.decode = failing
    return calls


def test_out_of_memory_steps_down_a_tier_and_tells_the_user(fake_gpu):
    renderer, state = fake_gpu
    clean, _ = render(renderer)
    state["applied"].clear()
    renderer._placed.clear()
    oom_once(renderer._pipes[False])
    frames, logs = render(renderer)
    assert [p.tier for p in state["applied"]] == ["gpu", "model_offload"]
    warnings = [log.message for log in logs if log.level == "warning"]
    assert any("Out of GPU memory in tier gpu" in w and "model offload" in w for w in warnings)
    np.testing.assert_array_equal(frames, clean)  # the same seed gives the same video


def test_out_of_memory_in_a_forced_tier_is_an_error_with_a_hint(fake_gpu):
    renderer, _ = fake_gpu
    render(renderer)
    oom_once(renderer._pipes[False])
    with pytest.raises(SpA2VError, match="forced memory tier model_offload") as err:
        render(renderer, memory_tier="model_offload")
    assert "auto" in err.value.hint


def test_out_of_memory_while_decoding_decodes_smaller_pieces(fake_gpu):
    renderer, _ = fake_gpu
    clean, _ = render(renderer)
    calls = oom_once(renderer._pipes[False], "vae")
    frames, logs = render(renderer, options={"decode_chunk": 4})
    assert calls["n"] == 3  # the failed 4-frame chunk, then two chunks of 2
    assert any("decoding 2 frame(s) at a time" in log.message for log in logs)
    np.testing.assert_array_equal(frames, clean)


def test_the_cpu_tier_estimates_ram_with_every_weight_resident():
    from models.diffusion.memory import (CPU_TIER, ModelSizes, Workload, choose_tier,
                                         estimate_decode_bytes, estimate_denoise_bytes)

    sizes = ModelSizes.sd15(dtype_bytes=4)
    work = Workload(256, 256, 8, dtype_bytes=4)
    plan = choose_tier(None, work, sizes, cuda=False)
    weights = sizes.unet_bytes + sizes.text_encoder_bytes + sizes.vae_bytes
    assert plan.tier == CPU_TIER and plan.decode_chunk == 8
    assert plan.peak_bytes == max(estimate_denoise_bytes("gpu", work, sizes),
                                  estimate_decode_bytes("gpu", work, sizes, 8))
    assert plan.peak_bytes > weights


@pytest.mark.parametrize("error", [
    RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough "
                 "memory: you tried to allocate 8589934592 bytes."),
    RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 123 bytes. "
                 "Error code 12 (Cannot allocate memory)"),
    MemoryError()])
def test_running_out_of_ram_on_the_cpu_is_one_clear_error(make_renderer, error):
    # A CPU render whose RAM ran out ended in PyTorch's traceback (its CPU allocator's words
    # were not recognised), or was called "out of GPU memory even with sequential offload".
    renderer = make_renderer()
    render(renderer)
    unet = renderer._pipes[False].unet

    def fails(*args, **kwargs):
        raise error

    unet.forward = fails
    with pytest.raises(SpA2VError) as err:
        render(renderer)
    assert err.value.message.startswith("Out of memory rendering on the CPU (")
    assert "GPU" not in err.value.message + err.value.hint
