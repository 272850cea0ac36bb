"""The Hugging Face hub's column formats, read without `datasets` imported: a `ClassLabel`
column of class ids (SST-2), a list of `ClassLabel` ids per word (CoNLL-2003's `ner_tags`) or
per text (GoEmotions' `labels`), a float score (STS-B), SQuAD's `answers` records. Ids become
their names, so that every task's reader takes a dataset's rows as it takes a table's.

>>> import datasets
>>> features = datasets.Features({"text": datasets.Value("string"),
...                               "label": datasets.ClassLabel(names=["neg", "pos", "mixed"])})
>>> ds = datasets.Dataset.from_dict({"text": ["good", "bad", "so-so"], "label": [1, 0, 2]}, features=features)
>>> sample_frame(ds)["label"].tolist()
['pos', 'neg', 'mixed']
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

from .errors import DataError

#: split names taken for validation, in this order, when a DatasetDict's `val_split` is not given;
#: a "test" split is never one of them: it is kept for the final report (`TEST_SPLIT_NAMES`)
VAL_SPLIT_NAMES = ("validation", "valid", "val", "dev")
TEST_SPLIT_NAMES = ("test",)


# ---------------------------------------------------------------- what a column holds

def class_names_of(feature: Any) -> list[str] | None:
    """The class names of a `ClassLabel` column, or of the `ClassLabel` inside a list column."""
    inner = getattr(feature, "feature", None)  # List(...) / Sequence(...) hold one feature
    return getattr(feature, "names", None) or getattr(inner, "names", None)


def sample_frame(ds: Any, rows: int = 200) -> Any:
    """The first `rows` rows of a dataset as a DataFrame, class ids turned into their names: what
    each task looks at to recognise its data (`ktnb.tasks.infer_task`)."""
    import pandas as pd

    head = ds.select(range(min(rows, len(ds))))
    return pd.DataFrame({col: _named(head[col], class_names_of(head.features[col])) for col in head.column_names})


def first_split(dataset: Any) -> Any:
    """A DatasetDict's training split (else its first; None when it has none), or the dataset itself."""
    if isinstance(dataset, dict):
        return dataset["train"] if "train" in dataset else next(iter(dataset.values()), None)
    return dataset


def is_dataset(source: Any) -> bool:
    """Whether `source` is one `datasets.Dataset` (without importing `datasets`)."""
    return type(source).__name__ == "Dataset" and type(source).__module__.startswith("datasets.")


def holds_datasets(source: Any) -> bool:
    """Whether `source` is a `datasets.Dataset` or a `DatasetDict` (a dict of them)."""
    return is_dataset(source) or (isinstance(source, dict) and bool(source) and all(map(is_dataset, source.values())))


