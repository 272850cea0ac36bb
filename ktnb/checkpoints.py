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

import hashlib
import json
import math
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np

from .errors import KtnbError, ModelError, TrainingError
from .events import Callback, Event
from .processes import gather_from_all, on_main_process, process_count
from .run_state import Position, RunPlan, RunState
from .storage import (MANIFEST, atomic_folder, check_save_target, read_json, saved_kind, verify_manifest,
                      write_manifest, write_text_atomic)

KIND = "ktnb-checkpoint"
WEIGHTS = "model.safetensors"
BEST_WEIGHTS = "best.safetensors"
#: a LoRA run's adapters (and new head): what resumes it, on its base model (model.safetensors is merged)
TRAINABLE_WEIGHTS = "trainable.safetensors"
TRAINING_STATE = "training-state.pt"
#: runs that ended this way are complete: resuming one only loads its state
ENDED = ("finished", "early_stopping")
#: learner settings that change where a run goes: a resume must keep them as the run had them
#: (device, mixed precision and the evaluation batch size may change)
TRAJECTORY_SETTINGS = ("max_len", "batch_size", "grad_accum", "clip_grad", "weight_decay", "seed", "monitor", "lora")
#: what a damaged or foreign checkpoint's message tells the user to do
DAMAGED_FIX = "restore the folder from a copy, or delete it to start the run over"


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


def checkpoint_path(folder: Any, what: str = "load_learner") -> Path:
    """`folder` as a path, or a one-line error when it is not one (None, a number, "")."""
    if isinstance(folder, bool) or not isinstance(folder, (str, os.PathLike)) or not str(folder).strip():
        example = f"{what}='runs/sst2'" if what == "checkpoint_dir" else f"{what}('runs/sst2')"
        raise TrainingError(f"{what} needs the folder of a run's checkpoints, e.g. {example}; got {folder!r:.60}")
    return Path(folder).expanduser()


def check_checkpoint_dir(folder: Any, run_id: str | None = None, replaces: str | None = None) -> Path:
    """The folder a learner checkpoints into, refused (one line) before training when a checkpoint
    could not or should not be written there: a file, the working directory, a folder of other
    files, a saved predictor, a damaged checkpoint, or (given this learner's `run_id`) the
    checkpoint of another run, which writing would lose, unless it is the finished run of the
    same job that this one `replaces` (a script run again)."""
    path = checkpoint_path(folder, "checkpoint_dir")
    try:
        check_save_target(path, KIND)
    except ModelError as err:
        raise ModelError(f"checkpoint_dir: {err}") from None
    if not (path / MANIFEST).is_file():
        return path
    if saved_kind(path) is None:
        raise ModelError(f"checkpoint_dir {path} holds a damaged ktnb.json; {DAMAGED_FIX}, or choose another "
                         "checkpoint_dir")
    if run_id is not None:
        recorded = read_json(path / MANIFEST, DAMAGED_FIX).get("run_id")
        if recorded != run_id and (replaces is None or recorded != replaces):
            raise ModelError(f"checkpoint_dir {path} holds the checkpoint of another run, which this learner would "
                             f"overwrite; carry that run on with ktnb.resume({str(path)!r}), or choose another "
                             "checkpoint_dir (or delete that folder) to start a new run")
    return path


def _canonical(value: Any) -> Any:
    """JSON for what the readers produce besides plain values (numpy numbers and arrays, tuples)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} in the data")


def _digest(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, default=_canonical, ensure_ascii=False, separators=(",", ":")).encode())
        digest.update(b"\x1e")  # parts are kept apart: ([a], [b]) is not ([a, b], [])
    return digest.hexdigest()


def data_fingerprint(data: Any) -> dict[str, Any]:
    """What identifies the rows a run trains and validates on: their counts, whether they are text
    pairs, and a SHA-256 of each split's texts, second texts and labels (with the class names)."""
    def part_digest(part: Any) -> str | None:
        if part is None:
            return None
        return _digest(data.task, list(data.class_names), list(part.texts), part.pairs, list(part.labels))

    return {"train_rows": len(data.train), "val_rows": len(data.val) if data.val is not None else 0,
            "pairs": data.train.pairs is not None, "train": part_digest(data.train), "val": part_digest(data.val)}


