"""Classification metrics from a confusion matrix, and the report that shows them.

Computed with numpy from the confusion matrix (a few lines, and no scikit-learn import on
the training path); the tests check them against scikit-learn.

>>> r = ClassificationReport.from_labels([0, 1, 1, 0], [0, 1, 0, 0], ["neg", "pos"])
>>> round(r.accuracy, 2), round(r.macro["f1"], 3)
(0.75, 0.733)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def footer_lines(width: int, loss: float | None, warning: str | None) -> list[str]:
    """The last lines of every report's text: its loss and its warning, when it has them."""
    return ([f"{'loss':>{width}}  {loss:.4f}"] if loss is not None else []) + \
        ([f"warning: {warning}"] if warning else [])


#: what to try when a model collapses; said with every collapse warning
COLLAPSE_ADVICE = "try a lower learning rate, more epochs or more data (autofit picks the epochs)"


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities from logits, row by row (numpy: reading data and reports needs no torch)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Per-label probabilities from logits (clipped: exp overflows beyond ±700)."""
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))


def counted(report: Any, n: int, noun: str = "examples") -> str:
    """"872 examples", or "1821 test examples" once `evaluate` has said which set a report is on
    (its `split`), so that no figure is read as a test score when it is the validation set's.

    >>> class Scored: split = "test"
    >>> counted(Scored(), 1821)
    '1821 test examples'
    """
    split = getattr(report, "split", "")
    return f"{n} {split} {noun}" if split else f"{n} {noun}"


@dataclass
class ClassificationReport:
    """Accuracy, per-class precision/recall/F1/support, macro and weighted averages and the
    confusion matrix. Prints as text, renders as an HTML table in notebooks, and plots the
    confusion matrix with `plot_confusion()`."""

    #: what `summary("val_")` reports each epoch; a learner's `monitor` is one of them
    SUMMARY_KEYS = ("val_loss", "val_accuracy", "val_f1_macro")

    class_names: list[str]
    confusion: np.ndarray
    loss: float | None = None
    precision: np.ndarray = field(init=False)
    recall: np.ndarray = field(init=False)
    f1: np.ndarray = field(init=False)
    support: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        cm = self.confusion
        tp = np.diag(cm).astype(float)
        self.support = cm.sum(axis=1)
        self.precision = _safe_div(tp, cm.sum(axis=0).astype(float))
        self.recall = _safe_div(tp, self.support.astype(float))
        self.f1 = _safe_div(2 * self.precision * self.recall, self.precision + self.recall)

    @classmethod
    def from_labels(cls, y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str],
                    loss: float | None = None) -> ClassificationReport:
        return cls(list(class_names), confusion_matrix(y_true, y_pred, len(class_names)), loss)

    @property
    def n(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / self.n) if self.n else 0.0

    def _average(self, weights: np.ndarray) -> dict[str, float]:
        w = weights / weights.sum() if weights.sum() else weights
        return {name: float((getattr(self, name) * w).sum()) for name in ("precision", "recall", "f1")}

    @property
    def macro(self) -> dict[str, float]:
        """Unweighted mean over classes (a rare class counts as much as a common one)."""
        return self._average(np.ones(len(self.class_names)))

    @property
    def weighted(self) -> dict[str, float]:
        """Mean over classes weighted by support."""
        return self._average(self.support.astype(float))

    def per_class(self) -> dict[str, dict[str, float]]:
        return {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(self.class_names, self.precision, self.recall, self.f1, self.support)
        }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"accuracy": self.accuracy, "macro": self.macro, "weighted": self.weighted,
                               "per_class": self.per_class(), "confusion": self.confusion.tolist(), "n": self.n}
        if self.loss is not None:
            out["loss"] = self.loss
        return out

    #: a prediction share at or above this, for a class that is not that common, is a collapse
    COLLAPSE_SHARE = 0.95

    def collapse(self) -> str | None:
        """Why the predictions look collapsed, in a few words, or None: nearly all of them
        (95%) in one class that is not that common, or an accuracy no better than always
        predicting the most common class.

        >>> ClassificationReport.from_labels([0, 1, 1, 0], [1, 1, 1, 1], ["neg", "pos"]).collapse()
        "100% of the predictions are 'pos'"
        """
        if self.n == 0 or len(self.class_names) < 2:
            return None
        predicted = self.confusion.sum(axis=0) / self.n
        truth = self.support / self.n
        top = int(predicted.argmax())
        if predicted[top] >= self.COLLAPSE_SHARE and truth[top] < self.COLLAPSE_SHARE:
            return f"{predicted[top]:.0%} of the predictions are {self.class_names[top]!r}"
        common = int(truth.argmax())
        if self.accuracy <= truth[common] + 0.01:
            return (f"accuracy {self.accuracy:.4f} is no better than always predicting {self.class_names[common]!r} "
                    f"({truth[common]:.4f})")
        return None

    @property
    def warning(self) -> str | None:
        """The collapse, as the one-line warning every view shows, with what to try."""
        collapse = self.collapse()
        return f"the model may have collapsed: {collapse}; {COLLAPSE_ADVICE}" if collapse else None

    def summary(self, prefix: str = "val_") -> dict[str, float]:
        """The few numbers tracked per epoch."""
        out = {f"{prefix}accuracy": self.accuracy, f"{prefix}f1_macro": self.macro["f1"]}
        if self.loss is not None:
            out = {f"{prefix}loss": self.loss, **out}
        return out

    def _rows(self) -> list[tuple[str, float, float, float, int]]:
        rows = [(n, p, r, f, int(s)) for n, p, r, f, s in
                zip(self.class_names, self.precision, self.recall, self.f1, self.support)]
        rows.append(("macro avg", *self.macro.values(), self.n))
        rows.append(("weighted avg", *self.weighted.values(), self.n))
        return rows

    def __str__(self) -> str:
        width = max(12, *(len(n) for n in self.class_names))
        lines = [f"{'':>{width}}  precision  recall  f1-score  support", ""]
        rows = self._rows()
        for i, (name, p, r, f, s) in enumerate(rows):
            if i == len(self.class_names):
                lines += ["", f"{'accuracy':>{width}}  {'':>9}  {'':>6}  {self.accuracy:8.4f}  {self.n:7d}"]
            lines.append(f"{name:>{width}}  {p:9.4f}  {r:6.4f}  {f:8.4f}  {s:7d}")
        return "\n".join(lines + footer_lines(width, self.loss, self.warning))

    def __repr__(self) -> str:
        return f"ClassificationReport(accuracy={self.accuracy:.4f}, f1_macro={self.macro['f1']:.4f}, n={self.n})"

    @property
    def headline(self) -> str:
        text = f"accuracy {self.accuracy:.4f} on {counted(self, self.n)}"
        return text + (f", loss {self.loss:.4f}" if self.loss is not None else "")

    def _repr_html_(self) -> str:
        from .render.html import report_html

        return report_html(self.headline, self._rows(), self.warning)

    def pictures(self) -> dict[str, Any]:
        return {"confusion": self.plot_confusion()}

    def plot_confusion(self, normalize: bool = False) -> Any:
        """The confusion matrix as a matplotlib heatmap with counts and class names."""
        from .render.figures import confusion_figure

        return confusion_figure(self.confusion, self.class_names, normalize=normalize)
