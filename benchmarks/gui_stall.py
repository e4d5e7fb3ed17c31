"""The longest GUI event-loop stall while a plan and a preview render run (target < 100 ms).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_stall.py [AUDIO] [--repeats 3]

A 5 ms QTimer stands in for the user: every gap between its ticks beyond 5 ms is time the
window could not react. The studio imports the clip, then plans and renders it with the
preview renderer (the render queued behind the plan, as a user would do it) while the
playhead plays on the clock, so the timeline, canvas and preview repaint throughout. Prints
the longest and the 99th-percentile gap, per run and overall.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TICK_MS = 5


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?",
                    default=str(ROOT / "resources" / "examples" / "truck_right_to_left.flac"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--verbose", action="store_true", help="say what ran during each stall")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="spa2v-stall-"))
    os.environ["SPA2V_DATA_DIR"] = str(tmp / "data")
    os.environ["SPA2V_CONFIG_DIR"] = str(tmp / "config")

    import numpy as np
    from PySide6.QtCore import QElapsedTimer, QTimer

    from spa2v_app.studio.app import create_app
    from spa2v_app.studio.main_window import MainWindow
    from spa2v_app.studio.model.settings import StudioSettings

    app = create_app()
    window = MainWindow(StudioSettings(), use_audio_device=False)
    window.maybe_keep_changes = lambda: True
    window.resize(1440, 880)
    window.show()

    def pump_until(cond, timeout=300.0):
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit("gui_stall: timed out")
            app.processEvents()
            time.sleep(0.002)

    job = window.import_audio(args.audio)
    pump_until(lambda: job.done and window.doc.audio is not None)
    gaps_all = []
    for run in range(args.repeats):
        gaps: list[float] = []
        clock = QElapsedTimer()
        clock.start()
        last = [clock.nsecsElapsed()]

        def tick():
            now = clock.nsecsElapsed()
            gap = (now - last[0]) / 1e6 - TICK_MS
            gaps.append(gap)
            last[0] = now
            if gap > 40 and args.verbose:
                running = [f"{j.kind}:{j.stage}:{j.fraction:.2f}:{j.detail}"
                           for j in window.queue.jobs if j.state == "running"]
                print(f"  stall {gap:.0f} ms while {running or 'no job running'}")

        timer = QTimer()
        timer.setInterval(TICK_MS)
        timer.timeout.connect(tick)
        window.player.play(0.0)
        t0 = time.monotonic()
        plan = window.plan()
        timer.start()
        pump_until(lambda: plan.done)
        render = window.render(tmp / f"run{run}.mp4")
        pump_until(lambda: render.done and not window.queue.busy())
        timer.stop()
        window.player.stop()
        took = time.monotonic() - t0
        assert plan.state == render.state == "finished", (plan.message, render.message)
        g = np.array(gaps[1:])
        gaps_all.extend(g.tolist())
        print(f"run {run + 1}: plan+render {took:.1f} s, {len(g)} ticks, longest stall "
              f"{g.max():.1f} ms, p99 {np.percentile(g, 99):.1f} ms")
    g = np.array(gaps_all)
    print(f"longest GUI event-loop stall over {args.repeats} runs: {g.max():.1f} ms "
          f"(p99 {np.percentile(g, 99):.1f} ms, target < 100 ms)")
    sys.stdout.flush()
    window.queue.wait_all(10)
    os._exit(0)  # skip PySide6's teardown at interpreter exit


if __name__ == "__main__":
    sys.exit(main())
