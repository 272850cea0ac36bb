"""Extractive question answering: the answer to a question is a span of its context. The model's
head scores every token as the answer's start and as its end; a long context is read in
overlapping windows (`stride`), and the answer is the best-scoring span over all of them, at
most `max_answer_len` tokens long. Reports give exact match and F1 as the official SQuAD script
computes them, broken down by question word; SQuAD v2.0 data (unanswerable questions) adds the
no-answer accuracy, and its model may answer "" when no span beats the "no answer" score.

>>> task = ktnb.get_task("qa", stride=64)                                    # doctest: +SKIP
>>> data = task.load_data("squad/train.json", "squad/dev.json")              # doctest: +SKIP
>>> ktnb.text_learner(data).predictor().ask("Who founded it?", "Ann founded it in 1999.")  # doctest: +SKIP
Answer(answer='Ann', start=0, end=3, score=7.1)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import DataError, KtnbError
from ..metrics import counted, footer_lines
from .base import Task
from .qa_data import QAExample, looks_like_squad, read_qa_table, read_squad
from .qa_metrics import QAScores, qa_scores

#: the head's two outputs per token: the answer starts here, the answer ends here
OUTPUTS = ["start", "end"]


@dataclass
class Answer:
    """The answer found for a question: its text, where it is in the context (characters
    [start, end)), and its score (start and end logits added); "" with no span when the model
    says the context holds no answer (SQuAD v2.0)."""

    answer: str
    start: int
    end: int
    score: float
    #: the context it was found in (for views; not shown)
    context: str = field(default="", repr=False, compare=False)

    def __str__(self) -> str:
        return self.answer


def _cross_entropy(logits: np.ndarray, target: int) -> float:
    """-log softmax(logits)[target], computed stably."""
    top = float(logits.max())
    return float(top + np.log(np.exp(logits - top).sum()) - logits[target])


@dataclass
class Candidate:
    """One example's best span over its windows so far, and its "no answer" score (the lowest
    [CLS] start + end over the windows, as the SQuAD v2.0 post-processing takes it)."""

    start: int = -1
    end: int = -1
    score: float = -math.inf
    null_score: float = math.inf
    text: str = ""  # the span's characters in the context


@dataclass
class QAReport:
    """Exact match and F1 (0-100, official SQuAD) over the questions, by question word, with the
    no-answer accuracy on SQuAD v2.0 data and the model's loss."""

    scores: QAScores
    loss: float | None = None

    @property
    def n(self) -> int:
        return len(self.scores.exact)

    def summary(self, prefix: str = "val_") -> dict[str, float]:
        out = {f"{prefix}exact_match": self.scores.exact_match, f"{prefix}f1": self.scores.f1}
        if self.scores.no_answer_accuracy is not None:
            out[f"{prefix}no_answer_accuracy"] = self.scores.no_answer_accuracy
        return {f"{prefix}loss": self.loss, **out} if self.loss is not None else out

    @property
    def warning(self) -> str | None:
        """An untrained or collapsed model answers nothing at all, or the same few tokens."""
        if self.n >= 5 and self.scores.f1 == 0:
            return "no answer overlaps its reference: the model has not learnt the task yet; train longer"
        return None

    @property
    def headline(self) -> str:
        text = f"F1 {self.scores.f1:.1f}, exact match {self.scores.exact_match:.1f} on {counted(self, self.n, 'questions')}"
        if self.scores.no_answer_accuracy is not None:
            text += f", no-answer accuracy {self.scores.no_answer_accuracy:.1f}"
        return text + (f", loss {self.loss:.4f}" if self.loss is not None else "")

    def _rows(self) -> list[tuple[str, int, float, float]]:
        rows = [(word, n, em, f1) for word, (n, em, f1) in self.scores.by_word.items()]
        return rows + [("all", self.n, self.scores.exact_match, self.scores.f1)]

    def __str__(self) -> str:
        lines = [f"{'question':>10}  questions  exact match     F1", ""]
        lines += [f"{word:>10}  {n:9d}  {em:11.1f}  {f1:5.1f}" for word, n, em, f1 in self._rows()]
        return "\n".join(lines + footer_lines(10, self.loss, self.warning))

    def __repr__(self) -> str:
        return f"QAReport(f1={self.scores.f1:.1f}, exact_match={self.scores.exact_match:.1f}, n={self.n})"

    def _repr_html_(self) -> str:
        from ..render.html import metrics_html

        return metrics_html(self.headline, self._rows(), self.warning,
                            header=("question", "questions", "exact match", "F1"))

    def plot_question_words(self) -> Any:
        """F1 by question word (what, who, when, how many …), with how many questions each has."""
        from ..render.figures import bars_figure

        words = list(self.scores.by_word)
        return bars_figure(words, [self.scores.by_word[w][2] / 100 for w in words],
                           [self.scores.by_word[w][0] for w in words], "F1 (0-1)", "F1 by question word")

    def pictures(self) -> dict[str, Any]:
        return {"question_words": self.plot_question_words()}

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, **self.summary(""), "by_question_word": self.scores.by_word}


