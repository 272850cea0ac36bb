"""Which words made a model decide: attributions of one prediction to the words of its input,
with Captum. Integrated gradients (on the word embeddings, from a baseline that keeps the special
tokens and pads every other one) or the cheaper gradient x input; each word's score is the sum of
its sub-word tokens'. Positive words push the output explained (a class's probability, a label's,
a predicted value, an entity's tag, an answer's start, a written token) up, negative ones down.

    predictor.explain("a gorgeous, witty film")            # shows itself in a notebook
    predictor.explain("a dull film", target="positive")    # toward a named class

What is explained is the task's to say (`Task.explanation_input` tokenises an input and says
which word each token belongs to; `Task.explanation_targets` names the outputs to explain, one
for a classifier, one per entity for a tagger, the start and the end of an answer, one per
written token for a model that writes); this module only attributes. Integrated gradients'
attributions add up to the output's change from the baseline; how far they miss it (the
convergence delta) is reported with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import numpy as np

from .errors import KtnbError, ModelError

#: the attribution methods, the first the default
METHODS = ("integrated_gradients", "gradient_x_input")
#: tokens a writing model's explanation writes and explains at most, unless given a text
EXPLAINED_TOKENS = 32
#: steps of the integral from the baseline to the input (Gauss-Legendre): on MiniLM fine-tuned on
#: SST-2, 20 steps explain as faithfully as 50 (comprehensiveness 0.323 and 0.322 on 100 dev
#: sentences, bench/explain_quality.py's, 20 to 50 steps tried in turn) in 60% of the time, with
#: a mean convergence delta of 0.004
IG_STEPS = 20


@dataclass
class ExplanationInput:
    """One input made ready to explain: the model's inputs (a row each: a window of a long
    context is a row) and, for each row's tokens, the word each belongs to."""

    #: the text, or a pair's two texts (a question and its context)
    texts: tuple[str, ...]
    #: tensors with one row per window: input_ids, attention_mask, token_type_ids
    inputs: dict[str, Any]
    #: for each row, for each token: (which text, first character, end, a key of its word), or
    #: None for a token that belongs to no word (a special token, padding)
    words: list[list[tuple[int, int, int, Any] | None]]
    #: what the task needs to find its targets (a tagger's word ids, a window's offsets)
    extra: Any = None


@dataclass
class ExplanationTarget:
    """An output to explain: its name, its value for the input, and how to compute it from the
    model's output for a batch of (perturbed) copies of the input's `row`."""

    label: str
    value: float
    output: Callable[[Any], Any]
    row: int = 0
    predicted: str = ""
    value_name: str = "probability"
    #: the tokens kept of the row's last sequence (a written token's own and those before it)
    length: int | None = None


@dataclass
class Explanation:
    """One input's words with their attributions toward `label` (the output explained)."""

    #: the text, or a pair's two texts
    texts: tuple[str, ...]
    #: (which text, the word's first and last character in it, its attribution)
    words: list[tuple[int, int, int, float]]
    #: what was explained: a class, a label, a value's name
    label: str
    #: the model's output for it: a probability, or the predicted value
    value: float
    #: what the value is ("probability", "value")
    value_name: str
    method: str
    #: integrated gradients' convergence delta: the attributions' sum minus the output's change
    delta: float | None = None
    #: the model's own prediction, when it is not what was explained
    predicted: str = field(default="")

    def word_scores(self) -> list[tuple[str, float]]:
        """(word, attribution) in reading order, a pair's first text first."""
        return [(self.texts[t][start:end], score) for t, start, end, score in self.words]

    def top(self, n: int = 5) -> list[tuple[str, float]]:
        """The `n` words with the largest attributions, by size, either sign."""
        return sorted(self.word_scores(), key=lambda w: -abs(w[1]))[:n]

    @property
    def headline(self) -> str:
        shown = f"{self.label} ({self.value_name} {self.value:.3f})"
        also = f"; the model predicts {self.predicted}" if self.predicted and self.predicted != self.label else ""
        delta = f", convergence delta {self.delta:+.4f}" if self.delta is not None else ""
        return f"why {shown}{also}: {self.method.replace('_', ' ')}{delta}"

    def plot(self) -> Any:
        from .render.explain import attribution_figure

        return attribution_figure(self.word_scores(), self.headline)

    def _repr_html_(self) -> str:
        from .render.explain import explanation_html
        from .render.figures import figure_png

        return explanation_html(self.texts, self.words, self.headline, self.top(), figure_png(self.plot()))

    def _repr_png_(self) -> bytes:
        from .render.figures import figure_png

        return figure_png(self.plot())

    def __repr__(self) -> str:
        top = ", ".join(f"{w!r} {s:+.3g}" for w, s in self.top(3))
        return f"Explanation({self.label!r}, {self.value_name}={self.value:.3f}, top: {top})"


