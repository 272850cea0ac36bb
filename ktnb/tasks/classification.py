"""Single-label classification of texts or text pairs: softmax over the classes, cross-entropy,
accuracy / precision / recall / F1 and a confusion matrix (`ktnb.metrics.ClassificationReport`)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import LabelError
from ..metrics import ClassificationReport, softmax
from .sequence import SequenceTask


class Classification(SequenceTask):
    name = "classification"
    title = "text classification"
    problem_type = "single_label_classification"
    metrics = {"val_loss": False, "val_accuracy": True, "val_f1_macro": True}
    pictures = ("confusion",)
    picture_titles = {"confusion": "the confusion matrix"}
    model_noun = "text classifier"
    named_classes = True

    def recognises(self, sample: Any) -> bool:
        return True  # the default: any labelled texts the other tasks did not claim

    def class_counts(self, labels: Sequence[Any], label_names: Sequence[str]) -> dict[str, int]:
        counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(label_names))
        return {name: int(n) for name, n in zip(label_names, counts)}

    def describe_data(self, label_names: Sequence[str]) -> str:
        return f"classes={list(label_names)}"

    def text_data(self, texts: list[Any], labels: list[Any], val: tuple[list[Any], list[Any]] | None, *,
                  val_frac: float, seed: int, source: str, class_names: Sequence[str] | None,
                  max_train: int | None, target: str) -> Any:
        """Labels as class names or integer ids; without `class_names` they are the sorted
        labels, and numbers with fractions are refused as a score column read with the wrong
        task. The validation rows are held out stratified by class."""
        from .. import checks
        from ..data import (TextData, _examples, _infer_class_names, _labels_to_ids, _refuse_scores_as_classes,
                            stratified_split)

        if class_names is None:
            _refuse_scores_as_classes(labels, source)
        names = checks.unique_names("class_names", class_names, error=LabelError) if class_names is not None \
            else _infer_class_names(labels, source)
        ids = _labels_to_ids(labels, names, source)
        present = sorted(set(ids))
        if len(present) < 2:
            if max_train is not None:
                raise LabelError(f"the first {max_train} rows of {source} (max_train) hold only one class "
                                 f"({names[present[0]]!r}); is the data sorted by label? Shuffle it or raise max_train")
            raise LabelError(f"{source} has only one class ({names[present[0]]!r}); a classifier needs examples of at "
                             "least two")
        if val is not None:
            return TextData(_examples(texts, ids), _examples(val[0], _labels_to_ids(val[1], names, "validation data")),
                            names, source)
        if val_frac:
            tr, va = stratified_split(ids, val_frac, seed)
            return TextData(_examples(texts, ids, tr), _examples(texts, ids, va), names, source)
        return TextData(_examples(texts, ids), None, names, source)

    def labelled(self, items: list[Any], raw_labels: list[Any], label_names: Sequence[str], where: str) -> Any:
        from ..data import _examples, _labels_to_ids

        return _examples(items, _labels_to_ids(raw_labels, label_names, where))

    def report(self, logits: np.ndarray, labels: Sequence[int], label_names: Sequence[str], loss: float | None,
               settings: dict[str, Any], examples: Any = None) -> ClassificationReport:
        return ClassificationReport.from_labels(np.asarray(labels), logits.argmax(-1), label_names, loss)

    def decode(self, logits: np.ndarray, label_names: Sequence[str], settings: dict[str, Any],
               inputs: Sequence[Any] | None = None, examples: Any = None) -> list[str]:
        return [label_names[i] for i in logits.argmax(-1)] if len(logits) else []

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits)

    def predictions_html(self, shown: Sequence[str], predictions: Sequence[Any], logits: np.ndarray,
                         label_names: Sequence[str]) -> str:
        """Each text, its class, and the probability of every class."""
        from ..render.html import table_html

        rows = [(t, p, *map(float, proba)) for t, p, proba in zip(shown, predictions, self.probabilities(logits))]
        return table_html(("text", "label", *label_names), rows, css_class="ktnb-predictions")

    def explanation_output(self, logits: Any, index: int) -> Any:
        return logits.softmax(-1)[:, index]

    def example_losses(self, logits: np.ndarray, labels: Sequence[int]) -> np.ndarray:
        proba = softmax(logits)
        labels = np.asarray(labels)
        return -np.log(np.clip(proba[np.arange(len(labels)), labels], 1e-12, None))
