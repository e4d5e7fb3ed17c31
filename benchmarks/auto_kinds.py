"""``auto``'s kind of stereo alone, on the clips a world bench run already wrote.

``hearing_world.py`` plans every clip (cues, counting, tracks); deciding the kind of stereo
is a few percent of that. To try a change to :func:`engine.cues.stereo.detect_stereo`, this
reruns only the decision on the stored clips of one or more ``hearing_world.py --out``
folders (each clip's FLAC and its row in ``world_<part>.json``) and compares it with the
kind the bench recorded (``heard_as``) and the true one (``stereo``):

    python benchmarks/auto_kinds.py /work/bench/final/r_? --part tune [--json out.json]

Prints kind right before (as recorded) and now, the clips that changed, and the confusions
left (condition, microphone, kind read). On the quick tune part (77 clips a seed) it takes
about 10 s a seed on one core. It reproduces ``heard_as`` exactly on unchanged code: the
decision reads only the recording. Study the tune part only (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def decide(runs: list[Path], part: str) -> list[dict]:
    """One row per clip: where it came from, its microphone and condition, the true kind,
    the kind the run recorded and the kind :func:`detect_stereo` reads now, its evidence."""
    from engine.audio.io import load_audio
    from engine.cues.stereo import detect_stereo
    rows = []
    for run in runs:
        report = run / part / f"world_{part}.json"
        if not report.exists():
            raise SystemExit(f"no {report} (hearing_world.py --sets {part} --out {run})")
        clips = {c["scene"]: c for c in json.loads(report.read_text())["clips"]
                 if c["system"] == "spa2v"}
        for scene, c in sorted(clips.items()):
            audio = load_audio(run / part / "clips" / f"{scene}.flac")
            d = detect_stereo(audio.stereo(), int(audio.sample_rate))
            rows.append({"run": str(run), "scene": scene, "mic": c["mic"],
                         "condition": c["condition"], "kind": c["kind"], "true": c["stereo"],
                         "recorded": c["heard_as"], "now": d.kind,
                         "confidence": d.confidence, "evidence": d.evidence})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="hearing_world.py --out folders")
    ap.add_argument("--part", default="tune", choices=("tune", "held-out"))
    ap.add_argument("--json", type=Path, default=None, help="write every clip's row here")
    args = ap.parse_args(argv)
    rows = decide(args.runs, args.part)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    n = len(rows)
    before = sum(r["recorded"] == r["true"] for r in rows)
    now = sum(r["now"] == r["true"] for r in rows)
    print(f"{args.part}: kind right {before}/{n} recorded, {now}/{n} now")
    for r in rows:
        if r["now"] != r["recorded"]:
            mark = "won" if r["now"] == r["true"] else "lost" if r["recorded"] == r["true"] \
                else "moved"
            print(f"  {mark}: {r['run']} {r['scene']}: {r['recorded']} -> {r['now']}")
    left = Counter((r["condition"], r["mic"], r["now"]) for r in rows if r["now"] != r["true"])
    print("misread now (condition, microphone, read as): count")
    for key, count in sorted(left.items()):
        print(f"  {' '.join(key)}: {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