def _learner_fingerprint(learner: Any) -> dict[str, Any]:
    """`data_fingerprint` of the learner's data, computed once per data object (checkpoints are frequent)."""
    cached = getattr(learner, "_data_fingerprint", None)
    if cached is None or cached[0] is not learner.data:
        cached = (learner.data, data_fingerprint(learner.data))
        learner._data_fingerprint = cached
    return cached[1]


def _check_same_data(path: Path, recorded: dict[str, Any], data: Any, now: dict[str, Any]) -> None:
    """A resume on other rows than the run's (a data file edited since, other rows passed as
    `data=`) is refused, naming what differs."""
    if recorded["pairs"] and not now["pairs"]:
        raise TrainingError(f"the run in {path} was trained on text pairs, but this data has single texts; give "
                            "the data with its second text (pair_col=, as the run was trained)")
    if now["pairs"] and not recorded["pairs"]:
        raise TrainingError(f"the run in {path} was trained on single texts, but this data has text pairs; give "
                            "the data without pair_col, as the run was trained")
    for split, name in (("train", "training"), ("val", "validation")):
        rows_then, rows_now = recorded[f"{split}_rows"], now[f"{split}_rows"]
        if rows_then != rows_now or recorded[split] != now[split]:
            change = f"{rows_then} rows then, {rows_now} now" if rows_then != rows_now else \
                f"the same {rows_now} rows in number, but other texts or labels"
            raise TrainingError(f"the data differs from what the run in {path} was trained on (its {name} rows: "
                                f"{change}); resume it with the same data, or start a new run in another "
                                "checkpoint_dir")


# ------------------------------------------------------------------ the metadata's schema

def _whole(minimum: int = 0) -> Any:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(minimum: float = -math.inf, above: bool = False) -> Any:
    return lambda v: _number(v) and math.isfinite(v) and (v > minimum if above else v >= minimum)


def _optional(check: Any) -> Any:
    return lambda v: v is None or check(v)


def _text(v: Any) -> bool:
    return isinstance(v, str)


def _names(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(n, str) for n in v)


def _rows(v: Any) -> bool:
    """History rows: mappings of names to numbers (an epoch's note is text)."""
    return isinstance(v, list) and all(
        isinstance(row, dict) and all(isinstance(k, str) and (_text(x) if k == "note" else _number(x))
                                      for k, x in row.items()) for row in v)


#: each key: (a test of its value, what it should be); a nested mapping lists its keys the same way
_PLAN = {"lr": (_finite(0, above=True), "a positive number"), "epochs": (_whole(1), "a whole number"),
         "schedule": (_text, "a schedule name"), "warmup": (_optional(_finite(0)), "a fraction or null"),
         "restore_best": (lambda v: isinstance(v, bool), "true or false"),
         "autofit": (_optional(lambda v: isinstance(v, dict)), "autofit's rules or null")}
_AUTOFIT = {"monitor": (_text, "a metric name"), "patience": (_whole(1), "a whole number"),
            "reduce_patience": (_whole(1), "a whole number"),
            "reduce_factor": (lambda v: _finite(0, above=True)(v) and v <= 1, "a number in (0, 1]")}
_POSITION = {"run": (_whole(1), "a whole number"), "epoch": (_whole(), "a whole number"),
             "batch": (_whole(), "a whole number"), "step": (_whole(), "a whole number"),
             "order": (_whole(), "a whole number"),
             "losses": (lambda v: isinstance(v, list) and all(map(_number, v)), "a list of numbers"),
             "steps_before": (_whole(), "a whole number")}
_BEST = {"epoch": (_whole(1), "a whole number"), "value": (_number, "a number"), "monitor": (_text, "a metric name")}
_HISTORY = {"steps": (_rows, "a list of rows"), "epochs": (_rows, "a list of rows"),
            "runs": (_whole(), "a whole number")}
