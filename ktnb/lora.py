"""LoRA through `peft`: low-rank adapters beside a model's linear layers train, the model's own
weights stay frozen. The optimizer then holds only the adapters (and a new head, which trains
whole), snapshots and checkpoints keep only what trains, and a saved predictor is the merged
model, an ordinary folder that `transformers.pipeline` loads.

>>> lora_settings(True)["r"], lora_settings({"r": 8})["alpha"]
(16, 32)
>>> learner = ktnb.text_learner(texts, "smollm2", task="generation", lora=True)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from typing import Any, Iterator

from .errors import ModelError, TrainingError

#: peft's usual starting point for small language models: rank 16, scale alpha/r = 2, adapters
#: beside every linear layer but the output one ("all-linear")
DEFAULTS: dict[str, Any] = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear"}
INSTALL = "pip install peft (or pip install 'ktnb[lora]')"
#: LoRA's rate against full fine-tuning's (the usual practice, 1e-4 against 1e-5 for 7B models): SmolLM2
#: on 1,000 SST-2 sentences, one epoch, the LR finder's full fine-tuning rate (3.2e-4) gave LoRA
#: perplexity 133, 1e-3 gave 94 (bench/RESULTS.md)
RATE_FACTOR = 10.0


def lora_settings(value: Any) -> dict[str, Any] | None:
    """`lora=` as given (None/False: off; True: `DEFAULTS`; a mapping: `DEFAULTS` with those
    keys changed), checked, as plain values that a checkpoint's JSON keeps."""
    if value is None or value is False:
        return None
    if value is True:
        return dict(DEFAULTS)
    if not isinstance(value, dict):
        raise TrainingError(f"lora must be True or a mapping such as {{r: 16, alpha: 32}}, got {value!r:.60}")
    unknown = [key for key in value if key not in DEFAULTS]
    if unknown:
        raise TrainingError(f"lora has no setting {unknown[0]!r}; it takes {', '.join(DEFAULTS)}")
    settings = {**DEFAULTS, **value}
    for key in ("r", "alpha"):
        if isinstance(settings[key], bool) or not isinstance(settings[key], int) or settings[key] < 1:
            raise TrainingError(f"lora {key} must be a whole number of at least 1, got {settings[key]!r:.60}")
    dropout = settings["dropout"]
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise TrainingError(f"lora dropout must be a number from 0 to below 1, got {dropout!r:.60}")
    targets = settings["target_modules"]
    if isinstance(targets, (list, tuple)):
        targets = list(targets)
    if not (isinstance(targets, str) and targets) and not (
            isinstance(targets, list) and targets and all(isinstance(t, str) and t for t in targets)):
        raise TrainingError(f"lora target_modules must be 'all-linear' or a list of module names such as "
                            f"[q_proj, v_proj], got {targets!r:.60}")
    settings["target_modules"] = targets
    settings["dropout"] = float(dropout)
    return settings


def _linear_classes() -> tuple[type, ...]:
    import torch
    from transformers.pytorch_utils import Conv1D  # GPT-2's linear layers

    return torch.nn.Linear, Conv1D


def _linear_names(model: Any) -> list[str]:
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                   if isinstance(module, _linear_classes())})


def _targets(model: Any, targets: str | list[str], heads: list[str]) -> list[str]:
    """The full names of the modules to put adapters beside: every linear layer ("all-linear")
    but the output one, or those named (a name matches a module's last parts); never a module
    of the task's new head, which trains whole."""
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    chosen = []
    for name, module in model.named_modules():
        if not name or any(name == head or name.startswith(head + ".") for head in heads):
            continue
        if targets == "all-linear":
            if isinstance(module, _linear_classes()) and module is not output:
                chosen.append(name)
        elif any(name == t or name.endswith("." + t) for t in targets):
            chosen.append(name)
    return chosen


