"""What each view costs training: the same fit with and without each listener, in one process.

SST-2, the first 2,000 rows, the default MiniLM, 1 epoch (with validation on the dev set), batch
32, its defaults otherwise. Views: none; the tqdm bar (`progress=True`, what plain Python shows);
the `%%ktrain` cell's progress block (`NotebookProgress`); the widget panel's listener. Outside a
kernel nothing would be sent, so the bench sends as a kernel does: every widget update and
every display update is serialised to JSON (what ipykernel does before signing and sending it).

Three figures per view: the fit's wall time and the process's CPU time against the fit without
views (rounds alternate the order; medians of the rounds), and the time spent inside the view's
listener as a share of the fit: what the view takes from the training thread, free of the
run-to-run noise of a shared machine (which here is larger than the 3% to be measured).

    python bench/ui_overhead.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import ktnb

SENT = {"messages": 0, "bytes": 0}


def _send(data: Any) -> None:
    text = json.dumps(data, default=str)
    SENT["messages"] += 1
    SENT["bytes"] += len(text)


def serialise_like_a_kernel() -> None:
    """Widgets and display handles that serialise every update, as ipykernel would send it."""
    import comm
    from comm.base_comm import BaseComm

    import ktnb.jupyter.progress as progress

    class SerialisingComm(BaseComm):
        def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None,
                        **keys: Any) -> None:
            _send({"msg_type": msg_type, "data": data, "metadata": metadata,
                   "buffers": [len(b) for b in buffers or ()]})

    comm.create_comm = lambda *args, **kwargs: SerialisingComm(*args, **kwargs)

    class Handle:
        def update(self, obj: Any) -> None:
            _send({"data": {"text/html": obj.data}})

    def display(obj: Any, display_id: bool = False) -> Handle:
        _send({"data": {"text/html": obj.data}})
        return Handle()

    progress.display = display


class Timed:
    """A listener wrapped so that the time spent inside it is counted."""

    def __init__(self, listener: Callable[[Any], Any]):
        self.listener, self.seconds = listener, 0.0
        self.order = getattr(listener, "order", 50)

    def __call__(self, event: Any) -> None:
        started = time.perf_counter()
        self.listener(event)
        self.seconds += time.perf_counter() - started


def make_view(name: str, learner: Any) -> list[Timed]:
    if name == "none":
        return []
    if name == "tqdm bar":
        from ktnb.callbacks import ProgressBar

        return [Timed(ProgressBar())]
    if name == "%%ktrain progress":
        from ktnb.jupyter.progress import NotebookProgress

        return [Timed(NotebookProgress())]
    from ktnb.jupyter.panel import Panel

    panel = Panel(learner=learner)
    panel._new_views()
    return [Timed(panel._on_event)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("KTNB_DATA_DIR", "../shared/data")))
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    serialise_like_a_kernel()
    data = ktnb.load_dataset("sst2", args.data_dir, max_train=args.max_train)
    views = ["none", "tqdm bar", "%%ktrain progress", "panel"]
    learner = ktnb.text_classifier(data, batch_size=32, progress=False, seed=0)
    start = {k: v.clone() for k, v in learner.model.state_dict().items()}
    learner.fit(1e-4, 1)  # first-use costs of every kernel and shape out of the way
    times: dict[str, list[float]] = {name: [] for name in views}
    inside: dict[str, list[float]] = {name: [] for name in views}
    cpu_times: dict[str, list[float]] = {name: [] for name in views}
    sent: dict[str, int] = {}
    for round_ in range(args.rounds):
        for name in views if round_ % 2 == 0 else views[::-1]:
            learner.model.load_state_dict(start)
            learner.reset_optimizer()
            listeners = make_view(name, learner)
            before = SENT["bytes"]
            started, cpu = time.perf_counter(), time.process_time()
            learner.fit(1e-4, 1, callbacks=listeners)
            seconds = time.perf_counter() - started
            times[name].append(seconds)
            cpu_times[name].append(time.process_time() - cpu)
            inside[name].append(sum(t.seconds for t in listeners) / seconds)
            sent[name] = SENT["bytes"] - before
            print(f"round {round_ + 1}: {name}: {seconds:.2f} s, {100 * inside[name][-1]:.2f}% inside the view",
                  flush=True)
    base, cpu_base = statistics.median(times["none"]), statistics.median(cpu_times["none"])
    print(f"\nSST-2 first {len(data.train)} rows, 1 epoch + validation, {learner.mixed_precision}, "
          f"median of {args.rounds} rounds (order alternated)")
    print("| view | fit s (each round) | wall time vs no view | CPU time vs no view | time inside the view | "
          "sent per fit |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in views:
        rounds = " / ".join(f"{t:.2f}" for t in times[name])
        ratio = statistics.median(times[name]) / base
        share = statistics.median(inside[name])
        cpu_ratio = statistics.median(cpu_times[name]) / cpu_base
        print(f"| {name} | {rounds} | {ratio:.3f}x | {cpu_ratio:.3f}x | {100 * share:.2f}% | "
              f"{sent.get(name, 0) / 1024:.0f} KiB |")


if __name__ == "__main__":
    main()
