"""What the command line prints while a job runs."""

import io

from engine.jobs import Progress
from spa2v_app.cli.common import ProgressPrinter


def test_the_same_progress_line_is_printed_once():
    # A plan's planner stage ends at 100 % and then the plan job does: "plan: 100%" twice.
    out = io.StringIO()
    printer = ProgressPrinter(stream=out, delay_s=0.0)
    for event in (Progress("plan", 1.0), Progress("plan", 1.0), Progress("render", 1.0)):
        printer(event)
    assert out.getvalue().splitlines() == ["plan: 100%", "render: 100%"]
