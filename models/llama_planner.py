"""The local LLM planner: a GGUF instruct model through llama-cpp-python.

The model reads the measured cue table and a few retrieved examples and writes the scene as
JSON under a grammar derived from the reply schema, so even a small model cannot write
malformed output; the shared flow (``engine.planning.llm_planner``) validates the reply,
repairs once, falls back to the rule-based layout, and holds the result to the confident
cues. ``llama_cpp`` is imported here only, when the planner is made.

llama.cpp runs in a worker process (as the audio listener does): a GGUF that passes the
header checks can still hit an abort inside llama.cpp (a llama with no layers does, on load),
which would otherwise end the app, and the studio with the user's unsaved work. The worker
loads the model once and answers token counts and chat turns over a pipe; the parent watches
the clock, the cancel token and the worker, and ends it on cancel, timeout, unload or death
with a clear message (the built-in planner takes over, as for any planner failure).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

from engine.errors import Cancelled, ModelMissing, SpA2VError
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
DEFAULT_TIMEOUT_S = 900.0  # loading, and each reply: a 7B model on a slow CPU takes minutes
POLL_S = 0.1


def await_reply(conn, process, token: CancelToken, *, timeout_s: float, stage: str,
                no_answer: str, died: Callable[[], str]) -> Job[list]:
    """Wait for a llama.cpp worker process's answer to the last request (the planner's and
    the audio listener's workers speak the same way): ``("progress", fraction, detail)``
    is passed on as ``Progress(stage, ...)``, ``("error", message)`` raises
    :class:`BackendError`, any other message's payload is the answer. Cancel raises
    :class:`Cancelled`; no answer within ``timeout_s`` raises ``no_answer`` (its ``{s}``
    the seconds), and a worker that dies raises ``died()`` (read once it has ended)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if token.cancelled:
            raise Cancelled()
        if time.monotonic() > deadline:
            raise BackendError(no_answer.format(s=f"{timeout_s:.0f}"))
        try:
            ready = conn.poll(POLL_S)
        except (EOFError, OSError):
            ready = False
        if not ready:
            if not process.is_alive():
                raise BackendError(died())
            continue
        try:
            kind, *payload = conn.recv()
        except (EOFError, OSError):
            process.join(1)
            raise BackendError(died()) from None
        if kind == "progress":
            fraction, detail = payload
            yield Progress(stage, float(fraction), detail=str(detail))
        elif kind == "error":
            raise BackendError(str(payload[0]))
        else:
            return payload


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
    except (OSError, RuntimeError) as e:
        # Installed, but its library does not load here: "Failed to load shared library ...:
        # libcudart.so.12: cannot open shared object file" (a CUDA build without CUDA). Was a
        # traceback on the command line, and a failed Plan in the studio.
        raise ModelMissing(
            f"llama-cpp-python is installed but cannot be loaded on this machine "
            f"({str(e).splitlines()[0][:240] if str(e) else type(e).__name__}).",
            hint="Reinstall it for this machine: pip install --force-reinstall --no-cache-dir "
                 "llama-cpp-python (with CMAKE_ARGS=\"-DGGML_CUDA=on\" only where CUDA is "
                 "installed). The default planner works without it.") from None
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
    except registry.ModelsFolderError:
        raise  # the models folder cannot be read: say that, not "not installed"
    except (SpA2VError, OSError):
        return None
    return None if loc is None else Path(loc.path())


def _gone_import(name: str) -> str | None:
    try:
        return registry.gone_import(registry.load_registry().get(name))
    except (SpA2VError, OSError):
        return None


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
            gone = _gone_import(model_name)
            raise missing_model_error(model_name, f"The planner LLM was {gone}." if gone else
                                      "No planner LLM is installed.")
    why = gguf_refusal(path, kind="text")
    if why:
        raise missing_model_error(model_name, why)
    return path


def _template_problem(model: str, e: Exception) -> str:
    return (f"the chat template inside {model} cannot be used ({type(e).__name__}: "
            f"{str(e)[:200]}); use another GGUF of that model, or one with a standard template")


