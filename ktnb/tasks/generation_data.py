"""The data of a causal language model: documents to continue, or prompts with the responses to
learn. Documents are tokenised and packed into blocks of `max_len` tokens (each document ends
with the end-of-text token, so that the model learns where one stops and no padding is
trained on); a prompt/response pair is one row whose prompt tokens carry the ignored label
(-100), so that the loss is on the response only, formatted with the tokenizer's chat template
when it has one.

>>> pack([[1, 2, 3], [4, 5]], block_size=2, eos_id=0)
[[1, 2], [3, 0], [4, 5], [0]]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataError

#: column names a prompt/response table uses, in the order they are looked for
PROMPT_COLUMNS = ("prompt", "instruction", "input", "question", "source")
RESPONSE_COLUMNS = ("response", "completion", "output", "answer", "target")


def pack(documents: Sequence[Sequence[int]], block_size: int, eos_id: int | None) -> list[list[int]]:
    """Token ids of `documents`, each followed by `eos_id` (unless it already ends with it),
    laid end to end and cut into blocks of `block_size`; the last block may be shorter. Every
    token appears once, in order: none is dropped to fill a block."""
    stream: list[int] = []
    for ids in documents:
        stream.extend(ids)
        if eos_id is not None and (not ids or ids[-1] != eos_id):
            stream.append(eos_id)
    return [stream[i:i + block_size] for i in range(0, len(stream), block_size)]


def document_ids(tokenizer: Any, documents: Sequence[str]) -> list[list[int]]:
    """Each document's token ids with the tokenizer's own special tokens (a Llama tokenizer's
    begin-of-text), not cut: packing cuts the stream instead."""
    if not documents:
        return []
    return tokenizer(list(documents), add_special_tokens=True, return_attention_mask=False,
                     return_token_type_ids=False, truncation=False)["input_ids"]


def uses_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def as_messages(prompt: Any) -> list[dict[str, str]]:
    """A prompt as chat messages: a text is one user message; messages are kept as given."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [dict(m) for m in prompt]


def prompt_ids(tokenizer: Any, prompt: Any, chat: bool) -> list[int]:
    """The tokens a model is given before it writes: with `chat` (always, for chat messages),
    the chat template with the assistant's turn opened; else the text with the tokenizer's
    special tokens."""
    chat = chat or not isinstance(prompt, str)
    if not isinstance(prompt, str) and not uses_chat_template(tokenizer):
        raise DataError("a prompt given as chat messages needs a tokenizer with a chat template; this one has "
                        "none: give the prompt as text")
    if chat:
        return list(_chat_ids(tokenizer, as_messages(prompt), add_generation_prompt=True))
    return tokenizer(prompt, add_special_tokens=True, return_attention_mask=False)["input_ids"]


def _chat_ids(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool) -> list[int]:
    ids = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=add_generation_prompt)
    if hasattr(ids, "keys"):  # transformers 5 may give a BatchEncoding
        ids = ids["input_ids"]
    return list(ids)


def pair_row(tokenizer: Any, prompt: Any, response: str, max_len: int, chat: bool) -> tuple[list[int], list[int]]:
    """(input ids, labels) of one prompt/response example: labels are -100 on the prompt and
    the response's ids after it (with the turn's end or the end-of-text token, so that the model
    learns to stop). A row longer than `max_len` loses tokens from the middle of the prompt (its
    start, a chat template's header, and its end, the assistant's turn, stay), down to half the
    row, and then the response's last ones."""
    chat = chat or not isinstance(prompt, str)
    given = prompt_ids(tokenizer, prompt, chat)
    written: list[int] | None = None
    if chat:
        whole = _chat_ids(tokenizer, as_messages(prompt) + [{"role": "assistant", "content": response}], False)
        if whole[:len(given)] == given:
            written = whole[len(given):]
    if written is None:  # no template, or one that renders the prompt differently once answered
        written = tokenizer(response, add_special_tokens=False, return_attention_mask=False)["input_ids"]
        eos = tokenizer.eos_token_id
        if eos is not None and (not written or written[-1] != eos):
            written = written + [eos]
    return joined_row(given, written, max_len)


