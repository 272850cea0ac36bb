"""Self-contained HTML (no scripts, no external URLs); every user string is escaped."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from ..metrics import ClassificationReport

TABLE_STYLE = "border-collapse:collapse;font-family:monospace;font-size:13px"
CELL_STYLE = "padding:2px 10px;text-align:right;border-bottom:1px solid #ddd"


def _number(value: float) -> str:
    """4 decimals, or scientific notation for small values such as learning rates."""
    return f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.2e}"


def table_html(header: Sequence[str], rows: Sequence[Sequence[Any]], caption: str | None = None,
               css_class: str = "ktnb-table") -> str:
    """An HTML table; floats shown by `_number`, everything escaped."""

    def cell(value: Any, tag: str) -> str:
        text = _number(value) if isinstance(value, float) else str(value)
        return f'<{tag} style="{CELL_STYLE}">{escape(text)}</{tag}>'

    parts = [f'<table class="{css_class}" style="{TABLE_STYLE}">']
    if caption:
        parts.append(f'<caption style="text-align:left;font-weight:bold">{escape(caption)}</caption>')
    parts.append("<thead><tr>" + "".join(cell(h, "th") for h in header) + "</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(cell(v, "td") for v in row) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def report_html(report: ClassificationReport) -> str:
    caption = f"accuracy {report.accuracy:.4f} on {report.n} examples"
    if report.loss is not None:
        caption += f", loss {report.loss:.4f}"
    return table_html(("class", "precision", "recall", "f1", "support"), report._rows(), caption,
                      css_class="ktnb-report")
