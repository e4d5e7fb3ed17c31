"""Make the binaural demo clips in resources/examples/ from CC0 development recordings.

    python scripts/make_examples.py [--sources DIR]

Each clip is a CC0 mono recording from shared/data/sources, extended to a few seconds and
rendered with :func:`engine.binaural.render_binaural` (MIT KEMAR HRTF) along a known path:

- truck_right_to_left.flac: a truck passes 4 m in front, right to left, with Doppler;
- jet_left_to_right.flac: a jet passes 40 m away, left to right, with Doppler;
- lion_left.flac: a lion roars, standing still 2 m away at -60 degrees (left), in a room
  with RT60 0.3 s.

The paths are written to CREDITS.md beside the clips, so a listener (or a test of the cue
extractor) knows the truth.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.audio import write_audio  # noqa: E402
from engine.binaural import Room, render_binaural  # noqa: E402
from engine.evaluation.sources import (  # noqa: E402
    active_rms, extend_source, find_sources_dir, load_catalogue, load_source)

OUT = ROOT / "resources" / "examples"
SR = 44100


def passby(duration_s: float, x0: float, x1: float, lateral_m: float, points: int = 200):
    """A straight pass at ``lateral_m`` in front of the listener from x0 to x1 (m, + = right)."""
    t = np.linspace(0.0, duration_s, points)
    x = x0 + (x1 - x0) * t / duration_s
    return t, np.rad2deg(np.arctan2(x, lateral_m)), np.hypot(x, lateral_m)


CLIPS = [
    dict(name="truck_right_to_left", source="truck_pull_away", seconds=8.0,
         path=lambda d: passby(d, 14.0, -14.0, 4.0), doppler=True, room=None,
         text="passes 4 m in front from 14 m right to 14 m left at 3.5 m/s (azimuth +74 to "
              "-74 degrees), Doppler on, free field"),
    dict(name="jet_left_to_right", source="jet_take_off", seconds=8.0,
         path=lambda d: passby(d, -160.0, 160.0, 40.0), doppler=True, room=None,
         text="passes 40 m away from 160 m left to 160 m right at 40 m/s (azimuth -76 to "
              "+76 degrees), Doppler on, free field"),
    dict(name="lion_left", source="lion_roar", seconds=7.0,
         path=lambda d: (np.array([0.0, d]), np.array([-60.0, -60.0]), np.array([2.0, 2.0])),
         doppler=False, room=Room(rt60_s=0.3, seed=3),
         text="static at -60 degrees (left), 2 m, in a room with RT60 0.3 s"),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=Path, default=None)
    args = ap.parse_args(argv)
    src_dir = args.sources or find_sources_dir(ROOT)
    if src_dir is None:
        print("shared/data/sources not found; pass --sources DIR", file=sys.stderr)
        return 2
    catalogue = {s.id: s for s in load_catalogue(src_dir)}
    credits = ["# Example clips", "",
               "Binaural renders made by `scripts/make_examples.py` with the product's renderer "
               "(`engine.binaural`) and the MIT KEMAR HRTF (Bill Gardner and Keith Martin, MIT "
               "Media Lab, 1994; free to use with citation). Each source recording is CC0 and "
               "comes from Debian's openttd-opensfx 1.0.3-2 package (OpenSFX).", ""]
    for k, clip in enumerate(CLIPS):
        info = catalogue[clip["source"]]
        rng = np.random.default_rng(100 + k)
        x = load_source(info, SR)
        mode = "events" if info.mode == "events" else "loop"
        x = extend_source(x, SR, clip["seconds"], mode, rng)
        x *= 10 ** (-20 / 20) / active_rms(x, SR)
        t, az, dist = clip["path"](clip["seconds"])
        y = render_binaural(x, SR, azimuth_deg=az, distance_m=dist, times_s=t,
                            doppler=clip["doppler"], room=clip["room"])
        y *= 10 ** (-3 / 20) / np.max(np.abs(y))  # peak -3 dBFS
        fade = int(0.05 * SR)
        y[:, :fade] *= np.linspace(0, 1, fade)
        y[:, -fade:] *= np.linspace(1, 0, fade)
        dest = OUT / f"{clip['name']}.flac"
        write_audio(dest, y, SR, subtype="PCM_16")
        dest.chmod(0o644)
        print(f"{dest.relative_to(ROOT)}: {dest.stat().st_size / 1e6:.2f} MB")
        credits += [f"## {dest.name}", "",
                    f"- Source: `{info.id}`: {info.credit or info.id}",
                    f"- Licence: {info.licence}",
                    f"- What was done: {mode}-extended to {clip['seconds']:g} s, levelled, "
                    f"rendered binaurally: {clip['text']}; peak-normalised to -3 dBFS, "
                    "50 ms fades.", ""]
    (OUT / "CREDITS.md").write_text("\n".join(credits), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
