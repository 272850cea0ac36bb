"""Showing engine results in a notebook: figures as PNG (works with any matplotlib backend and
survives untrusted notebooks), everything else through its own rich repr."""

from __future__ import annotations

from typing import Any, Sequence

from IPython.display import HTML, Image, display

from ..render.html import table_html


def show(obj: Any) -> None:
    from matplotlib.figure import Figure

    if isinstance(obj, Figure):
        from ..render.figures import figure_png

        display(Image(data=figure_png(obj)))
    else:
        display(obj)


def predictions_html(rows: Sequence[tuple[str, str, float]]) -> HTML:
    return HTML(table_html(("text", "label", "probability"), rows, css_class="ktnb-predictions"))
