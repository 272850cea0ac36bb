"""How a language model is asked to write: the user's settings (length, temperature, nucleus,
beams, stop strings) checked and turned into `model.generate` arguments, one line for any that
make no sense.

>>> settings, stops = generation_settings(None, 20, 0.0, None, 1, None)
>>> settings, stops
({'max_new_tokens': 20, 'do_sample': False}, [])
>>> generation_settings(None, 20, 0.7, 0.9, 1, ".")[0]
{'max_new_tokens': 20, 'do_sample': True, 'temperature': 0.7, 'top_p': 0.9}
"""

from __future__ import annotations

from typing import Any, Sequence

from . import checks
from .errors import KtnbError


def generation_settings(tokenizer: Any, max_new_tokens: int | None, temperature: float, top_p: float | None,
                        num_beams: int, stop: str | Sequence[str] | None) -> tuple[dict[str, Any], list[str]]:
    """(`model.generate` settings, the stop strings): greedy at temperature 0, sampling above;
    stop strings end writing early (transformers' `stop_strings`, which needs the tokenizer)
    and are cut off the text afterwards."""
    settings: dict[str, Any] = {}
    if max_new_tokens is not None:
        settings["max_new_tokens"] = checks.whole_number("max_new_tokens", max_new_tokens, 1, error=KtnbError)
    temperature = checks.number_at_least("temperature", temperature, 0, error=KtnbError)
    settings["do_sample"] = temperature > 0
    if temperature > 0:
        settings["temperature"] = float(temperature)
    if top_p is not None:
        if not 0 < float(top_p) <= 1:
            raise KtnbError(f"top_p must be above 0 and at most 1, got {top_p!r}")
        if temperature == 0:
            raise KtnbError("top_p samples, but temperature 0 is greedy; give a temperature above 0 (e.g. 0.7)")
        settings["top_p"] = float(top_p)
    num_beams = checks.whole_number("num_beams", num_beams, 1, error=KtnbError)
    if num_beams > 1:
        settings["num_beams"] = num_beams
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if any(not isinstance(s, str) or not s for s in stops):
        raise KtnbError(f"stop must be a text or a list of texts that are not empty, got {stop!r}")
    if stops and tokenizer is not None:
        settings.update(stop_strings=stops, tokenizer=tokenizer)
    return settings, stops


__all__ = ["generation_settings"]
