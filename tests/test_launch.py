"""Training in several processes from a notebook (`ktnb.launch`, `%ktrain launch N`): the main
process's progress shown once, a stop from the notebook reaching every process, the learner back
in the kernel, and a process that dies said in one line."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pandas as pd
import pytest

import ktnb
from conftest import one_line, sentiment_texts


def _config(model_dir, folder=None):
    texts, labels = sentiment_texts(320, seed=2)
    return {"data": pd.DataFrame({"text": texts, "label": labels}), "model": str(model_dir), "lr": 3e-3,
            "epochs": 4, "batch_size": 8, "seed": 0, "val_frac": 0.25, "predict": ["a superb film"],
            **({"checkpoint_dir": str(folder)} if folder else {})}


class Recorder:
    """What the notebook's progress view hears."""

    def __init__(self, interrupt_at: int | None = None):
        self.events, self.interrupt_at = [], interrupt_at

    def __call__(self, event):
        self.events.append((event.name, event.batch, event.step))
        if event.name == "batch_end" and event.batch == self.interrupt_at:
            raise KeyboardInterrupt  # what Ctrl-C (Jupyter's interrupt) does in the kernel


def test_a_config_trains_in_two_processes_and_its_learner_comes_back(tiny_model_dir, tmp_path):
    heard = Recorder()
    clf = ktnb.launch(_config(tiny_model_dir, tmp_path / "run"), num_processes=2, callbacks=[heard])
    # one stream of events, the main process's: each of the 4 epochs' 30 global batches once
    assert sum(name == "batch_end" for name, *_ in heard.events) == 4 * 30
    assert [name for name, *_ in heard.events].count("epoch_end") == 4
    assert ktnb.checkpoints.read_checkpoint(tmp_path / "run")["world_size"] == 2
    # back in the kernel: the rest of the cell ran on it, and it evaluates and predicts here
    assert clf.report is not None and clf.report.accuracy >= 0.9 and clf.predictions
    assert clf.learner.evaluate().accuracy == clf.report.accuracy and clf.learner.steps_done == 4 * 30
    assert clf.learner.predictor().predict("a superb film") in ("pos", "neg")
    # launched again (the cell run again): the finished run of the same job is replaced, not refused
    again = ktnb.launch(_config(tiny_model_dir, tmp_path / "run"), num_processes=2, progress=False)
    assert again.learner.run_id != clf.learner.run_id
    assert ktnb.checkpoints.read_checkpoint(tmp_path / "run")["run_id"] == again.learner.run_id


def test_an_interrupt_in_the_notebook_stops_every_process_at_one_batch(tiny_model_dir):
    heard = Recorder(interrupt_at=5)
    clf = ktnb.launch(_config(tiny_model_dir), num_processes=2, callbacks=[heard])
    batches = [batch for name, batch, _ in heard.events if name == "batch_end"]
    assert 6 <= len(batches) < 30  # stopped within the first epoch, a batch or two after the interrupt
    assert clf.learner.stop_reason == "interrupted" and "fit" not in clf.skipped and "report" in clf.skipped
    assert clf.learner.evaluate().accuracy >= 0  # the learner is usable in the kernel


def _dies_in_process_1():
    texts, labels = sentiment_texts(160, seed=3)
    learner = ktnb.text_classifier(ktnb.texts_from_array(texts, labels, val_frac=0.2), os.environ["KTNB_TINY"],
                                   batch_size=8, progress=False)

    def die(event):
        if event.name == "batch_end" and event.batch == 2 and learner.accelerator.process_index == 1:
            os.kill(os.getpid(), signal.SIGKILL)

    learner.fit(1e-3, 1, callbacks=[die])
    return learner


def test_a_process_that_dies_ends_the_launch_with_one_line(tiny_model_dir, tiny_learner, monkeypatch):
    monkeypatch.setenv("KTNB_TINY", str(tiny_model_dir))
    monkeypatch.delenv("TOKENIZERS_PARALLELISM", raising=False)
    message = one_line(ktnb.TrainingError, lambda: ktnb.launch(_dies_in_process_1, 2, progress=False))
    # the kernel is as it was: its learners still work, its environment is unchanged
    assert tiny_learner.evaluate().accuracy >= 0 and "TOKENIZERS_PARALLELISM" not in os.environ
    # process 0 lost its peer; the line names the one that died
    assert message.startswith("process 1 of 2 failed (killed by signal 9") or \
        message.startswith("process 1 of 2 failed (it ended without an error"), message


