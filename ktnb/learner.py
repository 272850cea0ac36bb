"""The learner: one object that owns the model, the data, the optimiser and the training loop.

The loop is plain PyTorch (`fit` → `_run_epoch` → `_train_batch`), with `accelerate` doing
device placement, mixed precision, gradient accumulation and multi-process runs, so the same
code runs on a CPU, one GPU, or many under ``accelerate launch``/``torchrun``. Everything
optional hangs on the event stream (see `ktnb.events`).

>>> learner = text_classifier(ktnb.load_dataset("sst2", max_train=2000))   # doctest: +SKIP
>>> learner.lr_find().suggestion                                          # doctest: +SKIP
>>> learner.fit_onecycle(5e-5, 1)                                         # doctest: +SKIP
>>> print(learner.evaluate())                                             # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import signal
import threading
import time
import warnings
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from . import checks, evaluation
from .batching import BucketBatchSampler, EncodedTexts, PadCollator, model_length_cap, pad_id
from .callbacks import EarlyStopping, ProgressBar, ReduceLROnPlateau, improved
from .checkpoints import ENDED, Checkpointer, check_checkpoint_dir, restore, set_rng_state
from .data import LabelledTexts, TextData
from .devices import make_accelerator, resolve_device, resolve_mixed_precision
from .dropout import use_cheap_dropout
from .embedding_grads import keep_embedding_grad
from .errors import KtnbWarning, TrainingError
from .events import PROCESS_LISTENERS, CancelFit, Event, History, Listener
from .ktrain_names import KtrainNames
from .lora import RATE_FACTOR as LORA_RATE_FACTOR, add_lora, is_lora, load_trainable_state, lora_settings, \
    trainable_count, trainable_state
from .lr_finder import MIN_STEPS, LossSmoother, LRFinderResult, base_rate
from .models import model_width
from .predictor import Predictor
from .run_state import Position, RunPlan, RunState
from .schedules import make_schedule
from .tasks import Task, get_task
from .user_metrics import Metric, checked_metrics

MIN_MAX_LEN = 8  # shorter inputs leave a classifier almost no text to read
_MAX_LEN_SAMPLE = 5000  # texts tokenised to choose max_len; enough for a stable 95th percentile


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on weight matrices only: biases and LayerNorm gains are left alone."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: torch.nn.Module, weight_decay: float, device: torch.device) -> torch.optim.Optimizer:
    """AdamW; the fused kernel (one pass over all parameters, as the Hugging Face Trainer uses
    by default) on CPU and CUDA, the per-tensor loop elsewhere."""
    fused = device.type in ("cpu", "cuda") and tuple(int(p) for p in torch.__version__.split(".")[:2]) >= (2, 4)
    return torch.optim.AdamW(_param_groups(model, weight_decay), lr=1e-5, **({"fused": True} if fused else {}))


def _cpu_copy(value: Any) -> Any:
    """A copy of a (nested) optimizer state with every tensor cloned to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _cpu_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu_copy(v) for v in value)
    return value


def _checked_monitor(monitor: str, task: Task, own: Sequence[Metric] = ()) -> str:
    known = [*task.metrics, *("val_" + m.name for m in own)]
    if monitor not in known:
        raise TrainingError(f"monitor {monitor!r} is not a validation metric; choose one of: {', '.join(known)} "
                            "(or track your own with metrics=[ktnb.Metric(name, fn)])")
    return monitor


def _run_field(name: str, doc: str) -> property:
    """A read-only attribute of the learner that is its `RunState`'s."""
    return property(lambda learner: getattr(learner.run_state, name), doc=doc)


#: why a run stops, least to most pressing: processes that stop for different reasons agree on the
#: most pressing one (an interrupt over a stop); a reason not listed counts as "stopped"
_STOP_REASONS = ("stopped", "early_stopping", "interrupted")
#: a second Ctrl-C this soon after the first is the same press when several processes train:
#: torchrun's agent forwards the terminal's interrupt on top of the terminal's own
_SAME_PRESS_SECONDS = 2.0

_REASON_TEXT = {
    "stopped": "training stopped",
    "early_stopping": "early stopping",
    "interrupted": "training interrupted",
    "diverged": "the loss diverged (nan/inf)",
    "error": "training failed",
}


