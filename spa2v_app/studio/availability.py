"""What can run here: planners, renderers, model downloads, devices; and why not, in words.

Nothing heavy is imported: libraries are found with ``importlib.util.find_spec``. When the
model registry (``models.readiness``) is present its verdicts are used, since it also knows
which weights are installed; otherwise the studio checks the libraries itself. A backend that
cannot run shows as a disabled entry whose tooltip says what to install.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from models.backends import PLANNERS, RENDERERS

from .secrets import gemini_key


@dataclass(frozen=True)
class Availability:
    name: str
    ready: bool
    reason: str

    @property
    def title(self) -> str:
        backend = PLANNERS.get(self.name) or RENDERERS.get(self.name)
        return backend.title if backend else self.name


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _adapter_missing(module: str, what: str) -> str | None:
    if not has_module(module):
        return f"the {what} is not part of this installation ({module} is missing)"
    return None


def _registry_statuses():
    """Model states from the registry, or None when the registry is not installed."""
    try:
        from models.registry import list_statuses
        return list_statuses()
    except ImportError:
        return None
    except Exception:  # a broken user index must not hide the built-in backends
        return None


def planners() -> list[Availability]:
    statuses = _registry_statuses()
    verdict: dict[str, tuple[bool, str]] = {}
    if statuses is not None:
        try:
            from models.readiness import planner_readiness
            verdict = {r.backend: (r.ready, r.reason) for r in planner_readiness(statuses)}
        except ImportError:
            verdict = {}
    out = [Availability("heuristic", True, "built in: measured cues and class priors")]
    problems = [p for p in (_adapter_missing("models.llama_planner", "local-LLM planner"),
                            None if has_module("llama_cpp") else
                            "needs llama-cpp-python (pip install 'spa2v-studio[llm]')") if p]
    if not problems and "llama" in verdict and not verdict["llama"][0]:
        problems.append(verdict["llama"][1])
    out.append(Availability("llama", not problems, "; ".join(problems) or "runs on this machine"))
    problems = [p for p in (_adapter_missing("models.gemini_planner", "Gemini planner"),
                            None if has_module("google.genai") else
                            "needs google-genai (pip install 'spa2v-studio[gemini]')") if p]
    if not gemini_key():
        problems.append("needs a Gemini API key (Settings, Planner page)")
    out.append(Availability("gemini", not problems,
                            "; ".join(problems) or "online: the cues are sent to Google"))
    return out


def renderers() -> list[Availability]:
    out = [Availability("preview", True, "built in: boxes and labels drawn from the layout")]
    problems = [p for p in (_adapter_missing("models.diffusion.renderer", "diffusion renderer"),)
                if p]
    problems += [f"needs {lib} (pip install 'spa2v-studio[diffusion]')"
                 for lib in ("torch", "diffusers") if not has_module(lib)]
    statuses = _registry_statuses() if not problems else None
    if statuses is not None:
        try:
            from models.readiness import renderer_readiness
            for r in renderer_readiness(statuses, None):
                if r.backend == "diffusion" and not r.ready:
                    problems.append(r.reason)
        except ImportError:
            pass
    out.append(Availability("diffusion", not problems,
                            "; ".join(problems) or "needs a GPU to be quick"))
    return out


def downloads() -> Availability:
    if has_module("models.registry") and has_module("models.download"):
        return Availability("downloads", True, "from the Hugging Face hub")
    return Availability("downloads", False, "model downloads need the model registry "
                        "(models/registry.py and models/download.py), not in this installation")


def device_summary(setting: str) -> str:
    """A short device text for the status bar without importing torch."""
    if not has_module("torch"):
        return "CPU (no torch)"
    return {"auto": "auto", "cpu": "CPU", "cuda": "CUDA GPU"}.get(setting, setting)
