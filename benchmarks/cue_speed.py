"""Cue extraction speed: seconds of 44.1 kHz stereo analysed per second of one CPU core.

    python benchmarks/cue_speed.py [--seconds 60] [--sources N]

Renders a binaural test clip (pink noise, or two sources with ``--sources 2``) moving left to
right, then times :func:`engine.cues.extract.extract_cues` (16 frames, no tagger) with every
BLAS/FFT thread pool pinned to one thread. Prints the real-time ratio (audio seconds per CPU
second); the target is 200x or more.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.audio.io import Audio  # noqa: E402
from engine.binaural import render_binaural  # noqa: E402
from engine.cues.calibration import pink_noise  # noqa: E402
from engine.cues.extract import extract_cues  # noqa: E402

SR = 44100


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--sources", type=int, default=1, choices=(1, 2))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    n = int(args.seconds * SR)
    rng = np.random.default_rng(0)
    y = render_binaural(0.1 * pink_noise(n, rng), SR, azimuth_deg=[-70, 70],
                        times_s=[0, args.seconds], distance_m=2.0)
    if args.sources == 2:
        t = np.arange(n) / SR
        other = 0.1 * pink_noise(n, rng) * (1.2 + np.sin(2 * np.pi * 0.7 * t))
        y = y + render_binaural(other, SR, azimuth_deg=50, distance_m=2.0)
    audio = Audio(y.astype(np.float32), SR)
    extract_cues(audio, num_frames=16)  # warm caches (tables, steering matrices)
    best = np.inf
    for _ in range(args.repeats):
        t0 = time.process_time()
        cues = extract_cues(audio, num_frames=16)
        best = min(best, time.process_time() - t0)
    ratio = args.seconds / best
    print(f"cue extraction: {args.seconds:g} s of {SR} Hz stereo, {args.sources} source(s) "
          f"({len(cues.sources)} found) in {best:.3f} CPU s on one thread: {ratio:.0f}x real time "
          f"(target >= 200x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
