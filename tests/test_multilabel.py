"""Multi-label classification on the tiny model: label sets from ";"-joined strings, lists or 0/1
columns, metrics against scikit-learn, the tuned (or fixed) threshold, save -> load_predictor and
transformers.pipeline, and bad input in one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import sentiment_texts

import ktnb
from ktnb.tasks.multilabel import MultiLabelReport, best_threshold


def labelled(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """The sentiment sentences, labelled with their sentiment and, for long ones, "long"."""
    texts, labels = sentiment_texts(n, seed)
    return texts, [label + (";long" if len(text.split()) > 12 else "") for text, label in zip(texts, labels)]


def test_multilabel_metrics_agree_with_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    true = rng.random((40, 4)) < 0.3
    proba = np.clip(true * 0.6 + rng.random((40, 4)) * 0.5, 0, 1)
    report = MultiLabelReport(true, proba, ["a", "b", "c", "d"], threshold=0.5, loss=0.3)
    pred = proba >= 0.5
    assert report.f1_micro == pytest.approx(f1_score(true, pred, average="micro"))
    assert report.f1_macro == pytest.approx(f1_score(true, pred, average="macro", zero_division=0))
    assert report.f1_samples == pytest.approx(f1_score(true, pred, average="samples", zero_division=0))
    assert report.per_label()["a"]["support"] == int(true[:, 0].sum())
    assert set(report.summary()) == {"val_loss", "val_f1_micro", "val_f1_macro", "val_f1_samples"}
    tuned = best_threshold(true, proba)
    assert MultiLabelReport(true, proba, list("abcd"), tuned).f1_micro >= report.f1_micro
    flat = MultiLabelReport(true, np.full((40, 4), 0.1), list("abcd"))
    assert flat.warning.startswith("the model may have collapsed: 100% of the texts get the same labels (no label)")


@pytest.fixture(scope="module")
def multilabeller(tiny_model_dir):
    texts, labels = labelled(480, seed=5)
    learner = ktnb.text_learner((texts, labels), str(tiny_model_dir), task="multilabel", batch_size=16,
                                progress=False, seed=0)
    learner.fit(3e-3, 5)
    return learner


def test_a_multilabeller_learns_label_sets_and_round_trips(multilabeller, tmp_path):
    from transformers import pipeline

    learner = multilabeller
    assert learner.class_names == ["long", "neg", "pos"] and learner.monitor == "val_f1_macro"
    report = learner.evaluate()
    per_label = report.per_label()  # the sentiment labels are learnt ("long" may not be, by so small a model)
    assert per_label["pos"]["f1"] > 0.9 and per_label["neg"]["f1"] > 0.9, report
    assert 0 < learner.settings_learnt["threshold"] < 1 and report.threshold == learner.settings_learnt["threshold"]
    texts = ["a great film", "the film is a story of the music and the actors of the director it was very dull"]
    predictor = learner.predictor()
    predicted = predictor.predict(texts)
    assert "pos" in predicted[0] and "neg" not in predicted[0] and "neg" in predicted[1]
    folder = predictor.save(tmp_path / "labels")
    loaded = ktnb.load_predictor(folder)
    assert loaded.settings["threshold"] == learner.settings_learnt["threshold"] and loaded.predict(texts) == predicted
    pipe = pipeline("text-classification", model=str(folder), top_k=None, device="cpu")  # sigmoid per label
    scores = [{o["label"]: o["score"] for o in row} for row in pipe(texts)]
    proba = loaded.predict_proba(texts)
    assert np.allclose([[s[name] for name in loaded.class_names] for s in scores], proba, atol=1e-4)
    learner.set_threshold(0.99)
    assert learner.predictor().predict(texts[0]) == [] or learner.predictor().predict(texts[0]) == ["pos"]
    with pytest.raises(ktnb.TrainingError, match="threshold must be a number between 0 and 1, got 2"):
        learner.set_threshold(2)


def test_label_columns_of_zeros_and_ones_are_read_as_label_sets():
    frame = pd.DataFrame({"text": ["a", "b", "c", "d"], "joy": [1, 0, 1, 0], "anger": [0, 1, 1, 0]})
    data = ktnb.texts_from_df(frame, "text", ["joy", "anger"], task="multilabel", val_frac=0)
    assert data.class_names == ["anger", "joy"]
    assert data.train.labels == [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]


def test_an_unknown_label_in_validation_data_is_one_line():
    texts, labels = labelled(40)
    with pytest.raises(ktnb.LabelError) as caught:
        ktnb.texts_from_array(texts, labels, ["a film"], ["pos;sarcastic"], task="multilabel",
                              class_names=["long", "neg", "pos"])
    assert str(caught.value) == ("validation data: row 1 has the label 'sarcastic', which is not among the labels "
                                 "(long, neg, pos); fix the row or add it to class_names")


def test_a_label_seen_only_in_validation_data_joins_the_labels_with_a_warning():
    texts, labels = labelled(40)  # a small training sample can miss a rare label
    with pytest.warns(ktnb.KtnbWarning, match="1 label.s. occur only in the validation data, never in training "
                                               "data: sarcastic; the model cannot learn them"):
        data = ktnb.texts_from_array(texts, labels, ["a film"], ["pos;sarcastic"], task="multilabel")
    assert data.class_names == ["long", "neg", "pos", "sarcastic"]
    assert data.val.labels == [[0.0, 0.0, 1.0, 1.0]] and all(row[3] == 0.0 for row in data.train.labels)


def test_a_cell_infers_multilabel_from_joined_labels(tiny_model_dir):
    from ktnb.config import infer_task

    texts, labels = labelled(20)
    config = {"label_col": "label", "text_col": "text", "sep": None, "encoding": "utf-8"}
    assert infer_task(pd.DataFrame({"text": texts, "label": labels}), config) == "multilabel"
    assert infer_task(pd.DataFrame({"text": texts, "label": [l.split(";") for l in labels]}), config) == "multilabel"
