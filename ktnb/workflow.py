"""The whole ktrain-style workflow from one small config: data → learner → (lr_find) → fit →
evaluate → predict → save. The ``%%ktrain`` magic parses its cell body into this config; from
Python, `run_workflow` takes the same keys as a dict.

>>> check_config({"data": "train.csv", "lr": "find", "epochs": 2})["schedule"]
'onecycle'
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from . import checks
from .errors import KtnbError
from .schedules import SCHEDULES

#: what `show:` may name: these, and the pictures of the chosen task (confusion, scatter, …)
SHOW_STEPS = ("report", "history", "lr_find", "top_losses", "attention")

#: key -> (default, description); the description names the allowed values
CONFIG_KEYS: dict[str, tuple[Any, str]] = {
    "data": (None, "a CSV/TSV path, a folder, a notebook variable (DataFrame, Dataset, (texts, labels)), or sst2"),
    "val": (None, "validation data, same forms as data (default: hold out val_frac)"),
    "task": (None, "one of: classification, multilabel, regression, tagging, in any case, or an alias such as ner "
                   "(default: tagging for a CoNLL file, "
                   "multilabel when labels are lists or ';'-joined, regression when they are fractional numbers, "
                   "else classification)"),
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
    "device": ("auto", "auto, cpu, cuda, cuda:N or mps"),
    "mixed_precision": ("auto", "auto, no, fp16 or bf16"),
    "seed": (42, "a whole number"),
    "show": (None, "a list of: " + ", ".join(SHOW_STEPS) + ", and the task's pictures (classification: confusion; "
                   "regression: scatter); default: report and the task's picture"),
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
    if config["schedule"] not in SCHEDULES:
        raise _fail("schedule", config["schedule"])
    if config["class_names"] is not None:
        config["class_names"] = checks.unique_names("class_names", config["class_names"])
    if config["task"] is not None:
        from .tasks import task_name

        config["task"] = task_name(config["task"])  # aliases (ner) and any case; a misspelling is refused
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
    for item in show:
        if item not in SHOW_STEPS and item not in task.pictures:
            raise KtnbError(f"show: {item!r} is not allowed; expected a list of: "
                            f"{', '.join((*SHOW_STEPS, *task.pictures))}")
    return show


@dataclass
class Session:
    """What one workflow run leaves behind: ``clf.learner``, ``clf.predictor``, ``clf.report``…"""

    config: dict[str, Any]
    data: Any
    learner: Any
    lr_finder: Any = None
    report: Any = None
    predictions: list[tuple[Any, ...]] = field(default_factory=list)  # rows under `prediction_header`
    prediction_header: list[str] = field(default_factory=list)
    attention: Any = None
    saved_to: str | None = None
    skipped: list[str] = field(default_factory=list)  # steps not run after an interrupt

    @property
    def predictor(self) -> Any:
        return self.learner.predictor()

    def __repr__(self) -> str:
        scores = f", {self.report.headline}" if self.report is not None else ""
        return f"Session({self.learner!r}{scores})"


def load_config_data(source: Any, config: Mapping[str, Any]) -> Any:
    """The data named by the config: ``sst2`` (a named set) or anything `load_texts` reads,
    with `max_train` meaning the first training rows whatever the source."""
    from .data import NAMED_DATASETS, load_dataset

    path = source if isinstance(source, (str, os.PathLike)) else None
    if path is not None and str(path).lower() in NAMED_DATASETS and not os.path.exists(path):
        data = load_dataset(str(path), max_train=config["max_train"], seed=config["seed"])
    else:
        from .tasks import get_task

        task = get_task(config["task"] or "classification")
        options = {"text_col": config["text_col"], "label_col": config["label_col"], "val_frac": config["val_frac"],
                   "seed": config["seed"], "max_train": config["max_train"], "sep": config["sep"],
                   "encoding": config["encoding"], "pair_col": config["pair_col"]}
        if config["class_names"] is not None:
            options["class_names"] = config["class_names"]
        data = task.load_data(source, config["val"], **options)
    if path is not None and (config["val"] is None or isinstance(config["val"], (str, os.PathLike))):
        # read from files (or a named set): a new process can read it again to resume a run
        data.origin = {key: (os.path.abspath(value) if key in ("data", "val") and value is not None
                             and os.path.exists(value) else value)
                       for key, value in {"data": str(path), "val": config["val"] and str(config["val"]),
                                          "task": data.task, **{k: config[k] for k in _DATA_KEYS}}.items()}
    return data


#: the config keys that say how data is read (what `TextData.origin` records)
_DATA_KEYS = ("text_col", "label_col", "pair_col", "val_frac", "max_train", "class_names", "sep", "encoding", "seed")


def infer_task(source: Any, config: Mapping[str, Any]) -> str:
    """The task the data asks for when `task:` is not given: tagging for a CoNLL file, a table
    whose text column holds word lists, or a list of (tokens, tags); multilabel when labels are
    lists or ";"-joined names; regression when the label
    column holds numbers with fractions (a score of 3.8); classification otherwise."""
    import numpy as np

    from .data import read_table
    from .tasks.tagging import looks_like_conll

    label_col = config["label_col"]
    if isinstance(label_col, (list, tuple)):  # several 0/1 columns, one per label
        return "multilabel"
    frame = None
    if isinstance(source, (str, os.PathLike)) and looks_like_conll(source):
        return "tagging"
    if isinstance(source, (str, os.PathLike)) and os.path.isfile(source):
        frame = read_table(source, config["sep"], 200, config["encoding"])
    elif hasattr(source, "iloc") and hasattr(source, "columns"):
        frame = source
    elif isinstance(source, list) and source and all(isinstance(p, (list, tuple)) and len(p) == 2
                                                      and isinstance(p[0], (list, tuple)) for p in source[:5]):
        return "tagging"
    elif isinstance(source, (list, tuple)) and len(source) == 2 and hasattr(source[1], "__len__") \
            and not isinstance(source[1], str):  # (texts, labels): read the labels as a column would be
        return _task_of_labels(list(source[1])[:200])
    if frame is not None and len(frame):
        text_col = config["text_col"] if config["text_col"] in frame.columns else "tokens"
        if text_col in frame.columns and isinstance(frame[text_col].iloc[0], (list, tuple, np.ndarray)):
            return "tagging"
    if frame is None or label_col not in frame.columns:
        return "classification"
    return _task_of_labels(frame[label_col].head(200).tolist())


def _task_of_labels(labels: list[Any]) -> str:
    """multilabel for lists or ";"-joined names; regression when every label is a number (or a
    numeric string, or one with a decimal comma, which the reader then refuses by value) and
    some have fractions; classification otherwise."""
    import numpy as np

    from .data import fractional_numbers
    from .tasks.multilabel import LABEL_SEPARATOR

    if any(isinstance(v, (list, tuple, np.ndarray)) or (isinstance(v, str) and LABEL_SEPARATOR in v) for v in labels):
        return "multilabel"
    return "regression" if fractional_numbers(labels) else "classification"


_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_]\w*)\}\}|\{([A-Za-z_]\w*)\}")


def fill_placeholders(config: Mapping[str, Any], namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Fill ``{name}`` in the config's values from `namespace` (a notebook's variables), after
    the YAML was parsed, so a value can never add keys or lines.

    A value that is exactly ``{name}`` becomes the variable itself (a DataFrame, a number); one
    inside other text is replaced by the variable's text; ``{{name}}`` is a literal ``{name}``.
    Nothing else is touched: ``$``, ``{7*7}`` stay as written.

    >>> fill_placeholders({"predict": "a {adj} film", "max_train": "{n}", "save": "{{out}}"}, {"adj": "fine", "n": 5})
    {'predict': 'a fine film', 'max_train': 5, 'save': '{out}'}
    """

    def lookup(name: str, key: str) -> Any:
        if name not in namespace:
            raise KtnbError(f"{{{name}}} in {key!r}: there is no notebook variable named {name!r}; define it first, "
                            f"or write {{{{{name}}}}} for literal braces")
        return namespace[name]

    def fill(value: Any, key: str) -> Any:
        if isinstance(value, dict) and len(value) == 1 and next(iter(value.values())) is None \
                and str(next(iter(value))).isidentifier():
            return lookup(str(next(iter(value))), key)  # YAML reads a bare {name} as a one-key mapping
        if isinstance(value, list):
            return [fill(item, key) for item in value]
        if not isinstance(value, str):
            return value
        whole = _PLACEHOLDER.fullmatch(value)
        if whole and whole.group(2):
            return lookup(whole.group(2), key)
        return _PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}" if m.group(1) else str(lookup(m.group(2), key)),
                                value)

    return {key: fill(value, str(key)) for key, value in config.items()}


