"""Token tagging (named entities): one tag per word, scored on the word's first sub-word token,
entity-level precision / recall / F1 per type as `seqeval` defines them (strict IOB2), and a
predictor that finds entity spans, with character offsets, in raw text.

Data: CoNLL column files (word first, tag last; ``-DOCSTART-`` and blank lines separate),
DataFrames with a tokens and a tags column, or lists of (tokens, tags). IOB1, IOBES and BILOU
tags are rewritten as IOB2.

Raw text is cut into the same word units as tagged data has (see `split_words`), so that a
sentence's words joined by spaces come back as the words the model was trained and scored on.

>>> to_iob2(["I-PER", "I-PER", "O", "I-LOC", "B-LOC"])
['B-PER', 'I-PER', 'O', 'B-LOC', 'B-LOC']
>>> to_iob2(["S-PER", "O", "B-ORG", "E-ORG"])
['B-PER', 'O', 'B-ORG', 'I-ORG']
"""

from __future__ import annotations

import os
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import DataError, KtnbError, KtnbWarning, LabelError
from ..metrics import counted, footer_lines
from .base import Task

# ---------------------------------------------------------------- reading


def read_conll(path: str | os.PathLike, encoding: str = "utf-8") -> tuple[list[list[str]], list[list[str]]]:
    """Sentences of a CoNLL column file as (words, tags): the first column is the word, the last
    the tag; blank lines end sentences; ``-DOCSTART-`` lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    sentences, tags, words, labels = [], [], [], []
    for number, line in enumerate(_read_text(path, encoding).splitlines(), 1):
        columns = line.split()
        if not columns or columns[0] == "-DOCSTART-":
            if words:
                sentences.append(words)
                tags.append(labels)
                words, labels = [], []
            continue
        if len(columns) < 2:
            raise DataError(f"{path.name} line {number} has one column ({line.strip()[:40]!r}); a CoNLL file has "
                            "the word first and its tag last, separated by spaces")
        words.append(columns[0])
        labels.append(columns[-1])
    if words:
        sentences.append(words)
        tags.append(labels)
    if not sentences:
        raise DataError(f"{path} has no sentences: a CoNLL file has one word and its tag per line")
    return sentences, tags


def _read_text(path: Path, encoding: str) -> str:
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise DataError(f"{path.name} is not {encoding} text (byte 0x{err.object[err.start]:02x} on line {line}); "
                        "pass encoding='latin-1' (or the file's encoding)") from None
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}; use e.g. 'utf-8' or 'latin-1'") from None


def looks_like_conll(path: str | os.PathLike) -> bool:
    """A text file whose first non-blank lines have two or more space-separated columns."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() in (".csv", ".tsv", ".json"):
        return False
    lines = [line for line in path.read_text(errors="replace").splitlines()[:50] if line.strip()]
    return bool(lines) and all(len(line.split()) >= 2 for line in lines[:10])


_TAG = re.compile(r"^(O|[BIESLU]-.+)$")
#: IOBES / BILOU prefixes as IOB2 reads them: a single-word entity opens (B-), a last word continues (I-)
_PREFIX_AS_IOB2 = {"S-": "B-", "U-": "B-", "E-": "I-", "L-": "I-"}


def to_iob2(tags: Sequence[str]) -> list[str]:
    """IOB1 (I- opens an entity unless it continues one of the same type), IOBES (S- single,
    E- end) and BILOU (U- unit, L- last) as IOB2 (B- opens every entity); IOB2 tags come back
    unchanged."""
    out, previous = [], "O"
    for tag in tags:
        tag = _PREFIX_AS_IOB2.get(tag[:2], tag[:2]) + tag[2:] if tag != "O" else tag
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
        previous = tag
    return out


def _check_tags(words: list[list[str]], tags: list[list[str]], where: str) -> list[list[str]]:
    for i, (w, t) in enumerate(zip(words, tags)):
        if len(w) != len(t):
            raise DataError(f"{where}: sentence {i + 1} has {len(w)} tokens but {len(t)} tags; give one tag per token")
        for tag in t:
            if not isinstance(tag, str) or not _TAG.match(tag):
                raise LabelError(f"{where}: tag {str(tag)[:30]!r} in sentence {i + 1} is not in the IOB scheme; tags "
                                 "are O, B-TYPE or I-TYPE (IOB1 or IOB2; IOBES and BILOU are read too)")
    return [to_iob2(t) for t in tags]


