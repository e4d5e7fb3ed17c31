"""Playback of a long render in the studio's preview: how many different frames it shows and
what each playhead step costs.

Makes a 10-minute render (the README example's plan, truck_right_to_left.flac, repeated to
600 s; preview renderer, 24 fps, 512x512, silent) once into ``--cache``, then plays it in an
offscreen studio document and preview panel as the player does: the playhead moved every
33 ms of media time (the player's tick) for ``--play`` seconds from the middle. Printed: the
different frames shown (a 24 fps video has 24 a second), the cost of each step (the panel's
refresh included: median, 99th percentile, longest), the thumbnails' memory, and after
jumps the time the exact frame took once the playhead rested.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/render_playback.py
    # the code of another checkout (e.g. main before the change), same render:
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/render_playback.py --code /work/main
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "resources" / "examples" / "truck_right_to_left.flac"
TICK_S = 0.033


def long_layout(repeat: int):
    """The README example's plan, its frames repeated ``repeat`` times."""
    import copy

    from engine.jobs import CancelToken, run_job
    from engine.pipeline import PlanSettings, plan_job
    from engine.planning.heuristic import HeuristicPlanner

    layout, _ = run_job(plan_job(EXAMPLE, PlanSettings(hint="a truck"), planner=HeuristicPlanner(),
                                 tagger=None, token=CancelToken()), lambda e: None)
    long = copy.deepcopy(layout)
    long.duration_s = layout.duration_s * repeat
    long.num_frames = layout.num_frames * repeat
    for obj in long.objects:
        obj.boxes = list(obj.boxes) * repeat
        obj.extra.pop("loudness_db", None)
    return long


def make_render(path: Path, minutes: float):
    from engine.jobs import CancelToken, run_job
    from engine.pipeline import render_job
    from engine.protocols import RenderSettings
    from engine.rendering.preview import PreviewRenderer

    layout = long_layout(int(round(minutes * 60 / 8)))
    if not path.exists():
        start = time.perf_counter()
        run_job(render_job(None, layout, path, renderer=PreviewRenderer(),
                           settings=RenderSettings(), token=CancelToken()), lambda e: None)
        print(f"# rendered {path} in {time.perf_counter() - start:.0f} s")
    return layout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout whose studio code to use")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--play", type=float, default=30.0, help="seconds of playback")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "spa2v_playback")
    args = ap.parse_args()
    sys.path.insert(0, str(args.code.resolve()))

    from engine.jobs import CancelToken, run_job
    from spa2v_app.studio.app import create_app
    from spa2v_app.studio.document import StudioDocument
    from spa2v_app.studio.model import tasks
    from spa2v_app.studio.preview_panel import PreviewPanel
    from spa2v_app.studio.workers import to_qimage

    args.cache.mkdir(parents=True, exist_ok=True)
    video = args.cache / f"render_{args.minutes:g}min.mp4"
    layout = make_render(video, args.minutes)
    app = create_app()
    doc = StudioDocument()
    panel = PreviewPanel(doc)
    panel.resize(420, 440)
    panel.show()
    doc.apply_plan(layout)
    doc.add_render(video, "preview", {}, layout)
    start = time.perf_counter()
    thumbs = run_job(tasks.thumbnails_job(video, CancelToken()))
    thumbs_s = time.perf_counter() - start
    doc.set_thumbnails([(t, to_qimage(img)) for t, img in zip(thumbs.times_s, thumbs.images)])
    thumb_mb = sum(img.nbytes for img in thumbs.images) / 1e6

    t0 = layout.duration_s / 2
    doc.set_time(t0)
    app.processEvents()
    time.sleep(0.3)
    app.processEvents()  # a jump: let the exact frame come
    steps, shown = [], set()
    t = t0
    while t < t0 + args.play:
        t += TICK_S
        start = time.perf_counter()
        doc.set_time(t)
        steps.append(time.perf_counter() - start)
        image = panel._image
        shown.add(hashlib.blake2b(bytes(image.constBits())[:image.sizeInBytes()]).hexdigest())
    settle = []
    if hasattr(doc, "render_frame"):
        for k in range(10):  # jumps, each left to rest: the seek and decode to the exact frame
            doc.set_time((k * 0.37 + 0.05) * layout.duration_s % layout.duration_s)
            start = time.perf_counter()
            doc._settled()
            settle.append(time.perf_counter() - start)
    ms = sorted(1000 * s for s in steps)
    print(f"# code: {args.code}; {video.name}: {layout.duration_s:.0f} s at 24 fps; playback of "
          f"{args.play:g} s from {t0:.0f} s in steps of {TICK_S * 1000:.0f} ms; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print(f"different frames shown: {len(shown)} in {args.play:g} s "
          f"({len(shown) / args.play:.2f} a second; the video has 24)")
    print(f"step (set_time + preview refresh): median {statistics.median(ms):.2f} ms, "
          f"p99 {ms[int(0.99 * (len(ms) - 1))]:.2f} ms, longest {ms[-1]:.2f} ms")
    print(f"thumbnails: {len(thumbs.images)} ({thumb_mb:.0f} MB), decoded in {thumbs_s:.1f} s")
    if settle:
        st = sorted(1000 * s for s in settle)
        print(f"exact frame after a jump (seek + decode from the keyframe): median "
              f"{statistics.median(st):.0f} ms, longest {st[-1]:.0f} ms")


if __name__ == "__main__":
    main()
