"""Running a model over encoded examples without training: batches sorted by length, outputs
put back in the caller's order, and (when the examples have labels) the model's own loss.
Shared by the learner (validation) and the predictor (new text); needs neither."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, ContextManager

import numpy as np
import torch

from .batching import IGNORED_LABEL, EncodedTexts, PadCollator, sorted_batches


@dataclass
class Outputs:
    """Per-example logits: an (n, k) array for sequence-level tasks, or for per-token tasks a
    list of (tokens, k) arrays cut to each example's length. `loss` is the model's own loss
    averaged over what it scores (examples, or tagged tokens), None without labels."""

    logits: np.ndarray | list[np.ndarray]
    loss: float | None = None


def device_of(model: Any) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def run_model(model: Any, examples: EncodedTexts, pad_id: int, batch_size: int, *, per_token: bool = False,
              device: torch.device | str | None = None,
              autocast: Callable[[], ContextManager] = contextlib.nullcontext) -> Outputs:
    """The model's outputs for `examples` in their order, with its mean loss when they have labels.

    >>> run_model(model, learner.val_ds, tokenizer.pad_token_id, 64).loss   # doctest: +SKIP
    0.41
    """
    device = device if device is not None else device_of(model)
    was_training = model.training
    model.eval()
    collate = PadCollator(pad_id)
    rows: list[Any] = [None] * len(examples)
    loss_sum, loss_weight = 0.0, 0
    try:
        for idx in sorted_batches(examples.lengths, batch_size):
            batch = collate([examples[i] for i in idx])
            with autocast():
                out = model(**{k: v.to(device) for k, v in batch.items()})
            logits = out.logits.float().cpu().numpy()
            if getattr(out, "loss", None) is not None:
                labels = batch["labels"]
                weight = int((labels != IGNORED_LABEL).sum()) if per_token else len(idx)
                loss_sum += float(out.loss) * weight
                loss_weight += weight
            for j, i in enumerate(idx):
                rows[i] = logits[j, : len(examples.input_ids[i])] if per_token else logits[j]
    finally:
        model.train(was_training)
    loss = loss_sum / loss_weight if loss_weight else None
    if per_token:
        return Outputs(rows, loss)
    width = model.config.num_labels
    return Outputs(np.stack(rows) if rows else np.empty((0, width), dtype=np.float32), loss)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))