def _token_list(value: Any, what: str, row: int, where: str) -> list[Any]:
    """One sentence's tokens (or tags) as a list; a missing cell or a lone string is one line."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    kind = "a string" if isinstance(value, str) else "missing" if value is None or value != value else \
        f"a {type(value).__name__}"
    raise DataError(f"{where}: the {what} of sentence {row + 1} is {kind}, not a list; give each sentence's {what} "
                    "as a list, one per word")


def _checked_words(words: list[Any], row: int, where: str, fix: str = "remove it with its tag") -> list[str]:
    """A sentence's tokens as text (numbers too); a missing token, or one that is empty or
    holds whitespace, is one line (it would silently become the word 'None', or split in two)."""
    out = []
    for position, word in enumerate(words):
        text = word if isinstance(word, str) else str(word) if isinstance(word, (int, float, np.number)) \
            and not isinstance(word, bool) and word == word else None
        if text is None or not text or any(ch.isspace() for ch in text):
            raise DataError(f"{where}: token {position + 1} of sentence {row + 1} is {word!r}; every token must be "
                            f"a word: text with no spaces ({fix})")
        out.append(text)
    return out


def _tag_order(tags: list[list[str]]) -> list[str]:
    """O first, then by entity type, B- before I-."""
    names = {tag for sentence in tags for tag in sentence} | {"O"}
    return sorted(names, key=lambda tag: (tag != "O", tag[2:], tag[:2]))


def _tagged(source: Any, tokens_col: str, tags_col: str, where: str,
            encoding: str) -> tuple[list[list[str]], list[list[str]]]:
    if isinstance(source, (str, os.PathLike)):
        words, tags = read_conll(source, encoding)
        where = Path(source).name
    elif hasattr(source, "iloc") and hasattr(source, "columns"):
        for col, what in ((tokens_col, "text_col"), (tags_col, "label_col")):
            if col not in source.columns:
                raise DataError(f"{where} has no column {col!r} (set {what}); available columns: "
                                + ", ".join(map(str, source.columns)))
        words = [_token_list(w, "tokens", i, where) for i, w in enumerate(source[tokens_col])]
        tags = [_token_list(t, "tags", i, where) for i, t in enumerate(source[tags_col])]
    elif isinstance(source, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in source):
        words = [_token_list(p[0], "tokens", i, where) for i, p in enumerate(source)]
        tags = [_token_list(p[1], "tags", i, where) for i, p in enumerate(source)]
    else:
        raise DataError(f"can't read tagged sentences from a {type(source).__name__}; give a CoNLL file, a DataFrame "
                        "with token and tag lists, or a list of (tokens, tags)")
    words = [_checked_words(w, i, where) for i, w in enumerate(words)]
    tags = _check_tags(words, tags, where)
    kept = [i for i, w in enumerate(words) if w]
    if len(kept) < len(words):  # an empty sentence has nothing to learn from, and a batch of them no loss
        warnings.warn(f"{where}: dropped {len(words) - len(kept)} empty sentence(s)", KtnbWarning, stacklevel=4)
        words, tags = [words[i] for i in kept], [tags[i] for i in kept]
    if not words:
        raise DataError(f"{where} has no sentences")
    return words, tags


def _columns_for(source: Any, text_col: str, label_col: str) -> tuple[str, str]:
    """The token and tag columns: those named, else `tokens` and `tags` (a dataset from the hub:
    `ner_tags` when it has that column)."""
    columns = getattr(source, "column_names", None) or []
    tags = ("ner_tags" if "ner_tags" in columns else "tags") if label_col == "label" else label_col
    return ("tokens" if text_col == "text" else text_col), tags


def _dataset_frame(ds: Any, tokens_col: str, tags_col: str, where: str) -> Any:
    """A `datasets.Dataset` of word lists and tag ids as a table of word and tag-name lists."""
    import pandas as pd

    from ..hub_format import dataset_rows

    return pd.DataFrame(dataset_rows(ds, tokens_col, tags_col, None, where)[0])


def tagged_data(source: Any, val: Any = None, *, tokens_col: str = "tokens", tags_col: str = "tags",
                val_frac: float = 0.1, seed: int = 42, max_train: int | None = None, encoding: str = "utf-8") -> Any:
    """Tagged sentences as `TextData` (task "tagging"): texts are word lists, labels tag-id lists.

    >>> data = tagged_data([(["Ann", "lives", "in", "Paris"], ["B-PER", "O", "O", "B-LOC"])] * 10)
    >>> data.class_names
    ['O', 'B-LOC', 'B-PER']
    """
    from .. import checks
    from ..data import LabelledTexts, TextData

    words, tags = _tagged(source, tokens_col, tags_col, "training data", encoding)
    if max_train is not None:
        checks.whole_number("max_train", max_train, error=DataError)
        words, tags = words[:max_train], tags[:max_train]
    val_words = val_tags = None
    if val is not None:
        val_words, val_tags = _tagged(val, tokens_col, tags_col, "validation data", encoding)
    names = _tag_order(tags + (val_tags or []))
    unseen = [name for name in names if name != "O" and name not in {tag for sentence in tags for tag in sentence}]
    if unseen:  # as for multi-label: kept, so validation can be scored, but the model cannot learn them
        warnings.warn(f"{len(unseen)} tag(s) occur only in the validation data, never in the training data: "
                      f"{', '.join(unseen[:8])}{', …' if len(unseen) > 8 else ''}; the model cannot learn them "
                      "(use more training sentences, or fix the tags)", KtnbWarning, stacklevel=2)
    index = {name: i for i, name in enumerate(names)}

    def part(w: list[list[str]], t: list[list[str]]) -> LabelledTexts:
        return LabelledTexts(w, [[index[tag] for tag in sentence] for sentence in t])

    source_name = str(source) if isinstance(source, (str, os.PathLike)) else "tagged sentences"
    if val_words is not None:
        return TextData(part(words, tags), part(val_words, val_tags), names, source_name, task="tagging")
    if val_frac:
        order = np.random.default_rng(seed).permutation(len(words))
        n_val = min(max(int(round(len(words) * val_frac)), 1), len(words) - 1) if len(words) > 1 else 0
        train, held = sorted(order[n_val:]), sorted(order[:n_val])
        return TextData(part([words[i] for i in train], [tags[i] for i in train]),
                        part([words[i] for i in held], [tags[i] for i in held]) if held else None,
                        names, source_name, task="tagging")
    return TextData(part(words, tags), None, names, source_name, task="tagging")


# ---------------------------------------------------------------- words of raw text

_CHUNK = re.compile(r"\S+")
#: marks split off the edges of a word, each a word of its own, as tagged corpora have them
_OPENING = "([{\"“«"
_CLOSING = ",;:!?)]}\"”»"


def _invisible(ch: str) -> bool:
    """Format and control characters (a zero-width space), which tokenizers drop."""
    return unicodedata.category(ch) in ("Cf", "Cc")


def split_words(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Words of raw text with their character offsets, cut as tagged corpora (CoNLL) cut them,
    so that a tagged sentence's words joined by spaces come back as those words.

    The text is split at whitespace; brackets, quotes and ``, ; : ! ?`` at the edges of a word
    are words of their own, and so is the text's final full stop (unless its word has another
    one, as in "U.S."). A full stop inside the text stays with its word, as CoNLL keeps it on
    abbreviations ("C.", "Corp."); hyphens and apostrophes stay inside words ("AL-AIN",
    "O'Neill"). Invisible characters (a zero-width space) and a combining mark with nothing
    before it are left out of the words, so offsets index the text exactly.

    >>> split_words("C. Harris (Notts) beat the U.S. in Paris.")[0]
    ['C.', 'Harris', '(', 'Notts', ')', 'beat', 'the', 'U.S.', 'in', 'Paris', '.']
    """
    chunks = list(_CHUNK.finditer(text))
    words: list[tuple[int, int]] = []
    for number, chunk in enumerate(chunks):
        start, end = chunk.span()
        while start < end and (_invisible(text[start]) or unicodedata.category(text[start]) in ("Mn", "Me")):
            start += 1
        while end > start and _invisible(text[end - 1]):
            end -= 1
        if start == end:
            continue
        if not any(ch.isalnum() for ch in text[start:end]):  # punctuation alone ("--", "...") is one word
            words.append((start, end))
            continue
        while text[start] in _OPENING:
            words.append((start, start + 1))
            start += 1
        tail: list[tuple[int, int]] = []
        final_stop = number == len(chunks) - 1  # the text's final full stop may still be split off
        while True:
            if text[end - 1] in _CLOSING:
                pass
            elif final_stop and text[end - 1] == "." and end - start > 2 and "." not in text[start:end - 1]:
                final_stop = False
            else:
                break
            tail.append((end - 1, end))
            end -= 1
        words.append((start, end))
        words.extend(reversed(tail))
    return [text[a:b] for a, b in words], words