def _examples_from(source: Any, what: str, encoding: str) -> list[QAExample]:
    """Questions from a SQuAD JSON file, a CSV/TSV file or a DataFrame of question, context,
    answer_text and answer_start columns, a `datasets.Dataset` in SQuAD's hub format (id,
    question, context, answers {text, answer_start}), or a list of `QAExample`."""
    from ..hub_format import is_dataset, qa_examples

    if is_dataset(source):
        return qa_examples(source, what)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.suffix.lower() == ".json" or looks_like_squad(path):
            return read_squad(path, encoding=encoding)
        from ..data import read_table

        return read_qa_table(read_table(path, encoding=encoding), where=path.name)
    if hasattr(source, "columns") or isinstance(source, dict):
        return read_qa_table(source)
    if isinstance(source, list) and all(isinstance(e, QAExample) for e in source):
        return source
    raise DataError(f"can't read questions from a {type(source).__name__} ({what}); give a SQuAD JSON file, a "
                    "CSV file or DataFrame with question, context, answer_text and answer_start columns")


def _by_context_split(examples: list[QAExample], val_frac: float, seed: int) -> tuple[list[int], list[int]]:
    """Question indices (train, val) with `val_frac` of the contexts held out, whole: questions
    about one paragraph never sit on both sides, which would flatter the validation scores."""
    from ..data import random_split

    contexts = list(dict.fromkeys(e.context for e in examples))
    if len(contexts) < 2:
        raise DataError(f"the data has {len(contexts)} context; holding out val_frac of the contexts needs at least "
                        "two (or give a validation set)")
    _, val_rows = random_split(len(contexts), val_frac, seed)
    held = {contexts[i] for i in val_rows}
    return ([i for i, e in enumerate(examples) if e.context not in held],
            [i for i, e in enumerate(examples) if e.context in held])


