"""Labelled text from files, tables, lists, folders and Hugging Face datasets, as one `TextData`.

Every reader ends in `texts_from_array`, so cleaning (empty texts), label encoding and the
validation split behave the same whatever the source.

>>> data = texts_from_array(["good", "bad", "great", "awful"] * 5, ["pos", "neg", "pos", "neg"] * 5,
...                         val_frac=0.2, seed=0)
>>> data.class_names, len(data.train), len(data.val)
(['neg', 'pos'], 16, 4)
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from . import checks
from .errors import DataError, LabelError, TrainingError

if TYPE_CHECKING:  # pandas and datasets are imported on first use only
    import pandas as pd


@dataclass
class LabelledTexts:
    """Examples and their labels, in the form the task encodes: for classification a text and
    an index into the owning `TextData.class_names`; for regression a text and a number. With
    `pairs`, each example is the text pair (texts[i], pairs[i])."""

    texts: list[str]
    labels: list[Any]
    pairs: list[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class TextData:
    """A training set, an optional validation set (it picks the best weights and tunes
    thresholds), an optional test set held out from both (what `evaluate` reports on when it is
    there), and the class names (index = label id)."""

    train: LabelledTexts
    val: LabelledTexts | None
    class_names: list[str]
    source: str = field(default="", repr=False)
    #: the name of the task in `ktnb.tasks` (classification, regression, …)
    task: str = "classification"
    #: how to read the same data again (a `%%ktrain`-style config naming files or a named set),
    #: when it came from files: what a checkpointed run needs to resume in a new process
    origin: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    #: the options of the task that read it (`get_task(task, **task_options)`), for the learner
    task_options: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: labelled data used for nothing but the final report (`with_test`)
    test: LabelledTexts | None = None

    def class_counts(self, split: str = "train") -> dict[str, int]:
        """Number of examples per class in `split` ('train', 'val' or 'test'); empty for tasks without classes."""
        from .tasks import get_task

        part = {"train": self.train, "val": self.val, "test": self.test}[split]
        return {} if part is None else get_task(self.task).class_counts(part.labels, self.class_names)

    def held_out(self) -> LabelledTexts:
        """The rows to judge a model on when this data is handed to `evaluate`: its test set,
        else its validation set, else (no held-out rows at all) its training rows."""
        return next(part for part in (self.test, self.val, self.train) if part is not None)

    def with_test(self, source: Any, text_col: str = "text", label_col: str = "label",
                  pair_col: str | None = None) -> TextData:
        """This data with a held-out test set read from `source` (anything `evaluate` reads: a
        path, a DataFrame, a `datasets.Dataset`, (texts, labels)), its labels checked against
        these classes. `learner.evaluate()` then reports on it, not on the validation set that
        chose the best weights.

        >>> data = texts_from_array(["good", "bad"] * 10, ["pos", "neg"] * 10)
        >>> data.with_test((["fine", "poor"], ["pos", "neg"]))
        TextData(train=18, val=2, test=2, classes=['neg', 'pos'])
        """
        from dataclasses import replace

        from .tasks import get_task

        task = get_task(self.task, **self.task_options)
        texts, labels = task.read_labelled(source, text_col, label_col, pair_col)
        check_pairs(texts, self.train.pairs is not None, from_table=not isinstance(source, (tuple, list)))
        return replace(self, test=task.labelled(texts, labels, self.class_names, "test data"))

    def encode_labels(self, labels: Iterable[Any], where: str = "evaluation data") -> list[int]:
        """Map raw labels (names or integer ids) to this data's label ids; unknown labels raise."""
        return _labels_to_ids(list(labels), self.class_names, where)

    def __repr__(self) -> str:
        val = len(self.val) if self.val is not None else 0
        test = f", test={len(self.test)}" if self.test is not None else ""
        pairs = ", pairs" if self.train.pairs is not None else ""
        from .tasks import get_task

        what = get_task(self.task, **self.task_options).describe_data(self.class_names)
        return f"TextData(train={len(self.train)}, val={val}{test}, {what}{pairs})"


def check_pairs(texts: Sequence[Any], trained_on_pairs: bool, from_table: bool) -> None:
    """Evaluation inputs must be what the model was trained on: all (text, text) tuples for a
    pair model (from `pair_col`, or given as tuples), all single texts otherwise."""
    pairs = [isinstance(t, tuple) for t in texts]
    if any(pairs) and not all(pairs):
        raise TrainingError(f"evaluation data: item {pairs.index(not pairs[0])} is "
                            f"{'a single text' if pairs[0] else 'a (text, text) pair'} among "
                            f"{'pairs' if pairs[0] else 'single texts'}; give one kind")
    wrong = next((i for i, t in enumerate(texts) if isinstance(t, tuple) and len(t) != 2), None)
    if wrong is not None:
        raise TrainingError(f"evaluation data: item {wrong} is a tuple of {len(texts[wrong])} texts; a pair is "
                            "(text, text)")
    if trained_on_pairs and texts and not pairs[0]:
        raise TrainingError("this model was trained on text pairs: name the second text's column with pair_col="
                            if from_table else "this model was trained on text pairs: give the texts as (text, text) "
                            "tuples")
    if not trained_on_pairs and texts and pairs[0]:
        raise TrainingError("this model was trained on single texts, not text pairs; evaluate it on single texts "
                            "(without pair_col)")


