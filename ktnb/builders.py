"""Building a learner: from data and a model name (`text_learner` and the task-named helpers),
or from a checkpointed run in a new process (`load_learner`, `resume`). The learner itself
(`ktnb.learner`) is the training loop; this is what sits in front of it.

>>> learner = ktnb.text_learner("train.csv", max_len=64)          # doctest: +SKIP
>>> learner = ktnb.resume("runs/sentiment")                        # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import checks
from .checkpoints import DAMAGED_FIX, checkpoint_path, read_checkpoint, restore
from .config import check_config, infer_task, load_config_data
from .data import TextData
from .errors import KtnbError, ModelError, TrainingError
from .learner import Learner
from .storage import MANIFEST
from .tasks import Task, get_task

# options of the data readers, not of a learner, with a reader that takes each
READER_OPTIONS = {"max_train": "texts_from_csv", "val_frac": "texts_from_csv", "val_path": "texts_from_csv",
                  "class_names": "texts_from_csv", "sep": "texts_from_csv", "encoding": "texts_from_csv",
                  "val_df": "texts_from_df", "val_texts": "texts_from_array", "val_labels": "texts_from_array"}


def _check_learner_settings(settings: dict[str, Any]) -> None:
    """A setting a Learner does not take is a one-line error naming the ones it does."""
    import difflib
    import inspect

    known = [name for name in inspect.signature(Learner.__init__).parameters
             if name not in ("self", "model", "tokenizer", "data", "task")]
    for name in settings:
        if name in known:
            continue
        if name in READER_OPTIONS:
            raise TrainingError(f"{name} is an option of the data readers, not of the learner: read the data with "
                                f"it first (e.g. data = ktnb.{READER_OPTIONS[name]}(..., {name}=...)) and pass that "
                                "data")
        near = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise TrainingError(f"text_learner has no setting {name!r}; {hint}it takes {', '.join(known)}")


def text_learner(data: Any, model: str | None = None, *, task: str | Task | None = None, text_col: str = "text",
                 label_col: str = "label", pair_col: str | None = None, seed: int = 42,
                 **learner_kwargs: Any) -> Learner:
    """A `Learner` for any task: `data` (anything `load_texts` reads, or a `TextData` that
    names its task) and `model` (a hub name, a local directory, or None for the
    offline-capable default MiniLM). `task` ("classification", "regression", or a task with
    options, ``ktnb.get_task("qa", stride=64)``) is read from the data when not given.

    >>> learner = text_learner("stsb.csv", task="regression", text_col="sentence1",
    ...                        pair_col="sentence2", label_col="score")      # doctest: +SKIP
    """
    from accelerate.utils import set_seed

    from .models import ensure_pad_token, load_for_task, load_tokenizer, resolve_checkpoint

    _check_learner_settings(learner_kwargs)  # before the data and the model are read, which takes a while
    if isinstance(data, (str, os.PathLike)):  # read as a %%ktrain cell reads it, so a checkpoint can read it again
        config = check_config({"data": data, "task": task, "text_col": text_col, "label_col": label_col,
                               "pair_col": pair_col})
        config["task"] = config["task"] or infer_task(data, config)  # "reads the task from the data" as the cell does
        data = load_config_data(data, config)
    elif not isinstance(data, TextData):
        columns = {"text_col": text_col, "label_col": label_col, "pair_col": pair_col, "sep": None, "encoding": None}
        data = get_task(task or infer_task(data, columns)).load_data(data, text_col=text_col, label_col=label_col,
                                                                     pair_col=pair_col)
        if data.origin is None:  # no file to read again, but a resume given the object reads these columns
            data.origin = {"data": None, "val": None, "task": data.task, "text_col": text_col,
                           "label_col": label_col, "pair_col": pair_col}
    elif task is not None and get_task(task).name != data.task:
        raise TrainingError(f"the data was read for {data.task}, not {get_task(task).name}; read it again with "
                            f"task={get_task(task).name!r}")
    # the task with its options: those given here, else those the data was read with
    chosen = get_task(task) if isinstance(task, Task) else get_task(data.task, **data.task_options)
    checkpoint = resolve_checkpoint(model)
    set_seed(checks.whole_number("seed", seed, 0))  # the new head's initial weights
    tokenizer = load_tokenizer(checkpoint)
    net = load_for_task(checkpoint, chosen, data.class_names)
    if net.new_head:
        chosen.init_head(net, data.train.labels)
    ensure_pad_token(tokenizer, net)
    learner = Learner(net, tokenizer, data, seed=seed, task=chosen, **learner_kwargs)
    learner.checkpoint = checkpoint
    return learner


def text_classifier(data: Any, model: str | None = None, *, text_col: str = "text", label_col: str = "label",
                    seed: int = 42, **learner_kwargs: Any) -> Learner:
    """A `Learner` for text classification (see `text_learner`).

    >>> learner = text_classifier("train.csv", max_len=64, batch_size=32)   # doctest: +SKIP
    """
    return text_learner(data, model, text_col=text_col, label_col=label_col, seed=seed, **learner_kwargs)


def text_regressor(data: Any, model: str | None = None, *, text_col: str = "text", label_col: str = "label",
                   pair_col: str | None = None, seed: int = 42, **learner_kwargs: Any) -> Learner:
    """A `Learner` that predicts a number from a text or a text pair (ktrain's text regression).

    >>> learner = text_regressor(df, text_col="sentence1", pair_col="sentence2", label_col="score")  # doctest: +SKIP
    """
    return text_learner(data, model, task="regression", text_col=text_col, label_col=label_col, pair_col=pair_col,
                        seed=seed, **learner_kwargs)


def load_learner(folder: str | os.PathLike, data: Any = None, **overrides: Any) -> Any:
    """The learner of a checkpointed run, rebuilt in this process with its state restored
    (training does not go on; `learner.resume(folder)` does that). The data is read again from
    where it came from (a file or a named data set); data that came from a Python object must
    be passed as `data` (the same rows). `overrides` change learner settings such as `device`.

    >>> learner = ktnb.load_learner("runs/sentiment")     # doctest: +SKIP
    """
    from .data import TextData
    from .config import load_config_data

    call = overrides.pop("_call", "ktnb.load_learner")
    path = checkpoint_path(folder, call)
    meta = read_checkpoint(path, call)
    for name in ("model", "task", "checkpoint_dir"):
        if name in overrides:
            what = {"model": "its weights and model", "task": "its task",
                    "checkpoint_dir": "the folder its checkpoints go to"}[name]
            raise TrainingError(f"{call} takes {what} from the checkpoint in {path}; leave {name}= out (to go on in "
                                "another folder, copy this one and resume the copy)")
    # how the run read its data (columns, split, rows), to read the data given now the same way
    reading = {key: overrides.pop(key) for key in ("text_col", "label_col", "pair_col") if key in overrides}
    origin = _origin_config(path, meta["data"], reading)
    if data is None:
        if origin is None or origin["data"] is None:
            raise TrainingError(f"the run in {path} was trained on data from a Python object, which a new process "
                                "cannot read again; pass it: ktnb.resume(folder, data=...)")
        data = load_config_data(origin["data"], origin)
    elif origin is not None and origin["data"] is not None and not isinstance(data, TextData):
        data = load_config_data(data, origin)
    elif origin is not None:  # read by text_learner from a Python object: the same columns
        reading = {key: origin[key] for key in ("text_col", "label_col", "pair_col")}
    settings = {**meta["learner"], "checkpoint_every": meta["checkpoint_every"], **overrides}
    task = get_task(meta["task"], **meta.get("task_options", {}))
    # a LoRA run's folder holds merged weights: it goes on from its base model and its adapters
    source = str(path)
    if settings.get("lora"):
        if not meta["base_model"]:
            raise ModelError(f"the LoRA run in {path} does not name its base model, which its adapters need; "
                             f"{DAMAGED_FIX}")
        source = meta["base_model"]
    learner = text_learner(data, source, task=task, checkpoint_dir=path, **reading, **settings)
    if meta["base_model"]:
        learner.checkpoint = meta["base_model"]
    restore(learner, path, meta)
    return learner


def _origin_config(path: Path, origin: dict[str, Any] | None, reading: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint's record of where its data came from as a checked `%%ktrain` config (with
    the columns `reading` names instead, when given); a record that does not check out means
    the metadata is damaged."""
    from .config import check_config

    if origin is None:
        return None
    try:
        # data: None is a Python object that text_learner read (its columns are kept)
        config = check_config({**origin, **reading, "data": origin.get("data") or "a Python object"})
    except KtnbError as err:
        raise ModelError(f"{path / MANIFEST} is damaged: its record of the data has {err} (edited by hand?); "
                         f"{DAMAGED_FIX}") from None
    config["data"] = origin.get("data")
    return config


def resume(folder: str | os.PathLike, data: Any = None, **overrides: Any) -> Any:
    """Rebuild the learner of a checkpointed run (see `load_learner`) and carry the run on to
    its end; returns the learner.

    >>> learner = ktnb.resume("runs/sentiment")           # doctest: +SKIP
    """
    learner = load_learner(folder, data, _call="ktnb.resume", **overrides)
    learner.resume(folder)
    return learner


def get_learner(model: Any, train_data: Any = None, val_data: Any = None, batch_size: int = 32,
                eval_batch_size: int | None = None, workers: int = 1, use_multiprocessing: bool = False,
                **settings: Any) -> Any:
    """ktrain's `get_learner(model, train_data, val_data, batch_size)`: here `model` is a hub
    name or folder (None: the default MiniLM), not a compiled model, and `train_data`/
    `val_data` are anything `load_texts` reads (a path, a DataFrame, (texts, labels), a
    `TextData`), since ktnb needs no separate preprocessing step. Other settings go to
    `text_learner` (`task=`, `text_col=`, `label_col=`, `max_len=`, …); ktrain's `workers` and
    `use_multiprocessing` (Keras data loading) are accepted and change nothing."""
    if hasattr(model, "parameters") and not isinstance(model, str):
        raise KtnbError("get_learner takes a model's hub name or folder (or None for the default), not a model "
                        "object: ktnb loads and sizes the head for your data itself")
    if train_data is None:
        raise KtnbError("get_learner needs train_data: a CSV path, a DataFrame, (texts, labels) or a TextData")
    if val_data is not None:
        if isinstance(train_data, TextData):
            raise KtnbError("train_data is a TextData that holds its own validation split; leave val_data out")
        columns = {k: settings[k] for k in ("text_col", "label_col", "pair_col") if k in settings}
        task = settings.get("task") or infer_task(train_data, {"sep": None, "encoding": None, **columns})
        train_data = get_task(task).load_data(train_data, val_data, **columns)
    return text_learner(train_data, model, batch_size=batch_size, eval_batch_size=eval_batch_size, **settings)


def get_predictor(learner: Any, preproc: Any = None, batch_size: int | None = None) -> Any:
    """ktrain's `get_predictor(model, preproc)`: here it takes the learner (which holds the
    model, its tokenizer and task, so there is no `preproc`) and gives `learner.predictor()`."""
    if not hasattr(learner, "predictor") or not callable(learner.predictor):
        raise KtnbError("get_predictor takes the learner: ktnb.get_predictor(learner) (it holds the tokenizer "
                        "and the task, so there is no preproc to pass)")
    return learner.predictor(batch_size)




__all__ = ["text_learner", "text_classifier", "text_regressor", "load_learner", "resume", "get_learner", "get_predictor"]
