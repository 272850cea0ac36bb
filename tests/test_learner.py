"""The training loop on a tiny BERT: it learns, it records, it stops cleanly, it never loses work."""

from __future__ import annotations

import signal
import threading

import numpy as np
import pytest
import torch
from conftest import sentiment_texts

import ktnb
from ktnb.events import EVENT_NAMES, Callback


def weights(learner) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in learner.model.state_dict().items()}


def same_weights(a, b) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_fit_learns_and_records_history(tiny_learner):
    history = tiny_learner.fit(3e-3, 4)
    report = tiny_learner.evaluate()
    assert report.accuracy >= 0.9
    assert len(history.epochs) == 4 and history["epoch"] == [1, 2, 3, 4] and history["run"] == [1, 1, 1, 1]
    batches = len(tiny_learner._train_dl)
    assert len(history.steps) == 4 * batches
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert set(history.epochs[0]) >= {"train_loss", "val_loss", "val_accuracy", "val_f1_macro", "lr", "seconds"}
    assert tiny_learner.best["epoch"] in range(1, 5)


def test_events_arrive_in_order_with_counts(tiny_learner):
    seen = []
    tiny_learner.fit(1e-3, 2, callbacks=[seen.append])
    names = [e.name for e in seen]
    batches = len(tiny_learner._train_dl)
    assert names[0] == "train_begin" and names[-1] == "train_end"
    assert names.count("batch_end") == 2 * batches and names.count("evaluate") == 2
    assert names.index("epoch_begin") < names.index("batch_end") < names.index("evaluate") < names.index("epoch_end")
    assert set(names) == set(EVENT_NAMES)
    last_batch = [e for e in seen if e.name == "batch_end"][-1]
    assert last_batch.step == last_batch.total_steps == 2 * batches and last_batch.epoch == 1
    assert seen[-1].reason == "finished" and "val_accuracy" in seen[-3].metrics


def test_schedule_onecycle_warms_up_then_anneals(tiny_learner):
    tiny_learner.fit(1e-3, 2, "onecycle")
    lrs = tiny_learner.history["lr"]
    peak = int(np.argmax(lrs))
    assert 0.15 < peak / len(lrs) < 0.35
    assert lrs[0] == pytest.approx(1e-3 / 25) and max(lrs) == pytest.approx(1e-3, rel=0.02) and lrs[-1] < 1e-5


@pytest.mark.parametrize("name", ["linear", "cosine", "constant"])
def test_other_schedules(tiny_learner, name):
    tiny_learner.fit(1e-3, 1, name)
    lrs = tiny_learner.history["lr"]
    if name == "constant":
        assert set(lrs) == {1e-3}
    else:
        assert lrs[0] < max(lrs) and lrs[-1] < 0.1 * max(lrs)


def test_unknown_schedule_and_bad_lr(tiny_learner):
    with pytest.raises(ktnb.TrainingError, match="unknown schedule 'triangle'; choose one of: onecycle"):
        tiny_learner.fit(1e-3, 1, "triangle")
    with pytest.raises(ktnb.TrainingError, match="lr must be a positive number, got .fast."):
        tiny_learner.fit("fast", 1)


def test_same_seed_same_run(tiny_model_dir, sentiment_data):
    runs = []
    for _ in range(2):
        learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False, seed=7)
        learner.fit(1e-3, 1)
        runs.append(learner.history["loss"])
    assert runs[0] == runs[1]