class Explanations(list):
    """The explanations of one input's several outputs (a tagger's entities, an answer's start and
    end), shown one under the other in a notebook."""

    def __init__(self, items: Sequence[Explanation] = (), empty: str = "nothing to explain") -> None:
        super().__init__(items)
        self.empty = empty

    def _repr_html_(self) -> str:
        from .render.html import escape

        if not self:
            return f"<p class='ktnb-explanation'>{escape(self.empty)}</p>"
        return "\n".join(item._repr_html_() for item in self)


@dataclass
class WrittenItem:
    """What a writing model's explanation reads: its input (a prompt, or a source) and its
    tokens as the model reads them, the tokens it wrote after it, and the token an
    encoder-decoder's decoder starts from."""

    source: Any
    prompt_ids: list[int]
    written_ids: list[int]
    decoder_start: int | None = None


@dataclass
class WritingExplanation:
    """Each written token's attributions to the tokens before it: the input's (a prompt, or an
    encoder's source) and the tokens written before it, as inseq shows them. `scores[j, i]` is
    input-side token i's attribution to written token j, the input's tokens first, then the
    written ones (each row is 0 from the token itself on: a token cannot draw on itself or on
    what comes after it)."""

    #: the input, and the text written after it
    texts: tuple[str, str]
    #: the input's tokens, as text (a prompt's template included)
    source_tokens: list[str]
    #: the written tokens, as text
    written_tokens: list[str]
    scores: np.ndarray
    #: the probability of each written token, given everything before it
    values: list[float]
    method: str
    deltas: list[float | None] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.texts[1]

    @property
    def tokens(self) -> list[str]:
        """Every token a row of `scores` spans: the input's, then the written ones."""
        return self.source_tokens + self.written_tokens

    def top(self, written: int, n: int = 5) -> list[tuple[str, float]]:
        """The `n` tokens with the largest attributions (either sign) to written token `written`
        (counted from 0; -1 is the last)."""
        count = len(self.written_tokens)
        if isinstance(written, bool) or not isinstance(written, (int, np.integer)) or not -count <= written < count:
            raise KtnbError(f"written: a written token's index, from 0 to {count - 1} (or -1 for the last), "
                            f"got {written!r}")
        written = int(written) % count
        row = self.scores[written]
        order = sorted(range(len(self.source_tokens) + written), key=lambda i: -abs(row[i]))[:n]
        return [(self.tokens[i], float(row[i])) for i in order]

    @property
    def headline(self) -> str:
        deltas = [abs(d) for d in self.deltas if d is not None]
        worst = f", largest convergence delta {max(deltas):.4f}" if deltas else ""
        return (f"why each of the {len(self.written_tokens)} written tokens: {self.method.replace('_', ' ')}, "
                f"mean probability {np.mean(self.values):.3f}{worst}")

    def plot(self) -> Any:
        from .render.explain import writing_figure

        return writing_figure(self.tokens, self.written_tokens, self.scores, self.headline)

    def _repr_html_(self) -> str:
        from .render.explain import writing_html
        from .render.figures import figure_png

        return writing_html(self.texts, self.tokens, self.written_tokens, self.scores, self.values, self.headline,
                            figure_png(self.plot()))

    def _repr_png_(self) -> bytes:
        from .render.figures import figure_png

        return figure_png(self.plot())

    def __repr__(self) -> str:
        return (f"WritingExplanation({self.texts[1]!r}, {len(self.written_tokens)} tokens, "
                f"{len(self.source_tokens)} input tokens)")


def token_pieces(tokenizer: Any, ids: Sequence[int], before: Sequence[int] = ()) -> list[str]:
    """Each token's own text, as it adds to the text before it (a word-start token keeps its
    space, which decoding it alone drops): the text of it and the token before it, less the
    text of that token alone."""
    pieces, previous = [], list(before)[-1:]
    for token in ids:
        alone = tokenizer.decode(previous) if previous else ""
        both = tokenizer.decode(previous + [token])
        pieces.append(both[len(alone):] if both.startswith(alone) else tokenizer.decode([token]))
        previous = [token]
    return pieces


