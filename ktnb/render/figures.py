"""matplotlib figures built with the object API (`Figure`, not pyplot), so making one never
opens a window or prints into a notebook; the caller decides how to show or save it."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..events import History
    from ..lr_finder import LRFinderResult


@functools.cache
def _figure_class() -> type:
    from matplotlib.figure import Figure

    class PngFigure(Figure):
        """A Figure that shows itself as a PNG in notebooks whatever the matplotlib backend
        (a plain Figure made without pyplot has no notebook display of its own), and draws all
        text literally: class names and sentences are user text, and "$" in one ("$$$" as a
        price level) must not start matplotlib's math mode."""

        def _repr_png_(self) -> bytes:
            return figure_png(self)

        def draw(self, renderer: Any) -> None:
            import matplotlib
            from matplotlib.text import Text

            with matplotlib.rc_context({"text.parse_math": False}):  # for tick labels made while drawing
                for text in self.findobj(Text):
                    text.set_parse_math(False)
                super().draw(renderer)

    return PngFigure


def _figure(width: float, height: float) -> Figure:
    return _figure_class()(figsize=(width, height), dpi=100, layout="constrained")


def confusion_figure(confusion: np.ndarray, class_names: Sequence[str], normalize: bool = False) -> Figure:
    """Heatmap of the confusion matrix: rows true, columns predicted, counts written in."""
    cm = np.asarray(confusion, dtype=float)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    size = 1.6 + 0.7 * len(class_names)
    fig = _figure(size + 1.2, size)
    ax = fig.add_subplot()
    image = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, labels=list(class_names), rotation=45 if len(class_names) > 4 else 0, ha="right"
                  if len(class_names) > 4 else "center")
    ax.set_yticks(ticks, labels=list(class_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix" + (" (row-normalised)" if normalize else ""))
    threshold = shown.max() / 2 if shown.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center", color="white" if shown[i, j] > threshold else "black")
    return fig


def lr_finder_figure(result: LRFinderResult) -> Figure:
    """Smoothed loss against learning rate (log scale) with the suggestions marked."""
    fig = _figure(6, 4)
    ax = fig.add_subplot()
    ax.plot(result.lrs, result.losses, color="tab:blue")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss (smoothed)")
    ax.set_title("learning-rate finder")
    markers = {"valley": ("o", "tab:red"), "steepest": ("v", "tab:green"), "minimum": ("s", "tab:orange")}
    for name, lr in result.suggestions.items():
        marker, color = markers.get(name, ("x", "black"))
        loss = float(np.interp(np.log(lr), np.log(result.lrs), result.losses))
        ax.plot([lr], [loss], marker=marker, color=color, linestyle="none", markersize=8, label=f"{name}: {lr:.2e}")
    ax.legend(loc="best")
    return fig


def history_figure(history: History) -> Figure:
    """Training loss per step (left) and validation metrics per epoch (right)."""
    fig = _figure(10, 3.6)
    left, right = fig.subplots(1, 2)
    steps, losses = history["step"], history["loss"]
    left.plot(steps, losses, color="tab:blue", alpha=0.35, label="batch loss")
    if len(losses) >= 5:
        window = max(1, len(losses) // 20)
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        left.plot(steps[window - 1:], smooth, color="tab:blue", label="smoothed")
    left.set_xlabel("step")
    left.set_ylabel("training loss")
    left.legend(loc="best")
    epochs = [row["epoch"] + 1 for row in history.epochs]
    for key, color in (("train_loss", "tab:blue"), ("val_loss", "tab:red"), ("val_accuracy", "tab:green")):
        values = history[key]
        if values and len(values) == len(epochs):
            right.plot(epochs, values, marker="o", color=color, label=key)
    right.set_xlabel("epoch")
    if right.lines:
        right.legend(loc="best")
    return fig


def figure_png(fig: Any, dpi: int = 100) -> bytes:
    """PNG bytes of a figure (what notebooks embed, and what survives an untrusted notebook)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