class LlamaChat:
    """The chat backend for :func:`plan_with_llm` over a loaded ``llama_cpp.Llama``."""

    def __init__(self, llm, model: str, *, temperature: float = 0.2, seed: int = 0):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llm, self.model = llm, model
        self.temperature, self.seed = temperature, seed
        eos, bos = llm.token_eos(), llm.token_bos()

        def text(tok: int) -> str:  # a special token's text, for the template
            return llm.detokenize([tok], special=True).decode("utf-8", "replace")

        try:
            self._format = Jinja2ChatFormatter(
                template=llm.metadata.get("tokenizer.chat_template") or CHATML_TEMPLATE,
                eos_token=text(eos) if eos != -1 else "",
                bos_token=text(bos) if bos != -1 else "")
        except Exception as e:  # noqa: BLE001 - jinja2's syntax errors and the like
            raise BackendError(_template_problem(model, e)) from None

    def prompt_tokens(self, messages: list[ChatMessage]) -> list[int]:
        try:
            prompt = self._format(messages=[{"role": m.role, "content": m.content}
                                            for m in messages]).prompt
        except Exception as e:  # noqa: BLE001 - a template that raises or fails on our messages
            raise BackendError(_template_problem(self.model, e)) from None
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
    timeout_s : loading, and each reply, must come within this; the worker is ended after it.
    """

    name = "llama"

    def __init__(self, *, model_path: str | os.PathLike | None = None,
                 model_name: str = DEFAULT_MODEL, n_ctx: int = 4096,
                 n_gpu_layers: int | str = "auto", seed: int = 0, temperature: float = 0.2,
                 n_threads: int | None = None, keep_loaded: bool = False,
                 timeout_s: float = DEFAULT_TIMEOUT_S, verbose: bool = False):
        self._llama_cpp = _import_llama_cpp()
        self.model_path = resolve_model_path(model_path, model_name)
        self.n_gpu_layers = gpu_layers(n_gpu_layers, self._llama_cpp)
        self.n_ctx, self.seed, self.temperature = int(n_ctx), int(seed), float(temperature)
        self.n_threads, self.keep_loaded, self.verbose = n_threads, keep_loaded, verbose
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.timeout_s = float(timeout_s)
        self.last_stats: PlanStats | None = None
        self._worker: _Worker | None = None

    @property
    def loaded(self) -> bool:
        return self._worker is not None and self._worker.alive

    def load(self) -> None:
        """Start the worker and load the model (blocking; :meth:`plan` loads as a job)."""
        _drain(self._load(CancelToken()))

    def _load(self, token: CancelToken) -> Job[None]:
        if self.loaded:
            return
        self.unload()  # a worker that died is cleaned up first
        config = {"model_path": str(self.model_path), "n_ctx": self.n_ctx,
                  "n_gpu_layers": self.n_gpu_layers, "seed": self.seed,
                  "n_threads": self.n_threads, "verbose": self.verbose}
        try:
            worker = _Worker(config, self.model_path.name, self.timeout_s)
        except OSError as e:  # no process can be started (limits, memory): a planner failure
            raise SpA2VError(f"Could not start llama.cpp's worker process ({e}).",
                             hint="Close other programs, or use the built-in planner.") from None
        self._worker = worker
        try:
            yield from worker.wait(token, "loading")
        except Cancelled:
            self.unload()
            raise
        except BackendError as e:
            self.unload()
            raise SpA2VError(f"llama.cpp could not load {self.model_path.name} ({e}).",
                             hint="Check the file with: spa2v models verify, or download it "
                                  "again (a GGUF of your own: use another copy or another "
                                  "model).") from None

    def unload(self) -> None:
        """Free the model's memory (before rendering, or when the app no longer plans): the
        worker process ends, and the operating system takes back all it held."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()

    def plan(self, request: PlanRequest, token: CancelToken) -> Job[Layout]:
        token.raise_if_cancelled()
        stats = PlanStats()
        try:
            if not self.loaded:
                yield Progress("plan", 0.0, detail=f"loading {self.model_path.name}")
                yield from self._load(token)
            chat = _WorkerChat(self._worker, temperature=self.temperature, seed=self.seed)
            layout = yield from plan_with_llm(request, token, chat, planner_name=self.name,
                                              count_tokens=chat.count_tokens, stats=stats)
        finally:
            self.last_stats = stats
            if not self.keep_loaded or (self._worker is not None and self._worker.broken):
                self.unload()
        return layout

    def __enter__(self) -> "LlamaPlanner":
        return self

    def __exit__(self, *exc) -> None:
        self.unload()

    def __del__(self):  # a planner dropped without unload() must not leave its worker behind
        try:
            self.unload()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _drain(job: Job):
    """Run a job whose events nobody watches; its return value."""
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return stop.value