# ---------------------------------------------------------------- labels and splits


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    """numpy scalars → Python scalars, so 1 (int64) and 1 (int) are one label."""
    return value.item() if isinstance(value, np.generic) else value


def _is_integer(value: Any) -> bool:
    """An int, or a float with no fractional part (pandas turns an int column with a gap into
    floats: 0, 1, NaN → 0.0, 1.0, NaN)."""
    value = _plain(value)
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def label_key(value: Any, where: str = "the data") -> str:
    """The class name a raw label stands for: 1, 1.0, np.int64(1) and "1" are all "1".

    >>> [label_key(v) for v in (1, 1.0, "1", "pos", True)]
    ['1', '1', '1', 'pos', 'True']
    """
    value = _plain(value)
    if _is_integer(value):
        return str(int(value))
    if isinstance(value, (list, tuple, set, dict, np.ndarray)):
        raise LabelError(f"a label in {where} is a {type(value).__name__} ({str(value)[:40]}); a text classifier "
                         "takes one label per text")
    return str(value)


#: a number written with a decimal comma ("4,5"), as some locales write them
DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d*,\d+\s*$")


def as_number(value: Any) -> float | None:
    """A label that is a number, or a numeric string ("0.5"), as a float; None for anything else."""
    value = _plain(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return float(value) if isinstance(value, (int, float)) else None


def decimal_comma_error(where: str, what: str, value: str) -> LabelError:
    return LabelError(f"{where}: the {what} {value!r} has a decimal comma; write it with a decimal point "
                      f"({value.strip().replace(',', '.')}), or read a file of decimal commas with "
                      "pandas.read_csv(..., decimal=',') and pass the DataFrame")


def fractional_numbers(labels: Sequence[Any]) -> bool:
    """True when every label is a number (or a numeric string) and some have a fraction: a score
    column (regression), not class names. A number with a decimal comma ("4,5") counts as one.

    >>> fractional_numbers([1, 2.5, "3"]), fractional_numbers([1, 2, 3]), fractional_numbers([0.5, "4,5"])
    (True, False, True)
    """
    fraction = False
    for raw in labels:
        if _is_missing(_plain(raw)):
            continue
        if isinstance(raw, str) and DECIMAL_COMMA.match(raw):
            fraction = True
            continue
        number = as_number(raw)
        if number is None:
            return False
        fraction = fraction or (math.isfinite(number) and not number.is_integer())
    return fraction


def _refuse_scores_as_classes(labels: Sequence[Any], where: str) -> None:
    """Class labels that are all numbers, some with a fraction or a decimal comma, are a score
    column read with the wrong task: a classifier would silently learn one class per score
    value. Named classes, and whole numbers (class ids), pass."""
    if not fractional_numbers(labels):
        return
    comma = next((v for v in labels if isinstance(v, str) and DECIMAL_COMMA.match(v)), None)
    if comma is not None:
        raise decimal_comma_error(where, "label", comma)
    example = next(v for v in labels if math.isfinite(as_number(v) or 0.0) and not (as_number(v) or 0.0).is_integer())
    distinct = len({label_key(v) for v in labels})
    raise LabelError(f"{where}: the labels are numbers with fractions (e.g. {_plain(example)!r}), which a classifier "
                     f"would read as {distinct} separate classes; pass task='regression' to predict a number, or "
                     "class_names=[...] to keep them as classes")


def _integer_sort_key(name: str) -> tuple[int, int | str]:
    return (0, int(name)) if name.lstrip("-").isdigit() else (1, name)


def _infer_class_names(labels: Sequence[Any], where: str) -> list[str]:
    """Sorted distinct labels; integer labels sort as numbers (2 before 10)."""
    return sorted({label_key(v, where) for v in labels}, key=_integer_sort_key)


def _labels_to_ids(labels: Sequence[Any], class_names: Sequence[str], where: str) -> list[int]:
    """Labels map to ids through their names; an integer label that names no class is read as
    a class id when the class names are words (e.g. 0/1 with ["negative", "positive"])."""
    index = {name: i for i, name in enumerate(class_names)}
    ids = []
    for raw in labels:
        key = label_key(raw, where)
        if key in index:
            ids.append(index[key])
        elif _is_integer(raw):
            label_id = int(_plain(raw))
            if not 0 <= label_id < len(class_names):
                raise LabelError(f"label id {label_id} in {where} is out of range: there are {len(class_names)} "
                                 f"classes ({', '.join(class_names)})")
            ids.append(label_id)
        else:
            raise LabelError(f"label {key!r} in {where} was not seen in training; known labels: "
                             f"{', '.join(class_names)}")
    return ids


def _as_list(value: Any, what: str, where: str) -> list[Any]:
    """A column of values as a list; None, a lone string or a table are refused by name."""
    if value is None or isinstance(value, (str, bytes)) or not hasattr(value, "__len__") \
            or hasattr(value, "columns"):
        raise DataError(f"{where}: {what} must be a list (or column) of values, got {type(value).__name__}")
    return list(value)


def stratified_split(labels: Sequence[int], val_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) with each class split at `val_frac`, at least one of each class in val
    when that class has two or more examples."""
    if not 0 < val_frac < 1:
        raise DataError(f"val_frac must be between 0 and 1 (exclusive), got {val_frac}")
    rng = np.random.default_rng(seed)
    labels_arr = np.asarray(labels)
    train_idx, val_idx = [], []
    for cls in np.unique(labels_arr):
        members = rng.permutation(np.flatnonzero(labels_arr == cls))
        n_val = int(round(len(members) * val_frac))
        n_val = min(max(n_val, 1), len(members) - 1) if len(members) > 1 else 0
        val_idx.append(members[:n_val])
        train_idx.append(members[n_val:])
    return np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(val_idx))


def _split_pairs(items: list[Any]) -> tuple[list[str], list[str] | None]:
    """(texts, pairs) from items that are texts or (text, text) tuples."""
    if items and isinstance(items[0], tuple):
        return [a for a, _ in items], [b for _, b in items]
    return list(items), None


def _examples(items: list[Any], labels: list[Any], rows: Sequence[int] | None = None) -> LabelledTexts:
    if rows is not None:
        items, labels = [items[i] for i in rows], [labels[i] for i in rows]
    texts, pairs = _split_pairs(items)
    return LabelledTexts(texts, list(labels), pairs)


def _zip_pairs(texts: list[Any], pairs: Sequence[Any] | None, where: str) -> list[Any]:
    if pairs is None:
        return texts
    pairs = _as_list(pairs, "pairs (the second texts)", where)
    if len(pairs) != len(texts):
        raise DataError(f"{where}: {len(texts)} texts but {len(pairs)} second texts of a pair; they must be the "
                        "same length")
    return list(zip(texts, pairs))


def _drop_missing(texts: Sequence[Any], labels: Sequence[Any], where: str,
                  labels_required: bool = True) -> tuple[list[str], list[Any]]:
    """Rows whose text or label is missing or blank are dropped with one warning. With
    `labels_required` False (multi-label, where an empty label set is a text with none of the
    labels) only a missing text drops a row."""
    kept_texts, kept_labels, dropped = [], [], 0
    for text, label in zip(texts, labels):
        parts = text if isinstance(text, tuple) else (text,)  # a text pair is kept or dropped whole
        if any(_is_missing(p) or not str(p).strip() for p in parts) or labels_required and (
                _is_missing(_plain(label)) or (isinstance(label, str) and not label.strip())):
            dropped += 1
            continue
        kept_texts.append(tuple(str(p) for p in parts) if isinstance(text, tuple) else str(text))
        kept_labels.append(label)
    if dropped:
        what = "an empty text or an empty or missing label" if labels_required else "an empty text"
        warnings.warn(f"{where}: dropped {dropped} row(s) with {what}", stacklevel=3)
    if not kept_texts:
        raise DataError(f"{where} has no rows with both a text and a label")
    return kept_texts, kept_labels


# ---------------------------------------------------------------- readers

def _text_task(task: Any, reader: str) -> Any:
    """The task called `task` (an alias or any case; a misspelling is refused, never read as the
    default), checked to be one whose data is texts with a label each (a table's shape)."""
    from .tasks import TASKS, get_task

    found = get_task(task)
    if found.table_shape is None:
        readable = ", ".join(name for name in TASKS if get_task(name).table_shape is not None)
        raise DataError(f"{reader} reads one label per text (tasks {readable}); read data for task "
                        f"{found.name!r} with ktnb.load_texts(source, task={found.name!r})")
    return found


def texts_from_array(
    texts: Sequence[str],
    labels: Sequence[Any],
    val_texts: Sequence[str] | None = None,
    val_labels: Sequence[Any] | None = None,
    *,
    val_frac: float = 0.1,
    seed: int = 42,
    class_names: Sequence[str] | None = None,
    max_train: int | None = None,
    source: str = "training data",
    pairs: Sequence[str] | None = None,
    val_pairs: Sequence[str] | None = None,
    task: str = "classification",
    target: str = "value",
) -> TextData:
    """Labelled text from Python lists. Labels may be names (``"pos"``) or integer ids.

    Without `val_texts`, a stratified `val_frac` of the training rows is held out (`val_frac=0`
    keeps none). `class_names` fixes the class order; otherwise it is the sorted set of labels.
    `max_train` keeps only the first rows of the training data (before any hold-out), as every
    reader does. With `pairs` (and `val_pairs`), each example is the pair (texts[i], pairs[i]).
    ``task="regression"`` reads the labels as numbers (the `target`, e.g. "score") and holds out
    a random `val_frac`. ``task="multilabel"`` reads each label as a set of names (see
    `ktnb.tasks.multilabel.label_set`); a text with no labels (an empty string or list, a missing
    value) is kept, as an example of none of them. `task` is a registry name or alias, in any
    case; a misspelt one is refused. Without `class_names`, class labels that are all numbers,
    some with fractions, are refused as a score column read with the wrong task.
    """
    text_task = _text_task(task, "texts_from_array")
    texts, labels = _as_list(texts, "texts", source), _as_list(labels, "labels", source)
    if len(texts) != len(labels):
        raise DataError(f"{source}: {len(texts)} texts but {len(labels)} labels; they must be the same length")
    texts = _zip_pairs(texts, pairs, source)
    if max_train is not None:
        checks.whole_number("max_train", max_train, error=DataError)
        texts, labels = texts[:max_train], labels[:max_train]
    if len(texts) == 0:
        raise DataError(f"{source} is empty: no texts were given")
    checks.number_at_least("val_frac", val_frac, 0, error=DataError)
    labels_required = not text_task.keeps_unlabelled_rows
    texts, labels = _drop_missing(texts, labels, source, labels_required=labels_required)
    val = validation_rows(val_texts, val_labels, val_pairs, labels_required) if val_texts is not None else None
    # the task reads the labels (names, numbers, label sets) and holds out its validation rows
    return text_task.text_data(texts, labels, val, val_frac=val_frac, seed=seed, source=source,
                               class_names=class_names, max_train=max_train, target=target)


def validation_rows(val_texts: Sequence[Any], val_labels: Sequence[Any], val_pairs: Sequence[Any] | None = None,
                    labels_required: bool = True) -> tuple[list[Any], list[Any]]:
    """A given validation set as (texts or pairs, raw labels), rows with a missing text (or a
    missing label, when `labels_required`) dropped."""
    val_texts = _as_list(val_texts, "val_texts", "validation data")
    val_labels = _as_list(val_labels, "val_labels", "validation data")
    if len(val_labels) != len(val_texts):
        raise DataError(f"validation data: {len(val_texts)} texts but {len(val_labels)} labels; they must be "
                        "the same length")
    val_texts = _zip_pairs(val_texts, val_pairs, "validation data")
    return _drop_missing(val_texts, val_labels, "validation data", labels_required=labels_required)


def random_split(n: int, val_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): a seeded random `val_frac` of `n` rows held out, at least one and
    never all (for labels that cannot be stratified: numbers, label sets)."""
    if not 0 < val_frac < 1:
        raise DataError(f"val_frac must be between 0 and 1 (exclusive), got {val_frac}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(max(int(round(n * val_frac)), 1), n - 1)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def held_out(texts: list[Any], labels: list[Any], val_frac: float, seed: int) \
        -> tuple[LabelledTexts, LabelledTexts | None]:
    """(train, validation): a seeded random `val_frac` of the rows held out (`random_split`),
    none when `val_frac` is 0 or there is a single row."""
    if not val_frac or len(texts) < 2:
        return LabelledTexts(texts, labels), None
    train_rows, val_rows = random_split(len(texts), val_frac, seed)
    return (LabelledTexts([texts[i] for i in train_rows], [labels[i] for i in train_rows]),
            LabelledTexts([texts[i] for i in val_rows], [labels[i] for i in val_rows]))


def data_origin(source: Any) -> str:
    """What `TextData.source` says of where data came from: a path, or the kind of object."""
    return str(source) if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__") else type(source).__name__


def _flag(value: Any) -> int | None:
    """A 0/1 label cell as 0 or 1: a number 0 or 1, True/False, or the text "0"/"1" (as CSV
    files and string columns hold them); a missing cell is 0 (a text with no labels is kept, as
    in every other form). None for anything else."""
    value = _plain(value)
    if _is_missing(value) or (isinstance(value, str) and not value.strip()):
        return 0
    number = float(value) if isinstance(value, bool) else as_number(value)
    return int(number) if number in (0.0, 1.0) else None


def _flag_columns(df: pd.DataFrame, label_col: Sequence[str], where: str) -> list[list[str]]:
    """Each row's labels from 0/1 columns, one per label: the names of the columns holding 1.
    Any other value (2, -1, 0.5, "no") is refused by column and row: read as "present", it
    would give every row every label."""
    rows: list[list[str]] = [[] for _ in range(len(df))]
    for col in label_col:
        for number, raw in enumerate(df[col].tolist(), 1):
            flag = _flag(raw)
            if flag is None:
                raise LabelError(f"{where}: label column {col!r} holds {_plain(raw)!r} (row {number}); a 0/1 label "
                                 "column holds only 0 and 1 (or True/False): 1 where the text has that label")
            if flag:
                rows[number - 1].append(str(col))
    return rows


def _columns(df: pd.DataFrame, text_col: str, label_col: str, where: str,
             pair_col: str | None = None) -> tuple[list, list]:
    """The text (or text pair) and label columns of a table; texts are (text, text) tuples with `pair_col`."""
    if isinstance(label_col, (list, tuple)):  # several 0/1 columns, one per label: rows of the names set to 1
        label_col = checks.unique_names("label_col", label_col, error=DataError)
        missing = [c for c in label_col if c not in df.columns]
        if missing:
            raise DataError(f"{where} has no column {missing[0]!r} (set label_col); available columns: "
                            + ", ".join(map(str, df.columns)))
        twice = next((c for c in label_col if int((df.columns == c).sum()) > 1), None)
        if twice is not None:
            raise DataError(f"{where} has more than one column named {twice!r}; rename them so that each is unique")
        labels = _flag_columns(df, label_col, where)
        return _columns(df.assign(_ktnb_labels=labels), text_col, "_ktnb_labels", where, pair_col)[0], labels
    named = [(text_col, "text_col"), (label_col, "label_col")] + ([(pair_col, "pair_col")] if pair_col else [])
    for col, what in named:
        if col not in df.columns:
            raise DataError(
                f"{where} has no column {col!r} (set {what}); available columns: "
                + ", ".join(map(str, df.columns))
            )
        if int((df.columns == col).sum()) > 1:
            raise DataError(f"{where} has more than one column named {col!r}; rename them so that each is unique")
    if text_col == label_col:
        raise DataError(f"text_col and label_col are both {text_col!r}; name two different columns")
    if pair_col in (text_col, label_col):
        raise DataError(f"pair_col is {pair_col!r}, already the text or label column; name the second text's column")
    texts = df[text_col].tolist()
    if pair_col:
        texts = list(zip(texts, df[pair_col].tolist()))
    return texts, df[label_col].tolist()


def texts_from_df(
    df: pd.DataFrame,
    text_col: str = "text",
    label_col: str = "label",
    val_df: pd.DataFrame | None = None,
    *,
    val_frac: float = 0.1,
    seed: int = 42,
    class_names: Sequence[str] | None = None,
    max_train: int | None = None,
    source: str = "DataFrame",
    pair_col: str | None = None,
    task: str = "classification",
) -> TextData:
    """Labelled text from a pandas DataFrame (and optionally a validation DataFrame); with
    `pair_col`, text pairs from two columns. For ``task="multilabel"``, `label_col` may name
    several 0/1 columns, one per label."""
    text_task = _text_task(task, "texts_from_df")
    if isinstance(label_col, (list, tuple)) and not text_task.label_columns:
        raise DataError(f"label_col names several columns ({', '.join(map(str, label_col))}): 0/1 columns, one per "
                        f"label, are read by task='multilabel', not {text_task.name}; name one label column")
    if len(df) == 0:
        raise DataError(f"{source} is empty: it has no rows")
    texts, labels = _columns(df, text_col, label_col, source, pair_col)
    val_texts = val_labels = None
    if val_df is not None:
        val_texts, val_labels = _columns(val_df, text_col, label_col, "validation " + source, pair_col)
    texts, pairs = _split_pairs(texts)
    val_pairs = None
    if val_texts is not None:
        val_texts, val_pairs = _split_pairs(val_texts)
    return texts_from_array(texts, labels, val_texts, val_labels, val_frac=val_frac, seed=seed,
                            class_names=class_names, max_train=max_train, source=source, pairs=pairs,
                            val_pairs=val_pairs, task=text_task, target=str(label_col))


def _first_bad_byte(path: Path, encoding: str) -> str:
    """Where decoding `path` first fails, for the error message (pandas reports a position in
    its own buffer, not in the file)."""
    raw = path.read_bytes()
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        return f"byte {raw[err.start]:#x} on line {line}"
    return "undecodable bytes"


_SEPARATORS = {"\t": "tab", ";": "semicolon", "|": "pipe", ",": "comma"}


def read_table(path: str | os.PathLike, sep: str | None = None, nrows: int | None = None,
               encoding: str = "utf-8") -> pd.DataFrame:
    """Read a CSV/TSV file into a DataFrame; the separator follows the suffix unless given.

    A file that reads as one column whose name holds another separator, or that is not in
    `encoding`, is an error that says which `sep=` or `encoding=` to pass."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    if nrows is not None:
        checks.whole_number("max_train", nrows, error=DataError)
    auto = sep is None
    if sep is None:
        sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    kind = "TSV" if sep == "\t" else "CSV"
    try:
        df = pd.read_csv(path, sep=sep, nrows=nrows, encoding=encoding)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not {encoding} text ({_first_bad_byte(path, encoding)}); pass "
                        "encoding='latin-1' (or the file's encoding)") from None
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}; use e.g. 'utf-8' or 'latin-1'") from None
    except (pd.errors.ParserError, ValueError) as err:
        raise DataError(f"{path} could not be read as {kind}: {str(err).splitlines()[0]}") from None
    if len(df.columns) == 1:
        header = str(df.columns[0])
        other = next((s for s in _SEPARATORS if s != sep and s in header), None)
        if other is not None:
            hint = "" if auto else " instead of " + repr(sep)
            raise DataError(f"{path} reads as one column {header!r}: it looks {_SEPARATORS[other]}-separated; "
                            f"pass sep={other!r}{hint}")
    if len(df) == 0:
        raise DataError(f"{path} is empty: it has a header but no rows")
    return df


