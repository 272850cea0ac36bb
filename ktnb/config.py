"""The keys of a ``%%ktrain`` cell (and of `run_workflow`'s dict): what each may hold, their
checks, and how the data they name is read (the task it asks for, when none is given).

>>> check_config({"data": "train.csv", "lr": "find", "epochs": 2})["schedule"]
'onecycle'
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from typing import Any, Mapping

from . import checks
from .errors import KtnbError
from .schedules import SCHEDULES

#: what `show:` may name: these, and the pictures of the chosen task (confusion, scatter, …)
SHOW_STEPS = ("report", "history", "lr_find", "top_losses", "attention", "explain")

#: key -> (default, description); the description names the allowed values
CONFIG_KEYS: dict[str, tuple[Any, str]] = {
    "data": (None, "a CSV/TSV path, a folder, a notebook variable (DataFrame, Dataset, (texts, labels)), or sst2"),
    "val": (None, "validation data, same forms as data (default: hold out val_frac)"),
    "test": (None, "test data, same forms as data: held out from training and validation, what the report is on "
                   "(a named set brings its own)"),
    "task": (None, "one of: classification, generation, multilabel, qa, regression, summarization, tagging, "
                   "translation, in any case, or an alias such as ner (default: tagging for a CoNLL file, "
                   "translation or summarization for source/target or document/summary columns, "
                   "multilabel when labels are lists or ';'-joined, regression when they are fractional numbers, "
                   "else classification)"),
    "task_options": (None, "the task's own options as a mapping, e.g. {stride: 64} for qa"),
    "text_col": ("text", "the text column"),
    "label_col": ("label", "the label column, or a list of 0/1 columns, one per label (multi-label)"),
    "pair_col": (None, "the column of the second text, for text pairs"),
    "val_frac": (0.1, "a fraction between 0 and 1"),
    "max_train": (None, "a whole number: use only the first N training rows"),
    "class_names": (None, "a list of class names, in label-id order"),
    "sep": (None, "the column separator of a CSV/TSV file, e.g. ';' or '\\t' (default: from the suffix)"),
    "encoding": ("utf-8", "the text encoding of a CSV/TSV file, e.g. latin-1"),
    "model": (None, "a hub name or model folder (default: the offline MiniLM)"),
    "max_len": (None, "a whole number, or auto"),
    "batch_size": (32, "a whole number"),
    "lr": ("find", "a number, or find (run the LR finder and take its suggestion for this run's length)"),
    "epochs": ("auto", "a whole number, or auto (about 100 optimizer steps: 1 epoch of 2,000 rows, 6 of 300); "
                       "with early_stopping, the most epochs"),
    "schedule": ("onecycle", "one of " + ", ".join(SCHEDULES)),
    "early_stopping": (None, "patience in epochs: train until validation loss stops improving"),
    "grad_accum": (1, "a whole number"),
    "lora": (None, "true, or LoRA settings such as {r: 16, alpha: 32}: train adapters only (needs peft)"),
    "device": ("auto", "auto, cpu, cuda, cuda:N or mps"),
    "mixed_precision": ("auto", "auto, no, fp16 or bf16"),
    "seed": (42, "a whole number"),
    "show": (None, "a list of: " + ", ".join(SHOW_STEPS) + ", and the task's pictures (classification: confusion; "
                   "regression: scatter); default: report and the task's picture. explain: which words made "
                   "the model decide, for the predict: inputs (else the first 3 validation ones)"),
    "attention": (None, "a (non-empty) sentence whose attention to show"),
    "predict": (None, "a sentence or a list of (non-empty) sentences to predict for ([first, second] for pairs)"),
    "save": (None, "a folder to save the predictor in"),
    "checkpoint_dir": (None, "a folder for checkpoints (every epoch; %ktrain resume DIR carries a lost run on)"),
    "checkpoint_every": (None, "a whole number: also checkpoint every N optimizer steps"),
}


def _fail(key: str, value: Any) -> KtnbError:
    return KtnbError(f"{key}: {value!r} is not allowed; expected {CONFIG_KEYS[key][1]}")


def _number_or_same(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _whole(key: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(key, value)
    return value


def check_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults filled in; an unknown key or a bad value is a one-line `KtnbError` naming the
    key and what it accepts."""
    if not isinstance(raw, Mapping):
        raise KtnbError(f"the config must be key: value lines (e.g. data: train.csv), not a {type(raw).__name__}")
    unknown = [k for k in raw if k not in CONFIG_KEYS]
    if unknown:
        near = difflib.get_close_matches(str(unknown[0]), CONFIG_KEYS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise KtnbError(f"unknown key {unknown[0]!r}{hint}; allowed keys: {', '.join(CONFIG_KEYS)}")
    config = {key: default for key, (default, _) in CONFIG_KEYS.items()}
    config.update({key: checks.plain(value) for key, value in raw.items()})  # {n} may be a numpy number
    for key in ("lr", "val_frac"):  # YAML 1.1 reads 5e-5 (no dot) as a string
        config[key] = _number_or_same(config[key])
    if config["data"] is None:
        raise KtnbError("data: missing; give a CSV/TSV path, a folder, a notebook variable, or sst2")
    lr = config["lr"]
    if not (lr == "find" or (isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr > 0)):
        raise _fail("lr", lr)
    if config["max_len"] == "auto":
        config["max_len"] = None
    for key in ("batch_size", "grad_accum"):
        _whole(key, config[key])
    if config["epochs"] != "auto":
        _whole("epochs", config["epochs"])
    for key in ("max_len", "max_train", "early_stopping", "checkpoint_every"):
        if config[key] is not None:
            _whole(key, config[key])
    _whole("seed", config["seed"], 0)
    if not (isinstance(config["val_frac"], (int, float)) and 0 <= config["val_frac"] < 1):
        raise _fail("val_frac", config["val_frac"])
    if config["lora"] is not None:
        from .lora import lora_settings

        config["lora"] = lora_settings(config["lora"])  # its messages name lora
    if config["schedule"] not in SCHEDULES:
        raise _fail("schedule", config["schedule"])
    if config["class_names"] is not None:
        config["class_names"] = checks.unique_names("class_names", config["class_names"])
    if config["task"] is not None:
        from .tasks import task_name

        config["task"] = task_name(config["task"])  # aliases (ner) and any case; a misspelling is refused
    options = config["task_options"]
    if options is not None:
        if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
            raise _fail("task_options", options)
        if config["task"] is not None:  # else checked once the data has named its task
            from .tasks import get_task

            get_task(config["task"], **options)  # an unknown option or a bad value is refused now
    label_col = config["label_col"]
    if isinstance(label_col, (list, tuple)):  # several 0/1 columns, one per label (multi-label)
        if not label_col or not all(isinstance(c, str) and c for c in label_col):
            raise _fail("label_col", label_col)
        config["label_col"] = checks.unique_names("label_col", label_col)
    for key in ("sep", "encoding", "text_col", "label_col", "pair_col"):
        if key == "label_col" and isinstance(config[key], list):
            continue
        if config[key] is not None and not (isinstance(config[key], str) and config[key]):
            raise _fail(key, config[key])
    if config["checkpoint_dir"] is not None and not (isinstance(config["checkpoint_dir"], str)
                                                     and config["checkpoint_dir"].strip()):
        raise _fail("checkpoint_dir", config["checkpoint_dir"])
    if config["save"] is not None and not str(config["save"]).strip():
        raise KtnbError("save needs a folder path, e.g. save('my-model'); got an empty path")
    texts = config["attention"]
    if texts is not None and not (isinstance(texts, str) and texts.strip()):
        raise _fail("attention", texts)
    predict = [config["predict"]] if isinstance(config["predict"], str) else config["predict"]
    if predict is not None:
        if not isinstance(predict, list) or not all(_is_text(t) or (isinstance(t, (list, tuple)) and len(t) == 2
                                                                     and all(map(_is_text, t))) for t in predict):
            raise _fail("predict", config["predict"])
        config["predict"] = [tuple(t) if isinstance(t, list) else t for t in predict]
    show = config["show"]
    config["show"] = [show] if isinstance(show, str) else list(show) if show is not None else None
    return config


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def check_show(show: list[str] | None, task: Any) -> list[str]:
    """`show:` checked against the chosen task's pictures; by default the report and its first picture."""
    if show is None:
        return ["report", *task.pictures[:1]]
    steps = [step for step in SHOW_STEPS if step != "top_losses" or task.ranks_examples]
    for item in show:
        if item == "top_losses" and not task.ranks_examples:
            raise KtnbError(f"show: 'top_losses' is not allowed for {task.title}, whose examples are not scored one "
                            f"by one; expected a list of: {', '.join((*steps, *task.pictures))}")
        if item == "explain" and not task.explainable:
            raise KtnbError(f"show: 'explain' is not allowed for {task.title} yet; expected a list of: "
                            f"{', '.join((*(s for s in steps if s != 'explain'), *task.pictures))}")
        if item not in steps and item not in task.pictures:
            raise KtnbError(f"show: {item!r} is not allowed; expected a list of: "
                            f"{', '.join((*steps, *task.pictures))}")
    return show


def load_config_data(source: Any, config: Mapping[str, Any]) -> Any:
    """The data named by the config: ``sst2`` (a named set) or anything `load_texts` reads,
    with `max_train` meaning the first training rows whatever the source."""
    from .hub import load_dataset, named_dataset_key

    path = source if isinstance(source, (str, os.PathLike)) else None
    if hasattr(source, "task") and hasattr(source, "train") and hasattr(source, "task_options"):  # read already
        from .tasks import get_task

        if config["task"] is not None and get_task(config["task"]).name != source.task:
            raise KtnbError(f"data: was read for {source.task}, not {get_task(config['task']).name}; leave task: out, "
                            f"or set task: {source.task}")
        for key in ("max_train", "val"):  # how rows are read and split: decided when the data was read
            if config.get(key) is not None:
                raise KtnbError(f"{key}: does not apply to data already read (a TextData); read it again with "
                                f"{key}=, or leave {key}: out")
        data = source
        if config["task_options"]:  # the cell's options over those it was read with
            data = dataclasses.replace(source, task_options=dict(get_task(
                source.task, **{**source.task_options, **config["task_options"]}).options))
    elif path is not None and named_dataset_key(str(path)) is not None and not os.path.exists(path):
        from .tasks import get_task

        data = load_dataset(str(path), max_train=config["max_train"], seed=config["seed"])
        if config["task"] is not None and get_task(config["task"]).name != data.task:
            raise KtnbError(f"data: {path} is a {data.task} data set, not {get_task(config['task']).name}; "
                            f"leave task: out, or set task: {data.task}")
        data.task_options = dict(get_task(data.task, **(config["task_options"] or {})).options)
    else:
        from .tasks import get_task

        task = get_task(config["task"] or "classification", **(config["task_options"] or {}))
        options = {"text_col": config["text_col"], "label_col": config["label_col"], "val_frac": config["val_frac"],
                   "seed": config["seed"], "max_train": config["max_train"], "sep": config["sep"],
                   "encoding": config["encoding"], "pair_col": config["pair_col"]}
        if config["class_names"] is not None:
            options["class_names"] = config["class_names"]
        data = task.load_data(source, config["val"], **options)
        data.task_options = {**task.options, **(data.task_options or {})}  # with what the reader learnt (a format)
    if config.get("test") is not None:
        data = data.with_test(config["test"], config["text_col"], config["label_col"], config["pair_col"])
    if path is not None and all(config.get(key) is None or isinstance(config[key], (str, os.PathLike))
                                for key in ("val", "test")):
        # read from files (or a named set): a new process can read it again to resume a run
        files = {key: config.get(key) and str(config[key]) for key in ("val", "test")}
        data.origin = {key: (os.path.abspath(value) if key in ("data", "val", "test") and value is not None
                             and os.path.exists(value) else value)
                       for key, value in {"data": str(path), **files,
                                          "task": data.task, **{k: config[k] for k in _DATA_KEYS}}.items()}
    return data


#: the config keys that say how data is read (what `TextData.origin` records)
_DATA_KEYS = ("text_col", "label_col", "pair_col", "val_frac", "max_train", "class_names", "sep", "encoding", "seed",
              "task_options")


def infer_task(source: Any, config: Mapping[str, Any]) -> str:
    """The task the data asks for when `task:` is not given: each task is asked in turn
    (`ktnb.tasks.infer_task`) — tagging for a CoNLL file, a table whose text column holds word
    lists, or a list of (tokens, tags); multilabel when labels are lists or ";"-joined names;
    regression when they are numbers with fractions (a score of 3.8); classification otherwise."""
    from .data import read_table
    from .tasks import infer_task as first_task_recognising

    from .hub import NAMED_DATASETS, named_dataset_key
    from .hub_format import first_split, is_dataset, sample_frame

    if isinstance(source, str) and named_dataset_key(source) and not os.path.exists(source):
        return NAMED_DATASETS[named_dataset_key(source)].task  # data: conll2003
    if hasattr(source, "task") and hasattr(source, "train") and hasattr(source, "task_options"):
        return source.task  # data already read (TextData), with its task
    frame = None
    if hasattr(source, "iloc") and hasattr(source, "columns"):
        frame = source.head(200)
    elif is_dataset(first_split(source)):  # the hub's formats: class ids read as their names
        frame = sample_frame(first_split(source))
    elif isinstance(source, (str, os.PathLike)) and os.path.isfile(source):
        try:  # a table's first rows; a file that is none (CoNLL, JSON) is judged by its task
            frame = read_table(source, config["sep"], 200, config["encoding"])
        except KtnbError:
            frame = None
    return first_task_recognising(source, config, frame)
