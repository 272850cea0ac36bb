"""Predicting new text, and saving in the Hugging Face format that `pipeline` reads."""

from __future__ import annotations

import numpy as np
import pytest

import ktnb


@pytest.fixture(scope="module")
def trained(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False, seed=0)
    learner.fit(3e-3, 4)
    return learner


def test_predict_single_and_batch(trained):
    predictor = trained.predictor()
    assert predictor.predict("the plot was wonderful and the music superb") == "pos"
    texts = ["a dull and tedious film", "the actors were great", "it was awful", "a funny story"]
    assert predictor.predict(texts) == ["neg", "pos", "neg", "pos"]
    proba = predictor.predict_proba(texts)
    assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1)
    assert predictor.predict_proba("great").shape == (2,)
    assert predictor.predict([]) == []


def test_batched_length_sorted_prediction_keeps_input_order(trained):
    predictor = trained.predictor(batch_size=3)
    texts = [("the film " * n + ("great" if n % 2 else "awful")) for n in range(1, 12)]
    one_by_one = np.stack([predictor.predict_proba(t) for t in texts])
    assert np.allclose(predictor.predict_proba(texts), one_by_one, atol=1e-5)


def test_save_load_and_pipeline_give_the_same_predictions(trained, tmp_path):
    from transformers import pipeline

    # the last text is longer than training's max_len: the predictor reads it whole, as the pipeline does
    texts = ["a dull and tedious film", "the actors were great", "the ending was a mess",
             "the film was " * 30 + "great"]
    predictor = trained.predictor()
    folder = predictor.save(tmp_path / "sentiment")
    assert (folder / "model.safetensors").is_file() and (folder / "ktnb.json").is_file()
    loaded = ktnb.load_predictor(folder)
    assert loaded.class_names == ["neg", "pos"] and loaded.max_len == predictor.max_len == 128 > trained.max_len
    assert np.allclose(loaded.predict_proba(texts), predictor.predict_proba(texts), atol=1e-5)
    pipe = pipeline("text-classification", model=str(folder), device="cpu")
    out = pipe(texts)
    assert [o["label"] for o in out] == predictor.predict(texts)
    assert [o["score"] for o in out] == pytest.approx(predictor.predict_proba(texts).max(axis=1), abs=1e-4)


def test_load_from_missing_folder():
    with pytest.raises(ktnb.ModelError, match="model directory not found: nowhere"):
        ktnb.load_predictor("nowhere")