def test_gradient_accumulation_steps_the_optimizer_less_often(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=8, grad_accum=3,
                                   progress=False)
    seen = []
    learner.fit(1e-3, 1, callbacks=[seen.append])
    batches = len(learner._train_dl)
    assert seen[0].total_steps == -(-batches // 3)
    assert [e for e in seen if e.name == "batch_end"][-1].step == -(-batches // 3)


class StopAt(Callback):
    def __init__(self, epoch, batch, action):
        self.epoch, self.batch, self.action = epoch, batch, action

    def on_batch_end(self, event):
        if event.epoch == self.epoch and event.batch == self.batch:
            self.action(event.learner)


class KeepWeightsAtEpochEnd(Callback):
    def __init__(self):
        self.kept = {}

    def on_epoch_end(self, event):
        self.kept[event.learner.epochs_done] = weights(event.learner)  # by epoch number, from 1


def test_stop_request_from_another_thread_restores_this_runs_best_weights(tiny_learner):
    """A Stop button: the request comes from another thread while the loop runs."""
    tiny_learner.fit(3e-3, 4)
    ended, kept = [], KeepWeightsAtEpochEnd()

    def press_stop(learner):
        t = threading.Thread(target=learner.request_stop)
        t.start()
        t.join()

    tiny_learner.fit(1e-3, 3, callbacks=[StopAt(1, 3, press_stop), ended.append, kept])
    end = ended[-1]
    assert end.name == "train_end" and end.reason == "stopped" and end.epoch == 1
    assert tiny_learner.best["epoch"] == 5  # the only validated epoch of this run (the 5th overall)
    assert "training stopped: restored the best weights of this run (epoch 5, val_loss" in end.message
    assert same_weights(kept.kept[5], weights(tiny_learner))
    assert tiny_learner.evaluate().accuracy >= 0.9
    tiny_learner.fit(1e-3, 1)  # usable again
    assert tiny_learner.stop_reason == "finished"


def test_stop_pressed_while_a_run_is_being_set_up_stops_that_run(tiny_learner):
    tiny_learner.request_stop()  # e.g. Stop clicked right after Start, before the first batch
    tiny_learner.fit(1e-3, 3)
    assert tiny_learner.stop_reason == "stopped" and len(tiny_learner.history.steps) == 1
    tiny_learner.fit(1e-3, 1)  # the request was used up by that run
    assert tiny_learner.stop_reason == "finished"


def test_ctrl_c_ends_training_at_a_batch_boundary(tiny_learner):
    ended, before = [], signal.getsignal(signal.SIGINT)  # SIG_IGN where the tests run in the background
    tiny_learner.fit(3e-3, 3, callbacks=[StopAt(1, 2, lambda _: signal.raise_signal(signal.SIGINT)), ended.append])
    assert ended[-1].reason == "interrupted"
    assert len(tiny_learner.history.epochs) == 1  # epoch 2 was cut short, epoch 3 never began
    assert "training interrupted: restored the best weights of this run (epoch 1" in ended[-1].message
    assert signal.getsignal(signal.SIGINT) is before  # the handler the fit found is back
    assert tiny_learner.predictor().predict("a wonderful film") in ("neg", "pos")


def test_ctrl_c_before_any_validation_keeps_current_weights(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False)
    ended = []
    learner.fit(1e-3, 1, callbacks=[StopAt(0, 1, lambda _: signal.raise_signal(signal.SIGINT)), ended.append])
    assert ended[-1].reason == "interrupted"
    assert "no validated weights yet, the current weights are kept" in ended[-1].message


def test_crash_before_validation_restores_the_state_before_the_fit_and_reraises(tiny_learner):
    tiny_learner.fit(3e-3, 1)
    best = weights(tiny_learner)

    def crash(_):
        raise RuntimeError("CUDA out of memory (simulated)")

    ended = []
    with pytest.raises(RuntimeError, match="simulated"):
        tiny_learner.fit(1e-2, 2, callbacks=[StopAt(0, 4, crash), ended.append])
    assert ended[-1].reason == "error" and "RuntimeError" in ended[-1].message
    assert "the weights and optimizer from before this fit were restored" in ended[-1].message
    assert same_weights(best, weights(tiny_learner))
    tiny_learner.fit(1e-3, 1)


def test_crash_after_validation_restores_that_runs_best(tiny_learner):
    kept, ended = KeepWeightsAtEpochEnd(), []

    def crash(_):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        tiny_learner.fit(3e-3, 3, callbacks=[kept, StopAt(1, 4, crash), ended.append])
    assert "restored the best weights of this run (epoch 1" in ended[-1].message
    assert same_weights(kept.kept[1], weights(tiny_learner))


def test_autofit_stops_early_and_restores_best(tiny_learner):
    tiny_learner.autofit(3e-3, max_epochs=15, patience=2)
    epochs = tiny_learner.history.epochs
    assert len(epochs) < 15
    assert tiny_learner.stop_reason == "early_stopping"
    val_losses = [e["val_loss"] for e in epochs]
    assert tiny_learner.best["value"] == min(val_losses)
    assert tiny_learner.evaluate().loss == pytest.approx(min(val_losses), rel=1e-4)
    assert any(e["lr"] < 3e-3 for e in epochs)  # reduce-on-plateau lowered it at least once


def test_autofit_needs_validation_data(tiny_model_dir):
    texts = ["good film", "bad film"] * 20
    data = ktnb.texts_from_array(texts, ["p", "n"] * 20, val_frac=0)
    learner = ktnb.text_classifier(data, str(tiny_model_dir), progress=False)
    with pytest.raises(ktnb.TrainingError, match="autofit needs validation data"):
        learner.autofit(1e-3)


def test_lr_find_restores_model_and_suggests(tiny_learner):
    tiny_learner.fit(1e-3, 1)
    before = weights(tiny_learner)
    opt_before = tiny_learner._optimizer.state_dict()["state"][0]["exp_avg"].clone()
    result = tiny_learner.lr_find(max_batches=24)
    assert same_weights(before, weights(tiny_learner))
    assert torch.equal(opt_before, tiny_learner._optimizer.state_dict()["state"][0]["exp_avg"])
    assert 10 <= len(result.lrs) <= 24 and result.lrs == sorted(result.lrs)
    assert set(result.suggestions) == {"fine_tune", "minimum", "steepest", "valley"}
    assert result.suggested_by == "fine_tune" and result.lrs[0] <= result.suggestion <= result.lrs[-1]
    fig = result.plot()
    assert fig.axes[0].get_xscale() == "log"


def test_the_suggestion_follows_the_length_of_training(tiny_learner):
    from ktnb.lr_finder import BASE_LR, BASE_WIDTH, MAX_BOOST, MIN_STEPS

    result = tiny_learner.lr_find(max_batches=40, epochs=1)
    base = BASE_LR * BASE_WIDTH / 32  # the tiny BERT is 32 wide
    steps = tiny_learner.steps_per_epoch  # 24: shorter than MIN_STEPS, so the rate is raised
    assert result.base_lr == pytest.approx(base) and result.steps_per_epoch == steps == 24
    expected = base * min(MIN_STEPS / steps, MAX_BOOST)
    if result.blowup is not None:
        expected = min(expected, result.blowup / 10)
    assert result.suggestion == pytest.approx(expected)
    assert result.suggestion_for(5) == pytest.approx(min(base, result.blowup / 10 if result.blowup else base))
    assert result.suggestion_for(1) >= result.suggestion_for(2) >= result.suggestion_for(5)
    assert tiny_learner.auto_epochs() == 5  # ceil(100 / 24)


def test_the_suggestion_stays_below_where_the_loss_blew_up(tiny_learner):
    result = tiny_learner.lr_find(start_lr=1e-4, end_lr=1e4, max_batches=40)
    assert result.blowup is not None and result.suggestion <= result.blowup / 10


def test_reset_optimizer_starts_fresh_moments(tiny_learner):
    tiny_learner.fit(1e-3, 1)
    tiny_learner.reset_optimizer()
    tiny_learner.fit(1e-3, 1)
    assert tiny_learner._optimizer.state_dict()["state"][0]["step"] == len(tiny_learner._train_dl)


def test_lr_find_stops_on_divergence(tiny_learner):
    result = tiny_learner.lr_find(start_lr=1e-4, end_lr=1e4, max_batches=24)
    assert result.diverged and len(result.lrs) < 24


def test_lr_find_with_too_few_batches(tiny_model_dir):
    data = ktnb.texts_from_array(["good", "bad"] * 20, ["p", "n"] * 20, val_frac=0)
    learner = ktnb.text_classifier(data, str(tiny_model_dir), batch_size=16, progress=False)
    with pytest.raises(ktnb.TrainingError, match="lr_find needs at least 10 training batches, but 40 examples at "
                                                 "batch_size 16 give 3; use more data or a smaller batch_size"):
        learner.lr_find()


def test_evaluate_other_data_and_unknown_label(tiny_learner):
    tiny_learner.fit(3e-3, 3)
    report = tiny_learner.evaluate((["a great film", "a dull film"], ["pos", "neg"]))
    assert report.n == 2 and report.class_names == ["neg", "pos"]
    with pytest.raises(ktnb.LabelError, match="label 'meh' in evaluation data was not seen in training"):
        tiny_learner.evaluate((["so so"], ["meh"]))


def test_a_held_out_test_set_is_what_evaluate_reports_on_and_the_headline_says_so(tiny_model_dir, sentiment_data):
    texts, labels = sentiment_texts(24, seed=5)
    data = sentiment_data.with_test((texts, labels))
    learner = ktnb.text_classifier(data, str(tiny_model_dir), batch_size=8, progress=False)
    learner.fit(1e-3, 1)
    chosen_on = learner.history.epochs[-1]
    report = learner.evaluate()  # the test set: it picked no weights
    assert report.n == 24 and report.split == "test" and "on 24 test examples" in report.headline
    on_val = learner.evaluate(split="validation")
    assert on_val.n == len(data.val) and "validation examples" in on_val.headline
    assert on_val.summary()["val_loss"] == pytest.approx(chosen_on["val_loss"], rel=1e-4)
    assert learner.evaluate(split="test").summary() == report.summary()
    assert "test examples" not in learner.evaluate((texts[:4], labels[:4])).headline  # data passed in: no split named
    assert len(learner.top_losses(3)) == 3 and set(learner.top_losses(30, split="test").index) == set(range(24))
    with pytest.raises(ktnb.TrainingError, match="split must be one of validation, test, got 'dev'"):
        learner.evaluate(split="dev")
    without = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=8, progress=False)
    assert without.evaluate().split == "validation"
    with pytest.raises(ktnb.TrainingError, match="there is no test data; add it with data.with_test"):
        without.evaluate(split="test")
    with pytest.raises(ktnb.LabelError, match="test data"):
        sentiment_data.with_test((["so so"], ["meh"]))


def test_top_losses_are_the_worst_examples_first(tiny_learner):
    tiny_learner.fit(1e-3, 1)
    top = tiny_learner.top_losses(5)
    assert list(top.columns) == ["text", "true", "predicted", "loss", "confidence"] and top.index.name == "row"
    assert len(top) == 5 and list(top["loss"]) == sorted(top["loss"], reverse=True)
    everything = tiny_learner.top_losses(1000)
    assert top["loss"].iloc[0] == everything["loss"].max()


def test_max_len_chosen_from_data_and_checked(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), progress=False)
    lengths = sorted(learner.train_ds.lengths)
    assert learner.max_len % 8 == 0 and learner.max_len >= lengths[int(0.95 * len(lengths)) - 1]
    with pytest.raises(ktnb.TrainingError, match="max_len must be a whole number between 8 and 128 .this model.s limit., got 1000"):
        ktnb.text_classifier(sentiment_data, str(tiny_model_dir), max_len=1000, progress=False)