def _named(values: Sequence[Any], names: Sequence[str] | None) -> list[Any]:
    """Class ids (or lists of them) as their names; -1 (the hub's "no label") as None."""
    if names is None:
        return list(values)

    def name(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [name(v) for v in value]
        if isinstance(value, bool) or not isinstance(value, int):
            return value
        if value == -1:
            return None
        if not 0 <= value < len(names):
            raise DataError(f"class id {value} is outside the column's {len(names)} class names")
        return names[value]

    return [name(v) for v in values]


def _columns_of(ds: Any, columns: Sequence[str | None], where: str) -> None:
    missing = [c for c in columns if c is not None and c not in ds.column_names]
    if missing:
        raise DataError(f"{where} has no column {missing[0]!r}; available columns: {', '.join(ds.column_names)}")


def _is_minus_one(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value == -1


def _unlabelled_dropped(rows: dict[str, list[Any]], label_col: str, where: str, *, classes: bool,
                        keep_empty: bool) -> dict[str, list[Any]]:
    """Rows with no label dropped, with a warning: -1 (the hub's "no label": a `ClassLabel` id,
    or any -1 among class ids), a missing label unless `keep_empty` (multi-label keeps a text
    with none), and a column of -1 throughout (GLUE's unlabelled test splits). Among scores
    (`classes` False), a -1 is a score."""
    labels = rows[label_col]
    if labels and all(_is_minus_one(v) for v in labels):
        kept, why = [], "no label (-1 throughout)"
    else:
        kept = [i for i, v in enumerate(labels) if not (classes and _is_minus_one(v))
                and (keep_empty or v is not None)]
        why = "no label (-1 or missing)"
    if len(kept) < len(labels):
        warnings.warn(f"{where}: dropped {len(labels) - len(kept)} row(s) with {why}", stacklevel=4)
        rows = {col: [values[i] for i in kept] for col, values in rows.items()}
    return rows


def dataset_rows(ds: Any, text_col: str, label_col: str, pair_col: str | None, where: str, *,
                 class_names: Sequence[str] | None = None, classes: bool = True, keep_empty: bool = False) \
        -> tuple[dict[str, list[Any]], list[str] | None]:
    """The text, pair and label columns of `ds` with class ids turned into names (the column's
    `ClassLabel` names, or `class_names` given instead of them, one for one), rows with no label
    dropped (see `_unlabelled_dropped`), and the class names used."""
    _columns_of(ds, (text_col, label_col, pair_col), where)
    names = class_names_of(ds.features[label_col])
    if names is not None and class_names is not None:
        if len(class_names) != len(names):
            shown = ", ".join(map(str, names[:8])) + (", …" if len(names) > 8 else "")
            raise DataError(f"class_names has {len(class_names)} names but the label column of {where} has "
                            f"{len(names)} classes ({shown}); give one name per class")
        names = [str(n) for n in class_names]
    rows = {col: list(ds[col]) for col in (text_col, pair_col) if col is not None}
    rows[label_col] = _named(ds[label_col], names)
    return _unlabelled_dropped(rows, label_col, where, classes=classes, keep_empty=keep_empty), names


def _labelled_split(splits: dict[str, Any], label_col: str, names: Sequence[str]) -> tuple[str, Any] | tuple[None, None]:
    """The first split of `names` whose labels are there (SQuAD's `answers` count), not -1
    throughout (GLUE's test splits)."""
    for name in names:
        ds = splits.get(name)
        if ds is None or not len(ds):
            continue
        if label_col in ds.column_names and any(not _is_minus_one(v) for v in ds[label_col]):
            return name, ds
        if label_col not in ds.column_names and "answers" in ds.column_names:
            return name, ds
    return None, None


def splits_of(dataset: Any, train_split: str, val_split: str | None, label_col: str,
              test_split: str | None = None) -> dict[str, tuple[str | None, Any]]:
    """The training, validation and test splits of a `Dataset` or a `DatasetDict`, as
    {"train"/"val"/"test": (name, split)}, (None, None) where there is none: `val_split`, else
    the first of `VAL_SPLIT_NAMES` with labels; `test_split`, else a labelled "test" split."""
    if not isinstance(dataset, dict):  # a DatasetDict is a dict of splits
        return {"train": (None, dataset), "val": (None, None), "test": (None, None)}
    splits = dict(dataset)
    for name in (train_split, val_split, test_split):
        if name is not None and name not in splits:
            raise DataError(f"dataset has no split {name!r}; available splits: {', '.join(splits)}")
    others = {k: v for k, v in splits.items() if k not in (train_split, test_split)}
    val = (val_split, splits[val_split]) if val_split is not None else _labelled_split(others, label_col,
                                                                                       VAL_SPLIT_NAMES)
    if test_split is not None:
        if test_split == val[0]:
            raise DataError(f"split {test_split!r} cannot be both the validation and the test split")
        test = (test_split, splits[test_split])
    else:
        test = _labelled_split({k: v for k, v in others.items() if k != val[0]}, label_col, TEST_SPLIT_NAMES)
    return {"train": (train_split, splits[train_split]), "val": val, "test": test}


# ---------------------------------------------------------------- reading a dataset

def qa_examples(ds: Any, where: str) -> list[Any]:
    """SQuAD-format rows (id, question, context, answers {text, answer_start}) as `QAExample`s."""
    from .tasks.qa_data import QAExample, check_unique_ids, checked_answers

    _columns_of(ds, ("question", "context", "answers"), where)
    ids = ds["id"] if "id" in ds.column_names else [str(i) for i in range(len(ds))]
    examples = []
    for qid, question, context, answers in zip(ids, ds["question"], ds["context"], ds["answers"]):
        raw = [{"text": t, "answer_start": s} for t, s in zip(answers.get("text", []), answers.get("answer_start", []))]
        examples.append(QAExample(str(qid), question, context, checked_answers(raw, context, str(qid), where)))
    if not examples:
        raise DataError(f"{where} has no questions")
    check_unique_ids(examples, where)
    return examples


def dataset_labelled(ds: Any, text_col: str, label_col: str, pair_col: str | None = None, *, classes: bool = True,
                     keep_empty: bool = False) -> tuple[list[Any], list[Any]]:
    """Texts (or (text, text) pairs) and their labels by name from one `datasets.Dataset`, for
    data judged against an existing model (`classes`, `keep_empty`: as `dataset_rows`)."""
    rows, _ = dataset_rows(ds, text_col, label_col, pair_col, "dataset", classes=classes, keep_empty=keep_empty)
    texts = rows[text_col] if pair_col is None else list(zip(rows[text_col], rows[pair_col]))
    return texts, rows[label_col]


__all__ = ["VAL_SPLIT_NAMES", "TEST_SPLIT_NAMES", "class_names_of", "sample_frame", "first_split", "is_dataset", "holds_datasets",
           "dataset_rows",
           "dataset_labelled", "splits_of", "qa_examples"]
