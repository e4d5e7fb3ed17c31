"""What can run here: each planner and renderer, ready or not and why in words, and which one
would be picked. ``spa2v info`` prints it; the studio's menus grey out what is not ready.

A backend (``models.backends``) is *ready* when its libraries are importable
(checked with ``find_spec``: nothing is imported), the models it needs are installed (the
model registry's states) and, for Gemini, an API key is found. The pick prefers the
model-backed backend when it is ready and stays on the built-in one otherwise; Gemini is never
picked by itself because it sends the cues off the machine, and diffusion only with a GPU.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import ModelMissing

from .backends import (DEFAULT_PLANNER, DEFAULT_RENDERER, DEFAULT_TAGGER, LISTENERS, PLANNERS,
                       RENDERERS, TAGGERS, Backend)
from .devices import DeviceReport
from .registry import ModelStatus, load_registry


@dataclass(frozen=True)
class RoleUse:
    """What uses the models of one registry role (``resources/models.json``); ``needed`` False:
    the backend runs without them and gains from them."""

    backend: str
    needed: bool


MODEL_ROLES = {
    "planner_llm": RoleUse("llama", True),
    "sd15_base": RoleUse("diffusion", True),
    "motion_adapter": RoleUse("diffusion", True),
    "fast_preview_adapter": RoleUse("diffusion", False),
    "sound_tagger": RoleUse("yamnet", True),
    "audio_listener": RoleUse("audio-llm", True),
}


def role_use(role: str) -> str:
    """What a registry role's models are for, in words ("Renderer: Diffusion (...)")."""
    use = MODEL_ROLES.get(role)
    if use is None:
        return ""
    for kind, table in (("Planner", PLANNERS), ("Renderer", RENDERERS), ("Sound tagger", TAGGERS),
                        ("Names sounds", LISTENERS)):
        if use.backend in table:
            return f"{kind}: {table[use.backend].title}" + ("" if use.needed else ", optional")
    return ""


@dataclass(frozen=True)
class Readiness:
    name: str
    ready: bool
    reason: str
    models: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        backend = PLANNERS.get(self.name) or RENDERERS.get(self.name)
        return backend.title if backend else self.name

    def to_dict(self) -> dict:
        return {"backend": self.name, "ready": self.ready, "reason": self.reason,
                "models": list(self.models)}


