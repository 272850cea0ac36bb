"""Tasks beyond single-label classification, on the tiny model: regression, text pairs, and the
task registry. Each: fits on tiny data, metrics right on hand-made cases, save -> load_predictor
and transformers.pipeline give the same predictions, bad input gives one line."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from conftest import NEGATIVE, NEUTRAL, POSITIVE, sentiment_texts

import ktnb
from ktnb.tasks.regression import RegressionReport, ranks


def one_line(kind, call) -> str:
    with pytest.raises(kind) as caught:
        call()
    text = str(caught.value)
    assert "\n" not in text
    return text


# ---------------------------------------------------------------- registry


def test_tasks_are_picked_by_one_word():
    assert ktnb.get_task("regression").problem_type == "regression"
    assert ktnb.get_task("text-classification") is ktnb.get_task("classification")  # older saved folders
    assert one_line(ktnb.KtnbError, lambda: ktnb.get_task("ner2")).startswith(
        "unknown task 'ner2' (did you mean 'ner'?); choose one of: ")
    assert ktnb.get_task("regression").higher_is_better("val_pearson")
    assert not ktnb.get_task("regression").higher_is_better("val_mse")


# ---------------------------------------------------------------- regression


def scored_texts(n: int, seed: int = 0) -> tuple[list[str], list[float]]:
    """The sentiment sentences with a score: 4.5ish when positive, 0.5ish when negative."""
    texts, labels = sentiment_texts(n, seed)
    rng = random.Random(seed)
    return texts, [round((4.5 if label == "pos" else 0.5) + rng.uniform(-0.4, 0.4), 2) for label in labels]


def test_regression_metrics_on_hand_made_cases():
    from scipy.stats import pearsonr, spearmanr

    true = np.array([0.0, 1.0, 2.0, 2.0, 5.0, 3.5])
    pred = np.array([0.5, 0.8, 2.5, 1.5, 4.0, 3.5])
    report = RegressionReport(true, pred, "score", loss=0.1)
    assert report.mse == pytest.approx(np.mean((pred - true) ** 2))
    assert report.mae == pytest.approx(np.mean(np.abs(pred - true)))
    assert report.pearson == pytest.approx(pearsonr(true, pred)[0])
    assert report.spearman == pytest.approx(spearmanr(true, pred)[0])
    assert list(ranks(np.array([3.0, 1.0, 3.0, 2.0]))) == [3.5, 1.0, 3.5, 2.0]  # ties share their mean rank
    assert report.summary() == {"val_loss": 0.1, "val_mse": report.mse, "val_mae": report.mae,
                                "val_pearson": report.pearson, "val_spearman": report.spearman}
    assert report.warning is None
    flat = RegressionReport(true, np.full(6, 2.2), "score")
    assert flat.warning.startswith("the model may have collapsed: its predictions barely vary")
    assert "pearson" in report._repr_html_() and report.plot_scatter().axes[0].get_xlabel() == "true score"


@pytest.fixture(scope="module")
def regressor(tiny_model_dir):
    texts, scores = scored_texts(480, seed=3)
    learner = ktnb.text_regressor((texts, scores), str(tiny_model_dir), batch_size=16, progress=False, seed=0)
    learner.fit(3e-3, 6)
    return learner


def test_a_regressor_learns_scores_and_round_trips(regressor, tmp_path):
    from transformers import pipeline

    assert regressor.task.name == "regression" and regressor.model.config.num_labels == 1
    report = regressor.evaluate()
    assert report.pearson > 0.8, report
    assert set(regressor.history.epochs[-1]) >= {"val_loss", "val_mse", "val_pearson", "val_spearman"}
    # the validation loss is the model's own (MSE), not a cross-entropy
    assert report.loss == pytest.approx(report.mse, rel=1e-3)
    texts = ["a great and wonderful film", "boring and dull", "the story was a mess"]
    predictor = regressor.predictor()
    values = predictor.predict(texts)
    assert all(isinstance(v, float) for v in values) and values[0] > values[1]
    folder = predictor.save(tmp_path / "scores")
    loaded = ktnb.load_predictor(folder)
    assert loaded.task.name == "regression" and loaded.predict(texts) == pytest.approx(values, abs=1e-4)
    pipe = pipeline("text-classification", model=str(folder), device="cpu")  # problem_type regression: raw value
    assert [o["score"] for o in pipe(texts)] == pytest.approx(values, abs=1e-4)
    with pytest.raises(ktnb.KtnbError, match="gives no class probabilities; use predict"):
        loaded.predict_proba(texts)


def test_top_losses_of_a_regressor_name_true_and_predicted_values(regressor):
    frame = regressor.top_losses(3)
    assert list(frame.columns) == ["text", "true", "predicted", "loss"]
    assert (frame["loss"] == ((frame["true"] - frame["predicted"]) ** 2).round(4)).all()


def test_a_non_numeric_regression_target_is_one_line():
    texts, scores = scored_texts(20)
    scores[3] = "high"
    assert one_line(ktnb.LabelError, lambda: ktnb.load_texts((texts, scores), task="regression")) == (
        "training data: the value 'high' is not a number; a regression target must be numeric (task: regression), "
        "or use task: classification for named classes")


# ---------------------------------------------------------------- text pairs


def pair_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """Two sentences; 'same' when they share their sentiment, else 'different'."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        first, second = rng.random() < 0.5, rng.random() < 0.5

        def sentence(positive: bool) -> str:
            words = [rng.choice(NEUTRAL) for _ in range(rng.randint(2, 6))]
            return " ".join(words + [rng.choice(POSITIVE if positive else NEGATIVE)])

        rows.append((sentence(first), sentence(second), "same" if first == second else "different"))
    return pd.DataFrame(rows, columns=["premise", "hypothesis", "label"])


