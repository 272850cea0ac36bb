"""A learner's evaluation: its task's report on the validation set or on other labelled data,
the examples it gets most wrong, and the checks that such data is what the model was trained
on. The learner's `evaluate` and `top_losses` are these; the loop calls `report` each epoch.

>>> learner.evaluate("test.csv").summary()      # doctest: +SKIP
{'val_loss': 0.38, 'val_accuracy': 0.85, 'val_f1_macro': 0.85}
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import checks, user_metrics
from .batching import EncodedTexts, model_length_cap, pad_id
from .data import LabelledTexts
from .errors import TrainingError
from .inference import Outputs, Runner


def encode_for_evaluation(learner: Any, part: LabelledTexts) -> EncodedTexts:
    """Labelled data to score, cut where the task says: at `max_len`, or (a tagger, whose every
    word is scored) at the model's limit, as its predictor reads text."""
    cap = model_length_cap(learner.tokenizer, learner.model.config)
    return learner.task.encode(learner.tokenizer, part, learner.task.evaluation_length(learner.max_len, cap))


def model_outputs(learner: Any, dataset: EncodedTexts) -> Outputs:
    """The task's outputs for `dataset` (per example), at the learner's evaluation batch size
    and precision."""
    runner = Runner(learner.model, pad_id(learner.tokenizer), learner.eval_batch_size,
                    device=learner.accelerator.device, autocast=learner.accelerator.autocast)
    return learner.task.outputs(runner, dataset)


def labelled_data(learner: Any, data: Any, text_col: str = "text", label_col: str = "label",
                  pair_col: str | None = None) -> tuple[EncodedTexts, LabelledTexts]:
    """The validation set, or other labelled data checked against what the model was trained on."""
    if data is None:
        if learner.val_ds is None:
            raise TrainingError("there is no validation data; pass data to evaluate, e.g. evaluate(test_df)")
        return learner.val_ds, learner.data.val
    texts, labels = learner.task.read_labelled(data, text_col, label_col, pair_col)
    check_pairs(texts, learner.data.train.pairs is not None, from_table=not isinstance(data, (tuple, list)))
    part = learner.task.labelled(texts, labels, learner.class_names, "evaluation data")
    return encode_for_evaluation(learner, part), part


def report(learner: Any, dataset: EncodedTexts, tune: bool = False) -> Any:
    """The task's report; with `tune`, its decision settings (a multi-label threshold) are first
    chosen on these outputs, which must be the validation set's."""
    outputs = model_outputs(learner, dataset)
    if tune:
        learner.settings_learnt.update(learner.task.tune(outputs.logits, dataset.labels_by_example,
                                                         learner.settings_learnt))
    result = learner.task.report(outputs.logits, dataset.labels_by_example, learner.class_names, outputs.loss,
                                 learner.settings_learnt, dataset)
    own = getattr(learner, "metrics", ())
    if own:  # the user's metrics, on the labels and predictions as they read them
        predicted = learner.task.decode(outputs.logits, learner.class_names, learner.settings_learnt, None, dataset)
        truth, predicted = learner.task.metric_inputs(dataset.labels_by_example, learner.class_names, predicted)
        result.own_metrics = user_metrics.compute(own, truth, predicted)
    return result


def evaluate(learner: Any, data: Any = None, text_col: str = "text", label_col: str = "label",
             pair_col: str | None = None) -> Any:
    """The task's report on the validation set, or on `data` (a path, DataFrame, (texts,
    labels), TextData …): for classification accuracy, per-class precision/recall/F1 and
    the confusion matrix; for regression MSE, MAE, Pearson and Spearman. Labels in `data`
    that the model was not trained on are an error."""
    dataset, _ = labelled_data(learner, data, text_col, label_col, pair_col)
    return report(learner, dataset)


def top_losses(learner: Any, n: int = 5, data: Any = None, text_col: str = "text", label_col: str = "label",
               pair_col: str | None = None) -> Any:
    """The `n` examples the model gets most wrong (highest loss), as a DataFrame with the
    text, true and predicted label (or value), and the loss."""
    import pandas as pd

    n = checks.whole_number("n", n)
    dataset, part = labelled_data(learner, data, text_col, label_col, pair_col)
    logits = model_outputs(learner, dataset).logits
    labels = dataset.labels_by_example
    losses = learner.task.example_losses(logits, labels)
    # tags joined; class names and numbers as they are; anything else (an answer) as its text
    predicted = [" ".join(p) if isinstance(p, list) else p if isinstance(p, (str, int, float, np.number)) else str(p)
                 for p in learner.task.decode(logits, learner.class_names, learner.settings_learnt, None, dataset)]
    truth = learner.task.readable(labels, learner.class_names)
    order = np.argsort(-losses)[:n]
    columns: dict[str, Any] = {"text": [part.texts[i] for i in order]}
    if part.pairs is not None:
        columns["second text"] = [part.pairs[i] for i in order]
    columns.update({"true": [truth[i] for i in order], "predicted": [predicted[i] for i in order],
                    "loss": losses[order].round(4)})
    if hasattr(learner.task, "probabilities"):
        columns["confidence"] = learner.task.probabilities(logits[order]).max(axis=1).round(4)
    return pd.DataFrame(columns, index=pd.Index(order, name="row"))


def check_pairs(texts: Sequence[Any], trained_on_pairs: bool, from_table: bool) -> None:
    """Evaluation inputs must be what the model was trained on: all (text, text) tuples for a
    pair model (from `pair_col`, or given as tuples), all single texts otherwise."""
    pairs = [isinstance(t, tuple) for t in texts]
    if any(pairs) and not all(pairs):
        raise TrainingError(f"evaluation data: item {pairs.index(not pairs[0])} is "
                            f"{'a single text' if pairs[0] else 'a (text, text) pair'} among "
                            f"{'pairs' if pairs[0] else 'single texts'}; give one kind")
    wrong = next((i for i, t in enumerate(texts) if isinstance(t, tuple) and len(t) != 2), None)
    if wrong is not None:
        raise TrainingError(f"evaluation data: item {wrong} is a tuple of {len(texts[wrong])} texts; a pair is "
                            "(text, text)")
    if trained_on_pairs and texts and not pairs[0]:
        raise TrainingError("this model was trained on text pairs: name the second text's column with pair_col="
                            if from_table else "this model was trained on text pairs: give the texts as (text, text) "
                            "tuples")
    if not trained_on_pairs and texts and pairs[0]:
        raise TrainingError("this model was trained on single texts, not text pairs; evaluate it on single texts "
                            "(without pair_col)")


__all__ = ["evaluate", "top_losses", "report", "model_outputs", "labelled_data", "encode_for_evaluation",
           "check_pairs"]