Step = Callable[[str, Any], None]


def _skip_the_rest(session: Session, what: str, on_step: Step) -> Session:
    """After an interrupt the cell ends: say so, and which steps did not run."""
    config = session.config
    steps = ["fit"] if what.startswith("the LR finder") else []
    steps += (["report"] if session.learner.val_ds is not None else []) + \
        [key for key in ("attention", "predict", "save") if config[key]]
    session.skipped = steps
    on_step("interrupted", f"{what}; skipped the remaining steps: {', '.join(steps) or 'none'}")
    return session


def run_workflow(config: Mapping[str, Any], data: Any = None, callbacks: Sequence[Any] = (),
                 on_step: Step | None = None, progress: bool = True) -> Session:
    """Run every step the config asks for. `data` overrides ``config["data"]`` (the magic passes
    the notebook variable here); `on_step(name, result)` is called after each step so that a
    view can show results as they come: first "session" (the `Session`, as soon as the learner
    exists, so that a caller can keep it whatever happens next), then "lr_find", "fit",
    "report", "top_losses", "attention", "predict" (the task's view of the predictions), "save"; or "interrupted" (a one-line
    message) when the user interrupted the LR finder or training, after which nothing else
    runs."""
    from .learner import text_learner
    from .tasks import get_task

    config = check_config(config)
    on_step = on_step or (lambda name, result: None)
    source = config["data"] if data is None else data
    if config["task"] is None:
        config["task"] = infer_task(source, config)
    config["show"] = check_show(config["show"], get_task(config["task"]))
    text_data = load_config_data(source, config)
    learner = text_learner(text_data, config["model"], seed=config["seed"], max_len=config["max_len"],
                              batch_size=config["batch_size"], device=config["device"],
                              mixed_precision=config["mixed_precision"], grad_accum=config["grad_accum"],
                              callbacks=callbacks, progress=progress, checkpoint_dir=config["checkpoint_dir"],
                              checkpoint_every=config["checkpoint_every"])
    session = Session(config, text_data, learner)
    on_step("session", session)
    lr = config["lr"]
    epochs = learner.auto_epochs() if config["epochs"] == "auto" else config["epochs"]
    if lr == "find" or "lr_find" in config["show"]:
        session.lr_finder = learner.lr_find(epochs=epochs)
        if learner.stop_reason == "interrupted":
            return _skip_the_rest(session, "the LR finder was interrupted", on_step)
        on_step("lr_find", session.lr_finder)
        if lr == "find":
            lr = session.lr_finder.suggestion
    if config["early_stopping"]:
        learner.autofit(lr, max_epochs=max(epochs, 2), patience=config["early_stopping"])
    else:
        learner.fit(lr, epochs, config["schedule"])
    if learner.stop_reason == "interrupted":
        return _skip_the_rest(session, "training was interrupted (its weights are restored)", on_step)
    on_step("fit", learner.history)
    if learner.val_ds is not None:
        session.report = learner.evaluate()
        on_step("report", session.report)
        if "top_losses" in config["show"]:
            on_step("top_losses", learner.top_losses(5))
    if config["attention"]:
        session.attention = learner.attention(config["attention"])
        on_step("attention", session.attention)
    if config["predict"]:
        predictor = learner.predictor()
        session.prediction_header, session.predictions = predictor.table(config["predict"])
        on_step("predict", predictor.view(config["predict"]))
    if config["save"]:
        session.saved_to = str(learner.predictor().save(config["save"]))
        on_step("save", session.saved_to)
    return session