def test_sentence_pairs_keep_segment_ids_and_round_trip_through_pipeline(tiny_model_dir, tmp_path):
    from transformers import pipeline

    frame = pair_frame(200)
    learner = ktnb.text_classifier(ktnb.texts_from_df(frame, "premise", "label", pair_col="hypothesis"),
                                   str(tiny_model_dir), batch_size=16, progress=False)
    first = learner.train_ds[0]
    assert set(first["token_type_ids"]) == {0, 1}  # the second text's tokens are marked
    sep = learner.tokenizer.sep_token_id
    assert first["input_ids"].count(sep) == 2  # [CLS] a [SEP] b [SEP]
    learner.fit(1e-3, 1)
    pairs = [("the film was great", "the story was wonderful"), ("it was dull", "the music was great")]
    predictor = learner.predictor()
    labels = predictor.predict(pairs)
    assert predictor.predict(pairs[0]) == labels[0] and set(labels) <= {"same", "different"}
    header, rows = predictor.table(pairs)
    assert header == ["text", "label", "probability"] and rows[0][0] == "the film was great | the story was wonderful"
    folder = predictor.save(tmp_path / "pairs")
    loaded = ktnb.load_predictor(folder)
    assert np.allclose(loaded.predict_proba(pairs), predictor.predict_proba(pairs), atol=1e-5)
    pipe = pipeline("text-classification", model=str(folder), device="cpu")
    out = [pipe({"text": a, "text_pair": b}) for a, b in pairs]
    assert [o["label"] for o in out] == labels
    assert one_line(ktnb.KtnbError, lambda: loaded.predict("just one text")) == (
        "predict: this model reads text pairs; give a (text, text) tuple or a list of them")
    report = learner.evaluate(frame.head(40), "premise", "label", pair_col="hypothesis")
    assert report.n == 40
    assert one_line(ktnb.TrainingError, lambda: learner.evaluate(frame.head(40), "premise", "label")) == (
        "this model was trained on text pairs: name the second text's column with pair_col=")


def test_truncation_cuts_the_longer_text_of_a_pair_first(tiny_model_dir):
    long, short = "the film " * 40, "great"
    data = ktnb.texts_from_array([long] * 20, ["a", "b"] * 10, pairs=[short] * 20, val_frac=0)
    learner = ktnb.text_classifier(data, str(tiny_model_dir), max_len=16, progress=False)
    ids = learner.train_ds[0]["input_ids"]
    assert len(ids) == 16 and learner.tokenizer.decode(ids).endswith("great [SEP]")


def test_a_missing_pair_column_is_one_line():
    frame = pair_frame(20)
    assert one_line(ktnb.DataError, lambda: ktnb.texts_from_df(frame, "premise", "label", pair_col="second")) == (
        "DataFrame has no column 'second' (set pair_col); available columns: premise, hypothesis, label")


def test_text_learner_reads_the_task_from_a_file_or_a_table_as_its_docstring_says(tiny_model_dir, tmp_path):
    """text_learner("stsb/train.csv", label_col="score") once trained a classifier with one class
    per score; the task comes from the data when not given, as in a %%ktrain cell."""
    rng = random.Random(0)
    table = pd.DataFrame({"sentence1": [f"a man plays {i}" for i in range(40)],
                          "sentence2": [f"someone plays {i}" for i in range(40)],
                          "score": [round(rng.uniform(0, 5), 2) for _ in range(40)]})
    table.to_csv(tmp_path / "train.csv", index=False)
    from_file = ktnb.text_learner(tmp_path / "train.csv", str(tiny_model_dir), label_col="score",
                                  pair_col="sentence2", text_col="sentence1", progress=False)
    from_table = ktnb.text_learner(table, str(tiny_model_dir), label_col="score", pair_col="sentence2",
                                   text_col="sentence1", progress=False)
    assert from_file.task.name == from_table.task.name == "regression"
    assert from_file.model.config.num_labels == 1
    named = ktnb.text_learner(table, str(tiny_model_dir), label_col="score", text_col="sentence1",
                              task="regression", progress=False)
    assert named.task.name == "regression"