def writing_input(tokenizer: Any, source_text: str, item: WrittenItem) -> ExplanationInput:
    """A writer's input and written tokens as one row: a decoder-only model reads the prompt and
    the written tokens in one sequence; an encoder-decoder reads the source in its encoder and
    the written tokens, after its start token, in its decoder."""
    import torch

    prompt_ids, written = list(item.prompt_ids), list(item.written_ids)
    pieces = token_pieces(tokenizer, written, list(prompt_ids)[-1:] if item.decoder_start is None else [])
    if item.decoder_start is None:
        ids = list(prompt_ids) + written
        inputs = {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)}
        first = len(prompt_ids)  # the position of the first written token
    else:
        inputs = {"input_ids": torch.tensor([list(prompt_ids)]),
                  "attention_mask": torch.ones(1, len(prompt_ids), dtype=torch.long),
                  "decoder_input_ids": torch.tensor([[item.decoder_start] + written])}
        first = 1
    sources = token_pieces(tokenizer, list(prompt_ids))
    # the written text decoded whole, as `generate` gives it (a character split over several
    # byte tokens reads right only there)
    return ExplanationInput((source_text, tokenizer.decode(written, skip_special_tokens=True)), inputs,
                            [[None] * len(prompt_ids)],
                            {"written": written, "first": first, "source_tokens": sources, "pieces": pieces,
                             "encoder_decoder": item.decoder_start is not None})


def writing_targets(output: Any, prepared: ExplanationInput) -> list[ExplanationTarget]:
    """One output per written token: its probability given the tokens before it (the logits
    one position before it, the row cut just before it)."""
    extra = prepared.extra
    logits = output.logits[0].float()
    found = []
    for j, token in enumerate(extra["written"]):
        position = extra["first"] + j  # where the token sits; the logits before it predict it
        value = float(logits[position - 1].softmax(-1)[token])
        found.append(ExplanationTarget(
            f"token {j + 1} {extra['pieces'][j]!r}", value,
            lambda out, token=token: out.logits[:, -1].float().softmax(-1)[:, token], length=position))
    return found


def _captum() -> Any:
    try:
        import captum.attr
    except ImportError:
        raise KtnbError("explain needs captum: pip install 'ktnb[explain]' (or pip install captum)") from None
    return captum.attr


def _embeddings(model: Any) -> Any:
    try:
        layer = model.get_input_embeddings()
    except (AttributeError, NotImplementedError):
        layer = None
    if layer is None:
        kind = getattr(getattr(model, "config", None), "model_type", type(model).__name__)
        raise ModelError(f"explain attributes through the word embeddings, and this {kind} model does not say "
                         "which layer they are (get_input_embeddings)")
    return layer


def tokenize_texts(tokenizer: Any, texts: Sequence[str], max_len: int, **options: Any) -> ExplanationInput:
    """`texts` (one, or a pair) tokenised as a classifier reads them, each token's word found by
    the fast tokenizer's word ids and offsets, a pair's two texts kept apart. `options` go to the
    tokenizer (a question answerer's windows)."""
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError("explain maps tokens back to words through a fast tokenizer's offsets; this tokenizer is "
                         "a slow one: load the model's fast tokenizer (use_fast=True)")
    takes_segments = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
    options.setdefault("truncation", True)
    enc = tokenizer(*texts, max_length=max_len, return_tensors="pt", return_offsets_mapping=True,
                    return_token_type_ids=takes_segments, padding=True, **options)
    words = []
    for row in range(len(enc["input_ids"])):
        offsets = enc["offset_mapping"][row].tolist()
        sequences = enc.sequence_ids(row)
        words.append([(sequences[t], offsets[t][0], offsets[t][1], (sequences[t], word))
                      if word is not None and sequences[t] is not None else None
                      for t, word in enumerate(enc.word_ids(row))])
    inputs = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    return ExplanationInput(tuple(texts), inputs, words, enc)


