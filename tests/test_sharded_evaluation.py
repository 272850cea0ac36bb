"""Evaluation shared among processes: each evaluates its shard of the examples, and the shards'
outputs put together are the whole set's, for every task (checked here in one process; the
two-process run is in test_distributed)."""

from __future__ import annotations

import numpy as np
import pytest

import ktnb
from conftest import sentiment_texts
from ktnb import evaluation
from test_qa import FILLER, _examples, _squad
from test_seq2seq import reversed_pairs
from test_tagging import tagged_sentences


def long_questions(n: int, seed: int, path):
    """A SQuAD file of questions whose contexts run past the tiny model's 128 tokens: read in windows."""
    rows = _examples(n, seed, long=True)
    for row in rows:
        row["context"] = FILLER * 10 + row["context"]
        row["answer_start"] += len(FILLER * 10)
    return _squad(rows, path)


def _learners(kind, bert, llama, t5, folder):
    texts, labels = sentiment_texts(120, seed=4)
    if kind == "classification":
        return ktnb.text_learner((texts, labels), bert, batch_size=16, progress=False)
    if kind == "regression pairs":
        return ktnb.text_learner((list(zip(texts, texts[::-1])), [float(len(t) % 7) for t in texts]), bert,
                                 task="regression", batch_size=16, progress=False)
    if kind == "multilabel":
        tags = [["joy"] if "good" in t else ["anger", "joy"] if "bad" in t else [] for t in texts]
        return ktnb.text_learner((texts, tags), bert, task="multilabel", batch_size=16, progress=False)
    if kind == "tagging":
        return ktnb.text_learner(tagged_sentences(120), bert, task="tagging", batch_size=16, progress=False)
    if kind == "qa":  # long contexts: questions of several windows
        data = ktnb.get_task("qa", stride=16).load_data(long_questions(40, 1, folder / "train.json"),
                                                        long_questions(30, 2, folder / "dev.json"))
        return ktnb.text_learner(data, bert, batch_size=16, max_len=48, progress=False)
    if kind == "generation":
        pairs = ktnb.get_task("generation").load_data((texts[:60], texts[60:]), val_frac=0.4, seed=0)
        return ktnb.text_learner(pairs, llama, batch_size=8, progress=False)
    sources, targets = reversed_pairs(60)
    data = ktnb.get_task("translation", val_generate=5).load_data((sources, targets), val_frac=0.4, seed=0)
    return ktnb.text_learner(data, t5, batch_size=8, progress=False)


KINDS = ["classification", "regression pairs", "multilabel", "tagging", "qa", "generation", "translation"]


@pytest.mark.parametrize("kind", KINDS)
def test_shards_put_together_give_the_whole_sets_outputs_and_report(kind, tiny_model_dir, tiny_llama_dir, tiny_t5_dir,
                                                                      tmp_path):
    learner = _learners(kind, str(tiny_model_dir), str(tiny_llama_dir), str(tiny_t5_dir), tmp_path)
    task, dataset = learner.task, learner.val_ds
    run = evaluation.runner(learner, epoch_check=True)
    whole = task.outputs(run, dataset)
    shards = dataset.example_shards(2)
    assert sorted(shards[0] + shards[1]) == list(range(dataset.n_examples))
    assert abs(len(shards[0]) - len(shards[1])) <= 1 and all(shards)
    merged = task.merge_outputs([(shard, task.outputs(run, dataset.subset(shard))) for shard in shards],
                                dataset.n_examples)
    assert merged.loss == pytest.approx(whole.loss, rel=1e-5)
    labels = dataset.labels_by_example
    expected = task.report(whole.logits, labels, learner.class_names, whole.loss, {}, dataset).summary()
    got = task.report(merged.logits, labels, learner.class_names, merged.loss, {}, dataset).summary()
    assert got == pytest.approx(expected, rel=1e-4)
    predicted = task.decode(merged.logits, learner.class_names, {}, None, dataset)
    assert len(predicted) == dataset.n_examples
    unsharded = task.decode(whole.logits, learner.class_names, {}, None, dataset)
    assert predicted == (pytest.approx(unsharded, abs=1e-4) if kind == "regression pairs" else unsharded)
    if kind == "translation":  # the set's first val_generate examples are written, wherever they were evaluated
        assert sorted(merged.logits.written) == list(range(5))
        plain = evaluation.runner(learner)  # evaluate(): every example, in whichever shard it is
        every = task.merge_outputs([(shard, task.outputs(plain, dataset.subset(shard))) for shard in shards],
                                   dataset.n_examples)
        assert sorted(every.logits.written) == list(range(dataset.n_examples))
    if kind == "qa":
        assert len(dataset) > dataset.n_examples  # windows: each question went whole to one shard


def test_a_shard_of_windows_keeps_each_questions_windows_together(tiny_model_dir, tmp_path):
    learner = _learners("qa", str(tiny_model_dir), "", "", tmp_path)
    dataset = learner.val_ds
    for shard in dataset.example_shards(3):
        part = dataset.subset(shard)
        assert part.n_examples == len(shard) and part.global_examples == shard
        ids = np.asarray(dataset.example_ids)
        assert len(part) == int(np.isin(ids, shard).sum())
        assert part.example_inputs == [dataset.example_inputs[i] for i in shard]
