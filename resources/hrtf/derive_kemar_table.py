"""Derive the shipped KEMAR tables from the measured SOFA file.

    python resources/hrtf/derive_kemar_table.py [SOFA]

Writes, next to this script:

- ``kemar_horizontal.npz``: horizontal-plane HRIRs, 5 degree steps, split into per-ear onset
  delays and 384-tap aligned filters (what :mod:`engine.binaural` renders with);
- ``kemar_cues.npz``: the azimuth calibration of the cue extractor (what GCC-PHAT ITD and
  per-band ILD read for a pink-noise source at each frontal azimuth, 1 degree steps), made by
  :func:`engine.cues.calibration.derive_calibration` from the *measured* responses.

Default SOFA: shared/data/hrtf/MIT_KEMAR_normal_pinna.sofa in the nearest parent of the repo
root that has it (../shared from a main checkout).
Data: MIT KEMAR, Bill Gardner and Keith Martin, MIT Media Lab, 1994 (see CITATION.txt).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from engine.binaural.hrtf import load_sofa, save_hrir_set  # noqa: E402

SOFA_NAME = Path("shared") / "data" / "hrtf" / "MIT_KEMAR_normal_pinna.sofa"


def default_sofa() -> Path:
    """../shared/data/... beside the checkout (worktrees sit one level deeper)."""
    for parent in ROOT.parents:
        if (parent / SOFA_NAME).exists():
            return parent / SOFA_NAME
    return ROOT.parent / SOFA_NAME


def main(argv: list[str]) -> int:
    sofa = Path(argv[0]) if argv else default_sofa()
    hrirs = load_sofa(sofa)
    save_hrir_set(hrirs, HERE / "kemar_horizontal.npz")
    print(f"wrote {HERE / 'kemar_horizontal.npz'} ({len(hrirs.azimuth_deg)} azimuths, "
          f"{hrirs.taps} taps)")
    try:
        from engine.cues.calibration import derive_calibration, save_calibration
    except ImportError:
        return 0
    table = derive_calibration(load_sofa(sofa, taps=512))
    save_calibration(table, HERE / "kemar_cues.npz")
    print(f"wrote {HERE / 'kemar_cues.npz'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
