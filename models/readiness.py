"""Which planner and renderer can run now, and which one would be picked, from what is installed.

A backend is *ready* when its library is importable (checked with ``find_spec``, nothing is
imported) and its models are installed. The pick prefers the model-backed backend when it is
ready and stays on the built-in one otherwise; Gemini is never picked by itself because it
sends the cues off the machine.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import asdict, dataclass

from .devices import DeviceReport
from .registry import ModelStatus


@dataclass(frozen=True)
class Readiness:
    backend: str
    ready: bool
    reason: str
    models: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


def has_library(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken install
        return False


def _installed(statuses: list[ModelStatus], role: str) -> list[ModelStatus]:
    ranked = sorted((s for s in statuses if s.role == role and s.state == "installed"), key=lambda s: not s.default)
    return ranked


def planner_readiness(statuses: list[ModelStatus]) -> list[Readiness]:
    out = [Readiness("heuristic", True, "built in (signal-processing cues and class priors)")]
    llms = _installed(statuses, "planner_llm")
    problems = []
    if not has_library("llama_cpp"):
        problems.append("needs llama-cpp-python (pip install 'spa2v-studio[llm]')")
    if not llms:
        problems.append("needs a planner LLM (spa2v models download planner-llm-default)")
    out.append(Readiness("llama", not problems, "; ".join(problems) or f"uses {llms[0].name}",
                         tuple(s.name for s in llms[:1])))
    problems = []
    if not has_library("google.genai"):
        problems.append("needs google-genai (pip install 'spa2v-studio[gemini]')")
    if not (os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")):
        problems.append("needs an API key (GEMINI_API_KEY; the keyring is not checked here)")
    out.append(Readiness("gemini", not problems, "; ".join(problems) or "online; only when chosen"))
    return out


def renderer_readiness(statuses: list[ModelStatus], devices: DeviceReport | None) -> list[Readiness]:
    out = [Readiness("preview", True, "built in (boxes and labels drawn from the layout)")]
    problems = [f"needs {lib} (pip install 'spa2v-studio[diffusion]')"
                for lib in ("torch", "diffusers", "transformers") if not has_library(lib)]
    names = []
    for role, wanted in (("sd15_base", "sd15-base"), ("motion_adapter", "motion-adapter")):
        got = _installed(statuses, role)
        if got:
            names.append(got[0].name)
        else:
            problems.append(f"needs the {wanted} model (spa2v models download {wanted})")
    fast = _installed(statuses, "fast_preview_adapter")
    if devices is not None and devices.accelerator is None and not problems:
        reason = "ready, but no GPU (CUDA/MPS): diffusion on the CPU takes many minutes per clip"
    else:
        reason = "; ".join(problems) or f"uses {', '.join(names)}" + (f" (+{fast[0].name} for fast previews)" if fast else "")
    out.append(Readiness("diffusion", not problems, reason, tuple(names) + tuple(s.name for s in fast[:1])))
    return out


def pick(readiness: list[Readiness], *, prefer: tuple[str, ...], devices: DeviceReport | None = None) -> str:
    """The first backend in ``prefer`` that is ready (diffusion only with a GPU)."""
    ready = {r.backend for r in readiness if r.ready}
    for name in prefer:
        if name in ready and not (name == "diffusion" and (devices is None or devices.accelerator is None)):
            return name
    return next(r.backend for r in readiness if r.ready)


def suggest_planner(statuses: list[ModelStatus]) -> str:
    return pick(planner_readiness(statuses), prefer=("llama", "heuristic"))


def suggest_renderer(statuses: list[ModelStatus], devices: DeviceReport | None) -> str:
    return pick(renderer_readiness(statuses, devices), prefer=("diffusion", "preview"), devices=devices)
