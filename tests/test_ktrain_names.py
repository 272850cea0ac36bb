"""The README's "From ktrain" table: ktrain's calls, run on ktnb as the table writes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import sentiment_texts

import ktnb


@pytest.fixture(scope="module")
def ktrain_way(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ktrain-way")
    for name, seed, rows in (("train.csv", 0, 320), ("val.csv", 1, 64)):
        texts, labels = sentiment_texts(rows, seed=seed)
        pd.DataFrame({"text": texts, "label": labels}).to_csv(folder / name, index=False)
    learner = ktnb.get_learner(str(tiny_model_dir), str(folder / "train.csv"), str(folder / "val.csv"), batch_size=16,
                               progress=False)
    return learner, folder


def test_get_learner_reads_train_and_val_files_as_ktrain_passes_them(ktrain_way):
    learner, _ = ktrain_way
    assert len(learner.data.train) == 320 and len(learner.data.val) == 64 and learner.batch_size == 16


def test_the_ktrain_workflow_runs_call_by_call(ktrain_way, capsys):
    learner, folder = ktrain_way
    with pytest.raises(ktnb.KtnbError, match="run learner.lr_find"):
        learner.lr_plot()
    learner.lr_find(epochs=1)
    assert learner.lr_plot(suggest=True) is not None  # ktrain's options are taken
    learner.fit_onecycle(3e-3, 3)
    confusion = learner.validate(class_names=["neg", "pos"])  # prints the report, returns the matrix
    assert "accuracy" in capsys.readouterr().out and confusion.shape == (2, 2)
    assert np.trace(confusion) / confusion.sum() > 0.8
    assert (learner.validate(class_names=[], print_report=False) == confusion).all()  # ktrain's default []
    assert len(learner.view_top_losses(n=4)) == 4
    predictor = ktnb.get_predictor(learner)
    probabilities = predictor.predict(["a wonderful story", "a dull mess"], return_proba=True)
    assert probabilities.shape == (2, 2) and np.allclose(probabilities.sum(axis=1), 1)
    assert predictor.predict(["a wonderful story"]) == ["pos"]
    predictor.save(folder / "saved")
    assert ktnb.load_predictor(folder / "saved").predict("a dull mess") == "neg"


def test_where_ktrain_means_something_else_the_error_says_what_ktnb_takes(ktrain_way, tiny_model_dir):
    learner, folder = ktrain_way
    with pytest.raises(ktnb.KtnbError, match="not this model's classes"):
        learner.validate(class_names=["pos", "neg"])
    with pytest.raises(ktnb.KtnbError, match="get_predictor takes the learner"):
        ktnb.get_predictor(learner.model)
    with pytest.raises(ktnb.KtnbError, match="not a model object"):
        ktnb.get_learner(learner.model, str(folder / "train.csv"))
    with pytest.raises(ktnb.KtnbError, match="needs train_data"):
        ktnb.get_learner(str(tiny_model_dir))
