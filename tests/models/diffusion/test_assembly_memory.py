"""The assembled pipeline holds each weight once (the motion adapter shares the UNet's modules)."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")


def _unique_parameters(pipe) -> int:
    seen = {}
    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module):
            for p in component.parameters():
                seen[id(p)] = p.numel()
    return sum(seen.values())


def test_the_motion_modules_are_held_once(make_pipeline):
    pipe = make_pipeline()
    counted = sum(sum(p.numel() for p in m.parameters())
                  for m in (pipe.unet, pipe.text_encoder, pipe.vae))
    assert _unique_parameters(pipe) == counted
    assert pipe.motion_adapter.down_blocks[0].motion_modules is \
        pipe.unet.down_blocks[0].motion_modules
    # FreeNoise still reads the adapter's config.
    pipe.enable_free_noise(context_length=2, context_stride=1)
    assert pipe.free_noise_enabled
