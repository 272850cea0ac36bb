"""A learner's evaluation: its task's report on the test set, the validation set or other labelled data,
the examples it gets most wrong, and the checks that such data is what the model was trained
on. The learner's `evaluate` and `top_losses` are these; the loop calls `report` each epoch.

>>> learner.evaluate("test.csv").summary()      # doctest: +SKIP
{'val_loss': 0.38, 'val_accuracy': 0.85, 'val_f1_macro': 0.85}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import checks, user_metrics
from .batching import EncodedTexts, model_length_cap, pad_id
from .data import LabelledTexts, check_pairs
from .errors import TrainingError
from .inference import Outputs, Runner
from .processes import gather_from_all


def encode_for_evaluation(learner: Any, part: LabelledTexts) -> EncodedTexts:
    """Labelled data to score, cut where the task says: at `max_len`, or (a tagger, whose every
    word is scored) at the model's limit, as its predictor reads text."""
    cap = model_length_cap(learner.tokenizer, learner.model.config)
    return learner.task.encode(learner.tokenizer, part, learner.task.evaluation_length(learner.max_len, cap))


def runner(learner: Any, epoch_check: bool = False, **generation: Any) -> Runner:
    """What runs the learner's model for its task: at its evaluation batch size and precision
    (`epoch_check`: for the loop's check after an epoch, see `Runner`)."""
    return Runner(learner.model, pad_id(learner.tokenizer), learner.eval_batch_size,
                  device=learner.accelerator.device, autocast=learner.accelerator.autocast,
                  tokenizer=learner.tokenizer, generation=generation, epoch_check=epoch_check)


def model_outputs(learner: Any, dataset: EncodedTexts, epoch_check: bool = False) -> Outputs:
    """The task's outputs for `dataset` (per example), at the learner's evaluation batch size
    and precision. Several processes training share the work: each runs its shard of the
    examples, and every process gets all the outputs back (so the metrics, a tuned threshold,
    early stopping and the best weights agree); every process must call it."""
    acc = learner.accelerator
    if acc.num_processes == 1:
        return learner.task.outputs(runner(learner, epoch_check), dataset)
    mine = dataset.example_shards(acc.num_processes)[acc.process_index]
    outputs = learner.task.outputs(runner(learner, epoch_check), dataset.subset(mine))
    # every process's (examples, outputs): the shards are disjoint, so nothing is counted twice
    # (accelerate's gather_for_metrics would cut the list to a training loader's remainder when
    # that loader was left at its end, as a stop on an epoch's last batch leaves it)
    parts = gather_from_all((mine, outputs))
    return learner.task.merge_outputs(parts, dataset.n_examples)


#: tokens each sample of a language model's writing in its report runs to
SAMPLE_TOKENS = 32

#: the names `evaluate(split=)` and `top_losses(split=)` take for the learner's own sets
SPLITS = ("validation", "test")


def labelled_data(learner: Any, data: Any, text_col: str = "text", label_col: str = "label",
                  pair_col: str | None = None, split: str = "validation") -> tuple[EncodedTexts, LabelledTexts]:
    """The learner's validation or test set (`split`), or other labelled data checked against
    what the model was trained on."""
    if data is None:
        if split not in SPLITS:
            raise TrainingError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        if split == "test":
            if learner.data.test is None:
                raise TrainingError("there is no test data; add it with data.with_test(test_df), test: in a %%ktrain "
                                    "cell, or pass data to evaluate, e.g. evaluate(test_df)")
            return encode_for_evaluation(learner, learner.data.test), learner.data.test
        if learner.val_ds is None:
            raise TrainingError("there is no validation data; pass data to evaluate, e.g. evaluate(test_df)")
        return learner.val_ds, learner.data.val
    texts, labels = learner.task.read_labelled(data, text_col, label_col, pair_col)
    check_pairs(texts, learner.data.train.pairs is not None, from_table=not isinstance(data, (tuple, list)))
    part = learner.task.labelled(texts, labels, learner.class_names, "evaluation data")
    return encode_for_evaluation(learner, part), part


def report(learner: Any, dataset: EncodedTexts, tune: bool = False, split: str = "", epoch_check: bool = False) \
        -> Any:
    """The task's report; with `tune`, its decision settings (a multi-label threshold) are first
    chosen on these outputs, which must be the validation set's. `split` names the set in the
    report's headline ("validation", "test"; empty for data the user passed); `epoch_check`:
    the loop's check after an epoch (a translator scores a sample of what it writes)."""
    outputs = model_outputs(learner, dataset, epoch_check)
    if tune:
        learner.settings_learnt.update(learner.task.tune(outputs.logits, dataset.labels_by_example,
                                                         learner.settings_learnt))
    result = learner.task.report(outputs.logits, dataset.labels_by_example, learner.class_names, outputs.loss,
                                 learner.settings_learnt, dataset)
    result.split = split
    own = getattr(learner, "metrics", ())
    if own:  # the user's metrics, on the labels and predictions as they read them
        predicted = learner.task.decode(outputs.logits, learner.class_names, learner.settings_learnt, None, dataset)
        truth, predicted = learner.task.metric_inputs(dataset.labels_by_example, learner.class_names, predicted)
        result.own_metrics = user_metrics.compute(own, truth, predicted)
    return result


def evaluate(learner: Any, data: Any = None, text_col: str = "text", label_col: str = "label",
             pair_col: str | None = None, split: str | None = None) -> Any:
    """The task's report on the learner's test set when it has one, else its validation set
    (`split` picks one), or on `data` (a path, DataFrame, (texts, labels), TextData …): for
    classification accuracy, per-class precision/recall/F1 and the confusion matrix; for
    regression MSE, MAE, Pearson and Spearman. The headline says which set it is on. Labels in
    `data` that the model was not trained on are an error."""
    if data is None and split is None:
        split = "test" if learner.data.test is not None else "validation"
    dataset, part = labelled_data(learner, data, text_col, label_col, pair_col, split or "validation")
    result = report(learner, dataset, split=split if data is None else "")
    # a model that writes shows some of its writing (once here, not every epoch: writing is slow)
    learner.task.add_samples(result, runner(learner, max_new_tokens=SAMPLE_TOKENS), part, learner.max_len)
    return result


def top_losses(learner: Any, n: int = 5, data: Any = None, text_col: str = "text", label_col: str = "label",
               pair_col: str | None = None, split: str = "validation") -> Any:
    """The `n` examples the model gets most wrong (highest loss) in the validation set (or
    `split`, or `data`), as a DataFrame with the text, true and predicted label (or value),
    and the loss."""
    import pandas as pd

    n = checks.whole_number("n", n)
    dataset, part = labelled_data(learner, data, text_col, label_col, pair_col, split)
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


__all__ = ["SPLITS", "evaluate", "top_losses", "report", "model_outputs", "labelled_data", "encode_for_evaluation",
           "check_pairs"]
