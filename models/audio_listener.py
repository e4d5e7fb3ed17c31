"""The audio listener: an audio-language model (llama.cpp's libmtmd audio input) names what
each measured source is, by listening to it.

llama-cpp-python 0.3.36 has no high-level audio chat, but its ctypes bindings
(``llama_cpp.mtmd_cpp``) expose libmtmd: the projector is loaded with
``mtmd_init_from_file``, each excerpt becomes a bitmap with ``mtmd_bitmap_init_from_audio``
(float samples at ``mtmd_get_audio_sample_rate``), ``mtmd_tokenize`` splits the prompt at
the media markers, text chunks are evaluated by the ``Llama`` object and audio chunks by
``mtmd_helper_eval_chunk_single``; the answer is then generated under the JSON grammar of
:func:`engine.naming.listening.reply_schema`, as the llama planner does.

Everything llama.cpp does runs in a worker process: a malformed projector can hit an abort
inside llama.cpp, which would otherwise take the app with it. The parent waits with a
timeout, checks the cancel token while it waits, and ends the worker on cancel, timeout or
when the worker dies, with a clear message; the caller keeps the tagger's names then.
``llama_cpp`` is imported in the worker only.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from engine.errors import ModelMissing, SpA2VError
from engine.jobs import CancelToken, Job, Progress
from engine.naming.listening import (SYSTEM_PROMPT, ListenRequest, ListenResult, parse_reply,
                                     prompt_parts, reply_schema)
from engine.planning.llm_planner import BackendError
from engine.planning.llm_schema import ReplyProblems

from . import registry
from .llama_planner import CHATML_TEMPLATE, await_reply
from .safety import gguf_refusal

DEFAULT_MODEL = "listener-audio-default"
DEFAULT_TIMEOUT_S = 600.0
MAX_REPLY_TOKENS = 600
PROGRESS_EVERY = 16  # tokens


@dataclass(frozen=True)
class ListenerConfig:
    """What the worker needs to load the model (plain values: it crosses a process line)."""

    model_path: str
    mmproj_path: str
    n_ctx: int = 8192
    n_gpu_layers: int | str = "auto"
    n_threads: int | None = None
    seed: int = 0
    temperature: float = 0.2
    verbose: bool = False


def resolve_files(model_path: str | os.PathLike | None, mmproj_path: str | os.PathLike | None,
                  model_name: str = DEFAULT_MODEL) -> tuple[Path, Path]:
    """The text GGUF and the audio projector GGUF to load: the given paths, else the
    registry's files for ``model_name``. Raises :class:`ModelMissing` saying how to get them."""
    if (model_path is None) != (mmproj_path is None):
        raise SpA2VError("Give both the model GGUF and its audio projector (mmproj) GGUF, "
                         "or neither (the registry's listener is used then).")
    if model_path is not None:
        paths = [Path(model_path).expanduser(), Path(mmproj_path).expanduser()]
    else:
        paths = _registry_files(model_name)
    for p, kind in zip(paths, ("text", "projector")):
        if not p.is_file():
            raise _missing(model_name, f"No file at {p}.")
        why = gguf_refusal(p, kind=kind)
        if why:
            raise _missing(model_name, why)
    return paths[0], paths[1]


def listener_installed(model_name: str = DEFAULT_MODEL) -> bool:
    """Whether the registry's listener files are all on this machine (cheap; no import)."""
    try:
        paths = _registry_files(model_name)
    except (SpA2VError, OSError):
        return False
    return all(p.is_file() for p in paths)


TAGGER_NOTE = "Sounds are named by the built-in sound tagger"
NOT_INSTALLED = "No audio listener is installed."