def test_the_process_killed_is_named_not_the_one_that_lost_it(tmp_path):
    from types import SimpleNamespace

    from ktnb.launch import _failure

    lost = SimpleNamespace(failures={0: SimpleNamespace(exitcode=1), 1: SimpleNamespace(exitcode=-9)})
    assert str(_failure(lost, tmp_path, 2)).startswith("process 1 of 2 failed (killed by signal 9)")
    (tmp_path / "error-rank0.txt").write_text("RuntimeError: [gloo] Connection closed by peer [127.0.0.1]:1")
    only_zero = SimpleNamespace(failures={0: SimpleNamespace(exitcode=1)})  # the agent saw process 0 end first
    assert str(_failure(only_zero, tmp_path, 2)).startswith("process 1 of 2 failed (it ended without an error")


def test_a_launch_whose_processes_never_started_says_why(tmp_path):
    from ktnb.launch import _failure

    message = str(_failure(RuntimeError("The server socket has failed to listen on port 29500\nmore"), tmp_path, 2))
    assert message == "the processes could not start: RuntimeError: The server socket has failed to listen on port 29500"


def test_launch_refuses_what_it_cannot_run(tiny_model_dir, tiny_learner):
    assert "build it inside the function" in one_line(
        ktnb.TrainingError, lambda: ktnb.launch(lambda learner: learner, 2, args=(tiny_learner,)))
    assert "a %%ktrain config (a dict) or a function" in one_line(ktnb.TrainingError, lambda: ktnb.launch(42, 2))


def test_ktrain_launch_trains_the_last_cell_in_two_processes(tiny_model_dir, monkeypatch, capsys):
    from IPython.core.error import UsageError
    from IPython.testing import globalipapp

    from ktnb.jupyter import magics

    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "ktnb")
    shown = []
    monkeypatch.setattr(magics, "show", shown.append)
    shell.user_ns["cfg"] = _config(tiny_model_dir)["data"]
    # the cell itself trained in 2 processes (the kernel trains nothing: on GPUs it can launch again)
    shell.run_cell_magic("ktrain", "-o launched -q -l 2", f"data: cfg\nmodel: {tiny_model_dir}\nlr: 0.003\n"
                                                            "epochs: 1\nbatch_size: 8\nval_frac: 0.25")
    assert "(trained in 2 processes)" in capsys.readouterr().out
    assert shell.user_ns["launched"].learner.steps_done == 30 and shell.user_ns["launched"].report is not None
    shell.run_line_magic("ktrain", "-s launched launch 2")  # the last cell again, in 2 processes
    assert "(trained in 2 processes)" in capsys.readouterr().out
    session = shell.user_ns["launched"]
    assert session.learner.steps_done == 30 and session.report is not None
    with pytest.raises(UsageError, match="N must be a whole number"):
        shell.run_line_magic("ktrain", "-s launched launch two")


def test_jupyters_interrupt_stops_a_launch_in_a_real_kernel(tiny_model_dir, tmp_path):
    """The notebook's interrupt button (SIGINT to the kernel's process group, which the launched
    processes share): every process stops at one batch, the kernel gets the learner back."""
    import time

    from jupyter_client.manager import start_new_kernel

    started = tmp_path / "started"
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        client.execute_interactive(f"""
import sys, pathlib
sys.path.insert(0, {str(Path(__file__).parent)!r})
import ktnb
from test_launch import _config
config = {{**_config({str(tiny_model_dir)!r}), "epochs": 40}}
def mark(event):
    if event.name == "batch_end" and event.step == 3:
        pathlib.Path({str(started)!r}).write_text("3")
""", timeout=60)
        message = client.execute("clf = ktnb.launch(config, 2, callbacks=[mark])")
        deadline = time.time() + 120
        while not started.exists() and time.time() < deadline:
            time.sleep(0.2)
        assert started.exists(), "the launch never reached its third batch"
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=120)
        assert reply["parent_header"]["msg_id"] == message and reply["content"]["status"] == "ok", reply["content"]
        seen = []
        client.execute_interactive("print(clf.learner.stop_reason, clf.learner.steps_done, clf.skipped)",
                                   output_hook=lambda msg: seen.append(msg["content"].get("text", "")), timeout=60)
        reason, steps, *_ = "".join(seen).split(maxsplit=2)
        assert reason == "interrupted" and 3 <= int(steps) < 40 * 30, seen
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
