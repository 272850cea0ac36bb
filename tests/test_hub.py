"""Data in the Hugging Face hub's formats: local `datasets.Dataset` objects built with the same
features as the hub's copies (the hub is not reachable here), read by `texts_from_dataset`,
`load_texts`, the learner, and `load_dataset(name)` with `datasets.load_dataset` standing in for
the download."""

from __future__ import annotations

import datasets
import pytest

import ktnb
from ktnb.hub import NAMED_DATASETS

EMOTIONS = ["admiration", "anger", "love", "neutral", "joy"]  # not alphabetical: the ClassLabel order counts
NER = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def sst2_split(n: int, with_labels: bool = True) -> datasets.Dataset:
    """SetFit/sst2's shape: text, an integer label and its name."""
    labels = [i % 2 for i in range(n)] if with_labels else [-1] * n
    return datasets.Dataset.from_dict({"text": [f"a {'good' if y else 'bad'} film {i}" for i, y in enumerate(labels)],
                                       "label": labels,
                                       "label_text": [["negative", "positive"][y] if y >= 0 else "" for y in labels]})


def stsb_split(n: int, unlabelled: bool = False) -> datasets.Dataset:
    """GLUE stsb's shape: two sentences and a float score (-1 throughout in its test split)."""
    features = datasets.Features({"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string"),
                                  "label": datasets.Value("float32"), "idx": datasets.Value("int32")})
    scores = [-1.0] * n if unlabelled else [round(5 * (i % 7) / 6, 2) for i in range(n)]
    return datasets.Dataset.from_dict({"sentence1": [f"a man plays {i}" for i in range(n)],
                                       "sentence2": [f"someone plays {i}" for i in range(n)], "label": scores,
                                       "idx": list(range(n))}, features=features)


