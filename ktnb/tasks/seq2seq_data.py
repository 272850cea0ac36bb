"""The data of translation and summarisation: (source, target) pairs read from a table, lists or
a `datasets` split, and how they become model rows.

An encoder-decoder (T5, BART, Marian) reads the source (after the task prefix its model expects)
and is trained towards the target's tokens, padded with -100 in a batch; the model feeds its
decoder by shifting them itself. A decoder-only model (SmolLM2) reads one row: a prompt made from
the source and the target after it, the prompt's tokens unscored, so that the loss is on the
target only; it writes after the prompt and stops at the end of the line.

>>> translation_prompt("The cat sleeps.", "English", "French")
'Translate English to French.\\nEnglish: The cat sleeps.\\nFrench:'
>>> language_name("fr"), language_name("Klingon")
('French', 'Klingon')
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataError, KtnbWarning

#: column names a table of pairs uses, in the order they are looked for (the hub's summarisation
#: sets: xsum's document/summary, cnn_dailymail's article/highlights)
SOURCE_COLUMNS = ("source", "src", "text", "document", "article", "input", "prompt")
TARGET_COLUMNS = ("target", "tgt", "summary", "highlights", "output", "response", "label")
#: language codes the hub's translation sets use ({"en": …, "fr": …} rows), and their names in prompts
LANGUAGES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
             "nl": "Dutch", "ro": "Romanian", "ru": "Russian", "zh": "Chinese", "ja": "Japanese", "cs": "Czech",
             "fi": "Finnish", "tr": "Turkish", "ar": "Arabic", "hi": "Hindi", "pl": "Polish", "sv": "Swedish"}
#: the share of unknown tokens in a side's text above which its tokenizer is said not to know the language
MAX_UNKNOWN_SHARE = 0.2


def language_name(language: str | None) -> str | None:
    """A language's name for prompts: "fr" -> "French"; a name is kept as given."""
    if language is None:
        return None
    return LANGUAGES.get(language.strip().lower(), language.strip())


def language_code(language: str | None) -> str | None:
    """A language's hub code: "French" -> "fr"; a code (or an unknown name) is kept as given."""
    if language is None:
        return None
    word = language.strip()
    by_name = {name.lower(): code for code, name in LANGUAGES.items()}
    return by_name.get(word.lower(), word)


def translation_prompt(source: str, source_lang: str | None, target_lang: str | None) -> str:
    """What a decoder-only model reads before it writes a translation."""
    src, tgt = language_name(source_lang) or "Source", language_name(target_lang) or "Target"
    head = f"Translate {src} to {tgt}." if source_lang and target_lang else "Translate the source text."
    return f"{head}\n{src}: {one_line(source)}\n{tgt}:"


def one_line(text: str) -> str:
    r"""`text` on one line: its line breaks (and the spaces around them) become one space; other
    spaces are kept as they are (French typography's no-break space before "?" among them).

    >>> one_line("Le chat.\n  Le chien ?")
    'Le chat. Le chien ?'
    """
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def summary_prompt(source: str) -> str:
    """What a decoder-only model reads before it writes a summary."""
    return f"Summarize the text.\nText: {one_line(source)}\nSummary:"


