#!/usr/bin/env bash
# Mutation testing of the core modules with mutmut 3 (the `dev` extra installs it).
#
#   bash scripts/mutation.sh              # every core module, one after another
#   bash scripts/mutation.sh guard schema # some of them (names in the table below)
#   JOBS=1 bash scripts/mutation.sh ...   # parallel mutant workers (default 2)
#
# Each module runs in its own scratch copy of the checkout (~/.cache/spa2v/mutation/NAME, or
# $MUTATION_DIR/NAME) against only the tests that cover it, so a run fits two shared cores
# (a few minutes per module) and nothing is written into the checkout. Each run starts afresh
# (mutmut would keep a survivor's verdict when only the tests changed). Per module it prints
# the score and writes the surviving mutants' diffs to NAME-survivors.txt in that folder.
# Score = (killed + timeout) / (killed + timeout + survived + no tests). Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-$ROOT/.venv/bin/python}
# in a git worktree, the main checkout's venv
[ -x "$PY" ] || PY="$(git rev-parse --path-format=absolute --git-common-dir)/../.venv/bin/python"
MUTMUT="$(dirname "$PY")/mutmut"
[ -x "$MUTMUT" ] || { echo "mutmut is missing: bash scripts/setup.sh --dev installs it" >&2; exit 2; }
BASE=${MUTATION_DIR:-$HOME/.cache/spa2v/mutation}
JOBS=${JOBS:-2}

# name | file to mutate | mutant-name filter ("" = every function) | tests that cover it
MODULES=(
  "heuristic|engine/planning/heuristic.py||tests/engine/planning/test_heuristic.py tests/engine/test_plan_basic.py"
  "guard|engine/planning/guard.py||tests/engine/planning/test_guard.py tests/engine/planning/test_guard_ids.py"
  "schema|engine/layout/schema.py||tests/engine/test_layout.py tests/engine/test_layout_rules.py"
  "mp4|engine/export/mp4.py||tests/engine/test_export.py tests/engine/test_av_sync.py tests/engine/test_mp4_writer.py tests/engine/test_mp4_limits.py"
  "audio_io|engine/audio/io.py||tests/engine/test_audio_io.py tests/engine/test_audio_rules.py tests/app/test_reliability.py tests/engine/test_audio_io_edges.py"
  "features|engine/audio/features.py||tests/engine/test_features.py tests/engine/test_features_rules.py"
  "extract|engine/cues/extract.py|engine.cues.extract.x_extract_cues*|tests/engine/test_extract_public.py tests/engine/test_extract_kinds.py"
  "panning|engine/spatialize/panning.py||tests/engine/spatialize/test_panning.py tests/engine/spatialize/test_panning_law.py"
)
# The azimuth-to-x law's own home, where the checkout has it (engine/layout, hearing-cues).
if [ -f engine/layout/screen.py ]; then
  MODULES+=("x_law|engine/layout/screen.py||tests/engine/test_layout_x_law.py tests/engine/planning/test_heuristic.py")
fi

wanted=("$@")
selected() { [ ${#wanted[@]} -eq 0 ] && return 0; local w; for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

summary=()
for row in "${MODULES[@]}"; do
  IFS='|' read -r name file filter tests <<<"$row"
  selected "$name" || continue
  work="$BASE/$name"
  # A fresh run each time: mutmut keeps a survivor's verdict when only the tests changed.
  rm -rf "$work"
  mkdir -p "$work"
  # The checkout as it is now (tracked and new files), minus what git ignores.
  git ls-files -co --exclude-standard -z | xargs -0 ls -d 2>/dev/null | tr '\n' '\0' \
    | tar --null -T - -cf - | tar -xf - -C "$work"
  existing=()
  for t in $tests; do [ -f "$t" ] && existing+=("\"$t\""); done
  cat >>"$work/pyproject.toml" <<EOF

[tool.mutmut]
source_paths = ["engine"]
only_mutate = ["$file"]
also_copy = ["models", "spa2v_app", "resources", "benchmarks"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q"]
pytest_add_cli_args_test_selection = [$(IFS=,; echo "${existing[*]}")]
EOF
  echo "== $name: $file (tests: $tests)"
  start=$(date +%s)
  (cd "$work" && QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1 "$MUTMUT" run --max-children "$JOBS" \
     ${filter:+"$filter"} >"$work/run.log" 2>&1) || { tail -30 "$work/run.log"; exit 1; }
  secs=$(( $(date +%s) - start ))
  line=$(cd "$work" && "$PY" - "$file" "$filter" "$name" "$secs" <<'EOF'
import fnmatch, subprocess, sys
from pathlib import Path
file, pattern, name, secs = sys.argv[1:]
prefix = file[:-3].replace("/", ".") + "."
out = subprocess.run([str(Path(sys.executable).parent / "mutmut"), "results", "--all", "True"],
                     capture_output=True, text=True, check=True).stdout
status = {}
for line in out.splitlines():
    key, _, st = line.strip().rpartition(": ")
    if key.startswith(prefix) and (not pattern or fnmatch.fnmatch(key, pattern)):
        status[key] = st
counts = {}
for st in status.values():
    counts[st] = counts.get(st, 0) + 1
caught = counts.get("killed", 0) + counts.get("timeout", 0)
missed = counts.get("survived", 0) + counts.get("no tests", 0)
score = caught / (caught + missed) if caught + missed else float("nan")
survivors = sorted(k for k, st in status.items() if st in ("survived", "no tests"))
with open(f"{name}-survivors.txt", "w") as f:
    for k in survivors:
        diff = subprocess.run([str(Path(sys.executable).parent / "mutmut"), "show", k],
                              capture_output=True, text=True).stdout
        f.write(diff.rstrip() + "\n\n")
other = {k: v for k, v in counts.items() if k not in ("killed", "timeout", "survived", "no tests")}
print(f"{name:10s} {file:34s} score {score:.3f}  killed {counts.get('killed', 0)}  "
      f"timeout {counts.get('timeout', 0)}  survived {counts.get('survived', 0)}  "
      f"no-tests {counts.get('no tests', 0)}" + (f"  other {other}" if other else "")
      + f"  ({secs} s)")
EOF
)
  echo "$line"
  echo "   survivors: $work/$name-survivors.txt"
  summary+=("$line")
done
echo
echo "mutmut $("$PY" -c "import importlib.metadata as m; print(m.version('mutmut'))"), $(date -u +%Y-%m-%d), $(nproc) cores, JOBS=$JOBS"
printf '%s\n' "${summary[@]}"
