"""Translation and summarisation: fine-tune a model to write a target text for each source text,
scored on what it writes the way the field scores it (chrF and BLEU through sacrebleu for
translation, ROUGE for summaries), besides the loss on the reference targets.

Two kinds of model do it. An encoder-decoder (T5, BART, Marian, mT5) reads the source, with the
prefix its model expects (T5's "translate English to French: "), and writes the target; it is
saved as a folder `AutoModelForSeq2SeqLM` loads. A decoder-only language model (SmolLM2) reads a
prompt built from the source ("Translate English to French.\\nEnglish: …\\nFrench:") and writes
the target after it, to the end of the line; its folder gives the same text in
`pipeline("text-generation")` with the same prompt. Which kind a model is, is read from its
config when the model is loaded (the task's `decoder_only` option), and saved with it.

Validation after each epoch writes the first `val_generate` examples of the set (writing is slow
on a CPU); `evaluate` writes them all.

>>> report = Seq2SeqReport(scores={"chrf": 52.0, "bleu": 21.5}, nll=120.0, tokens=100, n_written=2, n_total=2)
>>> report.summary()
{'val_loss': 1.2, 'val_chrf': 52.0, 'val_bleu': 21.5}
>>> report.headline
'chrF 52.00, BLEU 21.50 on 2 examples written, loss 1.2000'
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import DataError, KtnbError, ModelError
from ..metrics import counted, footer_lines
from .base import DataSample, Task
from .writing_explained import ExplainsWriting
from .seq2seq_data import (check_known_language, encoder_decoder_rows, language_name, one_line, read_pairs,
                           summary_prompt, translation_prompt, warn_cut)
from .seq2seq_metrics import SCORE_NAMES, sentence_scores, signature, text_scores

#: rows the report's tables show: the first examples written, and those scored worst
SHOWN_ROWS = 5
#: what a decoder-only model's writing ends at besides its end-of-text token: the prompt is one
#: line per part, so the target is the rest of its line
LINE_END = "\n"


@dataclass
class WrittenOutputs:
    """A labelled set's outputs: each example's summed loss on its reference target and the
    tokens it scores (an (n, 2) array), and what the model wrote for the examples it was asked
    to (all of them at `evaluate`, the first `val_generate` after an epoch)."""

    losses: np.ndarray
    written: dict[int, str]


@dataclass
class Seq2SeqReport:
    """Scores of what the model wrote against the references (0-100), the loss on the
    references' tokens, and tables of examples: the first written, and the worst scored."""

    scores: dict[str, float]
    nll: float
    tokens: int
    n_written: int
    n_total: int
    #: (source, reference, written, its own score) for each example written, in the set's order
    rows: list[tuple[str, str, str, float]] = field(default_factory=list)
    #: what sacrebleu (or rouge-score) computed each score with
    signatures: dict[str, str] = field(default_factory=dict)
    split: str = ""

    @property
    def loss(self) -> float | None:
        return self.nll / self.tokens if self.tokens else None

    def summary(self, prefix: str = "val_") -> dict[str, float]:
        out = {f"{prefix}loss": self.loss} if self.loss is not None else {}
        return {**out, **{f"{prefix}{name}": value for name, value in self.scores.items()}}

    @property
    def warning(self) -> str | None:
        written = [row[2] for row in self.rows]
        if written and not any(w.strip() for w in written):
            return "the model wrote nothing for every example: train longer, or check max_target_len"
        if len(written) >= 5 and len(set(written)) == 1:
            return f"the model writes the same text for every example ({written[0][:40]!r}): train longer or " \
                   "lower the learning rate"
        return None

    @property
    def headline(self) -> str:
        scores = ", ".join(f"{SCORE_NAMES[name]} {value:.2f}" for name, value in self.scores.items())
        of = f"{self.n_written} of {self.n_total}" if self.n_written < self.n_total else str(self.n_written)
        noun = counted(self, 0, "examples").split(" ", 1)[1]
        loss = f", loss {self.loss:.4f}" if self.loss is not None else ""
        if not self.scores:
            return f"loss {self.loss:.4f} on {counted(self, self.n_total)}" if self.loss is not None else \
                f"nothing scored in {counted(self, self.n_total)}"
        return f"{scores} on {of} {noun} written{loss}"

    def worst(self, n: int = SHOWN_ROWS) -> list[tuple[str, str, str, float]]:
        """The `n` examples written worst by their own score."""
        return sorted(self.rows, key=lambda row: row[3])[:n]

    def __str__(self) -> str:
        lines = [f"{SCORE_NAMES[name]:>8}  {value:.2f}   ({self.signatures.get(name, '')})"
                 for name, value in self.scores.items()]
        lines += [f"{'written':>8}  {self.n_written} of {self.n_total}"]
        lines += [f"{'example':>8}  {src!r} -> {out!r} (reference {ref!r})" for src, ref, out, _ in
                  self.rows[:SHOWN_ROWS]]
        return "\n".join(lines + footer_lines(8, self.loss, self.warning))

    def __repr__(self) -> str:
        scores = ", ".join(f"{name}={value:.2f}" for name, value in self.scores.items())
        return f"Seq2SeqReport({scores}, loss={self.loss}, written={self.n_written}/{self.n_total})"

    def _repr_html_(self) -> str:
        from ..render.html import escape, metrics_html, shorten, table_html

        rows = [(SCORE_NAMES[name], round(value, 2)) for name, value in self.scores.items()]
        rows += [("loss", round(self.loss, 4) if self.loss is not None else ""), ("written", self.n_written)]
        html = metrics_html(self.headline, rows, self.warning, css_class="ktnb-report")
        if self.signatures:
            html += "".join(f'<div class="ktnb-signature" style="font-size:85%;color:#555">'
                            f'{escape(SCORE_NAMES[name])}: {escape(sig)}</div>' for name, sig in self.signatures.items())
        first = next(iter(self.scores), None)
        header = ("source", "reference", "written", SCORE_NAMES[first] if first else "score")

        def shown(rows: list[tuple[str, str, str, float]]) -> list[tuple[str, str, str, float]]:
            return [(shorten(s), shorten(r), shorten(w), round(v, 2)) for s, r, w, v in rows]

        if self.rows:
            html += table_html(header, shown(self.rows[:SHOWN_ROWS]), "what it writes", css_class="ktnb-samples")
            html += table_html(header, shown(self.worst()), "written worst", css_class="ktnb-worst")
        return html

    def pictures(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {"written": self.n_written, "examples": self.n_total, **self.summary("")}


def row_losses(out: Any, inputs: dict[str, Any], shifted: bool) -> dict[str, np.ndarray]:
    """Each row's summed loss on its scored target tokens and how many it scores, a row at a
    time (no more than one row's vocabulary-wide log-probabilities at once). A decoder-only
    model predicts each token from those before it (`shifted`); an encoder-decoder's logits
    stand beside its labels."""
    import torch

    from ..batching import IGNORED_LABEL

    labels = inputs["labels"][:, 1:] if shifted else inputs["labels"]
    nll, tokens = [], []
    for row in range(labels.shape[0]):
        logits = (out.logits[row, :-1] if shifted else out.logits[row]).detach().float()
        nll.append(float(torch.nn.functional.cross_entropy(logits, labels[row], ignore_index=IGNORED_LABEL,
                                                           reduction="sum")))
        tokens.append(int((labels[row] != IGNORED_LABEL).sum()))
    return {"nll": np.asarray(nll, dtype=np.float64), "tokens": np.asarray(tokens, dtype=np.int64)}


def check_can_write(config: Any, task: str) -> None:
    """An encoder-only model (BERT, MiniLM) reads text but cannot write it."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    model_type = getattr(config, "model_type", "")
    if getattr(config, "is_encoder_decoder", False):
        return
    if model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not getattr(config, "is_decoder", False):
        raise ModelError(f"{model_type} is an encoder-only model: it reads text but cannot write it; task {task} needs "
                         "an encoder-decoder (t5-small, facebook/bart-base, a Helsinki-NLP/opus-mt model) or a "
                         "decoder-only language model (SmolLM2)")


class Seq2Seq(ExplainsWriting, Task):
    """What translation and summarisation share; each sets its scores, prompt and words."""

    head_modules = ()
    writes_text = True
    labels_are_classes = False
    table_shape = None  # (source, target) pairs: the task reads them (`load_data`)
    #: the scores of what it writes (names in `seq2seq_metrics.SCORE_NAMES`), the first the monitor's
    scores: tuple[str, ...] = ()
    #: the prefix T5 was pre-trained to read before such a task's source (None: none)
    t5_prefix: str | None = None
    #: source_lang, target_lang: the languages (names or the hub's codes), for prompts, T5's prefix and
    #: the hub's translation rows; prefix: what an encoder-decoder reads before each source (None: the
    #: one its model expects, T5's, else none); max_target_len: a target's tokens at most, in training
    #: and when writing; num_beams: beam search when writing (1: greedy); val_generate: the examples
    #: written and scored after each epoch (0: the loss alone); decoder_only: the model's kind, read
    #: from its config when it is loaded
    option_defaults = {"source_lang": None, "target_lang": None, "prefix": None, "max_target_len": 128,
                       "num_beams": 1, "val_generate": 200, "decoder_only": None}

    def check_option(self, name: str, value: Any) -> Any:
        from .. import checks

        if name in ("source_lang", "target_lang", "prefix"):
            if value is not None and not isinstance(value, str):
                raise KtnbError(f"task {self.name}: {name} must be a text, got {value!r}")
            return value
        if name == "decoder_only":
            if value is not None and not isinstance(value, bool):
                raise KtnbError(f"task {self.name}: decoder_only must be true, false or None (read from the model)")
            return value
        return checks.whole_number(name, value, 0 if name == "val_generate" else 1, error=KtnbError)

    # ---------------------------------------------------------------- what the model is

    @property
    def decoder_only(self) -> bool:
        return bool(self.options["decoder_only"])

    @property
    def auto_model(self) -> str:  # type: ignore[override]
        return "AutoModelForCausalLM" if self.decoder_only else "AutoModelForSeq2SeqLM"

    @property
    def peft_task_type(self) -> str:  # type: ignore[override]
        return "CAUSAL_LM" if self.decoder_only else "SEQ_2_SEQ_LM"

    @property
    def pipeline_task(self) -> str | None:  # type: ignore[override]
        # transformers 5 has no translation or summarization pipeline: AutoModelForSeq2SeqLM + generate
        return "text-generation" if self.decoder_only else None

    @property
    def metrics(self) -> dict[str, bool]:  # type: ignore[override]
        # with val_generate 0 an epoch writes nothing, so its only tracked number is the loss
        scored = self.scores if self.options["val_generate"] else ()
        return {"val_loss": False, **{f"val_{name}": True for name in scored}}

    @property
    def default_monitor(self) -> str:  # type: ignore[override]
        return f"val_{self.scores[0]}" if self.options["val_generate"] else "val_loss"

    def for_model(self, config: Any) -> Seq2Seq:
        """This task with what the model `config` settles: whether it is decoder-only, and the
        prefix it reads before a source (T5's, unless one was given)."""
        check_can_write(config, self.name)
        decoder_only = not getattr(config, "is_encoder_decoder", False)
        if self.options["decoder_only"] is not None and self.options["decoder_only"] != decoder_only:
            kind = "decoder-only" if self.decoder_only else "encoder-decoder"
            raise ModelError(f"this {self.name} was set up for a {kind} model, and "
                             f"{getattr(config, 'model_type', 'this model')} is not one; load the model it was trained "
                             "with")
        positions = getattr(config, "max_position_embeddings", None)
        if not decoder_only and isinstance(positions, int) and self.options["max_target_len"] > positions:
            raise ModelError(f"max_target_len={self.options['max_target_len']} is more than the {positions} tokens "
                             f"this {getattr(config, 'model_type', 'model')}'s decoder reads; lower it")
        prefix = self.options["prefix"]
        if prefix is None:
            prefix = self.t5_prefix_for() if getattr(config, "model_type", "") == "t5" and not decoder_only else ""
        if (decoder_only, prefix) == (self.options["decoder_only"], self.options["prefix"]):
            return self
        return type(self)(**{**self.options, "decoder_only": decoder_only, "prefix": prefix})

    def t5_prefix_for(self) -> str:
        return self.t5_prefix or ""

    def check_training(self) -> None:
        """The packages its scores need, asked before training rather than after an epoch."""
        from .seq2seq_metrics import require

        for score in self.scores:
            require(score)

    def configure(self, config: Any, label_names: Sequence[str]) -> bool:
        """A model that writes keeps its head (the vocabulary)."""
        check_can_write(config, self.name)
        return True

    def num_labels(self, label_names: Sequence[str]) -> int:
        return 0

    # ---------------------------------------------------------------- data

    def recognises(self, sample: DataSample) -> bool:
        frame = sample.frame
        if frame is None:
            return False
        columns = set(map(str, frame.columns))
        return any(pair <= columns for pair in self.column_pairs)

    #: column pairs in a table that say its data is this task's (`recognises`)
    column_pairs: tuple[set[str], ...] = ()

    def _reading(self, options: dict[str, Any]) -> dict[str, Any]:
        return {"text_col": options.get("text_col") or "text", "label_col": options.get("label_col") or "label",
                "encoding": options.get("encoding") or "utf-8", "source_lang": self.options["source_lang"],
                "target_lang": self.options["target_lang"]}

    def load_data(self, source: Any, val: Any = None, **options: Any) -> Any:
        """`TextData` of (source, target) pairs from anything `read_pairs` reads; `val` the
        same way, else `val_frac` of the pairs held out, seeded.

        >>> data = ktnb.get_task("translation", source_lang="en", target_lang="fr").load_data(
        ...     "train.csv", "dev.csv")                                       # doctest: +SKIP
        """
        from .. import checks
        from ..data import LabelledTexts, TextData, data_origin, held_out

        reading = self._reading(options)
        sources, targets = read_pairs(source, **reading)
        max_train = options.get("max_train")
        if max_train is not None:
            keep = checks.whole_number("max_train", max_train, error=DataError)
            sources, targets = sources[:keep], targets[:keep]
        if val is not None:
            train, held = LabelledTexts(sources, targets), LabelledTexts(*read_pairs(val, **reading,
                                                                                     what="validation data"))
        else:
            train, held = held_out(sources, targets, options.get("val_frac", 0.1), options.get("seed", 42))
        return TextData(train, held, [], data_origin(source), task=self.name, task_options=dict(self.options))

    def read_labelled(self, source: Any, text_col: str = "text", label_col: str = "label",
                      pair_col: str | None = None) -> tuple[list[Any], list[Any]]:
        if hasattr(source, "task") and hasattr(source, "train"):  # a TextData
            part = source.held_out()
            return list(part.texts), list(part.labels)
        return read_pairs(source, **{**self._reading({"text_col": text_col, "label_col": label_col}),
                                     "what": "evaluation data"})

    def labelled(self, items: list[Any], raw_labels: list[Any], label_names: Sequence[str], where: str) -> Any:
        from ..data import LabelledTexts

        return LabelledTexts(*read_pairs((list(items), list(raw_labels)), what=where))

    def describe_data(self, label_names: Sequence[str]) -> str:
        return f"task={self.name}"

    def readable(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        return [str(label) for label in labels]

    def raw_labels(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        return list(labels)

    def split_inputs(self, inputs: Any, what: str) -> tuple[list[Any], bool] | None:
        if isinstance(inputs, str):
            return [inputs], True
        if isinstance(inputs, (list, tuple)) and all(isinstance(t, str) for t in inputs):
            return list(inputs), False
        raise KtnbError(f"{what}: a {self.model_noun} reads texts: give a text or a list of texts")

    # ---------------------------------------------------------------- rows

    def prompt(self, source: str) -> str:
        """What a decoder-only model reads before it writes the target."""
        raise NotImplementedError

    def _check_resolved(self) -> None:
        if self.options["decoder_only"] is None:
            raise KtnbError(f"task {self.name} encodes for a model: get it with task.for_model(model.config) first")

    def encode(self, tokenizer: Any, part: Any, max_len: int) -> Any:
        """Encoder-decoder: the source (after the prefix) and the target's tokens as labels;
        decoder-only: the prompt and the target after it in one row, the prompt unscored."""
        from ..batching import EncodedTexts
        from .generation_data import joined_row

        self._check_resolved()
        sources, targets = list(part.texts), [str(t) for t in part.labels]
        check_known_language(tokenizer, sources, "source")
        check_known_language(tokenizer, targets, "target")
        limit = self.options["max_target_len"]
        if self.decoder_only:
            if tokenizer.eos_token_id is None:
                raise ModelError("the tokenizer has no end-of-text token, which ends each target so that the model "
                                 "learns to stop; set tokenizer.eos_token")
            # one line, as the model writes to the end of the line (a summary's sentences joined)
            answers = [" " + one_line(t) for t in targets]
            answer_ids = tokenizer(answers, add_special_tokens=False, return_attention_mask=False)["input_ids"]
            warn_cut(sum(len(a) + 1 > limit for a in answer_ids), len(answers), limit)
            written = [a[:limit - 1] + [tokenizer.eos_token_id] for a in answer_ids]
            rows = [joined_row(given, w, max_len) for given, w in zip(self.prompt_ids(tokenizer, sources), written)]
            ids, labels = [r[0] for r in rows], [r[1] for r in rows]
        else:
            ids, labels = encoder_decoder_rows(tokenizer, sources, targets, self.options["prefix"] or "", max_len,
                                               limit)
        return EncodedTexts(ids, labels, example_ids=range(len(ids)), example_labels=targets,
                            example_inputs=sources)

    def prompt_ids(self, tokenizer: Any, sources: Sequence[str]) -> list[list[int]]:
        from .generation_data import prompt_ids

        return [prompt_ids(tokenizer, self.prompt(s), False) for s in sources]

    def encode_inputs(self, tokenizer: Any, inputs: Sequence[Any], max_len: int) -> Any:
        """Sources as the model reads them to write: after the prefix (an encoder-decoder, cut
        at `max_len`) or inside the prompt (decoder-only, refused when it leaves no room)."""
        from ..batching import EncodedTexts

        self._check_resolved()
        for i, text in enumerate(inputs):
            if not str(text).strip():
                raise KtnbError(f"text {i} is empty; give the {self.model_noun} something to {self.write_verb.lower()}")
        if not self.decoder_only:
            return EncodedTexts(encoder_decoder_rows(tokenizer, list(inputs), None, self.options["prefix"] or "",
                                                     max_len, self.options["max_target_len"])[0])
        rows = self.prompt_ids(tokenizer, inputs)
        for i, ids in enumerate(rows):
            if len(ids) >= max_len:
                raise KtnbError(f"text {i} makes a prompt of {len(ids)} tokens, and this model reads at most {max_len}; "
                                "shorten it")
        return EncodedTexts(rows)

    def loss_weight(self, batch: dict[str, Any]) -> float:
        """The target tokens a batch's loss averages over (a decoder-only row's after its first)."""
        from ..batching import IGNORED_LABEL

        labels = batch["labels"][:, 1:] if self.decoder_only else batch["labels"]
        return float((labels != IGNORED_LABEL).sum())

    # ---------------------------------------------------------------- writing and scoring

    def max_new_tokens(self) -> int:
        return self.options["max_target_len"]

    def stop_strings(self) -> list[str]:
        """Where writing ends besides the end-of-text token: a decoder-only model's line."""
        return [LINE_END] if self.decoder_only else []

    def write(self, runner: Any, examples: Any) -> list[str]:
        """What the model writes for each encoded source (greedy, or `num_beams` beams), in order."""
        from ..batching import model_length_cap
        from ..generation import check_room, stop_token_ids
        from ..predictor import cut_at_stop

        # beams always said: a model's own generation config may ask for several (bart-large-cnn's 4)
        settings: dict[str, Any] = {"max_new_tokens": self.max_new_tokens(), "do_sample": False,
                                    "num_beams": self.options["num_beams"]}
        stops = self.stop_strings()
        settings.update(getattr(runner, "generation", {}))
        if self.decoder_only:
            settings["eos_token_id"] = stop_token_ids(runner.model, runner.tokenizer)
            settings.update(stop_strings=stops, tokenizer=runner.tokenizer)
            cap = model_length_cap(runner.tokenizer, runner.model.config)
            if settings["max_new_tokens"] == self.max_new_tokens() and len(examples):
                # the target's room within the model's context, after the longest prompt
                settings["max_new_tokens"] = max(1, min(settings["max_new_tokens"], cap - int(examples.lengths.max())))
            check_room(examples.lengths, settings["max_new_tokens"], cap)
        written: list[str] = [""] * len(examples)
        for index, new_ids in runner.generate(examples, **settings):
            for i, ids in zip(index, new_ids):
                written[i] = cut_at_stop(runner.tokenizer.decode(ids, skip_special_tokens=True), stops).strip()
        return written

    def outputs(self, runner: Any, examples: Any) -> Any:
        """With labels: each example's loss on its target, and what it writes for the set (the
        first `val_generate` examples after an epoch); without: what it writes for each source."""
        from functools import partial

        from ..batching import EncodedTexts, IGNORED_LABEL
        from ..inference import Outputs

        if examples.labels is None:
            return Outputs(self.write(runner, examples), None)
        sums = np.zeros((len(examples), 2))
        for batch in runner.forward(examples, keep=(), reduce=partial(row_losses, shifted=self.decoder_only),
                                    feed_labels=not self.decoder_only):
            sums[batch.index, 0] = batch.outputs["nll"]
            sums[batch.index, 1] = batch.outputs["tokens"]
        # after an epoch, the set's first `val_generate` examples (numbered in the whole set: a
        # process evaluating its shard writes those it holds)
        limit = self.options["val_generate"] if getattr(runner, "epoch_check", False) else math.inf
        numbers = examples.global_examples or range(len(examples))
        chosen = [row for row, number in enumerate(numbers) if number < limit]
        if self.decoder_only:  # the prompt is the row's unscored start
            sources = [examples.input_ids[row][:next((j for j, label in enumerate(examples.labels[row])
                                                     if label != IGNORED_LABEL), len(examples.input_ids[row]))]
                       for row in chosen]
        else:
            sources = [examples.input_ids[row] for row in chosen]
        written = self.write(runner, EncodedTexts(list(sources))) if chosen else []
        tokens = sums[:, 1].sum()
        return Outputs(WrittenOutputs(sums, dict(zip(chosen, written))),
                       float(sums[:, 0].sum() / tokens) if tokens else None, float(tokens))

    def merge_outputs(self, parts: Sequence[tuple[list[int], Any]], n: int) -> Any:
        """Shards' losses put in place, and what each wrote under its example's number in the set."""
        from ..inference import Outputs

        if not isinstance(parts[0][1].logits, WrittenOutputs):  # what unlabelled sources were written
            return super().merge_outputs(parts, n)
        losses = np.zeros((n, 2))
        written: dict[int, str] = {}
        for examples, outputs in parts:
            if examples:
                losses[examples] = outputs.logits.losses
            written.update((examples[row], text) for row, text in outputs.logits.written.items())
        tokens = losses[:, 1].sum()
        return Outputs(WrittenOutputs(losses, dict(sorted(written.items()))),
                       float(losses[:, 0].sum() / tokens) if tokens else None, float(tokens))

    def report(self, logits: Any, labels: Sequence[Any], label_names: Sequence[str], loss: float | None,
               settings: dict[str, Any], examples: Any = None) -> Seq2SeqReport:
        written = logits.written
        order = sorted(written)
        outputs = [written[i] for i in order]
        references = [str(labels[i]) for i in order]
        sources = [str(examples.example_inputs[i]) for i in order] if examples is not None and \
            examples.example_inputs is not None else [""] * len(order)
        scores = text_scores(outputs, references, self.scores) if order else {}
        own = sentence_scores(outputs, references, self.scores[0]) if order else []
        return Seq2SeqReport(scores, float(logits.losses[:, 0].sum()), int(logits.losses[:, 1].sum()), len(order),
                             len(labels), list(zip(sources, references, outputs, own)),
                             {name: signature(name) for name in scores})

    def decode(self, logits: Any, label_names: Sequence[str], settings: dict[str, Any],
               inputs: Sequence[Any] | None = None, examples: Any = None) -> list[Any]:
        """What the model wrote for each input (for a labelled set, None where it was not asked)."""
        if isinstance(logits, WrittenOutputs):
            return [logits.written.get(i) for i in range(len(logits.losses))]
        return list(logits)

    def metric_inputs(self, labels: Sequence[Any], label_names: Sequence[str], predictions: Sequence[Any]) \
            -> tuple[list[Any], list[Any]]:
        """(references, outputs) of the examples written (after an epoch, the first `val_generate`)."""
        kept = [(str(label), written) for label, written in zip(labels, predictions) if written is not None]
        return [label for label, _ in kept], [written for _, written in kept]

    def example_losses(self, logits: Any, labels: Sequence[Any]) -> np.ndarray:
        """Each example's mean loss per target token."""
        losses = logits.losses
        return losses[:, 0] / np.maximum(losses[:, 1], 1)


class Translation(Seq2Seq):
    name = "translation"
    title = "translation"
    scores = ("chrf", "bleu")
    model_noun = "translator"
    label_word = "translation"
    write_verb = "Translate"
    input_fields = ("text to translate",)
    column_pairs = ({"source", "target"}, {"src", "tgt"}, {"translation"})

    def t5_prefix_for(self) -> str:
        src, tgt = language_name(self.options["source_lang"]), language_name(self.options["target_lang"])
        return f"translate {src} to {tgt}: " if src and tgt else ""

    def prompt(self, source: str) -> str:
        return translation_prompt(source, self.options["source_lang"], self.options["target_lang"])

    def describe_labels(self, label_names: Sequence[str]) -> tuple[str, str]:
        src, tgt = language_name(self.options["source_lang"]), language_name(self.options["target_lang"])
        return "learns", f"to translate {src} to {tgt}" if src and tgt else "to translate"


class Summarization(Seq2Seq):
    name = "summarization"
    title = "summarisation"
    scores = ("rougeL", "rouge1", "rouge2")
    t5_prefix = "summarize: "
    model_noun = "summariser"
    label_word = "summary"
    write_verb = "Summarize"
    input_fields = ("text to summarise",)
    column_pairs = ({"document", "summary"}, {"article", "highlights"}, {"text", "summary"})
    option_defaults = {**Seq2Seq.option_defaults, "max_target_len": 128}

    def prompt(self, source: str) -> str:
        return summary_prompt(source)

    def describe_labels(self, label_names: Sequence[str]) -> tuple[str, str]:
        return "learns", "to summarise"


__all__ = ["Translation", "Summarization", "Seq2SeqReport", "WrittenOutputs"]