def conll_split(n: int) -> datasets.Dataset:
    """eriktks/conll2003's shape: word lists and a ClassLabel id per word."""
    features = datasets.Features({"id": datasets.Value("string"), "tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(datasets.ClassLabel(names=NER))})
    rows = [(["Ann", "Lee", "visited", "Paris", "."], [1, 2, 0, 5, 0]),
            (["The", "UN", "met", "in", "Rome"], [0, 3, 0, 0, 5])]
    return datasets.Dataset.from_dict({"id": [str(i) for i in range(n)], "tokens": [rows[i % 2][0] for i in range(n)],
                                       "ner_tags": [rows[i % 2][1] for i in range(n)]}, features=features)


def goemotions_split(n: int) -> datasets.Dataset:
    """google-research-datasets/go_emotions (simplified)'s shape: a list of ClassLabel ids per text."""
    features = datasets.Features({"text": datasets.Value("string"),
                                  "labels": datasets.Sequence(datasets.ClassLabel(names=EMOTIONS)),
                                  "id": datasets.Value("string")})
    ids = [[0], [1, 2], [3], [0, 1, 4]]
    return datasets.Dataset.from_dict({"text": [f"comment {i}" for i in range(n)],
                                       "labels": [ids[i % 4] for i in range(n)], "id": [str(i) for i in range(n)]},
                                      features=features)


def squad_split(n: int, first: int = 0) -> datasets.Dataset:
    """rajpurkar/squad's shape: answers as {text: [...], answer_start: [...]}."""
    contexts = [f"Ann Lee founded the firm in 1999 in Oslo.{' ' * (i // 2)}" for i in range(n)]  # a context a pair
    return datasets.Dataset.from_dict({
        "id": [f"q{first + i}" for i in range(n)], "title": ["Firm"] * n, "context": contexts,
        "question": ["Who founded the firm?" if i % 2 == 0 else "When was it founded?" for i in range(n)],
        "answers": [{"text": ["Ann Lee"], "answer_start": [0]} if i % 2 == 0 else
                    {"text": ["1999", "in 1999"], "answer_start": [28, 25]} for i in range(n)]})


def test_a_classlabel_column_names_the_classes_and_an_unlabelled_test_split_is_skipped():
    features = datasets.Features({"sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["negative", "positive"])})
    train = datasets.Dataset.from_dict({"sentence": ["good", "bad", "fine", "poor"], "label": [1, 0, 1, 0]},
                                       features=features)
    test = datasets.Dataset.from_dict({"sentence": ["unknown"], "label": [-1]}, features=features)
    val = datasets.Dataset.from_dict({"sentence": ["nice", "dire"], "label": [1, 0]}, features=features)
    data = ktnb.texts_from_dataset(datasets.DatasetDict(train=train, test=test, validation=val), "sentence")
    assert data.task == "classification" and data.class_names == ["negative", "positive"]
    assert data.val.texts == ["nice", "dire"] and data.val.labels == [1, 0]
    assert ktnb.texts_from_dataset(train, "sentence", val_frac=0).train.labels == [1, 0, 1, 0]
    with pytest.warns(UserWarning, match="dropped 1 row"):
        mixed = datasets.Dataset.from_dict({"sentence": ["a", "b", "c"], "label": [1, -1, 0]}, features=features)
        assert ktnb.texts_from_dataset(mixed, "sentence", val_frac=0).train.texts == ["a", "c"]


def test_glue_stsb_pairs_are_read_as_regression_and_its_unlabelled_test_split_is_not_validation():
    hub = datasets.DatasetDict(train=stsb_split(40), test=stsb_split(10, unlabelled=True), validation=stsb_split(12))
    data = ktnb.texts_from_dataset(hub, "sentence1", pair_col="sentence2")
    assert data.task == "regression" and len(data.val) == 12
    assert data.train.pairs[0] == "someone plays 0" and data.train.labels[1] == pytest.approx(0.83, abs=1e-2)
    with pytest.raises(ktnb.DataError, match="no rows"), pytest.warns(UserWarning, match="dropped 10 row"):
        ktnb.texts_from_dataset(hub, "sentence1", pair_col="sentence2", val_split="test")


def test_a_score_of_minus_one_among_real_scores_is_kept():
    ds = datasets.Dataset.from_dict({"text": ["a", "b", "c", "d"], "label": [-1.0, 0.5, 1.5, -0.25]})
    assert ktnb.texts_from_dataset(ds, val_frac=0).train.labels == [-1.0, 0.5, 1.5, -0.25]


def test_conll2003_integer_ner_tags_become_a_tagger_with_the_tag_names():
    hub = datasets.DatasetDict(train=conll_split(20), validation=conll_split(4))
    data = ktnb.texts_from_dataset(hub, "tokens", "ner_tags")
    assert data.task == "tagging" and len(data.train) == 20 and len(data.val) == 4
    assert data.train.texts[0] == ["Ann", "Lee", "visited", "Paris", "."]
    assert [data.class_names[t] for t in data.train.labels[0]] == ["B-PER", "I-PER", "O", "B-LOC", "O"]


def test_go_emotions_id_lists_become_multilabel_rows_in_the_classlabel_order():
    data = ktnb.texts_from_dataset(datasets.DatasetDict(train=goemotions_split(40), validation=goemotions_split(8)),
                                   label_col="labels")
    assert data.task == "multilabel" and data.class_names == EMOTIONS
    assert data.train.labels[1] == [0.0, 1.0, 1.0, 0.0, 0.0]  # anger and love


def test_plain_id_lists_without_class_names_are_labels_too():
    ds = datasets.Dataset.from_dict({"text": [f"t{i}" for i in range(12)], "labels": [[0], [1, 2], [2]] * 4})
    data = ktnb.texts_from_dataset(ds, label_col="labels", val_frac=0)
    assert data.task == "multilabel" and data.class_names == ["0", "1", "2"]


def test_squad_answers_records_become_questions():
    data = ktnb.texts_from_dataset(datasets.DatasetDict(train=squad_split(12), validation=squad_split(4, 100)))
    assert data.task == "qa" and len(data.train) == 12 and len(data.val) == 4
    assert data.train.labels[1] == [("1999", 28), ("in 1999", 25)]
    bad = squad_split(2).map(lambda row: {"answers": {"text": ["Oslo"], "answer_start": [0]}})
    with pytest.raises(ktnb.DataError, match="q0"):
        ktnb.get_task("qa").load_data(bad)


def test_a_named_task_overrides_what_the_rows_imply():
    ds = datasets.Dataset.from_dict({"text": [f"t{i}" for i in range(10)], "label": [0.0, 1.0] * 5})
    assert ktnb.texts_from_dataset(ds, val_frac=0).task == "classification"  # whole numbers: classes
    assert ktnb.texts_from_dataset(ds, val_frac=0, task="regression").task == "regression"


def test_the_learner_reads_each_task_from_a_hub_dataset(tiny_model_dir):
    learner = ktnb.text_learner(datasets.DatasetDict(train=goemotions_split(24), validation=goemotions_split(8)),
                                str(tiny_model_dir), label_col="labels", progress=False)
    assert learner.task.name == "multilabel" and learner.data.class_names == EMOTIONS
    tagger = ktnb.text_learner(conll_split(12), str(tiny_model_dir), text_col="tokens", label_col="ner_tags",
                               progress=False)
    assert tagger.task.name == "tagging"


def test_a_test_set_in_the_hubs_format_is_evaluated_by_name(tiny_model_dir):
    learner = ktnb.text_learner(datasets.DatasetDict(train=goemotions_split(24), validation=goemotions_split(8)),
                                str(tiny_model_dir), label_col="labels", progress=False)
    report = learner.evaluate(goemotions_split(8), label_col="labels")
    assert report.n == 8


@pytest.mark.parametrize("name, splits, hub_call, task", [
    ("sst2", lambda: {"train": sst2_split(30), "validation": sst2_split(10), "test": sst2_split(6)},
     ("SetFit/sst2", None), "classification"),
    ("stsb", lambda: {"train": stsb_split(30), "validation": stsb_split(10), "test": stsb_split(6, True)},
     ("nyu-mll/glue", "stsb"), "regression"),
    ("conll2003", lambda: {"train": conll_split(20), "validation": conll_split(6), "test": conll_split(6)},
     ("eriktks/conll2003", None), "tagging"),
    ("go-emotions", lambda: {"train": goemotions_split(30), "validation": goemotions_split(8),
                             "test": goemotions_split(7)},
     ("google-research-datasets/go_emotions", "simplified"), "multilabel"),
    ("SQuAD", lambda: {"train": squad_split(12), "validation": squad_split(4, 100)}, ("rajpurkar/squad", None), "qa"),
])
def test_named_sets_come_from_the_hub_without_a_local_copy(monkeypatch, tmp_path, name, splits, hub_call, task):
    monkeypatch.setenv("KTNB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    calls = []

    def fake_hub(path, config=None, **kwargs):
        calls.append((path, config))
        return datasets.DatasetDict(splits())

    monkeypatch.setattr(datasets, "load_dataset", fake_hub)
    data = ktnb.load_dataset(name, max_train=8)
    assert calls == [hub_call] and data.task == task and data.val is not None
    # STS-B's and SQuAD's test labels are not public: their dev split is the test set, validation is held out
    held_out = task in ("regression", "qa")
    assert len(data.train) + (len(data.val) if held_out else 0) == 8
    # reported on a split that picked nothing: the test split, or the dev split where test labels are not public
    hub = splits()
    assert len(data.test) == len(hub["validation" if held_out else "test"])
    if name == "sst2":
        assert data.class_names == ["negative", "positive"]


def test_a_dataset_stored_as_a_script_is_read_from_the_hubs_parquet_conversion(monkeypatch, tmp_path):
    monkeypatch.setenv("KTNB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    revisions = []

    def fake_hub(path, config=None, revision=None, **kwargs):
        revisions.append(revision)
        if revision is None:
            raise RuntimeError("Dataset scripts are no longer supported, but found conll2003.py")
        return datasets.DatasetDict(train=conll_split(10), validation=conll_split(4))

    monkeypatch.setattr(datasets, "load_dataset", fake_hub)
    assert ktnb.load_dataset("conll2003").task == "tagging"
    assert revisions == [None, "refs/convert/parquet"]


def test_named_sets_read_their_local_copies(data_dir):
    # validation held out of the training rows; the second file is the test set, never used to pick weights
    for name, task, n_test in [("stsb", "regression", 500), ("conll2003", "tagging", 750),
                               ("go_emotions", "multilabel", 800), ("squad", "qa", 500)]:
        data = ktnb.load_dataset(name, data_dir, max_train=50)
        assert (data.task, len(data.train) + len(data.val), len(data.test)) == (task, 50, n_test), name


def test_an_unknown_named_set_lists_the_known_ones():
    with pytest.raises(ktnb.DataError, match="unknown data set 'imdb2'; known: " + ", ".join(NAMED_DATASETS)):
        ktnb.load_dataset("imdb2")


def test_a_minus_one_among_class_ids_is_no_label_and_dropped_with_a_warning():
    ds = datasets.Dataset.from_dict({"text": list("abcdefgh"), "label": [0, 1, 0, 1, -1, 1, 0, -1]})
    with pytest.warns(UserWarning, match="dropped 2 row"):
        data = ktnb.texts_from_dataset(ds, val_frac=0)
    assert data.class_names == ["0", "1"] and len(data.train) == 6


def test_class_names_rename_a_classlabel_one_for_one():
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    ds = datasets.Dataset.from_dict({"text": ["good", "bad"] * 4, "label": [1, 0] * 4}, features=features)
    data = ktnb.texts_from_dataset(ds, val_frac=0, class_names=["negative", "positive"])
    assert data.class_names == ["negative", "positive"] and data.train.labels[:2] == [1, 0]
    with pytest.raises(ktnb.DataError, match=r"class_names has 3 names but the label column of split 'train' has 2 classes \(neg, pos\)"):
        ktnb.texts_from_dataset(ds, val_frac=0, class_names=["a", "b", "c"])


def test_several_flag_columns_of_a_dataset_are_multilabel():
    ds = datasets.Dataset.from_dict({"text": [f"t{i}" for i in range(8)], "joy": [1, 0] * 4, "anger": [0, 1] * 4})
    data = ktnb.load_texts(ds, label_col=["joy", "anger"], val_frac=0)
    assert data.task == "multilabel" and sorted(data.class_names) == ["anger", "joy"]


def test_multilabel_rows_with_no_labels_are_kept_as_from_a_table():
    ds = datasets.Dataset.from_dict({"text": [f"t{i}" for i in range(6)],
                                     "labels": [["a"], None, ["b"], [], ["a", "b"], None]})
    data = ktnb.texts_from_dataset(ds, label_col="labels", task="multilabel", val_frac=0)
    assert len(data.train) == 6


def test_load_texts_reads_the_task_and_the_hub_columns_from_a_dataset():
    data = ktnb.load_texts(datasets.DatasetDict(train=conll_split(12), validation=conll_split(4)))
    assert data.task == "tagging" and len(data.val) == 4  # tokens/ner_tags, the hub's names
    emotions = ktnb.load_texts(goemotions_split(12), label_col="labels", val_frac=0)
    assert emotions.task == "multilabel"


def test_a_split_without_labels_is_not_taken_for_validation():
    hub = datasets.DatasetDict(train=sst2_split(20), test=datasets.Dataset.from_dict({"text": ["a", "b"]}))
    data = ktnb.texts_from_dataset(hub, val_frac=0.25, class_names=["negative", "positive"])
    assert len(data.train) + len(data.val) == 20 and "a" not in data.val.texts  # held out of train, not the test split


def test_squad_and_conll_dataset_dicts_go_through_each_tasks_reader_and_evaluation(tiny_model_dir):
    squad = datasets.DatasetDict(train=squad_split(12), validation=squad_split(4, 100))
    assert ktnb.get_task("qa").load_data(squad).task == "qa"
    from ktnb.config import infer_task

    assert infer_task(squad, {"sep": None, "encoding": None, "text_col": "text", "label_col": "label"}) == "qa"
    tagging = ktnb.get_task("tagging")
    data = tagging.load_data(conll_split(10), conll_split(4))
    assert len(data.train) == 10 and len(data.val) == 4
    learner = ktnb.text_learner(data, str(tiny_model_dir), progress=False)
    assert learner.evaluate(conll_split(4)).f1 >= 0


def test_an_empty_dataset_dict_is_one_line():
    with pytest.raises(ktnb.DataError, match="the dataset has no splits"):
        ktnb.texts_from_dataset(datasets.DatasetDict())
