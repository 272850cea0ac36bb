"""A one-file HTML training report: settings, metrics table, confusion matrix, LR curve and
training curves as embedded PNGs. No scripts and no external URLs, so it opens anywhere."""

from __future__ import annotations

import base64
from html import escape
from typing import TYPE_CHECKING, Any, Sequence

from .figures import figure_png
from .html import table_html

if TYPE_CHECKING:
    from ..learner import Learner
    from ..lr_finder import LRFinderResult
    from ..metrics import ClassificationReport


def png_img(fig: Any, alt: str) -> str:
    data = base64.b64encode(figure_png(fig)).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}"/>'


def training_report_html(learner: Learner, report: ClassificationReport, lr_result: LRFinderResult | None = None,
                         predictions: Sequence[tuple[str, str, float]] = (), title: str = "ktnb training report") -> str:
    """The whole run on one page; `predictions` are (text, label, probability) rows."""
    settings = [("model", getattr(learner, "checkpoint", type(learner.model).__name__)),
                ("classes", ", ".join(learner.class_names)), ("train / val", f"{len(learner.train_ds)} / "
                f"{len(learner.val_ds) if learner.val_ds else 0}"), ("max_len", learner.max_len),
                ("batch_size", learner.batch_size), ("device", str(learner.device)),
                ("mixed_precision", learner.mixed_precision)]
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>",
             "<body style='font-family:sans-serif;max-width:1100px;margin:auto'>", f"<h1>{escape(title)}</h1>",
             table_html(("setting", "value"), settings, "settings"), "<h2>Evaluation</h2>", report._repr_html_(),
             png_img(report.plot_confusion(), "confusion matrix")]
    if learner.history.epochs:
        parts += ["<h2>Training</h2>", table_html(list(learner.history.epochs[0]),
                                                  [list(row.values()) for row in learner.history.epochs]),
                  png_img(learner.history.plot(), "training curves")]
    if lr_result is not None and lr_result.lrs:
        parts += ["<h2>Learning-rate finder</h2>", png_img(lr_result.plot(), "learning-rate finder")]
    if predictions:
        parts += ["<h2>Predictions</h2>", table_html(("text", "label", "probability"), predictions)]
    parts.append("</body></html>")
    return "\n".join(parts)