def entity_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, first word, last word + 1) of every entity in IOB2 tags; an I- that continues
    nothing opens an entity, as seqeval's default mode reads it."""
    spans, current = [], None
    for i, tag in enumerate([*tags, "O"]):
        kind = tag[2:] if tag != "O" else None
        continues = current is not None and tag.startswith("I-") and kind == current[0]
        if current is not None and not continues:
            spans.append((current[0], current[1], i))
            current = None
        if kind is not None and not continues:
            current = (kind, i)
    return spans


# ---------------------------------------------------------------- report


@dataclass
class TaggingReport:
    """Entity-level precision, recall and F1 per type and overall (micro), as seqeval computes
    them in strict IOB2 mode, and the word-level confusion between entity types."""

    true_tags: list[list[str]]
    predicted_tags: list[list[str]]
    loss: float | None = None

    def __post_init__(self) -> None:
        from seqeval.metrics import classification_report
        from seqeval.scheme import IOB2

        self._scores = classification_report(self.true_tags, self.predicted_tags, mode="strict", scheme=IOB2,
                                             output_dict=True, zero_division=0)

    @property
    def types(self) -> list[str]:
        return sorted(k for k in self._scores if not k.endswith(" avg"))

    def _overall(self, key: str) -> float:
        return float(self._scores.get("micro avg", {}).get(key, 0.0))

    @property
    def precision(self) -> float:
        return self._overall("precision")

    @property
    def recall(self) -> float:
        return self._overall("recall")

    @property
    def f1(self) -> float:
        return self._overall("f1-score")

    @property
    def n(self) -> int:
        return len(self.true_tags)

    def per_type(self) -> dict[str, dict[str, float]]:
        return {t: {"precision": float(self._scores[t]["precision"]), "recall": float(self._scores[t]["recall"]),
                    "f1": float(self._scores[t]["f1-score"]), "support": int(self._scores[t]["support"])}
                for t in self.types}

    def summary(self, prefix: str = "val_") -> dict[str, float]:
        out = {f"{prefix}f1": self.f1, f"{prefix}precision": self.precision, f"{prefix}recall": self.recall}
        return {f"{prefix}loss": self.loss, **out} if self.loss is not None else out

    @property
    def warning(self) -> str | None:
        entities = sum(len(entity_spans(t)) for t in self.true_tags)
        found = sum(len(entity_spans(t)) for t in self.predicted_tags)
        if entities and found == 0:
            return ("the model may have collapsed: it tags every word O (no entities found); try a higher learning "
                    "rate or more epochs")
        return None

    @property
    def headline(self) -> str:
        text = f"entity F1 {self.f1:.4f} (precision {self.precision:.4f}, recall {self.recall:.4f}) on {counted(self, self.n, 'sentences')}"
        return text + (f", loss {self.loss:.4f}" if self.loss is not None else "")

    def _rows(self) -> list[tuple[str, float, float, float, int]]:
        rows = [(t, s["precision"], s["recall"], s["f1"], s["support"]) for t, s in self.per_type().items()]
        total = sum(r[4] for r in rows)
        return rows + [("micro avg", self.precision, self.recall, self.f1, total)]

    def __str__(self) -> str:
        lines = [f"{'':>12}  precision  recall  f1-score  support", ""]
        lines += [f"{name:>12}  {p:9.4f}  {r:6.4f}  {f:8.4f}  {s:7d}" for name, p, r, f, s in self._rows()]
        return "\n".join(lines + footer_lines(12, self.loss, self.warning))

    def __repr__(self) -> str:
        return f"TaggingReport(f1={self.f1:.4f}, precision={self.precision:.4f}, recall={self.recall:.4f}, n={self.n})"

    def _repr_html_(self) -> str:
        from ..render.html import metrics_html

        return metrics_html(self.headline, self._rows(), self.warning,
                            header=("entity type", "precision", "recall", "f1", "support"))

    def type_confusion(self) -> tuple[np.ndarray, list[str]]:
        """Words counted by (true type, predicted type), "O" for no entity."""
        names = ["O", *self.types]
        index = {name: i for i, name in enumerate(names)}
        cm = np.zeros((len(names), len(names)), dtype=np.int64)
        for true, pred in zip(self.true_tags, self.predicted_tags):
            for t, p in zip(true, pred):
                cm[index.get(t[2:] if t != "O" else "O", 0), index.get(p[2:] if p != "O" else "O", 0)] += 1
        return cm, names

    def plot_confusion(self) -> Any:
        from ..render.figures import confusion_figure

        cm, names = self.type_confusion()
        fig = confusion_figure(cm, names, normalize=True)
        fig.axes[0].set_title("entity types, per word (row-normalised)")
        return fig

    def pictures(self) -> dict[str, Any]:
        return {"confusion": self.plot_confusion()}

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, **self.summary(""), "per_type": self.per_type()}


