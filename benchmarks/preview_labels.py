"""Labels in the preview video: speed with labels on, and pictures of them, this code next to an
older one (default main before the TrueType labels, when OpenCV's Hershey font drew them).

The README example (``resources/examples/truck_right_to_left.flac``, planned with the hint "a
truck") is drawn frame by frame with labels on by both renderers in the same process,
alternating, so a noisy shared machine slows both alike; printed: frames/s (wall and CPU)
per renderer and the new/old ratio. Pictures written to ``--out``: the middle frame by each
renderer (``frame_old.png``, ``frame_new.png``), the label region of both magnified 4x
(``label_compare.png``), and labels in several scripts drawn by each (``scripts_old.png``,
``scripts_new.png``).

    .venv/bin/python benchmarks/preview_labels.py [--repeat 5] [--old-rev REV] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from render_preview import cpu_s, make_plan, old_renderer  # noqa: E402

OLD_REV = "6945eb3"  # main before the TrueType labels
EXAMPLE = ROOT / "resources" / "examples" / "truck_right_to_left.flac"
SCRIPTS = ("truck", "Hund", "собака", "çocuk", "Ærø", "犬", "σκύλος", "כלב", "كلب", "कुत्ता")


def frames_per_s(renderer, layout) -> tuple[float, float]:
    from engine.jobs import CancelToken
    from engine.protocols import Frame, RenderSettings

    n, start, cpu = 0, time.perf_counter(), cpu_s()
    for event in renderer.render(layout, RenderSettings(labels=True), CancelToken()):
        n += isinstance(event, Frame)
    return n / (time.perf_counter() - start), n / max(1e-9, cpu_s() - cpu)


def scripts_sheet(draw_frame, layout, backdrop):
    """One frame per label of SCRIPTS (the example's object renamed), stacked: the region
    under the object."""
    import copy

    import numpy as np

    rows = []
    for name in SCRIPTS:
        lay = copy.deepcopy(layout)
        lay.objects[0].label = name
        frame = draw_frame(lay, layout.duration_s / 2, backdrop, labels=True)
        rows.append(frame)
    return np.vstack(rows)


def main() -> None:
    import cv2
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--old-rev", default=OLD_REV)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "preview_labels")
    args = ap.parse_args()

    from engine.rendering import preview

    old = old_renderer(args.old_rev)
    renderers = {f"old ({args.old_rev})": old, "new": preview.PreviewRenderer()}
    draw = {"old": old.render.__globals__, "new": vars(preview)}
    with tempfile.TemporaryDirectory() as tmp:
        _, layout = make_plan(Path(tmp), EXAMPLE, "a truck")
    args.out.mkdir(parents=True, exist_ok=True)
    w, h = layout.width // 2 * 2, layout.height // 2 * 2
    frames = {}
    for key, mod in draw.items():
        backdrop = mod["layout_backdrop"](layout, w, h - mod["TIMELINE_H"])
        frame = mod["draw_frame"](layout, layout.duration_s / 2, backdrop, labels=True)
        frames[key] = frame
        cv2.imwrite(str(args.out / f"frame_{key}.png"), frame[..., ::-1])
        sheet = scripts_sheet(mod["draw_frame"], layout, backdrop)
        cv2.imwrite(str(args.out / f"scripts_{key}.png"), sheet[..., ::-1])
    # where the two frames differ: the label; both crops magnified side by side
    diff = np.abs(frames["old"].astype(int) - frames["new"].astype(int)).sum(axis=2) > 0
    ys, xs = np.nonzero(diff)
    if ys.size:
        y0, y1 = max(0, ys.min() - 6), ys.max() + 7
        x0, x1 = max(0, xs.min() - 6), xs.max() + 7
        crops = [cv2.resize(frames[k][y0:y1, x0:x1], None, fx=4, fy=4,
                            interpolation=cv2.INTER_NEAREST) for k in ("old", "new")]
        cv2.imwrite(str(args.out / "label_compare.png"), np.vstack(crops)[..., ::-1])

    fps = {k: [] for k in renderers}
    for _ in range(args.repeat):
        for name, r in renderers.items():
            fps[name].append(frames_per_s(r, layout))
    print(f"# {EXAMPLE.name}: {layout.duration_s:.1f} s, {w}x{h} at 24 fps, labels on, objects: "
          f"{', '.join(o.label for o in layout.objects)}; median of {args.repeat}; "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}; "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print("| renderer | frames/s (wall) | frames/s (CPU) |")
    print("|---|---:|---:|")
    med = {k: [statistics.median(r[i] for r in v) for i in (0, 1)] for k, v in fps.items()}
    for name, (wall, cpu) in med.items():
        print(f"| {name} | {wall:.0f} | {cpu:.0f} |")
    (o_wall, o_cpu), (n_wall, n_cpu) = med.values()
    print(f"new/old: {n_wall / o_wall:.2f} (wall), {n_cpu / o_cpu:.2f} (CPU)")
    print(f"pictures: {args.out}")


if __name__ == "__main__":
    main()
