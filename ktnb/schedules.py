"""Learning-rate schedules: functions from the fraction of training done (0..1) to an lr.

>>> sched = make_schedule("linear", 1e-3, warmup=0.1)
>>> round(sched(0.05), 6), round(sched(0.1), 6), round(sched(1.0), 6)
(0.0005, 0.001, 0.0)
"""

from __future__ import annotations

import math
from typing import Callable

from .checks import plain
from .errors import TrainingError

Schedule = Callable[[float], float]
SCHEDULES = ("onecycle", "linear", "cosine", "constant")


def _cos_between(start: float, end: float, pct: float) -> float:
    return end + (start - end) * (1 + math.cos(math.pi * pct)) / 2


def onecycle(lr: float, pct_start: float = 0.25, div: float = 25.0, div_final: float = 1e4) -> Schedule:
    """Leslie Smith's one cycle, in fastai's form: cosine up from lr/div to lr over the first
    `pct_start`, then cosine down to lr/div_final."""

    def at(pct: float) -> float:
        if pct < pct_start:
            return _cos_between(lr / div, lr, pct / pct_start)
        return _cos_between(lr, lr / div_final, (pct - pct_start) / (1 - pct_start))

    return at


def _warm(lr: float, warmup: float, after: Callable[[float], float]) -> Schedule:
    def at(pct: float) -> float:
        if warmup > 0 and pct < warmup:
            return lr * pct / warmup
        rest = (pct - warmup) / (1 - warmup) if warmup < 1 else 1.0
        return after(min(max(rest, 0.0), 1.0))

    return at


def make_schedule(name: str, lr: float, warmup: float | None = None) -> Schedule:
    """The schedule called `name` peaking at `lr`. `warmup` is the fraction of training spent
    ramping up linearly (default 0.1 for linear and cosine, 0 for constant; onecycle has its
    own warm-up)."""
    if lr <= 0 or not math.isfinite(lr):
        raise TrainingError(f"lr must be a positive number, got {lr}")
    warmup = plain(warmup)
    if warmup is not None and (isinstance(warmup, bool) or not isinstance(warmup, (int, float))
                               or not 0 <= warmup < 1):
        raise TrainingError(f"warmup is the fraction of training spent warming up, in [0, 1), got {warmup!r}")
    if name == "onecycle":
        return onecycle(lr, pct_start=warmup if warmup else 0.25)
    if name == "linear":
        return _warm(lr, 0.1 if warmup is None else warmup, lambda p: lr * (1 - p))
    if name == "cosine":
        return _warm(lr, 0.1 if warmup is None else warmup, lambda p: _cos_between(lr, 0.0, p))
    if name == "constant":
        return _warm(lr, warmup or 0.0, lambda p: lr)
    raise TrainingError(f"unknown schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
