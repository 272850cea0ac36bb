"""A one-file HTML page: settings, a report, pictures as embedded PNGs, the epoch table and
predictions. No scripts and no external URLs, so it opens anywhere. Built from plain values
(strings, rows, figures): it knows nothing of learners or reports."""

from __future__ import annotations

import base64
from html import escape
from typing import Any, Sequence

from .figures import figure_png
from .html import epochs_html, table_html


def png_img(fig: Any, alt: str) -> str:
    data = base64.b64encode(figure_png(fig)).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}"/>'


def page_html(title: str, settings: Sequence[tuple[str, Any]], report: str, pictures: dict[str, Any],
              epochs: Sequence[dict[str, Any]] = (), training_pictures: dict[str, Any] | None = None,
              predictions: Sequence[Sequence[Any]] = (), prediction_header: Sequence[str] = ()) -> str:
    """The page. `report` is HTML made by ktnb (already escaped); `pictures` and
    `training_pictures` map a caption to a matplotlib figure."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>",
             "<body style='font-family:sans-serif;max-width:1100px;margin:auto'>", f"<h1>{escape(title)}</h1>",
             table_html(("setting", "value"), settings, "settings"), "<h2>Evaluation</h2>", report]
    parts += [png_img(fig, alt) for alt, fig in pictures.items()]
    if epochs or training_pictures:
        parts.append("<h2>Training</h2>")
        if epochs:
            parts.append(epochs_html(epochs))
        parts += [png_img(fig, alt) for alt, fig in (training_pictures or {}).items()]
    if predictions:
        parts += ["<h2>Predictions</h2>", table_html(prediction_header, predictions)]
    parts.append("</body></html>")
    return "\n".join(parts)
