"""Checkpoints and resume: a run killed with SIGKILL mid-epoch carries on in a new process to
the same end; a kill while a checkpoint is written leaves the last good one; a stopped run
resumed in the same process ends exactly where an uninterrupted one does; autofit's rules
keep their patience; out of GPU memory, batches are split and training goes on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

import ktnb
from ktnb.storage import PARTIAL_SUFFIX

from conftest import sentiment_texts

SCRIPT = Path(__file__).parent / "scripts" / "checkpointed_fit.py"


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> Path:
    texts, labels = sentiment_texts(320, seed=1)
    path = tmp_path_factory.mktemp("reviews") / "reviews.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def _script(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SCRIPT), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _position(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "ktnb.json").read_text())["position"]
    except (OSError, ValueError, KeyError):
        return None


def test_a_run_killed_mid_epoch_resumes_in_a_new_process_to_the_same_end(reviews, tiny_model_dir, tmp_path):
    whole = _script("train", reviews, tiny_model_dir, tmp_path / "whole", tmp_path / "whole.json")
    killed = _script("train", reviews, tiny_model_dir, tmp_path / "killed", tmp_path / "never.json", 0.05)
    deadline = time.time() + 180
    while True:  # wait for a checkpoint written in the middle of the second epoch, then kill
        position = _position(tmp_path / "killed")
        if position is not None and position["epoch"] == 1 and position["batch"] > 0:
            break
        assert killed.poll() is None and time.time() < deadline, killed.communicate()[1][-2000:]
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait(30)
    assert killed.returncode == -9 and not (tmp_path / "never.json").exists()
    resumed = subprocess.run([sys.executable, str(SCRIPT), "resume", tmp_path / "killed", tmp_path / "resumed.json"],
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert whole.wait(240) == 0, whole.communicate()[1][-2000:]
    a, b = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("whole", "resumed"))
    assert b["steps"] == a["steps"] == 4 * 18 and b["epochs"] == a["epochs"] == 4
    assert b["history_steps"] == a["history_steps"]  # one history row per batch, none lost or repeated
    assert abs(b["accuracy"] - a["accuracy"]) <= 0.05, (a, b)
    assert json.loads((tmp_path / "killed" / "ktnb.json").read_text())["ended"] == "finished"


def test_a_kill_while_a_checkpoint_is_written_leaves_the_last_good_one(reviews, tiny_model_dir, tmp_path):
    folder = tmp_path / "run"
    learner = ktnb.text_learner(str(reviews), str(tiny_model_dir), batch_size=16, progress=False, seed=0,
                                checkpoint_dir=folder)
    learner.fit(3e-3, 1)
    for delay in (0.3, 0.7, 1.1, 1.6):
        child = _script("save-loop", folder)
        time.sleep(delay)  # somewhere in loading, or in one of the rewrites
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        assert set(os.listdir(tmp_path)) <= {"run", ".run" + PARTIAL_SUFFIX}
        again = ktnb.load_learner(folder)
        assert again.epochs_done == 1 and again.steps_done == learner.steps_done
        assert all(torch.equal(a, b) for a, b in zip(again.model.state_dict().values(),
                                                     learner.model.state_dict().values()))


@pytest.mark.parametrize("every, stop_at", [(5, 27), (None, 24)], ids=["mid-epoch", "epoch-end"])
def test_a_stopped_run_resumed_ends_exactly_where_an_uninterrupted_one_does(reviews, tiny_model_dir, tmp_path, every,
                                                                          stop_at):
    def build(folder):
        return ktnb.text_learner(str(reviews), str(tiny_model_dir), batch_size=16, progress=False, seed=0,
                                 checkpoint_dir=folder, checkpoint_every=every)

    whole = build(tmp_path / "whole")
    whole.fit(3e-3, 3, restore_best=True)
    stopped = build(tmp_path / "stopped")
    stopper = lambda event: event.name == "batch_end" and event.step == stop_at and event.learner.request_stop()  # noqa: E731
    stopped.fit(3e-3, 3, restore_best=True, callbacks=[stopper])
    assert stopped.stop_reason == "stopped" and stopped.position.step == stop_at
    stopped.resume()  # from the checkpoint at step 25 (or the end of epoch 1, step 18), in this process
    assert stopped.steps_done == whole.steps_done == 54 and stopped.epochs_done == 3
    assert [row["step"] for row in stopped.history.steps] == list(range(1, 55))
    for a, b in zip(stopped.model.state_dict().values(), whole.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)
    assert stopped.best == whole.best
    with pytest.warns(ktnb.KtnbWarning, match="had ended .finished, after epoch 3.: its weights are loaded and "
                                               "there is nothing left to train"):
        stopped.resume()
    assert stopped.steps_done == 54


def test_autofit_resumes_with_its_rules_where_they_were(reviews, tiny_model_dir, tmp_path):
    learner = ktnb.text_learner(str(reviews), str(tiny_model_dir), batch_size=16, progress=False, seed=0,
                                checkpoint_dir=tmp_path / "auto")
    stop_after_2 = lambda event: event.name == "epoch_end" and event.epoch == 1 and event.learner.request_stop()  # noqa: E731
    learner.autofit(3e-3, 6, patience=2, callbacks=[stop_after_2])
    waited = [rule.state_dict() for rule in learner.run_state.rules]
    again = ktnb.load_learner(tmp_path / "auto")
    assert again.plan.autofit["patience"] == 2 and [r.state_dict() for r in again.run_state.rules] == waited
    again.resume()
    assert again.epochs_done > 2 and again.stop_reason in ("finished", "early_stopping")


def test_data_from_a_python_object_must_be_given_again(tiny_model_dir, sentiment_data, tmp_path):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False,
                                   checkpoint_dir=tmp_path / "run")
    learner.fit(3e-3, 1)
    with pytest.raises(ktnb.TrainingError) as caught:
        ktnb.load_learner(tmp_path / "run")
    assert str(caught.value).startswith("the run in ")
    assert str(caught.value).endswith(" was trained on data from a Python object, which a new process cannot read "
                                      "again; pass it: ktnb.resume(folder, data=...)")
    assert ktnb.load_learner(tmp_path / "run", data=sentiment_data).epochs_done == 1
    with pytest.raises(ktnb.ModelError) as caught:
        ktnb.load_learner(learner.predictor().save(tmp_path / "predictor"))
    assert str(caught.value).endswith(" is a saved predictor, not a training checkpoint; load it with "
                                      "ktnb.load_predictor")
    with pytest.raises(ktnb.TrainingError, match="resume needs a checkpoint folder"):
        ktnb.text_classifier(sentiment_data, str(tiny_model_dir), progress=False).resume()


def test_a_checkpoint_folder_is_also_a_predictor(reviews, tiny_model_dir, tmp_path):
    learner = ktnb.text_learner(str(reviews), str(tiny_model_dir), batch_size=16, progress=False,
                                checkpoint_dir=tmp_path / "run")
    learner.fit(3e-3, 2)
    texts = ["a wonderful film", "a dull mess"]
    assert ktnb.load_predictor(tmp_path / "run").predict(texts) == learner.predictor().predict(texts)


def _run_out_of_memory_above(learner, rows: int) -> None:
    """Make the model raise CUDA's out-of-memory error for training passes of more than `rows`
    examples (evaluation, with no gradients to keep, fits)."""
    real = learner.model.forward

    def forward(*args, **kwargs):
        if learner.model.training and kwargs["input_ids"].shape[0] > rows:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(*args, **kwargs)

    learner.model.forward = forward


def _no_dropout(learner):
    """Dropout draws other masks for smaller passes; without it, split batches give the same gradient."""
    for module in learner.model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return learner


def test_out_of_memory_splits_batches_and_training_goes_on_the_same(tiny_model_dir, sentiment_data):
    plain = _no_dropout(ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False,
                                             seed=0))
    plain.fit(3e-3, 1)
    tight = _no_dropout(ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False,
                                             seed=0))
    _run_out_of_memory_above(tight, 4)
    with pytest.warns(ktnb.KtnbWarning) as caught:
        tight.fit(3e-3, 1)
    said = [str(w.message) for w in caught if "out of GPU memory" in str(w.message)]
    assert said == ["out of GPU memory with 16 examples per pass: going on with 8 per pass and 2x gradient "
                    "accumulation (still batch_size 16 per optimizer step)",
                    "out of GPU memory with 8 examples per pass: going on with 4 per pass and 4x gradient "
                    "accumulation (still batch_size 16 per optimizer step)"]
    assert tight.micro_batches == 4 and tight.steps_done == plain.steps_done
    for a, b in zip(tight.model.parameters(), plain.model.parameters()):
        assert torch.allclose(a, b, atol=1e-4)
    tight.lr_find(max_batches=12)  # the LR finder goes through the same step


def test_out_of_memory_with_one_example_per_pass_names_max_len(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=4, progress=False)
    _run_out_of_memory_above(learner, 0)
    with pytest.raises(ktnb.TrainingError) as caught, pytest.warns(ktnb.KtnbWarning):
        learner.fit(3e-3, 1)
    assert str(caught.value) == (f"out of GPU memory with one example per pass at max_len {learner.max_len}: use a "
                                 f"shorter max_len (e.g. max_len={max(8, learner.max_len // 2)}) or a smaller model")
    assert learner.predictor().predict(["a good film"]) in (["neg"], ["pos"])  # the learner is still usable


def test_a_cell_checkpoints_and_a_new_kernel_resumes_with_one_line(reviews, tiny_model_dir, tmp_path):
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.run_line_magic("load_ext", "ktnb")
    ip.user_ns.update(reviews=str(reviews), tiny=str(tiny_model_dir), ckpt=str(tmp_path / "run"))
    stop_in_epoch_2 = lambda event: event.name == "batch_end" and event.step == 22 and event.learner.request_stop()  # noqa: E731
    from ktnb.jupyter import magics

    cell = ('data: "{reviews}"\nmodel: "{tiny}"\nbatch_size: 16\nlr: 3e-3\nepochs: 3\ncheckpoint_dir: "{ckpt}"\n'
            "checkpoint_every: 10\n")
    real_run = magics.KtnbMagics._run_cell

    def run_with_a_stop(self, args, body):  # as if the runtime died in epoch 2
        from ktnb import workflow

        real_workflow = workflow.run_workflow
        workflow.run_workflow = lambda config, **kw: real_workflow(config, **{**kw, "callbacks": [stop_in_epoch_2]})
        try:
            return real_run(self, args, body)
        finally:
            workflow.run_workflow = real_workflow

    magics.KtnbMagics._run_cell = run_with_a_stop
    try:
        ip.run_cell_magic("ktrain", "-o first -q", cell)
    finally:
        magics.KtnbMagics._run_cell = real_run
    assert ip.user_ns["first"].learner.stop_reason == "stopped"
    assert json.loads((tmp_path / "run" / "ktnb.json").read_text())["position"]["step"] == 20
    for magic in list(ip.magics_manager.registry.values()):  # a new kernel: no sessions known
        if isinstance(magic, magics.KtnbMagics):
            magic.sessions.clear()
            magic.last = None
    ip.run_line_magic("ktrain", f"resume {tmp_path / 'run'} -s again -q")
    again = ip.user_ns["again"]
    assert again.learner.steps_done == 54 and again.learner.epochs_done == 3 and again.report is not None
    with pytest.raises(Exception, match="usage: %ktrain resume DIR"):
        ip.run_line_magic("ktrain", "resume")
    with pytest.raises(Exception, match="checkpoint_every: 0 is not allowed; expected a whole number"):
        ip.run_cell_magic("ktrain", "-o bad -q", 'data: "{reviews}"\ncheckpoint_every: 0')


def test_the_panel_has_a_checkpoint_folder_and_a_resume_button(reviews, tiny_model_dir, tmp_path):
    from ktnb.jupyter.panel import Panel

    panel = Panel(data=str(reviews), model=str(tiny_model_dir))
    panel.batch_size.value = 16
    panel.checkpoint_dir.value = str(tmp_path / "run")
    panel.load_button.click()
    assert panel.learner.checkpoint_dir == str(tmp_path / "run") and panel.resume_button.disabled
    stop_at = lambda event: event.name == "batch_end" and event.step == 24 and event.learner.request_stop()  # noqa: E731
    panel.learner.fit(3e-3, 2, callbacks=[stop_at])  # stopped in epoch 2: the checkpoint is epoch 1's end
    panel._sync()
    assert not panel.resume_button.disabled
    panel.resume_button.click()
    panel.wait(120)
    assert panel.learner.steps_done == 36 and "training" in panel.train_status.value
    assert panel.learner.history.epochs[-1]["epoch"] == 2
