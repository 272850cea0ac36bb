"""The same learner, unchanged, trains data-parallel in two processes (torchrun, gloo, CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "scripts" / "ddp_fit.py"


def test_two_process_data_parallel_fit(tiny_model_dir, tiny_llama_dir, tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
           str(SCRIPT), str(tiny_model_dir), str(tmp_path), str(tiny_llama_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = sorted((json.loads(path.read_text()) for path in tmp_path.glob("rank*.json")),
                     key=lambda r: r["rank"])
    assert [r["rank"] for r in reports] == [0, 1]
    assert all(r["world"] == 2 and r["distributed"] == "MULTI_CPU" for r in reports)
    # each process reads its half of each of the 48 global batches of 8 per epoch (the steps of one
    # process), and the replicas stay identical
    assert all(r["batches_per_epoch"] == 48 and r["batches_seen"] == 4 * 48 for r in reports)
    assert reports[0]["param"] == pytest.approx(reports[1]["param"])
    # token-weighted accumulation: each process's batches score other numbers of tokens, and the
    # replicas still take the same step (the window's weight is summed over the processes)
    assert reports[0]["lm_param"] == pytest.approx(reports[1]["lm_param"], abs=1e-7)
    assert all(r["accuracy"] >= 0.9 for r in reports)
