"""ktnb: fine-tune and inspect transformer text classifiers in a few notebook cells.

    import ktnb
    data = ktnb.load_dataset("sst2", max_train=2000)      # or ktnb.texts_from_csv("reviews.csv")
    learner = ktnb.text_classifier(data)                  # the offline MiniLM by default
    learner.lr_find().plot()
    learner.fit_onecycle(5e-5, 1)
    print(learner.evaluate())
    learner.predictor().save("sentiment")

Importing ktnb is cheap: torch and transformers load on first use of a name that needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import DataError, KtnbError, KtnbWarning, LabelError, ModelError, TrainingError

__version__ = "0.1.0"

# name -> module that defines it, imported when the name is first used
_LAZY = {
    "TextData": "data", "LabelledTexts": "data", "load_texts": "data", "load_dataset": "hub",
    "texts_from_csv": "data", "texts_from_df": "data", "texts_from_array": "data",
    "texts_from_folder": "data", "texts_from_dataset": "data",
    "Learner": "learner", "text_classifier": "builders", "text_learner": "builders", "text_regressor": "builders",
    "get_learner": "builders", "get_predictor": "builders",  # ktrain's names (ktnb.ktrain_names)
    "get_task": "tasks", "RegressionReport": "tasks.regression",
    "Predictor": "predictor", "load_predictor": "predictor",
    "ClassificationReport": "metrics", "LRFinderResult": "lr_finder",
    "Callback": "events", "Event": "events", "History": "events",
    "EarlyStopping": "callbacks", "ReduceLROnPlateau": "callbacks", "ProgressBar": "callbacks",
    "TensorBoard": "tensorboard_log", "Metric": "user_metrics",
    "DEFAULT_MODEL": "models", "Attention": "attention", "run_workflow": "workflow", "Session": "workflow",
    "load_learner": "builders", "resume": "builders", "train": "script", "export_script": "script",
    "launch": "launch",
    "Panel": "jupyter.panel",
}

__all__ = ["KtnbError", "DataError", "LabelError", "ModelError", "TrainingError", "KtnbWarning", *_LAZY]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext ktnb``: registers the ``%ktrain``/``%%ktrain`` magics (torch loads later,
    on the first training step)."""
    from .jupyter.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .jupyter.magics import unload_ipython_extension as unload

    unload(ipython)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ktnb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
