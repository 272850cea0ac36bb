"""Multi-label classification: any number of labels per text (emotions, topics). One sigmoid per
label with binary cross-entropy; a decision threshold tuned on the validation set (settable);
micro / macro / per-sample F1 and per-label precision, recall, F1 and support.

>>> r = MultiLabelReport(np.array([[1, 0], [0, 1], [1, 1]]), np.array([[.9, .2], [.3, .8], [.7, .4]]), ["a", "b"])
>>> round(r.f1_micro, 3), round(r.f1_macro, 3)
(0.857, 0.833)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import KtnbWarning, LabelError
from ..metrics import counted, footer_lines, sigmoid
from .sequence import SequenceTask

#: how a string holds several labels: "joy;love"
LABEL_SEPARATOR = ";"
#: thresholds tried when tuning on validation data
THRESHOLDS = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))


def label_set(value: Any, where: str = "a row") -> list[str]:
    """The label names of one row: a ";"-joined string, or a list of names, each named by its
    label key as classification names classes (1, 1.0 and "1" are one label).

    A text with no labels is kept whatever form says so: an empty string or list and a missing
    value (None, NaN: an empty cell) all give no labels; so does a row of 0/1 columns that are
    all 0. A lone number or True/False (a class id or a single 0/1 flag, not a set of labels)
    and containers inside a list are refused in one line starting with `where`.

    >>> label_set("joy; love"), label_set([1, 1.0, "2"]), label_set(float("nan"))
    (['joy', 'love'], ['1', '1', '2'], [])
    """
    from ..data import _is_missing, _plain, label_key

    value = _plain(value)
    if value is None or _is_missing(value):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(LABEL_SEPARATOR) if part.strip()]
    if isinstance(value, (list, tuple, set, np.ndarray)):
        names = []
        for item in value:
            item = _plain(item)
            if item is None or _is_missing(item) or (isinstance(item, str) and not item.strip()):
                continue  # an empty entry adds no label
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise LabelError(f"{where} has {_shown(item)} in its label list; a label list holds label names "
                                 "(for 0/1 or True/False flags, one column per label, name them with label_col=[...])")
            names.append(label_key(item).strip())
        return names
    raise LabelError(f"{where} has the label {_shown(value)} ({type(value).__name__}), not a set of labels; give each "
                     "text's labels as ';'-joined names (joy;love) or a list, or name 0/1 columns with label_col=[...] "
                     "(for one class per text, use task='classification')")


def label_sets(values: Sequence[Any], where: str) -> list[list[str]]:
    """Each row's label names (see `label_set`); a value that is no label set names its row."""
    return [label_set(value, f"{where}: row {number}") for number, value in enumerate(values, 1)]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def multi_hot(rows: Sequence[Sequence[str]], names: Sequence[str], where: str) -> list[list[float]]:
    index = {name: i for i, name in enumerate(names)}
    out = []
    for number, row in enumerate(rows, 1):
        vector = [0.0] * len(names)
        for name in row:
            if name not in index:
                raise LabelError(f"{where}: row {number} has the label {name!r}, which is not among the labels "
                                 f"({', '.join(names[:8])}{', …' if len(names) > 8 else ''}); fix the row or add it "
                                 "to class_names")
            vector[index[name]] = 1.0
        out.append(vector)
    return out


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)