def has_library(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken install
        return False


def installed_statuses() -> list[ModelStatus] | None:
    """The registry's model states, or None when they cannot be read (a broken user index
    must not hide the built-in backends)."""
    from .registry import list_statuses
    try:
        return list_statuses()
    except Exception:
        return None


def _installed(statuses: list[ModelStatus], role: str) -> list[ModelStatus]:
    return sorted((s for s in statuses if s.role == role and s.state == "installed"),
                  key=lambda s: not s.default)


def _check(backend: Backend, statuses: list[ModelStatus] | None) -> tuple[list[str], list[str]]:
    """(problems, names of the models it would use)."""
    libs = [lib for lib in backend.libraries if not has_library(lib)]
    # One install command for all of them (it was said once per missing library).
    problems = [f"needs {_and(libs)} ({backend.install_hint})"] if libs else []
    names = []
    for role, use in MODEL_ROLES.items():
        if statuses is None or use.backend != backend.name or not use.needed:
            continue
        got = _installed(statuses, role)
        if got:
            names.append(got[0].name)
        else:
            default = load_registry().default_for(role)
            name = default.name if default else role.replace("_", "-")
            gone = next((s.detail for s in statuses if s.name == name
                         and s.detail.startswith("imported from")), None)
            problems.append(f"needs the {name} model, {gone}" if gone else
                            f"needs the {name} model (spa2v models download {name})")
    return problems, names


def _and(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def _gemini_key() -> str | None:
    from .gemini_planner import find_api_key
    return find_api_key()


def _each(table: dict[str, Backend], statuses: list[ModelStatus] | None,
          verdict: Callable[[Backend, list[str], list[str]], Readiness]) -> list[Readiness]:
    """Built-in backends are always ready; ``verdict(backend, problems, model names)`` judges
    the others."""
    return [Readiness(b.name, True, b.summary) if b.built_in  # each summary says "built in"
            else verdict(b, *_check(b, statuses)) for b in table.values()]


def tagger_readiness(*, load: bool = False) -> list[Readiness]:
    """The sound tagger: is its model file here (found; with ``load``, also loaded, as
    ``spa2v info`` asks, so a damaged file is not reported 'ready')?"""
    from .yamnet import YamnetTagger, find_model, how_to_install
    try:
        found = find_model()
        if load:
            YamnetTagger(model_path=found).check()
        return [Readiness(DEFAULT_TAGGER, True, f"uses {found}")]
    except ModelMissing as e:
        return [Readiness(DEFAULT_TAGGER, False, f"{e.message} {how_to_install()}; until then "
                          "sounds are named 'sound source' unless you name them")]


def planner_readiness(statuses: list[ModelStatus] | None, *,
                      find_key: Callable[[], str | None] = _gemini_key,
                      llm_model_path: str = "") -> list[Readiness]:
    """Every registered planner. ``statuses=None``: the model registry could not be read, so
    only libraries are checked. ``llm_model_path``: the user's own GGUF for the llama planner
    (the studio's Settings): with it the registry's planner model is not needed."""
    def verdict(backend: Backend, problems: list[str], names: list[str]) -> Readiness:
        online = backend.name == "gemini"
        if online and not find_key():
            problems.append("needs an API key (GEMINI_API_KEY, or the studio's Settings, "
                            "Planner page)")
        ok = (f"uses {names[0]}" if names else
              "online: the cues, your hint and (unless turned off) the audio are sent to Google" if online else "runs on this machine")
        return Readiness(backend.name, not problems, "; ".join(problems) or ok, tuple(names))

    items = _each(PLANNERS, statuses, verdict)
    if llm_model_path and "llama" in PLANNERS:
        from pathlib import Path

        from .safety import gguf_refusal
        path = Path(llm_model_path).expanduser()
        problems, _ = _check(PLANNERS["llama"], None)  # the libraries only
        why = gguf_refusal(path, kind="text") if path.is_file() else f"no file at {path}"
        items = [verdict(PLANNERS["llama"], problems + ([why] if why else []), [path.name])
                 if b.name == "llama" else b for b in items]
    return items


def renderer_readiness(statuses: list[ModelStatus] | None,
                       devices: DeviceReport | None) -> list[Readiness]:
    """Every registered renderer; ``devices=None`` when the GPU was not probed."""
    optional = [role for role, use in MODEL_ROLES.items() if not use.needed]
    fast = [s for role in optional for s in _installed(statuses or [], role)[:1]]

    def verdict(backend: Backend, problems: list[str], names: list[str]) -> Readiness:
        if problems:
            reason = "; ".join(problems)
        elif devices is not None and devices.accelerator is None:
            reason = "ready, but no GPU (CUDA/MPS): diffusion on the CPU takes many minutes per clip"
        else:
            reason = (f"uses {', '.join(names)}" if names else "needs a GPU to be quick") + (
                f" (+{fast[0].name} for fast previews)" if fast else "")
        return Readiness(backend.name, not problems, reason,
                         tuple(names) + tuple(s.name for s in fast))

    return _each(RENDERERS, statuses, verdict)


def pick(readiness: list[Readiness], *, prefer: tuple[str, ...], devices: DeviceReport | None = None) -> str:
    """The first backend in ``prefer`` that is ready (a model-backed renderer only with a GPU)."""
    ready = {r.name for r in readiness if r.ready}
    no_gpu = devices is None or devices.accelerator is None
    for name in prefer:
        if name in ready and not (name in RENDERERS and not RENDERERS[name].built_in and no_gpu):
            return name
    return next(r.name for r in readiness if r.ready)


def suggest_planner(statuses: list[ModelStatus]) -> str:
    return pick(planner_readiness(statuses), prefer=("llama", DEFAULT_PLANNER))


def suggest_renderer(statuses: list[ModelStatus], devices: DeviceReport | None) -> str:
    return pick(renderer_readiness(statuses, devices), prefer=("diffusion", DEFAULT_RENDERER),
                devices=devices)


# What installs the hub client (pyproject.toml's ``hub`` extra).
HUB_EXTRA = "spa2v-studio[hub]"


def downloads() -> Readiness:
    """Can models be downloaded here (the hub client is installed)?"""
    if has_library("huggingface_hub"):
        return Readiness("downloads", True, "from the Hugging Face hub")
    return Readiness("downloads", False, "model downloads need huggingface-hub "
                     f"(pip install '{HUB_EXTRA}')")


def device_summary(setting: str) -> str:
    """A short device text for a status bar, without importing torch."""
    if not has_library("torch"):
        return "CPU (no torch)"
    return {"auto": "auto", "cpu": "CPU", "cuda": "CUDA GPU"}.get(setting, setting)


def planners(llm_model_path: str = "") -> list[Readiness]:
    """:func:`planner_readiness` with the installed models (or the user's own GGUF), for a menu."""
    return planner_readiness(installed_statuses(), llm_model_path=llm_model_path)


def renderers() -> list[Readiness]:
    """:func:`renderer_readiness` with the installed models (the GPU is not probed: that would
    import torch), for a menu."""
    return renderer_readiness(installed_statuses(), None)
