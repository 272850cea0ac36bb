"""Extractive question answering data: SQuAD v1.1 and v2.0 JSON files, and tables with a
question, a context, and an answer's text and start, read as `QAExample` lists and checked.

Every answer must sit where it says it does (``context[answer_start:][:len(text)] == text``);
an answer that does not is one line naming its question, since a misplaced answer trains the
model on the wrong span without any sign.

>>> rows = read_qa_table({"question": ["Who wrote it?"], "context": ["Ann wrote it."],
...                       "answer_text": ["Ann"], "answer_start": [0]})
>>> rows[0].answers, rows[0].answerable
([('Ann', 0)], True)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataError


@dataclass
class QAExample:
    """One question about one context, with its reference answers as (text, character start);
    no answers means the question is unanswerable from the context (SQuAD v2.0)."""

    id: str
    question: str
    context: str
    answers: list[tuple[str, int]] = field(default_factory=list)
    title: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def _text(value: Any, what: str, qid: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        shown = "empty" if isinstance(value, str) else "missing" if value is None else f"a {type(value).__name__}"
        raise DataError(f"{where}: the {what} of question {qid!r} is {shown}; every question needs a {what} with text")
    return value


def checked_answers(raw: Sequence[Any], context: str, qid: str, where: str) -> list[tuple[str, int]]:
    answers = []
    for answer in raw:
        text, start = (answer.get("text"), answer.get("answer_start")) if isinstance(answer, dict) else answer
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: question {qid!r} has an answer with no text; give its text, or no answers "
                            "for an unanswerable question (SQuAD v2.0)")
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            if isinstance(start, float) and start.is_integer() and start >= 0:
                start = int(start)
            else:
                raise DataError(f"{where}: question {qid!r} has answer_start {start!r}; it must be the character "
                                "offset (a whole number from 0) of the answer in its context")
        if context[start:start + len(text)] != text:
            found = context.find(text)
            hint = f" (it occurs at {found})" if found >= 0 else " (it does not occur in the context)"
            raise DataError(f"{where}: the answer {text[:40]!r} of question {qid!r} is not at answer_start {start}"
                            f"{hint}; fix answer_start")
        answers.append((text, start))
    return answers


def read_squad(path: str | os.PathLike, version: str | None = None, encoding: str = "utf-8") -> list[QAExample]:
    """The questions of a SQuAD-format JSON file (``{"data": [{"title", "paragraphs": [{"context",
    "qas": [{"id", "question", "answers": [{"text", "answer_start"}], "is_impossible"}]}]}]}``).

    `version` ("1.1" or "2.0") is read from the file when not given; a v2.0 file (it has
    unanswerable questions) read as v1.1 is refused rather than losing those questions."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    try:
        document = json.loads(path.read_text(encoding=encoding))
    except UnicodeDecodeError as err:
        raise DataError(f"{path.name} is not {encoding} text (byte 0x{err.object[err.start]:02x}); pass the file's "
                        "encoding") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path.name} is not JSON ({err.msg} on line {err.lineno}); a SQuAD file is one JSON "
                        "object with a 'data' list") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise DataError(f"{path.name} has no 'data' list: it is not a SQuAD-format file")
    if version is not None and str(version) not in ("1.1", "2.0"):
        raise DataError(f"version must be '1.1' or '2.0', got {version!r}")
    examples: list[QAExample] = []
    where = path.name
    declared = str(version or document.get("version", "1.1")).lstrip("v")
    for article in document["data"]:
        title = str(article.get("title", "")) if isinstance(article, dict) else ""
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise DataError(f"{where}: article {title or len(examples)!r} has no 'paragraphs' list")
        for paragraph in paragraphs:
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("qas"), list):
                raise DataError(f"{where}: a paragraph of article {title!r} has no 'qas' list")
            for qa in paragraph["qas"]:
                qid = str(qa.get("id", len(examples))) if isinstance(qa, dict) else str(len(examples))
                if not isinstance(qa, dict):
                    raise DataError(f"{where}: question {qid!r} is not an object with a question and answers")
                context = _text(paragraph.get("context"), "context", qid, where)
                question = _text(qa.get("question"), "question", qid, where)
                raw = qa.get("answers") or []
                impossible = bool(qa.get("is_impossible", False)) or (not raw and declared == "2.0")
                if not raw and not impossible:
                    raise DataError(f"{where}: question {qid!r} has no answers; give its answers, or mark it "
                                    "is_impossible (SQuAD v2.0)")
                if impossible and version == "1.1":
                    raise DataError(f"{where} is SQuAD v2.0 (question {qid!r} is unanswerable); read it with "
                                    "version='2.0'")
                answers = [] if impossible else checked_answers(raw, context, qid, where)
                examples.append(QAExample(qid, question, context, answers, title))
    if not examples:
        raise DataError(f"{where} has no questions")
    check_unique_ids(examples, where)
    return examples


def check_unique_ids(examples: Sequence[QAExample], where: str) -> None:
    seen: set[str] = set()
    for example in examples:
        if example.id in seen:
            raise DataError(f"{where}: question id {example.id!r} appears twice; ids must be unique")
        seen.add(example.id)


def read_qa_table(table: Any, question_col: str = "question", context_col: str = "context",
                  answer_col: str = "answer_text", start_col: str = "answer_start", id_col: str = "id",
                  where: str = "DataFrame") -> list[QAExample]:
    """Questions from a DataFrame (or a dict of columns): a question, a context, the answer's
    text and its character start. A cell may hold a list of answers and a list of starts (several
    references); an empty or missing answer marks an unanswerable question."""
    import pandas as pd

    frame = table if hasattr(table, "columns") else pd.DataFrame(table)
    for col, what in ((question_col, "question_col"), (context_col, "context_col"), (answer_col, "answer_col"),
                      (start_col, "start_col")):
        if col not in frame.columns:
            raise DataError(f"{where} has no column {col!r} (set {what}); available columns: "
                            + ", ".join(map(str, frame.columns)))
    examples = []
    for row, record in enumerate(frame.to_dict("records")):
        qid = str(record[id_col]) if id_col in frame.columns else str(row)
        context = _text(record[context_col], "context", qid, where)
        question = _text(record[question_col], "question", qid, where)
        texts, starts = record[answer_col], record[start_col]
        if not isinstance(texts, (list, tuple)) and hasattr(texts, "tolist"):
            texts, starts = texts.tolist(), starts.tolist() if hasattr(starts, "tolist") else starts
        if isinstance(texts, (list, tuple)):
            if not isinstance(starts, (list, tuple)) or len(starts) != len(texts):
                raise DataError(f"{where}: question {qid!r} has {len(texts)} answers but answer starts "
                                f"{starts!r}; give one start per answer")
            pairs = list(zip(texts, starts))
        elif texts is None or (isinstance(texts, float) and texts != texts) or texts == "":
            pairs = []
        else:
            pairs = [(texts, starts)]
        examples.append(QAExample(qid, question, context, checked_answers(pairs, context, qid, where)))
    if not examples:
        raise DataError(f"{where} has no questions")
    check_unique_ids(examples, where)
    return examples


def looks_like_squad(path: str | os.PathLike) -> bool:
    """A .json file whose start reads like SQuAD: a "data" list of articles with paragraphs."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() != ".json":
        return False
    with open(path, encoding="utf-8", errors="replace") as handle:
        head = handle.read(4096)
    return '"data"' in head and '"paragraphs"' in head


__all__ = ["QAExample", "read_squad", "read_qa_table", "looks_like_squad", "checked_answers", "check_unique_ids"]
