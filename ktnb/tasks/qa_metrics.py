"""Extractive question answering scores as the official SQuAD scripts define them: exact match
and token F1 after normalising both answers (lower case, no punctuation, no articles a/an/the,
single spaces), the best over a question's reference answers; for SQuAD v2.0 an unanswerable
question scores 1 when the prediction is empty and 0 otherwise. Scores are percentages, as
the SQuAD leaderboard reports them.

>>> exact_match("The Eiffel Tower!", ["eiffel tower"]), round(f1("in the Eiffel Tower", ["Eiffel Tower"]), 1)
(100.0, 80.0)
>>> scores = qa_scores(["Paris", ""], [["Paris", "paris, France"], []], ["Where is it?", "Who is he?"])
>>> scores.exact_match, scores.f1, scores.no_answer_accuracy
(100.0, 100.0, 100.0)
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)

#: question words the report breaks F1 down by, the longer ones first ("how many" before "how")
QUESTION_WORDS = ("how many", "how much", "how long", "what", "which", "who", "whom", "whose", "when", "where",
                  "why", "how")


def normalize_answer(text: str) -> str:
    """The official SQuAD normalisation: lower case, punctuation removed, the articles a, an and
    the removed, runs of whitespace made one space.

    >>> normalize_answer("The  Beatles' 'White Album'")
    'beatles white album'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _exact(prediction: str, truth: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(truth))


def _f1(prediction: str, truth: str) -> float:
    predicted, true = normalize_answer(prediction).split(), normalize_answer(truth).split()
    if not predicted or not true:  # SQuAD v2.0: both empty (no answer) is a match, one empty is not
        return float(predicted == true)
    common = sum((Counter(predicted) & Counter(true)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(true)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, references: Sequence[str]) -> float:
    """100 when `prediction` equals one of the `references` once normalised, else 0; with no
    references (an unanswerable question) 100 only for an empty prediction."""
    references = list(references) or [""]
    return 100.0 * max(_exact(prediction, truth) for truth in references)


def f1(prediction: str, references: Sequence[str]) -> float:
    """The token F1 (0-100) of `prediction` against its best-matching reference, normalised."""
    references = list(references) or [""]
    return 100.0 * max(_f1(prediction, truth) for truth in references)


def question_word(question: str) -> str:
    """What a question asks for, by its question word ("how many", "what", …; "other" when it has
    none), for the report's breakdown.

    >>> question_word("In which year did it open?"), question_word("How many people live there?")
    ('which', 'how many')
    """
    words = question.lower().replace("?", " ").split()
    text = " " + " ".join(words) + " "
    found = [(text.find(f" {word} "), -len(word), word) for word in QUESTION_WORDS if f" {word} " in text]
    return min(found)[2] if found else "other"


@dataclass
class QAScores:
    """Per-question exact match and F1 (0-100) with their means, by question word, and for
    SQuAD v2.0 data the accuracy on the unanswerable questions (None without any)."""

    exact: list[float]
    f1s: list[float]
    words: list[str]
    answerable: list[bool]
    by_word: dict[str, tuple[int, float, float]] = field(init=False)  # word -> (questions, EM, F1)

    def __post_init__(self) -> None:
        groups: dict[str, list[int]] = {}
        for i, word in enumerate(self.words):
            groups.setdefault(word, []).append(i)
        self.by_word = {word: (len(rows), _mean([self.exact[i] for i in rows]), _mean([self.f1s[i] for i in rows]))
                        for word, rows in sorted(groups.items(), key=lambda item: -len(item[1]))}

    @property
    def exact_match(self) -> float:
        return _mean(self.exact)

    @property
    def f1(self) -> float:
        return _mean(self.f1s)

    @property
    def no_answer_accuracy(self) -> float | None:
        unanswerable = [e for e, answerable in zip(self.exact, self.answerable) if not answerable]
        return _mean(unanswerable) if unanswerable else None


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def qa_scores(predictions: Sequence[str], references: Sequence[Sequence[str]],
              questions: Sequence[str]) -> QAScores:
    """Exact match and F1 of each prediction against its question's reference answers (an empty
    list: unanswerable), and the question words they are broken down by."""
    if not len(predictions) == len(references) == len(questions):
        raise ValueError(f"{len(predictions)} predictions, {len(references)} reference lists and {len(questions)} "
                         "questions: they must be as many")
    return QAScores([exact_match(p, r) for p, r in zip(predictions, references)],
                    [f1(p, r) for p, r in zip(predictions, references)],
                    [question_word(q) for q in questions], [bool(list(r)) for r in references])


__all__ = ["normalize_answer", "exact_match", "f1", "question_word", "qa_scores", "QAScores", "QUESTION_WORDS"]