def texts_from_csv(
    path: str | os.PathLike,
    text_col: str = "text",
    label_col: str = "label",
    val_path: str | os.PathLike | None = None,
    *,
    sep: str | None = None,
    encoding: str = "utf-8",
    max_train: int | None = None,
    val_frac: float = 0.1,
    seed: int = 42,
    class_names: Sequence[str] | None = None,
    pair_col: str | None = None,
    task: str = "classification",
) -> TextData:
    """Labelled text from a CSV or TSV file (``.tsv`` is tab-separated; `sep` overrides).

    `max_train` reads only the first rows; `val_path` gives a validation file, else `val_frac`
    of the rows are held out, stratified by label.
    """
    task = _text_task(task, "texts_from_csv").name
    df = read_table(path, sep, max_train, encoding)
    _refuse_conll(path, df, text_col, task)
    val_df = None
    if val_path is not None:
        val_df = read_table(val_path, sep, encoding=encoding)
        _refuse_conll(val_path, val_df, text_col, task)
    return texts_from_df(df, text_col, label_col, val_df, val_frac=val_frac, seed=seed, class_names=class_names,
                         source=Path(path).name, pair_col=pair_col, task=task)


def _refuse_conll(path: str | os.PathLike, df: pd.DataFrame, text_col: str, task: str = "this task") -> None:
    """A file in a format another task reads (a CoNLL tagging file), read as a table, has one
    column named after its first line ("movie O"): say what the file is rather than that a
    column is missing."""
    from .tasks import INFERENCE_ORDER, TASKS, DataSample, get_task

    if text_col in df.columns:
        return
    sample = DataSample(path, None, {})
    owner = next((get_task(name) for name in INFERENCE_ORDER
                  if get_task(name).table_shape is None and get_task(name).recognises(sample)), None)
    if owner is not None:
        need = get_task(task).table_shape if task in TASKS else "a text and a label column"
        raise DataError(f"{Path(path).name} is {owner.file_kind}, which task {owner.name!r} reads; {task} needs a "
                        f"table with {need}")


