"""Training progress in a notebook cell: one HTML block (bar, loss, lr, time, an epoch table)
updated in place through a display id, throttled so that the front end keeps up. Unlike a
widget bar it is plain output, so it is still there when the notebook is reopened."""

from __future__ import annotations

import threading
import time
from html import escape

from IPython.display import HTML, display

from ..events import Callback, Event
from ..render.html import table_html


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class NotebookProgress(Callback):
    """A listener for the magics; the panel has its own widgets. It draws nothing when
    training runs in a background thread (display() there would land in whatever cell is
    running), so a learner can carry it and still be trained from the panel."""

    order = 100

    def __init__(self, min_interval: float = 0.25):
        self.min_interval = min_interval
        self.handle = None
        self.rows: list[dict] = []

    def _active(self) -> bool:
        return threading.current_thread() is threading.main_thread()

    def on_train_begin(self, event: Event) -> None:
        if not self._active():
            return
        self.started = self.last = time.perf_counter()
        self.rows, self.loss, self.note = [], None, ""
        self.total = event.total_steps if event.phase == "lr_find" else event.batches * event.epochs
        self.done, self.phase = 0, event.phase
        self.handle = display(HTML(self._html()), display_id=True)

    def on_batch_end(self, event: Event) -> None:
        if self.handle is None:
            return
        self.done += 1
        self.loss = event.loss if self.loss is None else 0.9 * self.loss + 0.1 * event.loss
        self.lr = event.lr
        now = time.perf_counter()
        if now - self.last >= self.min_interval:
            self.last = now
            self.handle.update(HTML(self._html()))

    def on_epoch_end(self, event: Event) -> None:
        if self.handle is None:
            return
        self.rows.append({"epoch": event.epoch + 1, **event.metrics})
        self.handle.update(HTML(self._html()))

    def on_train_end(self, event: Event) -> None:
        if self.handle is None:
            return
        self.note = event.message or ""
        self.handle.update(HTML(self._html(final=True)))
        self.handle = None

    def _html(self, final: bool = False) -> str:
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        stats = f"{self.done}/{self.total} batches, {_clock(elapsed)} elapsed"
        if not final and self.done:
            stats += f", {_clock(eta)} left"
        if self.loss is not None:
            stats += f", loss {self.loss:.4f}, lr {self.lr:.2e}"
        parts = [f'<div class="ktnb-progress"><b>{escape(self.phase)}</b> '
                 f'<progress value="{self.done}" max="{max(self.total, 1)}" style="width:300px"></progress> '
                 f"<span>{escape(stats)}</span></div>"]
        if self.rows:
            header = list(self.rows[0])
            parts.append(table_html(header, [[row.get(k, "") for k in header] for row in self.rows],
                                    css_class="ktnb-epochs"))
        if self.note:
            parts.append(f'<div class="ktnb-note" style="color:#a40">{escape(self.note)}</div>')
        return "".join(parts)
