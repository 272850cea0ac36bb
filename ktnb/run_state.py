"""Where a training run is and what it was asked to do: the parts of a learner's state that a
checkpoint records and a resume puts back (`ktnb.checkpoints`), kept apart from the loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunPlan:
    """What one `fit` (or `autofit`) call was asked to do: enough to carry it on after a crash."""

    lr: float
    epochs: int
    schedule: str = "onecycle"
    warmup: float | None = None
    restore_best: bool = False
    #: autofit's rules (monitor, patience, reduce_patience, reduce_factor), None for a plain fit
    autofit: dict[str, Any] | None = None


@dataclass
class Position:
    """Where a run is: `epoch` (0-based) is the epoch under way (or next), `batch` the batches of
    it already trained, `step` the optimizer steps of the run so far. `order` is the batch
    order's seed counter for that epoch and `losses` the epoch's batch losses so far."""

    run: int
    epoch: int = 0
    batch: int = 0
    step: int = 0
    order: int = 0
    losses: list[float] = field(default_factory=list)
    #: the learner's optimizer steps before this run (history rows count on from there)
    steps_before: int = 0


@dataclass
class RunState:
    """Everything a learner's runs leave behind besides the weights and the history, in one
    place: a checkpoint writes it and a resume puts it back whole (`ktnb.checkpoints`).

    `run_id` is the run's identity: a learner overwrites no other run's checkpoint and takes no
    other run's state (one that resumes a run takes its identity). `best` is the current run's
    best validated epoch ({"epoch", "value", "monitor"}) and `best_weights` its weights and
    optimizer state, on the CPU; `start_weights` the same from before the run, until a best
    exists. `lr_scale` multiplies the schedule (ReduceLROnPlateau lowers it), `rules` are
    autofit's listeners (their waiting is part of the run), and `resumed_rng` a checkpoint's
    random state, set at the next batch."""

    run_id: str
    plan: RunPlan | None = None
    position: Position | None = None
    best: dict[str, Any] | None = None
    best_weights: dict[str, Any] | None = None
    start_weights: dict[str, Any] | None = None
    lr_scale: float = 1.0
    epochs_done: int = 0
    steps_done: int = 0
    rules: list[Any] = field(default_factory=list)
    resumed_rng: dict[str, Any] | None = None


__all__ = ["RunPlan", "Position", "RunState"]
