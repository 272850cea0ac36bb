"""The same learner, unchanged, trains data-parallel in two processes (torchrun, gloo, CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import ktnb
from ktnb.checkpoints import read_checkpoint
from conftest import sentiment_texts

SCRIPT = Path(__file__).parent / "scripts" / "ddp_fit.py"


@pytest.fixture(scope="module")
def two_process_run(tiny_model_dir, tiny_llama_dir, tiny_t5_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
           str(SCRIPT), str(tiny_model_dir), str(out), str(tiny_llama_dir), str(tiny_t5_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = sorted((json.loads(path.read_text()) for path in out.glob("rank*.json")), key=lambda r: r["rank"])
    return out, reports, done.stdout + done.stderr


def test_two_process_data_parallel_fit(two_process_run):
    _, reports, _ = two_process_run
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


def test_processes_agree_on_the_loss_a_stop_and_the_lr_sweep(two_process_run):
    _, (first, second), _ = two_process_run
    # the history holds the global batch's loss, the same in both processes
    assert len(first["losses"]) == 4 * 48 and first["losses"] == pytest.approx(second["losses"], rel=1e-9)
    # process 1 alone asked to stop after its 5th batch: both stopped at the next agreement, the
    # 6th batch's (the request came after the 5th's), for that reason
    assert first["stop_reason"] == second["stop_reason"] == "stopped"
    assert first["stopped_after"] == second["stopped_after"] == 6
    # the sweep diverged at the same batch in both (a stop decided in one would hang the other)
    assert first["sweep_diverged"] and second["sweep_diverged"]
    assert first["sweep_lrs"] == second["sweep_lrs"] and 10 <= len(first["sweep_lrs"]) < 40


def test_the_main_process_alone_draws_progress_and_writes_checkpoints(two_process_run):
    out, _, printed = two_process_run
    # the epoch lines under the bar, once (two processes drawing would print each twice)
    lines = printed.replace("\r", "\n").splitlines()
    assert [line[:9] for line in lines if line.startswith("epoch ")] == [f"epoch {e}/4" for e in range(1, 5)]
    assert any(line.startswith("lr_find · cpu") for line in lines)
    meta = read_checkpoint(out / "run")  # verifies every file against the manifest
    # the 4-epoch run's, marked ended (the stopped run that followed wrote none in its 6 batches)
    assert meta["world_size"] == 2 and meta["ended"] == "finished"
    assert not any(p.name.startswith(".ktnb-partial") for p in out.rglob("*"))


def test_a_two_process_checkpoint_resumes_in_one_process(two_process_run):
    out, reports, _ = two_process_run
    texts, labels = sentiment_texts(480, seed=1)
    data = ktnb.texts_from_array(texts, labels, val_frac=0.2, seed=0)
    with pytest.warns(ktnb.KtnbWarning, match="checkpointed by 2 process"):
        learner = ktnb.resume(out / "mid", data=data, progress=False)
    assert learner.steps_done == 4 * 48 and learner.stop_reason == "finished"
    assert learner.evaluate().accuracy == pytest.approx(reports[0]["accuracy"], abs=0.03)


def _evaluated_alone(summary, other):
    assert set(summary) == set(other)
    for name, value in summary.items():
        assert value == pytest.approx(other[name], rel=1e-5, abs=1e-6), name


def test_evaluation_is_shared_among_the_processes_and_equals_one_process(two_process_run, tiny_model_dir,
                                                                          tiny_t5_dir):
    from test_seq2seq import reversed_pairs

    out, reports, _ = two_process_run
    for key in ("classifier", "qa", "translation"):
        shards = [(r["summary"], r["seen"], r["val_examples"]) if key == "classifier" else r[key] for r in reports]
        n = shards[0][2]
        seen = [s[1][0] for s in shards]  # the examples each process's model ran on
        assert sum(seen) == n and max(seen) - min(seen) <= 1, (key, seen)
        assert shards[0][0] == shards[1][0], key  # the gathered outputs: one report in both
    texts, labels = sentiment_texts(480, seed=1)
    data = ktnb.texts_from_array(texts, labels, val_frac=0.2, seed=0)
    # the weights of the 4-epoch run's last checkpoint, evaluated in this one process
    alone = ktnb.load_learner(out / "run", data=data, progress=False)
    _evaluated_alone(reports[0]["summary"], alone.evaluate().summary())
    qa_data = ktnb.get_task("qa", stride=16).load_data(out / "dev.json", out / "dev.json")
    qa = ktnb.text_learner(qa_data, str(tiny_model_dir), batch_size=16, max_len=48, progress=False, seed=0)
    _evaluated_alone(reports[0]["qa"][0], qa.evaluate().summary())
    sources, targets = reversed_pairs(40)
    translator = ktnb.text_learner(ktnb.get_task("translation").load_data((sources, targets), val_frac=0.5, seed=0),
                                   str(tiny_t5_dir), batch_size=8, progress=False, seed=0)
    _evaluated_alone(reports[0]["translation"][0], translator.evaluate().summary())
