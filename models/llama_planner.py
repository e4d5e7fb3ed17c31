"""The local LLM planner: a GGUF instruct model through llama-cpp-python.

The model reads the measured cue table and a few retrieved examples and writes the scene as
JSON under a grammar derived from the reply schema, so even a small model cannot write
malformed output; the shared flow (``engine.planning.llm_planner``) validates the reply,
repairs once, falls back to the rule-based layout, and holds the result to the confident
cues. ``llama_cpp`` is imported here only, when the planner is made.
"""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path
from typing import Any

from engine.errors import ModelMissing, SpA2VError
from engine.jobs import CancelToken, Job, Progress
from engine.layout import Layout
from engine.planning.llm_planner import BackendError, ChatReply, PlanStats, plan_with_llm
from engine.planning.llm_prompt import ChatMessage
from engine.planning.llm_schema import patch_gbnf
from engine.protocols import PlanRequest

from . import registry
from .safety import gguf_refusal

DEFAULT_MODEL = "planner-llm-default"
PROGRESS_EVERY = 16  # tokens
MIN_REPLY_ROOM = 256  # tokens of context left for the reply, at least


# Used when a GGUF carries no chat template of its own.
CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _import_llama_cpp():
    try:
        import llama_cpp
    except ImportError as e:
        raise ModelMissing(
            f"The llama planner needs llama-cpp-python, which is not installed ({e}).",
            hint="Install it with: pip install 'spa2v-studio[llm]' (the default planner "
                 "works without it).") from None
    return llama_cpp


def gpu_layers(n_gpu_layers: int | str, llama_cpp) -> int:
    """``"auto"``: every layer on the GPU when llama.cpp was built with GPU offload, else 0."""
    if n_gpu_layers == "auto":
        return -1 if llama_cpp.llama_supports_gpu_offload() else 0
    try:
        return int(n_gpu_layers)
    except (TypeError, ValueError):
        raise SpA2VError(f"n_gpu_layers must be 'auto' or a whole number, got "
                         f"{n_gpu_layers!r}.") from None


def missing_model_error(name: str, detail: str) -> ModelMissing:
    """The message for a missing GGUF: which file, from where, and how to get it (from the
    model registry, ``resources/models.json``)."""
    files = registry.describe_files(name)
    what = f"the GGUF file {files}" if files else f"registry name '{name}'"
    return ModelMissing(
        f"{detail} The llama planner needs {what}.",
        hint=f"Get it with: spa2v models download {name} (or pass --llm-model PATH to a GGUF "
             "you have). The default planner (--planner heuristic) works without it.")


def _registry_path(name: str) -> Path | None:
    try:
        loc = registry.locate(name)
    except (SpA2VError, OSError):
        return None
    return None if loc is None else Path(loc.path())


def resolve_model_path(model_path: str | os.PathLike | None, model_name: str) -> Path:
    """The GGUF to load: ``model_path`` if given, else the registry's file for ``model_name``.
    Raises :class:`ModelMissing` naming the file and how to get it."""
    if model_path is not None:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise missing_model_error(model_name, f"No GGUF file at {path}.")
    else:
        path = _registry_path(model_name)
        if path is None or not path.is_file():
            raise missing_model_error(model_name, "No planner LLM is installed.")
    why = gguf_refusal(path)
    if why:
        raise missing_model_error(model_name, why)
    return path