def test_unknown_device_and_precision(tiny_model_dir, sentiment_data):
    with pytest.raises(ktnb.TrainingError, match="unknown device 'gpu7'"):
        ktnb.text_classifier(sentiment_data, str(tiny_model_dir), device="gpu7")
    with pytest.raises(ktnb.TrainingError, match="mixed_precision must be one of auto, no, fp16, bf16"):
        ktnb.text_classifier(sentiment_data, str(tiny_model_dir), mixed_precision="fp8")
    if not torch.cuda.is_available():
        with pytest.raises(ktnb.TrainingError, match="CUDA is not available here"):
            ktnb.text_classifier(sentiment_data, str(tiny_model_dir), device="cuda")


def test_progress_bar_prints_epochs_and_end(tiny_model_dir, sentiment_data, capsys):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, seed=0)
    learner.fit(3e-3, 2)
    captured = capsys.readouterr()
    assert "fit · cpu · fp32: 100%" in captured.err  # the bar, on stderr, saying where and how it runs
    assert "epoch 1/2" in captured.out and "epoch 2/2" in captured.out and "val_accuracy" in captured.out


@pytest.mark.parametrize("capability, chosen", [((7, 5), "fp16"), ((7, 0), "fp16"), ((8, 0), "bf16"), ((9, 0), "bf16")])
def test_auto_precision_on_a_gpu_is_bf16_only_where_it_is_native(monkeypatch, capability, chosen):
    """A Colab T4 (7.5) emulates bf16, which torch.cuda.is_bf16_supported() reports as support:
    there auto must pick fp16 with loss scaling; Ampere (8.0) and later pick bf16."""
    from ktnb.devices import resolve_mixed_precision

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: capability)
    assert resolve_mixed_precision("auto", torch.device("cuda:0")) == chosen
    assert resolve_mixed_precision("bf16", torch.device("cuda:0")) == "bf16"  # asked for, kept


def test_auto_epochs_are_what_the_readme_says_at_the_default_batch_size(tiny_model_dir):
    """README: about 100 optimizer steps, at most 10 epochs: 10 epochs of 300 rows, 2 of 2,000."""
    for rows, epochs in ((300, 10), (2000, 2)):
        texts, labels = sentiment_texts(rows, seed=1)
        learner = ktnb.text_classifier(ktnb.texts_from_array(texts, labels), str(tiny_model_dir), progress=False)
        assert learner.batch_size == 32 and learner.auto_epochs() == epochs, rows
