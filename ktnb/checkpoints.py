"""Checkpoints: a run that survives a lost runtime (a Colab disconnect, a kernel restart, a
kill). With ``checkpoint_dir=`` the learner writes, at every epoch end and every
``checkpoint_every`` optimizer steps, everything needed to carry the run on: the weights now
and the best validated ones (safetensors), the optimizer, where the run is (epoch, batch,
step, the batch order), the random number generators, the history and, to rebuild the learner
in a new process, where the data came from and the learner's settings.

A checkpoint folder is written whole or not at all (`ktnb.storage.atomic_folder`): a process
killed while writing one leaves the previous checkpoint. It is also a Hugging Face model folder
(its current weights, config and tokenizer), so ``load_predictor`` and ``pipeline`` read it.

    learner = ktnb.text_learner("train.csv", checkpoint_dir="runs/sentiment", checkpoint_every=50)
    learner.fit(1e-4, 3)            # ... the runtime dies in epoch 2
    learner = ktnb.resume("runs/sentiment")   # a new process: the data is read again; training goes on
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError, TrainingError
from .events import Callback, Event
from .storage import MANIFEST, atomic_folder, read_json, verify_manifest, write_manifest, write_text_atomic

KIND = "ktnb-checkpoint"
WEIGHTS = "model.safetensors"
BEST_WEIGHTS = "best.safetensors"
TRAINING_STATE = "training-state.pt"
#: runs that ended this way are complete: resuming one only loads its state
ENDED = ("finished", "early_stopping")


def _rng_state() -> dict[str, Any]:
    import torch

    state = {"torch": torch.get_rng_state(), "numpy": list(np.random.get_state()), "python": random.getstate()}
    state["numpy"][1] = torch.from_numpy(np.asarray(state["numpy"][1]).copy())
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Put back the random generators as `_rng_state` recorded them."""
    import torch

    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss), float(cached)))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(learner: Any, folder: str | os.PathLike) -> Path:
    """Write `learner`'s run as it stands (its `plan` and `position`) into `folder`, atomically."""
    import torch
    from safetensors.torch import save_file, save_model

    from . import __version__
    from .batching import model_length_cap
    from .models import quiet_transformers

    if learner.plan is None or learner.position is None:
        raise TrainingError("there is no run to checkpoint yet: call fit first")
    best = learner._best_state
    # at the end of the epoch that just became the best, the best state is the current one: keep it once
    best_is_current = best is not None and learner.position.batch == 0 and \
        learner.best["epoch"] == learner.epochs_done
    meta = {
        "kind": KIND, "ktnb_version": __version__,
        # what load_predictor reads: a checkpoint folder is also a predictor of its current weights
        "task": learner.task.name, "pipeline": learner.task.pipeline_task, "class_names": learner.class_names,
        "max_len": model_length_cap(learner.tokenizer, learner.model.config), "settings": learner.settings_learnt,
        "pairs": learner.data.train.pairs is not None,
        # what carries the run on
        "plan": vars(learner.plan).copy(), "position": vars(learner.position).copy(), "ended": None,
        "best": learner.best, "best_is_current": best_is_current, "lr_scale": learner.lr_scale,
        "monitor": learner.monitor,
        "epochs_done": learner.epochs_done,
        "micro_batches": learner.micro_batches, "checkpoint_every": learner.checkpoint_every,
        "rules": [rule.state_dict() for rule in learner._rules],
        "history": {"steps": learner.history.steps, "epochs": learner.history.epochs, "runs": learner.history.runs},
        # what rebuilds the learner in a new process
        "data": getattr(learner.data, "origin", None), "learner": learner.build_settings,
        "base_model": getattr(learner, "checkpoint", None),
    }
    with atomic_folder(folder) as tmp:
        learner.model.config.save_pretrained(tmp)
        save_model(learner.model, str(tmp / WEIGHTS), metadata={"format": "pt"})
        kept_apart = best is not None and not best_is_current
        if kept_apart:
            save_file(best["model"], str(tmp / BEST_WEIGHTS), metadata={"format": "pt"})
        with quiet_transformers():
            learner.tokenizer.save_pretrained(tmp)
        torch.save({"optimizer": learner._optimizer.state_dict(),
                    "best_optimizer": best["optimizer"] if kept_apart else None,
                    "best_settings": best["settings"] if best is not None else None,
                    "rng": _rng_state()}, tmp / TRAINING_STATE)
        # sizes only: a checkpoint is rewritten often, and the atomic swap already keeps it whole
        write_manifest(tmp, meta, digests=False)
    return Path(folder).expanduser()


def mark_ended(folder: str | os.PathLike, reason: str) -> None:
    """Record that the checkpointed run ended for good (`reason`): resuming it trains no more."""
    path = Path(folder).expanduser() / MANIFEST
    meta = read_json(path, "checkpoint it again")
    meta["ended"] = reason
    write_text_atomic(path, json.dumps(meta, indent=2))


