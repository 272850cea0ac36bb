#!/usr/bin/env bash
# Set up, then run the whole test suite (tiny-model unit tests and the real-MiniLM tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
.venv/bin/python -m pytest -q -rs tests --doctest-modules ktnb "$@"
