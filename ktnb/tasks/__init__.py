"""The registry of tasks: one word picks one (``task: regression``).

>>> get_task("regression").pipeline_task
'text-classification'
>>> sorted(TASKS)
['classification', 'multilabel', 'regression', 'tagging']
"""

from __future__ import annotations

import importlib

from ..errors import KtnbError
from .base import Task

#: name -> "module:Class" in this package, imported on first use
TASKS = {
    "classification": "classification:Classification",
    "regression": "regression:Regression",
    "tagging": "tagging:Tagging",
    "multilabel": "multilabel:MultiLabel",
}
#: other words users (and saved folders of older ktnb versions) use for the same tasks
ALIASES = {"text-classification": "classification", "text_classification": "classification",
           "sentiment": "classification", "ner": "tagging", "token-classification": "tagging",
           "token_classification": "tagging", "multi-label": "multilabel", "multi_label": "multilabel"}

_made: dict[str, Task] = {}


def get_task(name: str | Task) -> Task:
    """The task called `name` (one shared object per name); a `Task` is returned as is."""
    if isinstance(name, Task):
        return name
    key = ALIASES.get(str(name).strip().lower(), str(name).strip().lower())
    if key not in TASKS:
        raise KtnbError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}")
    if key not in _made:
        module, cls = TASKS[key].split(":")
        _made[key] = getattr(importlib.import_module(f".{module}", __name__), cls)()
    return _made[key]


__all__ = ["TASKS", "Task", "get_task"]