class _Worker:
    """The parent's side of one llama.cpp worker process."""

    def __init__(self, config: dict, model: str, timeout_s: float):
        ctx = mp.get_context("spawn")  # a fresh interpreter: no threads or Qt state copied
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, config), daemon=True)
        self.process.start()
        child.close()
        self.model, self.timeout_s = model, timeout_s
        self.broken = False  # a request did not finish (cancel, timeout, death): not reusable

    @property
    def alive(self) -> bool:
        return not self.broken and self.process.is_alive()

    def ask(self, request: tuple, token: CancelToken, doing: str) -> Job:
        if not self.alive:
            raise BackendError(f"llama.cpp is no longer running ({doing})")
        try:
            self.conn.send(request)
        except (OSError, ValueError):
            self.broken = True
            raise BackendError(f"llama.cpp stopped before {doing} (exit code "
                               f"{self.process.exitcode})") from None
        return (yield from self.wait(token, doing))

    def wait(self, token: CancelToken, doing: str) -> Job:
        """Wait for the answer to the last request, passing its progress on; the answer's
        payload. Cancel, timeout and the worker's death leave it broken."""
        ok = False
        try:
            payload = yield from await_reply(
                self.conn, self.process, token, timeout_s=self.timeout_s, stage="plan",
                no_answer=f"llama.cpp gave no answer within {{s}} s ({doing})",
                died=lambda: self._died(doing))
            ok = True
            return payload
        finally:
            if not ok:
                self.broken = True

    def _died(self, doing: str) -> str:
        return (f"llama.cpp stopped while {doing} (exit code {self.process.exitcode}); "
                f"{self.model} may be broken, or not a text model llama.cpp can run")

    def close(self) -> None:
        if self.process.is_alive() and not self.broken:
            try:
                self.conn.send(("close",))
            except (OSError, ValueError):
                pass
            self.process.join(5)
        self.conn.close()
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


class _WorkerChat:
    """The chat backend for :func:`plan_with_llm` over a worker process."""

    def __init__(self, worker: _Worker, *, temperature: float, seed: int):
        self.worker, self.temperature, self.seed = worker, temperature, seed
        self.model = worker.model

    def count_tokens(self, messages: list[ChatMessage]) -> int:
        (count,) = _drain(self.worker.ask(("count", _plain(messages)), CancelToken(),
                                          "counting tokens"))
        return int(count)

    def __call__(self, messages: list[ChatMessage], *, schema: dict[str, Any],
                 grammar_schema: dict[str, Any], max_tokens: int,
                 token: CancelToken) -> Job[ChatReply]:
        text, prompt_tokens, output_tokens = yield from self.worker.ask(
            ("chat", _plain(messages), grammar_schema, int(max_tokens), self.temperature,
             self.seed), token, "answering")
        return ChatReply(text, prompt_tokens=prompt_tokens, output_tokens=output_tokens)


def _plain(messages: list[ChatMessage]) -> list[tuple[str, str, bool]]:
    return [(m.role, m.content, bool(m.clip)) for m in messages]


# -- the worker process ----------------------------------------------------------------------

def _serve(conn, config: dict) -> None:
    """Worker entry point: load, then answer requests until told to close."""
    if not config.get("verbose"):
        _silence_native_output()  # llama.cpp logs to the process's own stderr
    llm = None
    try:
        try:
            import llama_cpp
            llm = llama_cpp.Llama(**config)
            chat = LlamaChat(llm, Path(config["model_path"]).name)
        except Exception as e:  # noqa: BLE001 - reported to the parent, which raises it there
            why = _template_problem(Path(config["model_path"]).name, e) \
                if type(e).__module__.startswith("jinja2") else str(e) \
                if isinstance(e, (RuntimeError, ValueError, SpA2VError)) else \
                f"{type(e).__name__}: {e}"
            conn.send(("error", why))
            return
        conn.send(("ready",))
        while True:
            request = conn.recv()
            try:
                conn.send(_answer(conn, chat, request))
            except Exception as e:  # noqa: BLE001
                conn.send(("error", _describe(e)))
            if request[0] == "close":
                return
    except (EOFError, OSError):  # the parent went away
        return
    finally:
        if llm is not None:
            llm.close()
        conn.close()


def _answer(conn, chat: LlamaChat, request: tuple) -> tuple:
    kind, *args = request
    if kind == "close":
        return ("closed",)
    messages = [ChatMessage(role, content, clip=clip) for role, content, clip in args[0]]
    if kind == "count":
        return ("count", chat.count_tokens(messages))
    grammar_schema, max_tokens, chat.temperature, chat.seed = args[1:]
    job = chat(messages, schema={}, grammar_schema=grammar_schema, max_tokens=max_tokens,
               token=CancelToken())  # the parent ends this process to cancel
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            reply = stop.value
            return ("reply", reply.text, reply.prompt_tokens, reply.output_tokens)
        conn.send(("progress", event.fraction, event.detail))


def _describe(e: Exception) -> str:
    if isinstance(e, SpA2VError):
        return str(e)
    return f"llama.cpp failed: {e}" if isinstance(e, (RuntimeError, ValueError)) else \
        f"{type(e).__name__}: {e}"


def _silence_native_output() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
