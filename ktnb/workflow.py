"""The whole ktrain-style workflow from one small config: data → learner → (lr_find) → fit →
evaluate → predict → save. The ``%%ktrain`` magic parses its cell body into this config; from
Python, `run_workflow` takes the same keys as a dict.

The keys, their checks and how the data is read are in `ktnb.config`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from .config import check_config, check_show, infer_task, load_config_data
from .errors import KtnbError


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
    generated: str = ""  # what a language model last wrote for ``%ktrain generate``
    explanation: Any = None  # the last ``%ktrain explain``, or the cell's ``show: explain`` (a list)

    @property
    def predictor(self) -> Any:
        return self.learner.predictor()

    def __repr__(self) -> str:
        scores = f", {self.report.headline}" if self.report is not None else ""
        return f"Session({self.learner!r}{scores})"


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
    if "explain" in config["show"]:
        steps.append("explain")
    session.skipped = steps
    on_step("interrupted", f"{what}; skipped the remaining steps: {', '.join(steps) or 'none'}")
    return session


#: validation inputs a cell's ``show: explain`` explains when it has no ``predict:``
EXPLAINED_BY_DEFAULT = 3


def _explained_inputs(config: Mapping[str, Any], data: Any) -> list[Any]:
    """What ``show: explain`` explains: the cell's ``predict:`` inputs, else the first validation
    ones (a text, a pair, a question with its context, a sentence's words)."""
    if config["predict"]:
        return list(config["predict"])  # checked: texts, or (text, text) tuples
    part = data.val if data.val is not None else data.train
    n = min(EXPLAINED_BY_DEFAULT, len(part.texts))
    if part.pairs is not None:
        return [(part.texts[i], part.pairs[i]) for i in range(n)]
    return list(part.texts[:n])


def run_workflow(config: Mapping[str, Any], data: Any = None, callbacks: Sequence[Any] = (),
                 on_step: Step | None = None, progress: bool = True) -> Session:
    """Run every step the config asks for. `data` overrides ``config["data"]`` (the magic passes
    the notebook variable here); `on_step(name, result)` is called after each step so that a
    view can show results as they come: first "session" (the `Session`, as soon as the learner
    exists, so that a caller can keep it whatever happens next), then "lr_find", "fit",
    "report", "top_losses", "attention", "predict" (the task's view of the predictions), "save",
    "explain" (a list of explanations); or "interrupted" (a one-line
    message) when the user interrupted the LR finder or training, after which nothing else
    runs."""
    on_step = on_step or (lambda name, result: None)
    config, text_data = read_workflow_data(config, data)
    session = start_session(config, text_data, callbacks, progress)
    on_step("session", session)
    if not train_session(session, on_step):
        return session
    return finish_session(session, on_step)


def read_workflow_data(config: Mapping[str, Any], data: Any = None) -> tuple[dict[str, Any], Any]:
    """The checked config (its task settled) and the `TextData` it names (`data` overrides
    ``config["data"]``)."""
    from .tasks import get_task

    config = check_config(config)
    source = config["data"] if data is None else data
    if config["task"] is None:
        config["task"] = infer_task(source, config)
    config["show"] = check_show(config["show"], get_task(config["task"]))
    return config, load_config_data(source, config)


def start_session(config: dict[str, Any], text_data: Any, callbacks: Sequence[Any] = (), progress: bool = True) \
        -> Session:
    """The learner a checked config asks for, on its data, in a new `Session`."""
    from .builders import text_learner

    learner = text_learner(text_data, config["model"], seed=config["seed"], max_len=config["max_len"],
                           batch_size=config["batch_size"], device=config["device"],
                           mixed_precision=config["mixed_precision"], grad_accum=config["grad_accum"],
                           lora=config["lora"],
                           callbacks=callbacks, progress=progress, checkpoint_dir=config["checkpoint_dir"],
                           checkpoint_every=config["checkpoint_every"])
    return Session(config, text_data, learner)


def train_session(session: Session, on_step: Step) -> bool:
    """The training steps: the LR finder when asked for, then fit (or autofit). False when the
    user interrupted them (the rest is then skipped, and said so)."""
    config, learner = session.config, session.learner
    lr = config["lr"]
    epochs = learner.auto_epochs() if config["epochs"] == "auto" else config["epochs"]
    if lr == "find" or "lr_find" in config["show"]:
        session.lr_finder = learner.lr_find(epochs=epochs)
        if learner.stop_reason == "interrupted":
            _skip_the_rest(session, "the LR finder was interrupted", on_step)
            return False
        on_step("lr_find", session.lr_finder)
        if lr == "find":
            lr = session.lr_finder.suggestion
    if config["early_stopping"]:
        learner.autofit(lr, max_epochs=max(epochs, 2), patience=config["early_stopping"])
    else:
        learner.fit(lr, epochs, config["schedule"])
    if learner.stop_reason == "interrupted":
        _skip_the_rest(session, "training was interrupted (its weights are restored)", on_step)
        return False
    return True


def finish_session(session: Session, on_step: Step) -> Session:
    """The steps after training: the report, top losses, attention, predictions, the save and
    explanations, as the config asks."""
    config, learner, text_data = session.config, session.learner, session.data
    on_step("fit", learner.history)
    if learner.val_ds is not None or learner.data.test is not None:
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
    if "explain" in config["show"]:  # last: whatever it finds to refuse, the model is saved
        found = learner.explain(_explained_inputs(config, text_data))
        session.explanation = found
        on_step("explain", found)
    return session
