"""Showing engine results in a notebook: figures as PNG (works with any matplotlib backend and
survives untrusted notebooks), everything else through its own rich repr."""

from __future__ import annotations

from typing import Any

from IPython.display import HTML, Image, display

from ..render.html import table_html, warning_html


def show(obj: Any) -> None:
    from matplotlib.figure import Figure

    if isinstance(obj, Figure):
        from ..render.figures import figure_png

        display(Image(data=figure_png(obj)))
    else:
        display(obj)


def frame_html(frame: Any, css_class: str = "ktnb-frame") -> HTML:
    """A DataFrame as a ktnb table: the index as its named first column, full texts wrapped
    (pandas' own view cuts them at 50 characters)."""
    header = [frame.index.name or "", *map(str, frame.columns)]
    rows = [[index, *(value.item() if hasattr(value, "item") else value for value in row)]
            for index, row in zip(frame.index, frame.itertuples(index=False))]
    return HTML(table_html(header, rows, css_class=css_class))


def show_warning(text: str) -> None:
    display(HTML(warning_html(text)))
