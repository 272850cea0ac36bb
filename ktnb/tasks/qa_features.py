"""Question answering's examples as model rows and back. A context longer than `max_len` becomes
several overlapping windows (`stride` tokens shared by neighbours), each read with the whole
question; every row keeps which example it came from and each context token's character span,
so an answer found in any window maps back to the exact characters of the context. A training
window that does not hold the whole answer points both its targets at the first token ([CLS]),
as the Hugging Face examples train: "no answer here".

>>> features = encode_questions(tokenizer, ["Who?"], [long_context], max_len=64, stride=16)  # doctest: +SKIP
>>> features.example_ids                                                                       # doctest: +SKIP
[0, 0, 0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..batching import EncodedTexts
from ..errors import DataError


def encode_questions(tokenizer: Any, questions: Sequence[str], contexts: Sequence[str], max_len: int, stride: int,
                     answers: Sequence[Sequence[tuple[str, int]]] | None = None,
                     ids: Sequence[str] | None = None) -> EncodedTexts:
    """Rows of (question, a window of its context), with `example_ids`, each context token's
    character `offsets` (None for the question and special tokens) and, with `answers`, the
    `start_positions`/`end_positions` of each example's first answer in each window.

    A question that leaves no room for its context within `max_len` is one line naming it."""
    if not getattr(tokenizer, "is_fast", False):
        raise DataError("question answering needs a fast tokenizer (one with offset mappings), which this model "
                        "does not have")
    room = max_len - 4  # [CLS] question [SEP] context [SEP], and at least a token of context
    for i, question in enumerate(questions):
        length = len(tokenizer(question, add_special_tokens=False)["input_ids"])
        if length >= room:
            name = repr(ids[i]) if ids is not None else str(i)
            raise DataError(f"question {name} is {length} tokens long, which leaves no room for its context within "
                            f"max_len {max_len}; shorten the question or raise max_len")
    if not 0 <= stride < room // 2:
        raise DataError(f"stride must be a whole number of tokens from 0 to {room // 2 - 1} (less than half a window "
                        f"at max_len {max_len}), got {stride!r}")
    enc = tokenizer(list(questions), list(contexts), truncation="only_second", max_length=max_len, stride=stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True, return_token_type_ids=True)
    example_ids = list(enc["overflow_to_sample_mapping"])
    offsets: list[list[tuple[int, int] | None]] = []
    starts, ends = [], []
    cls_id = tokenizer.cls_token_id
    for row, example in enumerate(example_ids):
        sequence = enc.sequence_ids(row)
        spans = [tuple(span) if sequence[t] == 1 else None for t, span in enumerate(enc["offset_mapping"][row])]
        offsets.append(spans)
        if answers is not None:
            cls = enc["input_ids"][row].index(cls_id) if cls_id in enc["input_ids"][row] else 0
            start, end = _answer_tokens(spans, answers[example])
            starts.append(cls if start is None else start)
            ends.append(cls if end is None else end)
    segments = enc["token_type_ids"] if "token_type_ids" in getattr(tokenizer, "model_input_names", ()) else None
    targets = {"start_positions": starts, "end_positions": ends} if answers is not None else None
    return EncodedTexts(enc["input_ids"], None, segments, example_ids=example_ids, offsets=offsets, targets=targets,
                        example_labels=[list(a) for a in answers] if answers is not None else None,
                        example_inputs=list(zip(questions, contexts)))


def _answer_tokens(spans: list[tuple[int, int] | None], answers: Sequence[tuple[str, int]]) \
        -> tuple[int | None, int | None]:
    """The first and last context tokens of the example's first answer in this window, or
    (None, None) when the window does not hold the whole answer (or there is none)."""
    if not answers:
        return None, None
    text, start_char = answers[0]
    end_char = start_char + len(text)
    context_tokens = [t for t, span in enumerate(spans) if span is not None and span[1] > span[0]]
    if not context_tokens or spans[context_tokens[0]][0] > start_char or spans[context_tokens[-1]][1] < end_char:
        return None, None
    first = next(t for t in context_tokens if spans[t][1] > start_char)
    last = next(t for t in reversed(context_tokens) if spans[t][0] < end_char)
    return first, last


@dataclass
class Span:
    """An answer candidate: its characters in the context [start, end) and its score (the start
    and end logits added)."""

    start: int
    end: int
    score: float
    #: its first and last tokens in the row it was found in
    first_token: int = -1
    last_token: int = -1


def best_span(start_logits: np.ndarray, end_logits: np.ndarray, offsets: Sequence[tuple[int, int] | None],
              n_best: int = 20, max_answer_len: int = 30) -> Span | None:
    """The best-scoring span of context tokens in one row, as the standard post-processing picks
    it: among the `n_best` start and end tokens, pairs that lie in the context, in order, and no
    more than `max_answer_len` tokens long. None when no pair qualifies."""
    starts = np.argsort(start_logits)[::-1][:n_best]
    ends = np.argsort(end_logits)[::-1][:n_best]
    best: Span | None = None
    for s in starts:
        if s >= len(offsets) or offsets[s] is None:
            continue
        for e in ends:
            if e >= len(offsets) or offsets[e] is None or e < s or e - s + 1 > max_answer_len:
                continue
            score = float(start_logits[s] + end_logits[e])
            if best is None or score > best.score:
                best = Span(offsets[s][0], offsets[e][1], score, int(s), int(e))
    return best


__all__ = ["encode_questions", "best_span", "Span"]