@dataclass
class MultiLabelReport:
    """Per-label and averaged scores of thresholded sigmoid outputs."""

    y_true: np.ndarray
    proba: np.ndarray
    label_names: list[str]
    threshold: float = 0.5
    loss: float | None = None
    y_pred: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.y_true = np.asarray(self.y_true).astype(bool)
        self.y_pred = np.asarray(self.proba) >= self.threshold

    @property
    def n(self) -> int:
        return len(self.y_true)

    def _counts(self, axis: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t, p = self.y_true, self.y_pred
        return ((t & p).sum(axis=axis).astype(float), (~t & p).sum(axis=axis).astype(float),
                (t & ~p).sum(axis=axis).astype(float))

    @property
    def f1_micro(self) -> float:
        return float(_f1(*self._counts(None)))

    @property
    def f1_macro(self) -> float:
        return float(_f1(*self._counts(0)).mean()) if self.label_names else 0.0

    @property
    def f1_samples(self) -> float:
        return float(_f1(*self._counts(1)).mean()) if self.n else 0.0

    def per_label(self) -> dict[str, dict[str, float]]:
        tp, fp, fn = self._counts(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
            recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        f1 = _f1(tp, fp, fn)
        return {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                       "support": int(tp[i] + fn[i])} for i, name in enumerate(self.label_names)}

    def summary(self, prefix: str = "val_") -> dict[str, float]:
        out = {f"{prefix}f1_micro": self.f1_micro, f"{prefix}f1_macro": self.f1_macro,
               f"{prefix}f1_samples": self.f1_samples}
        return {f"{prefix}loss": self.loss, **out} if self.loss is not None else out

    @property
    def warning(self) -> str | None:
        """The collapse naive fine-tuning shows here: the same label set for (nearly) every text."""
        if self.n < 2:
            return None
        rows, counts = np.unique(self.y_pred, axis=0, return_counts=True)
        top = int(counts.argmax())
        if counts[top] / self.n >= 0.95:
            names = [self.label_names[i] for i in np.flatnonzero(rows[top])] or ["no label"]
            return (f"the model may have collapsed: {counts[top] / self.n:.0%} of the texts get the same labels "
                    f"({', '.join(names)}); try a higher learning rate or more epochs (autofit picks them)")
        return None

    @property
    def headline(self) -> str:
        text = (f"micro-F1 {self.f1_micro:.4f}, macro-F1 {self.f1_macro:.4f} on {counted(self, self.n)} "
                f"(threshold {self.threshold:.2f})")
        return text + (f", loss {self.loss:.4f}" if self.loss is not None else "")

    def _rows(self) -> list[tuple[str, float, float, float, int]]:
        rows = [(name, s["precision"], s["recall"], s["f1"], s["support"]) for name, s in self.per_label().items()]
        total = int(self.y_true.sum())
        return rows + [("micro avg", float("nan"), float("nan"), self.f1_micro, total),
                       ("macro avg", float("nan"), float("nan"), self.f1_macro, total)]

    def __str__(self) -> str:
        width = max(12, *(len(n) for n in self.label_names)) if self.label_names else 12
        lines = [f"{'':>{width}}  precision  recall  f1-score  support", ""]
        for name, p, r, f, s in self._rows():
            shown = "" if np.isnan(p) else f"{p:9.4f}"
            recall = "" if np.isnan(r) else f"{r:6.4f}"
            lines.append(f"{name:>{width}}  {shown:>9}  {recall:>6}  {f:8.4f}  {s:7d}")
        lines.append(f"{'threshold':>{width}}  {self.threshold:.2f}")
        return "\n".join(lines + footer_lines(width, self.loss, self.warning))

    def __repr__(self) -> str:
        return (f"MultiLabelReport(f1_micro={self.f1_micro:.4f}, f1_macro={self.f1_macro:.4f}, "
                f"threshold={self.threshold:.2f}, n={self.n})")

    def _repr_html_(self) -> str:
        from ..render.html import metrics_html

        rows = [tuple("" if isinstance(v, float) and np.isnan(v) else v for v in row) for row in self._rows()]
        return metrics_html(self.headline, rows, self.warning, header=("label", "precision", "recall", "f1", "support"))

    def plot_labels(self) -> Any:
        """Per-label F1, with each label's support, as horizontal bars."""
        from ..render.figures import bars_figure

        per = self.per_label()
        return bars_figure(list(per), [s["f1"] for s in per.values()], [s["support"] for s in per.values()],
                           "F1", f"per-label F1 (threshold {self.threshold:.2f})")

    def pictures(self) -> dict[str, Any]:
        return {"labels": self.plot_labels()}

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "threshold": self.threshold, **self.summary(""), "per_label": self.per_label()}