@contextlib.contextmanager
def _quiet_peft() -> Iterator[None]:
    """peft asks the model a question transformers 5 renamed (a FutureWarning): not the user's."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def add_lora(model: Any, settings: dict[str, Any], task: Any) -> Any:
    """`model` with LoRA adapters (a `peft.PeftModel`): only they, and the task's new head
    (`Task.head_modules`, trained whole), train. A model with none of the named modules, or no
    peft, is a one-line error."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise ModelError(f"lora needs the peft library: {INSTALL}") from None

    modules = dict(model.named_modules())
    heads = [name for name in task.head_modules if name in modules]
    targets = _targets(model, settings["target_modules"], heads)
    if not targets:
        raise ModelError(f"lora: no module of this {model.config.model_type} model matches target_modules "
                         f"{settings['target_modules']!r}; its linear layers are named "
                         f"{', '.join(_linear_names(model))}")
    # a task type only where peft's model class adds what generation needs; others pass every input on
    # (peft's question answering class drops token_type_ids)
    config = LoraConfig(r=settings["r"], lora_alpha=settings["alpha"], lora_dropout=settings["dropout"],
                        target_modules=targets, task_type=task.peft_task_type, modules_to_save=heads or None)
    try:
        with _quiet_peft():
            return get_peft_model(model, config)
    except (TypeError, ValueError) as err:  # a kind of module LoRA does not support, named by the user
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ModelError(f"lora cannot adapt this {model.config.model_type} model's target_modules "
                         f"{settings['target_modules']!r}: {first}") from None


def merge_adapter_folder(model_class: Any, base: str, folder: Any, **kwargs: Any) -> Any:
    """`model_class.from_pretrained(base, **kwargs)` with the LoRA adapters in `folder` merged
    in (with its loading info when asked for, as `from_pretrained` gives it)."""
    try:
        from peft import PeftModel
    except ImportError:
        raise ModelError(f"{folder} holds LoRA adapters, which need the peft library: {INSTALL}") from None
    loaded = model_class.from_pretrained(base, **kwargs)
    model, info = loaded if kwargs.get("output_loading_info") else (loaded, None)
    with _quiet_peft():
        model = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
    model.requires_grad_(True)  # peft froze the base model; merged, it is a model like any other
    return (model, info) if info is not None else model


def is_lora(model: Any) -> bool:
    """Whether `model` carries peft adapters."""
    return hasattr(model, "peft_config") and hasattr(model, "merge_and_unload")


def merged(model: Any) -> Any:
    """A plain transformers model with the adapters folded into its weights (`model` itself when
    it has none): what a saved predictor holds. The copy costs one model's memory for a moment."""
    if not is_lora(model):
        return model
    return copy.deepcopy(model).merge_and_unload()


def adapter_base(folder: Any) -> str | None:
    """The base model an adapter-only folder (`Predictor.save(adapter_only=True)`, peft's
    layout) was trained on, or None when `folder` is not one."""
    import json
    from pathlib import Path

    path = Path(str(folder)).expanduser()
    if (path / "config.json").is_file() or not (path / "adapter_config.json").is_file():
        return None
    try:
        base = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))["base_model_name_or_path"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelError(f"{path / 'adapter_config.json'} is damaged: it names no base model; save the adapter "
                         "again") from None
    if not isinstance(base, str) or not base:
        raise ModelError(f"{path / 'adapter_config.json'} names no base model; save the adapter again")
    return base


def trainable_state(model: Any) -> dict[str, Any]:
    """What training can change, copied to the CPU: the parameters that train and the buffers.
    Frozen weights (a LoRA model's own, all but its adapters) are left out: they never change,
    and a copy of them would cost a whole model's memory per snapshot."""
    frozen = {name for name, param in model.named_parameters(remove_duplicate=False) if not param.requires_grad}
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items() if k not in frozen}


def load_trainable_state(model: Any, state: dict[str, Any]) -> None:
    """Put back what `trainable_state` copied (the frozen weights are as they were)."""
    result = model.load_state_dict(state, strict=False)
    trainable = {name for name, param in model.named_parameters() if param.requires_grad}
    missing = [name for name in result.missing_keys if name in trainable]
    if result.unexpected_keys or missing:
        problem = (f"{result.unexpected_keys[0]} is not one of its tensors" if result.unexpected_keys
                   else f"they lack {missing[0]}, which trains")
        raise ModelError(f"the saved weights do not belong to this model: {problem} (a change of lora settings?)")


def trainable_count(model: Any) -> tuple[int, int]:
    """(parameters that train, all parameters), each tied tensor counted once."""
    trainable = total = 0
    for param in model.parameters():
        total += param.numel()
        trainable += param.numel() if param.requires_grad else 0
    return trainable, total


__all__ = ["DEFAULTS", "lora_settings", "add_lora", "is_lora", "merged", "merge_adapter_folder", "adapter_base", "trainable_count", "trainable_state",
           "load_trainable_state"]
