#!/usr/bin/env bash
# Set up .venv with ktnb and everything its tests need. Safe to run again (fast when done).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip() { .venv/bin/python -m pip "$@" 2> >(grep -v "^WARNING: Location" >&2); }
pip install -q --upgrade pip
# torch first and pinned: the CPU wheel. Unpinned, pip would resolve a multi-GB CUDA build.
pip install -q "torch==2.13.0"
pip install -q -e ".[test]"
