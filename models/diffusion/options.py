"""Per-render options of the diffusion renderer (``RenderSettings.options``), typed and checked.

The CLI passes ``--option key=value`` pairs as text; the GUI passes Python values. Both go
through :func:`parse_options`, which converts text, checks ranges and rejects unknown names with
the list of known ones. See docs/video_engine.md for what each option does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from engine.errors import BadInput

SCHEDULERS = ("ddim", "dpm++", "euler")


@dataclass(frozen=True)
class DiffusionOptions:
    """How the diffusion renderer draws a layout. Defaults are the tested settings."""

    # Box grounding: 0 turns it off (the stock AnimateDiff behaviour); 1 is the default push;
    # up to 3 pushes harder (objects fill their boxes more strictly, the picture gets stiffer).
    grounding_strength: float = 1.0
    # Fraction of the denoising steps during which the boxes are enforced. Layout is decided
    # in the early, noisy steps; leaving the late steps alone lets the model finish details.
    grounding_until: float = 0.6
    # LVD-style energy guidance: gradient steps on the latents in the first N denoising steps
    # that pull each object's cross-attention into its box. Costs a backward pass (memory!).
    # energy_scale is the step length in units of the latents' standard deviation.
    energy_steps: int = 0
    energy_scale: float = 0.1
    # FreeNoise context windows for clips longer than the motion module's native length.
    context_length: int = 16
    context_stride: int = 4
    # The most frames one render makes; a longer layout is sampled at this many frames.
    max_frames: int = 128
    # The model's native size: a layout larger than this (longer side) renders at this size
    # with the layout's aspect ratio and is scaled up to the layout size afterwards.
    native_size: int = 512
    # A cheap latent preview every N steps (0: none).
    preview_every: int = 5
    # AnimateLCM fast preview: 4-8 steps, low guidance.
    lcm: bool = False
    lcm_guidance_scale: float = 1.5
    scheduler: str = "ddim"
    # Frames decoded at once by the VAE (0: chosen by the memory tier).
    decode_chunk: int = 0
    # VRAM the renderer may use, in GB (None: read the free VRAM from the driver).
    vram_budget_gb: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_RANGES: dict[str, tuple[float, float]] = {
    "grounding_strength": (0.0, 3.0), "grounding_until": (0.0, 1.0),
    "energy_steps": (0, 50), "energy_scale": (0.0, 2.0),
    "context_length": (2, 64), "context_stride": (1, 64), "max_frames": (1, 1024),
    "native_size": (16, 2048), "preview_every": (0, 1000), "lcm_guidance_scale": (0.0, 20.0),
    "decode_chunk": (0, 256), "vram_budget_gb": (0.1, 1024.0),
}
OPTION_NAMES = tuple(f.name for f in fields(DiffusionOptions))


def _convert(name: str, value: Any, kind: Any) -> Any:
    kind = str(kind)
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "")):
        if "None" in kind:
            return None
        raise BadInput(f"Option {name} needs a value.", hint=f"Give --option {name}=VALUE.")
    try:
        if kind.startswith("bool"):
            if isinstance(value, str):
                low = value.strip().lower()
                if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return low in ("1", "true", "yes", "on")
            return bool(value)
        if kind.startswith("int"):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if kind.startswith("float"):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise BadInput(f"Option {name} must be {kind.split(' ')[0]}, got {value!r}.") from None


def parse_options(raw: dict[str, Any] | None, *, defaults: dict[str, Any] | None = None
                  ) -> DiffusionOptions:
    """Typed options from ``raw`` over ``defaults``; unknown names and bad values raise BadInput."""
    merged = dict(defaults or {})
    merged.update(raw or {})
    unknown = sorted(set(merged) - set(OPTION_NAMES))
    if unknown:
        raise BadInput(f"Unknown diffusion option(s): {', '.join(unknown)}.",
                       hint=f"Known options: {', '.join(OPTION_NAMES)}.")
    kinds = {f.name: f.type for f in fields(DiffusionOptions)}
    values = {k: _convert(k, v, kinds[k]) for k, v in merged.items()}
    for k, v in values.items():
        if k in _RANGES and v is not None:
            lo, hi = _RANGES[k]
            if not lo <= v <= hi:
                raise BadInput(f"Option {k} must be between {lo:g} and {hi:g}, got {v!r}.")
    if values.get("scheduler", "ddim") not in SCHEDULERS:
        raise BadInput(f"Option scheduler must be one of {', '.join(SCHEDULERS)}, "
                       f"got {values['scheduler']!r}.")
    return DiffusionOptions(**values)
