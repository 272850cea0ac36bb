"""matplotlib figures built with the object API (`Figure`, not pyplot), so making one never
opens a window or prints into a notebook; the caller decides how to show or save it."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
            from matplotlib.ticker import LogFormatter, LogFormatterMathtext

            # log axes label their ticks in math mode ("$10^{-4}$"), shown raw once math is off:
            # give them matplotlib's plain log labels ("1e-04") instead
            for axis in (axis for ax in self.axes for axis in (ax.xaxis, ax.yaxis)):
                for formatter, setter in ((axis.get_major_formatter(), axis.set_major_formatter),
                                          (axis.get_minor_formatter(), axis.set_minor_formatter)):
                    if isinstance(formatter, LogFormatterMathtext):
                        setter(LogFormatter(base=getattr(formatter, "_base", 10.0), labelOnlyBase=formatter.labelOnlyBase))
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
    size = min(1.6 + 0.7 * len(class_names), 8.0)  # many classes: smaller cells, not a wider figure
    fig = _figure(size + 1.2, size)
    fontsize = 10 if len(class_names) <= 10 else max(5, 10 - (len(class_names) - 10) // 4)
    ax = fig.add_subplot()
    image = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, labels=list(class_names), rotation=45 if len(class_names) > 4 else 0, ha="right"
                  if len(class_names) > 4 else "center", fontsize=fontsize)
    ax.set_yticks(ticks, labels=list(class_names), fontsize=fontsize)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix" + (" (row-normalised)" if normalize else ""))
    threshold = shown.max() / 2 if shown.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                    color="white" if shown[i, j] > threshold else "black")
    return fig


def scatter_figure(y_true: Sequence[float], y_pred: Sequence[float], target: str = "value",
                   title: str = "") -> Figure:
    """Predicted against true values, with the line where they are equal."""
    true, pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    fig = _figure(5, 4.6)
    ax = fig.add_subplot()
    ax.scatter(true, pred, s=10, alpha=0.5, color="tab:blue", edgecolors="none")
    if len(true):
        low, high = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
        ax.plot([low, high], [low, high], color="tab:gray", linewidth=1, linestyle="--", label="predicted = true")
        ax.legend(loc="upper left", fontsize=8)
    ax.set_xlabel(f"true {target}")
    ax.set_ylabel(f"predicted {target}")
    ax.set_title("predicted against true" + (f" ({title})" if title else ""))
    return fig


def bars_figure(names: Sequence[str], values: Sequence[float], supports: Sequence[int], xlabel: str,
                title: str) -> Figure:
    """One horizontal bar per name (a value in [0, 1]), its support written beside it."""
    fig = _figure(6, 1.2 + 0.26 * len(names))
    ax = fig.add_subplot()
    positions = np.arange(len(names))
    ax.barh(positions, values, color="tab:blue")
    ax.set_yticks(positions, labels=list(names), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    for y, (value, support) in enumerate(zip(values, supports)):
        ax.text(min(value, 1.0) + 0.01, y, f"n={support}", va="center", fontsize=7, color="tab:gray")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return fig


def entities_figure(text: str, spans: Sequence[tuple[str, int, int]], colours: dict[str, str]) -> Figure:
    """The text (wrapped at 90 characters), then each entity on its own line, boxed in its type's colour."""
    import textwrap

    lines = textwrap.wrap(text, 90) or [""]
    rows = len(lines) + len(spans)
    fig = _figure(8, 0.4 + 0.32 * rows)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_ylim(rows + 0.2, 0)
    for row, line in enumerate(lines):
        ax.text(0, row + 0.7, line, family="monospace", fontsize=10)
    for row, (kind, start, end) in enumerate(sorted(spans, key=lambda s: s[1]), len(lines)):
        ax.text(0.02, row + 0.8, f"{kind}", fontsize=9, weight="bold",
                bbox={"facecolor": colours.get(kind, "#ddd"), "edgecolor": "none", "pad": 2})
        ax.text(0.12, row + 0.8, text[start:end], family="monospace", fontsize=10)
    return fig