class QuestionAnswering(Task):
    name = "qa"
    title = "extractive question answering"
    pipeline_task = None  # transformers 5 has no question-answering pipeline: AutoModelForQuestionAnswering
    head_modules = ("qa_outputs",)
    auto_model = "AutoModelForQuestionAnswering"
    metrics = {"val_loss": False, "val_f1": True, "val_exact_match": True, "val_no_answer_accuracy": True}
    pictures = ("question_words",)
    picture_titles = {"question_words": "F1 by question word"}
    default_monitor = "val_f1"
    model_noun = "question answering model"
    label_word = "answer"
    table_shape = None  # questions with contexts and answers: SQuAD files, or tables (see `load_data`)
    file_kind = "a SQuAD question answering file (JSON)"
    #: stride None: a third of the window (128 tokens at max_len 384, the Hugging Face examples' setting)
    option_defaults = {"stride": None, "max_answer_len": 30, "n_best": 20}
    answers_questions = True
    input_fields = ("question", "context")

    def check_option(self, name: str, value: Any) -> Any:
        from .. import checks

        if name == "stride" and value is None:
            return None
        least = {"stride": 0, "max_answer_len": 1, "n_best": 1}[name]
        return checks.whole_number(name, value, least, error=KtnbError)

    def stride(self, max_len: int) -> int:
        """Tokens shared by neighbouring windows at `max_len`."""
        return self.options["stride"] if self.options["stride"] is not None else max_len // 3

    # ---------------------------------------------------------------- data

    def recognises(self, sample: Any) -> bool:
        """A SQuAD JSON file, or a table with question and context columns."""
        if sample.path is not None:
            return looks_like_squad(sample.path) or (sample.frame is not None and
                                                     {"question", "context"} <= set(sample.frame.columns))
        return sample.frame is not None and {"question", "context"} <= set(sample.frame.columns)

    def load_data(self, source: Any, val: Any = None, **options: Any) -> Any:
        """`TextData` of questions (`texts`), their contexts (`pairs`) and reference answers
        (`labels`: (text, start) lists, empty for an unanswerable question) from a SQuAD JSON
        file, a CSV file or DataFrame (question, context, answer_text, answer_start), or a list of
        `QAExample`; `val` in the same forms, else `val_frac` of the contexts held out whole."""
        from .. import checks
        from ..data import LabelledTexts, TextData, texts_from_dataset

        if isinstance(source, dict):  # a DatasetDict: its splits
            return texts_from_dataset(source, task=self.name, val_frac=options.get("val_frac", 0.1),
                                      seed=options.get("seed", 42), max_train=options.get("max_train"))
        encoding = options.get("encoding") or "utf-8"
        examples = _examples_from(source, "training data", encoding)
        max_train = options.get("max_train")
        if max_train is not None:
            examples = examples[:checks.whole_number("max_train", max_train, error=DataError)]

        def part(rows: Sequence[QAExample]) -> Any:
            return LabelledTexts([e.question for e in rows], [list(e.answers) for e in rows],
                                 [e.context for e in rows])

        if val is not None:
            train, held = examples, _examples_from(val, "validation data", encoding)
        else:
            val_frac = options.get("val_frac", 0.1)
            if val_frac:
                train_rows, val_rows = _by_context_split(examples, val_frac, options.get("seed", 42))
                train, held = [examples[i] for i in train_rows], [examples[i] for i in val_rows]
            else:
                train, held = examples, []
        name = Path(source).name if isinstance(source, (str, os.PathLike)) else type(source).__name__
        return TextData(part(train), part(held) if held else None, list(OUTPUTS), name, task=self.name,
                        task_options=dict(self.options))

    def read_labelled(self, source: Any, text_col: str = "text", label_col: str = "label",
                      pair_col: str | None = None) -> tuple[list[Any], list[Any]]:
        if hasattr(source, "task") and hasattr(source, "train"):  # a TextData
            part = source.held_out()
            return list(zip(part.texts, part.pairs)), list(part.labels)
        examples = _examples_from(source, "evaluation data", "utf-8")
        return [(e.question, e.context) for e in examples], [list(e.answers) for e in examples]

    def labelled(self, items: list[Any], raw_labels: list[Any], label_names: Sequence[str], where: str) -> Any:
        from ..data import LabelledTexts

        return LabelledTexts([q for q, _ in items], [list(a) for a in raw_labels], [c for _, c in items])

    def describe_labels(self, label_names: Sequence[str]) -> tuple[str, str]:
        return "outputs", "the answer's start and end token"

    def readable(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        return [" | ".join(dict.fromkeys(text for text, _ in answers)) or "(no answer)" for answers in labels]

    def raw_labels(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        return [list(answers) for answers in labels]

    def metric_inputs(self, labels: Sequence[Any], label_names: Sequence[str], predictions: Sequence[Any]) \
            -> tuple[list[Any], list[Any]]:
        """Each question's reference answer texts (a list; empty when unanswerable) and the answer text."""
        return [[text for text, _ in answers] for answers in labels], [a.answer for a in predictions]

    def shown(self, example: Any) -> str:
        if isinstance(example, tuple):
            question, context = example
            return f"{question} | {context}"
        return str(example)  # a question alone (a data sample)

    def split_inputs(self, inputs: Any, what: str) -> tuple[list[Any], bool] | None:
        """(question, context) tuples, or one alone; each must have text."""
        single = isinstance(inputs, tuple)
        items = [inputs] if single else list(inputs) if isinstance(inputs, list) else None
        if items is None or not all(isinstance(p, tuple) and len(p) == 2 and all(isinstance(t, str) for t in p)
                                    for p in items):
            raise KtnbError(f"{what}: a question answering model reads (question, context) tuples; give one or a "
                            "list of them (or use ask(question, context))")
        for i, (question, context) in enumerate(items):
            if not question.strip() or not context.strip():
                raise KtnbError(f"{what}: item {i} has an empty {'question' if not question.strip() else 'context'}; "
                                "give both a question and a context with text")
        return items, single

    # ---------------------------------------------------------------- model

    def num_labels(self, label_names: Sequence[str]) -> int:
        return 2

    def encode(self, tokenizer: Any, part: Any, max_len: int) -> Any:
        from .qa_features import encode_questions

        return encode_questions(tokenizer, part.texts, part.pairs, max_len, self.stride(max_len), part.labels)

    def encode_inputs(self, tokenizer: Any, inputs: Sequence[Any], max_len: int) -> Any:
        from .qa_features import encode_questions

        return encode_questions(tokenizer, [q for q, _ in inputs], [c for _, c in inputs], max_len,
                                self.stride(max_len))

    def evaluation_length(self, max_len: int, model_limit: int) -> int:
        """The windows the predictor reads (the model's limit): the report scores the answers a
        user gets, whatever `max_len` training was cut at."""
        return model_limit

    # ---------------------------------------------------------------- outputs

    def outputs(self, runner: Any, examples: Any) -> Any:
        """Each example's best span over its windows and its "no answer" score, kept as the
        batches come (a window's start and end logits are dropped once its best span is
        known), with the model's mean loss when the windows have targets."""
        from ..inference import Outputs
        from .qa_features import best_span

        candidates = [Candidate() for _ in range(examples.n_examples)]
        loss_sum, rows = 0.0, 0
        targets = examples.targets
        for batch in runner.forward(examples, keep=("start_logits", "end_logits")):
            for j, row in enumerate(batch.index):
                length = int(examples.lengths[row])
                start, end = batch.outputs["start_logits"][j, :length], batch.outputs["end_logits"][j, :length]
                if targets:
                    # over the window's own tokens: the model's loss also spreads its softmax over
                    # the batch's padding, so it changed with which windows shared a batch
                    loss_sum += (_cross_entropy(start, targets["start_positions"][row])
                                 + _cross_entropy(end, targets["end_positions"][row])) / 2
                    rows += 1
                best = candidates[examples.example_ids[row]]
                best.null_score = min(best.null_score, float(start[0] + end[0]))
                span = best_span(start, end, examples.offsets[row], self.options["n_best"],
                                 self.options["max_answer_len"])
                if span is not None and span.score > best.score:
                    context = examples.example_inputs[examples.example_ids[row]][1]
                    best.start, best.end, best.score = span.start, span.end, span.score
                    best.text = context[span.start:span.end]
        return Outputs(candidates, loss_sum / rows if rows else None, float(rows))

    def tune(self, logits: Any, labels: Sequence[Any], settings: dict[str, Any]) -> dict[str, Any]:
        """Answer "" when "no answer" scores best only if the validation data has unanswerable
        questions (SQuAD v2.0); a v1.1 model always gives its best span."""
        return {"no_answer": any(not answers for answers in labels)}

    def decode(self, logits: Any, label_names: Sequence[str], settings: dict[str, Any],
               inputs: Sequence[Any] | None = None, examples: Any = None) -> list[Answer]:
        contexts = [c for _, c in (inputs if inputs is not None else examples.example_inputs)]
        answers = []
        for candidate, context in zip(logits, contexts):
            if candidate.start < 0 or (settings.get("no_answer") and candidate.null_score > candidate.score):
                null = candidate.null_score if math.isfinite(candidate.null_score) else 0.0
                answers.append(Answer("", 0, 0, null, context))
            else:
                answers.append(Answer(candidate.text, candidate.start, candidate.end, candidate.score, context))
        return answers

    # ---------------------------------------------------------------- explanations

    explainable = True
    explains_one_output = False

    def explanation_choices(self, label_names: Sequence[str]) -> list[str]:
        return []  # the answer found is explained, its start and its end

    def explanation_input(self, tokenizer: Any, item: Any, max_len: int) -> Any:
        """The question with each window of its context, as `predict` reads them."""
        from ..explain import tokenize_texts

        self.encode_inputs(tokenizer, [item], max_len)  # a question too long for max_len: one line
        return tokenize_texts(tokenizer, item, max_len, truncation="only_second", stride=self.stride(max_len),
                              return_overflowing_tokens=True)

    def explanation_targets(self, output: Any, prepared: Any, target: Any, label_names: Sequence[str],
                            settings: dict[str, Any]) -> list[Any]:
        """The answer's start and its end: the probability (over its window's tokens) that the
        span starts at its first token, and that it ends at its last, in the window where
        `predict` finds it (the best span over the windows)."""
        from ..explain import ExplanationTarget
        from .qa_features import best_span

        if target is not None:
            raise KtnbError("a question answering model explains the answer it finds (its start and its end); "
                            "leave target out")
        enc = prepared.extra
        best, null = None, float("inf")
        for row in range(len(enc["input_ids"])):
            length = int(enc["attention_mask"][row].sum())
            sequence = enc.sequence_ids(row)
            offsets = [tuple(span) if sequence[t] == 1 else None
                       for t, span in enumerate(enc["offset_mapping"][row][:length].tolist())]
            start = output.start_logits[row, :length].float().cpu().numpy()
            end = output.end_logits[row, :length].float().cpu().numpy()
            null = min(null, float(start[0] + end[0]))  # the "no answer" score, as `outputs` keeps it
            span = best_span(start, end, offsets, self.options["n_best"], self.options["max_answer_len"])
            if span is not None and (best is None or span.score > best[1].score):
                best = (row, span, length)
        if best is None:
            raise KtnbError("the model finds no answer in this context to explain")
        row, span, length = best
        if settings.get("no_answer") and null > span.score:  # as `decode` answers: nothing
            raise KtnbError("the model says this context holds no answer (its no-answer score beats every span); "
                            "there is no answer to explain")
        first, last = span.first_token, span.last_token
        answer = prepared.texts[1][span.start:span.end]

        def probability(name: str, token: int) -> Any:
            return lambda out: getattr(out, name).float()[:, :length].softmax(-1)[:, token]

        found = []
        for name, token, which in (("start_logits", first, "start"), ("end_logits", last, "end")):
            value = float(getattr(output, name)[row, :length].float().softmax(-1)[token])
            found.append(ExplanationTarget(f"the {which} of {answer!r}", value, probability(name, token), row))
        return found

    def report(self, logits: Any, labels: Sequence[Any], label_names: Sequence[str], loss: float | None,
               settings: dict[str, Any], examples: Any = None) -> QAReport:
        predicted = [a.answer for a in self.decode(logits, label_names, settings, None, examples)]
        references = [[text for text, _ in answers] for answers in labels]
        return QAReport(qa_scores(predicted, references, [q for q, _ in examples.example_inputs]), loss)

    def example_losses(self, logits: Any, labels: Sequence[Any]) -> np.ndarray:
        """How badly each question is answered, for `top_losses`: 100 minus its F1 (the worst
        answered first), as the span scores have no per-question loss once reduced."""
        from .qa_metrics import f1

        return np.asarray([100.0 - f1(candidate.text, [text for text, _ in answers])
                           for candidate, answers in zip(logits, labels)])

    def predictions_html(self, shown: Sequence[str], predictions: Sequence[Any], logits: Any,
                         label_names: Sequence[str]) -> str:
        """Each question with its context, the answer highlighted in it."""
        from html import escape

        from ..render.html import entities_html

        views = []
        for text, answer in zip(shown, predictions):
            context = answer.context
            question = text[: len(text) - len(context) - 3]  # `shown` is "question | context"
            spans = [("answer", answer.start, answer.end)] if answer.answer else []
            said = escape(answer.answer) if answer.answer else "(no answer in the context)"
            views.append(f"<div><b>{escape(question)}</b> → {said}</div>" + entities_html(context, spans))
        return '<div class="ktnb-predictions">' + "".join(views) + "</div>"
