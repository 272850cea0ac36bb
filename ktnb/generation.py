"""How a language model is asked to write: the user's settings (length, temperature, nucleus,
beams, stop strings) checked and turned into `model.generate` arguments, one line for any that
make no sense; and `TextStream`, the text of one prompt's continuation piece by piece as the
model writes it (what a notebook shows growing in place), which can be stopped at any point.

>>> settings, stops = generation_settings(None, 20, 0.0, None, 1, None)
>>> settings, stops
({'max_new_tokens': 20, 'do_sample': False}, [])
>>> generation_settings(None, 20, 0.7, 0.9, 1, ".")[0]
{'max_new_tokens': 20, 'do_sample': True, 'temperature': 0.7, 'top_p': 0.9}
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, ContextManager, Iterator, Sequence

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


def stop_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """The tokens that end writing: the model's own (its generation config may list several,
    e.g. an end-of-turn and an end-of-text token) and the tokenizer's end-of-text token, which
    ktnb's training data ends every document and response with."""
    found = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = list(found) if isinstance(found, (list, tuple)) else [found]
    ids.append(getattr(tokenizer, "eos_token_id", None))
    return list(dict.fromkeys(i for i in ids if isinstance(i, int)))


def check_room(lengths: Sequence[int], max_new_tokens: int, cap: int) -> None:
    """Each prompt must leave `max_new_tokens` of room within the `cap` tokens the model reads."""
    for i, length in enumerate(lengths):
        if length + max_new_tokens > cap:
            raise KtnbError(f"prompt {i} is {length} tokens long, and with max_new_tokens={max_new_tokens} the model "
                            f"would read past the {cap} it can; shorten the prompt or lower max_new_tokens")


class TextStream:
    """What a model writes after one prompt, as it writes it: iterating gives the new text piece
    by piece (each token's text once, in order, as `transformers.TextIteratorStreamer` decodes
    it); `text` is everything so far; `stop()` (from any thread) ends the writing after the
    current token, keeping what was written. Text after a `stops` string is never given out.

    >>> stream = predictor.stream("The film was")                       # doctest: +SKIP
    >>> for piece in stream: print(piece, end="")                       # doctest: +SKIP
    """

    def __init__(self, model: Any, tokenizer: Any, input_ids: Sequence[int], settings: dict[str, Any],
                 stops: Sequence[str] = (), autocast: Callable[[], ContextManager] = contextlib.nullcontext):
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        self.text = ""
        self.stopped = False
        self._stops = list(stops)
        self._held = max((len(s) for s in self._stops), default=1) - 1  # what may be a stop string's start
        self._pending = ""
        self._halt = threading.Event()
        self._error: BaseException | None = None
        self._streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        halt = self._halt

        class Halt(StoppingCriteria):
            def __call__(self, ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((ids.shape[0],), halt.is_set(), dtype=torch.bool, device=ids.device)

        device = next(model.parameters()).device
        ids = torch.tensor([list(input_ids)], dtype=torch.long, device=device)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        settings = {k: v for k, v in settings.items() if k not in ("stop_strings", "tokenizer")}
        settings.setdefault("eos_token_id", stop_token_ids(model, tokenizer))

        def write() -> None:
            was_training = model.training
            model.eval()  # no dropout while writing
            try:
                with torch.inference_mode(), autocast():  # autocast holds in the thread that enters it
                    model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), streamer=self._streamer,
                                   stopping_criteria=StoppingCriteriaList([Halt()]), pad_token_id=pad, **settings)
            except BaseException as err:  # noqa: BLE001 - handed to the reader, which raises it
                self._error = err
                self._streamer.end()
            finally:
                model.train(was_training)

        self._writer = threading.Thread(target=write, name="ktnb-generate", daemon=True)
        self._writer.start()

    def stop(self) -> None:
        """End the writing after the current token; the text so far is kept."""
        self.stopped = True
        self._halt.set()

    def _cut(self) -> str | None:
        """The pending text up to a stop string, once one is in it (None while none is)."""
        ends = [self._pending.find(s) for s in self._stops if s in self._pending]
        return self._pending[:min(ends)] if ends else None

    def __iter__(self) -> Iterator[str]:
        try:
            for piece in self._streamer:
                self._pending += piece
                cut = self._cut()
                if cut is not None:
                    self._pending = ""
                    self.stop()
                    yield from self._give(cut)
                    break
                keep = len(self._pending) - self._held if self._stops else len(self._pending)
                if keep > 0:
                    ready, self._pending = self._pending[:keep], self._pending[keep:]
                    yield from self._give(ready)
            else:
                if self._pending and self._cut() is None:
                    yield from self._give(self._pending)
                self._pending = ""
        finally:  # the reader left early (an interrupt, a break): the writer stops too
            if self._writer.is_alive():
                self._halt.set()
                self._writer.join()
        if self._error is not None:
            raise self._error

    def _give(self, piece: str) -> Iterator[str]:
        if piece:
            self.text += piece
            yield piece

    def __str__(self) -> str:
        return self.text


__all__ = ["generation_settings", "TextStream"]
