"""Single-label classification of texts or text pairs: softmax over the classes, cross-entropy,
accuracy / precision / recall / F1 and a confusion matrix (`ktnb.metrics.ClassificationReport`)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..inference import softmax
from ..metrics import ClassificationReport
from .base import SequenceTask


class Classification(SequenceTask):
    name = "classification"
    title = "text classification"
    problem_type = "single_label_classification"
    metrics = {"val_loss": False, "val_accuracy": True, "val_f1_macro": True}
    pictures = ("confusion",)
    picture_titles = {"confusion": "the confusion matrix"}
    model_noun = "text classifier"

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

    def example_losses(self, logits: np.ndarray, labels: Sequence[int]) -> np.ndarray:
        proba = softmax(logits)
        labels = np.asarray(labels)
        return -np.log(np.clip(proba[np.arange(len(labels)), labels], 1e-12, None))