def _words(token_words: Sequence[tuple[int, int, int, Any] | None], scores: np.ndarray) \
        -> list[tuple[int, int, int, float]]:
    """Token scores summed into words: (text index, first character, end, score), in order;
    tokens of no word left out."""
    words: dict[Any, list[Any]] = {}
    for token, found in enumerate(token_words):
        if found is None:
            continue
        text, start, end, key = found
        if key in words:
            words[key][1] = min(words[key][1], start)
            words[key][2] = max(words[key][2], end)
            words[key][3] += float(scores[token])
        else:
            words[key] = [text, start, end, float(scores[token])]
    return [tuple(w) for w in sorted(words.values(), key=lambda w: (w[0], w[1]))]  # type: ignore[misc]


def _baselines(tokenizer: Any, ids: Any) -> Any:
    """Each row of `ids` with its special tokens kept and every other token made padding: the
    start of integrated gradients' path (a sentence of nothing, the same length)."""
    import torch

    from .batching import pad_id, special_positions

    special = torch.tensor([special_positions(tokenizer, row) for row in ids.tolist()], dtype=torch.bool,
                           device=ids.device)
    return torch.where(special, ids, torch.full_like(ids, pad_id(tokenizer)))


def _rows(output: Any, rows: Sequence[int]) -> Any:
    """The model's output for some rows of its batch, as the same named tensors."""
    import torch

    return SimpleNamespace(**{k: v[list(rows)] for k, v in output.items() if torch.is_tensor(v)})


#: the token sequences a model reads, and the argument that takes their embeddings instead
EMBEDDED = {"input_ids": "inputs_embeds", "decoder_input_ids": "decoder_inputs_embeds"}


def _attribute(model: Any, layer: Any, row: dict[str, Any], baseline: dict[str, Any], target: ExplanationTarget,
               method: str, attr: Any, ends: Any = None) -> tuple[np.ndarray, float | None]:
    """Each token's attribution toward `target` (summed over the embedding's width; an
    encoder-decoder's source tokens, then its decoder's), and integrated gradients' convergence
    delta (`ends`: the output at the input and at the baseline, found here when not given). The
    model reads word embeddings (`inputs_embeds`): the path from the baseline runs through them,
    and no pass is spent finding them."""
    import torch

    keys = [k for k in EMBEDDED if k in row]
    embeds = tuple(layer(row[k]).detach() for k in keys)
    others = {k: v for k, v in row.items() if k not in EMBEDDED}

    def output(*batch: Any) -> Any:
        extra = {k: v.expand(len(batch[0]), -1) for k, v in others.items()}
        return target.output(model(**{EMBEDDED[k]: e for k, e in zip(keys, batch)}, **extra))

    starts = tuple(layer(baseline[k]).detach() for k in keys)
    if ends is None and method == "integrated_gradients":
        with torch.no_grad():
            ends = output(*(torch.cat([e, b]) for e, b in zip(embeds, starts))).float()
    with torch.enable_grad():
        if method == "gradient_x_input":
            attributions = attr.InputXGradient(output).attribute(tuple(e.requires_grad_() for e in embeds))
        else:
            attributions = attr.IntegratedGradients(output).attribute(
                embeds, baselines=starts, n_steps=IG_STEPS, internal_batch_size=IG_STEPS)
    scores = torch.cat([a.sum(-1)[0] for a in attributions]).detach().float()
    delta = float(scores.sum() - (ends[0] - ends[1])) if method == "integrated_gradients" else None
    return scores.cpu().numpy(), delta


def _row(inputs: dict[str, Any], baselines: dict[str, Any], chosen: ExplanationTarget) \
        -> tuple[dict[str, Any], dict[str, Any], list[bool]]:
    """The row a target reads, its padding left out and its last sequence cut to the target's
    `length` (a written token's own and those before it), with its baseline, and which of the
    row's (first sequence's) tokens were kept."""
    keep = inputs["attention_mask"][chosen.row].bool()
    row = {k: v[chosen.row][keep][None] for k, v in inputs.items() if k != "decoder_input_ids"}
    start = {k: v[chosen.row][keep][None] for k, v in baselines.items() if k != "decoder_input_ids"}
    if "decoder_input_ids" in inputs:
        row["decoder_input_ids"] = inputs["decoder_input_ids"][chosen.row][None, :chosen.length]
        start["decoder_input_ids"] = baselines["decoder_input_ids"][chosen.row][None, :chosen.length]
    elif chosen.length is not None:
        row = {k: v[:, :chosen.length] for k, v in row.items()}
        start = {k: v[:, :chosen.length] for k, v in start.items()}
    return row, start, keep.tolist()


