#!/usr/bin/env bash
# Set up, then run the whole test suite: tiny-model unit tests, the real-MiniLM tests, the
# notebooks (executed), and the workshop path in JupyterLab + Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-browser.sh
source scripts/env.sh
.venv/bin/python -m pytest -q -rs --durations=25 tests --doctest-modules ktnb "$@"
