"""The widget panel: Data, LR finder, Train, Evaluate, Predict (Generate for a language model:
the text streams in as it is written, with a Stop) and Attention tabs.

Core ipywidgets only (7.7 and 8), so it runs on Colab. Training, the LR finder and evaluation
run in a background thread so that the kernel stays responsive and Stop works; the thread only
calls the engine and the widgets listen to its events. Pictures go into `Image` widgets as PNG
bytes, which is safe from any thread (an `Output` widget only captures under a live kernel's
main thread); the attention view is the cell's own interactive view, in an iframe.

    from ktnb import Panel
    Panel(data="train.csv")          # or Panel(clf) after a %%ktrain cell, or %ktrain panel
"""

from __future__ import annotations

import functools
import threading
import time
from html import escape
from typing import Any, Callable

import ipywidgets as W
from IPython.display import display

from ..callbacks import ProgressState
from ..render.figures import figure_png
from ..render.html import epochs_html, shorten, table_html, warning_html

WIDE = {"description_width": "initial"}  # labels in full, not cut to ipywidgets' default width
TAB_TITLES = ("Data", "LR finder", "Train", "Evaluate", "Predict", "Attention", "Explain")


def _error_html(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return f'<span style="color:#b00">{escape(type(err).__name__)}: {escape(text)}</span>'


def _image() -> W.Image:
    """An Image widget hidden until it has a picture (an empty one shows a broken-image icon),
    shown at its natural size and never wider than the panel."""
    return W.Image(format="png", layout=W.Layout(display="none", max_width="100%", height="auto",
                                                 align_self="flex-start"))


def _show_figure(image: W.Image, fig: Any) -> None:
    image.value = figure_png(fig)
    image.layout.display = ""


def _hide(image: W.Image) -> None:
    image.layout.display = "none"


class Panel:
    """Everything a %%ktrain cell does, as widgets. `session` (from %%ktrain) or `learner`
    starts it with a model ready; `data` (a path, DataFrame, …) pre-fills the Data tab."""

    def __init__(self, session: Any = None, *, learner: Any = None, data: Any = None, model: str | None = None):
        self.learner = learner if learner is not None else getattr(session, "learner", None)
        self.thread: threading.Thread | None = None
        self._sync_lock = threading.RLock()
        self.busy = False  # set while a background run goes on (the thread is still alive as it ends)
        self.finder: Any = None
        self.report: Any = None
        self.attention: Any = None
        self.explanation: Any = None
        self.events: list[Any] = []
        self._data_source = data
        self._build_data_tab(data, model)
        self._build_lr_tab()
        self._build_train_tab()
        self._build_eval_tab()
        self._build_predict_tab()
        self._build_attention_tab()
        self._build_explain_tab()
        self.tabs = W.Tab(children=[self.data_tab, self.lr_tab, self.train_tab, self.eval_tab, self.predict_tab,
                                    self.attention_tab, self.explain_tab])
        for i, title in enumerate(TAB_TITLES):
            self.tabs.set_title(i, title)
        self.widget = W.VBox([self.tabs])
        if self.learner is not None:
            self.epochs.value = self.learner.auto_epochs()
        self._sync()

    def _ipython_display_(self) -> None:
        display(self.widget)

    # ------------------------------------------------------------------ helpers

    def _guard(self, status: W.HTML) -> Callable:
        """Run a button handler; any error is shown in `status` and the panel stays usable."""

        def wrap(handler: Callable) -> Callable:
            @functools.wraps(handler)
            def run(*args: Any) -> None:
                try:
                    handler(*args)
                except Exception as err:  # noqa: BLE001 - shown in the panel, not as a dead cell
                    status.value = _error_html(err)
                    self._sync()

            return run

        return wrap

    def _needs_learner(self) -> Any:
        if self.learner is None:
            from ..errors import KtnbError

            raise KtnbError("load the data and a model in the Data tab first")
        return self.learner

    def _sync(self) -> None:
        """Buttons follow the state: nothing to do without a learner; nothing else while busy.
        One thread at a time (work that ends fast, a short generation, syncs from its thread while
        the click's thread is still syncing: the last to sync must read the state last)."""
        with self._sync_lock:
            self._sync_buttons()

    def _sync_buttons(self) -> None:
        busy = self.busy
        ready = self.learner is not None
        for button in (self.lr_button, self.start_button, self.eval_button, self.predict_button,
                       self.attention_button, self.explain_button):
            button.disabled = busy or not ready
        self.resume_button.disabled = busy or not self._has_checkpoint()
        self._fit_predict_inputs()
        self.load_button.disabled = busy
        self.stop_button.disabled = not (busy and self._training)
        self.stop_writing_button.disabled = not (busy and self.stream is not None)

    def _fit_predict_inputs(self) -> None:
        """The Predict tab asks for what the task reads: texts, one per line; or (a question
        answering model) questions, one per line, and the context they are asked of."""
        fields = self.learner.task.input_fields if self.learner is not None else ("text",)
        two = len(fields) == 2
        writes = self.learner is not None and self.learner.task.writes_text
        verb = self.learner.task.write_verb if writes else "Predict"  # Generate, Translate, Summarize
        self.text.placeholder = f"a {fields[0]}" if writes else f"one {fields[0]} per line"
        self.predict_button.description = verb
        self.tabs.set_title(TAB_TITLES.index("Predict"), verb)
        self.stop_writing_button.layout.display = "" if writes else "none"
        self.second_text.placeholder = f"the {fields[1]}" if two else ""
        self.second_text.layout.display = "" if two else "none"
        targets = self.learner.task.explanation_choices(self.learner.class_names) if self.learner is not None else []
        if list(self.explain_target.options) != targets:  # what an explanation may be toward
            self.explain_target.options = targets
            if self.explain_target.value not in targets:  # a class of the last model means nothing to this one
                self.explain_target.value = ""
        self.explain_text.placeholder = f"a {fields[0]} to explain" if two else \
            "a text to explain (a pair: first text | second text)"
        self.explain_second.placeholder = f"the {fields[1]}" if two else ""
        self.explain_second.layout.display = "" if two else "none"
        self.explain_target.layout.display = "" if targets else "none"

    def _run_in_thread(self, work: Callable[[], Any], on_success: Callable[[Any], None], status: W.HTML,
                       training: bool = False, after: Callable[[], None] | None = None) -> None:
        """Run `work` in the background; its result goes to `on_success`, an error to `status`;
        `after` runs either way, before the buttons come back."""

        def body() -> None:
            try:
                # showing the result may fail too (a picture that cannot be drawn): said the same way
                on_success(work())
            except Exception as err:  # noqa: BLE001 - shown in the panel; the engine kept the best weights
                status.value = _error_html(err)
            finally:
                try:
                    if after is not None:
                        after()
                finally:
                    self.busy = self._training = False
                    self._sync()

        self.busy, self._training = True, training
        self.thread = threading.Thread(target=body, name="ktnb-panel", daemon=True)
        self.thread.start()
        self._sync()

    _training = False  # whether the background work can be stopped (training and the LR finder)

    def _has_checkpoint(self) -> bool:
        import os

        folder = getattr(self.learner, "checkpoint_dir", None)
        return folder is not None and os.path.isfile(os.path.join(os.path.expanduser(str(folder)), "ktnb.json"))

    def wait(self, timeout: float | None = None) -> None:
        """Block until background work (training, lr_find, evaluation, an explanation) ends; for
        scripts and tests."""
        if self.thread is not None:
            self.thread.join(timeout)

    # ------------------------------------------------------------------ Data

    def _build_data_tab(self, data: Any, model: str | None) -> None:
        self.path = W.Text(value=data if isinstance(data, str) else "", description="data", style=WIDE,
                           placeholder="CSV/TSV path, class folder, or sst2")
        self.text_col = W.Combobox(value="text", options=["text"], description="text column", style=WIDE)
        self.label_col = W.Combobox(value="label", options=["label"], description="label column", style=WIDE,
                                    placeholder="or 0/1 columns, one per label: joy, love")
        from ..tasks import TASKS

        self.task = W.Dropdown(options=["auto", *TASKS], value="auto", description="task", style=WIDE)
        self.pair_col = W.Combobox(value="", options=[""], description="pair column", style=WIDE,
                                   placeholder="the second text, for pairs")
        self.task_options = W.Text(value="", description="task options", style=WIDE,
                                   placeholder="e.g. {source_lang: en, target_lang: fr}")
        self.model_name = W.Text(value=model or "default", description="model", style=WIDE)
        self.batch_size = W.IntText(value=32, description="batch size", style=WIDE)
        self.max_len = W.IntText(value=0, description="max_len (0=auto)", style=WIDE)
        self.val_frac = W.BoundedFloatText(value=0.1, min=0.0, max=0.9, step=0.05, description="val fraction",
                                            style=WIDE)
        self.max_train = W.IntText(value=0, description="max rows (0=all)", style=WIDE)
        self.checkpoint_dir = W.Text(value="", description="checkpoint folder", style=WIDE,
                                     placeholder="none; e.g. runs/sst2 (survives a lost runtime)")
        self.load_button = W.Button(description="Load data and model", button_style="primary", icon="upload",
                                    layout=W.Layout(width="auto"))
        self.data_status = W.HTML()
        self.path.observe(self._offer_columns, names="value")
        self.load_button.on_click(self._guard(self.data_status)(self._load))
        self.data_tab = W.VBox([self.path, W.HBox([self.task, self.pair_col]), self.task_options,
                                W.HBox([self.text_col, self.label_col]),
                                W.HBox([self.model_name, self.batch_size]), W.HBox([self.max_len, self.val_frac]),
                                W.HBox([self.max_train, self.checkpoint_dir]), self.load_button, self.data_status])
        if self.learner is not None:
            self.data_status.value = self._data_summary()
        elif isinstance(data, str):
            self._offer_columns({"new": data})

    def _offer_columns(self, change: dict) -> None:
        """When the path is a table, offer its columns."""
        import os

        path = str(change["new"])
        if not os.path.isfile(path):
            return
        try:
            from ..data import read_table

            columns = [str(c) for c in read_table(path, nrows=1).columns]
        except Exception:  # noqa: BLE001 - a half-typed path; the Load button reports real errors
            return
        self.text_col.options = self.label_col.options = columns
        self.pair_col.options = ["", *columns]

    def _load(self, _: Any = None) -> None:
        from ..builders import text_learner
        from ..config import check_config, infer_task, load_config_data

        source = self._data_source if self._data_source is not None and not self.path.value else self.path.value
        self.data_status.value = "loading…"
        label_col: Any = self.label_col.value
        if "," in label_col and label_col not in self.label_col.options:  # "joy, love": 0/1 columns, one per label
            label_col = [name.strip() for name in label_col.split(",") if name.strip()]
        config = check_config({"data": source, "text_col": self.text_col.value, "label_col": label_col,
                               "val_frac": self.val_frac.value, "max_train": self.max_train.value or None,
                               "task": None if self.task.value == "auto" else self.task.value,
                               "pair_col": self.pair_col.value or None,
                               "task_options": self._task_options()})
        if config["task"] is None:
            config["task"] = infer_task(source, config)
        data = load_config_data(source, config)
        model = None if self.model_name.value in ("", "default") else self.model_name.value
        self.learner = text_learner(data, model, batch_size=self.batch_size.value,
                                    max_len=self.max_len.value or None, progress=False,
                                    checkpoint_dir=self.checkpoint_dir.value.strip() or None)
        self._clear_results()
        self.epochs.value = self.learner.auto_epochs()
        self.data_status.value = self._data_summary()
        self._sync()

    def _task_options(self) -> Any:
        """The task options box as a mapping ("{stride: 64}", "source_lang: en, target_lang: fr"),
        None when empty; what is not a mapping goes on to the config check, which names it."""
        import yaml

        text = self.task_options.value.strip()
        if not text:
            return None
        if not text.startswith("{"):
            text = "{" + text + "}"
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return text

    def _clear_results(self) -> None:
        """New data or a new model: nothing shown in the other tabs belongs to it any more."""
        self.finder = self.report = self.attention = None
        self.events = []
        self.lr_status.value = ""
        _hide(self.lr_plot)
        self.suggestions.options, self.suggestions.layout.display = [], "none"
        self.progress.value, self.progress_text.value, self.train_status.value = 0, "", ""
        _hide(self.live_plot)
        self.live_curve.value = ""
        self.epoch_table.value = ""
        self.report_html.value, self.eval_status.value = "", ""
        _hide(self.confusion)
        self.predictions.value = ""
        self.attention_view.value, self.attention_status.value = "", ""
        self.explanation = None
        self.explain_view.value, self.explain_status.value = "", ""

    def _data_summary(self) -> str:
        learner = self.learner
        data = learner.data
        counts = data.class_counts()
        splits = ["val"] + (["test"] if data.test is not None else [])  # the test set: what Evaluate reports on
        held = [data.class_counts(split) for split in splits]
        rows = [(name, counts[name], *(part.get(name, 0) for part in held)) for name in data.class_names
                if name in counts]
        labels = learner.task.readable(data.train.labels[:5], data.class_names)
        sample = [(shorten(learner.task.shown(text)), label) for text, label in zip(data.train.texts[:5], labels)]
        header = ("class", "train", "validation", "test")[:2 + len(splits)]
        counts_table = table_html(header, rows, "class counts", css_class="ktnb-counts") if rows else ""
        return (f"<div>{escape(repr(learner))}</div>" + counts_table
                + table_html(("text", learner.task.label_word), sample, "sample", css_class="ktnb-sample"))

    # ------------------------------------------------------------------ LR finder

    def _build_lr_tab(self) -> None:
        self.lr = W.FloatLogSlider(value=5e-5, base=10, min=-9, max=0, step=0.05, description="lr",
                                   readout_format=".1e")
        self.lr_button = W.Button(description="Run LR finder", icon="search", layout=W.Layout(width="auto"))
        # hidden until the finder has run: options are (label, suggestion name)
        self.suggestions = W.ToggleButtons(options=[], description="use", layout=W.Layout(display="none"))
        self.lr_plot = _image()
        self.lr_status = W.HTML()
        self.lr_button.on_click(self._guard(self.lr_status)(self._lr_find))
        self.suggestions.observe(self._use_suggestion, names="value")
        self.lr_tab = W.VBox([self.lr_button, self.lr_status, self.lr_plot, self.suggestions, self.lr])

    def _lr_find(self, _: Any = None) -> None:
        learner = self._needs_learner()
        self.lr_status.value = "sweeping learning rates…"

        def show(finder: Any) -> None:
            self.finder = finder
            self._show_suggestions(pick=finder.suggested_by)

        self._run_in_thread(lambda: learner.lr_find(epochs=self.epochs.value), show, self.lr_status, training=True)

    def _show_suggestions(self, pick: str | None = None) -> None:
        """The finder's readings as buttons, the one it suggests highlighted; for the number
        of epochs the Train tab is set to (the suggestion depends on it)."""
        finder = self.finder
        finder.epochs = self.epochs.value
        _show_figure(self.lr_plot, finder.plot())
        picked = pick or self.suggestions.value
        self.suggestions.options = [(f"{name} {lr:.1e}", name) for name, lr in finder.suggestions.items()]
        self.suggestions.layout.display = ""
        self.suggestions.value = picked
        self.lr.value = finder.suggestions[picked]
        self.lr_status.value = (f"suggestion: {finder.suggestion:.2e} ({escape(finder.suggested_by)}, for "
                                f"{finder.epochs} epoch(s); {finder.seconds:.0f} s)")

    def _epochs_changed(self, change: dict) -> None:
        if self.finder is not None and not self.busy:
            self._show_suggestions()

    def _use_suggestion(self, change: dict) -> None:
        if change["new"] and self.finder is not None:
            self.lr.value = self.finder.suggestions[change["new"]]

    # ------------------------------------------------------------------ Train

    def _build_train_tab(self) -> None:
        from ..schedules import SCHEDULES

        self.epochs = W.IntSlider(value=1, min=1, max=20, description="epochs", style=WIDE)
        self.schedule = W.Dropdown(options=list(SCHEDULES), value="onecycle", description="schedule", style=WIDE)
        self.start_button = W.Button(description="Start", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.resume_button = W.Button(description="Resume", icon="repeat", disabled=True,
                                      tooltip="carry on the run saved in the checkpoint folder")
        self.progress = W.IntProgress(value=0, min=0, max=1, description="batches")
        self.progress_text = W.HTML()
        self.train_status = W.HTML()
        self.live_curve = W.HTML()  # drawn by the browser from appended points while training runs
        self.live_plot = _image()  # the full matplotlib picture, drawn once training ends
        self.epoch_table = W.HTML()
        self.start_button.on_click(self._guard(self.train_status)(self._start))
        self.stop_button.on_click(self._stop)
        self.resume_button.on_click(self._guard(self.train_status)(self._resume))
        self.epochs.observe(self._guard(self.lr_status)(self._epochs_changed), names="value")
        self.train_tab = W.VBox([W.HBox([self.epochs, self.schedule]), self.lr,
                                 W.HBox([self.start_button, self.stop_button, self.resume_button]),
                                 W.HBox([self.progress, self.progress_text]), self.train_status,
                                 self.live_curve, self.live_plot, self.epoch_table])

    def _new_views(self) -> None:
        """Fresh progress, notes and live curve for a run (the epoch table keeps every run)."""
        from ..render.live import LiveCurve

        self.events, self.state, self.notes, self.curve = [], ProgressState(), [], LiveCurve()
        self._last_draw = 0.0

    def _start(self, _: Any = None) -> None:
        learner = self._needs_learner()
        lr, epochs, schedule = self.lr.value, self.epochs.value, self.schedule.value
        self._new_views()
        self.train_status.value = f"training: lr {lr:.2e}, {epochs} epoch(s), {schedule}"
        self._run_in_thread(lambda: learner.fit(lr, epochs, schedule, callbacks=[self._on_event]),
                            lambda history: None, self.train_status, training=True, after=self._show_history)

    def _resume(self, _: Any = None) -> None:
        learner = self._needs_learner()
        self._new_views()
        self.train_status.value = f"resuming the run in {escape(str(learner.checkpoint_dir))}…"
        self._run_in_thread(lambda: learner.resume(callbacks=[self._on_event]), lambda history: None,
                            self.train_status, training=True, after=self._show_history)

    def _stop(self, _: Any = None) -> None:
        if self.learner is not None:
            self.learner.request_stop()
            self.train_status.value = "stopping at the end of this batch…"

    def _on_event(self, event: Any) -> None:
        """The training thread's events, turned into widget state. This runs in the training
        thread, so it does little: numbers and short strings; the live curve is SVG text that the
        browser draws (bench/ui_overhead.py measures what it costs)."""
        self.events.append(event)
        self.state(event)
        if event.name == "train_begin":
            self.progress.max, self.progress.value = max(self.state.total, 1), self.state.done
            _hide(self.live_plot)
            self.live_curve.layout.display = ""
        elif event.name == "batch_end":
            self.progress.value = self.state.done
            self.curve.add(event.learner.steps_done + event.step, event.loss)
            self._draw()
        elif event.name == "validate_begin":
            self.progress_text.value = escape(self.state.text())
        elif event.name == "epoch_end":
            if event.message:
                self.notes.append(event.message)
            self.curve.add_epoch(event.learner.steps_done + event.step, event.metrics.get("val_loss"))
            self.epoch_table.value = epochs_html(self.learner.history.epochs) + \
                "".join(warning_html(note) for note in dict.fromkeys(self.notes))
            self._draw(force=True)
        elif event.name == "train_end":  # sent after an error too, before it is re-raised
            self._draw(force=True)
            message = event.message or f"training {event.reason}"
            self.train_status.value = warning_html(message) if event.message else escape(message)

    def _show_history(self) -> None:
        """The full matplotlib picture of the history, in place of the live curve: drawn once the
        fit has returned (off the training), as a PNG that stays when the notebook is reopened."""
        if self.learner is not None and self.learner.history.steps:
            _show_figure(self.live_plot, self.learner.history.plot())
            self.live_curve.layout.display = "none"

    def _draw(self, force: bool = False) -> None:
        """The progress line and the live curve, at most four times a second."""
        now = time.perf_counter()
        if not force and now - self._last_draw < 0.25:
            return
        self._last_draw = now
        self.progress_text.value = escape(self.state.text())
        self.live_curve.value = self.curve.svg()

    # ------------------------------------------------------------------ Evaluate, Predict, Attention

    def _build_eval_tab(self) -> None:
        self.eval_button = W.Button(description="Evaluate", icon="check")
        self.eval_status = W.HTML()
        self.report_html = W.HTML()
        self.confusion = _image()
        self.eval_button.on_click(self._guard(self.eval_status)(self._evaluate))
        self.eval_tab = W.VBox([self.eval_button, self.eval_status, self.report_html, self.confusion])

    def _evaluate(self, _: Any = None) -> None:
        learner = self._needs_learner()
        self.eval_status.value = "evaluating on the validation set…"

        def show(report: Any) -> None:
            self.report = report
            self.report_html.value = report._repr_html_()
            self.eval_status.value = ""
            pictures = report.pictures()  # a task's report may draw none
            if pictures:
                _show_figure(self.confusion, next(iter(pictures.values())))
            else:
                _hide(self.confusion)

        self._run_in_thread(learner.evaluate, show, self.eval_status)

    def _build_predict_tab(self) -> None:
        self.text = W.Textarea(placeholder="one text per line", layout=W.Layout(width="90%", height="80px"))
        # the second input of a task that reads two (a question answering model: the context)
        self.second_text = W.Textarea(layout=W.Layout(width="90%", height="120px", display="none"))
        self.predict_button = W.Button(description="Predict", icon="comment")
        self.predictions = W.HTML()
        self.predict_button.on_click(self._guard(self.predictions)(self._predict))
        # a language model's writing streams into `predictions`; Stop ends it and keeps the text
        self.stop_writing_button = W.Button(description="Stop", icon="stop", tooltip="Stop writing (the text is kept)",
                                             layout=W.Layout(display="none"))
        self.stop_writing_button.on_click(self._stop_writing)
        self.stream: Any = None
        self.predict_tab = W.VBox([self.text, self.second_text, W.HBox([self.predict_button, self.stop_writing_button]),
                                   self.predictions])

    def _predict(self, _: Any = None) -> None:
        learner = self._needs_learner()
        if learner.task.writes_text:
            self._write(learner)
            return
        texts: list[Any] = [t for t in self.text.value.splitlines() if t.strip()]
        fields = learner.task.input_fields
        if not texts:
            self.predictions.value = f"type a {fields[0]} first"
            return
        predictor = learner.predictor()
        if len(fields) == 2:  # each line asked of the text in the second box (a question of its context)
            if not self.second_text.value.strip():
                self.predictions.value = f"type the {fields[1]} too"
                return
            self.predictions.value = predictor.view([(t.strip(), self.second_text.value) for t in texts]).html
            return
        if predictor.pairs:  # one pair per line: "first text | second text"
            if not all(" | " in t for t in texts):
                self.predictions.value = "this model reads text pairs: write each line as  first text | second text"
                return
            texts = [tuple(part.strip() for part in t.split(" | ", 1)) for t in texts]
        self.predictions.value = predictor.view(texts).html  # the task's own view of its predictions

    def _write(self, learner: Any) -> None:
        """Stream what the model writes after the prompt (the whole box) into the tab."""
        from .streaming import follow, stream_html

        prompt = self.text.value.strip("\n")
        if not prompt.strip():
            self.predictions.value = f"type a {learner.task.input_fields[0]} first"
            return
        self.stream = stream = learner.predictor().stream(prompt)  # a prompt too long is refused here

        def show(text: str, state: str) -> None:
            self.predictions.value = stream_html(prompt, text, state)

        self._run_in_thread(lambda: follow(stream, show), lambda text: None, self.predictions,
                            after=lambda: setattr(self, "stream", None))

    def _stop_writing(self, _: Any = None) -> None:
        if self.stream is not None:
            self.stream.stop()

    def _build_attention_tab(self) -> None:
        self.sentence = W.Text(placeholder="a sentence", description="sentence", layout=W.Layout(width="90%"))
        self.attention_button = W.Button(description="Show attention", icon="eye")
        self.attention_status = W.HTML()
        self.attention_view = W.HTML()
        self.attention_button.on_click(self._guard(self.attention_status)(self._attention))
        self.attention_tab = W.VBox([self.sentence, self.attention_button, self.attention_status,
                                     self.attention_view])

    def _build_explain_tab(self) -> None:
        self.explain_text = W.Textarea(placeholder="a text to explain (a pair: first text | second text)",
                                       layout=W.Layout(width="90%", height="60px"))
        self.explain_second = W.Textarea(layout=W.Layout(width="90%", height="80px", display="none"))
        self.explain_target = W.Combobox(value="", options=[], description="toward", style={"description_width": "60px"},
                                         placeholder="the prediction, or one named")
        self.explain_button = W.Button(description="Explain", icon="search")
        self.explain_status = W.HTML()
        self.explain_view = W.HTML()
        self.explain_button.on_click(self._guard(self.explain_status)(self._explain))
        self.explain_tab = W.VBox([self.explain_text, self.explain_second,
                                   W.HBox([self.explain_target, self.explain_button]),
                                   self.explain_status, self.explain_view])

    def _explain(self, _: Any = None) -> None:
        """Which words made the model decide, shaded in the text (integrated gradients)."""
        learner = self._needs_learner()
        text: Any = self.explain_text.value.strip()
        if not text:
            self.explain_status.value = "type a text first"
            return
        if len(learner.task.input_fields) == 2:  # a question, and the context it is asked of
            second = self.explain_second.value.strip()
            if not second:
                self.explain_status.value = f"type the {learner.task.input_fields[1]} too"
                return
            text = (text, second)
        elif learner.data.train.pairs is not None and " | " in text:
            text = tuple(part.strip() for part in text.split(" | ", 1))
        self.explain_status.value = "explaining…"
        target = (self.explain_target.value.strip() or None) if self.explain_target.options else None

        def show(found: Any) -> None:
            self.explanation = found
            self.explain_status.value = ""
            self.explain_view.value = found._repr_html_()

        # a writer's explanation (integrated gradients for every token it writes) can take a
        # while: in the background, as evaluation runs
        self._run_in_thread(lambda: learner.explain(text, target), show, self.explain_status)

    def _attention(self, _: Any = None) -> None:
        from ..render.attention import attention_iframe

        self.attention = self._needs_learner().attention(self.sentence.value)
        self.attention_status.value = ""
        self.attention_view.value = attention_iframe(self.attention)
