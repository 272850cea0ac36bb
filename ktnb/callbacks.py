"""Optional behaviours and the terminal view, each a listener on the event stream."""

from __future__ import annotations

import math
import time
from typing import Any

from .events import Callback, Event


def improved(monitor: str, value: float, best: float | None, min_delta: float = 0.0, *,
             higher: bool | None = None) -> bool:
    """Whether `value` beats `best`: upwards when `higher` (the task says which way each metric
    improves), else downwards; without a word from the task, losses and errors go down."""
    if best is None or math.isnan(best):
        return not math.isnan(value)
    if higher is None:
        higher = not any(word in monitor for word in ("loss", "mse", "mae", "error"))
    return value > best + min_delta if higher else value < best - min_delta


class _Plateau(Callback):
    """Counts epochs since `monitor` last improved."""

    def __init__(self, monitor: str = "val_loss", patience: int = 2, min_delta: float = 0.0):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.best: float | None = None
        self.wait = 0

    def on_train_begin(self, event: Event) -> None:
        if event.epoch == 0 and event.batch == 0:  # a new run; a resumed one keeps the state it had
            self.best, self.wait = None, 0

    def state_dict(self) -> dict[str, Any]:
        """How long it has waited, for a checkpoint."""
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.wait = state.get("best"), int(state.get("wait", 0))

    def _update(self, event: Event) -> bool:
        """True when this epoch is one too many without improvement."""
        value = event.metrics.get(self.monitor)
        if value is None:
            return False
        judge = getattr(event.learner, "higher_is_better", None)  # the user's metrics declare their way
        higher = judge(self.monitor) if callable(judge) else None
        if improved(self.monitor, value, self.best, self.min_delta, higher=higher):
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
            event.learner.run_state.lr_scale *= self.factor
            self.wait = 0


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def run_header(event: Event) -> str:
    """"fit · cpu · bf16": the phase, and where and in what precision it runs."""
    learner = event.learner
    where = [str(getattr(learner, "device", "")), getattr(learner, "mixed_precision", "")]
    return " · ".join([event.phase, *[w if w != "no" else "fp32" for w in where if w]])


class ProgressState(Callback):
    """What a progress view shows, kept from the event stream: batches done of all, time spent
    and left, a smoothed loss, whether validation is running, and the end message. The
    notebook views (the cell's progress block, the panel) render `text()`; one format for all.

    >>> state = ProgressState()
    >>> state(Event("train_begin", batches=95, epochs=1)); state(Event("batch_end", loss=0.43))
    >>> state.text(now=state.started + 12)
    '1/95 batches · 0:12 elapsed · 18:48 left · loss 0.43'
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.header, self.done, self.total, self.started = "", 0, 0, time.perf_counter()
        self._first = 0  # where this view started counting (after the batches a resumed run had done)
        self.loss: float | None = None
        self.validating, self.finished, self.message = False, False, None

    def on_train_begin(self, event: Event) -> None:
        self._reset()
        self.header = run_header(event) if event.learner is not None else event.phase
        self.total = event.total_steps if event.phase == "lr_find" else event.batches * event.epochs
        self.done = 0 if event.phase == "lr_find" else event.epoch * event.batches + event.batch  # a resumed run
        self._first = self.done

    def on_batch_end(self, event: Event) -> None:
        self.done += 1
        self.loss = event.loss if self.loss is None else 0.9 * self.loss + 0.1 * event.loss

    def on_validate_begin(self, event: Event) -> None:
        self.validating = True

    def on_evaluate(self, event: Event) -> None:
        self.validating = False

    def on_train_end(self, event: Event) -> None:
        self.validating, self.finished, self.message = False, True, event.message

    def text(self, now: float | None = None) -> str:
        elapsed = (time.perf_counter() if now is None else now) - self.started
        parts = [f"{self.done}/{self.total} batches", f"{_clock(elapsed)} elapsed"]
        if self.done > self._first and not self.finished:
            rate = elapsed / (self.done - self._first)
            parts.append(f"{_clock(rate * max(self.total - self.done, 0))} left")
        if self.loss is not None:
            parts.append(f"loss {self.loss:.3g}")
        if self.validating:
            parts.append("validating…")
        return " · ".join(parts)


def _format_metrics(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))


class ProgressBar(Callback):
    """Progress through tqdm.auto (a text bar in a terminal, a widget bar in Jupyter), one
    line per epoch with its metrics, and one line saying how training ended."""

    order = 100
    main_process_only = True  # several processes training: the main one draws

    def __init__(self) -> None:
        self.bar: Any = None
        self.smooth: float | None = None

    def on_train_begin(self, event: Event) -> None:
        from tqdm.auto import tqdm

        total = event.total_steps if event.phase == "lr_find" else event.batches * event.epochs
        done = 0 if event.phase == "lr_find" else event.epoch * event.batches + event.batch  # a resumed run
        self.bar = tqdm(total=total, initial=done, desc=run_header(event), unit="batch", dynamic_ncols=True,
                        leave=True)
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
            if event.message:
                self.bar.write(f"warning: {event.message}")

    def on_train_end(self, event: Event) -> None:
        if self.bar is None:
            return
        self.bar.close()
        if event.message:
            self.bar.write(event.message)
        self.bar = None
