"""Which process this is when several train one model (``torchrun``, ``accelerate launch``,
`ktnb.launch`), and the two things the others must do alike: let one process write a file
while the others wait, and hand every process every process's value.

They read ``torch.distributed`` itself, so a predictor saved in a script's processes, which has
no accelerator, is written once too. In one process they cost nothing.

>>> process_count(), is_main_process()
(1, True)
>>> on_main_process(lambda: "written")
'written'
>>> gather_from_all({"rank": 0})
[{'rank': 0}]
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from .errors import KtnbError

T = TypeVar("T")


def _group_ready() -> bool:
    import sys

    if "torch.distributed" not in sys.modules:  # never imported: no process group either
        return False
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


#: what a process's error says when another process of the run died under it (gloo, NCCL) or
#: never came: the error is then not the cause
_PEER_LOST = ("closed by peer", "reset by peer", "remote worker", "communicator was aborted", "broken pipe",
              "connection refused", "timed out", "watchdog")


def peer_lost(error: BaseException | str) -> bool:
    """Whether `error` (or its text) is a process finding that another one of its run is gone.

    >>> peer_lost("[gloo/transport/tcp/pair.cc:553] Connection closed by peer [127.0.0.1]:13707")
    True
    """
    if not isinstance(error, str) and type(error).__name__ == "DistBackendError":
        return True
    text = str(error).lower()
    return any(marker in text for marker in _PEER_LOST)


def process_count() -> int:
    """How many processes train together (1 without a process group)."""
    if not _group_ready():
        return 1
    import torch.distributed as dist

    return dist.get_world_size()


def process_index() -> int:
    """This process's rank among them (0 alone)."""
    if not _group_ready():
        return 0
    import torch.distributed as dist

    return dist.get_rank()


def is_main_process() -> bool:
    """Whether this process is the one that writes files and draws progress."""
    return process_index() == 0


def from_main(value: Any) -> Any:
    """The main process's `value`, in every process (what one process decides for all)."""
    if process_count() == 1:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_from_all(value: Any) -> list[Any]:
    """Every process's `value` (picklable), in rank order, in every process."""
    if process_count() == 1:
        return [value]
    import io

    import torch
    import torch.distributed as dist

    # sent as torch.save's bytes: all_gather_object's own unpickling fails on tensors (torch 2.13)
    buffer = io.BytesIO()
    torch.save(value, buffer)
    values: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(values, buffer.getvalue())
    return [torch.load(io.BytesIO(blob), weights_only=False) for blob in values]


def on_main_process(write: Callable[[], T]) -> T | None:
    """Call `write` in the main process only, the others waiting until it is done; a failure
    there fails every process with its one line (rather than leaving them waiting). Returns what
    `write` returned in the main process, None in the others."""
    if process_count() == 1:
        return write()
    import torch.distributed as dist

    result, failure = None, [None]
    if is_main_process():
        try:
            result = write()
        except Exception as err:  # noqa: BLE001 - told to the others below, then raised here
            failure[0] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            dist.broadcast_object_list(failure, src=0)
            raise
    dist.broadcast_object_list(failure, src=0)
    if failure[0] is not None:
        raise KtnbError(f"the main process failed to write: {failure[0]}")
    return result


__all__ = ["peer_lost", "from_main", "process_count", "process_index", "is_main_process", "gather_from_all", "on_main_process"]
