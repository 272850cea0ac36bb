"""A newcomer's run must not fail silently: a collapsed model and a fit that ends worse than
its best epoch are said where the user looks (progress, epoch table, report, a KtnbWarning),
and an interrupted %%ktrain workflow stops instead of reporting as if nothing happened."""

from __future__ import annotations

import warnings

import pytest
import torch

import ktnb
from ktnb.events import Callback


def force_one_class(learner, favoured: int = 0, strength: float = 20.0) -> None:
    bias = torch.full((len(learner.class_names),), -strength)
    bias[favoured] = strength
    learner.model.classifier.bias.data = bias


def test_a_collapsed_model_warns_once_per_run_and_says_so_everywhere(tiny_learner, capsys):
    force_one_class(tiny_learner)
    seen = []
    with pytest.warns(ktnb.KtnbWarning) as caught:
        tiny_learner.fit(1e-7, 2, "constant", callbacks=[seen.append])
    message = ("the model may have collapsed: 100% of the predictions are 'neg'; try a lower learning rate, "
               "more epochs or more data (autofit picks the epochs)")
    assert [str(w.message) for w in caught] == [f"training finished, but {message}"]  # once, at the end
    assert [e.message for e in seen if e.name == "epoch_end"] == [message, message]  # every epoch's line
    assert all(row["note"] == message for row in tiny_learner.history.epochs)  # and the epoch table
    report = tiny_learner.evaluate()
    assert report.warning == message and f"warning: {message}" in str(report)
    assert "the model may have collapsed" in report._repr_html_()
    assert seen[-1].message == f"training finished, but {message}"


def test_a_model_that_starts_collapsed_and_recovers_does_not_warn(tiny_learner):
    force_one_class(tiny_learner, strength=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ktnb.KtnbWarning)
        tiny_learner.fit(3e-3, 5, "constant")
    notes = [row.get("note") for row in tiny_learner.history.epochs]
    assert notes[0] is not None and notes[-1] is None  # marked in the table while it lasted


def test_accuracy_no_better_than_the_majority_is_a_collapse_too():
    from ktnb.metrics import ClassificationReport

    report = ClassificationReport.from_labels([0] * 60 + [1] * 40, [0] * 50 + [1] * 10 + [0] * 30 + [1] * 10,
                                              ["neg", "pos"])
    assert report.collapse() == "accuracy 0.6000 is no better than always predicting 'neg' (0.6000)"
    healthy = ClassificationReport.from_labels([0, 0, 1, 1], [0, 0, 1, 0], ["neg", "pos"])
    assert healthy.collapse() is None and healthy.warning is None


def test_a_good_run_does_not_warn(tiny_learner):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ktnb.KtnbWarning)
        tiny_learner.fit(3e-3, 4)
    assert tiny_learner.evaluate().accuracy >= 0.9
    assert "note" not in tiny_learner.history.epochs[-1]


class SpoilLastEpoch(Callback):
    """Ruins the weights after the last batch, so the last validation is the worst."""

    def on_batch_end(self, event):
        if event.epoch == event.epochs - 1 and event.batch == event.batches - 1:
            force_one_class(event.learner, 1)


def test_a_fit_ending_worse_than_its_best_says_how_to_get_it_back(tiny_learner):
    ended = []
    with pytest.warns(ktnb.KtnbWarning, match="worse than epoch"):
        tiny_learner.fit(3e-3, 3, callbacks=[SpoilLastEpoch(), ended.append])
    best = tiny_learner.best
    last = tiny_learner.history.epochs[-1]["val_loss"]
    assert ended[-1].message == (f"training finished with val_loss {last:.4f}, worse than epoch {best['epoch']} "
                                 f"({best['value']:.4f}); learner.load_best() puts those weights back (or fit with "
                                 "restore_best=True, or use autofit)")
    assert tiny_learner.load_best() == best
    assert tiny_learner.evaluate().loss == pytest.approx(best["value"], rel=1e-5)


def test_load_best_before_any_fit(tiny_learner):
    with pytest.raises(ktnb.TrainingError, match="there are no best weights yet: fit with validation data first"):
        tiny_learner.load_best()


def test_an_interrupted_workflow_skips_the_rest_and_says_so(tiny_model_dir, sentiment_data, tmp_path):
    class Interrupt(Callback):
        def on_batch_end(self, event):
            if event.phase == "fit" and event.batch == 2:
                event.learner.request_stop("interrupted")

    steps = []
    session = ktnb.run_workflow({"data": sentiment_data, "model": str(tiny_model_dir), "lr": 1e-3, "epochs": 2,
                                 "batch_size": 16, "predict": "a fine film", "save": str(tmp_path / "never"),
                                 "show": ["report", "explain"]},
                                callbacks=[Interrupt()], on_step=lambda name, result: steps.append((name, result)),
                                progress=False)
    assert [name for name, _ in steps] == ["session", "interrupted"]
    assert steps[-1][1] == ("training was interrupted (its weights are restored); skipped the remaining steps: "
                            "report, predict, save, explain")
    assert session.report is None and session.skipped == ["report", "predict", "save", "explain"]
    assert not (tmp_path / "never").exists()


def test_show_explain_without_predict_explains_the_first_validation_inputs(tiny_model_dir, sentiment_data, tmp_path):
    pytest.importorskip("captum")
    steps = []
    session = ktnb.run_workflow({"data": sentiment_data, "model": str(tiny_model_dir), "lr": 1e-3, "epochs": 1,
                                 "batch_size": 16, "show": ["explain"], "save": str(tmp_path / "saved")},
                                on_step=lambda name, result: steps.append(name), progress=False)
    assert steps[-2:] == ["save", "explain"] and len(session.explanation) == 3  # saved whatever explain finds
    assert [e.texts[0] for e in session.explanation] == sentiment_data.val.texts[:3]


def test_progress_bar_prints_the_collapse_warning(tiny_model_dir, sentiment_data, capsys):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, seed=0)
    force_one_class(learner)
    with pytest.warns(ktnb.KtnbWarning):
        learner.fit(1e-7, 1, "constant")
    assert "warning: the model may have collapsed: 100% of the predictions are 'neg'" in capsys.readouterr().out
