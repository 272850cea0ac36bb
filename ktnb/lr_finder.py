"""What the learning-rate finder measured, and the learning rates it suggests.

The sweep itself is `Learner.lr_find`: it trains on a bounded number of batches while the
learning rate grows exponentially, records an exponentially smoothed loss, and stops once the
loss diverges. This module turns that curve into suggestions.

>>> lrs = list(np.logspace(-6, 0, 60))
>>> losses = [1.0 if lr < 1e-4 else 1.0 - 0.5 * (np.log10(lr) + 4) / 3 for lr in lrs]
>>> result = LRFinderResult(lrs, losses, losses)
>>> 1e-4 < result.suggestions["valley"] < 1e-1
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class LossSmoother:
    """Exponential moving average with bias correction (as in fastai and Smith's paper), fed
    one loss at a time."""

    def __init__(self, beta: float = 0.98):
        self.beta, self.avg, self.count = beta, 0.0, 0

    def add(self, loss: float) -> float:
        self.count += 1
        self.avg = self.beta * self.avg + (1 - self.beta) * loss
        return self.avg / (1 - self.beta**self.count)


def smooth_losses(raw: list[float], beta: float = 0.98) -> list[float]:
    smoother = LossSmoother(beta)
    return [smoother.add(loss) for loss in raw]


def suggest(lrs: list[float], losses: list[float]) -> dict[str, float]:
    """Three readings of the curve.

    - ``minimum``: a tenth of the lr at the lowest loss (the classic rule of thumb);
    - ``steepest``: where the loss falls fastest against log(lr);
    - ``valley``: half-way (in log lr) down the slope that ends at the lowest loss; usually
      the safest pick, and the default.
    """
    lr = np.asarray(lrs, dtype=float)
    loss = np.asarray(losses, dtype=float)
    finite = np.isfinite(loss)
    lr, loss = lr[finite], loss[finite]
    if len(loss) < 3:
        return {}
    low = int(np.argmin(loss))
    out = {"minimum": float(lr[low] / 10)}
    slope = np.gradient(loss[: low + 1], np.log(lr[: low + 1])) if low >= 2 else np.array([0.0])
    out["steepest"] = float(lr[int(np.argmin(slope))])
    top = float(loss[: low + 1].max())
    drop = top - loss[low]
    start = int(np.flatnonzero(loss[: low + 1] >= loss[low] + 0.9 * drop)[-1]) if drop > 0 else 0
    out["valley"] = float(lr[(start + low) // 2])
    return out


@dataclass
class LRFinderResult:
    """Learning rates tried, smoothed and raw losses, and `suggestions` (see `suggest`)."""

    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    diverged: bool = False
    seconds: float = 0.0
    suggestions: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        self.suggestions = suggest(self.lrs, self.losses)

    @property
    def suggestion(self) -> float:
        """The default pick (valley), or the minimum rule when the curve has no valley."""
        for key in ("valley", "minimum"):
            if key in self.suggestions:
                return self.suggestions[key]
        from .errors import TrainingError

        raise TrainingError(f"the LR finder recorded only {len(self.lrs)} learning rates with a finite loss, too "
                            "few to suggest one; run it with a lower start_lr or on more batches")

    def plot(self) -> Any:
        """The curve with the suggestions marked (matplotlib Figure)."""
        from .render.figures import lr_finder_figure

        return lr_finder_figure(self)

    def _repr_png_(self) -> bytes:
        from .render.figures import figure_png

        return figure_png(self.plot())

    def __repr__(self) -> str:
        tips = ", ".join(f"{k}={v:.2e}" for k, v in self.suggestions.items())
        return f"LRFinderResult({len(self.lrs)} lrs, suggestions: {tips})"
