"""Silent failures of the readers (issue #16): a task named wrongly or by its alias, a score column
with a decimal comma, odd values in multi-label columns, texts with no labels, text pairs given to
the wrong model, and numbers that overflow or come from numpy. Each reproduction asserts what
the user sees: the one-line message, the labels read, or the prediction."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import ktnb
from ktnb.config import check_config, infer_task, load_config_data

from conftest import one_line, sentiment_texts

pytestmark = pytest.mark.filterwarnings("ignore:.*dropped.*row")


def scores_csv(tmp_path, values) -> str:
    path = tmp_path / "scores.csv"
    texts, _ = sentiment_texts(len(values))
    pd.DataFrame({"text": texts, "score": values}).to_csv(path, index=False)
    return str(path)


SCORES = [0.5, 1.5, 2.25, 3.0, 4.75, 1.25] * 4


CONLL = "John B-PER\nlives O\nin O\nParis B-LOC\n\nMary B-PER\nsaw O\nRome B-LOC\n. O\n\n" * 6


@pytest.fixture
def conll_file(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(CONLL)
    return str(path)


# ---------------------------------------------------------------- task choice


@pytest.mark.parametrize("read", [
    lambda path: ktnb.texts_from_csv(path, label_col="score", task="regresion"),
    lambda path: ktnb.load_texts(path, label_col="score", task="regresion"),
    lambda path: ktnb.texts_from_df(pd.read_csv(path), label_col="score", task="regresion"),
    lambda path: ktnb.texts_from_array(["a", "b"], [1.5, 2.5], task="regresion"),
    lambda path: ktnb.text_learner(path, label_col="score", task="regresion"),
    lambda path: check_config({"data": path, "label_col": "score", "task": "regresion"}),  # a %%ktrain cell
])
def test_a_misspelt_task_is_refused_with_a_suggestion_by_every_reader(tmp_path, read):
    path = scores_csv(tmp_path, SCORES)
    assert one_line(ktnb.KtnbError, lambda: read(path)) == (
        "unknown task 'regresion' (did you mean 'regression'?); choose one of: classification, generation, "
        "multilabel, qa, regression, summarization, tagging, translation")


def test_a_task_in_any_case_or_by_its_alias_is_the_registry_task(tmp_path):
    path = scores_csv(tmp_path, SCORES)
    data = ktnb.texts_from_csv(path, label_col="score", task=" Regression")
    assert data.task == "regression" and sorted(data.train.labels + data.val.labels) == sorted(SCORES)
    assert ktnb.texts_from_array(["a", "b"] * 4, ["x;y", "y"] * 4, task="Multi-Label").task == "multilabel"
    assert check_config({"data": path, "task": "NER"})["task"] == "tagging"


def test_ner_names_the_tagging_task_in_text_learner_a_cell_and_load_texts(conll_file, tiny_model_dir):
    learner = ktnb.text_learner(conll_file, str(tiny_model_dir), task="ner", progress=False)
    assert learner.task.name == "tagging" and "B-PER" in learner.class_names
    config = check_config({"data": conll_file, "task": "ner"})  # what a %%ktrain cell's task: ner reads
    assert load_config_data(conll_file, config).task == "tagging"
    assert ktnb.load_texts(conll_file, task="ner").class_names == ["O", "B-LOC", "B-PER"]
    assert one_line(ktnb.DataError, lambda: ktnb.texts_from_array(["a"], ["b"], task="ner")) == (
        "texts_from_array reads one label per text (tasks classification, regression, multilabel); read data for "
        "task 'tagging' with ktnb.load_texts(source, task='tagging')")


def test_a_cell_with_task_ner_trains_a_tagger(conll_file, tiny_model_dir):
    from IPython.testing import globalipapp

    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "ktnb")
    shell.run_cell_magic("ktrain", "-o tagger -q", f"data: {conll_file}\ntask: ner\nmodel: {tiny_model_dir}\n"
                                                    "lr: 1e-3\nepochs: 1\nshow: []\n")
    assert shell.user_ns["tagger"].learner.task.name == "tagging"


def test_a_decimal_comma_in_a_score_column_is_one_line_never_a_classifier(tmp_path):
    path = scores_csv(tmp_path, [str(v) for v in SCORES[:-1]] + ["4,5"])
    config = check_config({"data": path, "label_col": "score"})
    assert infer_task(path, config) == "regression"  # a cell without task: reads it as scores
    expected = ("scores.csv: the score '4,5' has a decimal comma; write it with a decimal point (4.5), or read a "
                "file of decimal commas with pandas.read_csv(..., decimal=',') and pass the DataFrame")
    assert one_line(ktnb.LabelError, lambda: ktnb.texts_from_csv(path, label_col="score", task="regression")) == \
        expected
    assert one_line(ktnb.LabelError, lambda: ktnb.texts_from_csv(path, label_col="score")) == expected.replace(
        "the score", "the label")


def test_fractional_scores_read_as_classes_are_one_line(tmp_path):
    path = scores_csv(tmp_path, SCORES)
    assert one_line(ktnb.LabelError, lambda: ktnb.texts_from_csv(path, label_col="score")) == (
        "scores.csv: the labels are numbers with fractions (e.g. 0.5), which a classifier would read as 6 separate "
        "classes; pass task='regression' to predict a number, or class_names=[...] to keep them as classes")
    # whole numbers are class ids, and class_names keeps fractional names as classes when that is meant
    assert ktnb.texts_from_array(["a", "b"] * 4, [0, 1.0] * 4).class_names == ["0", "1"]
    assert ktnb.texts_from_array(["a", "b"] * 4, [0.5, 1.5] * 4, class_names=["0.5", "1.5"]).class_names == \
        ["0.5", "1.5"]
    texts, _ = sentiment_texts(24)
    assert infer_task((texts, SCORES), check_config({"data": "x"})) == "regression"


def test_regression_on_a_conll_file_says_what_the_file_is(conll_file):
    expected = ("train.txt is a CoNLL tagging file (a word and its tag per line), which task 'tagging' reads; "
                "regression needs a table with a text column and a numeric label column")
    assert one_line(ktnb.DataError, lambda: ktnb.texts_from_csv(conll_file, task="regression")) == expected
    config = check_config({"data": conll_file, "task": "regression"})
    assert one_line(ktnb.DataError, lambda: load_config_data(conll_file, config)) == expected


# ---------------------------------------------------------------- multi-label


def flags_frame(joy) -> pd.DataFrame:
    return pd.DataFrame({"text": ["a", "b", "c", "d"], "joy": joy, "anger": [0, 1, 1, 0]})


@pytest.mark.parametrize("odd, shown", [(2, "2"), (-1, "-1"), (0.5, "0.5"), ("no", "'no'"), ("yes", "'yes'")])
def test_a_value_other_than_0_or_1_in_a_label_column_is_one_line(odd, shown):
    frame = flags_frame([1, odd, 0, 1])
    assert one_line(ktnb.LabelError, lambda: ktnb.texts_from_df(frame, "text", ["joy", "anger"], task="multilabel")) \
        == (f"DataFrame: label column 'joy' holds {shown} (row 2); a 0/1 label column holds only 0 and 1 (or "
            "True/False): 1 where the text has that label")


def test_zeros_and_ones_as_numbers_booleans_or_digits_are_the_same_labels():
    expected = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    for joy in ([1, 0, 1, 0], [True, False, True, False], ["1", "0", "1", "0"], [1.0, 0.0, 1.0, np.nan]):
        data = ktnb.texts_from_df(flags_frame(joy), "text", ["joy", "anger"], task="multilabel", val_frac=0)
        assert data.class_names == ["anger", "joy"] and data.train.labels == expected, joy


def test_labels_1_and_1_0_are_one_label():
    data = ktnb.texts_from_array(["a", "b", "c", "d"], [[1], [1.0], [2], [np.int64(1), 2.0]], task="multilabel",
                                 val_frac=0)
    assert data.class_names == ["1", "2"]
    assert data.train.labels == [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]


def test_a_text_with_no_labels_is_kept_however_it_is_written():
    texts = ["joy text", "empty string", "empty list", "nan", "none", "both"]
    labels = ["joy", "", [], np.nan, None, "joy;anger"]
    data = ktnb.texts_from_array(texts, labels, ["v1", "v2"], ["", "anger"], task="multilabel")
    assert data.train.texts == texts and data.class_names == ["anger", "joy"]
    assert data.train.labels == [[0, 1], [0, 0], [0, 0], [0, 0], [0, 0], [1, 1]]
    assert data.val.labels == [[0, 0], [1, 0]]
    frame = pd.DataFrame({"text": texts, "labels": labels})  # the same from a table, as a CSV reads it
    assert ktnb.texts_from_df(frame, "text", "labels", task="multilabel", val_frac=0).train.labels == \
        data.train.labels
    rows = ktnb.texts_from_df(flags_frame([0, 0, 1, 0]), "text", ["joy", "anger"], task="multilabel", val_frac=0)
    assert len(rows.train) == 4 and rows.train.labels[0] == [0.0, 0.0]  # an all-zero row too
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is dropped, so nothing is said
        ktnb.texts_from_array(texts, labels, task="multilabel", val_frac=0)


def test_integer_labels_for_multilabel_say_what_was_wrong():
    assert one_line(ktnb.LabelError, lambda: ktnb.texts_from_array(["a", "b", "c"], [1, 0, 1], task="multilabel")) == (
        "training data: row 1 has the label 1 (int), not a set of labels; give each text's labels as ';'-joined "
        "names (joy;love) or a list, or name 0/1 columns with label_col=[...] (for one class per text, use "
        "task='classification')")
    assert one_line(ktnb.LabelError, lambda: ktnb.texts_from_array(["a", "b"], ["", []], task="multilabel")) == (
        "training data has no labels at all: every text's label set is empty; give each text's labels as ';'-joined "
        "names (joy;love) or a list, or name 0/1 columns with label_col=[...]")
    assert one_line(ktnb.LabelError, lambda: ktnb.texts_from_array(["a", "b"], [[True], []], task="multilabel")) \
        .startswith("training data: row 1 has True in its label list; a label list holds label names")


def test_several_label_columns_are_taken_by_a_cell_and_refused_for_one_label_tasks(tmp_path, tiny_model_dir):
    texts, sentiment = sentiment_texts(40)
    frame = pd.DataFrame({"text": texts, "pos": [int(s == "pos") for s in sentiment],
                          "long": [int(len(t.split()) > 10) for t in texts]})
    path = tmp_path / "flags.csv"
    frame.to_csv(path, index=False)
    config = check_config({"data": str(path), "label_col": ["pos", "long"]})
    assert infer_task(str(path), config) == "multilabel"
    config["task"] = "multilabel"
    data = load_config_data(str(path), config)
    assert data.task == "multilabel" and data.class_names == ["long", "pos"]
    assert one_line(ktnb.DataError, lambda: ktnb.texts_from_df(frame, "text", ["pos", "long"])) == (
        "label_col names several columns (pos, long): 0/1 columns, one per label, are read by task='multilabel', "
        "not classification; name one label column")
    from IPython.testing import globalipapp

    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "ktnb")
    shell.run_cell_magic("ktrain", "-o flags -q", f"data: {path}\nlabel_col: [pos, long]\nmodel: {tiny_model_dir}\n"
                                                  "lr: 1e-3\nepochs: 1\nshow: []\n")
    assert shell.user_ns["flags"].learner.task.name == "multilabel"


def test_the_panel_reads_0_1_columns_named_with_commas(tmp_path, tiny_model_dir):
    from ktnb.jupyter.panel import Panel

    texts, sentiment = sentiment_texts(40)
    path = tmp_path / "flags.csv"
    pd.DataFrame({"text": texts, "pos": [int(s == "pos") for s in sentiment],
                  "long": [int(len(t.split()) > 10) for t in texts]}).to_csv(path, index=False)
    panel = Panel(data=str(path), model=str(tiny_model_dir))
    panel.label_col.value = "pos, long"  # task auto
    panel.load_button.click()
    assert panel.learner is not None, panel.data_status.value
    assert panel.learner.task.name == "multilabel" and panel.learner.class_names == ["long", "pos"]


@pytest.fixture(scope="module")
def multilabel_learner(tiny_model_dir):
    texts, sentiment = sentiment_texts(80)
    labels = [s + (";long" if len(t.split()) > 10 else "") for t, s in zip(texts, sentiment)]
    return ktnb.text_learner((texts, labels), str(tiny_model_dir), task="multilabel", progress=False)


def test_set_threshold_takes_numpy_numbers(multilabel_learner):
    multilabel_learner.set_threshold(np.float32(0.25))
    assert multilabel_learner.settings_learnt["threshold"] == pytest.approx(0.25)
    assert one_line(ktnb.TrainingError, lambda: multilabel_learner.set_threshold(np.float64(1.5))) == (
        "threshold must be a number between 0 and 1, got 1.5")
    config = check_config({"data": "x", "epochs": np.int64(2), "lr": np.float32(0.5), "val_frac": np.float32(0.25)})
    assert config["epochs"] == 2 and config["lr"] == 0.5


def test_a_multilabel_model_evaluates_its_own_data_and_rows_without_labels(multilabel_learner):
    report = multilabel_learner.evaluate(multilabel_learner.data)  # 0/1 rows read back as label names
    assert report.n == len(multilabel_learner.data.val)
    texts, _ = sentiment_texts(6, seed=3)
    assert multilabel_learner.evaluate((texts, ["pos", "", None, [], "neg;long", np.nan])).n == 6


# ---------------------------------------------------------------- pairs


def pair_data(n: int = 40) -> ktnb.TextData:
    texts, labels = sentiment_texts(n)
    seconds, _ = sentiment_texts(n, seed=9)
    return ktnb.texts_from_array(texts, labels, pairs=seconds, val_frac=0.25)


def test_a_single_text_model_refuses_a_text_pair(tiny_learner):
    predictor = tiny_learner.predictor()
    expected = ("predict: this model was trained on single texts, not text pairs; give a text or a list of texts")
    assert one_line(ktnb.KtnbError, lambda: predictor.predict(("a great film", "a dull film"))) == expected
    assert one_line(ktnb.KtnbError, lambda: predictor.predict([("a great film", "a dull film")])) == expected
    assert len(predictor.predict(("a great film", "a dull film", "a film"))) == 3  # a tuple of texts is texts
    assert one_line(ktnb.TrainingError, lambda: tiny_learner.evaluate(([("a", "b")] * 2, ["pos", "neg"]))) == (
        "this model was trained on single texts, not text pairs; evaluate it on single texts (without pair_col)")


def test_a_pair_model_evaluates_text_pairs_given_as_tuples(tiny_model_dir):
    data = pair_data()
    learner = ktnb.text_classifier(data, str(tiny_model_dir), progress=False)
    pairs = list(zip(data.val.texts, data.val.pairs))
    labels = [data.class_names[i] for i in data.val.labels]
    report = learner.evaluate((pairs, labels))
    assert report.n == len(pairs) and report.accuracy == pytest.approx(learner.evaluate().accuracy)
    assert one_line(ktnb.TrainingError, lambda: learner.evaluate((data.val.texts, labels))) == (
        "this model was trained on text pairs: give the texts as (text, text) tuples")
    assert one_line(ktnb.TrainingError, lambda: learner.evaluate(([("a", "b", "c")] * 2, ["pos", "neg"]))) == (
        "evaluation data: item 0 is a tuple of 3 texts; a pair is (text, text)")
    assert one_line(ktnb.TrainingError, lambda: learner.evaluate(([("a", "b"), "ab"], ["pos", "neg"]))) == (
        "evaluation data: item 1 is a single text among pairs; give one kind")


# ---------------------------------------------------------------- numbers


def test_regression_targets_too_large_for_float32_are_one_line(tiny_model_dir):
    texts, _ = sentiment_texts(20)
    targets = [1e39] + [float(i) for i in range(19)]
    expected = ("training data: the value 1e+39 is too large to learn: a model computes in float32, where targets "
                "beyond ±1e+18 overflow the loss; rescale them (e.g. divide by 1e+39)")
    assert one_line(ktnb.LabelError, lambda: ktnb.texts_from_array(texts, targets, task="regression")) == expected
    assert one_line(ktnb.LabelError, lambda: ktnb.text_learner((texts, targets), str(tiny_model_dir),
                                                               task="regression")) == expected
