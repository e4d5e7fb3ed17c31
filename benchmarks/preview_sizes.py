"""The preview at the sizes video makers export: pictures and speed.

The README examples (truck, jet, lion, each with its hint) are planned once, and a scene with
two objects made of the lion's and the truck's plans, then drawn with labels on at 512x512, 1280x720,
1920x1080 and 1080x1920 (phones). Written to ``--out``: the middle frame of each
(``NAME_WxH.png``). Printed: frames/s (wall and CPU) of the whole truck video at 512x512 and
1920x1080, the median of ``--repeat`` runs, and the 1080p/512 ratio.

    .venv/bin/python benchmarks/preview_sizes.py [--repeat 3] [--out DIR]
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

from render_preview import cpu_s, make_plan  # noqa: E402

EXAMPLES = ROOT / "resources" / "examples"
CLIPS = {"truck": ("truck_right_to_left.flac", "a truck"),
         "jet": ("jet_left_to_right.flac", "a jet"),
         "lion": ("lion_left.flac", "a lion")}
SIZES = ((512, 512), (1280, 720), (1920, 1080), (1080, 1920))
TIMED = ((512, 512), (1920, 1080))


def two_objects(first, second):
    """A scene with both plans' objects (the heuristic planner hears the two clips mixed as
    one source, so the second plan's object is put into a copy of the first, frame by frame)."""
    import copy

    out = copy.deepcopy(first)
    obj = copy.deepcopy(second.objects[0])
    obj.id = max(o.id for o in out.objects) + 1
    n = out.num_frames
    obj.boxes = [obj.boxes[min(len(obj.boxes) - 1, k * len(obj.boxes) // n)] for k in range(n)]
    out.objects.append(obj)
    return out


def frames_per_s(layout, width: int, height: int) -> tuple[float, float]:
    from engine.jobs import CancelToken
    from engine.protocols import Frame, RenderSettings
    from engine.rendering.preview import PreviewRenderer

    settings = RenderSettings(labels=True, width=width, height=height)
    n, start, cpu = 0, time.perf_counter(), cpu_s()
    for event in PreviewRenderer().render(layout, settings, CancelToken()):
        n += isinstance(event, Frame)
    return n / (time.perf_counter() - start), n / max(1e-9, cpu_s() - cpu)


def main() -> None:
    import cv2

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "preview_sizes")
    args = ap.parse_args()

    from engine.rendering.preview import draw_frame, layout_backdrop, picture_height

    args.out.mkdir(parents=True, exist_ok=True)
    layouts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (clip, hint) in CLIPS.items():
            layouts[name] = make_plan(Path(tmp), EXAMPLES / clip, hint)[1]
        layouts["two"] = two_objects(layouts["truck"], layouts["lion"])
    for name, layout in layouts.items():
        for w, h in SIZES:
            backdrop = layout_backdrop(layout, w, picture_height(w, h))
            frame = draw_frame(layout, layout.duration_s / 2, backdrop, labels=True)
            cv2.imwrite(str(args.out / f"{name}_{w}x{h}.png"), frame[..., ::-1])
    print(f"# objects: " + "; ".join(f"{k}: {', '.join(o.label for o in v.objects)}"
                                     for k, v in layouts.items()))
    fps = {size: [] for size in TIMED}
    for _ in range(args.repeat):
        for size in TIMED:
            fps[size].append(frames_per_s(layouts["truck"], *size))
    print(f"# truck example, labels on, median of {args.repeat}; {os.cpu_count()} CPUs; load "
          f"average {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d %H:%M')}")
    print("| size | frames/s (wall) | frames/s (CPU) |")
    print("|---|---:|---:|")
    med = {s: [statistics.median(r[i] for r in v) for i in (0, 1)] for s, v in fps.items()}
    for (w, h), (wall, cpu) in med.items():
        print(f"| {w}x{h} | {wall:.0f} | {cpu:.0f} |")
    (s_wall, s_cpu), (b_wall, b_cpu) = med.values()
    print(f"1920x1080 / 512x512: {b_wall / s_wall:.2f} (wall), {b_cpu / s_cpu:.2f} (CPU)")
    print(f"pictures: {args.out}")


if __name__ == "__main__":
    main()
