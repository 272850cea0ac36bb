"""An explanation drawn: the text with each word shaded by its attribution (green pushes the
output up, red down; the darker, the more), a legend, the top words as a table, and a PNG bar
chart inside for viewers that drop styles. All text escaped."""

from __future__ import annotations

import base64
from html import escape
from typing import Any, Sequence

from .figures import _figure
from .html import table_html

#: the colours of words that push the output up and down
UP, DOWN = (22, 163, 74), (220, 38, 38)


def _shade(score: float, largest: float) -> str:
    colour = UP if score >= 0 else DOWN
    alpha = 0.0 if largest == 0 else min(abs(score) / largest, 1.0) * 0.75
    return f"rgba({colour[0]},{colour[1]},{colour[2]},{alpha:.2f})"


def shaded_text(texts: Sequence[str], words: Sequence[tuple[int, int, int, float]]) -> str:
    """Each text with its words in shaded spans (the attribution in the title), the rest as is."""
    largest = max((abs(w[3]) for w in words), default=0.0)
    parts = []
    for index, text in enumerate(texts):
        at, spans = 0, []
        for t, start, end, score in words:
            if t != index:
                continue
            spans.append(escape(text[at:start]))
            spans.append(f'<span class="ktnb-word" data-score="{score:.6g}" title="{score:+.3g}" '
                         f'style="background:{_shade(score, largest)};border-radius:3px;padding:0 2px">'
                         f'{escape(text[start:end])}</span>')
            at = end
        spans.append(escape(text[at:]))
        parts.append(f'<div class="ktnb-explained-text" style="line-height:1.9">{"".join(spans)}</div>')
    return "".join(parts)


def explanation_html(texts: Sequence[str], words: Sequence[tuple[int, int, int, float]], headline: str,
                     top: Sequence[tuple[str, float]], png: bytes) -> str:
    legend = (f'<span style="background:{_shade(1, 1)};padding:0 4px">pushes it up</span> '
              f'<span style="background:{_shade(-1, 1)};padding:0 4px">pushes it down</span>')
    image = base64.b64encode(png).decode("ascii")
    return (f'<div class="ktnb-explanation"><div style="font-weight:bold">{escape(headline)}</div>'
            f'{shaded_text(texts, words)}<div style="font-size:85%;margin:4px 0">{legend}</div>'
            + table_html(("word", "attribution"), [(w, f"{s:+.3g}") for w, s in top], "the words that weigh most",
                         css_class="ktnb-top-words")
            + f'<details><summary>as a picture</summary><img alt="word attributions" '
              f'src="data:image/png;base64,{image}"/></details></div>')


def attribution_figure(word_scores: Sequence[tuple[str, float]], title: str) -> Any:
    """Horizontal bars, one per word in reading order, green up and red down."""
    rows = max(len(word_scores), 1)
    fig = _figure(6, 0.8 + 0.28 * rows)
    ax = fig.add_subplot()
    scores = [s for _, s in word_scores]
    colours = ["#16a34a" if s >= 0 else "#dc2626" for s in scores]
    ax.barh(range(len(scores)), scores, color=colours)
    ax.set_yticks(range(len(scores)), [w for w, _ in word_scores], fontsize=9)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("attribution")
    ax.set_title(title, fontsize=9)
    return fig


__all__ = ["explanation_html", "attribution_figure", "shaded_text"]