_UNLABELLED_FOLDERS = {"unsup"}  # aclImdb keeps its unlabelled reviews in train/unsup


def _read_class_folders(root: Path, classes: Sequence[str] | None, encoding: str) -> tuple[list[str], list[str]]:
    if classes is None:
        classes = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in _UNLABELLED_FOLDERS)
    texts, labels = [], []
    for cls in classes:
        folder = root / cls
        if not folder.is_dir():
            raise DataError(f"class folder not found: {folder}")
        for file in sorted(folder.glob("*.txt")):
            texts.append(file.read_text(encoding=encoding, errors="replace"))
            labels.append(cls)
    if not texts:
        raise DataError(f"{root} has no .txt files in class sub-folders (expected {root}/<class>/*.txt)")
    return texts, labels


#: validation folders `texts_from_folder` looks for beside the training folder
VAL_FOLDERS = ("valid", "validation", "val", "dev")


def texts_from_folder(
    root: str | os.PathLike,
    train_dir: str = "train",
    val_dir: str | None = None,
    *,
    test_dir: str | None = "test",
    classes: Sequence[str] | None = None,
    val_frac: float = 0.1,
    seed: int = 42,
    encoding: str = "utf-8",
    max_train: int | None = None,
) -> TextData:
    """Labelled text from one sub-folder per class, as in aclImdb (``train/pos/*.txt``).

    `root/train_dir` is read for training when it exists, otherwise `root` itself holds the
    class folders. The validation set is `root/val_dir` (by default the first of valid,
    validation, val, dev that exists), else `val_frac` held out; `root/test_dir` (``test`` in
    aclImdb) is the test set that `evaluate` reports on. `classes` picks and orders the
    folders; an ``unsup`` folder (aclImdb's unlabelled reviews) is skipped unless named there.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"folder not found: {root}")
    if classes is not None:
        classes = checks.unique_names("classes", classes, error=DataError)
    train_root = root / train_dir if (root / train_dir).is_dir() else root
    texts, labels = _read_class_folders(train_root, classes, encoding)
    order = np.random.default_rng(seed).permutation(len(texts))  # files come class by class; max_train
    texts, labels = [texts[i] for i in order], [labels[i] for i in order]  # takes the first rows
    names = list(classes) if classes is not None else sorted(set(labels))
    beside = train_root != root  # split folders beside train/, not class folders
    if val_dir is not None and not (root / val_dir).is_dir():
        raise DataError(f"validation folder not found: {root / val_dir}")
    val_dir = val_dir or next((name for name in VAL_FOLDERS if beside and (root / name).is_dir()), None)
    val_texts = val_labels = None
    if val_dir is not None:
        val_texts, val_labels = _read_class_folders(root / val_dir, names, encoding)
    data = texts_from_array(texts, labels, val_texts, val_labels, val_frac=val_frac, seed=seed, class_names=names,
                            max_train=max_train, source=str(root))
    if test_dir and beside and test_dir != val_dir and (root / test_dir).is_dir():
        test_texts, test_labels = _read_class_folders(root / test_dir, names, encoding)
        data = data.with_test((test_texts, test_labels))
    return data


def texts_from_dataset(
    dataset: Any,
    text_col: str = "text",
    label_col: str = "label",
    *,
    pair_col: str | None = None,
    task: str | None = None,
    train_split: str = "train",
    val_split: str | None = None,
    test_split: str | None = None,
    val_frac: float = 0.1,
    seed: int = 42,
    class_names: Sequence[str] | None = None,
    max_train: int | None = None,
) -> TextData:
    """Labelled text from a Hugging Face `datasets.Dataset` or `DatasetDict`, in the hub's formats.

    The task is the one named, or the one the rows imply (as for a table): a `ClassLabel`
    column names the classes (in its order), a list of `ClassLabel` ids per word is a tagger's
    tags (CoNLL-2003's `tokens`/`ner_tags`), a list of ids per text is a multi-label row
    (GoEmotions' `labels`), a float column a regression target (STS-B, with `pair_col`), and
    `question`/`context`/`answers` columns SQuAD. For a DatasetDict the validation split is
    `val_split`, or the first of validation/valid/val/dev that has labels, else `val_frac` of the
    training rows held out; the test split (`TextData.test`, what `evaluate` reports on) is
    `test_split`, or a "test" split that has labels.
    """
    from .hub_format import dataset_rows, first_split, sample_frame, splits_of
    from .tasks import get_task, infer_task

    if first_split(dataset) is None:
        raise DataError("the dataset has no splits")
    several = isinstance(label_col, (list, tuple))  # 0/1 columns, one per label: the readers' table path
    probe = dataset.get(train_split, first_split(dataset)) if isinstance(dataset, dict) else dataset
    if task is None:
        task = "multilabel" if several else infer_task(probe, {"text_col": text_col, "label_col": label_col},
                                                       sample_frame(probe))
    chosen = get_task(task)
    if not several:  # the task's own column names on the hub (a tagger's tokens and ner_tags)
        text_col, label_col = chosen.dataset_columns(probe, text_col, label_col)
    parts = splits_of(dataset, train_split, val_split, label_col if not several else "", test_split)
    (_, train_ds), (val_name, val_ds), (test_name, test_ds) = parts["train"], parts["val"], parts["test"]
    if len(train_ds) == 0:
        raise DataError(f"dataset split {train_split!r} is empty")
    if max_train is not None:
        checks.whole_number("max_train", max_train, error=DataError)
        train_ds = train_ds.select(range(min(max_train, len(train_ds))))
    common = {"val_frac": val_frac, "seed": seed}
    import pandas as pd

    reading = {"class_names": class_names, "classes": chosen.labels_are_classes,
               "keep_empty": chosen.keeps_unlabelled_rows}

    def frame(ds: Any, name: str | None) -> Any:
        if ds is None:
            return None
        return ds.to_pandas() if several else pd.DataFrame(dataset_rows(ds, text_col, label_col, pair_col,
                                                                        f"split {name!r}", **reading)[0])

    if chosen.answers_questions:  # SQuAD's answers records: the task reads them
        data = chosen.load_data(train_ds, val_ds, **common)
    elif several:
        data = texts_from_df(train_ds.to_pandas(), text_col, label_col, frame(val_ds, val_name), pair_col=pair_col,
                             task=chosen.name, class_names=class_names, source=f"dataset split {train_split!r}",
                             **common)
    else:
        train_rows, names = dataset_rows(train_ds, text_col, label_col, pair_col, f"split {train_split!r}", **reading)
        if names is not None:
            reading["class_names"] = names
        if chosen.table_shape is None:
            data = chosen.load_data(pd.DataFrame(train_rows), frame(val_ds, val_name), text_col=text_col,
                                    label_col=label_col, **common)
        else:
            data = texts_from_df(pd.DataFrame(train_rows), text_col, label_col, frame(val_ds, val_name),
                                 pair_col=pair_col, task=chosen.name, class_names=reading["class_names"],
                                 source=f"dataset split {train_split!r}", **common)
    if test_ds is None:
        return data
    # the test rows read as the validation rows were (class names, tag names), checked against the classes
    test = test_ds if chosen.answers_questions else frame(test_ds, test_name)
    return data.with_test(test, text_col, label_col, pair_col)


def load_texts(source: Any, text_col: str = "text", label_col: str = "label", *, val_frac: float = 0.1,
               seed: int = 42, class_names: Sequence[str] | None = None, max_train: int | None = None,
               sep: str | None = None, encoding: str = "utf-8", pair_col: str | None = None,
               task: str | None = None, test: Any = None) -> TextData:
    """Read labelled text from whatever `source` is: a CSV/TSV path, a class-folder tree, a
    DataFrame, a `datasets` Dataset/DatasetDict, a ``(texts, labels)`` pair, or a `TextData`.

    The options mean the same for every source: `max_train` keeps the first training rows
    (before `val_frac` is held out), `class_names` fixes the classes and their order; `sep` and
    `encoding` apply to files. `pair_col` names the second text of a pair; ``task="regression"``
    reads numeric labels (without `task`: classification, or for a dataset the task its rows
    imply). A task with its own reader (tagging: CoNLL files, token lists) is handed to it; a
    misspelt task is refused. `test` is a held-out test set in any form `evaluate` reads (see
    `TextData.with_test`); a DatasetDict's labelled "test" split is taken as one."""
    data = _load_texts(source, text_col, label_col, val_frac=val_frac, seed=seed, class_names=class_names,
                       max_train=max_train, sep=sep, encoding=encoding, pair_col=pair_col, task=task)
    return data if test is None else data.with_test(test, text_col, label_col, pair_col)


def _load_texts(source: Any, text_col: str, label_col: str, *, val_frac: float, seed: int,
                class_names: Sequence[str] | None, max_train: int | None, sep: str | None, encoding: str,
                pair_col: str | None, task: str | None) -> TextData:
    from .hub_format import holds_datasets
    from .tasks import get_task

    if holds_datasets(source):  # the hub's formats, for any task (read from the rows unless named)
        return texts_from_dataset(source, text_col, label_col, pair_col=pair_col, task=task, class_names=class_names,
                                  val_frac=val_frac, seed=seed, max_train=max_train)
    text_task = get_task(task or "classification")  # a misspelt task is refused here, even for a TextData
    task = text_task.name
    if isinstance(source, TextData):
        return source
    if text_task.table_shape is None:  # not a table of texts and labels (tagged sentences): the task reads it
        return text_task.load_data(source, text_col=text_col, label_col=label_col, val_frac=val_frac, seed=seed,
                                        max_train=max_train, encoding=encoding)
    common = {"val_frac": val_frac, "seed": seed, "max_train": max_train}
    table = {"pair_col": pair_col, "task": task}
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            return texts_from_folder(path, classes=class_names, encoding=encoding, **common)
        return texts_from_csv(path, text_col, label_col, sep=sep, encoding=encoding, class_names=class_names,
                              **common, **table)
    if hasattr(source, "iloc") and hasattr(source, "columns"):
        return texts_from_df(source, text_col, label_col, class_names=class_names, **common, **table)
    if isinstance(source, (tuple, list)) and len(source) == 2:
        return texts_from_array(source[0], source[1], class_names=class_names, task=task, **common)
    raise DataError(
        f"can't read labelled text from a {type(source).__name__}; give a CSV/TSV path, a folder, "
        "a DataFrame, a datasets.Dataset, or (texts, labels)"
    )


def read_labelled(source: Any, text_col: str = "text", label_col: str = "label", *, sep: str | None = None,
                  encoding: str = "utf-8", pair_col: str | None = None,
                  labels_required: bool = True, classes: bool = True) -> tuple[list[Any], list[Any]]:
    """Texts (or (text, text) pairs, with `pair_col`) and raw labels (names, ids or numbers, not
    yet encoded) from any source `load_texts` reads; for data judged against an existing
    model, such as a test set. With `labels_required` False (multi-label), a row with no label
    is kept, as a text with none of the labels. `classes` False (scores): a -1 in a dataset is a
    score, not the hub's "no label"."""
    if isinstance(source, TextData):
        part = source.held_out()
        texts = list(zip(part.texts, part.pairs)) if part.pairs is not None else part.texts
        from .tasks import get_task

        labels = get_task(source.task).raw_labels(part.labels, source.class_names)
    elif isinstance(source, (tuple, list)) and len(source) == 2:
        texts, labels = _as_list(source[0], "texts", "evaluation data"), _as_list(source[1], "labels",
                                                                                   "evaluation data")
        if len(texts) != len(labels):
            raise DataError(f"evaluation data: {len(texts)} texts but {len(labels)} labels; they must be the same "
                            "length")
    elif isinstance(source, (str, os.PathLike)):
        table = read_table(source, sep, encoding=encoding)
        _refuse_conll(source, table, text_col)
        texts, labels = _columns(table, text_col, label_col, Path(source).name, pair_col)
    elif hasattr(source, "iloc"):
        texts, labels = _columns(source, text_col, label_col, "DataFrame", pair_col)
    elif hasattr(source, "column_names") and hasattr(source, "features"):  # a datasets.Dataset
        from .hub_format import dataset_labelled

        texts, labels = dataset_labelled(source, text_col, label_col, pair_col, classes=classes,
                                         keep_empty=not labels_required)
    else:
        raise DataError(f"can't read labelled text from a {type(source).__name__}; give a CSV/TSV path, "
                        "a DataFrame, a datasets.Dataset, or (texts, labels)")
    if len(texts) == 0:
        raise DataError("the evaluation data is empty")
    return _drop_missing(texts, labels, "evaluation data", labels_required)
