"""The named public data sets ("sst2", "stsb", "conll2003", "go_emotions", "squad"), each for
its task: a local copy when one is found, else the Hugging Face hub's copy read in the hub's
own formats (`ktnb.data.texts_from_dataset`).

>>> sorted(NAMED_DATASETS)
['conll2003', 'go_emotions', 'squad', 'sst2', 'stsb']
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import checks
from .errors import DataError


# ---------------------------------------------------------------- named data sets

@dataclass(frozen=True)
class NamedDataset:
    """A public data set for its `task`: where its local copy lives and how it is read (`read_local(folder,
    max_train, seed)`), and where it is on the hub (`hub_id`, `hub_config`), with the columns
    and splits `texts_from_dataset` reads there."""

    task: str
    folder: str
    train_file: str
    read_local: Callable[[Path, int | None, int], Any]
    hub_id: str
    hub_config: str | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    #: the hub's split that picks the best weights (None: held out from train) and the one
    #: reported on; a set whose test labels are not public reports on its dev split
    val_split: str | None = "validation"
    test_split: str = "test"
    about: str = ""


def _sst2(folder: Path, max_train: int | None, seed: int) -> Any:
    from .data import texts_from_csv

    data = texts_from_csv(folder / "train.csv", val_path=folder / "dev.csv", max_train=max_train, seed=seed,
                          class_names=("negative", "positive"))
    return data.with_test(folder / "test.csv") if (folder / "test.csv").is_file() else data


def _stsb(folder: Path, max_train: int | None, seed: int) -> Any:
    from .data import texts_from_csv

    # GLUE's test scores are not public: the dev set is the test set, validation is held out
    data = texts_from_csv(folder / "train.csv", "sentence1", "score", pair_col="sentence2", task="regression",
                          max_train=max_train, seed=seed)
    return data.with_test(folder / "dev.csv", "sentence1", "score", "sentence2")


def _conll(folder: Path, max_train: int | None, seed: int) -> Any:
    from .tasks import get_task

    return get_task("tagging").load_data(folder / "train.txt", max_train=max_train, seed=seed) \
        .with_test(folder / "test.txt")


#: GoEmotions' labels in the order of their ids (the hub's ClassLabel order): all of them, so
#: that a few training rows are still scored against a test set that has the rare ones
GOEMOTIONS_LABELS = ("admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity",
                     "desire", "disappointment", "disapproval", "disgust", "embarrassment", "excitement", "fear",
                     "gratitude", "grief", "joy", "love", "nervousness", "optimism", "pride", "realization", "relief",
                     "remorse", "sadness", "surprise", "neutral")


def _goemotions(folder: Path, max_train: int | None, seed: int) -> Any:
    from .data import texts_from_csv

    data = texts_from_csv(folder / "train.csv", "text", "labels", task="multilabel", max_train=max_train, seed=seed,
                          class_names=GOEMOTIONS_LABELS)
    return data.with_test(folder / "dev.csv", "text", "labels")


def _squad(folder: Path, max_train: int | None, seed: int) -> Any:
    from .tasks import get_task

    # SQuAD's test set is not public: the dev set is the test set, validation is held out by article
    return get_task("qa").load_data(folder / "train.json", max_train=max_train, seed=seed) \
        .with_test(folder / "dev.json")


NAMED_DATASETS: dict[str, NamedDataset] = {
    # the hub's stanfordnlp/sst2 (GLUE) trains on 67k phrases; SetFit/sst2 holds the 6,920 sentences
    # that the local copy and the README's figures use (its labels are 0/1, named here)
    "sst2": NamedDataset("classification", "sst2", "train.csv", _sst2, "SetFit/sst2",
                         columns={"class_names": ("negative", "positive")},
                         about="SST-2 sentences (6,920 train, 872 validation, 1,821 test), sentiment"),
    "stsb": NamedDataset("regression", "stsb", "train.csv", _stsb, "nyu-mll/glue", "stsb",
                         {"text_col": "sentence1", "pair_col": "sentence2"}, val_split=None, test_split="validation",
                         about="STS-B sentence pairs scored 0-5 (GLUE's dev set as the test set)"),
    "conll2003": NamedDataset("tagging", "conll2003", "train.txt", _conll, "eriktks/conll2003",
                              columns={"text_col": "tokens", "label_col": "ner_tags"},
                              about="CoNLL-2003 English named entities"),
    "go_emotions": NamedDataset("multilabel", "goemotions", "train.csv", _goemotions,
                                "google-research-datasets/go_emotions", "simplified", {"label_col": "labels"},
                                about="GoEmotions Reddit comments, 27 emotions and neutral"),
    "squad": NamedDataset("qa", "squad", "train.json", _squad, "rajpurkar/squad", val_split=None,
                          test_split="validation", about="SQuAD v1.1, extractive question answering (its dev set as "
                                                         "the test set)"),
}


def named_dataset_key(name: Any) -> str | None:
    """The key of a named set from what a user may type ("SST-2", "goemotions", "go-emotions")."""
    if not isinstance(name, str):
        return None
    typed = name.lower().replace("-", "").replace("_", "")
    return next((key for key in NAMED_DATASETS if key.replace("_", "") == typed), None)


def _local_dataset_dir(key: str, data_dir: str | os.PathLike | None) -> Path | None:
    """`data_dir` (the set's own folder, or a folder holding it), then $KTNB_DATA_DIR, then
    ~/.cache/ktnb/datasets; None when no local copy is found."""
    spec = NAMED_DATASETS[key]
    roots = [Path(data_dir)] if data_dir is not None else []
    if os.environ.get("KTNB_DATA_DIR"):
        roots.append(Path(os.environ["KTNB_DATA_DIR"]))
    roots.append(Path.home() / ".cache" / "ktnb" / "datasets")
    for root in roots:
        for candidate in (root, root / spec.folder):
            if (candidate / spec.train_file).is_file():
                return candidate
    if data_dir is not None:
        raise DataError(f"no {key} copy in {data_dir}: expected {Path(data_dir) / spec.folder / spec.train_file}")
    return None


def download(spec: NamedDataset) -> Any:
    """The set's splits from the hub (a `DatasetDict`); a data set stored as a loading script,
    which `datasets` no longer runs, is read from the hub's own Parquet conversion."""
    import datasets

    try:
        return datasets.load_dataset(spec.hub_id, spec.hub_config)
    except Exception as err:
        if "script" in str(err).lower():
            try:
                return datasets.load_dataset(spec.hub_id, spec.hub_config, revision="refs/convert/parquet")
            except Exception as second:
                err = second
        raise DataError(f"could not download {spec.hub_id} ({type(err).__name__}); put a local copy in "
                        f"$KTNB_DATA_DIR/{spec.folder}/ or pass data_dir=") from None


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, *, max_train: int | None = None,
                 seed: int = 42) -> Any:
    """A named public data set as `TextData` for its task, with a validation split (the set's
    own, else held out from its training rows) and a test split that `evaluate` reports on:
    "sst2" (sentiment), "stsb" (pairs scored 0-5), "conll2003" (named entities),
    "go_emotions" (multi-label), "squad" (question answering).

    A local copy is read when found (`data_dir`, the set's folder or one holding it, then
    $KTNB_DATA_DIR, then ~/.cache/ktnb/datasets); otherwise the hub's copy is downloaded with
    `datasets.load_dataset`. `max_train` keeps the first training rows, for quick runs.

    >>> ktnb.load_dataset("conll2003", max_train=500).task   # doctest: +SKIP
    'tagging'
    """
    if max_train is not None:
        checks.whole_number("max_train", max_train, error=DataError)
    key = named_dataset_key(name)
    if key is None:
        raise DataError(f"unknown data set {name!r}; known: {', '.join(NAMED_DATASETS)}")
    spec = NAMED_DATASETS[key]
    local = _local_dataset_dir(key, data_dir)
    if local is not None:
        return spec.read_local(local, max_train, seed)
    hub = download(spec)
    from .data import texts_from_dataset

    val_split, test_split = (name if name in hub else None for name in (spec.val_split, spec.test_split))
    splits = {name: hub[name] for name in ("train", val_split, test_split) if name is not None}
    return texts_from_dataset(splits, val_split=val_split, test_split=test_split, task=spec.task, max_train=max_train,
                              seed=seed, **spec.columns)


__all__ = ["load_dataset", "NAMED_DATASETS", "NamedDataset", "named_dataset_key", "download"]
