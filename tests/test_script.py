"""From a notebook session to a script: `ktnb.export_script` writes train.py and train.yaml, which
run unchanged in two processes under torchrun, and whose saved predictor and checkpoints come back
in a notebook."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

import ktnb
from conftest import one_line, sentiment_texts


@pytest.fixture(scope="module")
def session(tiny_model_dir):
    texts, labels = sentiment_texts(320, seed=2)
    frame = pd.DataFrame({"text": texts, "label": labels})
    config = {"data": frame, "model": str(tiny_model_dir), "lr": 3e-3, "epochs": 6, "batch_size": 8, "seed": 0,
              "val_frac": 0.25}
    return ktnb.run_workflow(config, progress=False)


def test_an_exported_script_trains_in_two_processes_and_comes_back_in_the_notebook(session, tmp_path):
    script = ktnb.export_script(session, tmp_path / "reviews" / "train.py")
    text = script.read_text()
    assert len(text.splitlines()) <= 20 and "torchrun --nproc_per_node N train.py" in text
    assert "accelerate launch --num_processes N train.py" in text and "--main_process_ip" in text
    settings = (tmp_path / "reviews" / "train.yaml").read_text()
    assert "data: reviews-train.csv" in settings and "val: reviews-val.csv" in settings
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("saved the predictor to") == 1  # the main process alone says it, and saves
    predictor = ktnb.load_predictor(tmp_path / "reviews" / "reviews-model")
    val = session.data.val
    truth = [session.learner.class_names[label] for label in val.labels]
    accuracy = sum(p == t for p, t in zip(predictor.predict(list(val.texts)), truth)) / len(truth)
    assert accuracy == pytest.approx(session.report.accuracy, abs=0.05)
    with pytest.warns(ktnb.KtnbWarning, match="had ended"):
        resumed = ktnb.resume(tmp_path / "reviews" / "runs" / "reviews", progress=False)
    assert resumed.epochs_done == 6 and resumed.steps_done == session.learner.steps_done


def test_a_config_file_runs_in_one_process_with_paths_beside_it_and_runs_again(tiny_model_dir, tmp_path, capsys):
    texts, labels = sentiment_texts(160, seed=5)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "run.yaml").write_text(f"data: train.csv\nmodel: {tiny_model_dir}\nlr: 0.003\nepochs: 2\n"
                                       "batch_size: 8\nsave: model\ncheckpoint_dir: runs/job\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cwd = os.getcwd()
    try:
        os.chdir(elsewhere)
        trained = ktnb.train(tmp_path / "run.yaml", progress=False)
        again = ktnb.train(tmp_path / "run.yaml", progress=False)  # the script run again: a new run
    finally:
        os.chdir(cwd)
    assert trained.saved_to == str(tmp_path / "model") and (tmp_path / "model" / "config.json").is_file()
    assert "a new run: its first checkpoint replaces the finished run's in" in capsys.readouterr().out
    assert again.learner.steps_done == trained.learner.steps_done and again.learner.run_id != trained.learner.run_id
    # another job's run there (other rows) is never replaced
    pd.DataFrame({"text": texts[:100], "label": labels[:100]}).to_csv(tmp_path / "other.csv", index=False)
    (tmp_path / "other.yaml").write_text((tmp_path / "run.yaml").read_text().replace("train.csv", "other.csv"))
    assert "holds the checkpoint of a run on other data" in one_line(
        ktnb.KtnbError, lambda: ktnb.train(tmp_path / "other.yaml", progress=False))


def test_a_script_run_again_after_a_lost_run_resumes_it(tiny_model_dir, tmp_path, capsys):
    texts, labels = sentiment_texts(160, seed=5)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "run.yaml").write_text(f"data: train.csv\nmodel: {tiny_model_dir}\nlr: 0.003\nepochs: 2\n"
                                       "batch_size: 8\ncheckpoint_dir: runs/job\n")
    from ktnb.script import read_config
    from ktnb.workflow import read_workflow_data, start_session

    config, data = read_workflow_data(read_config(tmp_path / "run.yaml"))
    lost = start_session(config, data, progress=False).learner  # the run the machine lost after epoch 1
    lost.fit(0.003, 2, callbacks=[lambda e: e.name == "epoch_end" and e.learner.request_stop()])
    assert lost.epochs_done == 1
    (tmp_path / "changed.yaml").write_text((tmp_path / "run.yaml").read_text().replace("lr: 0.003", "lr: 0.001"))
    assert "holds an unfinished run of this job with lr 0.003" in one_line(
        ktnb.KtnbError, lambda: ktnb.train(tmp_path / "changed.yaml", progress=False))
    resumed = ktnb.train(tmp_path / "run.yaml", progress=False)
    assert "resuming the run checkpointed in" in capsys.readouterr().out
    assert resumed.learner.epochs_done == 2 and resumed.learner.run_id == lost.run_id


def test_bad_exports_are_one_line(session, tmp_path):
    assert "must end in .py" in one_line(ktnb.KtnbError, lambda: ktnb.export_script(session, tmp_path / "train.txt"))
    assert "no config file" in one_line(ktnb.KtnbError, lambda: ktnb.train(tmp_path / "missing.yaml"))
    (tmp_path / "bad.yaml").write_text("- a list\n")
    assert "key: value lines" in one_line(ktnb.KtnbError, lambda: ktnb.train(tmp_path / "bad.yaml"))
    assert "config dict" in one_line(ktnb.KtnbError, lambda: ktnb.export_script(42, tmp_path / "t.py"))
    inside = {**session.config, "checkpoint_dir": str(tmp_path / "runs")}
    assert "would be written inside checkpoint_dir" in one_line(
        ktnb.KtnbError, lambda: ktnb.export_script(inside, tmp_path / "runs" / "job" / "train.py"))


def test_ktrain_export_writes_the_last_sessions_script(session, monkeypatch, tmp_path, capsys):
    from IPython.core.error import UsageError
    from IPython.testing import globalipapp

    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "ktnb")
    shell.user_ns["exported"] = session
    shell.run_line_magic("ktrain", f"-s exported export {tmp_path / 'job' / 'train.py'}")
    assert "torchrun --nproc_per_node 2" in capsys.readouterr().out
    assert (tmp_path / "job" / "train.yaml").is_file() and (tmp_path / "job" / "job-train.csv").is_file()
    with pytest.raises(UsageError, match="usage: %ktrain export FILE.py"):
        shell.run_line_magic("ktrain", "-s exported export")


def test_a_process_killed_mid_run_ends_the_script_with_ktnbs_one_line(tiny_model_dir, tmp_path):
    from pathlib import Path

    texts, labels = sentiment_texts(160, seed=5)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "run.yaml").write_text(f"data: train.csv\nmodel: {tiny_model_dir}\nlr: 0.003\nepochs: 2\n"
                                       "batch_size: 8\n")
    script = Path(__file__).parent / "scripts" / "ddp_die.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "KTNB_PROCESS_TIMEOUT": "30"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script), str(tmp_path / "run.yaml")], capture_output=True, text=True, timeout=120,
                          env=env)
    assert done.returncode != 0
    # the survivor says it in one line, whether it noticed the lost peer first or torchrun stopped it
    # (torchrun then reports the dead process its own way)
    lines = [line for line in done.stderr.splitlines() if line.startswith("ktnb: ")]
    assert lines and ("a process of this run failed or was lost" in lines[0] or "was stopped (SIGTERM)" in lines[0]), \
        done.stderr[-2000:]


def test_a_config_trains_under_ray_trains_torchtrainer(tiny_model_dir, tmp_path):
    """ktnb[ray]: the same config in Ray Train's TorchTrainer, on a local 2-worker CPU cluster."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.train")
    from ktnb.script import ray_train

    texts, labels = sentiment_texts(160, seed=5)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "run.yaml").write_text(f"data: train.csv\nmodel: {tiny_model_dir}\nlr: 0.003\nepochs: 2\n"
                                       "batch_size: 8\nsave: model\n")
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    try:
        result = ray_train(tmp_path / "run.yaml", num_workers=2, storage_path=tmp_path / "ray")
    finally:
        ray.shutdown()
    assert result.error is None
    predictor = ktnb.load_predictor(tmp_path / "model")
    assert predictor.predict("a superb film") in ("pos", "neg")
