"""Training in several processes from a notebook: `launch` runs a ``%%ktrain`` config (or a
function that trains a learner) in N processes through ``accelerate.notebook_launcher``, shows
the main process's progress in the notebook, turns the notebook's interrupt into a stop that
every process agrees on, and brings the trained learner back into the kernel for `evaluate`,
`predict` and the views.

    clf = ktnb.launch({"data": "sst2", "epochs": 1, "max_train": 2000}, num_processes=2)
    clf.learner.evaluate()

notebook_launcher's rules apply: the processes are forked from the kernel, so the kernel must not
have used CUDA yet (launch before any GPU work, or export a script: `ktnb.export_script`); each
process builds its own learner. The trained state comes back through a checkpoint folder that the
main process writes (``checkpoint_dir``, else a temporary folder).
"""

from __future__ import annotations

import os
import queue
import socket
import sys
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Mapping, Sequence

from .errors import TrainingError

#: the event fields the main process sends to the notebook (everything a progress view reads)
_RELAYED = ("phase", "epoch", "batch", "step", "loss", "lr", "epochs", "batches", "total_steps", "metrics",
            "message", "reason")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _check_can_fork(args: Sequence[Any]) -> None:
    """notebook_launcher's rules, each said in one line before anything starts."""
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available() and torch.cuda.is_initialized():
            raise TrainingError("CUDA is already in use in this kernel, and the processes launch forks cannot use it: "
                                "restart the kernel and launch before any training, or export a script "
                                "(%ktrain export train.py) and run it with torchrun")
    from .learner import Learner

    if any(isinstance(arg, Learner) for arg in args):
        raise TrainingError("a learner built in the kernel can't be handed to the processes: build it inside the "
                            "function that launch runs, and return it")


class _Relay:
    """In the main process: sends each event's fields to the notebook, and asks for a stop
    when the notebook was interrupted (every process polls the same flag, and the learners
    agree on the batch)."""

    order = 99
    shows_views = True  # the notebook draws the progress: the learners' own bars are left out

    def __init__(self, events: Any, stop: Any, main: bool):
        self.events, self.stop, self.main = events, stop, main

    def __call__(self, event: Any) -> None:
        if event.name == "batch_end" and self.stop.is_set() and not event.learner._stop_requested.is_set():
            event.learner.request_stop("interrupted")
        if not self.main:
            return
        fields = {name: getattr(event, name) for name in _RELAYED if getattr(event, name, None) is not None}
        learner = event.learner
        if event.name == "train_begin":
            fields["where"] = (str(learner.device), learner.mixed_precision)
        if event.name == "epoch_end":
            fields["row"] = dict(learner.history.epochs[-1])
        self.events.put((event.name, fields))


def _final_state(learner: Any, folder: Path) -> None:
    """The learner's state as it ended, into `folder`, written by the main process."""
    from .checkpoints import ENDED, checkpoint_from_all, mark_ended
    from .processes import on_main_process

    checkpoint_from_all(learner, folder)
    if learner.stop_reason in ENDED:  # a finished run stays finished: resuming it trains no more
        on_main_process(lambda: mark_ended(folder, learner.stop_reason, learner.run_id))


def _worker(job: Callable[[], Any], folder: Path, notes: Path, events: Any, stop: Any, threads: int, device: str,
            kernel: int) -> None:
    """What each process runs: its share of the threads, the process group (with a timeout),
    the job, then the final state; a failure is written down for the notebook, then raised.
    notebook_launcher runs it in the kernel itself when it has one device to give (Colab with one
    GPU): the kernel's threads and listeners are then left as they were."""
    import torch

    from .events import PROCESS_LISTENERS
    from .processes import process_index
    from .script import start_process_group

    if os.getpid() != kernel:
        torch.set_num_threads(threads)
        events.put(("pid", os.getpid()))  # for a second interrupt, which ends the processes
    rank = int(os.environ.get("RANK", "0"))
    try:
        state = start_process_group(device)
        rank = process_index()
        PROCESS_LISTENERS[:] = [_Relay(events, stop, state.is_main_process)]
        learner = job()
        _final_state(learner, folder)
        if state.is_main_process:
            events.put(("handback", {"data": learner.data if getattr(learner.data, "origin", None) is None else None,
                                     "lr_finder": getattr(learner, "lr_finder_result", None),
                                     "stop_reason": learner.stop_reason}))
        state.wait_for_everyone()
    except BaseException as err:
        text = str(err).splitlines()[0] if str(err) else ""
        (notes / f"error-rank{rank}.txt").write_text(f"{type(err).__name__}: {text}")
        raise
    finally:
        PROCESS_LISTENERS.clear()


