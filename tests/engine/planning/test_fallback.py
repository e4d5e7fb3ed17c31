"""The one fallback rule: a planner that cannot be made or fails is replaced by the built-in one,
with one warning; a cancel is never replaced, and the built-in planner's failure is not hidden."""

import pytest

from engine.errors import BadInput, Cancelled, ModelMissing
from engine.jobs import CancelToken, Log, run_job
from engine.planning.fallback import BUILT_IN_PLANNER, plan_or_fall_back
from engine.protocols import PlanRequest
from models import backends
from tests.engine.planning.cuekit import dog_and_car


class Failing:
    def __init__(self, name, error):
        self.name, self.error = name, error

    def plan(self, request, token):
        yield Log("thinking")
        raise self.error


def run(planner):
    events = []
    layout = run_job(plan_or_fall_back(planner, PlanRequest(cues=dog_and_car()), CancelToken()),
                     events.append)
    return layout, [e.message for e in events if isinstance(e, Log) and e.level == "warning"]


def test_a_failing_planner_gives_the_built_in_layout_and_says_why():
    layout, warnings = run(Failing("llama", BadInput("the model said nothing")))
    assert layout.planner.name == BUILT_IN_PLANNER
    assert [o.label for o in layout.objects] == ["dog", "car"]
    assert len(warnings) == 1 and "llama" in warnings[0] and "the model said nothing" in warnings[0]


@pytest.mark.parametrize("planner", [Failing("llama", Cancelled()),
                                     Failing(BUILT_IN_PLANNER, BadInput("broken rules"))])
def test_cancel_and_the_built_in_planners_own_failure_are_not_replaced(planner):
    with pytest.raises(type(planner.error)):
        run(planner)


def test_a_bug_is_not_mistaken_for_a_missing_backend():
    with pytest.raises(TypeError):
        run(Failing("llama", TypeError("unexpected keyword")))


def test_a_planner_that_cannot_be_made_is_replaced_with_a_note(monkeypatch):
    def missing(name, **options):
        raise ModelMissing(f"no {name} here", hint="install it")

    monkeypatch.setattr(backends, "make_planner", missing)
    planner, note = backends.make_planner_or_built_in("gemini", api_key="k")
    assert planner.name == BUILT_IN_PLANNER and "gemini" in note and "install it" in note


def test_only_the_settings_a_backend_takes_reach_its_constructor(monkeypatch):
    made = []
    monkeypatch.setattr(backends, "make_planner", lambda name, **options: made.append(options))
    backends.make_planner_or_built_in("llama", model_path="m.gguf", api_key="secret", device="cuda")
    backends.make_planner_or_built_in("gemini", model_path="", api_key="secret")
    assert made == [{"model_path": "m.gguf"}, {"api_key": "secret"}]
    assert backends.settings_for(backends.RENDERERS, "preview", device="cuda") == {}
    assert backends.settings_for(backends.RENDERERS, "diffusion", device="cuda") == {"device": "cuda"}
    assert backends.settings_for(backends.RENDERERS, "diffusion", device="auto") == {}
