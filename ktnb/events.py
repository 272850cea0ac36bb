"""The training event stream, the `Callback` base that listens to it, and `History`.

The learner emits one `Event` at each point of the loop; every view (progress bar, live
plot, widget, magic) and every optional behaviour (early stopping, LR reduction) is a
listener. A listener is any callable taking an `Event`; `Callback` subclasses get a method
per event name instead.

>>> seen = []
>>> class Losses(Callback):
...     def on_batch_end(self, event):
...         seen.append(event.loss)
>>> Losses()(Event("batch_end", loss=0.5)); seen
[0.5]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

#: In the order the loop emits them. "validate_begin" comes before the validation pass (views say
#: "validating…"), "evaluate" carries validation metrics; "epoch_end" carries those plus the
#: epoch's mean training loss, and in `message` a warning about the epoch when there is one.
EVENT_NAMES = ("train_begin", "epoch_begin", "batch_end", "validate_begin", "evaluate", "epoch_end", "train_end")

#: Why training ended, as given by `Event.reason` on "train_end".
END_REASONS = ("finished", "stopped", "early_stopping", "interrupted", "diverged", "error")


@dataclass
class Event:
    """One moment of training. `phase` is "fit" or "lr_find"; counts are 0-based positions
    and totals, so ``step / total_steps`` is the fraction done."""

    name: str
    phase: str = "fit"
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    batches: int = 0
    step: int = 0
    total_steps: int = 0
    loss: float | None = None
    lr: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    message: str | None = None
    learner: Any = field(default=None, repr=False)  # the object training (anything with request_stop)


Listener = Callable[[Event], Any]


class Callback:
    """Base for listeners with one method per event: ``on_train_begin(event)`` … ``on_train_end``.

    `order` sorts callbacks (lower runs first); views use 100 so that they see the state
    that behaviour callbacks (early stopping) left.
    """

    order: int = 0
    #: True for views (a progress bar): when several processes train, only the main one hears them.
    #: Other listeners run in every process; ``event.learner.accelerator.is_main_process`` tells which.
    main_process_only: bool = False

    def __call__(self, event: Event) -> None:
        method = getattr(self, "on_" + event.name, None)
        if method is not None:
            method(event)


#: listeners every learner in this process hears besides its own: set in the processes that
#: `ktnb.launch` starts, whose main process relays its events to the notebook
PROCESS_LISTENERS: list[Any] = []


class CancelFit(Exception):
    """Raised inside the loop to end training at a batch boundary; carries the reason."""

    def __init__(self, reason: str = "stopped"):
        super().__init__(reason)
        self.reason = reason


class History:
    """Everything recorded over a learner's life, across `fit` calls (each call is a run).

    `steps` has one dict per training batch (run, step, epoch, batch, loss, lr); `epochs` one
    per epoch (run, epoch, train_loss, val_loss, val_accuracy, …, lr, seconds, and a `note` when
    the epoch looked wrong). Epochs and steps are numbered from 1 and keep counting across runs.
    ``history["val_loss"]`` is that column of the epoch table (or the step table for step keys).
    """

    STEP_KEYS = ("run", "step", "epoch", "batch", "loss", "lr")

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.epochs: list[dict[str, Any]] = []
        self.runs = 0

    def start_run(self) -> int:
        """Number the next run (a `fit` call); rows recorded from now on carry it."""
        self.runs += 1
        return self.runs

    def run_starts(self) -> list[tuple[int, int, int | None]]:
        """(run, first step, first epoch or None) for every run, for marking where runs begin."""
        starts: dict[int, list[Any]] = {}
        for row in self.steps:
            starts.setdefault(row["run"], [row["step"], None])
        for row in self.epochs:
            entry = starts.setdefault(row["run"], [None, None])
            entry[1] = row["epoch"] if entry[1] is None else entry[1]
        return [(run, step, epoch) for run, (step, epoch) in sorted(starts.items())]

    def __getitem__(self, key: str) -> list[Any]:
        rows = self.steps if key in ("loss", "lr", "step", "batch") else self.epochs
        return [row[key] for row in rows if key in row]

    def __len__(self) -> int:
        return len(self.epochs)

    def to_frame(self, which: str = "epochs") -> Any:
        """The epoch (or step) table as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.epochs if which == "epochs" else self.steps)

    def plot(self) -> Any:
        """Training loss per step and validation metrics per epoch, with each run's start
        marked (matplotlib Figure)."""
        from .render.figures import history_figure

        return history_figure(self.steps, self.epochs, self.run_starts())

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epochs)}, steps={len(self.steps)})"
