"""Reading labelled text from every source, splitting it, and the errors users meet."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

import ktnb
from ktnb.data import stratified_split


def test_import_does_not_load_torch():
    import subprocess

    code = "import sys, ktnb; ktnb.texts_from_array(['a','b','c','d'], [0,1,0,1], val_frac=0); " \
           "print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_engine_imports_no_notebook_libraries():
    import subprocess

    code = ("import sys, ktnb.learner, ktnb.workflow, ktnb.attention, ktnb.render.report, ktnb.quickstart; "
            "print('IPython' in sys.modules, 'ipywidgets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_csv_with_named_labels_keeps_sorted_class_order(tmp_path):
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"review": ["fine", "poor", "nice", "weak"] * 5, "stars": ["pos", "neg", "pos", "neg"] * 5}) \
        .to_csv(path, index=False)
    data = ktnb.texts_from_csv(path, text_col="review", label_col="stars", val_frac=0.2, seed=1)
    assert data.class_names == ["neg", "pos"]
    assert len(data.train) == 16 and len(data.val) == 4
    assert data.class_counts("val") == {"neg": 2, "pos": 2}
    assert all(data.class_names[y] == ("pos" if t in ("fine", "nice") else "neg")
               for t, y in zip(data.train.texts, data.train.labels))


def test_tsv_with_integer_labels_and_given_class_names(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("text\tlabel\nit was good, really\t1\nawful\t0\nlovely\t1\nbad\t0\n")
    data = ktnb.texts_from_csv(path, val_frac=0, class_names=["negative", "positive"])
    assert data.val is None
    assert data.train.texts[0] == "it was good, really"
    assert [data.class_names[y] for y in data.train.labels] == ["positive", "negative", "positive", "negative"]


def test_integer_labels_without_names_become_string_names():
    data = ktnb.texts_from_array(["a", "b", "c", "d"], [2, 5, 2, 5], val_frac=0)
    assert data.class_names == ["2", "5"]
    assert data.train.labels == [0, 1, 0, 1]


def test_explicit_validation_set_from_dataframes():
    train = pd.DataFrame({"text": ["x", "y", "z", "w"], "label": ["a", "b", "a", "b"]})
    val = pd.DataFrame({"text": ["v"], "label": ["b"]})
    data = ktnb.texts_from_df(train, val_df=val)
    assert len(data.train) == 4 and data.val.texts == ["v"] and data.val.labels == [1]


def test_stratified_split_is_seeded_and_keeps_class_balance():
    labels = [0] * 90 + [1] * 10
    tr1, va1 = stratified_split(labels, 0.2, seed=3)
    tr2, va2 = stratified_split(labels, 0.2, seed=3)
    _, va3 = stratified_split(labels, 0.2, seed=4)
    assert (va1 == va2).all() and not (va1 == va3).all()
    assert sorted(list(tr1) + list(va1)) == list(range(100))
    assert sum(labels[i] for i in va1) == 2 and len(va1) == 20


def test_folder_in_aclimdb_layout_skips_unsup(tmp_path):
    for split, cls, text in [("train", "pos", "loved it"), ("train", "neg", "hated it"), ("train", "pos", "great"),
                             ("train", "neg", "awful"), ("train", "unsup", "no label"), ("test", "pos", "fine"),
                             ("test", "neg", "poor")]:
        folder = tmp_path / split / cls
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{len(list(folder.iterdir()))}.txt").write_text(text)
    data = ktnb.texts_from_folder(tmp_path, val_frac=0.5)
    assert data.class_names == ["neg", "pos"]
    # test/ is kept for the report; validation is held out of train/
    assert sorted(data.train.texts + data.val.texts) == ["awful", "great", "hated it", "loved it"]
    assert sorted(zip(data.test.texts, data.test.labels)) == [("fine", 1), ("poor", 0)]
    assert ktnb.load_texts(tmp_path).class_names == ["neg", "pos"]
    for cls, text in [("pos", "nice"), ("neg", "dull")]:
        (tmp_path / "dev" / cls).mkdir(parents=True)
        (tmp_path / "dev" / cls / "0.txt").write_text(text)
    data = ktnb.texts_from_folder(tmp_path)
    assert len(data.train) == 4 and sorted(data.val.texts) == ["dull", "nice"] and len(data.test) == 2


def test_sst2_from_local_copy_via_env_var(sst2_dir, monkeypatch):
    monkeypatch.setenv("KTNB_DATA_DIR", str(sst2_dir.parent))
    data = ktnb.load_dataset("sst2", max_train=500)
    assert data.class_names == ["negative", "positive"]
    assert len(data.train) == 500 and len(data.val) == 872 and len(data.test) == 1821


def test_sst2_without_local_copy_or_hub_says_where_to_put_it(monkeypatch, tmp_path):
    monkeypatch.setenv("KTNB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ktnb.DataError, match="KTNB_DATA_DIR"):
        ktnb.load_dataset("sst2")


# ------------------------------------------------------------------ errors users make


def test_missing_file(tmp_path):
    with pytest.raises(ktnb.DataError, match="file not found: .*nope.csv"):
        ktnb.texts_from_csv(tmp_path / "nope.csv")


def test_empty_file_and_header_only_file(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("text,label\n")
    with pytest.raises(ktnb.DataError, match="empty.csv is empty"):
        ktnb.texts_from_csv(tmp_path / "empty.csv")
    with pytest.raises(ktnb.DataError, match="header but no rows"):
        ktnb.texts_from_csv(tmp_path / "header.csv")


def test_unknown_column_lists_the_available_ones(tmp_path):
    (tmp_path / "d.csv").write_text("sentence,label\nhi,1\nho,0\n")
    with pytest.raises(ktnb.DataError, match=r"no column 'text' \(set text_col\); available columns: sentence, label"):
        ktnb.texts_from_csv(tmp_path / "d.csv")


def test_single_class_is_refused():
    with pytest.raises(ktnb.LabelError, match=r"only one class \('pos'\)"):
        ktnb.texts_from_array(["a", "b", "c"], ["pos", "pos", "pos"])


def test_empty_and_nan_texts_are_dropped_with_a_warning():
    with pytest.warns(UserWarning, match="dropped 3 row"):
        data = ktnb.texts_from_array(["good", "", None, float("nan"), "bad", "fine"],
                                     ["p", "n", "p", "n", "n", "p"], val_frac=0)
    assert data.train.texts == ["good", "bad", "fine"]


def test_all_rows_empty_is_an_error():
    with pytest.raises(ktnb.DataError, match="no rows with both a text and a label"), \
            pytest.warns(UserWarning, match="dropped 2 row"):
        ktnb.texts_from_array(["", " "], ["a", "b"])


def test_validation_label_not_seen_in_training():
    with pytest.raises(ktnb.LabelError, match="label 'neutral' in validation data was not seen in training; "
                                              "known labels: neg, pos"):
        ktnb.texts_from_array(["a", "b"], ["pos", "neg"], ["c"], ["neutral"])


def test_errors_are_value_errors_for_callers_that_catch_those():
    assert issubclass(ktnb.DataError, ValueError) and issubclass(ktnb.LabelError, ktnb.KtnbError)
