"""Which implementation serves each role, chosen by name and imported only when used.

A backend whose library or weights are missing raises :class:`engine.errors.ModelMissing`
from its constructor, with a message that says what to install; callers then fall back to the
built-in default and say so once.
"""

from __future__ import annotations

import importlib
from typing import Any

from engine.errors import BadInput, ModelMissing

TAGGERS = {"yamnet": "models.yamnet:YamnetTagger"}
PLANNERS = {
    "heuristic": "engine.planning.heuristic:HeuristicPlanner",
    "llama": "models.llama_planner:LlamaPlanner",
    "gemini": "models.gemini_planner:GeminiPlanner",
}
RENDERERS = {
    "preview": "engine.rendering.preview:PreviewRenderer",
    "diffusion": "models.diffusion.renderer:DiffusionRenderer",
}
LISTENERS = {"audio-llm": "models.audio_listener:AudioListener"}
DEFAULT_TAGGER, DEFAULT_PLANNER, DEFAULT_RENDERER = "yamnet", "heuristic", "preview"


def _load(table: dict[str, str], role: str, name: str, options: dict[str, Any]):
    if name not in table:
        raise BadInput(f"Unknown {role} {name!r}.", hint=f"Choose one of: {', '.join(table)}.")
    module_name, _, attr = table[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ModelMissing(f"The {name} {role} is not available ({e}).",
                           hint=f"Install its extra: pip install 'spa2v-studio[{_extra(name)}]'.") from None
    return getattr(module, attr)(**options)


def _extra(name: str) -> str:
    return {"llama": "llm", "audio-llm": "llm", "gemini": "gemini",
            "diffusion": "diffusion"}.get(name, name)


def make_tagger(name: str = DEFAULT_TAGGER, **options):
    return _load(TAGGERS, "sound tagger", name, options)


def make_planner(name: str = DEFAULT_PLANNER, **options):
    return _load(PLANNERS, "planner", name, options)


def make_renderer(name: str = DEFAULT_RENDERER, **options):
    return _load(RENDERERS, "renderer", name, options)


def make_listener(name: str = "audio-llm", **options):
    return _load(LISTENERS, "listener", name, options)
