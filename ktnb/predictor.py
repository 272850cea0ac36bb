"""Predict labels for new text, and save/load a model in the Hugging Face format.

A saved predictor is an ordinary `save_pretrained` folder (safetensors weights, config with the
label names, tokenizer) plus a small ``ktnb.json``; `transformers.pipeline` loads it as is:

    predictor.save("sentiment")
    pipeline("text-classification", model="sentiment")("a fine film")
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Callable, ContextManager, Sequence

import numpy as np
import torch

from . import checks
from .batching import PadCollator, encode_texts, pad_id, sorted_batches
from .errors import KtnbError, ModelError
from .storage import MANIFEST, atomic_folder, missing_folder_error, verify_manifest, write_manifest

PREDICTOR_FILE = MANIFEST


@torch.no_grad()
def logits_for_ids(model: Any, input_ids: Sequence[Sequence[int]], pad_id: int, batch_size: int,
                   device: torch.device | str,
                   autocast: Callable[[], ContextManager] = contextlib.nullcontext) -> np.ndarray:
    """Model outputs for pre-tokenised rows, in batches sorted by length, returned in input order."""
    was_training = model.training
    model.eval()
    collate = PadCollator(pad_id)
    out: np.ndarray | None = None
    try:
        for idx in sorted_batches([len(ids) for ids in input_ids], batch_size):
            batch = collate([{"input_ids": input_ids[i]} for i in idx])
            with autocast():
                logits = model(**{k: v.to(device) for k, v in batch.items()}).logits
            logits = logits.float().cpu().numpy()
            if out is None:
                out = np.empty((len(input_ids), logits.shape[-1]), dtype=np.float32)
            out[idx] = logits
    finally:
        model.train(was_training)
    return out if out is not None else np.empty((0, model.config.num_labels), dtype=np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


class Predictor:
    """Labels and probabilities for new texts from a trained classifier.

    >>> predictor = learner.predictor()                       # doctest: +SKIP
    >>> predictor.predict(["a gorgeous film", "dull and long"])  # doctest: +SKIP
    ['positive', 'negative']
    """

    def __init__(self, model: Any, tokenizer: Any, class_names: Sequence[str] | None = None,
                 max_len: int | None = None, batch_size: int = 64, device: str | torch.device | None = None):
        self.model = model
        self.tokenizer = tokenizer
        id2label = getattr(model.config, "id2label", {}) or {}
        self.class_names = list(class_names) if class_names is not None else \
            [id2label[i] for i in range(len(id2label))]
        self.max_len = checks.whole_number("max_len", max_len, 2) if max_len is not None else \
            min(getattr(tokenizer, "model_max_length", 512), 512)
        self.batch_size = checks.whole_number("batch_size", batch_size)
        self.device = torch.device(device) if device is not None else next(model.parameters()).device

    def _logits(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.empty((0, len(self.class_names)), dtype=np.float32)
        ids = encode_texts(self.tokenizer, [str(t) for t in texts], self.max_len)
        return logits_for_ids(self.model, ids, pad_id(self.tokenizer), self.batch_size, self.device)

    def predict_proba(self, texts: str | Sequence[str]) -> np.ndarray:
        """Class probabilities: shape (n_classes,) for one text, (n, n_classes) for a list."""
        items, single = checks.texts(texts, "predict_proba")
        proba = softmax(self._logits(items))
        return proba[0] if single else proba

    def predict(self, texts: str | Sequence[str]) -> str | list[str]:
        """The most likely class name for one text, or a list of names for a list of texts."""
        items, single = checks.texts(texts, "predict")
        proba = softmax(self._logits(items))
        labels = [self.class_names[i] for i in proba.argmax(axis=-1)] if len(proba) else []
        return labels[0] if single else labels

    def attention(self, text: str, view: str = "ktnb") -> Any:
        """Attention weights of every layer and head for `text` (an `Attention`, which shows
        itself in a notebook); ``view="bertviz"`` hands them to bertviz's head view instead."""
        from .attention import attention_for

        att = attention_for(self.model, self.tokenizer, text, self.max_len)
        if view in ("bertviz", "head", "model"):
            return att.bertviz("model" if view == "model" else "head")
        if view != "ktnb":
            raise KtnbError(f"unknown attention view {view!r}; choose ktnb, bertviz (head) or model")
        return att

    def save(self, path: str | os.PathLike) -> Path:
        """Write a Hugging Face model folder (safetensors, config with labels, tokenizer) that
        `Predictor.load` and `transformers.pipeline` both read.

        The folder appears whole or not at all (see `ktnb.storage`); an existing folder is
        replaced only when ktnb saved it."""
        from . import __version__
        from .models import quiet_transformers

        with atomic_folder(path) as tmp:
            with quiet_transformers():
                self.model.save_pretrained(tmp)
            self.tokenizer.save_pretrained(tmp)
            write_manifest(tmp, {"task": "text-classification", "class_names": self.class_names,
                                 "max_len": self.max_len, "ktnb_version": __version__})
        return Path(path).expanduser()

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None, batch_size: int = 64) -> Predictor:
        """A predictor from a folder written by `save` (or any trained sequence classifier).

        Refused, in one line, when the folder is not whole: files changed or cut short since
        they were saved, class names that disagree with the model, a base model without a
        trained head, a tokenizer that belongs to another model."""
        from .learner import resolve_device
        from .models import load_trained

        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise missing_folder_error(folder)
        meta = verify_manifest(folder) if (folder / PREDICTOR_FILE).is_file() else {}
        model, tokenizer = load_trained(folder, "AutoModelForSequenceClassification", "text classifier")
        id2label = getattr(model.config, "id2label", None) or {}
        config_names = [str(id2label[i]) for i in sorted(id2label)]
        class_names = meta.get("class_names", config_names)
        if class_names != config_names:
            raise ModelError(f"{folder / PREDICTOR_FILE} names the classes {class_names} but config.json has "
                             f"{config_names}; save the predictor again")
        max_len = meta.get("max_len")
        if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 2):
            raise ModelError(f"{folder / PREDICTOR_FILE} has a bad max_len {max_len!r}; save the predictor again")
        model.to(resolve_device(device))
        return cls(model, tokenizer, class_names, max_len, batch_size)

    def __repr__(self) -> str:
        return f"Predictor(classes={self.class_names}, max_len={self.max_len}, device={self.device})"


def load_predictor(path: str | os.PathLike, device: str | None = None) -> Predictor:
    """Shorthand for `Predictor.load`."""
    return Predictor.load(path, device)