def _failure(error: BaseException, notes: Path, count: int, folder: Path | None = None) -> TrainingError:
    """One line for a launch that failed: the process that failed first, how, and what it said.
    A process that lost its peer is not the cause; one that died without a word (killed, out
    of memory) is."""
    failures = getattr(error, "failures", None) or {}
    said = {int(path.stem.removeprefix("error-rank")): path.read_text() for path in notes.glob("error-rank*.txt")}
    if not said and not failures:  # no process started: the launcher's own error
        return TrainingError(f"the processes could not start: {type(error).__name__}: "
                             f"{str(error).splitlines()[0] if str(error) else ''}")
    from .processes import peer_lost

    causes = sorted(rank for rank, text in said.items() if not peer_lost(text))
    silent = [rank for rank in range(count) if rank not in said]  # died without a word
    killed = sorted(rank for rank, failure in failures.items()
                    if failure.exitcode is not None and failure.exitcode < 0)  # by a signal
    silent_failed = [rank for rank in silent if rank in failures]
    rank = next(iter(causes or killed or silent_failed or silent or sorted(said) or sorted(failures)), None)
    told = said.get(rank, "")
    failure = failures.get(rank)
    if failure is not None and failure.exitcode is not None and failure.exitcode < 0:
        how = f" (killed by signal {-failure.exitcode})"
    elif rank in silent and said:
        how = " (it ended without an error: killed, or out of memory?)"
    elif failure is not None and failure.exitcode is not None:
        how = f" (exit code {failure.exitcode})"
    else:
        how = ""
    if rank is None:
        told = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    who = f"process {rank} of {count}" if rank is not None else "a process"
    where = f"; checkpoints, if any, are in {folder}" if folder is not None else ""
    return TrainingError(f"{who} failed{how}{f': {told}' if told else ''}; the others were stopped{where}")


def _show_events(events: Any, listeners: Sequence[Any], done: threading.Event, stop: Any,
                 pids: list[int]) -> dict[str, Any]:
    """In the kernel's main thread: the main process's events fed to the notebook's listeners
    until the launch ends; an interrupt asks every process to stop (a second one gives up
    waiting). Returns the handback message."""
    from .events import Event

    stand_in = SimpleNamespace(device="", mixed_precision="", history=SimpleNamespace(epochs=[]))
    handback: dict[str, Any] = {}
    interrupted = 0
    while True:
        try:
            try:
                name, fields = events.get(timeout=0.1)
            except queue.Empty:
                if done.is_set():
                    return handback
                continue
            if name == "handback":
                handback = fields
                continue
            if name == "pid":
                pids.append(fields)
                continue
            if "where" in fields:
                stand_in.device, stand_in.mixed_precision = fields.pop("where")
            if "row" in fields:
                stand_in.history.epochs.append(fields.pop("row"))
            event = Event(name, learner=stand_in, **fields)
            for listener in listeners:
                listener(event)
        except KeyboardInterrupt:  # the notebook's interrupt: every process stops at one batch
            interrupted += 1
            stop.set()
            if interrupted > 1:  # a second one: end the processes now
                import signal

                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except OSError:
                        pass
                raise


def launch(config_or_function: Mapping[str, Any] | Callable[..., Any], num_processes: int = 2, *,
           data: Any = None, args: Sequence[Any] = (), callbacks: Sequence[Any] = (), progress: bool = True,
           on_step: Callable[[str, Any], None] | None = None) -> Any:
    """Train in `num_processes` processes from a notebook (``accelerate.notebook_launcher``).

    With a ``%%ktrain`` config (a dict; `data` as in `run_workflow`): each process runs its
    training steps (lr_find, fit), then the kernel gets the trained learner back and runs the rest
    (report, pictures, predictions, save) on it; returns the `Session`. With a function: each
    process calls ``function(*args)``, which builds a learner, trains it and returns it; returns
    the trained learner, back in the kernel. `callbacks` see the main process's events (a
    progress view); `progress` draws a bar when there are none.

    >>> clf = ktnb.launch({"data": "sst2", "max_train": 2000, "epochs": 1}, num_processes=2)   # doctest: +SKIP
    """
    from . import checks
    from .builders import load_learner
    from .callbacks import ProgressBar

    num_processes = checks.whole_number("num_processes", num_processes)
    config: dict[str, Any] | None = None
    if isinstance(config_or_function, Mapping):
        from .workflow import read_workflow_data, start_session

        if data is not None and hasattr(data, "train") and hasattr(data, "task"):  # a session's data, read already
            from .config import check_config

            config, text_data = check_config(dict(config_or_function)), data
        else:
            config, text_data = read_workflow_data(config_or_function, data)

        def job() -> Any:
            from .script import carry_on_or_train

            session = start_session({**config, "checkpoint_dir": str(folder)}, text_data, progress=False)
            carry_on_or_train(session, before, lambda name, result: None)
            return session.learner
    elif callable(config_or_function):
        function = config_or_function

        def job() -> Any:
            learner = function(*args)
            if not hasattr(learner, "history") or not hasattr(learner, "accelerator"):
                raise TrainingError(f"the launched function must return the learner it trained, not "
                                    f"{type(learner).__name__}")
            return learner
    else:
        raise TrainingError(f"launch takes a %%ktrain config (a dict) or a function that trains and returns a learner, "
                            f"not a {type(config_or_function).__name__}")
    _check_can_fork(args)
    folder = Path(config["checkpoint_dir"]).expanduser() if config and config.get("checkpoint_dir") \
        else Path(tempfile.mkdtemp(prefix="ktnb-launch-"))
    from .checkpoints import prior_run

    # a run there already: the same job's unfinished run goes on, its finished one is replaced
    # (the cell trained in the kernel first), another job's is refused (see script.carry_on_or_train)
    before = prior_run(folder)
    temporary = not (config and config.get("checkpoint_dir"))
    folder.mkdir(parents=True, exist_ok=True)
    listeners = list(callbacks) or ([ProgressBar()] if progress else [])
    outcome = _run_processes(job, folder, num_processes, listeners, str(config["device"]) if config else "auto")
    learner = load_learner(folder, data=outcome.get("data") or (text_data if config else None), progress=False,
                           _call="ktnb.launch")
    learner.lr_finder_result = outcome.get("lr_finder")
    learner.stop_reason = outcome.get("stop_reason")
    if temporary:  # the learner is back whole: the folder that carried it is not kept
        import shutil

        learner.checkpoint_dir = None
        shutil.rmtree(folder, ignore_errors=True)
    if config is None:
        return learner
    from .workflow import Session, _skip_the_rest, finish_session

    session = Session(config, learner.data, learner, lr_finder=outcome.get("lr_finder"))
    step = on_step or (lambda name, result: None)
    step("session", session)
    if session.lr_finder is not None:
        step("lr_find", session.lr_finder)
    if learner.stop_reason == "interrupted":
        return _skip_the_rest(session, "training was interrupted (its weights are restored)", step)
    return finish_session(session, step)