def read_checkpoint(folder: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a checkpoint folder, after checking that it is one and that it is whole."""
    path = Path(folder).expanduser()
    if not (path / MANIFEST).is_file():
        hint = " (is it a predictor saved with save(), not a checkpoint_dir?)" if (path / "config.json").is_file() else ""
        raise ModelError(f"{path} holds no ktnb checkpoint{hint}; train with checkpoint_dir= to write one")
    meta = verify_manifest(path)
    if meta.get("kind") != KIND:
        raise ModelError(f"{path} is a saved predictor, not a training checkpoint; load it with ktnb.load_predictor")
    return meta


def restore(learner: Any, folder: str | os.PathLike) -> dict[str, Any]:
    """Put the checkpointed run's state into `learner` (built for the same task, labels and
    model); returns the checkpoint's metadata. Training does not start."""
    import torch
    from safetensors.torch import load_file, load_model

    from .learner import Position, RunPlan

    path = Path(folder).expanduser()
    meta = read_checkpoint(path)
    if meta["task"] != learner.task.name or meta["class_names"] != learner.class_names:
        raise ModelError(f"the checkpoint in {path} is for {meta['task']} with labels {meta['class_names'][:6]}, "
                         f"but this learner is for {learner.task.name} with {learner.class_names[:6]}; resume it "
                         "with the data it was trained on")
    trained_at = meta["learner"]["max_len"]
    if trained_at != learner.max_len:
        raise ModelError(f"the checkpoint in {path} was trained with max_len {trained_at}, this learner has "
                         f"{learner.max_len}; build it with max_len={trained_at}")
    learner._prepare()
    try:
        load_model(learner.model, str(path / WEIGHTS), strict=True)
        state = torch.load(path / TRAINING_STATE, map_location="cpu", weights_only=True)
        learner._optimizer.load_state_dict(state["optimizer"])
        best_weights = load_file(str(path / BEST_WEIGHTS)) if (path / BEST_WEIGHTS).is_file() else None
    except (RuntimeError, KeyError, ValueError, OSError) as err:
        raise ModelError(f"could not restore the checkpoint in {path}: {str(err).splitlines()[0]}") from None
    if meta.get("best_is_current"):
        learner._best_state = learner._snapshot()
        learner._best_state["settings"] = dict(state["best_settings"] or {})
    else:
        learner._best_state = None if best_weights is None else {
            "model": best_weights, "optimizer": state["best_optimizer"],
            "settings": dict(state["best_settings"] or {})}
    learner.best = meta["best"]
    learner.settings_learnt = dict(meta["settings"] or {})
    learner.lr_scale = float(meta["lr_scale"])
    learner.monitor = meta["monitor"]
    learner.epochs_done = int(meta["epochs_done"])
    learner.micro_batches = max(learner.micro_batches, int(meta.get("micro_batches", 1)))
    history = meta["history"]
    learner.history.steps, learner.history.epochs = list(history["steps"]), list(history["epochs"])
    learner.history.runs = int(history["runs"])
    learner.plan = RunPlan(**meta["plan"])
    learner.position = Position(**meta["position"])
    learner.steps_done = learner.position.steps_before + learner.position.step
    if learner.plan.autofit is not None:
        for rule, saved in zip(learner._make_rules(learner.plan.autofit), meta["rules"]):
            rule.load_state_dict(saved)
    else:
        learner._rules = []
    learner._resumed_rng = state["rng"]  # set when training goes on (see Learner._run)
    return meta


class Checkpointer(Callback):
    """Writes a checkpoint at every epoch end and, with `every`, each `every` optimizer steps;
    marks it ended when the run finishes (or stops early by rule). A user's stop, an interrupt,
    a divergence or a crash leave the last checkpoint as it was: the run can go on from there."""

    order = 90  # after the rules (early stopping, lr on plateau) have updated their state

    def __init__(self, folder: str | os.PathLike, every: int | None = None):
        self.folder, self.every, self.saved_step = folder, every, -1

    def on_train_begin(self, event: Event) -> None:
        self.saved_step = event.step

    def on_batch_end(self, event: Event) -> None:
        if self.every and event.step != self.saved_step and event.step % self.every == 0 \
                and event.loss is not None and np.isfinite(event.loss):
            self._save(event)

    def on_epoch_end(self, event: Event) -> None:
        self._save(event)

    def on_train_end(self, event: Event) -> None:
        if event.reason in ENDED and self.saved_step >= 0 and (Path(self.folder).expanduser() / MANIFEST).is_file():
            mark_ended(self.folder, event.reason)

    def _save(self, event: Event) -> None:
        save_checkpoint(event.learner, self.folder)
        self.saved_step = event.step


def load_learner(folder: str | os.PathLike, data: Any = None, **overrides: Any) -> Any:
    """The learner of a checkpointed run, rebuilt in this process with its state restored
    (training does not go on; `learner.resume(folder)` does that). The data is read again from
    where it came from (a file or a named data set); data that came from a Python object must
    be passed as `data` (the same rows). `overrides` change learner settings such as `device`.

    >>> learner = ktnb.load_learner("runs/sentiment")     # doctest: +SKIP
    """
    from .learner import text_learner
    from .workflow import load_config_data

    path = Path(folder).expanduser()
    meta = read_checkpoint(path)
    if data is None:
        origin = meta.get("data")
        if not origin:
            raise TrainingError(f"the run in {path} was trained on data from a Python object, which a new process "
                                "cannot read again; pass it: ktnb.resume(folder, data=...)")
        data = load_config_data(origin["data"], origin)
    settings = {**meta["learner"], "checkpoint_every": meta.get("checkpoint_every"), **overrides}
    learner = text_learner(data, str(path), task=meta["task"], checkpoint_dir=path, **settings)
    if meta.get("base_model"):
        learner.checkpoint = meta["base_model"]
    restore(learner, path)
    return learner


def resume(folder: str | os.PathLike, data: Any = None, **overrides: Any) -> Any:
    """Rebuild the learner of a checkpointed run (see `load_learner`) and carry the run on to
    its end; returns the learner.

    >>> learner = ktnb.resume("runs/sentiment")           # doctest: +SKIP
    """
    learner = load_learner(folder, data, **overrides)
    learner.resume(folder)
    return learner


__all__ = ["Checkpointer", "save_checkpoint", "read_checkpoint", "restore", "load_learner", "resume"]
