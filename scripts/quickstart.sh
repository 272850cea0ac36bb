#!/usr/bin/env bash
# Set up, then fine-tune the default MiniLM on 2,000 SST-2 rows: metrics, predictor, HTML report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
.venv/bin/python -m ktnb.quickstart --out quickstart-out "$@"
