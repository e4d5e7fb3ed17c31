"""The one rule for a planner that cannot be had: plan with the built-in planner and say why.

A planner that cannot be made (its library, model file or key is missing:
``models.backends.make_planner_or_built_in``) or that fails while planning
(:func:`plan_or_fall_back`, used by :func:`engine.pipeline.plan_job`) is replaced by the
rule-based planner, and one warning says which and why. A cancel is never replaced, and the
built-in planner's own failure is not hidden. The command line is stricter at one point only:
a planner the user named explicitly that cannot be made is an error (exit 2), since the user
asked for it by name. The LLM flow (:mod:`.llm_planner`) applies the same rule inside itself
when a reply is still unusable after one repair: it returns the rule-based layout, which its
spatial guard needs anyway, and says so.
"""

from __future__ import annotations

from ..errors import Cancelled, SpA2VError
from ..jobs import CancelToken, Job, Log
from ..layout import Layout
from ..protocols import Planner, PlanRequest
from .heuristic import HeuristicPlanner

BUILT_IN_PLANNER = HeuristicPlanner.name


def built_in_planner() -> Planner:
    return HeuristicPlanner()


def not_available_note(name: str, reason: str) -> str:
    return f"The {name} planner is not available ({reason}); using the built-in planner."


def plan_or_fall_back(planner: Planner, request: PlanRequest, token: CancelToken) -> Job[Layout]:
    """``planner.plan(request, token)``; on its failure (not a cancel) the built-in plan."""
    try:
        return (yield from planner.plan(request, token))
    except Cancelled:
        raise
    except SpA2VError as e:
        if planner.name == BUILT_IN_PLANNER:
            raise
        yield Log(f"The {planner.name} planner failed ({e}); using the built-in planner.",
                  "warning")
    return (yield from built_in_planner().plan(request, token))