def default_listener(model_name: str = DEFAULT_MODEL, **options):
    """What names the sounds when nobody chose: ``(AudioListener, note)`` when llama-cpp-python
    and the listener's files are installed, else ``(None, note)`` (the built-in tagger). The
    note is the one line that says which (the CLI prints it, the studio logs it). One home
    for this choice: ``spa2v plan``, ``spa2v render`` (when it plans) and the studio's Plan use it."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is not None:
        try:
            listener = AudioListener(model_name=model_name, **options)
        except (ModelMissing, registry.ModelsFolderError) as e:
            # partly there, broken, or the models folder unreadable: say why, not 'not installed'
            if not e.message.startswith(NOT_INSTALLED):
                return None, (f"{_namer()}; the audio listener cannot be used: {e.message} "
                              "See: spa2v models list.")
        else:
            return listener, listening_note(listener)
    if _namer() != TAGGER_NOTE:  # it said the tagger names them, right after saying there is none
        return None, ("Sounds are named 'sound source': neither the sound tagger nor an audio "
                      f"listener model can be used here (spa2v models download {model_name}).")
    return None, (f"{TAGGER_NOTE} (no audio listener model is installed; "
                  f"spa2v models download {model_name}).")


def _namer() -> str:
    """Who names the sounds without a listener: the tagger, when its model is here and loads
    (a damaged one was said to name them, right after the warning that it cannot)."""
    from .yamnet import YamnetTagger
    try:
        YamnetTagger().check()  # loaded once per process; the tagger's first tag reuses it
    except ModelMissing:
        return "Sounds are named 'sound source' (no sound tagger)"
    return TAGGER_NOTE


def listening_note(listener: "AudioListener") -> str:
    return (f"Sounds are named by the audio listener {listener.model}, with the sound "
            "tagger's guesses as hints.")


def _registry_files(name: str) -> list[Path]:
    try:
        entry = registry.load_registry().get(name)
        loc = registry.locate(name)
    except registry.ModelsFolderError:
        raise  # the models folder cannot be read: say that, not "not installed"
    except (SpA2VError, OSError, KeyError):
        raise _missing(name, NOT_INSTALLED) from None
    if loc is None or not loc.complete_for(entry):
        status = registry.model_status(entry)  # a text model without its projector, or the reverse
        gone = registry.gone_import(entry)  # imported from a drive that is not there now
        raise _missing(name, f"The audio listener is only partly installed ({status.detail})."
                       if status.state == "partial" else f"The audio listener was {gone}."
                       if gone else NOT_INSTALLED)
    return [Path(loc.path(f.path)) for f in entry.files]


def _missing(name: str, detail: str) -> ModelMissing:
    what = registry.describe_files(name) or f"registry name '{name}'"
    return ModelMissing(f"{detail} The audio listener needs {what}.",
                        hint=f"Get it with: spa2v models download {name}; without it the "
                             "built-in tagger names the sounds (--listener tagger).")


class AudioListener:
    """Names measured sources by listening (implements
    :class:`engine.naming.listening.Listener`).

    Parameters
    ----------
    model_path, mmproj_path : the text GGUF and its audio projector; default: the registry's
        ``listener-audio-default`` files.
    timeout_s : the whole answer (loading included) must come within this; the worker is
        ended after it.
    n_ctx : context in tokens: each excerpt is padded to 30 s (about 750 audio tokens for
        Qwen2.5-Omni), so 8192 holds three sources, the whole clip and the text.
    """

    name = "audio-llm"

    def __init__(self, *, model_path: str | os.PathLike | None = None,
                 mmproj_path: str | os.PathLike | None = None, model_name: str = DEFAULT_MODEL,
                 n_ctx: int = 8192, n_gpu_layers: int | str = "auto", n_threads: int | None = None,
                 seed: int = 0, temperature: float = 0.2, timeout_s: float = DEFAULT_TIMEOUT_S,
                 verbose: bool = False):
        model, mmproj = resolve_files(model_path, mmproj_path, model_name)
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.config = ListenerConfig(str(model), str(mmproj), int(n_ctx), n_gpu_layers,
                                     n_threads, int(seed), float(temperature), verbose)
        self.timeout_s = float(timeout_s)
        self.model = model.name

    def listen(self, request: ListenRequest, token: CancelToken) -> Job[ListenResult]:
        # 1. Start the worker and hand it the request (plain arrays and strings).
        token.raise_if_cancelled()
        yield Progress("listen", 0.0, detail=f"loading {self.model}")
        ctx = mp.get_context("spawn")  # a fresh interpreter: no threads or Qt state copied
        parent, child = ctx.Pipe()
        worker = ctx.Process(target=_serve, args=(child, asdict(self.config)), daemon=True)
        try:
            worker.start()
        except OSError as e:  # no process can be started (limits, memory): the tagger's names
            parent.close()
            child.close()
            raise BackendError(f"could not start llama.cpp's worker process ({e})") from None
        child.close()
        try:
            parent.send(_plain_request(request))
            # 2. Wait for its messages, watching the clock, the cancel token and the worker.
            text = yield from self._wait(parent, worker, token)
        finally:
            # 3. The worker never outlives the call (cancel, timeout or done).
            parent.close()
            if worker.is_alive():
                worker.terminate()
            worker.join(5)
            if worker.is_alive():
                worker.kill()
                worker.join(5)
        # 4. The reply is data from outside: checked field by field.
        try:
            return parse_reply(text, request.source_ids, model=self.model)
        except ReplyProblems as e:
            raise BackendError(f"the audio listener's answer cannot be used ({e})") from None

    def _wait(self, conn, worker, token: CancelToken) -> Job[str]:
        payload = yield from await_reply(
            conn, worker, token, timeout_s=self.timeout_s, stage="listen",
            no_answer="the audio listener gave no answer within {s} s",
            died=lambda: (f"llama.cpp stopped while listening (exit code {worker.exitcode}); "
                          "the projector or model file may be broken: check it with spa2v "
                          "models verify"))
        return str(payload[0])  # ("done", text); an error was raised: the caller says so


def _plain_request(request: ListenRequest) -> dict:
    return {"sample_rate": int(request.sample_rate),
            "whole": np.ascontiguousarray(request.whole, dtype=np.float32),
            "excerpts": [{"source_id": e.source_id,
                          "samples": np.ascontiguousarray(e.samples, dtype=np.float32),
                          "hints": [(t.label, float(t.score)) for t in e.hints]}
                         for e in request.excerpts]}


# -- the worker process ----------------------------------------------------------------------

def _serve(conn, config: dict) -> None:
    """Worker entry point: load, answer one request, report, exit."""
    if not config.get("verbose"):
        _silence_native_output()  # llama.cpp logs to the process's own stderr
    try:
        request = conn.recv()
        text = _answer(conn, ListenerConfig(**config), request)
        conn.send(("done", text))
    except Exception as e:  # reported to the parent, which raises it there
        try:  # llama.cpp's own failures (RuntimeError, ValueError) say enough by their text
            conn.send(("error", str(e) if isinstance(e, (RuntimeError, ValueError))
                       else f"{type(e).__name__}: {e}"))
        except OSError:
            pass
    finally:
        conn.close()


def _silence_native_output() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _answer(conn, config: ListenerConfig, req: dict) -> str:
    import ctypes

    import llama_cpp
    import llama_cpp.mtmd_cpp as mtmd
    from llama_cpp import Llama, LlamaGrammar
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    from engine.cues.types import Tag
    from engine.naming.listening import SourceExcerpt
    from engine.planning.llm_schema import patch_gbnf

    # 1. The text model, then the projector on top of it.
    n_gpu = (-1 if llama_cpp.llama_supports_gpu_offload() else 0) \
        if config.n_gpu_layers == "auto" else int(config.n_gpu_layers)
    llm = Llama(model_path=config.model_path, n_ctx=config.n_ctx, n_gpu_layers=n_gpu,
                seed=config.seed, n_threads=config.n_threads, verbose=config.verbose)
    params = mtmd.mtmd_context_params_default()
    params.use_gpu = n_gpu != 0
    params.print_timings = config.verbose
    params.n_threads = llm.n_threads
    ctx = mtmd.mtmd_init_from_file(config.mmproj_path.encode(), llm.model, params)
    if not ctx:
        raise RuntimeError(f"llama.cpp could not load the projector {config.mmproj_path}")
    bitmaps = []
    chunks = None
    try:
        if not mtmd.mtmd_support_audio(ctx):
            raise RuntimeError(f"{Path(config.mmproj_path).name} has no audio encoder")
        rate = int(mtmd.mtmd_get_audio_sample_rate(ctx))
        conn.send(("progress", 0.1, "encoding audio"))

        # 2. The prompt: one marker per excerpt, then the whole clip.
        marker = (mtmd.mtmd_default_marker() or b"<__media__>").decode()
        sr = int(req["sample_rate"])
        request = ListenRequest(
            [SourceExcerpt(e["source_id"], e["samples"], [Tag(l, s) for l, s in e["hints"]])
             for e in req["excerpts"]], req["whole"], sr)
        eos, bos = llm.token_eos(), llm.token_bos()
        fmt = Jinja2ChatFormatter(
            template=llm.metadata.get("tokenizer.chat_template") or CHATML_TEMPLATE,
            eos_token=llm.detokenize([eos], special=True).decode("utf-8", "replace")
            if eos != -1 else "",
            bos_token=llm.detokenize([bos], special=True).decode("utf-8", "replace")
            if bos != -1 else "")
        prompt = fmt(messages=[{"role": "system", "content": SYSTEM_PROMPT},
                               {"role": "user", "content": prompt_parts(request, marker)}]).prompt
        signals = [e.samples for e in request.excerpts] + [request.whole]
        for y in signals:
            mono = np.ascontiguousarray(_resample(y, sr, rate), dtype=np.float32)
            bm = mtmd.mtmd_bitmap_init_from_audio(
                mono.size, mono.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
            if not bm:
                raise RuntimeError("llama.cpp could not take the audio")
            bitmaps.append(bm)

        # 3. Tokenize around the markers; evaluate text with the Llama object, audio with
        #    libmtmd, so the Llama object's own bookkeeping (n_tokens) stays right.
        text = mtmd.mtmd_input_text()
        raw = prompt.encode("utf-8")
        text.text, text.text_len = raw, len(raw)
        text.add_special, text.parse_special = False, True
        chunks = mtmd.mtmd_input_chunks_init()
        array = (mtmd.mtmd_bitmap_p_ctypes * len(bitmaps))(*bitmaps)
        rc = mtmd.mtmd_tokenize(ctx, chunks, ctypes.byref(text), array, len(bitmaps))
        if rc != 0:
            raise RuntimeError(f"llama.cpp could not split the prompt (mtmd_tokenize {rc})")
        llm.reset()
        n_chunks = mtmd.mtmd_input_chunks_size(chunks)
        for i in range(n_chunks):
            chunk = mtmd.mtmd_input_chunks_get(chunks, i)
            kind = mtmd.mtmd_input_chunk_get_type(chunk)
            if kind == mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
                n = ctypes.c_size_t()
                ptr = mtmd.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
                tokens = [ptr[j] for j in range(n.value)]
                _room(llm, len(tokens))
                llm.eval(tokens)
            else:
                _room(llm, mtmd.mtmd_input_chunk_get_n_tokens(chunk))
                new_past = llama_cpp.llama_pos(0)
                rc = mtmd.mtmd_helper_eval_chunk_single(
                    ctx, llm._ctx.ctx, chunk, llama_cpp.llama_pos(llm.n_tokens),
                    llama_cpp.llama_seq_id(0), llm.n_batch, False, ctypes.byref(new_past))
                if rc != 0:
                    raise RuntimeError(f"llama.cpp could not encode audio (error {rc})")
                llm.n_tokens = new_past.value
            conn.send(("progress", 0.1 + 0.4 * (i + 1) / n_chunks, "listening"))
        if mtmd.mtmd_input_chunk_get_type(mtmd.mtmd_input_chunks_get(chunks, n_chunks - 1)) \
                != mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
            raise RuntimeError("the prompt must end in text")

        # 4. Generate under the grammar; the prompt is what is already evaluated.
        schema = reply_schema(request.source_ids)
        grammar = LlamaGrammar.from_string(patch_gbnf(json_schema_to_gbnf(json.dumps(schema))),
                                           verbose=False)
        room = llm.n_ctx() - llm.n_tokens
        limit = min(MAX_REPLY_TOKENS, room)
        if limit < 32:
            raise RuntimeError(f"the audio leaves no room for an answer in the {llm.n_ctx()}"
                               "-token context")
        parts = []
        stream = llm.create_completion(prompt=llm.input_ids[:llm.n_tokens].tolist(),
                                       max_tokens=limit, temperature=config.temperature,
                                       seed=config.seed, grammar=grammar, stream=True)
        for count, piece in enumerate(stream, start=1):
            parts.append(piece["choices"][0]["text"])
            if count % PROGRESS_EVERY == 0:
                conn.send(("progress", 0.5 + 0.5 * min(1.0, count / limit),
                           f"{count} tokens"))
        return "".join(parts)
    finally:
        if chunks is not None:
            mtmd.mtmd_input_chunks_free(chunks)
        for bm in bitmaps:
            mtmd.mtmd_bitmap_free(bm)
        mtmd.mtmd_free(ctx)
        llm.close()


def _room(llm, n: int) -> None:
    if llm.n_tokens + n > llm.n_ctx():
        raise RuntimeError(f"the prompt needs {llm.n_tokens + n} tokens; the context holds "
                           f"{llm.n_ctx()} (fewer or shorter excerpts, or a larger n_ctx)")


def _resample(y: np.ndarray, sr: int, rate: int) -> np.ndarray:
    if sr == rate or np.asarray(y).size == 0:
        return np.asarray(y, dtype=np.float32)
    from scipy.signal import resample_poly
    g = np.gcd(sr, rate)
    return resample_poly(np.asarray(y, dtype=np.float64), rate // g, sr // g)