class LlamaChat:
    """The chat backend for :func:`plan_with_llm` over a loaded ``llama_cpp.Llama``."""

    def __init__(self, llm, model: str, *, temperature: float = 0.2, seed: int = 0):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llm, self.model = llm, model
        self.temperature, self.seed = temperature, seed
        eos, bos = llm.token_eos(), llm.token_bos()

        def text(tok: int) -> str:  # a special token's text, for the template
            return llm.detokenize([tok], special=True).decode("utf-8", "replace")

        self._format = Jinja2ChatFormatter(
            template=llm.metadata.get("tokenizer.chat_template") or CHATML_TEMPLATE,
            eos_token=text(eos) if eos != -1 else "", bos_token=text(bos) if bos != -1 else "")

    def prompt_tokens(self, messages: list[ChatMessage]) -> list[int]:
        prompt = self._format(messages=[{"role": m.role, "content": m.content}
                                        for m in messages]).prompt
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def count_tokens(self, messages: list[ChatMessage]) -> int:
        return len(self.prompt_tokens(messages))

    def grammar(self, grammar_schema: dict[str, Any]):
        from llama_cpp import LlamaGrammar
        from llama_cpp.llama_grammar import json_schema_to_gbnf

        return LlamaGrammar.from_string(patch_gbnf(json_schema_to_gbnf(json.dumps(grammar_schema))),
                                        verbose=False)

    def __call__(self, messages: list[ChatMessage], *, schema: dict[str, Any],
                 grammar_schema: dict[str, Any], max_tokens: int,
                 token: CancelToken) -> Job[ChatReply]:
        ids = self.prompt_tokens(messages)
        room = self.llm.n_ctx() - len(ids)
        if room < MIN_REPLY_ROOM:
            raise BackendError(f"the prompt ({len(ids)} tokens) leaves no room for a reply in "
                               f"the {self.llm.n_ctx()}-token context")
        limit = min(max_tokens, room)
        try:
            stream = self.llm.create_completion(
                prompt=ids, max_tokens=limit, temperature=self.temperature, seed=self.seed,
                grammar=self.grammar(grammar_schema), stream=True)
            parts: list[str] = []
            for count, chunk in enumerate(stream, start=1):
                token.raise_if_cancelled()
                parts.append(chunk["choices"][0]["text"])
                if count % PROGRESS_EVERY == 0:
                    yield Progress("plan", min(1.0, count / limit), detail=f"{count} tokens")
        except (RuntimeError, ValueError) as e:  # llama.cpp's failures, as raised by the binding
            raise BackendError(f"llama.cpp failed: {e}") from None
        return ChatReply("".join(parts), prompt_tokens=len(ids), output_tokens=len(parts))


class LlamaPlanner:
    """Plans with a local GGUF model (default: the registry's ``planner-llm-default``).

    Parameters
    ----------
    model_path : a GGUF file; default: the registry's file for ``model_name``.
    n_ctx : context length in tokens (prompt about 1500 + reply up to about 2500).
    n_gpu_layers : ``"auto"`` offloads every layer when llama.cpp has GPU support, else 0.
    seed, temperature : sampling; the grammar holds the shape, a low temperature the content.
    keep_loaded : keep the model in memory after planning; by default it is unloaded, so the
        video engine has the memory for rendering.
    """

    name = "llama"

    def __init__(self, *, model_path: str | os.PathLike | None = None,
                 model_name: str = DEFAULT_MODEL, n_ctx: int = 4096,
                 n_gpu_layers: int | str = "auto", seed: int = 0, temperature: float = 0.2,
                 n_threads: int | None = None, keep_loaded: bool = False,
                 verbose: bool = False):
        self._llama_cpp = _import_llama_cpp()
        self.model_path = resolve_model_path(model_path, model_name)
        self.n_gpu_layers = gpu_layers(n_gpu_layers, self._llama_cpp)
        self.n_ctx, self.seed, self.temperature = int(n_ctx), int(seed), float(temperature)
        self.n_threads, self.keep_loaded, self.verbose = n_threads, keep_loaded, verbose
        self.last_stats: PlanStats | None = None
        self._llm = None

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self) -> None:
        if self._llm is not None:
            return
        try:
            self._llm = self._llama_cpp.Llama(
                model_path=str(self.model_path), n_ctx=self.n_ctx,
                n_gpu_layers=self.n_gpu_layers, seed=self.seed, n_threads=self.n_threads,
                verbose=self.verbose)
        except (ValueError, RuntimeError) as e:
            raise SpA2VError(f"llama.cpp could not load {self.model_path.name} ({e}).",
                             hint="Check the file with: spa2v models verify, or download it "
                                  "again.") from None

    def unload(self) -> None:
        """Free the model's memory (before rendering, or when the app no longer plans)."""
        if self._llm is not None:
            self._llm.close()
            self._llm = None
            gc.collect()

    def plan(self, request: PlanRequest, token: CancelToken) -> Job[Layout]:
        token.raise_if_cancelled()
        if self._llm is None:
            yield Progress("plan", 0.0, detail=f"loading {self.model_path.name}")
            self.load()
        chat = LlamaChat(self._llm, self.model_path.name, temperature=self.temperature,
                         seed=self.seed)
        stats = PlanStats()
        try:
            layout = yield from plan_with_llm(request, token, chat, planner_name=self.name,
                                              count_tokens=chat.count_tokens, stats=stats)
        finally:
            self.last_stats = stats
            if not self.keep_loaded:
                self.unload()
        return layout

    def __enter__(self) -> "LlamaPlanner":
        return self

    def __exit__(self, *exc) -> None:
        self.unload()
