"""Text generation: fine-tune a causal language model (GPT-2, Llama, SmolLM2, …) on documents
to continue or on prompts with the responses to learn, then let it write. Validation gives the
loss and perplexity over every scored token of the set (token-weighted), reduced batch by batch
on the device: no vocabulary-wide logits are kept. A model trained on prompt/response pairs
formats a prompt the way it was trained (the tokenizer's chat template, when it has one).

>>> report = GenerationReport(nll=4605.17, tokens=2000)
>>> round(report.perplexity, 2), report.headline
(10.0, 'perplexity 10.00 (loss 2.3026) on 2000 tokens')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import DataError, KtnbError, ModelError, TrainingError
from ..metrics import counted, footer_lines
from .base import Task
from .writing_explained import ExplainsWriting
from .generation_data import document_ids, pack, pair_row, prompt_ids, read_generation_data, uses_chat_template

#: the block a document stream is cut into when no max_len is given: long enough for a few
#: sentences of context, short enough for a CPU step (attention grows with its square)
DEFAULT_BLOCK = 256
#: samples of its writing a report shows, and the words of a document that prompt one
SAMPLES = 3
DOCUMENT_PROMPT_WORDS = 5
#: what a language model can learn from: documents to continue, or prompts with their responses
FORMATS = ("documents", "pairs")


@dataclass
class GenerationReport:
    """A language model's loss over the scored tokens of a set (the response tokens of
    prompt/response pairs; every token of documents), and its perplexity, exp(loss)."""

    nll: float
    tokens: int
    split: str = ""
    #: a few (prompt, reference, what the model wrote) from the set, set by `evaluate`
    samples: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def loss(self) -> float | None:
        return self.nll / self.tokens if self.tokens else None

    @property
    def perplexity(self) -> float:
        return math.exp(min(self.loss, 700.0)) if self.loss is not None else math.nan

    def summary(self, prefix: str = "val_") -> dict[str, float]:
        if self.loss is None:
            return {}
        return {f"{prefix}loss": self.loss, f"{prefix}perplexity": self.perplexity}

    @property
    def warning(self) -> str | None:
        return None if self.tokens else "no token was scored: every response was cut off (raise max_len)"

    @property
    def headline(self) -> str:
        if self.loss is None:
            return f"no scored tokens in {counted(self, 0, 'tokens')}"
        return f"perplexity {self.perplexity:.2f} (loss {self.loss:.4f}) on {counted(self, self.tokens, 'tokens')}"

    def _rows(self) -> list[tuple[str, Any]]:
        return [("perplexity", round(self.perplexity, 4)), ("loss", round(self.loss, 4) if self.loss else None),
                ("tokens", self.tokens)]

    def __str__(self) -> str:
        lines = [f"{'perplexity':>10}  {self.perplexity:.4f}", f"{'tokens':>10}  {self.tokens}"]
        lines += [f"{'sample':>10}  {prompt!r} -> {written!r}" for prompt, _, written in self.samples]
        return "\n".join(lines + footer_lines(10, self.loss, self.warning))

    def __repr__(self) -> str:
        return f"GenerationReport(perplexity={self.perplexity:.4f}, loss={self.loss}, tokens={self.tokens})"

    def _repr_html_(self) -> str:
        from ..render.html import metrics_html, shorten, table_html

        samples = table_html(("prompt", "reference", "written"), [tuple(map(shorten, s)) for s in self.samples],
                             "what it writes", css_class="ktnb-samples") if self.samples else ""
        return metrics_html(self.headline, self._rows(), self.warning, css_class="ktnb-report") + samples

    def pictures(self) -> dict[str, Any]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, **self.summary("")}


def are_documents(labels: Sequence[Any]) -> bool:
    """Documents carry no labels (None); prompt/response pairs carry their responses."""
    return all(label is None for label in labels)


def token_losses(out: Any, inputs: dict[str, Any]) -> dict[str, np.ndarray]:
    """Each row's summed negative log-likelihood of its scored tokens (each predicted from the
    ones before it) and how many it scores, computed row by row so that no more than one row's
    vocabulary-wide log-probabilities exist at once."""
    import torch

    from ..batching import IGNORED_LABEL

    labels = inputs["labels"][:, 1:]
    nll, tokens = [], []
    for row in range(labels.shape[0]):
        logits = out.logits[row, :-1].float()
        losses = torch.nn.functional.cross_entropy(logits, labels[row], ignore_index=IGNORED_LABEL, reduction="sum")
        nll.append(float(losses))
        tokens.append(int((labels[row] != IGNORED_LABEL).sum()))
    return {"nll": np.asarray(nll, dtype=np.float64), "tokens": np.asarray(tokens, dtype=np.int64)}


class Generation(ExplainsWriting, Task):
    name = "generation"
    title = "text generation"
    pipeline_task = "text-generation"
    peft_task_type = "CAUSAL_LM"
    head_modules = ()
    writes_text = True
    auto_model = "AutoModelForCausalLM"
    metrics = {"val_loss": False, "val_perplexity": False}
    default_monitor = "val_loss"
    labels_are_classes = False
    model_noun = "language model"
    label_word = "continuation"
    table_shape = None  # documents, or prompts with responses: the task reads them (`load_data`)
    ranks_examples = False  # its validation set is scored token by token
    file_kind = "a plain text file of documents"
    input_fields = ("prompt",)
    #: format: what it was trained on ("documents" to continue, or prompt/response "pairs"),
    #: set when the data is read; chat: whether prompts go through the tokenizer's chat template
    #: (None: for pairs, when the tokenizer has one); max_new_tokens: what `predict` writes at most
    option_defaults = {"format": None, "chat": None, "max_new_tokens": 64}

    def check_option(self, name: str, value: Any) -> Any:
        from .. import checks

        if name == "format":
            if value is not None and value not in FORMATS:
                raise KtnbError(f"task generation: format must be one of {', '.join(FORMATS)}, got {value!r}")
            return value
        if name == "chat":
            if value is not None and not isinstance(value, bool):
                raise KtnbError(f"task generation: chat must be true, false or None (auto), got {value!r}")
            return value
        return checks.whole_number(name, value, 1, error=KtnbError)

    # ---------------------------------------------------------------- data

    def load_data(self, source: Any, val: Any = None, **options: Any) -> Any:
        """`TextData` of documents (`labels` None) or of prompts and their responses (`labels`),
        from anything `read_generation_data` reads; `val` the same way, else `val_frac` of the
        documents (or pairs) held out, seeded."""
        from .. import checks
        from ..data import LabelledTexts, TextData, data_origin, held_out

        text_col, label_col = options.get("text_col", "text"), options.get("label_col")
        encoding = options.get("encoding") or "utf-8"
        texts, responses = read_generation_data(source, text_col, label_col, encoding, kind=self.options["format"])
        max_train = options.get("max_train")
        if max_train is not None:
            keep = checks.whole_number("max_train", max_train, error=DataError)
            texts, responses = texts[:keep], responses[:keep] if responses is not None else None
        kind = "documents" if responses is None else "pairs"
        labels = responses if responses is not None else [None] * len(texts)
        held: LabelledTexts | None = None
        if val is not None:
            val_texts, val_responses = read_generation_data(val, text_col, label_col, encoding, "validation data",
                                                            kind)
            if (val_responses is None) != (responses is None):
                raise DataError(f"the training data is {kind} but the validation data is "
                                f"{'documents' if val_responses is None else 'prompt/response pairs'}; give one kind")
            train = LabelledTexts(texts, labels)
            held = LabelledTexts(val_texts, val_responses if val_responses is not None else [None] * len(val_texts))
        else:
            train, held = held_out(texts, labels, options.get("val_frac", 0.1), options.get("seed", 42))
        task = self if self.options["format"] == kind else type(self)(**{**self.options, "format": kind})
        return TextData(train, held, [], data_origin(source), task=self.name, task_options=dict(task.options))

    def read_labelled(self, source: Any, text_col: str = "text", label_col: str = "label",
                      pair_col: str | None = None) -> tuple[list[Any], list[Any]]:
        if hasattr(source, "task") and hasattr(source, "train"):  # a TextData
            part = source.held_out()
            return list(part.texts), list(part.labels)
        texts, responses = read_generation_data(source, text_col, label_col, what="evaluation data",
                                                kind=self.options["format"])
        return texts, responses if responses is not None else [None] * len(texts)

    def labelled(self, items: list[Any], raw_labels: list[Any], label_names: Sequence[str], where: str) -> Any:
        from ..data import LabelledTexts

        kind = "documents" if are_documents(raw_labels) else "pairs"
        if self.options["format"] is not None and kind != self.options["format"]:
            raise DataError(f"{where}: this model learnt from {self.options['format']}, not "
                            f"{'documents' if kind == 'documents' else 'prompt/response pairs'}; give the same kind")
        return LabelledTexts(list(items), list(raw_labels))

    def describe_data(self, label_names: Sequence[str]) -> str:
        return f"task={self.name}, {self.options['format'] or 'texts'}"

    def describe_labels(self, label_names: Sequence[str]) -> tuple[str, str]:
        return "learns", "responses to prompts" if self.options["format"] == "pairs" else "to continue documents"

    def readable(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        return ["" if label is None else str(label) for label in labels]

    def raw_labels(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        return list(labels)

    def add_samples(self, report: GenerationReport, runner: Any, part: Any, max_len: int) -> None:
        """What the model writes after a few prompts of the set: a pair's prompt (its response
        the reference), or a document's first words (the rest the reference). A prompt too long
        to write after within the model's context (training cuts such rows) is passed over:
        samples never fail a report."""
        from ..batching import model_length_cap

        room = min(max_len, model_length_cap(runner.tokenizer, runner.model.config)
                   - runner.generation.get("max_new_tokens", self.options["max_new_tokens"]))
        chosen: list[tuple[Any, str]] = []
        for text, label in zip(part.texts, part.labels):
            if len(chosen) == SAMPLES:
                break
            if label is not None:
                prompt, reference = text, str(label)
            else:
                words = str(text).split()
                if len(words) < 2 * DOCUMENT_PROMPT_WORDS:  # too little of it left to compare with
                    continue
                prompt, reference = " ".join(words[:DOCUMENT_PROMPT_WORDS]), " ".join(words[DOCUMENT_PROMPT_WORDS:])
            try:
                fits = len(self.encode_inputs(runner.tokenizer, [prompt], max_len).input_ids[0]) < room
            except KtnbError:
                fits = False
            if fits:
                chosen.append((prompt, reference))
        if not chosen:
            return
        written = self.outputs(runner, self.encode_inputs(runner.tokenizer, [p for p, _ in chosen], max_len)).logits
        report.samples = [(self.shown(p), r, w) for (p, r), w in zip(chosen, written)]

    def shown(self, example: Any) -> str:
        if isinstance(example, list):  # chat messages
            return " | ".join(f"{m['role']}: {m['content']}" for m in example)
        return str(example)

    def split_inputs(self, inputs: Any, what: str) -> tuple[list[Any], bool] | None:
        """Prompts: a text, chat messages (a list of {'role', 'content'}), or a list of either."""
        if isinstance(inputs, str):
            return [inputs], True
        if isinstance(inputs, list) and inputs and all(isinstance(m, dict) for m in inputs):
            return [inputs], True
        if isinstance(inputs, (list, tuple)) and all(isinstance(p, str) or (isinstance(p, list) and p and all(
                isinstance(m, dict) for m in p)) for p in inputs):
            return list(inputs), False
        raise KtnbError(f"{what}: a language model reads prompts: a text, chat messages, or a list of them")

    # ---------------------------------------------------------------- model

    def num_labels(self, label_names: Sequence[str]) -> int:
        return 0

    def configure(self, config: Any, label_names: Sequence[str]) -> bool:
        """A causal LM keeps its head (the vocabulary); an encoder-only model cannot write."""
        from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

        model_type = getattr(config, "model_type", "")
        if getattr(config, "is_encoder_decoder", False):
            raise ModelError(f"{model_type} is an encoder-decoder model; task generation fine-tunes a decoder-only "
                             "(causal) language model such as gpt2, Llama or SmolLM2")
        if model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not getattr(config, "is_decoder", False):
            raise ModelError(f"{model_type} is an encoder-only model: it reads text but does not write it; task "
                             "generation needs a causal language model such as gpt2, Llama or SmolLM2")
        return True

    def max_new_tokens(self) -> int:
        return self.options["max_new_tokens"]

    def chat(self, tokenizer: Any) -> bool:
        """Whether prompts go through the chat template: for prompt/response data, when the
        tokenizer has one (unless the `chat` option says otherwise)."""
        if self.options["chat"] is not None:
            if self.options["chat"] and not uses_chat_template(tokenizer):
                raise ModelError("chat: true needs a tokenizer with a chat template; this one has none")
            return self.options["chat"]
        return self.options["format"] == "pairs" and uses_chat_template(tokenizer)

    def default_max_len(self, tokenizer: Any, sample: Any, cap: int) -> int:
        """Documents: blocks of `DEFAULT_BLOCK` tokens (or the model's limit, if less); pairs:
        the length 95% of the sample's rows fit in."""
        if are_documents(sample.labels):
            return min(cap, DEFAULT_BLOCK)
        return super().default_max_len(tokenizer, sample, cap)

    def encode(self, tokenizer: Any, part: Any, max_len: int) -> Any:
        """Documents packed into blocks of `max_len`; a pair as one row, its prompt unscored."""
        from ..batching import EncodedTexts

        if tokenizer.eos_token_id is None:
            raise ModelError("the tokenizer has no end-of-text token, which ends each document and response so that "
                             "the model learns to stop; set tokenizer.eos_token (e.g. to its separator token)")
        if are_documents(part.labels):
            blocks = pack(document_ids(tokenizer, part.texts), max_len, tokenizer.eos_token_id)
            # a block of one token has nothing to predict it from: it would be a batch with no loss
            blocks = [b for b in blocks if len(b) > 1]
            return EncodedTexts(blocks, [list(b) for b in blocks])
        chat = self.chat(tokenizer)
        rows = [pair_row(tokenizer, prompt, response, max_len, chat) for prompt, response in zip(part.texts,
                                                                                                  part.labels)]
        return EncodedTexts([ids for ids, _ in rows], [labels for _, labels in rows])

    def encode_inputs(self, tokenizer: Any, inputs: Sequence[Any], max_len: int) -> Any:
        """Prompts as the model was trained to read them, each refused when it leaves no room
        to write within the model's context."""
        from ..batching import EncodedTexts

        chat = self.chat(tokenizer)
        # chat messages always go through the template (a model trained on documents may have one)
        rows = [prompt_ids(tokenizer, prompt, chat or not isinstance(prompt, str)) for prompt in inputs]
        for i, ids in enumerate(rows):
            if len(ids) >= max_len:
                raise KtnbError(f"prompt {i} is {len(ids)} tokens long, and this model reads at most {max_len}; "
                                "shorten it")
            if not ids:
                raise KtnbError(f"prompt {i} is empty; give the model some text to continue")
        return EncodedTexts(rows)

    def loss_weight(self, batch: dict[str, Any]) -> float:
        """The tokens a batch's loss averages over: each row's scored tokens after its first."""
        from ..batching import IGNORED_LABEL

        return float((batch["labels"][:, 1:] != IGNORED_LABEL).sum())

    # ---------------------------------------------------------------- outputs

    def outputs(self, runner: Any, examples: Any) -> Any:
        """With labels: each row's summed loss and scored tokens (an (n, 2) array) and the
        token-weighted mean loss. Without (prompts): the text each prompt's continuation reads,
        greedy unless the runner's settings say otherwise."""
        from ..inference import Outputs

        if examples.labels is None:
            from ..batching import model_length_cap
            from ..generation import check_room, stop_token_ids

            written: list[str] = [""] * len(examples)
            settings = {"max_new_tokens": self.options["max_new_tokens"], "do_sample": False,
                        "eos_token_id": stop_token_ids(runner.model, runner.tokenizer),
                        **getattr(runner, "generation", {})}
            check_room(examples.lengths, settings["max_new_tokens"],
                       model_length_cap(runner.tokenizer, runner.model.config))
            for index, new_ids in runner.generate(examples, **settings):
                for i, ids in zip(index, new_ids):
                    written[i] = runner.tokenizer.decode(ids, skip_special_tokens=True)
            return Outputs(written, None)
        sums = np.zeros((len(examples), 2))
        for batch in runner.forward(examples, keep=(), reduce=token_losses):
            sums[batch.index, 0] = batch.outputs["nll"]
            sums[batch.index, 1] = batch.outputs["tokens"]
        tokens = sums[:, 1].sum()
        return Outputs(sums, float(sums[:, 0].sum() / tokens) if tokens else None, float(tokens))

    def report(self, logits: Any, labels: Sequence[Any], label_names: Sequence[str], loss: float | None,
               settings: dict[str, Any], examples: Any = None) -> GenerationReport:
        return GenerationReport(float(logits[:, 0].sum()), int(logits[:, 1].sum()))

    def decode(self, logits: Any, label_names: Sequence[str], settings: dict[str, Any],
               inputs: Sequence[Any] | None = None, examples: Any = None) -> list[Any]:
        """What the model wrote after each prompt; for scored rows, each row's perplexity."""
        if isinstance(logits, list):
            return list(logits)
        return [math.exp(min(nll / max(n, 1), 700.0)) for nll, n in logits]

    def example_losses(self, logits: Any, labels: Sequence[Any]) -> np.ndarray:
        raise TrainingError("top_losses ranks labelled examples by their loss; a language model's validation set is "
                            "scored token by token: use evaluate() for its loss and perplexity")


__all__ = ["Generation", "GenerationReport", "token_losses"]
