"""Regression of a number from a text or a text pair (a similarity score, a rating): one output,
mean squared error, and MSE / MAE / Pearson / Spearman with a predicted-against-true scatter.

>>> r = RegressionReport(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.1, 1.9, 3.2, 3.9]), "score")
>>> round(r.pearson, 3), r.spearman
(0.993, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..data import DECIMAL_COMMA, TextData, _examples, as_number, decimal_comma_error, fractional_numbers, random_split
from ..errors import KtnbError, LabelError
from ..metrics import counted, footer_lines
from .sequence import SequenceTask

#: the largest regression target taken: beyond it the squared error of a float32 (or bf16) model
#: is infinite from the first step (sqrt of float32's 3.4e38 is 1.8e19)
MAX_TARGET = 1e18


def targets(labels: Sequence[Any], where: str, target: str) -> list[float]:
    """Regression targets as floats; a name, a decimal comma, or a number too large for a float32
    model to learn (`MAX_TARGET`) is one line naming the value."""
    values = []
    for raw in labels:
        if isinstance(raw, str) and DECIMAL_COMMA.match(raw):
            raise decimal_comma_error(where, target, raw)
        value = as_number(raw)
        if value is None or not math.isfinite(value):
            raise LabelError(f"{where}: the {target} {str(raw)[:40]!r} is not a number; a regression target must be "
                             "numeric (task: regression), or use task: classification for named classes")
        if abs(value) > MAX_TARGET:
            scale = 10.0 ** math.floor(math.log10(abs(value)))
            raise LabelError(f"{where}: the {target} {value:g} is too large to learn: a model computes in float32, "
                             f"where targets beyond ±{MAX_TARGET:g} overflow the loss; rescale them (e.g. divide by "
                             f"{scale:g})")
        values.append(value)
    return values


def ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank (as Spearman's coefficient needs)."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    ranked = np.empty(len(values), dtype=float)
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranked[order[start:end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranked


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


@dataclass
class RegressionReport:
    """How close the predicted numbers are to the true ones."""

    y_true: np.ndarray
    y_pred: np.ndarray
    target: str = "score"
    loss: float | None = None

    @property
    def n(self) -> int:
        return len(self.y_true)

    @property
    def mse(self) -> float:
        return float(np.mean((self.y_pred - self.y_true) ** 2)) if self.n else 0.0

    @property
    def mae(self) -> float:
        return float(np.mean(np.abs(self.y_pred - self.y_true))) if self.n else 0.0

    @property
    def pearson(self) -> float:
        return pearson(self.y_true, self.y_pred)

    @property
    def spearman(self) -> float:
        return pearson(ranks(self.y_true), ranks(self.y_pred)) if self.n else 0.0

    def summary(self, prefix: str = "val_") -> dict[str, float]:
        out = {f"{prefix}mse": self.mse, f"{prefix}mae": self.mae, f"{prefix}pearson": self.pearson,
               f"{prefix}spearman": self.spearman}
        return {f"{prefix}loss": self.loss, **out} if self.loss is not None else out

    @property
    def warning(self) -> str | None:
        """Predictions that barely vary carry no information: the model has learnt the mean."""
        if self.n < 2 or np.std(self.y_true) == 0:
            return None
        if np.std(self.y_pred) < 0.05 * np.std(self.y_true):
            return (f"the model may have collapsed: its predictions barely vary ({self.y_pred.min():.3g} to "
                    f"{self.y_pred.max():.3g}, true values {self.y_true.min():.3g} to {self.y_true.max():.3g}); "
                    "try a higher learning rate or more epochs")
        return None

    @property
    def headline(self) -> str:
        text = f"pearson {self.pearson:.4f}, spearman {self.spearman:.4f} on {counted(self, self.n)}"
        return text + (f", loss {self.loss:.4f}" if self.loss is not None else "")

    def _rows(self) -> list[tuple[str, float]]:
        return [("mse", self.mse), ("mae", self.mae), ("pearson", self.pearson), ("spearman", self.spearman)]

    def __str__(self) -> str:
        lines = [f"{name:>10}  {value:.4f}" for name, value in self._rows()]
        lines.append(f"{'n':>10}  {self.n}")
        return "\n".join(lines + footer_lines(10, self.loss, self.warning))

    def __repr__(self) -> str:
        return f"RegressionReport(pearson={self.pearson:.4f}, spearman={self.spearman:.4f}, mse={self.mse:.4f}, n={self.n})"

    def _repr_html_(self) -> str:
        from ..render.html import metrics_html

        return metrics_html(self.headline, self._rows(), self.warning, css_class="ktnb-report")

    def plot_scatter(self) -> Any:
        """Predicted against true values, with the diagonal where they would be equal."""
        from ..render.figures import scatter_figure

        return scatter_figure(self.y_true, self.y_pred, self.target, f"pearson {self.pearson:.3f}")

    def pictures(self) -> dict[str, Any]:
        return {"scatter": self.plot_scatter()}

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, **self.summary("")}


class Regression(SequenceTask):
    name = "regression"
    table_shape = "a text column and a numeric label column"
    title = "regression"
    problem_type = "regression"
    labels_are_classes = False
    metrics = {"val_loss": False, "val_mse": False, "val_mae": False, "val_pearson": True, "val_spearman": True}
    pictures = ("scatter",)
    picture_titles = {"scatter": "the predicted-against-true plot"}
    model_noun = "regression model"
    label_word = "value"

    def recognises(self, sample: Any) -> bool:
        """Labels that are all numbers (or numeric strings, or decimal commas, which the reader
        then refuses by value), some with fractions: scores, such as STS-B's 3.8."""
        return fractional_numbers(sample.labels() or [])

    def num_labels(self, label_names: Sequence[str]) -> int:
        return 1

    def text_data(self, texts: list[Any], labels: list[Any], val: tuple[list[Any], list[Any]] | None, *,
                  val_frac: float, seed: int, source: str, class_names: Sequence[str] | None,
                  max_train: int | None, target: str) -> TextData:
        """Numeric targets (the `target`, e.g. "score"); a random `val_frac` held out."""
        values = targets(labels, source, target)
        if val is not None:
            return TextData(_examples(texts, values), _examples(val[0], targets(val[1], "validation data", target)),
                            [target], source, task=self.name)
        if val_frac:
            train_rows, val_rows = random_split(len(texts), val_frac, seed)
            return TextData(_examples(texts, values, train_rows), _examples(texts, values, val_rows), [target],
                            source, task=self.name)
        return TextData(_examples(texts, values), None, [target], source, task=self.name)

    def init_head(self, model: Any, train_labels: Sequence[Any]) -> None:
        """A new head outputs about 0 while targets sit around their mean (2.7 on STS-B's 0-5): the
        first steps would go on learning that offset. Start its bias at the mean instead."""
        import torch

        head = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == 1]
        if head and head[-1].bias is not None and len(train_labels):
            with torch.no_grad():
                head[-1].bias.fill_(float(np.mean(np.asarray(train_labels, dtype=float))))

    def describe_labels(self, label_names: Sequence[str]) -> tuple[str, str]:
        return "target", label_names[0] if label_names else "value"

    def raw_labels(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        return list(labels)  # the targets themselves

    def readable(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        return [float(v) for v in labels]

    def labelled(self, items: list[Any], raw_labels: list[Any], label_names: Sequence[str], where: str) -> Any:
        return _examples(items, targets(raw_labels, where, label_names[0] if label_names else "value"))

    def report(self, logits: np.ndarray, labels: Sequence[float], label_names: Sequence[str], loss: float | None,
               settings: dict[str, Any], examples: Any = None) -> RegressionReport:
        return RegressionReport(np.asarray(labels, dtype=float), logits[:, 0].astype(float),
                                label_names[0] if label_names else "value", loss)

    def decode(self, logits: np.ndarray, label_names: Sequence[str], settings: dict[str, Any],
               inputs: Sequence[Any] | None = None, examples: Any = None) -> list[float]:
        return [float(v) for v in logits[:, 0]]

    explained_value = "value"

    def explanation_choices(self, label_names: Sequence[str]) -> list[str]:
        return []  # one output, the predicted value

    def explanation_target(self, logits: np.ndarray, target: Any, label_names: Sequence[str],
                           settings: dict[str, Any]) -> tuple[int, str, str]:
        """The one predicted value; there is no other output to name."""
        name = str(label_names[0]) if label_names else "value"
        if target not in (None, name, 0):
            raise KtnbError(f"a regression model has one output ({name}); leave target out")
        return 0, name, name

    def explanation_output(self, logits: Any, index: int) -> Any:
        return logits[:, 0]

    def example_losses(self, logits: np.ndarray, labels: Sequence[float]) -> np.ndarray:
        return (logits[:, 0] - np.asarray(labels, dtype=float)) ** 2
