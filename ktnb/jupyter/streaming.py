"""A language model's writing shown as it is written: one display in the cell, updated in place
at most every `every` seconds (a notebook front end would lag behind a redraw per token), and
once more at the end. An interrupt (the stop button, Ctrl-C) stops the writing and keeps the
text so far."""

from __future__ import annotations

import time
from typing import Any, Callable

from IPython.display import HTML, display


def stream_html(prompt: str, written: str, state: str = "") -> str:
    """The prompt in grey, what the model wrote after it in black (both escaped)."""
    from html import escape

    note = f' <span class="ktnb-stream-state">({escape(state)})</span>' if state else ""
    return (f'<pre class="ktnb-stream" style="white-space: pre-wrap"><span style="color: #777">{escape(prompt)}'
            f"</span>{escape(written)}{note}</pre>")


def follow(stream: Any, show: Callable[[str, str], None], every: float = 0.1) -> str:
    """Hand `stream`'s text so far to `show(text, state)` as it grows, at most every `every`
    seconds, and once at the end (state "stopped" when it was stopped); returns the text.
    An interrupt stops the writing and keeps the text."""
    show(stream.text, "writing…")
    shown_at = time.monotonic()
    try:
        for _ in stream:
            if time.monotonic() - shown_at >= every:
                show(stream.text, "writing…")
                shown_at = time.monotonic()
    except KeyboardInterrupt:
        stream.stop()
    show(stream.text, "stopped" if stream.stopped else "")
    return stream.text


def show_stream(stream: Any, prompt: str, every: float = 0.1) -> str:
    """Show `stream` (a `ktnb.generation.TextStream`) growing in one display; returns its text."""
    handle = display(HTML(stream_html(prompt, "", "writing…")), display_id=True)
    return follow(stream, lambda text, state: handle.update(HTML(stream_html(prompt, text, state))), every)


__all__ = ["follow", "show_stream", "stream_html"]
