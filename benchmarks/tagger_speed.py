"""How long the built-in YAMNet tagger takes on a 10 s clip, cold and warm, and its peak memory.

`spa2v plan` must finish a 10 s clip in under 1.5 s wall, interpreter start-up included, so the
tagger should take well under 0.5 s cold. Each measurement runs in a fresh interpreter:

- first use: the model zip is unpacked into an empty cache (once per machine);
- cold: cache ready; import + construct + onnxruntime session + tag, as `spa2v plan` does;
- warm: a second clip in the same process (the GUI, or `plan` with several inputs).

Usage (from the repository root):
    python benchmarks/tagger_speed.py [--audio CLIP] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Runs in the child interpreter; prints one JSON line.
CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import numpy as np
sys.path.insert(0, {repo!r})
audio_path, cache = {audio!r}, {cache!r}
if audio_path:
    import soundfile as sf
    samples, sr = sf.read(audio_path, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)[: 10 * sr]
    mono = np.resize(mono, 10 * sr)  # loop a short recording up to 10 s
else:
    sr = 44100
    t = np.arange(10 * sr) / sr
    rng = np.random.default_rng(0)
    mono = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 0.5 * t)) / 2
            + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
t1 = time.perf_counter()
from models.yamnet import YamnetTagger
tagger = YamnetTagger(cache_dir=cache) if cache else YamnetTagger()
t2 = time.perf_counter()
tags = tagger.tag(mono, sr)
t3 = time.perf_counter()
tagger.tag(mono * 0.9, sr)
t4 = time.perf_counter()
print(json.dumps({{"import_construct_s": t2 - t1, "cold_tag_s": t3 - t2, "cold_s": t3 - t1,
                   "warm_s": t4 - t3, "peak_rss_mib": resource.getrusage(
                       resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "tags": [[t.label, round(t.score, 2)] for t in tags]}}))
"""


def run_child(audio: str | None, cache: str | None) -> dict:
    code = CHILD.format(repo=str(REPO), audio=audio, cache=cache)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - start
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", help="a recording to tag (looped or cut to 10 s); "
                                        "default: a synthetic 10 s clip at 44.1 kHz")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as empty:
        first = run_child(args.audio, str(Path(empty) / "cache"))
    runs = [run_child(args.audio, None) for _ in range(args.repeats)]

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(f"clip: {args.audio or 'synthetic 10 s, 44.1 kHz'}; python {sys.version.split()[0]}")
    print(f"first use (unpack zip + session + tag): {first['cold_s']:.3f} s")
    print(f"cold (import + construct + session + tag), median of {args.repeats}: "
          f"{median('cold_s'):.3f} s  (import+construct {median('import_construct_s'):.3f} s)")
    print(f"warm (tag only): {median('warm_s'):.3f} s")
    print(f"whole process incl. interpreter start-up and numpy import: "
          f"{median('process_wall_s'):.3f} s")
    print(f"peak RSS: {max(r['peak_rss_mib'] for r in runs):.0f} MiB")
    print(f"tags: {runs[0]['tags']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
