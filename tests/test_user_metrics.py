"""Metrics of the user's own (the Trainer's compute_metrics): tracked per epoch, plotted, able to
pick the best weights in the direction they declare, and on evaluate()."""

from __future__ import annotations

import math

import pytest
from sklearn.metrics import matthews_corrcoef

import ktnb
from ktnb import Metric


def wrong(y_true, y_pred):
    return sum(t != p for t, p in zip(y_true, y_pred))


@pytest.fixture(scope="module")
def tracked(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False, seed=0,
                                   metrics=[Metric("mcc", matthews_corrcoef), Metric("wrong", wrong, False)],
                                   monitor="val_wrong")
    learner.fit(3e-3, 3)
    return learner


def test_own_metrics_are_in_every_epoch_of_the_history_and_its_figure(tracked):
    rows = tracked.history.epochs
    assert all({"val_mcc", "val_wrong", "val_accuracy"} <= set(row) for row in rows)
    n_val = len(tracked.data.val)
    for row in rows:  # the metric sees what the report counts
        assert row["val_wrong"] == pytest.approx(round((1 - row["val_accuracy"]) * n_val))
    labels = [line.get_label() for ax in tracked.history.plot().axes for line in ax.lines]
    assert "val_mcc" in labels and "val_wrong" in labels


def test_a_metric_that_falls_picks_the_best_weights_downwards(tracked):
    fewest = min(row["val_wrong"] for row in tracked.history.epochs)
    assert tracked.best["monitor"] == "val_wrong" and tracked.best["value"] == fewest
    assert tracked.higher_is_better("val_mcc") and not tracked.higher_is_better("val_wrong")


def test_evaluate_gives_them_on_any_labelled_data(tracked, sentiment_data):
    report = tracked.evaluate()
    assert set(report.own_metrics) == {"val_mcc", "val_wrong"} and -1 <= report.own_metrics["val_mcc"] <= 1
    texts, labels = sentiment_data.val.texts, [sentiment_data.class_names[i] for i in sentiment_data.val.labels]
    assert tracked.evaluate((texts, labels)).own_metrics == report.own_metrics


def test_a_dict_of_functions_counts_upwards_and_nan_never_wins(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False,
                                   metrics={"never": lambda t, p: math.nan})
    learner.fit(3e-3, 1)
    assert learner.higher_is_better("val_never") and math.isnan(learner.history.epochs[-1]["val_never"])


@pytest.mark.parametrize("metrics, message", [
    ([Metric("bad name", wrong)], "metric name 'bad name' must be a word"),
    ([Metric("x", 3)], "metric 'x': fn must be a function of .y_true, y_pred., got int"),
    ([Metric("x", wrong), Metric("x", wrong)], "metric 'x' is given twice"),
    (wrong, "metrics must be a list of ktnb.Metric"),
    (["accuracy"], "metrics holds 'accuracy'"),
])
def test_bad_metrics_are_one_line(tiny_model_dir, sentiment_data, metrics, message):
    with pytest.raises(ktnb.TrainingError, match=message):
        ktnb.text_classifier(sentiment_data, str(tiny_model_dir), progress=False, metrics=metrics)


def test_a_monitor_names_the_metrics_there_are(tiny_model_dir, sentiment_data):
    with pytest.raises(ktnb.TrainingError, match="choose one of: val_loss, val_accuracy, val_f1_macro, val_mcc"):
        ktnb.text_classifier(sentiment_data, str(tiny_model_dir), progress=False, monitor="val_mc",
                             metrics=[Metric("mcc", matthews_corrcoef)])


def test_a_metric_that_raises_stops_training_with_one_line_and_keeps_the_learner(tiny_model_dir, sentiment_data):
    def broken(y_true, y_pred):
        raise ZeroDivisionError("division by zero")

    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False,
                                   metrics=[Metric("broken", broken)])
    with pytest.raises(ktnb.TrainingError, match="metric 'broken' failed: ZeroDivisionError: division by zero"):
        learner.fit(3e-3, 1)
    assert learner.predictor().predict("a wonderful film") in sentiment_data.class_names


def test_each_task_hands_a_metric_truth_and_prediction_in_the_same_shape():
    import numpy as np

    multilabel = ktnb.get_task("multilabel")
    truth, predicted = multilabel.metric_inputs([[0.0, 1.0, 1.0]], ["a", "joy", "love"],
                                                multilabel.decode(np.array([[-5.0, 5.0, 5.0]]), ["a", "joy", "love"],
                                                                  {}))
    assert truth == predicted == [["joy", "love"]]
    tagging = ktnb.get_task("tagging")
    assert tagging.metric_inputs([[1, 0, 2]], ["O", "B-PER", "I-PER"], [["B-PER", "O", "I-PER"]]) == (
        [["B-PER", "O", "I-PER"]], [["B-PER", "O", "I-PER"]])
    regression = ktnb.get_task("regression")
    assert regression.metric_inputs([2.5, -1.0], ["score"], [2.4, -0.9]) == ([2.5, -1.0], [2.4, -0.9])


def test_a_metric_may_not_hide_one_of_the_tasks(tiny_model_dir, sentiment_data):
    with pytest.raises(ktnb.TrainingError, match="metric 'accuracy' would hide the task's own val_accuracy"):
        ktnb.text_classifier(sentiment_data, str(tiny_model_dir), progress=False,
                             metrics=[Metric("accuracy", wrong)])
