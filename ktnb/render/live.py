"""The live training curve: points appended as batches end, drawn by the browser as a small SVG.

A matplotlib figure of the whole history, redrawn while training runs, costs the training
thread tens of milliseconds of held GIL per draw (the panel ran 18% slower so). This keeps a
bounded number of points (pairs are averaged once there are too many) and writes the SVG as text,
which takes well under a millisecond; the front end does the drawing. The full matplotlib picture
is drawn once, when training ends.

>>> curve = LiveCurve(max_points=4)
>>> for step, loss in enumerate([1.0, 0.8, 0.7, 0.6, 0.5, 0.45], 1):
...     curve.add(step, loss)
>>> len(curve.points) <= 4, curve.points[-1]
(True, (6.0, 0.45))
>>> "<polyline" in curve.svg()
True
"""

from __future__ import annotations

from html import escape
from typing import Sequence


class LiveCurve:
    """Training loss per step (smoothed), with each epoch's validation loss as a dot."""

    def __init__(self, max_points: int = 300, width: int = 560, height: int = 200):
        self.max_points, self.width, self.height = max_points, width, height
        self.points: list[tuple[float, float]] = []  # (step, loss), thinned
        self.epochs: list[tuple[float, float]] = []  # (step, validation loss)
        self._weights: list[int] = []  # how many raw points each kept point averages

    def add(self, step: float, loss: float) -> None:
        if loss != loss or loss in (float("inf"), float("-inf")):  # NaN or inf: nothing to draw
            return
        self.points.append((float(step), float(loss)))
        self._weights.append(1)
        if len(self.points) > self.max_points:
            self._thin()

    def add_epoch(self, step: float, val_loss: float | None) -> None:
        if val_loss is not None and val_loss == val_loss:
            self.epochs.append((float(step), float(val_loss)))

    def _thin(self) -> None:
        """Average neighbouring pairs (weighted by how many points each already stands for)."""
        points, weights = [], []
        for i in range(0, len(self.points) - 1, 2):
            (s1, l1), (s2, l2) = self.points[i], self.points[i + 1]
            w1, w2 = self._weights[i], self._weights[i + 1]
            points.append(((s1 * w1 + s2 * w2) / (w1 + w2), (l1 * w1 + l2 * w2) / (w1 + w2)))
            weights.append(w1 + w2)
        if len(self.points) % 2:
            points.append(self.points[-1])
            weights.append(self._weights[-1])
        self.points, self._weights = points, weights

    def svg(self, title: str = "training loss") -> str:
        return curve_svg(self.points, self.epochs, self.width, self.height, title)


def _ticks(low: float, high: float) -> list[float]:
    return [low + (high - low) * i / 2 for i in range(3)]


def curve_svg(points: Sequence[tuple[float, float]], dots: Sequence[tuple[float, float]] = (), width: int = 560,
              height: int = 200, title: str = "training loss") -> str:
    """An SVG line chart of `points` (step, value) with `dots` (step, value) on the same axes."""
    left, right, top, bottom = 48, 12, 22, 28
    everything = [*points, *dots]
    if not everything:
        return (f'<svg class="ktnb-live-curve" width="{width}" height="{height}"><text x="{left}" y="{top + 20}" '
                f'font-size="12" fill="gray">{escape(title)}: waiting for the first batch…</text></svg>')
    x_low, x_high = min(p[0] for p in everything), max(p[0] for p in everything)
    y_low, y_high = min(p[1] for p in everything), max(p[1] for p in everything)
    x_high, y_high = (x_high if x_high > x_low else x_low + 1), (y_high if y_high > y_low else y_low + 1e-3)

    def x(value: float) -> float:
        return left + (value - x_low) / (x_high - x_low) * (width - left - right)

    def y(value: float) -> float:
        return top + (y_high - value) / (y_high - y_low) * (height - top - bottom)

    parts = [f'<svg class="ktnb-live-curve" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="10"><text x="{left}" y="14" font-size="12">{escape(title)}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#999"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#999"/>']
    for value in _ticks(y_low, y_high):
        parts.append(f'<text x="{left - 4}" y="{y(value) + 3:.1f}" text-anchor="end" fill="#555">{value:.3g}</text>')
    for value in _ticks(x_low, x_high):
        parts.append(f'<text x="{x(value):.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                     f'fill="#555">{value:.0f}</text>')
    parts.append(f'<text x="{width - right}" y="{height - 4}" text-anchor="end" fill="#555">step</text>')
    if points:
        path = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>')
    for s, v in dots:
        parts.append(f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" r="3.5" fill="#d62728"><title>validation loss '
                     f'{v:.4f}</title></circle>')
    if dots:
        parts.append(f'<text x="{width - right}" y="14" text-anchor="end" fill="#d62728">● validation loss</text>')
    parts.append("</svg>")
    return "".join(parts)
