"""Write the example frames in docs/: each bundled example rendered to MP4 by the CLI's own path
(plan with a hint, preview renderer, H.264 export), decoded, and a strip of frames saved.

    .venv/bin/python scripts/example_frames.py         # docs/example-{truck,jet,lion}.png
                                                      # + docs/screenshots/preview-labels.png

The strips are frames of the exported MP4 (labels off, as exported by default); the
screenshot shows the same truck with labels on, as the studio's layout view draws it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXAMPLES = (("truck", "truck_right_to_left.flac", "a truck"),
            ("jet", "jet_left_to_right.flac", "a jet"),
            ("lion", "lion_left.flac", "a lion"))
AT = (0.15, 0.5, 0.85)  # where in the clip the strip's frames are taken


def render(audio: Path, hint: str, out: Path, labels: bool) -> None:
    from engine.jobs import CancelToken, run_job
    from engine.pipeline import PlanSettings, plan_job, render_job
    from engine.planning.heuristic import HeuristicPlanner
    from engine.protocols import RenderSettings
    from engine.rendering.preview import PreviewRenderer

    token = CancelToken()
    layout, _ = run_job(plan_job(audio, PlanSettings(hint=hint), planner=HeuristicPlanner(),
                                 tagger=None, token=token), lambda e: None)
    run_job(render_job(audio, layout, out, renderer=PreviewRenderer(),
                       settings=RenderSettings(labels=labels), token=token), lambda e: None)


def frames_of(mp4: Path, at=AT):
    import av

    with av.open(str(mp4)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    return [frames[min(len(frames) - 1, int(q * len(frames)))] for q in at]


def save(path: Path, rgb) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    print(f"wrote {path}")


def main() -> int:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, clip, hint in EXAMPLES:
            mp4 = Path(tmp) / f"{name}.mp4"
            render(ROOT / "resources" / "examples" / clip, hint, mp4, labels=False)
            gap = np.full((512, 8, 3), 255, np.uint8)
            strip = [x for f in frames_of(mp4) for x in (f, gap)][:-1]
            save(args.docs / f"example-{name}.png", np.hstack(strip))
        mp4 = Path(tmp) / "truck-labels.mp4"
        render(ROOT / "resources" / "examples" / EXAMPLES[0][1], EXAMPLES[0][2], mp4, labels=True)
        save(args.docs / "screenshots" / "preview-labels.png", frames_of(mp4, (0.4,))[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