_LEARNER = {"max_len": (_whole(1), "a whole number"), "batch_size": (_whole(1), "a whole number"),
            "eval_batch_size": (_whole(1), "a whole number"), "device": (_text, "a device name"),
            "mixed_precision": (_text, "auto, no, fp16 or bf16"), "grad_accum": (_whole(1), "a whole number"),
            "clip_grad": (_finite(0), "a number"), "weight_decay": (_finite(0), "a number"),
            "seed": (_whole(), "a whole number"), "monitor": (_optional(_text), "a metric name or null")}
_FINGERPRINT = {"train_rows": (_whole(1), "a whole number"), "val_rows": (_whole(), "a whole number"),
                "pairs": (lambda v: isinstance(v, bool), "true or false"), "train": (_text, "a SHA-256"),
                "val": (_optional(_text), "a SHA-256 or null")}
_RULE = {"best": (_optional(_number), "a number or null"), "wait": (_whole(), "a whole number")}
_CHECKPOINT = {
    "kind": (_text, "ktnb-checkpoint"), "ktnb_version": (_text, "a version"), "task": (_text, "a task name"),
    "pipeline": (_optional(_text), "a pipeline name"), "class_names": (_names, "a list of names"),
    "max_len": (_whole(1), "a whole number"), "settings": (_optional(lambda v: isinstance(v, dict)), "a mapping"),
    "pairs": (lambda v: isinstance(v, bool), "true or false"), "plan": (_PLAN, ""), "position": (_POSITION, ""),
    "ended": (lambda v: v is None or v in ENDED, f"null or one of {', '.join(ENDED)}"),
    "best": (_optional(lambda v: isinstance(v, dict)), "the best epoch or null"),
    "best_is_current": (lambda v: isinstance(v, bool), "true or false"),
    "lr_scale": (_finite(0, above=True), "a positive number"), "monitor": (_text, "a metric name"),
    "epochs_done": (_whole(), "a whole number"), "micro_batches": (_whole(1), "a whole number"),
    "checkpoint_every": (_optional(_whole(1)), "a whole number or null"),
    "rules": (lambda v: isinstance(v, list), "a list"), "history": (_HISTORY, ""),
    "data": (_optional(lambda v: isinstance(v, dict)), "where the data came from, or null"),
    "learner": (_LEARNER, ""), "base_model": (_optional(_text), "a model name or null"),
    "run_id": (lambda v: isinstance(v, str) and bool(v), "the run's identity"), "data_fingerprint": (_FINGERPRINT, ""),
    "files": (lambda v: isinstance(v, dict), "the list of the folder's files"),
}


