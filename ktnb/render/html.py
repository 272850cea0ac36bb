"""Self-contained HTML (no scripts, no external URLs); every user string is escaped."""

from __future__ import annotations

import numbers
from html import escape
from typing import Any, Sequence

TABLE_STYLE = "border-collapse:collapse;font-family:monospace;font-size:13px"
CELL_STYLE = "padding:2px 10px;border-bottom:1px solid #ddd;vertical-align:top"


def _number(value: float) -> str:
    """4 decimals, or scientific notation for small values such as learning rates."""
    return f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.2e}"


def shorten(text: str, limit: int = 120) -> str:
    """`text` cut to `limit` characters, with "…" where it was cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _is_number(value: Any) -> bool:
    # numbers.Real: numpy's float32 and int64 (from a report's arrays) are numbers too
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def table_html(header: Sequence[str], rows: Sequence[Sequence[Any]], caption: str | None = None,
               css_class: str = "ktnb-table") -> str:
    """An HTML table; floats shown by `_number`, everything escaped. Columns of numbers are
    right-aligned, columns of text left-aligned and wrapped."""
    numeric = [all(_is_number(row[i]) or row[i] == "" for row in rows) for i in range(len(header))]

    def cell(value: Any, tag: str, column: int) -> str:
        fraction = _is_number(value) and not isinstance(value, numbers.Integral)
        text = _number(float(value)) if fraction else str(value)
        align = "text-align:right" if numeric[column] else "text-align:left;white-space:normal"
        return f'<{tag} style="{CELL_STYLE};{align}">{escape(text)}</{tag}>'

    parts = [f'<table class="{css_class}" style="{TABLE_STYLE}">']
    if caption:
        parts.append(f'<caption style="text-align:left;font-weight:bold;white-space:nowrap">{escape(caption)}</caption>')
    parts.append("<thead><tr>" + "".join(cell(h, "th", i) for i, h in enumerate(header)) + "</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(cell(v, "td", i) for i, v in enumerate(row)) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def epochs_html(rows: Sequence[dict[str, Any]]) -> str:
    """The per-epoch table of a training history (run, epoch, losses, metrics, lr, seconds,
    and the note of an epoch that looked wrong)."""
    header = list(dict.fromkeys(key for row in rows for key in row))
    return table_html(header, [[row.get(key, "") for key in header] for row in rows], css_class="ktnb-epochs")


WARNING_STYLE = "color:#a40;font-family:sans-serif;font-size:13px;margin:4px 0"


def warning_html(text: str) -> str:
    """A one-line warning, escaped, in the colour every ktnb view uses for them."""
    return f'<div class="ktnb-warning" style="{WARNING_STYLE}">&#9888; {escape(text)}</div>'


def report_html(caption: str, rows: Sequence[Sequence[Any]], warning: str | None = None) -> str:
    """A classification report: per-class precision/recall/f1/support rows under a caption."""
    table = table_html(("class", "precision", "recall", "f1", "support"), rows, caption, css_class="ktnb-report")
    return table + (warning_html(warning) if warning else "")


def metrics_html(caption: str, rows: Sequence[Sequence[Any]], warning: str | None = None,
                 header: Sequence[str] = ("metric", "value"), css_class: str = "ktnb-report") -> str:
    """Any task's report: a table of rows under a caption, and its warning."""
    return table_html(header, rows, caption, css_class=css_class) + (warning_html(warning) if warning else "")


#: background colours of entity types, in order of first appearance (then round again)
ENTITY_COLOURS = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#e9d5ff", "#fed7aa", "#a5f3fc", "#f5d0fe")


def entity_colours(types: Sequence[str]) -> dict[str, str]:
    ordered = list(dict.fromkeys(types))
    return {kind: ENTITY_COLOURS[i % len(ENTITY_COLOURS)] for i, kind in enumerate(sorted(ordered))}


def entities_html(text: str, spans: Sequence[tuple[str, int, int]], png: str | None = None) -> str:
    """`text` with each (type, start, end) span highlighted and labelled by type; everything
    escaped. `png` (base64), when given, is the same picture for viewers that drop styles."""
    colours = entity_colours([kind for kind, _, _ in spans])
    parts, at = [], 0
    for kind, start, end in sorted(spans, key=lambda s: s[1]):
        parts.append(escape(text[at:start]))
        parts.append(f'<mark class="ktnb-entity" data-type="{escape(kind)}" style="background:{colours[kind]};'
                     f'padding:1px 4px;border-radius:4px">{escape(text[start:end])}'
                     f'<span style="font-size:10px;font-weight:bold;margin-left:4px">{escape(kind)}</span></mark>')
        at = end
    parts.append(escape(text[at:]))
    fallback = f'<img class="ktnb-entities-png" alt="entities" src="data:image/png;base64,{png}" ' \
               'style="display:none"/>' if png else ""
    return f'<div class="ktnb-entities" style="font-family:sans-serif;line-height:2">{"".join(parts)}</div>{fallback}'