def best_threshold(y_true: np.ndarray, proba: np.ndarray) -> float:
    """The threshold (from `THRESHOLDS`) with the best micro-F1; ties go to the one nearest 0.5."""
    scores = [(MultiLabelReport(y_true, proba, [], t).f1_micro, -abs(t - 0.5), t) for t in THRESHOLDS]
    return float(max(scores)[2])


class MultiLabel(SequenceTask):
    name = "multilabel"
    title = "multi-label classification"
    problem_type = "multi_label_classification"
    metrics = {"val_loss": False, "val_f1_micro": True, "val_f1_macro": True, "val_f1_samples": True}
    pictures = ("labels",)
    picture_titles = {"labels": "the per-label F1 chart"}
    model_noun = "multi-label classifier"
    label_word = "labels"
    decision_settings = ("threshold",)
    # the loss is dominated by the frequent labels and bottoms out before the rare ones are
    # learnt: pick the best weights by macro-F1, and train for ~1,500 steps (6 epochs of
    # GoEmotions' 4,000 rows at batch 16: macro-F1 0.24 after 3 epochs, 0.35 after 6)
    default_monitor = "val_f1_macro"
    min_steps = 1500
    keeps_unlabelled_rows = True  # a text with none of the labels is an example (see `label_set`)
    table_shape = "a text column and a column of label sets (or 0/1 columns)"
    label_columns = True

    def recognises(self, sample: Any) -> bool:
        """Several 0/1 label columns, or labels that are lists or ";"-joined names."""
        if isinstance(sample.config.get("label_col"), (list, tuple)):
            return True
        return any(isinstance(v, (list, tuple, np.ndarray)) or (isinstance(v, str) and LABEL_SEPARATOR in v)
                   for v in sample.labels() or ())

    def text_data(self, texts: list[Any], labels: list[Any], val: tuple[list[Any], list[Any]] | None, *,
                  val_frac: float, seed: int, source: str, class_names: Sequence[str] | None,
                  max_train: int | None, target: str) -> Any:
        """Texts with label sets (";"-joined names or lists) as 0/1 rows; a random `val_frac` held out.

        One rule for a text with no labels, however it is written (an empty string or list, a
        missing value, a row of 0/1 columns that are all 0): it is kept, as an example of none of
        the labels (most texts are, in data such as toxic-comment flags). A text that is missing
        drops its row."""
        from .. import checks
        from ..data import TextData, _examples, random_split

        sets = label_sets(labels, source)
        if val is not None:
            val_sets = label_sets(val[1], "validation data")
        names = checks.unique_names("class_names", class_names, error=LabelError) if class_names is not None \
            else sorted({name for row in sets for name in row})
        if class_names is None and val is not None:
            # rare labels (GoEmotions' "grief") can be missing from a small training sample but still
            # belong to the label set: keep them, and say that the model cannot learn them from this data
            unseen = sorted({name for row in val_sets for name in row} - set(names))
            if unseen:
                warnings.warn(f"{len(unseen)} label(s) occur only in the validation data, never in {source}: "
                              f"{', '.join(unseen[:8])}{', …' if len(unseen) > 8 else ''}; the model cannot learn "
                              "them (use more training rows, or fix the labels)", KtnbWarning, stacklevel=4)
                names = sorted([*names, *unseen])
        if not names:
            raise LabelError(f"{source} has no labels at all: every text's label set is empty; give each text's "
                             "labels as ';'-joined names (joy;love) or a list, or name 0/1 columns with "
                             "label_col=[...]")
        if len(names) < 2:
            raise LabelError(f"{source} has only one label ({names[0]!r}); multi-label classification needs at least "
                             "two (for one yes/no label per text, use task='classification')")
        rows = multi_hot(sets, names, source)
        if val is not None:
            return TextData(_examples(texts, rows), _examples(val[0], multi_hot(val_sets, names, "validation data")),
                            names, source, task=self.name)
        if val_frac:
            train_rows, val_rows = random_split(len(texts), val_frac, seed)
            return TextData(_examples(texts, rows, train_rows), _examples(texts, rows, val_rows), names, source,
                            task=self.name)
        return TextData(_examples(texts, rows), None, names, source, task=self.name)

    def describe_labels(self, label_names: Sequence[str]) -> tuple[str, str]:
        return "labels", ", ".join(label_names)

    def readable(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        return [", ".join(n for n, v in zip(label_names, row) if v) for row in labels]

    def raw_labels(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        return [[n for n, flag in zip(label_names, row) if flag] for row in labels]  # 0/1 rows back to names

    def labelled(self, items: list[Any], raw_labels: list[Any], label_names: Sequence[str], where: str) -> Any:
        from ..data import _examples

        return _examples(items, multi_hot(label_sets(raw_labels, where), label_names, where))

    def init_head(self, model: Any, train_labels: Sequence[Any]) -> None:
        """Start each label's sigmoid at that label's frequency (its log-odds as the bias): a new
        head at 0.5 everywhere first spends its steps learning that most labels are rare."""
        import torch

        rates = np.clip(np.asarray(train_labels, dtype=float).mean(axis=0), 1e-4, 1 - 1e-4)
        heads = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == len(rates)]
        if heads and heads[-1].bias is not None:
            with torch.no_grad():
                heads[-1].bias.copy_(torch.from_numpy(np.log(rates / (1 - rates))).to(heads[-1].bias))

    def tune(self, logits: np.ndarray, labels: Sequence[Any], settings: dict[str, Any]) -> dict[str, Any]:
        if settings.get("threshold_fixed"):
            return {}
        return {"threshold": best_threshold(np.asarray(labels), sigmoid(logits))}

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return sigmoid(logits)

    def report(self, logits: np.ndarray, labels: Sequence[Any], label_names: Sequence[str], loss: float | None,
               settings: dict[str, Any], examples: Any = None) -> MultiLabelReport:
        return MultiLabelReport(np.asarray(labels), sigmoid(logits), list(label_names),
                                settings.get("threshold", 0.5), loss)

    def decode(self, logits: np.ndarray, label_names: Sequence[str], settings: dict[str, Any],
               inputs: Sequence[Any] | None = None, examples: Any = None) -> list[list[str]]:
        chosen = sigmoid(logits) >= settings.get("threshold", 0.5)
        return [[label_names[i] for i in np.flatnonzero(row)] for row in chosen]

    def predictions_html(self, shown: Sequence[str], predictions: Sequence[Any], logits: np.ndarray,
                         label_names: Sequence[str]) -> str:
        """Each text, the labels above the threshold, and the most likely labels with their
        probabilities (the chosen ones and the nearest misses)."""
        from ..render.html import table_html

        rows = []
        for text, chosen, proba in zip(shown, predictions, sigmoid(logits)):
            top = np.argsort(-proba)[:max(3, len(chosen))]
            rows.append((text, ", ".join(chosen) or "(none)",
                         ", ".join(f"{label_names[i]} {proba[i]:.2f}" for i in top)))
        return table_html(("text", "labels", "most likely"), rows, css_class="ktnb-predictions")

    def explanation_target(self, logits: np.ndarray, target: Any, label_names: Sequence[str],
                           settings: dict[str, Any]) -> tuple[int, str, str]:
        """The label named, else the likeliest; what the model predicts is every label above
        the learnt threshold, as `predict` gives them."""
        index = int(np.argmax(logits)) if target is None else self.named_output(target, label_names)
        chosen = self.decode(logits[None], label_names, settings)[0]
        return index, str(label_names[index]), ", ".join(map(str, chosen)) or "no label"

    def explanation_output(self, logits: Any, index: int) -> Any:
        return logits.sigmoid()[:, index]

    def example_losses(self, logits: np.ndarray, labels: Sequence[Any]) -> np.ndarray:
        y = np.asarray(labels, dtype=float)
        p = np.clip(sigmoid(logits), 1e-7, 1 - 1e-7)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=1)