# ---------------------------------------------------------------- the task


@dataclass
class Entity:
    """One entity found in a text: its type, its text, and where it is (character offsets)."""

    entity: str
    word: str
    start: int
    end: int
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {"entity_group": self.entity, "word": self.word, "start": self.start, "end": self.end,
                "score": self.score}


@dataclass
class EntityView:
    """A text with its entities, shown in a notebook highlighted by type (a PNG inside for viewers
    that drop styles)."""

    text: str
    entities: list[Entity]

    def _spans(self) -> list[tuple[str, int, int]]:
        return [(e.entity, e.start, e.end) for e in self.entities]

    def plot(self) -> Any:
        from ..render.figures import entities_figure
        from ..render.html import entity_colours

        return entities_figure(self.text, self._spans(), entity_colours([e.entity for e in self.entities]))

    def _repr_html_(self) -> str:
        import base64

        from ..render.figures import figure_png
        from ..render.html import entities_html

        return entities_html(self.text, self._spans(), base64.b64encode(figure_png(self.plot())).decode("ascii"))

    def _repr_png_(self) -> bytes:
        from ..render.figures import figure_png

        return figure_png(self.plot())


class Tagging(Task):
    name = "tagging"
    title = "token tagging (NER)"
    pipeline_task = "token-classification"
    auto_model = "AutoModelForTokenClassification"
    problem_type = None
    per_token = True
    metrics = {"val_loss": False, "val_f1": True, "val_precision": True, "val_recall": True}
    pictures = ("confusion",)
    picture_titles = {"confusion": "the entity-type confusion"}
    model_noun = "token tagger"
    label_word = "entities"
    table_shape = None  # tagged sentences: CoNLL files, token lists (see `load_data`)
    file_kind = "a CoNLL tagging file (a word and its tag per line)"

    def recognises(self, sample: Any) -> bool:
        """A CoNLL file, a table whose text column holds word lists, or a list of (tokens, tags)."""
        if sample.path is not None:
            return looks_like_conll(sample.path)
        frame = sample.frame
        if frame is not None:
            text_col = sample.config.get("text_col", "text")
            text_col = text_col if text_col in frame.columns else "tokens"
            return bool(len(frame)) and text_col in frame.columns and \
                isinstance(frame[text_col].iloc[0], (list, tuple, np.ndarray))
        source = sample.source
        return isinstance(source, list) and bool(source) and all(
            isinstance(p, (list, tuple)) and len(p) == 2 and isinstance(p[0], (list, tuple)) for p in source[:5])

    def describe_labels(self, label_names: Sequence[str]) -> tuple[str, str]:
        return "tags", ", ".join(label_names)

    def raw_labels(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        return [[label_names[t] for t in sentence] for sentence in labels]  # each word's tag name

    def readable(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        return [" ".join(label_names[t] for t in sentence if t >= 0) for sentence in labels]  # -100: not a word

    def labelled(self, items: list[Any], raw_labels: list[Any], label_names: Sequence[str], where: str) -> Any:
        from ..data import LabelledTexts

        tags = _check_tags(items, raw_labels, where)
        index = {name: i for i, name in enumerate(label_names)}
        unknown = sorted({t for s in tags for t in s} - set(index))
        if unknown:
            raise LabelError(f"tag {unknown[0]!r} in {where} was not seen in training; known tags: "
                             f"{', '.join(label_names)}")
        return LabelledTexts(items, [[index[t] for t in s] for s in tags])

    def read_labelled(self, source: Any, text_col: str = "text", label_col: str = "label",
                      pair_col: str | None = None) -> tuple[list[Any], list[Any]]:
        from ..hub_format import is_dataset

        if hasattr(source, "task") and hasattr(source, "train"):  # a TextData
            part = source.held_out()
            return part.texts, self.raw_labels(part.labels, source.class_names)
        tokens_col, tags_col = _columns_for(source, text_col, label_col)
        if is_dataset(source):
            source = _dataset_frame(source, tokens_col, tags_col, "evaluation data")
        return _tagged(source, tokens_col, tags_col, "evaluation data", "utf-8")

    def dataset_columns(self, dataset: Any, text_col: str, label_col: str) -> tuple[str, str]:
        """`tokens` and `ner_tags` (CoNLL-2003 on the hub) or `tags`, unless others are named."""
        return _columns_for(dataset, text_col, label_col)

    def load_data(self, source: Any, val: Any = None, **options: Any) -> Any:
        from ..data import texts_from_dataset
        from ..hub_format import holds_datasets, is_dataset

        text_col, label_col = options.get("text_col", "text"), options.get("label_col", "label")
        if holds_datasets(source):  # the hub's token lists and ClassLabel tag ids
            splits = {"train": source, "validation": val} if val is not None and is_dataset(source) else source
            return texts_from_dataset(splits, text_col, label_col, task=self.name,
                                      val_frac=options.get("val_frac", 0.1), seed=options.get("seed", 42),
                                      max_train=options.get("max_train"))
        if is_dataset(val):
            val = _dataset_frame(val, *_columns_for(val, text_col, label_col), "validation data")
        return tagged_data(source, val, tokens_col=text_col if text_col != "text" else "tokens",
                           tags_col=label_col if label_col != "label" else "tags",
                           val_frac=options.get("val_frac", 0.1), seed=options.get("seed", 42),
                           max_train=options.get("max_train"), encoding=options.get("encoding") or "utf-8")

    # ---------------------------------------------------------------- encoding

    def _encode_words(self, tokenizer: Any, words: Sequence[Sequence[str]], max_len: int,
                      tags: Sequence[Sequence[int]] | None) -> Any:
        """Sub-word ids of each sentence; its tag on each word's first piece, -100 elsewhere."""
        from ..batching import IGNORED_LABEL, EncodedTexts

        enc = tokenizer([list(w) for w in words], is_split_into_words=True, truncation=True, max_length=max_len,
                        return_attention_mask=False, return_token_type_ids=False)
        word_ids = [enc.word_ids(i) for i in range(len(words))]
        labels = None
        if tags is not None:
            labels = []
            for ids, sentence in zip(word_ids, tags):
                row, previous = [], None
                for word in ids:
                    row.append(sentence[word] if word is not None and word != previous else IGNORED_LABEL)
                    previous = word
                labels.append(row)
        return EncodedTexts(enc["input_ids"], labels, None, word_ids,
                            [list(sentence) for sentence in tags] if tags is not None else None)

    def encode(self, tokenizer: Any, part: Any, max_len: int) -> Any:
        return self._encode_words(tokenizer, part.texts, max_len, part.labels)

    def evaluation_length(self, max_len: int, model_limit: int) -> int:
        """Every word of a sentence is scored, as the predictor reads it: cut at the model's limit."""
        return model_limit

    def split_inputs(self, inputs: Any, what: str) -> tuple[list[Any], bool]:
        """A text, a list of words (["C.", "Harris"] inside a list: ``[["C.", "Harris"]]``), or a
        list of either; raw text is cut into words by `split_words`."""
        from .. import checks

        if isinstance(inputs, str):
            return [inputs], True
        if isinstance(inputs, (list, tuple)) and any(isinstance(item, (list, tuple)) for item in inputs):
            items = []
            for i, item in enumerate(inputs):
                if isinstance(item, str):
                    items.append(item)
                    continue
                if not isinstance(item, (list, tuple)):
                    raise KtnbError(f"{what}: item {i} is a {type(item).__name__}, not a text or a list of words")
                items.append(_checked_words(list(item), i, what, fix="give each word as text"))
            return items, False
        return checks.texts(inputs, what)

    def encode_inputs(self, tokenizer: Any, inputs: Sequence[Any], max_len: int) -> Any:
        words = [split_words(text)[0] if isinstance(text, str) else list(text) for text in inputs]
        return self._encode_words(tokenizer, words, max_len, None)

    # ---------------------------------------------------------------- explanations

    explainable = True
    explains_one_output = False
    nothing_to_explain = "the model finds no entity in this text to explain"

    def explanation_choices(self, label_names: Sequence[str]) -> list[str]:
        """The entity types (an entity's own text may be named too)."""
        return sorted({str(name)[2:] for name in label_names if str(name) != "O"})

    def explanation_input(self, tokenizer: Any, item: Any, max_len: int) -> Any:
        """A text cut into words as `predict` cuts it (or a list of words, joined by spaces for
        the view), read as the tagger reads them; each token's word is a word of the text."""
        import torch

        from ..explain import ExplanationInput

        if isinstance(item, str):
            text = item
            words, offsets = split_words(text)
        else:
            words, offsets, at = list(item), [], 0
            for word in words:
                offsets.append((at, at + len(word)))
                at += len(word) + 1
            text = " ".join(words)
        if not words:
            raise KtnbError("explain: the text has no words to tag")
        enc = tokenizer([words], is_split_into_words=True, truncation=True, max_length=max_len)
        word_ids = enc.word_ids(0)
        token_words = [(0, *offsets[w], w) if w is not None else None for w in word_ids]
        inputs = {"input_ids": torch.tensor(enc["input_ids"]),
                  "attention_mask": torch.ones(1, len(word_ids), dtype=torch.long)}
        return ExplanationInput((text,), inputs, [token_words], (words, offsets, word_ids))

    def explanation_targets(self, output: Any, prepared: Any, target: Any, label_names: Sequence[str],
                            settings: dict[str, Any]) -> list[Any]:
        """One output per entity found (or per entity of the type or text `target` names): the
        mean probability of its words' tags (each word's first token, as the tagger reads it),
        which is the entity's score in `predict`."""
        import torch

        from ..explain import ExplanationTarget

        words, offsets, word_ids = prepared.extra
        text = prepared.texts[0]
        logits = output.logits[0].float().cpu().numpy()
        words_logits = self._word_logits(logits, word_ids, len(words))
        first_token = {w: t for t, w in reversed(list(enumerate(word_ids))) if w is not None}
        entities = entity_spans(to_iob2(self._tags(words_logits, label_names)))
        found = []
        for kind, first, last in entities:
            start, end = offsets[first][0], offsets[last - 1][1]
            if target is not None and target not in (kind, text[start:end]):
                continue
            positions = [first_token[w] for w in range(first, last) if w in first_token]
            tags = [int(np.argmax(logits[p])) for p in positions]
            value = float(np.mean([_softmax_max(logits[p]) for p in positions]))
            where, which = torch.tensor(positions), torch.tensor(tags)
            found.append(ExplanationTarget(
                f"{kind} {text[start:end]!r}", value,
                lambda out, where=where, which=which: out.logits.float().softmax(-1)[:, where, which].mean(-1)))
        if target is not None and not found:
            shown = ", ".join(f"{kind} {text[offsets[a][0]:offsets[b - 1][1]]!r}" for kind, a, b in entities)
            raise KtnbError(f"target {target!r} names no entity the model finds in this text (an entity type or an "
                            f"entity's text); it finds: {shown or 'none'}")
        return found

    # ---------------------------------------------------------------- outputs

    @staticmethod
    def _word_logits(logits: np.ndarray, word_ids: Sequence[int | None], n_words: int) -> list[np.ndarray | None]:
        """The logits of each word's first piece, by word index; None for a word with no piece (cut
        by truncation, or made only of what the tokenizer drops)."""
        out: list[np.ndarray | None] = [None] * n_words
        for position, word in enumerate(word_ids):
            if word is not None and word < n_words and out[word] is None:
                out[word] = logits[position]
        return out

    @staticmethod
    def _tags(words_logits: Sequence[np.ndarray | None], label_names: Sequence[str]) -> list[str]:
        return [label_names[int(np.argmax(w))] if w is not None else "O" for w in words_logits]

    @staticmethod
    def _word_count(examples: Any, row: int, inputs: Sequence[Any] | None) -> int:
        if inputs is not None:
            item = inputs[row]
            return len(split_words(item)[0]) if isinstance(item, str) else len(item)
        if examples.word_labels is not None:
            return len(examples.word_labels[row])
        return max((w for w in examples.word_ids[row] if w is not None), default=-1) + 1

    def report(self, logits: Any, labels: Sequence[Any], label_names: Sequence[str], loss: float | None,
               settings: dict[str, Any], examples: Any = None) -> TaggingReport:
        # every word is scored, from the word-level tags: a word with no token counts as tagged O
        gold = examples.word_labels if examples is not None and examples.word_labels is not None else \
            [[t for t in sentence if t >= 0] for sentence in labels]
        true = [[label_names[t] for t in sentence] for sentence in gold]
        # predictions read as the predictor reads them (an I- that opens an entity starts it, as in
        # conlleval), so that the report's entities are the ones `predict` gives
        predicted = [to_iob2(self._tags(self._word_logits(logits[row], examples.word_ids[row], len(true[row])),
                                        label_names)) for row in range(len(true))]
        return TaggingReport(true, predicted, loss)

    def decode(self, logits: Any, label_names: Sequence[str], settings: dict[str, Any],
               inputs: Sequence[Any] | None = None, examples: Any = None) -> list[Any]:
        """Entities of each input: for raw text, `Entity` spans with character offsets (the text
        cut into words by `split_words`, as tagged data is); for word lists (or with no inputs),
        the tag of every word."""
        results = []
        for row in range(len(logits)):
            words_logits = self._word_logits(logits[row], examples.word_ids[row],
                                             self._word_count(examples, row, inputs))
            tags = to_iob2(self._tags(words_logits, label_names))  # valid IOB2, as the report reads them
            text = inputs[row] if inputs is not None else None
            if not isinstance(text, str):
                results.append(tags)
                continue
            offsets = split_words(text)[1]
            found = []
            for kind, first, last in entity_spans(tags):
                start, end = offsets[first][0], offsets[last - 1][1]
                scores = [_softmax_max(w) for w in words_logits[first:last] if w is not None]
                found.append(Entity(kind, text[start:end], start, end, float(np.mean(scores))))
            results.append(found)
        return results

    def shown(self, example: Any) -> str:
        """A sentence as text: its words joined by spaces (what `split_words` cuts back into them)."""
        return " ".join(example) if isinstance(example, (list, tuple)) else str(example)

    def predictions_html(self, shown: Sequence[str], predictions: Sequence[Any], logits: Any,
                         label_names: Sequence[str]) -> str:
        """Each text with its entities highlighted by type (pre-split words: joined by spaces)."""
        from ..render.html import entities_html

        views = []
        for text, found in zip(shown, predictions):
            if found and isinstance(found[0], str):  # the tags of pre-split words
                offsets = split_words(text)[1]
                found = [Entity(kind, text[offsets[a][0]:offsets[b - 1][1]], offsets[a][0], offsets[b - 1][1], 1.0)
                         for kind, a, b in entity_spans(found)]
            views.append(entities_html(text, [(e.entity, e.start, e.end) for e in found]))
        return '<div class="ktnb-predictions">' + "".join(views) + "</div>"

    def example_losses(self, logits: Any, labels: Sequence[Any]) -> np.ndarray:
        losses = []
        for row, tags in zip(logits, labels):
            tags = np.asarray(tags)
            keep = tags >= 0
            if not keep.any():
                losses.append(0.0)
                continue
            scores = row[keep] - row[keep].max(axis=1, keepdims=True)
            log_proba = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
            losses.append(float(-log_proba[np.arange(keep.sum()), tags[keep]].mean()))
        return np.asarray(losses)


def _softmax_max(logits: np.ndarray) -> float:
    exp = np.exp(logits - logits.max())
    return float(exp.max() / exp.sum())
