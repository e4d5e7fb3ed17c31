"""The planning flow shared by language-model planners (llama.cpp, Gemini).

1. Summarise the measured cues at a few keyframes (``llm_prompt``).
2. Retrieve the most similar worked examples (``examples``) and build the chat.
3. Ask the model through a small *chat backend* for a reply under the reply schema.
4. Parse and validate the reply (``llm_schema``); if it cannot be used, ask once more with
   the list of problems (one repair round).
5. If it still cannot be used, or the model fails, use the rule-based layout and say why.
6. Hold the layout to the confident cues (``guard``) and say what was corrected.

A chat backend is any callable ``backend(messages, *, schema, grammar_schema, max_tokens,
token)`` returning a :class:`ChatReply` (or a job that yields progress and returns one), with
a ``model`` attribute naming the model. It raises :class:`BackendError` when the model cannot
answer (a network error, a crashed runtime): that too ends in the rule-based layout.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..cues.types import Cues
from ..errors import SpA2VError
from ..jobs import CancelToken, Job, Log, stage_progress, sub_job
from ..layout import MAX_OBJECTS, Layout, PlannerInfo
from ..protocols import PlanRequest
from .examples import PlannerExample, load_example_bank, retrieve_examples
from .guard import apply_spatial_guard
from .llm_prompt import ChatMessage, build_messages, summarize_cues
from .llm_schema import ReplyProblems, max_reply_chars, parse_reply, reply_schema

PROMPT_BUDGET_TOKENS = 1500
NUM_EXAMPLES = 3
MAX_PROBLEMS_SHOWN = 6
MAX_ECHOED_REPLY = 2000
EXTRA_OBJECTS = 2  # objects the model may add beyond the heard sources


class BackendError(SpA2VError):
    """The model could not answer (connection, quota, runtime failure)."""


@dataclass
class ChatReply:
    text: str
    prompt_tokens: int | None = None
    output_tokens: int | None = None


class ChatBackend(Protocol):
    model: str

    def __call__(self, messages: list[ChatMessage], *, schema: dict[str, Any],
                 grammar_schema: dict[str, Any], max_tokens: int,
                 token: CancelToken) -> ChatReply | Job[ChatReply]:
        ...


@dataclass
class PlanStats:
    """What one LLM planning run cost; filled in by :func:`plan_with_llm` when given."""

    prompt_tokens: list[int] = field(default_factory=list)
    output_tokens: list[int] = field(default_factory=list)
    model_s: float = 0.0
    total_s: float = 0.0
    attempts: int = 0
    examples: list[str] = field(default_factory=list)
    fell_back: bool = False
    reason: str | None = None
    guard_notes: list[str] = field(default_factory=list)

    @property
    def overhead_s(self) -> float:
        """Planning time outside the model: cue summary, retrieval, parsing, the guard."""
        return max(0.0, self.total_s - self.model_s)


def plan_with_llm(request: PlanRequest, token: CancelToken, backend: ChatBackend, *,
                  planner_name: str, bank: tuple[PlannerExample, ...] | None = None,
                  num_examples: int = NUM_EXAMPLES,
                  prompt_budget_tokens: int = PROMPT_BUDGET_TOKENS,
                  count_tokens: Callable[[list[ChatMessage]], int] | None = None,
                  stats: PlanStats | None = None) -> Job[Layout]:
    """Plan a layout with a language model; see the module docstring for the steps.

    Parameters
    ----------
    request : cues, hint and frame size.
    backend : the chat backend (see :class:`ChatBackend`).
    planner_name : recorded in the layout and named in messages ("llama", "gemini").
    bank : in-context examples to choose from (default: the bundled bank).
    num_examples : how many examples to show at most; fewer when the prompt would exceed
        ``prompt_budget_tokens`` as counted by ``count_tokens`` (default: 1 token per 2.2
        characters, the rate measured for these digit-heavy prompts with the Qwen2.5 and
        Llama 3 tokenizers, which split numbers into digits or short groups).
    stats : filled in with token counts and timings (for benchmarks).
    """
    stats = stats if stats is not None else PlanStats()
    started = time.perf_counter()
    report = stage_progress("plan")
    token.raise_if_cancelled()
    yield report(0.0, "summarising the cues")
    cues = request.cues
    summary = summarize_cues(cues)

    # 1-2. Examples and messages, within the prompt budget: the most similar examples that
    # fit, skipping one that would not fit for a shorter one further down the ranking.
    bank = load_example_bank() if bank is None else bank
    ranked = retrieve_examples(summary, bank, k=2 * num_examples, hint=request.hint)
    count = count_tokens or _estimate_tokens

    def chat(chosen: list[PlannerExample]) -> list[ChatMessage]:
        return build_messages(summary, request.hint,
                              [(e.summary, e.hint, e.reply_text()) for e in chosen])

    examples: list[PlannerExample] = []
    for candidate in ranked:
        if len(examples) == num_examples:
            break
        if count(chat(examples + [candidate])) <= prompt_budget_tokens:
            examples.append(candidate)
    messages = chat(examples)
    stats.examples = [e.id for e in examples]

    # 3-4. Ask, parse, one repair round.
    # The model may add objects (a crowd, an unheard companion) but not without bound: a few
    # more than the heard sources keeps the reply, and so the output tokens, short.
    max_objects = min(MAX_OBJECTS, max(3, len(summary.sources) + EXTRA_OBJECTS))
    schema = reply_schema(summary, max_objects=max_objects, for_grammar=False)
    grammar_schema = reply_schema(summary, max_objects=max_objects, for_grammar=True)
    max_tokens = max_reply_chars(grammar_schema)
    info = PlannerInfo(planner_name, getattr(backend, "model", None))
    confidence = _source_confidence(cues)
    parsed = None
    reason = None
    for attempt in range(2):
        token.raise_if_cancelled()
        yield report(0.05 + 0.45 * attempt, "asking the model" if attempt == 0 else
                     "asking the model to correct its reply")
        t0 = time.perf_counter()
        try:
            reply = yield from _call(backend, messages, schema, grammar_schema, max_tokens,
                                     token, start=0.05 + 0.45 * attempt, end=0.45 + 0.45 * attempt)
        except BackendError as e:
            reason = str(e)
            break
        finally:
            stats.model_s += time.perf_counter() - t0
            stats.attempts += 1
        token.raise_if_cancelled()
        if reply.prompt_tokens is not None:
            stats.prompt_tokens.append(reply.prompt_tokens)
        if reply.output_tokens is not None:
            stats.output_tokens.append(reply.output_tokens)
        try:
            parsed = parse_reply(reply.text, summary, planner=info, width=request.width,
                                 height=request.height, source_confidence=confidence)
            break
        except ReplyProblems as e:
            reason = "; ".join(e.problems[:MAX_PROBLEMS_SHOWN])
            messages = messages + [
                ChatMessage("assistant", reply.text[:MAX_ECHOED_REPLY]),
                ChatMessage("user", "That reply cannot be used: " + reason
                            + ". Answer again with the whole corrected JSON only."),
            ]

    # 5. Fall back to the rule-based layout, saying why.
    fallback = _rule_based(request)
    if parsed is None:
        stats.fell_back, stats.reason = True, reason
        stats.total_s = time.perf_counter() - started
        yield Log(f"The {planner_name} planner's reply could not be used ({reason}); "
                  "used the rule-based layout instead.", "warning")
        yield report(1.0)
        return fallback()

    # 6. The spatial guard.
    for note in parsed.notes:
        yield Log(f"{planner_name} planner: {note}.")
    layout, notes = apply_spatial_guard(parsed.layout, cues, fallback=fallback)
    stats.guard_notes = notes
    for note in notes:
        yield Log(f"Spatial guard: {note}.")
    stats.total_s = time.perf_counter() - started
    yield report(1.0)
    return layout


def _call(backend: ChatBackend, messages, schema, grammar_schema, max_tokens, token, *,
          start: float, end: float) -> Job[ChatReply]:
    result = backend(messages, schema=schema, grammar_schema=grammar_schema,
                     max_tokens=max_tokens, token=token)
    if inspect.isgenerator(result):
        result = yield from sub_job(result, start=start, end=end, stage="plan")
    if not isinstance(result, ChatReply):
        raise TypeError(f"chat backend returned {type(result).__name__}, not ChatReply")
    return result


def _estimate_tokens(messages: list[ChatMessage]) -> int:
    return int(sum(len(m.content) / 2.2 + 5 for m in messages))


def _source_confidence(cues: Cues) -> dict[int, float]:
    out = {}
    for s in cues.sources:
        c = np.nan_to_num(np.asarray(s.confidence, float))[np.asarray(s.active, bool)]
        out[s.id] = 0.1 if cues.mono else float(np.clip(c.mean(), 0, 1)) if c.size else 0.0
    return out


def _rule_based(request: PlanRequest) -> Callable[[], Layout]:
    """The rule-based layout, made at most once and only when needed."""
    from .heuristic import plan_layout_from_cues

    made: list[Layout] = []

    def make() -> Layout:
        if not made:
            made.append(plan_layout_from_cues(request.cues, hint=request.hint,
                                              width=request.width, height=request.height))
        return made[0]

    return make

