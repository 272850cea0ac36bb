"""An explanation drawn: the text with each word shaded by its attribution (green pushes the
output up, red down; the darker, the more), a legend, the top words as a table, and a PNG bar
chart inside for viewers that drop styles. All text escaped."""

from __future__ import annotations

import base64
from html import escape
from typing import Any, Sequence

import numpy as np

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


def _token(text: str) -> str:
    """A token as it reads in a table: its spaces and line ends made visible, other control
    characters written as escapes (a byte token can be one)."""
    shown = text.replace("\n", "\u21b5").replace(" ", "\u00b7")
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in shown) or "\u2205"


def writing_html(texts: Sequence[str], tokens: Sequence[str], written: Sequence[str], scores: np.ndarray,
                 values: Sequence[float], headline: str, png: bytes) -> str:
    """A table as inseq draws one: a column per written token (its probability under it), a row
    per token before it (the input's, then the written ones), each cell shaded by that token's
    attribution to the column's, scaled within the column."""
    sources = len(tokens) - len(written)
    head = "".join(f'<th style="writing-mode:vertical-rl;font-family:monospace">{escape(_token(t))}</th>'
                   for t in written)
    body = []
    for i, token in enumerate(tokens):
        cells = []
        for j in range(len(written)):
            column = scores[j, :sources + j]
            if i >= sources + j:
                cells.append("<td></td>")
                continue
            largest = float(np.abs(column).max()) if column.size else 0.0
            cells.append(f'<td class="ktnb-attribution" title="{scores[j, i]:+.3g}" '
                         f'style="background:{_shade(float(scores[j, i]), largest)};min-width:14px"></td>')
        side = "input" if i < sources else "written"
        body.append(f'<tr><th data-side="{side}" style="text-align:right;font-family:monospace;font-weight:'
                    f'{"normal" if i < sources else "bold"}">{escape(_token(token))}</th>{"".join(cells)}</tr>')
    probabilities = "".join(f'<td style="font-size:75%">{v:.2f}</td>' for v in values)
    image = base64.b64encode(png).decode("ascii")
    return (f'<div class="ktnb-explanation ktnb-writing"><div style="font-weight:bold">{escape(headline)}</div>'
            f'<div style="margin:4px 0">{escape(texts[0])} <b>{escape(texts[1])}</b></div>'
            f'<div style="overflow:auto;max-height:600px"><table style="border-collapse:collapse;font-size:80%">'
            f'<tr><th></th>{head}</tr>{"".join(body)}<tr><th>probability</th>{probabilities}</tr></table></div>'
            f'<details><summary>as a picture</summary><img alt="attributions of each written token" '
            f'src="data:image/png;base64,{image}"/></details></div>')


def writing_figure(tokens: Sequence[str], written: Sequence[str], scores: np.ndarray, title: str) -> Any:
    """The same as a heatmap: written tokens across, the tokens before them down, each column
    scaled by its largest attribution, green up and red down."""
    scaled = scores.T / np.maximum(np.abs(scores).max(axis=1), 1e-12)
    fig = _figure(min(2.5 + 0.3 * len(written), 12), min(1.5 + 0.22 * len(tokens), 14))
    ax = fig.add_subplot()
    ax.imshow(scaled, cmap="RdYlGn", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(written)), [_token(t) for t in written], rotation=90, fontsize=8)
    ax.set_yticks(range(len(tokens)), [_token(t) for t in tokens], fontsize=7)
    ax.set_title(title, fontsize=9)
    return fig


__all__ = ["explanation_html", "attribution_figure", "shaded_text", "writing_html", "writing_figure"]
