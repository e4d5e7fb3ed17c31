#!/usr/bin/env bash
# Build the installable desktop app: dist/spa2v-studio/ (a folder app) and
# dist/spa2v-studio-linux-x86_64.tar.gz with an install.sh inside.
#   bash packaging/build.sh            # uses .venv (SPA2V_VENV to choose another)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${SPA2V_VENV:-.venv}
PY="$VENV/bin/python"
"$PY" -c 'import PySide6, sounddevice' 2>/dev/null || "$PY" -m pip install -q -e ".[gui]"
"$PY" -c 'import PyInstaller' 2>/dev/null || "$PY" -m pip install -q -e ".[packaging]"
"$PY" -m PyInstaller packaging/spa2v-studio.spec --noconfirm --clean \
  --distpath dist --workpath build/pyinstaller
APP=dist/spa2v-studio
cp packaging/spa2v-studio.desktop packaging/spa2v-studio.png resources/spa2v-studio.svg \
   packaging/spa2v-project.xml packaging/install.sh "$APP/"
# Smoke test of the frozen app: import, plan and render the bundled example, offscreen.
SPA2V_DATA_DIR=$(mktemp -d) SPA2V_CONFIG_DIR=$(mktemp -d) QT_QPA_PLATFORM=offscreen \
  "$APP/spa2v-studio" --smoke resources/examples/truck_right_to_left.flac
ARCH=$(uname -m)
tar -C dist -czf "dist/spa2v-studio-linux-$ARCH.tar.gz" spa2v-studio
du -sh "$APP" "dist/spa2v-studio-linux-$ARCH.tar.gz"
echo "built: $APP/spa2v-studio (install: tar xzf the archive, then spa2v-studio/install.sh)"
