"""Metrics of the user's own, tracked beside the task's (the Hugging Face Trainer's
`compute_metrics`): each is computed on the validation set after every epoch, recorded in the
history as ``val_<name>``, drawn with the training curves, and can pick the best weights
(``monitor="val_<name>"``) since it declares which way it improves.

A metric takes ``(y_true, y_pred)`` in scikit-learn's order, as the user reads them (class
names, numbers, tag lists, answer texts), so scikit-learn's functions work as they are:

>>> from sklearn.metrics import matthews_corrcoef
>>> metrics = checked_metrics([Metric("mcc", matthews_corrcoef)])
>>> compute(metrics, ["pos", "neg", "pos"], ["pos", "neg", "neg"])
{'val_mcc': 0.5}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .errors import TrainingError


@dataclass(frozen=True)
class Metric:
    """`fn(y_true, y_pred) -> number` called `name`; `higher_is_better` says which way it improves."""

    name: str
    fn: Callable[[Sequence[Any], Sequence[Any]], float]
    higher_is_better: bool = True


def checked_metrics(metrics: Sequence[Metric] | Mapping[str, Callable] | None) -> tuple[Metric, ...]:
    """`Metric`s from a list of them or a ``{name: fn}`` dict (each then higher-is-better); a bad
    name, a function that is not callable or a name given twice is one line."""
    if metrics is None:
        return ()
    if isinstance(metrics, Mapping):
        metrics = [Metric(name, fn) for name, fn in metrics.items()]
    if isinstance(metrics, Metric) or callable(metrics) or isinstance(metrics, (str, bytes)):
        raise TrainingError("metrics must be a list of ktnb.Metric(name, fn, higher_is_better) or a dict "
                            "{name: fn}")
    found: list[Metric] = []
    for metric in metrics:
        if not isinstance(metric, Metric):
            raise TrainingError(f"metrics holds {metric!r}; give ktnb.Metric(name, fn, higher_is_better) objects "
                                "or a dict {name: fn}")
        if not isinstance(metric.name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", metric.name):
            raise TrainingError(f"metric name {metric.name!r} must be a word of letters, digits and _ (it becomes "
                                f"val_<name>)")
        if not callable(metric.fn):
            raise TrainingError(f"metric {metric.name!r}: fn must be a function of (y_true, y_pred), got "
                                f"{type(metric.fn).__name__}")
        if not isinstance(metric.higher_is_better, bool):
            raise TrainingError(f"metric {metric.name!r}: higher_is_better must be True or False")
        if any(m.name == metric.name for m in found):
            raise TrainingError(f"metric {metric.name!r} is given twice")
        found.append(metric)
    return tuple(found)


def compute(metrics: Sequence[Metric], y_true: Sequence[Any], y_pred: Sequence[Any], prefix: str = "val_") \
        -> dict[str, float]:
    """Each metric's value, keyed `prefix` + its name. A metric that fails or gives something
    other than a number is one line naming it (training stops with its best weights kept)."""
    values = {}
    for metric in metrics:
        try:
            value = metric.fn(list(y_true), list(y_pred))
        except Exception as err:  # noqa: BLE001 - the user's code: say whose and what
            raise TrainingError(f"metric {metric.name!r} failed: {type(err).__name__}: {err}") from None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TrainingError(f"metric {metric.name!r} gave {value!r}, not a number") from None
        values[prefix + metric.name] = number  # NaN (a correlation of constant predictions) never counts as best
    return values


__all__ = ["Metric", "checked_metrics", "compute"]
