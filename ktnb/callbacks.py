"""Optional behaviours and the terminal view, each a listener on the event stream."""

from __future__ import annotations

import math
from typing import Any

from .events import Callback, Event


def improved(monitor: str, value: float, best: float | None, min_delta: float = 0.0) -> bool:
    """Losses improve downwards, every other metric upwards."""
    if best is None or math.isnan(best):
        return not math.isnan(value)
    if "loss" in monitor:
        return value < best - min_delta
    return value > best + min_delta


class _Plateau(Callback):
    """Counts epochs since `monitor` last improved."""

    def __init__(self, monitor: str = "val_loss", patience: int = 2, min_delta: float = 0.0):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.best: float | None = None
        self.wait = 0

    def on_train_begin(self, event: Event) -> None:
        self.best, self.wait = None, 0

    def _update(self, event: Event) -> bool:
        """True when this epoch is one too many without improvement."""
        value = event.metrics.get(self.monitor)
        if value is None:
            return False
        if improved(self.monitor, value, self.best, self.min_delta):
            self.best, self.wait = value, 0
            return False
        self.wait += 1
        return self.wait >= self.patience


class EarlyStopping(_Plateau):
    """Stops training after `patience` epochs without improvement of `monitor`."""

    order = 10

    def on_epoch_end(self, event: Event) -> None:
        if self._update(event):
            event.learner.request_stop("early_stopping")


class ReduceLROnPlateau(_Plateau):
    """Multiplies the learning rate by `factor` after `patience` epochs without improvement."""

    order = 5

    def __init__(self, monitor: str = "val_loss", patience: int = 1, factor: float = 0.5, min_delta: float = 0.0):
        super().__init__(monitor, patience, min_delta)
        self.factor = factor

    def on_epoch_end(self, event: Event) -> None:
        if self._update(event):
            event.learner.lr_scale *= self.factor
            self.wait = 0


def _format_metrics(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))


class ProgressBar(Callback):
    """Progress through tqdm.auto (a text bar in a terminal, a widget bar in Jupyter), one
    line per epoch with its metrics, and one line saying how training ended."""

    order = 100

    def __init__(self) -> None:
        self.bar: Any = None
        self.smooth: float | None = None

    def on_train_begin(self, event: Event) -> None:
        from tqdm.auto import tqdm

        total = event.total_steps if event.phase == "lr_find" else event.batches * event.epochs
        self.bar = tqdm(total=total, desc="lr_find" if event.phase == "lr_find" else "fit", unit="batch",
                        dynamic_ncols=True, leave=True)
        self.smooth = None

    def on_batch_end(self, event: Event) -> None:
        if self.bar is None:
            return
        self.smooth = event.loss if self.smooth is None else 0.9 * self.smooth + 0.1 * event.loss
        self.bar.set_postfix(loss=f"{self.smooth:.4f}", lr=f"{event.lr:.2e}", refresh=False)
        self.bar.update(1)

    def on_epoch_end(self, event: Event) -> None:
        if self.bar is not None:
            self.bar.write(f"epoch {event.epoch + 1}/{event.epochs}  {_format_metrics(event.metrics)}")

    def on_train_end(self, event: Event) -> None:
        if self.bar is None:
            return
        self.bar.close()
        if event.message:
            self.bar.write(event.message)
        self.bar = None