class Learner(KtrainNames):
    """Trains and evaluates a sequence classifier on a `TextData`.

    Most users build one with `text_classifier`. Settings: `max_len` (None: the 95th
    percentile of training token lengths, capped by the model), `batch_size`, `device`
    ("auto": cuda > mps > cpu), `mixed_precision` ("auto": bf16/fp16 on GPU), `grad_accum`
    (batches per optimiser step), `clip_grad` (max gradient norm, 0 to turn off),
    `weight_decay`, `seed`, `monitor` (the validation metric that picks the best weights),
    `callbacks` (listeners for every fit), `progress` (a tqdm bar and epoch lines), `lora`
    (True, or settings such as ``{"r": 8}``: train LoRA adapters only, see `ktnb.lora`).
    """

    # the run's state, read where users and views look for it (`run_state` holds it)
    epochs_done = _run_field("epochs_done", "Epochs trained so far, over every run.")
    steps_done = _run_field("steps_done", "Optimizer steps taken so far, over every run.")
    best = _run_field("best", "The last run's best validated epoch: {'epoch', 'value', 'monitor'}, or None.")
    plan = _run_field("plan", "What the current (or last) run was asked to do (`RunPlan`).")
    position = _run_field("position", "Where the current (or last) run is (`Position`).")
    run_id = _run_field("run_id", "The identity of this learner's run, recorded in its checkpoints.")

    def __init__(self, model: Any, tokenizer: Any, data: TextData, *, max_len: int | None = None,
                 batch_size: int = 32, eval_batch_size: int | None = None, device: str = "auto",
                 mixed_precision: str = "auto", grad_accum: int = 1, clip_grad: float = 1.0,
                 weight_decay: float = 0.01, seed: int = 42, monitor: str | None = None,
                 callbacks: Sequence[Listener] = (), progress: bool = True,
                 checkpoint_dir: str | os.PathLike | None = None, checkpoint_every: int | None = None,
                 task: Task | None = None, metrics: Sequence[Metric] | Mapping[str, Callable] | None = None,
                 lora: bool | Mapping[str, Any] | None = None):
        self.batch_size = checks.whole_number("batch_size", batch_size)
        self.grad_accum = checks.whole_number("grad_accum", grad_accum)
        self.eval_batch_size = checks.whole_number("eval_batch_size", eval_batch_size) \
            if eval_batch_size is not None else 2 * self.batch_size
        self.clip_grad = checks.number_at_least("clip_grad", clip_grad, 0)
        self.weight_decay = checks.number_at_least("weight_decay", weight_decay, 0)
        self.seed = checks.whole_number("seed", seed, 0)
        if checkpoint_dir is not None:  # refused now, not after the first epoch has trained
            if isinstance(checkpoint_dir, (str, os.PathLike)) and not str(checkpoint_dir).strip():
                raise TrainingError("checkpoint_dir is an empty path; give a folder, e.g. checkpoint_dir='runs/sst2'")
            check_checkpoint_dir(checkpoint_dir)
        # the task that read the data, with its options (a window stride); `task` may give them instead
        self.task = get_task(data.task, **data.task_options) if task is None else get_task(task)
        if self.task.name != data.task:
            raise TrainingError(f"the data was read for {data.task}, not {self.task.name}; read it again with "
                                f"task={self.task.name!r}")
        self.task = self.task.for_model(model.config)  # what the model settles (a translator's kind)
        self.task.check_training()
        #: the user's own metrics (`ktnb.Metric`), tracked as val_<name> beside the task's
        self.metrics = checked_metrics(metrics)
        taken = next((m.name for m in self.metrics if "val_" + m.name in self.task.metrics), None)
        if taken is not None:
            raise TrainingError(f"metric {taken!r} would hide the task's own val_{taken}; give yours another name")
        self.monitor = _checked_monitor(monitor or self.task.default_monitor, self.task, self.metrics)
        if any(not callable(cb) for cb in callbacks):
            raise TrainingError("callbacks must be callables taking an Event (or ktnb.Callback objects)")
        self.tokenizer = tokenizer
        self.data = data
        self.class_names = list(data.class_names)  # the label names (tags, or the regression target)
        self.settings_learnt: dict[str, Any] = {}  # decision settings tuned on validation data (thresholds)
        #: LoRA's settings (`ktnb.lora`), None when every weight trains
        self.lora = lora_settings(dict(lora) if isinstance(lora, Mapping) else lora)
        if self.lora is not None and not is_lora(model):
            model = add_lora(model, self.lora, self.task)
        self.device = resolve_device(device)
        self.mixed_precision = resolve_mixed_precision(mixed_precision, self.device, model)
        self.accelerator = make_accelerator(self.device, self.mixed_precision, grad_accum)
        self.model = model.to(self.accelerator.device)

        cap = model_length_cap(tokenizer, model.config)
        if max_len is None:
            sample = LabelledTexts(data.train.texts[:_MAX_LEN_SAMPLE], data.train.labels[:_MAX_LEN_SAMPLE],
                                   data.train.pairs[:_MAX_LEN_SAMPLE] if data.train.pairs is not None else None)
            max_len = self.task.default_max_len(tokenizer, sample, cap)
        elif isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) \
                or not MIN_MAX_LEN <= max_len <= cap:
            raise TrainingError(f"max_len must be a whole number between {MIN_MAX_LEN} and {cap} (this model's "
                                f"limit), got {max_len!r}")
        self.max_len = int(max_len)
        self.train_ds = self._encode(data.train)
        has_val = data.val is not None and len(data.val) > 0
        self.val_ds = evaluation.encode_for_evaluation(self, data.val) if has_val else None
        self.collate = PadCollator(pad_id(self.tokenizer), multiple=8 if self.device.type == "cuda" else None)

        #: passes each training batch is split into (2, 4, … after running out of GPU memory);
        #: their gradients add up to the batch's, so results do not change
        self.micro_batches = 1
        self.checkpoint_dir = checkpoint_dir
        #: the finished run of the same job whose checkpoints this learner's may replace (a script
        #: run again, `ktnb.train`); None: another run's checkpoint is never overwritten
        self.replaces_run: str | None = None
        self.checkpoint_every = checks.whole_number("checkpoint_every", checkpoint_every) \
            if checkpoint_every is not None else None
        # what rebuilds this learner in a new process (ktnb.load_learner): the settings as given
        self.build_settings = {"max_len": self.max_len, "batch_size": self.batch_size,
                               "eval_batch_size": self.eval_batch_size, "device": str(device),
                               "mixed_precision": mixed_precision, "grad_accum": self.grad_accum,
                               "clip_grad": self.clip_grad, "weight_decay": self.weight_decay, "seed": self.seed,
                               "monitor": monitor, "lora": self.lora}
        self.callbacks: list[Listener] = list(callbacks) + ([ProgressBar()] if progress else [])
        self.history = History()
        #: where the runs are, their best weights and what a checkpoint records (see `RunState`)
        self.run_state = RunState(self._new_run_id())
        self.stop_reason: str | None = None
        self._stop_requested = threading.Event()
        #: several processes: the stop they agreed on at the last batch or epoch end (see `_agree`)
        self._agreed_stop: str | None = None
        self._optimizer: Any = None
        #: gradient accumulation's window so far, [a reference loss weight, the window's weight], and
        #: the reference: the first batch's weight of the run (see `_window_scale`)
        self._window: list[float] | None = None
        self._window_reference: float | None = None
        self._train_model: Any = None
        self._train_dl: Any = None
        self._sampler: BucketBatchSampler | None = None

    # ------------------------------------------------------------------ set-up

    def _new_run_id(self) -> str:
        """A new run identity, the same in every process of a distributed run (the main one's)."""
        import uuid

        run_id = [uuid.uuid4().hex]
        if self.accelerator.num_processes > 1:
            from accelerate.utils import broadcast_object_list

            broadcast_object_list(run_id)
        return run_id[0]

    def _encode(self, part: LabelledTexts) -> EncodedTexts:
        return self.task.encode(self.tokenizer, part, self.max_len)

    def _prepare(self) -> None:
        """Model and training batches are handed to accelerate once, on first use; the
        optimizer too, and again after `reset_optimizer`."""
        if self._train_model is None:
            if len(self.train_ds) == 0:
                raise TrainingError("there is no training data")
            self._train_model = self.accelerator.prepare(self.model)
            # accelerate runs mixed precision by wrapping the model's forward in autocast, which
            # would then hold for every later use of the model too (the predictor, explanations,
            # the writing of text). The wrapper is taken off and the training step enters
            # autocast itself, so that each use runs in the precision it asks for.
            self.accelerator.unwrap_model(self._train_model, keep_fp32_wrapper=False)
            keep_embedding_grad(self.model, self.accelerator.device, self.accelerator.num_processes)
            use_cheap_dropout(self.model, self.accelerator.device)
        if self._train_dl is None:
            acc = self.accelerator
            if self.batch_size < acc.num_processes:
                raise TrainingError(f"batch_size {self.batch_size} is smaller than the {acc.num_processes} processes "
                                    "training; each step's batch is shared among them: raise batch_size")
            # a batch is a step's global batch, each process reading its slice (as on one process:
            # the same steps, schedule and checkpoint positions); accelerate's own sharding deals
            # whole batches out and drops a group whose last batch is short
            self._sampler = BucketBatchSampler(self.train_ds.lengths, self.batch_size, seed=self.seed,
                                               shards=acc.num_processes, rank=acc.process_index)
            loader = DataLoader(self.train_ds, batch_sampler=self._sampler, collate_fn=self.collate)
            if acc.num_processes == 1:
                self._train_dl = acc.prepare(loader)
            else:
                from accelerate.data_loader import prepare_data_loader

                self._train_dl = prepare_data_loader(loader, acc.device, num_processes=1, process_index=0,
                                                     put_on_device=True)
        if self._optimizer is None:
            self._optimizer = self.accelerator.prepare(
                make_optimizer(self.model, self.weight_decay, self.accelerator.device))

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch (batches, divided by gradient accumulation)."""
        batches = len(self._train_dl) if self._train_dl is not None else math.ceil(len(self.train_ds) / self.batch_size)
        return math.ceil(batches / self.grad_accum)

    def auto_epochs(self, max_epochs: int = 10) -> int:
        """Enough epochs for the task's least number of optimizer steps (`MIN_STEPS`, 100, for most
        tasks), at least 1: small data needs several passes to learn anything (300 SST-2 rows for 1
        epoch stay at chance), and multi-label needs many more steps (bench/RESULTS.md)."""
        steps = self.task.min_steps or MIN_STEPS
        return max(1, min(max_epochs, math.ceil(steps / self.steps_per_epoch)))

    def reset_optimizer(self) -> None:
        """Forget the optimizer's moment estimates (a fresh AdamW on the next fit)."""
        self._optimizer = None

    def _snapshot(self) -> dict[str, Any]:
        """Weights and optimizer state, copied to the CPU: a state to come back to."""
        return {"model": trainable_state(self.model), "optimizer": _cpu_copy(self._optimizer.state_dict()),
                "settings": dict(self.settings_learnt)}

    def _restore(self, snapshot: dict[str, Any]) -> None:
        load_trainable_state(self.model, snapshot["model"])
        self.settings_learnt = dict(snapshot["settings"])
        self._optimizer.load_state_dict(snapshot["optimizer"])
        self._optimizer.zero_grad(set_to_none=True)

    def _weights_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.model.parameters())

    # ------------------------------------------------------------------ events and stopping

    def _emit(self, listeners: Sequence[Listener], name: str, **fields: Any) -> None:
        event = Event(name, learner=self, **fields)
        for listener in listeners:
            listener(event)

    def request_stop(self, reason: str = "stopped") -> None:
        """Ask training (or lr_find) to end at the next batch boundary. Safe from any thread,
        e.g. a widget's Stop button while training runs in a background thread. When several
        processes train, a request in any one stops them all at the same batch (the one after
        the next agreement, see `_agree`)."""
        self.stop_reason = reason
        self._stop_requested.set()

    @contextlib.contextmanager
    def _ctrl_c_stops(self) -> Iterator[None]:
        """In the main thread, a first Ctrl-C (or Jupyter's interrupt) becomes a stop request
        at the next batch boundary; a second one interrupts at once."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)

        first_press: list[float] = []

        def on_sigint(signum: int, frame: Any) -> None:
            if self._stop_requested.is_set():
                # several processes stop together at an agreed batch; raising mid-batch in one would
                # leave the others waiting for it, so a forwarded copy of the same press is ignored
                if self.accelerator.num_processes > 1 and first_press \
                        and time.monotonic() - first_press[0] < _SAME_PRESS_SECONDS:
                    return
                raise KeyboardInterrupt
            first_press[:] = [time.monotonic()]
            self.request_stop("interrupted")

        signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)

    def _start_run(self, callbacks: Sequence[Listener]) -> list[Listener]:
        """What fit and lr_find both do first: restart accelerate's accumulation count and order
        this run's listeners. A stop request is not cleared here but when a run ends, so that a
        Stop pressed while a run is still being set up stops that run."""
        self.accelerator.step = 0
        self._window = self._window_reference = None
        self._agreed_stop = None
        listeners = [*self.callbacks, *PROCESS_LISTENERS, *callbacks]
        # one progress bar, one log, for all the processes; none in a launched process, whose
        # events the notebook shows (`ktnb.launch`)
        if not self.accelerator.is_main_process or any(getattr(cb, "shows_views", False) for cb in PROCESS_LISTENERS):
            listeners = [cb for cb in listeners if not getattr(cb, "main_process_only", False)]
        return sorted(listeners, key=lambda cb: getattr(cb, "order", 50))

    def _local_stop_flags(self) -> list[float]:
        """This process's stop request as one flag per reason in `_STOP_REASONS`."""
        flags = [0.0] * len(_STOP_REASONS)
        if self._stop_requested.is_set():
            reason = self.stop_reason if self.stop_reason in _STOP_REASONS else "stopped"
            flags[_STOP_REASONS.index(reason)] = 1.0
        return flags

    def _agree(self, loss: float = 0.0, weight: float = 0.0) -> tuple[float, float]:
        """Several processes: one all-reduce of this process's batch loss, its loss weight (rows or
        scored tokens) and its stop request. Returns the global batch's loss and weight, and keeps
        the most pressing stop any process asked for in `_agreed_stop`. Every process then logs the
        same loss, sees the same divergence and stops at the same batch: a stop decided in one
        process alone would leave the others waiting in the next gradient all-reduce."""
        acc = self.accelerator
        sums = acc.reduce(torch.tensor([loss * weight, weight, *self._local_stop_flags()], dtype=torch.float64,
                                       device=acc.device), "sum").tolist()
        asked = [reason for reason, flag in zip(_STOP_REASONS, sums[2:]) if flag > 0]
        if asked:
            self._agreed_stop = asked[-1]
            self.stop_reason = self._agreed_stop
        weight = sums[1]
        if weight:
            return sums[0] / weight, weight
        return (0.0 if math.isfinite(sums[0]) else math.nan), weight  # nothing scored anywhere

    def _check_stop(self, agree: bool = False) -> None:
        """End the run here when a stop was asked for. Several processes stop only on what they
        agreed (a request made since is taken up at the next agreement); `agree` agrees now."""
        if self.accelerator.num_processes == 1:
            if self._stop_requested.is_set():
                raise CancelFit(self.stop_reason or "stopped")
            return
        if agree:
            self._agree()
        if self._agreed_stop is not None:
            raise CancelFit(self._agreed_stop)

    # ------------------------------------------------------------------ the loop

    def _train_batch(self, batch: dict[str, torch.Tensor], lr: float) -> tuple[float, bool]:
        """One forward/backward; an optimizer step when accumulation is complete.
        Returns the batch loss and whether the optimizer stepped.

        The batch goes through the model in `micro_batches` passes, each loss weighted by its
        share of what the batch's loss averages over (rows, or scored tokens: `Task.loss_weight`),
        so the gradient is the whole batch's. Out of GPU memory, the rows not yet done are tried
        again in passes half as big (see `_out_of_memory`).

        With gradient accumulation, each batch's gradient is weighted the same way within its
        window of `grad_accum` batches, and the sum divided by the window's weight when the
        optimizer steps: the step's gradient is the mean over every row or scored token of the
        window, as one big batch would give it (batches of prompt/response pairs score different
        numbers of tokens; an epoch's last window may be short)."""
        acc = self.accelerator
        rows = len(batch["input_ids"])
        # weighted when the step's batch is not this one alone: accumulated, or shared among processes
        windowed = self.grad_accum > 1 or acc.num_processes > 1
        # the batch's loss weight, counted only when it is needed (a GPU sync): the batch is split, or accumulated
        whole: float | None = self.task.loss_weight(batch) if windowed else None
        scale = self._window_scale(whole) if windowed else 1.0
        with acc.accumulate(self._train_model):
            for group in self._optimizer.param_groups:
                group["lr"] = lr
            done, total = 0, 0.0
            while done < rows:
                size = -(-rows // self.micro_batches)
                part = batch if size >= rows else {k: v[done:done + size] for k, v in batch.items()}
                n = len(part["input_ids"])
                last = done + n >= rows
                if n != rows and whole is None:
                    whole = self.task.loss_weight(batch)
                share = 1.0 if n == rows else self.task.loss_weight(part) / whole if whole else 0.0
                weight = share * scale
                if weight == 0.0 and (not last or acc.num_processes == 1):  # nothing scored: its mean loss is 0/0
                    done += n
                    continue
                try:
                    with contextlib.nullcontext() if last or acc.num_processes == 1 else acc.no_sync(self._train_model):
                        with acc.autocast():
                            loss = self._train_model(**part).loss
                        if weight == 0.0:  # the last pass of several processes, with nothing scored: a
                            loss = loss.nan_to_num()  # zero that still syncs the gradients, not NaN
                        acc.backward(loss if weight == 1.0 else loss * weight)
                except torch.OutOfMemoryError:
                    self._out_of_memory(n)
                    continue
                total += loss.item() * share
                done += n
            if acc.num_processes > 1:  # the global batch's loss; the window's weight over every process
                total, agreed = self._agree(total, whole)
                self._window[2] += agreed
            stepped = acc.sync_gradients
            factor = self._close_window() if stepped and windowed else 1.0
            fused_scale = stepped and self._scale_in_step(factor)
            if stepped and not fused_scale:
                if factor != 1.0:
                    torch._foreach_mul_([p.grad for p in self._train_model.parameters() if p.grad is not None], factor)
                if self.clip_grad:
                    acc.clip_grad_norm_(self._train_model.parameters(), self.clip_grad)
            try:
                self._optimizer.step()  # accelerate skips these until accumulation is complete
            finally:
                if fused_scale:
                    del self._optimizer.optimizer.grad_scale
            self._optimizer.zero_grad(set_to_none=True)
        return total, stepped

    def _window_scale(self, weight: float) -> float:
        """What a batch's loss is multiplied by in its accumulation window: its weight (rows, or
        scored tokens) over a reference weight, the first batch's of the run (averaged over the
        processes, so the same in each), which keeps gradients near their usual size for
        half-precision loss scaling."""
        acc = self.accelerator
        if self._window is None:
            reference = self._window_reference
            if reference is None:
                reference = weight or 1.0
                if acc.num_processes > 1:
                    reference = float(acc.reduce(torch.tensor(reference, device=acc.device), "mean")) or 1.0
                self._window_reference = reference
            # [the reference weight, the window's weight so far here, and over every process]
            self._window = [reference, 0.0, 0.0]
        self._window[1] += weight
        return weight / self._window[0]

    def _close_window(self) -> float:
        """At the optimizer step: what the window's summed gradient is multiplied by, its weight
        over every process divided out (accelerate divided by grad_accum, several processes'
        average by their number), so that the step's gradient is the mean over every row or
        scored token of the window."""
        acc = self.accelerator
        reference, here, everywhere = self._window
        self._window = None
        weight = everywhere if acc.num_processes > 1 else here
        return self.grad_accum * acc.num_processes * reference / weight if weight else 1.0

    def _scale_in_step(self, factor: float = 1.0) -> bool:
        """Multiply the gradients by `factor` (`_close_window`) and clip their norm at
        `clip_grad` inside the fused AdamW step: measure the norm here and hand the step what to
        divide the gradients by (``grad_scale``, the input PyTorch's own GradScaler gives the
        fused kernels). It saves a pass over every gradient for each: the clip and step took 25 ms
        instead of 30 per MiniLM step on a CPU, the same result to 1e-8. False, so that they are
        done as usual, with a loss scaler (fp16), a non-fused optimizer, or nothing to do."""
        optimizer = getattr(self._optimizer, "optimizer", None)
        if (not self.clip_grad and factor == 1.0) or optimizer is None or not optimizer.defaults.get("fused") \
                or self.accelerator.scaler is not None or not hasattr(torch.nn.utils, "get_total_norm"):
            return False
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            return False
        if self.clip_grad:
            norm = torch.nn.utils.get_total_norm(grads, foreach=True).float() * factor
            optimizer.grad_scale = torch.clamp(norm / self.clip_grad, min=1.0) / factor
        else:
            optimizer.grad_scale = torch.tensor(1.0 / factor, dtype=torch.float32, device=grads[0].device)
        return True

    def _out_of_memory(self, rows: int) -> None:
        """Out of GPU memory with `rows` examples in one pass: free what can be freed and split
        batches into twice as many passes (the same batch and gradient, but for dropout's random
        masks; half the memory), saying so; with one example per pass already, stop with what to
        change."""
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if self.accelerator.num_processes > 1:  # the others are already exchanging this pass's gradients
            raise TrainingError(f"out of GPU memory with {rows} examples per pass in one of the "
                                f"{self.accelerator.num_processes} processes: lower batch_size (or max_len "
                                f"{self.max_len}); splitting batches into passes is for one process") from None
        if rows <= 1:
            raise TrainingError(f"out of GPU memory with one example per pass at max_len {self.max_len}: use a "
                                f"shorter max_len (e.g. max_len={max(MIN_MAX_LEN, self.max_len // 2)}) or a smaller "
                                "model") from None
        self.micro_batches *= 2
        per_pass = -(-self.batch_size // self.micro_batches)
        warnings.warn(f"out of GPU memory with {rows} examples per pass: going on with {per_pass} per pass and "
                      f"{self.micro_batches}x gradient accumulation (still batch_size {self.batch_size} per "
                      "optimizer step)", KtnbWarning, stacklevel=3)

    def _batches(self, cycle: bool = False, skip: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        """The training batches of one epoch (or of epoch after epoch, with `cycle`), less the
        first `skip` (a resumed epoch; their rows are never collated); closing the generator
        early (a stop) lets accelerate's loader tidy its gradient-accumulation state."""
        while True:
            if skip:  # positions count global batches, each process's slice of one
                self._sampler.skip_next(skip)
                skip = 0
            iterator = iter(self._train_dl)
            try:
                yield from iterator
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
            if not cycle:
                return

    def fit(self, lr: float, epochs: int = 1, schedule: str = "onecycle", *, warmup: float | None = None,
            callbacks: Sequence[Listener] = (), restore_best: bool = False) -> History:
        """Train for `epochs` with the learning-rate `schedule` peaking at `lr`
        ("onecycle", "linear", "cosine" or "constant").

        The validation set is evaluated after each epoch, and the best weights (by `monitor`)
        are kept aside. A stop request, Ctrl-C, divergence or an error ends training at a batch
        boundary and puts those best weights back; `restore_best=True` does so at a normal end
        too. Returns the learner's `History`.
        """
        lr, epochs = checks.positive_number("lr", lr), checks.whole_number("epochs", epochs)
        make_schedule(schedule, lr, warmup)  # a bad schedule or warmup is refused before anything runs
        return self._run(RunPlan(lr, epochs, schedule, warmup, restore_best), callbacks)

    def _run(self, plan: RunPlan, callbacks: Sequence[Listener] = (), resume_at: Position | None = None) -> History:
        """The loop of `fit`: epoch after epoch from the start of a new run or (`resume_at`) from
        where a checkpointed one stopped, its state already restored by `resume`; then, however
        it ended, the weights put where they belong (`_after_fit`)."""
        run = self.run_state
        lr_at = make_schedule(plan.schedule, plan.lr, plan.warmup)
        if self.checkpoint_dir is not None:  # before training: not another run's checkpoint, nor a predictor
            check_checkpoint_dir(self.checkpoint_dir, run.run_id, self.replaces_run)
        self._prepare()
        resumed = resume_at is not None
        if resume_at is None:
            # the state to return to if this run breaks before any epoch is validated
            run.start_weights, run.best, run.best_weights, run.lr_scale = self._snapshot(), None, None, 1.0
            resume_at = Position(run=self.history.start_run(), steps_before=run.steps_done)
            run.resumed_rng = None  # a restored checkpoint's random state is for resume, not a new run
        elif run.best_weights is None:
            run.start_weights = self._snapshot()
        run.plan, run.position = plan, resume_at
        if plan.autofit is None:
            run.rules = []
        self.accelerator.gradient_accumulation_steps = self.grad_accum
        batches = len(self._train_dl)
        total_steps = plan.epochs * math.ceil(batches / self.grad_accum)
        listeners = self._start_run([*run.rules, *self._checkpointer(), *callbacks])
        counts = {"phase": "fit", "epochs": plan.epochs, "batches": batches, "total_steps": total_steps}
        lr_now = lr_at(resume_at.step / total_steps) * run.lr_scale
        self._emit(listeners, "train_begin", lr=lr_at(resume_at.step / total_steps), epoch=resume_at.epoch,
                   batch=resume_at.batch, step=resume_at.step, **counts)
        if resume_at.batch == 0:  # resumed at an epoch's start: the random state is the one the epoch began with
            self._put_back_random_state()
        reason, error, epoch = "finished", None, resume_at.epoch
        with self._ctrl_c_stops():
            try:
                for epoch in range(resume_at.epoch, plan.epochs):
                    # the first epoch of a resumed run goes on from its batch, in the batch order it had
                    start = resume_at if epoch == resume_at.epoch else None
                    if start is not None and resumed:
                        self._train_dl.set_epoch(start.order)
                    self._train_epoch(epoch, start, lambda step: lr_at(step / total_steps) * run.lr_scale,
                                      listeners, counts)
            except CancelFit as stop:
                reason = stop.reason
            except KeyboardInterrupt:  # a second Ctrl-C arrived mid-batch
                reason = "interrupted"
            except Exception as err:  # noqa: BLE001 - re-raised below, after the weights are safe
                reason, error = "error", err
            finally:
                run.steps_done = run.position.steps_before + run.position.step
                self._optimizer.zero_grad(set_to_none=True)
                self._stop_requested.clear()
                self._agreed_stop = None
        last = self.history.steps[-1] if self.history.steps else {}
        lr_now = last["lr"] if last.get("run") == run.position.run else lr_now  # the rate of the last batch
        self.stop_reason = reason
        message = self._after_fit(reason, plan.restore_best, epoch, lr_now, error)
        run.start_weights = None
        self._emit(listeners, "train_end", epoch=epoch, step=run.position.step, reason=reason, message=message,
                   **counts)
        if error is not None:
            raise error
        return self.history

    def _train_epoch(self, epoch: int, start: Position | None, lr_at_step: Any, listeners: Sequence[Listener],
                     counts: dict[str, Any]) -> None:
        """One epoch: its batches (from `start`'s batch, when a resumed run goes on mid-epoch),
        each a step at the schedule's rate; then validation, the history row and `epoch_end`.
        `run_state.position` follows every batch, which is what a checkpoint records."""
        run = self.run_state
        first_batch = start.batch if start is not None else 0
        if first_batch == 0:
            self._emit(listeners, "epoch_begin", epoch=epoch, step=run.position.step, **counts)
        # accelerate's loader numbers its passes and seeds the batch order with that number
        position = run.position = Position(run.position.run, epoch, first_batch, run.position.step,
                                           self._train_dl.iteration, list(start.losses) if first_batch else [],
                                           run.position.steps_before)
        started, lr_now = time.perf_counter(), lr_at_step(position.step)
        self._train_model.train()
        for index, batch in enumerate(self._batches(skip=first_batch), first_batch):
            # resumed mid-epoch: the checkpoint's random state, once this pass has begun
            # (beginning one draws from it, as the unbroken run did at the epoch's start)
            self._put_back_random_state()
            lr_now = lr_at_step(position.step)
            loss, stepped = self._train_batch(batch, lr_now)
            position.losses.append(loss)
            position.batch, position.step = index + 1, position.step + stepped
            self.history.steps.append({"run": position.run, "step": position.steps_before + position.step,
                                       "epoch": run.epochs_done + 1, "batch": index + 1, "loss": loss, "lr": lr_now})
            self._emit(listeners, "batch_end", epoch=epoch, batch=index, step=position.step, loss=loss, lr=lr_now,
                       **counts)
            if not math.isfinite(loss):
                raise CancelFit("diverged")
            self._check_stop()
        losses = position.losses
        metrics = {"train_loss": float(np.mean(losses)) if losses else float("nan")}
        note = None
        if self.val_ds is not None:
            summary, note = self._validate(listeners, epoch=epoch, step=position.step, **counts)
            metrics.update(summary)
        metrics.update(lr=lr_now, seconds=time.perf_counter() - started)
        self.history.epochs.append({"run": position.run, "epoch": run.epochs_done + 1, **metrics,
                                    **({"note": note} if note else {})})
        run.epochs_done += 1
        run.position = Position(position.run, epoch + 1, 0, position.step, self._train_dl.iteration,
                                steps_before=position.steps_before)
        self._emit(listeners, "epoch_end", epoch=epoch, step=position.step, metrics=metrics, message=note, **counts)
        self._check_stop(agree=True)  # a stop asked for during validation, or by early stopping

    def _put_back_random_state(self) -> None:
        """Set the random generators to a restored checkpoint's state, once."""
        if self.run_state.resumed_rng is not None:
            set_rng_state(self.run_state.resumed_rng)
            self.run_state.resumed_rng = None

    def _checkpointer(self) -> list[Listener]:
        """The listener that writes checkpoints, when this learner has a `checkpoint_dir`."""
        if self.checkpoint_dir is None:
            return []
        return [Checkpointer(self.checkpoint_dir, self.checkpoint_every)]

    def higher_is_better(self, metric: str) -> bool:
        """Which way a validation metric improves: as the user's `Metric` declares, else as the task says."""
        own = next((m for m in self.metrics if "val_" + m.name == metric), None)
        return own.higher_is_better if own is not None else self.task.higher_is_better(metric)

    def _validate(self, listeners: Sequence[Listener], **fields: Any) -> tuple[dict[str, float], str | None]:
        """One pass over the validation set: its summary metrics (the best weights kept aside
        when they improve) and a warning when the predictions look collapsed."""
        self._emit(listeners, "validate_begin", **fields)
        report = evaluation.report(self, self.val_ds, tune=True, split="validation", epoch_check=True)
        summary = {**report.summary("val_"), **getattr(report, "own_metrics", {})}
        self._emit(listeners, "evaluate", metrics=summary, **fields)
        self._keep_if_best(summary)
        return summary, report.warning

    def _keep_if_best(self, metrics: dict[str, float]) -> None:
        """Keep this epoch's weights aside when `monitor` improved on the run's best."""
        run, value = self.run_state, metrics[self.monitor]
        if improved(self.monitor, value, run.best["value"] if run.best else None,
                    higher=self.higher_is_better(self.monitor)):
            run.best = {"epoch": run.epochs_done + 1, "value": value, "monitor": self.monitor}
            run.best_weights, run.start_weights = self._snapshot(), None

    def load_best(self) -> dict[str, Any]:
        """Put back the best validated weights of the last run, with their optimizer state
        (after a `fit` that ended on worse ones). Returns which epoch that was."""
        if self.run_state.best_weights is None:
            raise TrainingError("there are no best weights yet: fit with validation data first")
        self._restore(self.run_state.best_weights)
        return dict(self.best)

    def _after_fit(self, reason: str, restore_best: bool, epoch: int, lr: float,
                   error: Exception | None) -> str | None:
        """Put the model and optimizer back in their last good state when training did not end
        normally (or when asked), and say in one line what happened and which state that is:
        this run's best validated epoch, or, when none was validated yet, after a divergence or a
        crash, the state from before this fit (a user's stop keeps the weights trained so far)."""
        what = _REASON_TEXT.get(reason, "training finished")
        if reason == "diverged":
            what += f" at lr {lr:.2e}"
        if error is not None:
            what += f" ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
        hint = "; try a lower learning rate" if reason == "diverged" else ""
        run = self.run_state
        if run.best_weights is not None and (reason != "finished" or restore_best):
            self._restore(run.best_weights)
            return (f"{what}: restored the best weights of this run (epoch {run.best['epoch']}, "
                    f"{run.best['monitor']} {run.best['value']:.4f}) and their optimizer state{hint}")
        if reason == "finished":
            return self._finished_note()
        if reason in ("diverged", "error") or not self._weights_finite():
            self._restore(run.start_weights)
            return (f"{what} in epoch {epoch + 1}: no epoch had been validated, so the weights and optimizer "
                    f"from before this fit were restored{hint}")
        return f"{what} in epoch {epoch + 1}: no validated weights yet, the current weights are kept"

    def _finished_note(self) -> str | None:
        """After a normal end on the last epoch's weights: a word, and a `KtnbWarning`, when they
        are worse than the run's best, or when the last epoch looked collapsed (an early epoch
        that did is only marked in the epoch table: models often start that way)."""
        last = self.history.epochs[-1] if self.history.epochs else {}
        best = self.best
        # a tie with the best epoch (the same F1 on a small set) is not worse
        if best is not None and best["epoch"] != last.get("epoch") and improved(
                self.monitor, best["value"], last.get(self.monitor), higher=self.higher_is_better(self.monitor)):
            note = (f"training finished with {self.monitor} {last[self.monitor]:.4f}, worse than epoch "
                    f"{best['epoch']} ({best['value']:.4f}); learner.load_best() puts those weights back "
                    "(or fit with restore_best=True, or use autofit)")
        elif last.get("note"):
            note = f"training finished, but {last['note']}"
        else:
            return None
        warnings.warn(note, KtnbWarning, stacklevel=4)
        return note

    def fit_onecycle(self, lr: float, epochs: int = 1, **kwargs: Any) -> History:
        """`fit` with the one-cycle schedule (ktrain's name for it)."""
        return self.fit(lr, epochs, "onecycle", **kwargs)

    def autofit(self, lr: float, max_epochs: int = 20, *, patience: int = 2, reduce_patience: int = 1,
                reduce_factor: float = 0.5, schedule: str = "constant", monitor: str | None = None,
                callbacks: Sequence[Listener] = ()) -> History:
        """Train until the validation `monitor` stops improving: the lr is multiplied by
        `reduce_factor` after `reduce_patience` epochs without improvement, training stops after
        `patience`, and the best weights are restored at the end."""
        if self.val_ds is None:
            raise TrainingError("autofit needs validation data to know when to stop; give a validation set "
                                "or val_frac when loading the data")
        max_epochs = checks.whole_number("max_epochs", max_epochs)
        patience = checks.whole_number("patience", patience)
        reduce_patience = checks.whole_number("reduce_patience", reduce_patience)
        reduce_factor = checks.plain(reduce_factor)  # np.float32(0.5) is a number too
        if isinstance(reduce_factor, bool) or not isinstance(reduce_factor, (int, float)) \
                or not 0 < reduce_factor <= 1:
            raise TrainingError(f"reduce_factor must be a number in (0, 1], got {reduce_factor!r}")
        self.monitor = monitor = _checked_monitor(monitor or self.monitor, self.task, self.metrics)
        lr = checks.positive_number("lr", lr)
        make_schedule(schedule, lr)
        rules = {"monitor": monitor, "patience": patience, "reduce_patience": reduce_patience,
                 "reduce_factor": reduce_factor}
        plan = RunPlan(lr, max_epochs, schedule, None, True, rules)
        self._make_rules(rules)
        return self._run(plan, callbacks)

    def _make_rules(self, rules: dict[str, Any]) -> list[Any]:
        """autofit's reduce-on-plateau and early-stopping listeners, which the next run listens
        to (kept here, so that a checkpoint can record how long each has waited)."""
        self.run_state.rules = [ReduceLROnPlateau(rules["monitor"], rules["reduce_patience"], rules["reduce_factor"]),
                                EarlyStopping(rules["monitor"], rules["patience"])]
        return self.run_state.rules

    def resume(self, checkpoint_dir: str | os.PathLike | None = None, callbacks: Sequence[Listener] = ()) -> History:
        """Carry on the run checkpointed in `checkpoint_dir` (by default this learner's own):
        weights, optimizer, schedule, batch order, random state and history are put back as they
        were at the checkpoint, and training goes on from that batch to the end of the run (and
        keeps checkpointing there). The learner must be built for the same data and model; in a
        new process `ktnb.resume(dir)` does that. A run that had ended only has its state loaded.

        >>> learner.resume("runs/sentiment")                   # doctest: +SKIP
        """
        folder = checkpoint_dir if checkpoint_dir is not None else self.checkpoint_dir
        if folder is None:
            raise TrainingError("resume needs a checkpoint folder: learner.resume('runs/name'), written by a fit "
                                "with checkpoint_dir=")
        meta = restore(self, folder)
        if self.checkpoint_dir is None:
            self.checkpoint_dir = folder
        if meta.get("ended") in ENDED:
            if self.plan.restore_best and self.run_state.best_weights is not None:
                self._restore(self.run_state.best_weights)
            warnings.warn(f"the run in {folder} had ended ({meta['ended'].replace('_', ' ')}, after epoch "
                          f"{self.epochs_done}): its weights are loaded and there is nothing left to train",
                          KtnbWarning, stacklevel=2)
            return self.history
        written, count = meta.get("world_size", 1), self.accelerator.num_processes
        if written != count and self.accelerator.is_main_process:
            warnings.warn(f"this run was checkpointed by {written} process(es) and goes on in {count}: it carries on "
                          "from the same batch, but dropout draws other masks than the unbroken run would have",
                          KtnbWarning, stacklevel=2)
        return self._run(self.plan, callbacks, resume_at=self.position)

    # ------------------------------------------------------------------ learning-rate finder

    def lr_find(self, start_lr: float = 1e-7, end_lr: float = 10.0, max_batches: int = 100, *,
                epochs: int = 1, min_batches: int = 10, diverge_factor: float = 4.0,
                callbacks: Sequence[Listener] = ()) -> LRFinderResult:
        """Sweep the learning rate exponentially from `start_lr` to `end_lr` over `max_batches`
        training batches (going round the data again when an epoch has fewer, so that small
        data still gives a readable curve), stopping once the smoothed loss exceeds
        `diverge_factor` times its minimum. The model and optimizer are restored afterwards.

        Returns the curve and its suggestions; ``.plot()`` draws it. The suggestion is for
        training `epochs` epochs (``.suggestion_for(n)`` gives it for another length): shorter
        runs need a higher rate (see `ktnb.lr_finder`)."""
        epochs = checks.whole_number("epochs", epochs)
        start_lr, end_lr = checks.positive_number("start_lr", start_lr), checks.positive_number("end_lr", end_lr)
        if end_lr <= start_lr:
            raise TrainingError(f"lr_find sweeps upwards: start_lr ({start_lr:g}) must be below end_lr ({end_lr:g})")
        max_batches = checks.whole_number("max_batches", max_batches, 2)
        min_batches = checks.whole_number("min_batches", min_batches, 2)
        diverge_factor = checks.number_at_least("diverge_factor", diverge_factor, 1)
        self._prepare()
        n = max_batches
        if len(self._train_dl) < min_batches:
            raise TrainingError(
                f"lr_find needs at least {min_batches} training batches, but {len(self.train_ds)} examples at "
                f"batch_size {self.batch_size} give {len(self._train_dl)}; use more data or a smaller batch_size"
            )
        before = self._snapshot()
        listeners = self._start_run(callbacks)
        counts = {"phase": "lr_find", "epochs": 1, "batches": n, "total_steps": n}
        self._emit(listeners, "train_begin", lr=start_lr, **counts)
        lrs: list[float] = []
        raw: list[float] = []
        smoothed: list[float] = []
        smoother = LossSmoother()
        reason, error, best, diverged, started = "finished", None, math.inf, False, time.perf_counter()
        self._train_model.train()
        with self._ctrl_c_stops():
            try:
                for i, batch in zip(range(n), self._batches(cycle=True)):
                    lr = start_lr * (end_lr / start_lr) ** (i / max(n - 1, 1))
                    loss, _ = self._train_batch(batch, lr)
                    lrs.append(lr)
                    raw.append(loss)
                    smoothed.append(smoother.add(loss))
                    self._emit(listeners, "batch_end", batch=i, step=i + 1, loss=loss, lr=lr, **counts)
                    best = min(best, smoothed[-1])
                    if not math.isfinite(smoothed[-1]) or smoothed[-1] > diverge_factor * best:
                        diverged = True
                        break
                    self._check_stop()
            except CancelFit as stop:
                reason = stop.reason
            except KeyboardInterrupt:
                reason = "interrupted"
            except Exception as err:  # noqa: BLE001 - re-raised below, after train_end
                reason, error = "error", err
            finally:
                self._restore(before)
                self._stop_requested.clear()
                self._agreed_stop = None
        message = None if reason == "finished" else f"lr_find {reason} after {len(lrs)} batches; weights restored"
        self.stop_reason = reason
        self._emit(listeners, "train_end", reason=reason, message=message, step=len(lrs), **counts)
        if error is not None:
            raise error
        result = LRFinderResult(lrs, smoothed, raw, diverged, time.perf_counter() - started,
                                base_lr=self._base_rate(), steps_per_epoch=self.steps_per_epoch,
                                epochs=epochs)
        self.lr_finder_result = result
        return result

    # ------------------------------------------------------------------ evaluation (ktnb.evaluation)

    def _base_rate(self) -> float | None:
        """The fine-tuning rate known to work for this model (`ktnb.lr_finder.base_rate`);
        LoRA's adapters start at zero and change a small part of the model: they take
        `lora.RATE_FACTOR` times it."""
        rate = base_rate(model_width(self.model))
        return rate * LORA_RATE_FACTOR if rate is not None and self.lora is not None else rate

    def evaluate(self, data: Any = None, text_col: str = "text", label_col: str = "label",
                 pair_col: str | None = None, *, split: str | None = None) -> Any:
        """The task's report on the test set when the data has one, else on the validation set
        (``split="validation"`` or ``"test"`` picks), or on `data` (a path, DataFrame, (texts,
        labels), TextData …): for classification accuracy, per-class precision/recall/F1 and
        the confusion matrix; for regression MSE, MAE, Pearson and Spearman. The headline says
        which set it is on. Labels in `data` that the model was not trained on are an error.
        Several processes training (``torchrun``, `ktnb.launch`) share the work, each running its
        part of the examples: every process must call it, and each gets the whole report."""
        return evaluation.evaluate(self, data, text_col, label_col, pair_col, split)

    def top_losses(self, n: int = 5, data: Any = None, text_col: str = "text", label_col: str = "label",
                   pair_col: str | None = None, *, split: str = "validation") -> Any:
        """The `n` examples the model gets most wrong (highest loss) in the validation set (or
        ``split="test"``, or `data`), as a DataFrame with the text, true and predicted label (or
        value), and the loss."""
        return evaluation.top_losses(self, n, data, text_col, label_col, pair_col, split)

    def attention(self, text: str, view: str = "ktnb") -> Any:
        """Attention weights for `text` from every layer and head (see `Predictor.attention`)."""
        return self.predictor().attention(text, view)

    def explain(self, texts: Any, target: Any = None, method: str = "integrated_gradients") -> Any:
        """Which words made the model decide (see `Predictor.explain`)."""
        return self.predictor().explain(texts, target, method)

    def predictor(self, batch_size: int | None = None) -> Predictor:
        """A `Predictor` sharing this learner's model and tokenizer; it reads texts up to the
        model's own limit (training cut them at `max_len`), in the learner's precision, as its
        reports do (a saved predictor loads in the weights' own unless asked otherwise)."""
        return Predictor(self.model, self.tokenizer, self.class_names, None,
                         self.eval_batch_size if batch_size is None else batch_size, self.accelerator.device,
                         task=self.task, settings=self.settings_learnt, pairs=self.data.train.pairs is not None,
                         mixed_precision=self.mixed_precision)

    def set_threshold(self, threshold: float) -> None:
        """Fix a multi-label model's decision threshold (instead of tuning it on validation data)."""
        if "threshold" not in self.task.decision_settings:
            raise TrainingError(f"a {self.task.title} model has no decision threshold")
        threshold = checks.number_between("threshold", threshold, 0, 1)  # a numpy number is a number
        self.settings_learnt.update(threshold=threshold, threshold_fixed=True)

    def settings(self) -> list[tuple[str, Any]]:
        """The run's settings as (name, value) rows, for reports."""
        return [("model", getattr(self, "checkpoint", type(self.model).__name__)), ("task", self.task.title),
                self.task.describe_labels(self.class_names),
                ("train / val", f"{len(self.train_ds)} / {len(self.val_ds) if self.val_ds else 0}"),
                ("max_len", self.max_len), ("batch_size", self.batch_size), ("device", str(self.device)),
                ("mixed_precision", self.mixed_precision), *self._lora_row()]

    def _lora_row(self) -> list[tuple[str, Any]]:
        if self.lora is None:
            return []
        trainable, total = trainable_count(self.model)
        return [("lora", f"r={self.lora['r']}, alpha={self.lora['alpha']}: {trainable:,} of {total:,} "
                         f"parameters train ({100 * trainable / total:.2f}%)")]

    def __repr__(self) -> str:
        kind, names = self.task.describe_labels(self.class_names)
        what = f"classes={self.class_names}" if kind == "classes" else f"task={self.task.name}, {kind}={names}"
        lora = "" if self.lora is None else f", lora_r={self.lora['r']}"
        return (f"Learner({type(self.model).__name__}, {what}, train={len(self.train_ds)}, "
                f"val={len(self.val_ds) if self.val_ds else 0}, max_len={self.max_len}, "
                f"batch_size={self.batch_size}, device={self.device}, mixed_precision={self.mixed_precision}{lora})")


__all__ = ["Learner", "resolve_device", "make_optimizer"]