def explain_inputs(model: Any, tokenizer: Any, task: Any, items: Sequence[Any], label_names: Sequence[str],
                   max_len: int, target: Any = None, method: str = METHODS[0],
                   settings: dict[str, Any] | None = None) -> list[Any]:
    """For each input (a text, a (text, text) pair, a question and its context, a `WrittenItem`):
    an `Explanation` of its output toward `target` (None: what the model predicts) by `method`;
    for a task with several outputs an input (a tagger's entities), their `Explanations`; for a
    model that writes, a `WritingExplanation` of each written token."""
    import torch

    if not task.explainable:
        raise KtnbError(f"explain does not reach a {task.model_noun} yet")
    if method not in METHODS:
        raise KtnbError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    attr = _captum()
    layer = _embeddings(model)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    # only the inputs' gradients are wanted: with the weights' switched off, backward skips the
    # weight gradients (about a third of a training step's work)
    trainable = [p for p in model.parameters() if p.requires_grad]
    for p in trainable:
        p.requires_grad_(False)
    found: list[Any] = []
    try:
        for i, item in enumerate(items):
            texts = item if isinstance(item, tuple) else (item,) if isinstance(item, str) else ()
            if not all(t.strip() for t in texts if isinstance(t, str)):
                raise KtnbError(f"text {i} is empty; give explain some words to attribute")
            prepared = task.explanation_input(tokenizer, item, max_len)
            inputs = {k: v.to(device) for k, v in prepared.inputs.items()}
            rows = len(inputs["input_ids"])
            baselines = {k: _baselines(tokenizer, inputs[k]) for k in EMBEDDED if k in inputs}
            with torch.no_grad():  # the input's rows and their baselines in one pass
                out = model(**{k: torch.cat([v, baselines.get(k, v)]) for k, v in inputs.items()})
            targets = task.explanation_targets(_rows(out, range(rows)), prepared, target, label_names,
                                               settings or {})
            explained, token_scores = [], []
            for chosen in targets:
                # a target cut to its length reads other positions than the whole row: its ends are found apart
                ends = None if chosen.length is not None else \
                    chosen.output(_rows(out, [chosen.row, rows + chosen.row])).float()
                row, start, kept = _row(inputs, baselines, chosen)
                scores, delta = _attribute(model, layer, row, start, chosen, method, attr, ends)
                if task.writes_text:  # laid out token by token below, not summed into words
                    token_scores.append((scores, delta))
                    continue
                token_words = [w for w, k in zip(prepared.words[chosen.row], kept) if k]
                explained.append(Explanation(prepared.texts, _words(token_words, scores), chosen.label, chosen.value,
                                             chosen.value_name, method, delta, chosen.predicted))
            if task.writes_text:
                found.append(_writing_explanation(prepared, targets, token_scores, method))
            else:
                found.append(explained[0] if task.explains_one_output else
                             Explanations(explained, task.nothing_to_explain))
    finally:
        model.train(was_training)
        for p in trainable:
            p.requires_grad_(True)
    return found


def _writing_explanation(prepared: ExplanationInput, targets: Sequence[ExplanationTarget],
                         token_scores: Sequence[tuple[np.ndarray, float | None]], method: str) -> WritingExplanation:
    """Each written token's attributions, laid out over the input's tokens and then the written
    ones (zero from the token itself on)."""
    extra = prepared.extra
    sources, written = len(extra["source_tokens"]), len(extra["written"])
    matrix = np.zeros((written, sources + written))
    for j, (scores, _) in enumerate(token_scores):
        # decoder-only: prompt + written before j; encoder-decoder: source + start token + written before j
        own = np.concatenate([scores[:sources], scores[sources + 1:]]) if extra["encoder_decoder"] else scores
        matrix[j, :len(own)] = own[:sources + j]
    return WritingExplanation(prepared.texts, extra["source_tokens"], extra["pieces"], matrix,
                              [t.value for t in targets], method, [d for _, d in token_scores])


__all__ = ["Explanation", "Explanations", "ExplanationInput", "ExplanationTarget", "WritingExplanation",
           "WrittenItem", "explain_inputs", "tokenize_texts", "writing_input", "writing_targets", "METHODS"]
