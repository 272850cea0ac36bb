"""What the learning-rate finder measured, and the learning rates it suggests.

The sweep itself is `Learner.lr_find`: it trains on a bounded number of batches while the
learning rate grows exponentially, records an exponentially smoothed loss, and stops once the
loss diverges. This module turns that curve into suggestions.

The suggestion (``fine_tune``) is not read off the curve alone. On a pretrained transformer the
loss barely moves during the sweep, and batch-to-batch noise places the curve's landmarks:
measured with MiniLM on SST-2 over 500/2,000 rows, batch 16/32 and 3 seeds, the valley reading
moved by a factor of 60 between runs, steepest and minimum/10 by 9, while the rates that
trained best sat in windows only 2-3x wide; and those windows moved with the length of
training, not with the curve: about 1e-4 for 126-250 optimizer steps, 2e-4 for 64, 3e-4 for
32 (bench/RESULTS.md). So the suggestion is
what is known to work for fine-tuning transformers, scaled to the run: a base rate that falls
with the model's width (1e-4 at MiniLM's 384, 5e-5 at BERT-base's 768), raised when training
is shorter than 100 optimizer steps so that rate x steps stays at 100 x base (at most 5x),
and never above a tenth of the rate where this curve's loss doubled. The classic readings of
the curve (valley, steepest, minimum) are still computed and drawn.

>>> lrs = list(np.logspace(-6, 0, 60))
>>> losses = [1.0 if lr < 1e-4 else 1.0 - 0.5 * (np.log10(lr) + 4) / 3 for lr in lrs]
>>> result = LRFinderResult(lrs, losses, losses)
>>> 1e-4 < result.suggestions["valley"] < 1e-1
True
>>> tuned = LRFinderResult(lrs, losses, losses, base_lr=1e-4, steps_per_epoch=16, epochs=2)
>>> tuned.suggested_by, f"{tuned.suggestion:.1e}", f"{tuned.suggestion_for(epochs=8):.1e}"
('fine_tune', '3.1e-04', '1.0e-04')
"""

from __future__ import annotations

from dataclasses import dataclass
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


#: a 384-wide encoder (MiniLM) fine-tunes at 1e-4; wider ones at proportionally less (Adam's
#: updates to a width-w matrix grow with w), e.g. 5e-5 for BERT-base and DistilBERT (768)
BASE_LR, BASE_WIDTH = 1e-4, 384
MIN_STEPS = 100  # shorter runs get a higher rate, so that rate x steps stays at MIN_STEPS x base
MAX_BOOST = 5.0  # ... but at most this many times the base rate
BLOWUP_MARGIN = 10.0  # never suggest above a tenth of the rate at which the loss doubled


def base_rate(width: int | None) -> float | None:
    """The fine-tuning learning rate known to work for a transformer of this hidden width, for
    a run of at least `MIN_STEPS` optimizer steps; None when the width is unknown."""
    return BASE_LR * BASE_WIDTH / width if width else None


def blowup_lr(lrs: list[float], raw_losses: list[float], sigma: float = 0.2) -> float | None:
    """The first learning rate at which the loss, smoothed over `sigma` decades on both sides
    (no lag, unlike the running average), reaches twice its starting level; None if it never
    did in this sweep."""
    lr = np.asarray(lrs, dtype=float)
    raw = np.asarray(raw_losses, dtype=float)
    keep = np.isfinite(raw)
    if keep.sum() < 10:
        return None
    lr, raw = lr[keep], raw[keep]
    x = np.log10(lr)
    weights = np.exp(-0.5 * ((x[:, None] - x[None, :]) / sigma) ** 2)
    smooth = weights @ raw / weights.sum(axis=1)
    above = np.flatnonzero(smooth >= 2 * np.median(raw[:10]))
    return float(lr[above[0]]) if len(above) else None


def fine_tune_rate(base: float, steps: int, blowup: float | None = None) -> float:
    """The base rate, raised for runs shorter than `MIN_STEPS`, kept below the blow-up."""
    rate = base * min(max(MIN_STEPS / max(steps, 1), 1.0), MAX_BOOST)
    return min(rate, blowup / BLOWUP_MARGIN) if blowup is not None else rate


@dataclass
class LRFinderResult:
    """Learning rates tried, smoothed and raw losses, and `suggestions` (see `suggest`, and the
    module's notes for ``fine_tune``, which needs the model's `base_lr` and the length of the
    planned run: `steps_per_epoch` optimizer steps, for `epochs`)."""

    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    diverged: bool = False
    seconds: float = 0.0
    base_lr: float | None = None
    steps_per_epoch: int | None = None
    epochs: int = 1

    def __post_init__(self) -> None:
        self._readings = suggest(self.lrs, self.losses)
        self.blowup = blowup_lr(self.lrs, self.raw_losses)

    #: the readings tried in order for `suggestion`; the first the curve has is the one returned
    PREFERENCE = ("fine_tune", "valley", "minimum")

    def suggestion_for(self, epochs: int) -> float:
        """The suggestion for a run of `epochs` epochs (the same curve, another length)."""
        if self.base_lr is None or not self.steps_per_epoch:
            return self.suggestion
        return fine_tune_rate(self.base_lr, epochs * self.steps_per_epoch, self.blowup)

    @property
    def suggestions(self) -> dict[str, float]:
        """Every reading: ``fine_tune`` (for `epochs`) when the base rate is known, and the
        curve's own valley, steepest and minimum."""
        out = dict(self._readings)
        if self.base_lr is not None and self.steps_per_epoch:
            out = {"fine_tune": fine_tune_rate(self.base_lr, self.epochs * self.steps_per_epoch, self.blowup), **out}
        return out

    @property
    def suggested_by(self) -> str:
        """The name of the reading `suggestion` returns."""
        for key in self.PREFERENCE:
            if key in self.suggestions:
                return key
        from .errors import TrainingError

        raise TrainingError(f"the LR finder recorded only {len(self.lrs)} learning rates with a finite loss, too "
                            "few to suggest one; run it with a lower start_lr or on more batches")

    @property
    def suggestion(self) -> float:
        """The learning rate to train with: the `suggested_by` reading."""
        return self.suggestions[self.suggested_by]

    def plot(self) -> Any:
        """The curve with the suggestions marked (matplotlib Figure)."""
        from .render.figures import lr_finder_figure

        chosen = self.suggested_by if self.suggestions else None
        return lr_finder_figure(self.lrs, self.losses, self.suggestions, chosen)

    def _repr_png_(self) -> bytes:
        from .render.figures import figure_png

        return figure_png(self.plot())

    def __repr__(self) -> str:
        tips = ", ".join(f"{k}={v:.2e}" for k, v in self.suggestions.items())
        return f"LRFinderResult({len(self.lrs)} lrs, suggestions: {tips})"