def read_pairs(source: Any, text_col: str = "text", label_col: str = "label", encoding: str = "utf-8",
               what: str = "training data", source_lang: str | None = None,
               target_lang: str | None = None) -> tuple[list[str], list[str]]:
    """(sources, targets) from a CSV/TSV file or DataFrame (`text_col` and `label_col`, or
    columns named source/target, document/summary, article/highlights, …), a (sources, targets)
    pair of lists, a dict of two lists, or a `datasets.Dataset` (also a "translation" column of
    {language code: text} rows, read with `source_lang` and `target_lang`). An empty source
    or target is an error naming its row."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"file not found: {path}")
        from ..data import read_table

        return read_pairs(read_table(path, encoding=encoding), text_col, label_col, encoding, path.name,
                          source_lang, target_lang)
    if hasattr(source, "column_names") and hasattr(source, "features"):  # a datasets.Dataset
        return read_pairs(source.to_pandas(), text_col, label_col, encoding, what, source_lang, target_lang)
    if isinstance(source, tuple) and len(source) == 2 and all(isinstance(s, (list, tuple)) for s in source):
        sources, targets = list(source[0]), list(source[1])
        if len(sources) != len(targets):
            raise DataError(f"{what}: {len(sources)} sources but {len(targets)} targets; they must be the same length")
        return _checked(sources, targets, what, "")
    if isinstance(source, dict) and not hasattr(source, "columns"):
        import pandas as pd

        source = pd.DataFrame(source)
    if hasattr(source, "columns") and hasattr(source, "iloc"):
        return _from_frame(source, text_col, label_col, what, source_lang, target_lang)
    raise DataError(f"can't read (source, target) pairs from a {type(source).__name__} ({what}); give a CSV file or "
                    "DataFrame with source and target columns, or a (sources, targets) pair of lists")


def _column(frame: Any, wanted: str, default: str, choices: Sequence[str], role: str, what: str) -> str:
    if wanted in frame.columns:
        return wanted
    if wanted != default:  # named by the user: it must be there
        raise DataError(f"{what}: no {role} column {wanted!r}; its columns are {', '.join(map(str, frame.columns))}")
    found = next((c for c in choices if c in frame.columns), None)
    if found is None:
        option = "text_col" if role == "source" else "label_col"
        raise DataError(f"{what}: no {role} column (looked for {', '.join(choices[:4])}); its columns are "
                        f"{', '.join(map(str, frame.columns))}: name it with {option}=")
    return found


def _from_frame(frame: Any, text_col: str, label_col: str, what: str, source_lang: str | None,
                target_lang: str | None) -> tuple[list[str], list[str]]:
    if "translation" in frame.columns and text_col not in frame.columns:  # the hub's {"en": …, "fr": …} rows
        if not (source_lang and target_lang):
            raise DataError(f"{what}: a translation column of {{language: text}} rows; say which languages with "
                            "source_lang= and target_lang= (e.g. 'en' and 'fr')")
        src, tgt = language_code(source_lang), language_code(target_lang)
        rows = list(frame["translation"])
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise DataError(f"{what}: translation row {i} is a {type(row).__name__}, not a {{language: text}} mapping "
                                "(a table read back from a file holds text: give source and target columns instead)")
            for code in (src, tgt):
                if code not in row:
                    raise DataError(f"{what}: translation row {i} has the languages {', '.join(map(str, row))}, not "
                                    f"{code!r}")
        return _checked([r[src] for r in rows], [r[tgt] for r in rows], what, "")
    source_col = _column(frame, text_col, "text", SOURCE_COLUMNS, "source", what)
    target_col = _column(frame, label_col, "label", TARGET_COLUMNS, "target", what)
    if source_col == target_col:
        raise DataError(f"{what}: the source and the target are the same column ({source_col}); name each one")
    return _checked(frame[source_col].tolist(), frame[target_col].tolist(), what, f" ({source_col}, {target_col})")


def _empty(value: Any) -> bool:
    """None, NaN, pandas' NA, or text with nothing but spaces."""
    if value is None or (isinstance(value, float) and value != value):
        return True
    if not isinstance(value, str):
        import pandas as pd

        if pd.api.types.is_scalar(value) and pd.isna(value):
            return True
    return not str(value).strip()


def _checked(sources: list[Any], targets: list[Any], what: str, columns: str) -> tuple[list[str], list[str]]:
    """Every source and target a text that is not empty: one line naming the first row that fails."""
    for side, values in (("source", sources), ("target", targets)):
        empty = [i for i, v in enumerate(values) if _empty(v)]
        if empty:
            raise DataError(f"{what}{columns}: {len(empty)} row(s) with an empty {side} (the first: row {empty[0]}); "
                            "fill them in or drop them")
    if not sources:
        raise DataError(f"{what} has no (source, target) pairs")
    return [str(s) for s in sources], [str(t) for t in targets]


def check_known_language(tokenizer: Any, texts: Sequence[str], side: str) -> None:
    """Refuse text the tokenizer mostly cannot read (unknown tokens): the model would learn from
    `<unk>`s. Byte-level tokenizers (GPT-2's, SmolLM2's) have no unknown token and read anything."""
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is None or not texts:
        return
    sample = list(texts[:200])
    ids = tokenizer(sample, add_special_tokens=False, return_attention_mask=False)["input_ids"]
    total = sum(len(row) for row in ids)
    unknown = sum(row.count(unk) for row in ids)
    if total and unknown / total > MAX_UNKNOWN_SHARE:
        raise DataError(f"the tokenizer reads {unknown / total:.0%} of the {side}s' tokens as unknown "
                        f"({tokenizer.unk_token}): it does not know this language or script; choose a model whose "
                        "vocabulary covers it (a multilingual one, e.g. mT5)")


def warn_cut(cut: int, total: int, max_target_len: int) -> None:
    if cut:
        warnings.warn(f"{cut} of {total} targets are longer than max_target_len={max_target_len} tokens and were cut; "
                      "raise max_target_len to learn them whole", KtnbWarning, stacklevel=4)


def encoder_decoder_rows(tokenizer: Any, sources: Sequence[str], targets: Sequence[str] | None, prefix: str,
                         max_len: int, max_target_len: int) -> tuple[list[list[int]], list[list[int]] | None]:
    """(input ids, label ids): each source after `prefix`, cut at `max_len` (its end-of-text
    token kept); each target as the tokenizer's target side writes it, cut at `max_target_len`
    (a warning says how many were)."""
    inputs = tokenizer([prefix + s for s in sources], truncation=True, max_length=max_len,
                       return_attention_mask=False)["input_ids"]
    if targets is None:
        return inputs, None
    whole = tokenizer(text_target=list(targets), return_attention_mask=False)["input_ids"]
    cut = sum(len(ids) > max_target_len for ids in whole)
    warn_cut(cut, len(whole), max_target_len)
    labels = [ids if len(ids) <= max_target_len else ids[:max_target_len - 1] + ids[-1:] for ids in whole]
    return inputs, labels


__all__ = ["read_pairs", "one_line", "translation_prompt", "summary_prompt", "language_name", "language_code",
           "encoder_decoder_rows", "check_known_language", "warn_cut"]