def lr_finder_figure(lrs: Sequence[float], losses: Sequence[float], suggestions: dict[str, float],
                     chosen: str | None = None) -> Figure:
    """Smoothed loss against learning rate (log scale) with the suggestions marked; the one
    returned (`chosen`) large, with a line and its value in the title."""
    fig = _figure(6, 4)
    ax = fig.add_subplot()
    ax.plot(lrs, losses, color="tab:blue", marker=".", markersize=3, linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss (smoothed)")
    ax.set_title("learning-rate finder" + (f": suggestion {suggestions[chosen]:.1e} ({chosen})" if chosen else ""))
    markers = {"valley": ("o", "tab:red"), "steepest": ("v", "tab:green"), "minimum": ("s", "tab:orange")}
    for name, lr in suggestions.items():
        marker, color = markers.get(name, ("D", "tab:purple"))
        loss = float(np.interp(np.log(lr), np.log(lrs), losses))
        big = name == chosen
        ax.plot([lr], [loss], marker=marker, color=color, linestyle="none", markersize=12 if big else 6,
                markeredgecolor="black" if big else color, zorder=3 if big else 2,
                label=f"{name}: {lr:.1e}" + ("  (suggested)" if big else ""))
        if big:
            ax.axvline(lr, color=color, linestyle=":", linewidth=1)
    ax.legend(loc="best", fontsize=8)
    return fig


def _mark_runs(ax: Any, positions: Sequence[tuple[int, float | None]]) -> None:
    """A dashed line and "run N" where each run after the first begins."""
    for run, position in positions:
        if run > 1 and position is not None:
            ax.axvline(position, color="gray", linestyle="--", linewidth=0.8)
            ax.annotate(f"run {run}", (position, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                        textcoords="offset points", fontsize=8, color="gray")


def history_figure(steps: Sequence[dict[str, Any]], epochs: Sequence[dict[str, Any]],
                   run_starts: Sequence[tuple[int, int | None, int | None]] = ()) -> Figure:
    """Training loss per step (left) and the per-epoch losses and validation metrics (right,
    whole-number epochs), each run's start marked. Rows are a `History`'s plain dicts."""
    from matplotlib.ticker import MaxNLocator

    fig = _figure(10, 3.6)
    left, right = fig.subplots(1, 2)
    step_numbers = [row["step"] for row in steps]
    losses = [row["loss"] for row in steps]
    left.plot(step_numbers, losses, color="tab:blue", alpha=0.35, label="batch loss")
    if len(losses) >= 5:
        window = max(1, len(losses) // 20)
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        left.plot(step_numbers[window - 1:], smooth, color="tab:blue", label="smoothed")
    left.set_xlabel("step")
    left.set_ylabel("training loss")
    left.legend(loc="upper right", fontsize=8)
    _mark_runs(left, [(run, step) for run, step, _ in run_starts])
    numbers = [row["epoch"] for row in epochs]
    loss_keys = [k for k in ("train_loss", "val_loss") if any(k in row for row in epochs)]
    metric_keys = [k for k in (epochs[0] if epochs else {}) if k.startswith("val_") and k != "val_loss"
                   and all(isinstance(row.get(k), float) for row in epochs)]
    for key, color in zip(loss_keys, ("tab:blue", "tab:red")):
        right.plot(numbers, [row.get(key, np.nan) for row in epochs], marker="o", color=color, label=key)
    right.set_xlabel("epoch")
    right.set_ylabel("loss")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    if metric_keys:
        other = right.twinx()
        for key, color in zip(metric_keys, ("tab:green", "tab:purple", "tab:orange", "tab:brown")):
            other.plot(numbers, [row[key] for row in epochs], marker="s", color=color, label=key)
        other.set_ylabel("validation metric")
        handles = right.get_legend_handles_labels()[0] + other.get_legend_handles_labels()[0]
        right.legend(handles, [h.get_label() for h in handles], loc="best", fontsize=8)
    elif right.lines:
        right.legend(loc="best", fontsize=8)
    if not epochs:
        right.set_yticks([])
        right.set_xticks([])
        right.text(0.5, 0.5, "losses and validation metrics\nappear after each epoch", ha="center", va="center",
                   transform=right.transAxes, color="gray")
    _mark_runs(right, [(run, epoch - 0.5 if epoch is not None else None) for run, _, epoch in run_starts])
    return fig


def figure_png(fig: Any, dpi: int = 100) -> bytes:
    """PNG bytes of a figure (what notebooks embed, and what survives an untrusted notebook)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
