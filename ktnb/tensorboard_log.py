"""Training curves for TensorBoard: a listener on the event stream that writes each training
batch's loss and learning rate and each epoch's validation metrics as TensorBoard event files,
one folder per learner under `log_dir`, for ``tensorboard --logdir runs``. Needs the
`tensorboard` package (``pip install ktnb[tensorboard]``).

>>> learner.fit(1e-4, 2, callbacks=[ktnb.TensorBoard("runs")])   # doctest: +SKIP
>>> # then, in a terminal:  tensorboard --logdir runs
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from .errors import KtnbError
from .events import Callback, Event


class TensorBoard(Callback):
    """Writes `train/loss` and `train/lr` at every training batch and `epoch/<metric>` (the
    validation metrics and the mean training loss) at every epoch, numbered as the learner's
    history numbers them, so that later `fit` calls and resumed runs continue the same curves.
    Each run gets its own folder, `log_dir/run_name` (default: the run's id, which a resumed
    run keeps). Only the main process of a multi-process run writes. The LR finder's sweep is
    not written."""

    order = 50

    def __init__(self, log_dir: str | os.PathLike = "runs", run_name: str | None = None):
        self.log_dir = Path(log_dir)
        self.run_name = run_name
        self.writer: Any = None
        self._learner: Any = None

    @property
    def run_dir(self) -> Path | None:
        """The folder this listener writes to (None until training starts)."""
        return Path(self.writer.log_dir) if self.writer is not None else None

    def on_train_begin(self, event: Event) -> None:
        if event.phase != "fit":
            return
        if self.writer is not None and event.learner is self._learner:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise KtnbError("TensorBoard logging needs the tensorboard package: pip install tensorboard") from None
        accelerator = getattr(event.learner, "accelerator", None)
        if accelerator is not None and not accelerator.is_main_process:  # one writer for a multi-process run
            return
        # the run's id: a resumed run (ktnb.resume, in a new process too) writes on in the same folder
        name = self.run_name or str(getattr(event.learner, "run_id", "") or time.strftime("%Y%m%d-%H%M%S"))
        if self.writer is not None:
            self.writer.close()
        self.writer, self._learner = SummaryWriter(log_dir=str(self.log_dir / name)), event.learner

    def on_batch_end(self, event: Event) -> None:
        if self.writer is None or event.phase != "fit":
            return
        step = _last(event.learner, "steps", "step", event.step + 1)
        for tag, value in (("train/loss", event.loss), ("train/lr", event.lr)):
            if _finite(value):
                self.writer.add_scalar(tag, value, step)

    def on_epoch_end(self, event: Event) -> None:
        if self.writer is None or event.phase != "fit":
            return
        epoch = _last(event.learner, "epochs", "epoch", event.epoch + 1)
        for name, value in event.metrics.items():
            if _finite(value):
                self.writer.add_scalar(f"epoch/{name}", value, epoch)
        self.writer.flush()

    def on_train_end(self, event: Event) -> None:
        if self.writer is not None and event.phase == "fit":
            self.writer.flush()

    def close(self) -> None:
        """Closes the event file (a later fit opens a new one)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = self._learner = None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _last(learner: Any, rows: str, key: str, default: int) -> int:
    """The number the learner's history gave the last step or epoch (counted over every run)."""
    history = getattr(learner, "history", None)
    recorded = getattr(history, rows, None)
    return int(recorded[-1][key]) if recorded else default


__all__ = ["TensorBoard"]