def _schema_problem(value: Any, schema: dict[str, Any], where: str, extra_allowed: bool = False) -> str | None:
    """What is wrong with mapping `value` against `schema` (None when nothing is)."""
    if not isinstance(value, dict):
        return f"{where or 'it'} is not a mapping"
    missing = [key for key in schema if key not in value]
    if missing:
        shown = ", ".join(repr(f"{where}{key}") for key in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        return f"it lacks the key{'s' if len(missing) > 1 else ''} {shown}{more}"
    unknown = [key for key in value if key not in schema]
    if unknown and not extra_allowed:
        return f"it has an unexpected key {where + str(unknown[0])!r:.60}"
    for key, (check, expected) in schema.items():
        if isinstance(check, dict):
            problem = _schema_problem(value[key], check, f"{where}{key}.")
            if problem:
                return problem
        elif not check(value[key]):
            return f"{where}{key} is {value[key]!r:.60}, not {expected}"
    return None


def _metadata_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with a checkpoint's metadata: its keys and their types, and the relations
    between them that a resume relies on (None when nothing is)."""
    from .lora import lora_settings
    from .schedules import SCHEDULES
    from .tasks import get_task

    # keys at the top may be added by other ktnb versions; nested ones are the fields of a dataclass
    checked = meta
    learner = meta.get("learner")
    if isinstance(learner, dict) and "lora" in learner:  # a later key: older checkpoints have none
        try:
            lora_settings(learner["lora"])
        except KtnbError as err:
            return f"learner.lora is {learner['lora']!r:.60}: {err}"
        checked = {**meta, "learner": {key: value for key, value in learner.items() if key != "lora"}}
    problem = _schema_problem(checked, _CHECKPOINT, "", extra_allowed=True)
    if problem:
        return problem
    options = meta.get("task_options", {})  # older checkpoints have none
    if not isinstance(options, dict):
        return f"task_options is {options!r:.60}, not a mapping"
    try:
        task = get_task(meta["task"], **options)
    except KtnbError as err:
        return f"task is {meta['task']!r:.60} with options {options!r:.60}: {err}"
    plan, best = meta["plan"], meta["best"]
    if plan["schedule"] not in SCHEDULES:
        return f"plan.schedule is {plan['schedule']!r:.60}, not one of {', '.join(SCHEDULES)}"
    if plan["warmup"] is not None and plan["warmup"] >= 1:
        return f"plan.warmup is {plan['warmup']!r}, not a fraction below 1"
    if plan["autofit"] is not None:
        problem = _schema_problem(plan["autofit"], _AUTOFIT, "plan.autofit.") or next(
            (f"rules[{i}] is {rule!r:.60}" for i, rule in enumerate(meta["rules"])
             if _schema_problem(rule, _RULE, f"rules[{i}].")), None)
        if problem:
            return problem
        if len(meta["rules"]) != 2:
            return f"rules has {len(meta['rules'])} entries, not autofit's 2"
    if best is not None:
        problem = _schema_problem(best, _BEST, "best.")
        if problem:
            return problem
        if best["epoch"] > meta["epochs_done"]:
            return f"best.epoch is {best['epoch']}, after the {meta['epochs_done']} epochs done"
    elif meta["best_is_current"]:
        return "best_is_current is true, but there is no best epoch"
    own = isinstance(meta["monitor"], str) and re.fullmatch(r"val_[A-Za-z][A-Za-z0-9_]*", meta["monitor"])
    if meta["monitor"] not in task.metrics and not own:  # a user's metric is checked when the learner is built
        return f"monitor is {meta['monitor']!r:.60}, not a metric of {task.name}"
    wanted = ["model.safetensors", TRAINING_STATE] + ([BEST_WEIGHTS] if best and not meta["best_is_current"] else []) \
        + ([TRAINABLE_WEIGHTS] if meta["learner"].get("lora") else [])
    unlisted = [name for name in wanted if name not in meta["files"]]
    if unlisted:
        return f"its file list lacks {unlisted[0]}"
    if isinstance(meta["history"].get("epochs"), list) and meta["epochs_done"] != len(meta["history"]["epochs"]):
        return f"epochs_done is {meta['epochs_done']}, but the history has {len(meta['history']['epochs'])} epochs"
    if meta["position"]["run"] != meta["history"]["runs"]:
        return f"position.run is {meta['position']['run']}, but the history has {meta['history']['runs']} runs"
    return None


def save_checkpoint(learner: Any, folder: str | os.PathLike, rngs: list[dict[str, Any]] | None = None) -> Path:
    """Write `learner`'s run as it stands (its `plan` and `position`) into `folder`, atomically.
    `rngs`: every process's random state, when several train (the main process writes)."""
    import torch
    from safetensors.torch import save_file, save_model

    from . import __version__
    from .lora import merged, trainable_state
    from .batching import model_length_cap
    from .models import quiet_transformers

    if learner.plan is None or learner.position is None:
        raise TrainingError("there is no run to checkpoint yet: call fit first")
    # never another run's checkpoint (but the finished run this one replaces), nor a predictor
    check_checkpoint_dir(folder, learner.run_id, getattr(learner, "replaces_run", None))
    run = learner.run_state
    best = run.best_weights
    # at the end of the epoch that just became the best, the best state is the current one: keep it once
    best_is_current = best is not None and run.position.batch == 0 and run.best["epoch"] == run.epochs_done
    meta = {
        "kind": KIND, "ktnb_version": __version__,
        # what load_predictor reads: a checkpoint folder is also a predictor of its current weights
        "task": learner.task.name, "task_options": learner.task.options, "pipeline": learner.task.pipeline_task,
        "class_names": learner.class_names,
        "max_len": model_length_cap(learner.tokenizer, learner.model.config), "settings": learner.settings_learnt,
        "pairs": learner.data.train.pairs is not None,
        # what carries the run on
        "plan": vars(run.plan).copy(), "position": vars(run.position).copy(), "ended": None,
        "best": run.best, "best_is_current": best_is_current, "lr_scale": run.lr_scale,
        "monitor": learner.monitor, "epochs_done": run.epochs_done,
        "micro_batches": learner.micro_batches, "checkpoint_every": learner.checkpoint_every,
        "rules": [rule.state_dict() for rule in run.rules],
        "history": {"steps": learner.history.steps, "epochs": learner.history.epochs, "runs": learner.history.runs},
        # what rebuilds the learner in a new process
        "data": getattr(learner.data, "origin", None), "learner": learner.build_settings,
        "base_model": getattr(learner, "checkpoint", None),
        # whose run this is, and on which rows: a resume must not take another run's state or other data
        "run_id": run.run_id, "data_fingerprint": _learner_fingerprint(learner),
        "world_size": len(rngs) if rngs else 1,
    }
    with atomic_folder(folder, KIND) as tmp:
        learner.model.config.save_pretrained(tmp)
        # the weights as a model folder holds them (pipeline and load_predictor read the folder)
        save_model(merged(learner.model), str(tmp / WEIGHTS), metadata={"format": "pt"})
        if learner.lora is not None:
            save_file(trainable_state(learner.model), str(tmp / TRAINABLE_WEIGHTS), metadata={"format": "pt"})
        kept_apart = best is not None and not best_is_current
        if kept_apart:
            save_file(best["model"], str(tmp / BEST_WEIGHTS), metadata={"format": "pt"})
        with quiet_transformers():
            learner.tokenizer.save_pretrained(tmp)
        torch.save({"optimizer": learner._optimizer.state_dict(),
                    "best_optimizer": best["optimizer"] if kept_apart else None,
                    "best_settings": best["settings"] if best is not None else None,
                    "rng": rngs[0] if rngs else _rng_state(), "rng_per_rank": rngs}, tmp / TRAINING_STATE)
        # SHA-256 too: a resume must notice weights swapped or damaged since (about 0.3 s per 100 MB)
        write_manifest(tmp, meta, digests=True)
    return Path(folder).expanduser()


def prior_run(folder: str | os.PathLike) -> str | None:
    """What a checkpoint folder holds before a new run is to start in it: None (nothing there, or
    not a checkpoint: the checks that follow say what), "ended" (a run that finished), or
    "unfinished" (one that can be resumed)."""
    path = Path(folder).expanduser() / MANIFEST
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        return None
    return "ended" if meta.get("ended") in ENDED else "unfinished"


def other_job(folder: str | os.PathLike, learner: Any) -> str | None:
    """What makes the run checkpointed in `folder` another job than `learner`'s (other rows, another
    model), or None when it is the same job: a script run again."""
    meta = read_json(Path(folder).expanduser() / MANIFEST, DAMAGED_FIX)
    if meta.get("data_fingerprint") != _learner_fingerprint(learner):
        return "the checkpoint of a run on other data"
    if meta.get("base_model") != getattr(learner, "checkpoint", None):
        return f"the checkpoint of a run of another model ({meta.get('base_model')})"
    return None


def recorded_run(folder: str | os.PathLike) -> dict[str, Any]:
    """The metadata of the run checkpointed in `folder` (not verified: see `read_checkpoint`)."""
    return read_json(Path(folder).expanduser() / MANIFEST, DAMAGED_FIX)


def mark_ended(folder: str | os.PathLike, reason: str, run_id: str | None = None) -> None:
    """Record that the checkpointed run ended for good (`reason`): resuming it trains no more.
    With `run_id`, only a checkpoint of that run is marked."""
    path = Path(folder).expanduser() / MANIFEST
    meta = read_json(path, "checkpoint it again")
    if run_id is not None and meta.get("run_id") != run_id:
        return
    meta["ended"] = reason
    write_text_atomic(path, json.dumps(meta, indent=2))


def read_checkpoint(folder: str | os.PathLike, what: str = "ktnb.read_checkpoint") -> dict[str, Any]:
    """The metadata of a checkpoint folder, after checking that it is one, that its files are
    whole and unchanged (SHA-256), and that the metadata has every key a resume reads, of the
    right type (`what`: the call, for a message on a bad `folder`)."""
    path = checkpoint_path(folder, what)
    if not (path / MANIFEST).is_file():
        hint = " (is it a predictor saved with save(), not a checkpoint_dir?)" if (path / "config.json").is_file() else ""
        raise ModelError(f"{path} holds no ktnb checkpoint{hint}; train with checkpoint_dir= to write one")
    meta = read_json(path / MANIFEST, DAMAGED_FIX)
    if meta.get("kind") != KIND:
        raise ModelError(f"{path} is a saved predictor, not a training checkpoint; load it with ktnb.load_predictor")
    verify_manifest(path, DAMAGED_FIX)
    problem = _metadata_problem(meta)
    if problem:
        raise ModelError(f"{path / MANIFEST} is damaged: {problem} (edited by hand, or written by another ktnb "
                         f"version); {DAMAGED_FIX}")
    return meta


def _position_problem(meta: dict[str, Any], batches: int, grad_accum: int) -> str | None:
    """What is wrong with the checkpoint's position in its run, given the run's plan and the
    batches per epoch of the rebuilt learner (None when nothing is)."""
    position, epochs = meta["position"], meta["plan"]["epochs"]
    epoch, batch, step = position["epoch"], position["batch"], position["step"]
    per_epoch = math.ceil(batches / grad_accum)
    if epoch > epochs or batch > batches or (epoch == epochs and batch):
        return f"position (epoch {epoch}, batch {batch}) is past the run's plan of {epochs} epochs of {batches} batches"
    expected = epoch * per_epoch + (batch // grad_accum if batch < batches else per_epoch)
    if step != expected:
        return f"position.step is {step}, but epoch {epoch}, batch {batch} of this run is step {expected}"
    if len(position["losses"]) != batch:
        return f"position.losses has {len(position['losses'])} losses for the {batch} batches done"
    return None


def restore(learner: Any, folder: str | os.PathLike, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Put the checkpointed run's state into `learner` (built for the same task, labels, data,
    settings and model); returns the checkpoint's metadata (`meta`: already read by
    `read_checkpoint`). Training does not start. A learner that has trained a run of its own
    takes no other run's state; one that has not carries on the checkpoint's run (its identity)."""
    import torch
    from safetensors.torch import load_file, load_model

    from .lora import load_trainable_state

    path = checkpoint_path(folder, "learner.resume")
    meta = read_checkpoint(path, "learner.resume") if meta is None else meta
    if meta["run_id"] != learner.run_id and (learner.plan is not None or learner.history.runs):
        raise TrainingError(f"the checkpoint in {path} is of another run than the one this learner trained, whose "
                            f"state it would replace; carry that run on in a new learner with "
                            f"ktnb.resume({str(path)!r}), or go on training this one with fit")
    if meta.get("task_options", {}) != learner.task.options:  # windows, strides: the run's features
        raise TrainingError(f"the checkpoint in {path} was trained with the task options {meta.get('task_options')}, "
                            f"this learner has {learner.task.options}; build it with the run's task, "
                            f"ktnb.get_task({meta['task']!r}, **{meta.get('task_options')})")
    if meta["task"] != learner.task.name or meta["class_names"] != learner.class_names:
        raise ModelError(f"the checkpoint in {path} is for {meta['task']} with labels {meta['class_names'][:6]}, "
                         f"but this learner is for {learner.task.name} with {learner.class_names[:6]}; resume it "
                         "with the data it was trained on")
    for name in TRAJECTORY_SETTINGS:  # each changes the batches, the steps or the best epoch of the run
        then, now = meta["learner"].get(name), learner.build_settings[name]  # older checkpoints have no lora
        if then != now:
            raise TrainingError(f"the checkpoint in {path} was trained with {name} {then!r}, this learner has "
                                f"{now!r}, which would not carry the run on the same way; build it with "
                                f"{name}={then!r} (ktnb.resume keeps the run's settings when {name} is left out)")
    _check_same_data(path, meta["data_fingerprint"], learner.data, _learner_fingerprint(learner))
    learner._prepare()
    problem = _position_problem(meta, len(learner._train_dl), learner.grad_accum)
    if problem:
        raise ModelError(f"{path / MANIFEST} is damaged: {problem} (edited by hand?); {DAMAGED_FIX}")
    try:
        if learner.lora is not None:  # the adapters, on the base model the learner was built on
            load_trainable_state(learner.model, load_file(str(path / TRAINABLE_WEIGHTS)))
        else:
            load_model(learner.model, str(path / WEIGHTS), strict=True)
        state = torch.load(path / TRAINING_STATE, map_location="cpu", weights_only=True)
        learner._optimizer.load_state_dict(state["optimizer"])
        best_weights = load_file(str(path / BEST_WEIGHTS)) if (path / BEST_WEIGHTS).is_file() else None
    except (RuntimeError, KeyError, ValueError, OSError) as err:
        raise ModelError(f"could not restore the checkpoint in {path}: {str(err).splitlines()[0]}") from None
    if meta.get("best_is_current"):
        best_weights = learner._snapshot()
        best_weights["settings"] = dict(state["best_settings"] or {})
    elif best_weights is not None:
        best_weights = {"model": best_weights, "optimizer": state["best_optimizer"],
                        "settings": dict(state["best_settings"] or {})}
    plan, position = RunPlan(**meta["plan"]), Position(**meta["position"])
    rng = _process_rng(state, meta, learner.accelerator)
    rules = learner._make_rules(plan.autofit) if plan.autofit is not None else []
    for rule, saved in zip(rules, meta["rules"]):
        rule.load_state_dict(saved)
    # the learner carries this run on: its identity (its checkpoints are the run's) and its state
    learner.run_state = RunState(
        meta["run_id"], plan, position, best=meta["best"], best_weights=best_weights,
        lr_scale=float(meta["lr_scale"]), epochs_done=int(meta["epochs_done"]),
        steps_done=position.steps_before + position.step, rules=rules,
        resumed_rng=rng)  # set when training goes on (see Learner._run)
    learner.settings_learnt = dict(meta["settings"] or {})
    learner.monitor = meta["monitor"]
    learner.micro_batches = max(learner.micro_batches, int(meta.get("micro_batches", 1)))
    history = meta["history"]
    learner.history.steps, learner.history.epochs = list(history["steps"]), list(history["epochs"])
    learner.history.runs = int(history["runs"])
    return meta


def _process_rng(state: dict[str, Any], meta: dict[str, Any], accelerator: Any) -> dict[str, Any]:
    """This process's random state in the checkpoint: its own when the run is resumed with as many
    processes as wrote it, else the main process's (`Learner.resume` says the run will not
    repeat exactly)."""
    per_rank, count = state.get("rng_per_rank"), accelerator.num_processes
    if per_rank and len(per_rank) == count:
        return per_rank[accelerator.process_index]
    return state["rng"]


def checkpoint_from_all(learner: Any, folder: str | os.PathLike) -> None:
    """`save_checkpoint` when several processes train: every process's random state is gathered,
    then the main process writes (they share the folder). Every process must call it."""
    rngs = gather_from_all(_rng_state()) if process_count() > 1 else None
    on_main_process(lambda: save_checkpoint(learner, folder, rngs))


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
            on_main_process(lambda: mark_ended(self.folder, event.reason, event.learner.run_id))

    def _save(self, event: Event) -> None:
        checkpoint_from_all(event.learner, self.folder)
        self.saved_step = event.step


__all__ = ["Checkpointer", "save_checkpoint", "read_checkpoint", "restore", "check_checkpoint_dir",
           "checkpoint_path", "data_fingerprint"]
