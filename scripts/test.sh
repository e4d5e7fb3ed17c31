#!/usr/bin/env bash
# Set up everything (bash scripts/setup.sh --dev), check the import contracts, run all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export QT_QPA_PLATFORM=offscreen
.venv/bin/lint-imports
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
