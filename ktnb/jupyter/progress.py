"""Training progress in a notebook cell: one HTML block (header, bar, "37/95 batches · 0:12
elapsed · 0:18 left · loss 0.43", the epoch table, warnings) updated in place through a display
id, throttled so that the front end keeps up. Unlike a widget bar it is plain output, so it is
still there when the notebook is reopened."""

from __future__ import annotations

import threading
import time
from html import escape

from IPython.display import HTML, display

from ..callbacks import ProgressState
from ..events import Callback, Event
from ..render.html import epochs_html, warning_html


def progress_html(state: ProgressState, rows: list[dict], notes: list[str]) -> str:
    """The block for one run: what the panel shows too, as plain HTML."""
    parts = [f'<div class="ktnb-progress"><b>{escape(state.header)}</b> '
             f'<progress value="{state.done}" max="{max(state.total, 1)}" style="width:300px"></progress> '
             f'<span class="ktnb-progress-text">{escape(state.text())}</span></div>']
    if rows:
        parts.append(epochs_html(rows))
    parts += [warning_html(note) for note in notes]
    return "".join(parts)


class NotebookProgress(Callback):
    """A listener for the magics; the panel has its own widgets. It draws nothing when
    training runs in a background thread (display() there would land in whatever cell is
    running), so a learner can carry it and still be trained from the panel."""

    order = 100
    main_process_only = True

    def __init__(self, min_interval: float = 0.25):
        self.min_interval = min_interval
        self.handle = None
        self.state = ProgressState()
        self.rows: list[dict] = []
        self.notes: list[str] = []

    def _active(self) -> bool:
        return threading.current_thread() is threading.main_thread()

    def __call__(self, event: Event) -> None:
        if event.name == "train_begin" and self._active():
            self.rows, self.notes, self.last = [], [], time.perf_counter()
            self.state(event)
            self.handle = display(HTML(self._html()), display_id=True)
            return
        if self.handle is None:
            return
        self.state(event)
        if event.name == "batch_end":
            now = time.perf_counter()
            if now - self.last < self.min_interval:
                return
            self.last = now
        elif event.name == "epoch_end":
            self.rows.append(event.learner.history.epochs[-1])
            if event.message:
                self.notes.append(event.message)
        elif event.name == "train_end":
            if event.message:
                self.notes.append(event.message)
        self.handle.update(HTML(self._html()))
        if event.name == "train_end":
            self.handle = None

    def _html(self) -> str:
        return progress_html(self.state, self.rows, list(dict.fromkeys(self.notes)))
