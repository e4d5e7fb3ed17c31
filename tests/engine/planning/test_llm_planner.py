"""The shared LLM planning flow with recorded replies: good, repaired, fallen back, guarded,
and adversarial replies that must change nothing outside the layout."""

import os

import pytest

from engine.errors import Cancelled
from engine.jobs import CancelToken, Log, Progress, run_job
from engine.layout import save_layout
from engine.planning.heuristic import plan_layout_from_cues
from engine.planning.llm_planner import BackendError, ChatReply, PlanStats, plan_with_llm
from engine.protocols import PlanRequest
from tests.engine.planning import replies
from tests.engine.planning.cuekit import dog_and_car


class Scripted:
    """A chat backend that answers recorded replies in order and keeps what it was asked."""

    model = "scripted"

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, messages, *, schema, grammar_schema, max_tokens, token):
        self.calls.append({"messages": messages, "schema": schema, "max_tokens": max_tokens})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return ChatReply(answer, prompt_tokens=1000, output_tokens=len(answer) // 3)


def plan(backend, *, hint=None, stats=None, token=None, **kw):
    events = []
    layout = run_job(plan_with_llm(PlanRequest(dog_and_car(), hint=hint), token or CancelToken(),
                                   backend, planner_name="llama", stats=stats, **kw),
                     events.append)
    return layout, [e for e in events if isinstance(e, Log)], events


def test_a_good_reply_is_used_as_given():
    backend, stats = Scripted(replies.GOOD), PlanStats()
    layout, logs, events = plan(backend, stats=stats)
    assert layout.planner.name == "llama" and layout.planner.model == "scripted"
    assert [o.label for o in layout.objects] == ["dog", "car"]
    assert layout.caption.startswith("A brown dog barks")
    assert logs == [] and stats.attempts == 1 and not stats.fell_back
    assert stats.prompt_tokens == [1000] and stats.examples[0] == "ex07_dog_and_passing_car"
    assert isinstance(events[-1], Progress) and events[-1].fraction == 1.0
    # The prompt: system, three examples as turns, then the clip with its table and hint.
    msgs = backend.calls[0]["messages"]
    assert [m.role for m in msgs] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    assert msgs[-1].clip and "S2: car .8; motion right_to_left .9" in msgs[-1].content
    assert backend.calls[0]["max_tokens"] > 1000


def test_object_confidence_comes_from_the_measured_source():
    layout, _, _ = plan(Scripted(replies.GOOD))
    assert [o.confidence for o in layout.objects] == [pytest.approx(0.9), pytest.approx(0.9)]


def test_one_repair_round_fixes_a_broken_reply():
    backend, stats = Scripted(replies.RECORDED["broken_schema"], replies.GOOD), PlanStats()
    layout, logs, _ = plan(backend, stats=stats)
    assert layout.planner.name == "llama" and stats.attempts == 2 and not stats.fell_back
    repair = backend.calls[1]["messages"]
    assert repair[-2].role == "assistant" and repair[-2].content == replies.RECORDED["broken_schema"]
    assert repair[-1].content.startswith("That reply cannot be used: objects[0].source must be")
    assert repair[-1].content.endswith("Answer again with the whole corrected JSON only.")


def test_two_broken_replies_fall_back_to_the_rule_based_layout_and_say_why():
    backend, stats = Scripted(replies.RECORDED["broken_truncated"],
                              replies.RECORDED["broken_truncated"]), PlanStats()
    layout, logs, _ = plan(backend, stats=stats)
    assert len(backend.calls) == 2 and stats.fell_back
    assert layout.to_dict() == plan_layout_from_cues(dog_and_car()).to_dict()
    assert logs[-1].level == "warning"
    assert logs[-1].message.startswith("The llama planner's reply could not be used (the reply "
                                       "is not valid JSON")
    assert logs[-1].message.endswith("used the rule-based layout instead.")


def test_a_failing_backend_falls_back_without_a_second_try():
    backend = Scripted(BackendError("connection refused"), replies.GOOD)
    layout, logs, _ = plan(backend)
    assert len(backend.calls) == 1 and layout.planner.name == "heuristic"
    assert "(connection refused)" in logs[-1].message


def test_cancel_stops_planning():
    token = CancelToken()

    class CancelsWhileAsked(Scripted):
        def __call__(self, *a, **kw):
            token.cancel()
            return super().__call__(*a, **kw)

    with pytest.raises(Cancelled):
        plan(CancelsWhileAsked(replies.GOOD, replies.GOOD), token=token)


def test_the_guard_corrects_a_reply_that_moves_sources():
    layout, logs, _ = plan(Scripted(replies.RECORDED["adversarial_wrong_side"]))
    dog, car = layout.objects
    dog_x = [0.5 * (b[0] + b[2]) for b in dog.boxes]
    car_x = [0.5 * (b[0] + b[2]) for b in car.boxes]
    assert max(dog_x) <= 0.25 + 0.12 + 1e-6            # the dog stays on the left
    assert car_x[0] > 0.7 and car_x[-1] < 0.3          # the car goes right to left
    assert car.motion == "right_to_left" and car.extra["source_id"] == 2
    messages = [e.message for e in logs]
    assert any(m.startswith("Spatial guard: moved 'dog'") for m in messages)
    assert "Spatial guard: took 'car' to be source S2." in messages


@pytest.mark.parametrize("name, bad", [
    ("paths", replies.RECORDED["adversarial_paths"]),
    ("control", replies.RECORDED["adversarial_control"]),
    ("objects", replies.too_many_objects(50)),
    ("caption", replies.huge_caption()),
    ("size", replies.huge_reply()),
    ("nesting", replies.deep_nesting()),
])
def test_adversarial_replies_change_nothing_outside_the_layout(tmp_path, monkeypatch, name, bad):
    monkeypatch.chdir(tmp_path)
    backend = Scripted(bad, bad)
    layout, logs, _ = plan(backend)
    assert os.listdir(tmp_path) == []                  # nothing was written anywhere here
    assert layout.planner.name == "heuristic"          # refused twice: the rule-based layout
    assert logs[-1].level == "warning" and len(logs[-1].message) < 1200
    # The repair request quotes at most 2000 characters of the bad reply back.
    assert len(backend.calls[1]["messages"][-2].content) <= 2000
    save_layout(layout, tmp_path / "plan.json")
    assert os.listdir(tmp_path) == ["plan.json"]


def test_the_prompt_budget_drops_examples_that_do_not_fit():
    backend, stats = Scripted(replies.GOOD), PlanStats()

    def count(messages):  # 500 per example pair, 300 for the rest
        return 300 + 250 * (len(messages) - 2)

    plan(backend, stats=stats, count_tokens=count, prompt_budget_tokens=1300)
    assert len(stats.examples) == 2
    assert len(backend.calls[0]["messages"]) == 6


def test_a_backend_may_report_progress_while_it_generates():
    class Streaming(Scripted):
        def __call__(self, *a, **kw):
            yield Progress("plan", 0.5, detail="halfway")
            return super().__call__(*a, **kw)

    _, _, events = plan(Streaming(replies.GOOD))
    halfway = [e for e in events if isinstance(e, Progress) and e.detail == "halfway"]
    assert halfway and halfway[0].fraction == pytest.approx(0.05 + 0.4 * 0.5)