def joined_row(given: list[int], written: list[int], max_len: int) -> tuple[list[int], list[int]]:
    """(input ids, labels) of a prompt's ids `given` and the ids `written` after it, scored: a
    row longer than `max_len` loses tokens from the middle of the prompt (its start and its end
    stay), down to half the row, and then the written ids' last ones."""
    from ..batching import IGNORED_LABEL

    room = max(max_len - len(written), max_len // 2)
    if len(given) > room:
        head = room // 4
        given = given[:head] + given[len(given) - (room - head):]
    ids = (given + written)[:max_len]
    labels = ([IGNORED_LABEL] * len(given) + written)[:max_len]
    return ids, labels


def read_documents_file(path: Path, encoding: str) -> list[str]:
    """A plain text file's documents: paragraphs separated by blank lines, or, in a file with
    no blank line, its lines."""
    try:
        text = path.read_text(encoding=encoding)
    except UnicodeDecodeError:
        raise DataError(f"{path} is not {encoding} text; pass encoding='latin-1' (or the file's encoding)") from None
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n")]
    if len([b for b in blocks if b]) <= 1:
        blocks = [line.strip() for line in text.splitlines()]
    return [b for b in blocks if b]


def _column(frame: Any, wanted: str | None, choices: Sequence[str]) -> str | None:
    if wanted is not None and wanted in frame.columns:
        return wanted
    return next((c for c in choices if c in frame.columns), None)


def read_generation_data(source: Any, text_col: str = "text", label_col: str | None = None,
                         encoding: str = "utf-8", what: str = "training data",
                         kind: str | None = None) -> tuple[list[Any], list[str] | None]:
    """(texts, None) for documents, or (prompts, responses): from a list of texts, a
    (prompts, responses) pair of lists, a plain text file, a CSV/TSV file or a DataFrame (a
    `text_col` of documents, or prompt and response columns: `text_col` and a `label_col`
    named by the user, or columns named prompt/response, instruction/output, …), a
    `datasets.Dataset`, or a "messages" column of chats whose last message is the assistant's
    response. A column called "label" (the readers' default name) is not a response unless
    `kind` is "pairs": SST-2's 0/1 beside its texts. `kind` ("documents" or "pairs") insists on
    one."""
    texts, responses = _read(source, text_col, label_col, encoding, what, kind)
    if kind == "pairs" and responses is None:
        raise DataError(f"{what}: documents, but this model learns responses to prompts; give prompt and response "
                        "columns (text_col=, label_col=)")
    return texts, responses


def _read(source: Any, text_col: str, label_col: str | None, encoding: str, what: str,
          kind: str | None) -> tuple[list[Any], list[str] | None]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"file not found: {path}")
        if path.suffix.lower() in (".txt", ".text", ".md"):
            return _checked(read_documents_file(path, encoding), None, what)
        from ..data import read_table

        return _read(read_table(path, encoding=encoding), text_col, label_col, encoding, f"{path.name}", kind)
    if hasattr(source, "column_names") and hasattr(source, "features"):  # a datasets.Dataset
        return _read(source.to_pandas(), text_col, label_col, encoding, what, kind)
    if isinstance(source, dict) and not hasattr(source, "columns"):
        import pandas as pd

        source = pd.DataFrame(source)
    if hasattr(source, "columns") and hasattr(source, "iloc"):
        return _from_frame(source, text_col, label_col, what, kind)
    if isinstance(source, (list, tuple)) and source and all(_is_chat(t) for t in source):
        return _from_chats(list(source), what)
    if isinstance(source, tuple) and len(source) == 2 and all(isinstance(s, (list, tuple)) for s in source):
        prompts, responses = list(source[0]), list(source[1])
        if len(prompts) != len(responses):
            raise DataError(f"{what}: {len(prompts)} prompts but {len(responses)} responses; they must be the same "
                            "length")
        return _checked(prompts, [str(r) for r in responses], what)
    if isinstance(source, (list, tuple)) and all(isinstance(t, str) for t in source):
        return _checked(list(source), None, what)
    raise DataError(f"can't read text to learn from a {type(source).__name__} ({what}); give a list of texts, a "
                    "(prompts, responses) pair of lists, a .txt file, or a CSV file or DataFrame with a text column "
                    "(or prompt and response columns)")


def _is_chat(item: Any) -> bool:
    return isinstance(item, (list, tuple)) and bool(item) and all(
        isinstance(m, dict) and "role" in m and "content" in m for m in item)


def _from_chats(chats: list[Any], what: str) -> tuple[list[Any], list[str]]:
    prompts, responses = [], []
    for i, chat in enumerate(chats):
        if not _is_chat(chat) or chat[-1]["role"] != "assistant" or len(chat) < 2:
            raise DataError(f"{what}: chat {i} must be a list of {{'role', 'content'}} messages ending with the "
                            "assistant's reply (the response to learn)")
        prompts.append([dict(m) for m in chat[:-1]])
        responses.append(str(chat[-1]["content"]))
    return prompts, responses


def _from_frame(frame: Any, text_col: str, label_col: str | None, what: str,
                kind: str | None) -> tuple[list[Any], list[str] | None]:
    if "messages" in frame.columns and text_col not in frame.columns and kind != "documents":
        return _from_chats([list(chat) for chat in frame["messages"]], what)
    asked_pairs = label_col not in (None, "label") or (kind == "pairs" and label_col is not None)
    response = None if kind == "documents" else _column(frame, label_col if asked_pairs else None, RESPONSE_COLUMNS)
    if asked_pairs and response is None:
        raise DataError(f"{what}: no response column {label_col!r}; its columns are {', '.join(map(str, frame.columns))}")
    if response is not None:
        prompt = _column(frame, text_col, PROMPT_COLUMNS)
        if prompt is None:
            raise DataError(f"{what}: a response column ({response}) but no prompt column {text_col!r}; its columns "
                            f"are {', '.join(map(str, frame.columns))}")
        rows = frame[[prompt, response]].dropna()
        return _checked(rows[prompt].astype(str).tolist(), rows[response].astype(str).tolist(), what)
    if text_col not in frame.columns:
        raise DataError(f"{what}: no text column {text_col!r}; its columns are {', '.join(map(str, frame.columns))} "
                        "(name it with text_col=, or give prompt and response columns)")
    return _checked(frame[text_col].dropna().astype(str).tolist(), None, what)


def _checked(texts: list[Any], responses: list[str] | None, what: str) -> tuple[list[Any], list[str] | None]:
    """Empty texts dropped (a response may not be empty either); nothing left is an error."""
    keep = [i for i, t in enumerate(texts)
            if (not isinstance(t, str) or t.strip()) and (responses is None or responses[i].strip())]
    if not keep:
        raise DataError(f"{what} has no text: every {'document' if responses is None else 'prompt or response'} is "
                        "empty")
    return [texts[i] for i in keep], None if responses is None else [responses[i] for i in keep]


__all__ = ["pack", "document_ids", "pair_row", "joined_row", "prompt_ids", "read_generation_data", "uses_chat_template"]
