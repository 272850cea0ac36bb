"""The registry of tasks: one word picks one (``task: regression``).

>>> get_task("regression").pipeline_task
'text-classification'
>>> sorted(TASKS)
['classification', 'generation', 'multilabel', 'qa', 'regression', 'summarization', 'tagging', 'translation']
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Mapping

from ..errors import KtnbError
from .base import DataSample, Task

#: name -> "module:Class" in this package, imported on first use
TASKS = {
    "classification": "classification:Classification",
    "regression": "regression:Regression",
    "tagging": "tagging:Tagging",
    "multilabel": "multilabel:MultiLabel",
    "qa": "qa:QuestionAnswering",
    "generation": "generation:Generation",
    "translation": "seq2seq:Translation",
    "summarization": "seq2seq:Summarization",
}
#: other words users (and saved folders of older ktnb versions) use for the same tasks
ALIASES = {"text-classification": "classification", "text_classification": "classification",
           "sentiment": "classification", "ner": "tagging", "token-classification": "tagging",
           "token_classification": "tagging", "multi-label": "multilabel", "multi_label": "multilabel",
           "question-answering": "qa", "question_answering": "qa", "extractive-qa": "qa",
           "causal-lm": "generation", "causal_lm": "generation", "text-generation": "generation",
           "text_generation": "generation", "language-model": "generation", "lm": "generation",
           "machine-translation": "translation", "machine_translation": "translation", "mt": "translation",
           "translate": "translation", "summarisation": "summarization", "summarize": "summarization",
           "summarise": "summarization"}

#: the order tasks are asked whether data given without a task is theirs (`infer_task`): the
#: most particular shapes first (word lists before label lists before numbers); the last one,
#: the default, takes any labelled texts
INFERENCE_ORDER = ("qa", "translation", "summarization", "tagging", "multilabel", "regression", "classification")

_made: dict[str, Task] = {}


def task_name(name: str | Task) -> str:
    """The registry's name for `name`, whatever its case or alias (``"NER"`` -> ``"tagging"``);
    an unknown name is one line with the nearest known word. Every place that takes a task
    name goes through here (or `get_task`), so a misspelt task is never silently the default.

    >>> task_name(" Regression "), task_name("ner")
    ('regression', 'tagging')
    >>> task_name("regresion")
    Traceback (most recent call last):
    ...
    ktnb.errors.KtnbError: unknown task 'regresion' (did you mean 'regression'?); choose one of: classification, generation, multilabel, qa, regression, summarization, tagging, translation
    """
    if isinstance(name, Task):
        return name.name
    word = str(name).strip().lower()
    key = ALIASES.get(word, word)
    if key not in TASKS:
        near = difflib.get_close_matches(word, [*TASKS, *ALIASES], n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise KtnbError(f"unknown task {name!r}{hint}; choose one of: {', '.join(sorted(TASKS))}")
    return key


def get_task(name: str | Task, **options: Any) -> Task:
    """The task called `name` (aliases and any case, see `task_name`): one shared object per
    name, or with `options` (``get_task("qa", stride=64)``) one of its own holding them; a
    `Task` is returned as is (a new one with `options` added, when given)."""
    if isinstance(name, Task):
        return type(name)(**{**name.options, **options}) if options else name
    key = task_name(name)
    module, cls = TASKS[key].split(":")
    task_class = getattr(importlib.import_module(f".{module}", __name__), cls)
    if options:
        return task_class(**options)
    if key not in _made:
        _made[key] = task_class()
    return _made[key]


def infer_task(source: Any, config: Mapping[str, Any], frame: Any = None) -> str:
    """The name of the first task (in `INFERENCE_ORDER`) that recognises `source` as its data,
    read with `config`'s options (`text_col`, `label_col`); `frame`: its first rows as a table,
    when it is one. A task says it through `Task.recognises`: nothing here knows any task.

    >>> infer_task((["a", "b"], [0.5, 3.8]), {}), infer_task((["a"], ["joy;love"]), {})
    ('regression', 'multilabel')
    """
    sample = DataSample(source, frame, config)
    return next(name for name in INFERENCE_ORDER if get_task(name).recognises(sample))


__all__ = ["TASKS", "Task", "DataSample", "get_task", "task_name", "infer_task"]
