"""Put each bug of issue 20's table into a scratch copy of the checkout, one at a time, and say
whether the tests catch it (at least one test fails).

    .venv/bin/python scripts/seeded_bugs.py            # all ten
    .venv/bin/python scripts/seeded_bugs.py 3 5        # some (numbers as in docs/testing.md)

The checkout itself is never changed. A bug whose code line is no longer there (the code was
rewritten) is reported as "not applied", so the table must then be brought up to date.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (what the bug is, [(file, exact text, replacement), ...], tests to run)
GUARD = "engine/planning/guard.py"
MP4 = "engine/export/mp4.py"
SCHEMA = "engine/layout/schema.py"
RENDERER = "models/diffusion/renderer.py"
RUN = "models/diffusion/run.py"
FEATURES = "engine/audio/features.py"
PLAN_TESTS = ["tests/engine/planning/test_heuristic.py", "tests/engine/test_plan_basic.py"]
GUARD_TESTS = ["tests/engine/planning/test_guard.py", "tests/engine/planning/test_guard_ids.py",
               "tests/engine/planning/test_llm_planner.py"]
MP4_TESTS = ["tests/engine/test_export.py", "tests/engine/test_av_sync.py"]
# The azimuth-to-x law's one home (SPEC section 2), which the planner and the guard import.
LAW = "engine/layout/screen.py"
X_LINE = "return np.clip(0.5 + az / fov_deg, 0.0, 1.0)"

BUGS = [
    ("azimuth-to-x scale off by 10 % (/ 200 for / 180) in the azimuth-to-x law",
     [(LAW, X_LINE, "return np.clip(0.5 + az / (fov_deg * 200 / 180), 0.0, 1.0)")],
     PLAN_TESTS),
    ("azimuth clipped at +-60 instead of +-90",
     [(LAW, X_LINE, "return np.clip(0.5 + np.clip(az, -60, 60) / fov_deg, 0.0, 1.0)")],
     PLAN_TESTS),
    ("spatial guard no longer resets an object's unknown source_id",
     [(GUARD, 'o.extra["source_id"] = sid = None', "pass")], GUARD_TESTS),
    ("guard's restored object keeps the fallback's id",
     [(GUARD, "obj.id = max((o.id for o in layout.objects), default=0) + 1", "pass")],
     GUARD_TESTS),
    ("MP4 audio shifted 250 ms late",
     [(MP4, "chunk.pts = self._audio_samples_out",
       "chunk.pts = self._audio_samples_out + self._audio_rate // 4")], MP4_TESTS),
    ("MP4 audio allowed to run 1 s past the video",
     [(MP4, "self._audio_limit = int(round(self.duration_s * rate))",
       "self._audio_limit = int(round((self.duration_s + 1.0) * rate))")], MP4_TESTS),
    ("layout validation: y0 < y1 check dropped; width accepted up to 1e9",
     [(SCHEMA, "if x1 <= x0 or y1 <= y0:", "if x1 <= x0:"),
      (SCHEMA, 'width = _number(d, "width", "", lo=64, hi=4096',
       'width = _number(d, "width", "", lo=64, hi=1e9')],
     ["tests/engine/test_layout.py", "tests/engine/test_layout_rules.py"]),
    ("diffusion: native-size downscale ignored; energy guidance never applied",
     [(RENDERER, "scale = min(1.0, opts.native_size / max(out_w, out_h))", "scale = 1.0"),
      (RUN, "if i + 1 < min(call.energy_steps, total):", "if False:")],
     ["tests/models/diffusion/test_pipeline.py", "tests/models/diffusion/test_preview_energy.py"]),
    ("Hann window periodic -> symmetric; zero padding -> edge padding",
     [(FEATURES, "np.arange(n) / n)", "np.arange(n) / (n - 1))"),
      (FEATURES, "return np.pad(x, (0, first + hops * hop - x.size))",
       'return np.pad(x, (0, first + hops * hop - x.size), mode="edge")')],
     ["tests/engine/test_features.py", "tests/engine/test_features_rules.py"]),
    ("sign of azimuth flipped (in the azimuth-to-x law)",
     [(LAW, X_LINE, "return np.clip(0.5 - az / fov_deg, 0.0, 1.0)")], PLAN_TESTS),
]
# Bugs 8's two halves are also checked one at a time (each must be caught on its own).
SPLIT = {8: [0, 1], 9: [0, 1], 7: [0, 1]}


def copy_checkout(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f)


def run_case(work: Path, edits, tests) -> str:
    saved = {}
    try:
        for file, old, new in edits:
            path = work / file
            text = saved.setdefault(path, path.read_text())
            current = path.read_text()
            if current.count(old) != 1:
                return f"not applied ({old!r} found {current.count(old)} times in {file})"
            path.write_text(current.replace(old, new))
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "--no-header", "-rN", *tests], cwd=work, env=env,
                           capture_output=True, text=True, timeout=900)
        last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-200:]
        return ("CAUGHT: " if r.returncode == 1 else
                "NOT CAUGHT: " if r.returncode == 0 else f"ERROR rc={r.returncode}: ") + last
    finally:
        for path, text in saved.items():
            path.write_text(text)


def main(argv: list[str]) -> int:
    chosen = [int(a) for a in argv] or list(range(1, len(BUGS) + 1))
    with tempfile.TemporaryDirectory(prefix="spa2v-bugs-") as tmp:
        work = Path(tmp)
        copy_checkout(work)
        missed = 0
        for k in chosen:
            what, edits, tests = BUGS[k - 1]
            parts = [edits] + ([[edits[i]] for i in SPLIT[k]] if k in SPLIT else [])
            for j, part in enumerate(parts):
                label = f"{k}" if j == 0 else f"{k}{'ab'[j - 1]}"
                result = run_case(work, part, tests)
                missed += not result.startswith("CAUGHT")
                print(f"{label:3s} {what if j == 0 else '  only: ' + part[0][2][:60]}\n    {result}",
                      flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