def _run_processes(job: Callable[[], Any], folder: Path, count: int, listeners: Sequence[Any], device: str) \
        -> dict[str, Any]:
    """notebook_launcher on a background thread (its signal handlers would otherwise replace the
    kernel's interrupt), with the events shown in this thread. Returns the handback message."""
    import multiprocessing

    from accelerate import notebook_launcher
    from accelerate.state import AcceleratorState

    context = multiprocessing.get_context("fork")
    events, stop = context.Queue(), context.Event()
    threads = max(1, (os.cpu_count() or 1) // count)
    tokenizers = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # the tokenizers' threads do not survive a fork
    # the kernel's learners made accelerate's state; the launcher refuses to start while it
    # exists. It is put back if the launch fails, so that those learners still work.
    kept = _accelerate_state()
    AcceleratorState._reset_state(reset_partial_state=True)
    failure: list[BaseException] = []
    done = threading.Event()
    launched_pids: list[int] = []  # the processes', as they say them (none when run in the kernel)
    notes = Path(tempfile.mkdtemp(prefix="ktnb-launch-errors-"))  # each failed process's one line

    def run() -> None:
        try:
            notebook_launcher(_worker, args=(job, folder, notes, events, stop, threads, device, os.getpid()),
                              num_processes=count,
                              use_port=str(_free_port()))
        except BaseException as err:  # noqa: BLE001 - told in the kernel's thread
            failure.append(err)
        finally:
            done.set()

    thread = threading.Thread(target=run, name="ktnb-launch", daemon=True)
    thread.start()
    try:
        try:
            handback = _show_events(events, listeners, done, stop, launched_pids)
        except KeyboardInterrupt:
            thread.join(timeout=60)
            if not launched_pids:  # the launcher ran the training in the kernel itself (one device)
                raise TrainingError("interrupted twice: stopped waiting for the training, which goes on in the "
                                    "background until its next batch sees the stop") from None
            raise TrainingError("interrupted twice: the processes were ended (SIGTERM); the last checkpoint is in "
                                f"{folder}") from None
        thread.join()
        if failure:
            raise _failure(failure[0], notes, count, folder) from None
    except BaseException:
        _accelerate_state(kept)
        raise
    finally:
        import shutil

        shutil.rmtree(notes, ignore_errors=True)
        if tokenizers is None:
            os.environ.pop("TOKENIZERS_PARALLELISM", None)
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = tokenizers
    return handback


def _accelerate_state(saved: tuple[dict, ...] | None = None) -> tuple[dict, ...]:
    """accelerate's process-wide state (what every accelerator of the kernel reads), copied; or,
    given such a copy, put back."""
    from accelerate.state import AcceleratorState, GradientState, PartialState

    kinds = (PartialState, AcceleratorState, GradientState)
    if saved is not None:
        for kind, state in zip(kinds, saved):
            kind._shared_state.clear()
            kind._shared_state.update(state)
        return saved
    return tuple(dict(kind._shared_state) for kind in kinds)


__all__ = ["launch"]
