"""Is there evidence in a pan-pot mix for its pan law? (docs/hearing.md, "Pan law")

For a source held at one level, the total power ``L^2 + R^2`` is the same at every pan
position under the constant-power law and dips 3 dB at the centre under the -6 dB (linear)
law: ``(1 + r^2) / (1 + r)^2`` for the amplitude ratio ``r``. This prints, for each moving
constant-power mix of a world-bench run's *tune* set, how much the clip's level varies, how
much the linear law's dip would vary over the ratios heard, and how the two correlate: the
law is readable only where the source's own level varies much less than the dip.

    python benchmarks/hearing_world.py --quick --out DIR
    python benchmarks/pan_law_evidence.py --world DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.audio import load_audio  # noqa: E402

STEP_S = 0.1      # level measured over 100 ms steps
LOUD_DB = 20.0    # steps within 20 dB of the loudest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", type=Path, required=True)
    args = ap.parse_args()
    base = args.world / "tune"
    for truth in sorted((base / "truth").glob("*.json")):
        d = json.loads(truth.read_text())
        if d.get("mic") != "pan-cp" or d.get("kind") != "passby":
            continue
        audio = load_audio(base / "clips" / (truth.stem + ".flac"))
        x = audio.stereo().astype(float)
        hop = int(STEP_S * audio.sample_rate)
        n = x.shape[1] // hop
        e = (x[:, :n * hop] ** 2).reshape(2, n, hop).sum(axis=2) + 1e-12
        level = 10 * np.log10(e.sum(axis=0))
        r = np.sqrt(e[1] / e[0])
        dip = 10 * np.log10((1 + r ** 2) / (1 + r) ** 2)
        loud = level > level.max() - LOUD_DB
        corr = float(np.corrcoef(level[loud], dip[loud])[0, 1])
        print(f"{truth.stem}: level varies {np.ptp(level[loud]):.1f} dB, the linear law's dip "
              f"{np.ptp(dip[loud]):.1f} dB, correlation {corr:+.2f}")


if __name__ == "__main__":
    main()
