"""Which words made a model decide: attributions of one prediction to the words of its input,
with Captum. Integrated gradients (`LayerIntegratedGradients` on the word embeddings, from a
baseline that keeps the special tokens and pads every other one) or the cheaper gradient x
input; each word's score is the sum of its sub-word tokens'. Positive words push the output
explained (a class's probability, a label's, a predicted value) up, negative ones down.

    predictor.explain("a gorgeous, witty film")            # shows itself in a notebook
    predictor.explain("a dull film", target="positive")    # toward a named class

Integrated gradients' attributions add up to the output's change from the baseline; how far they
miss it (Captum's convergence delta) is reported with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .errors import KtnbError, ModelError

#: the attribution methods, the first the default
METHODS = ("integrated_gradients", "gradient_x_input")
#: steps of the integral from the baseline to the input
IG_STEPS = 50


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


def _words(encoding: Any, scores: np.ndarray) -> list[tuple[int, int, int, float]]:
    """Token scores summed into words: (text index, first character, end, score), in order;
    special tokens left out."""
    words: dict[tuple[int, int], list[Any]] = {}
    offsets = encoding["offset_mapping"][0].tolist()
    sequences = encoding.sequence_ids(0)
    for token, word in enumerate(encoding.word_ids(0)):
        if word is None or sequences[token] is None:
            continue
        key = (sequences[token], word)
        start, end = offsets[token]
        if key in words:
            words[key][2] = max(words[key][2], end)
            words[key][3] += float(scores[token])
        else:
            words[key] = [sequences[token], start, end, float(scores[token])]
    return [tuple(w) for w in words.values()]  # type: ignore[misc]


def explain_inputs(model: Any, tokenizer: Any, task: Any, items: Sequence[Any], label_names: Sequence[str],
                   max_len: int, target: Any = None, method: str = METHODS[0]) -> list[Explanation]:
    """An `Explanation` of each input (a text, or a (text, text) pair) toward `target` (None:
    what the model predicts), by `method`."""
    import torch

    if not task.explainable:
        raise KtnbError(f"explain does not reach a {task.model_noun} yet: it explains text classifiers (of texts or "
                        "pairs), multi-label and regression models")
    if method not in METHODS:
        raise KtnbError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    attr = _captum()
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError("explain maps tokens back to words through a fast tokenizer's offsets; this tokenizer is "
                         "a slow one: load the model's fast tokenizer (use_fast=True)")
    layer = _embeddings(model)
    device = next(model.parameters()).device
    takes_segments = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    was_training = model.training
    model.eval()
    found = []
    try:
        for i, item in enumerate(items):
            texts = item if isinstance(item, tuple) else (item,)
            if not all(isinstance(t, str) and t.strip() for t in texts):
                raise KtnbError(f"text {i} is empty; give explain some words to attribute")
            enc = tokenizer(*texts, truncation=True, max_length=max_len, return_tensors="pt",
                            return_offsets_mapping=True, return_token_type_ids=takes_segments)
            inputs = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
            with torch.no_grad():
                logits = model(**inputs).logits.float()
            index, label, predicted = task.explanation_target(logits[0].cpu().numpy(), target, label_names)
            value = float(task.explanation_output(logits, index)[0])

            def output(input_ids: Any, attention_mask: Any, *segments: Any) -> Any:
                extra = {"token_type_ids": segments[0]} if segments else {}
                out = model(input_ids=input_ids, attention_mask=attention_mask, **extra).logits.float()
                return task.explanation_output(out, index)

            ids = inputs["input_ids"]
            forward_args = (inputs["attention_mask"], *([inputs["token_type_ids"]] if "token_type_ids" in inputs
                                                      else []))
            delta = None
            with torch.enable_grad():
                if method == "integrated_gradients":
                    special = torch.tensor(tokenizer.get_special_tokens_mask(ids[0].tolist(),
                                                                             already_has_special_tokens=True),
                                           dtype=torch.bool, device=device)
                    baseline = torch.where(special, ids[0], torch.full_like(ids[0], pad))[None]
                    attributions, deltas = attr.LayerIntegratedGradients(output, layer).attribute(
                        ids, baselines=baseline, additional_forward_args=forward_args, n_steps=IG_STEPS,
                        internal_batch_size=IG_STEPS, return_convergence_delta=True)
                    delta = float(deltas[0])
                else:
                    attributions = attr.LayerGradientXActivation(output, layer).attribute(
                        ids, additional_forward_args=forward_args)
            scores = attributions.sum(-1)[0].detach().float().cpu().numpy()
            found.append(Explanation(tuple(texts), _words(enc, scores), label, value, task.explained_value, method,
                                     delta, predicted))
    finally:
        model.train(was_training)
    return found


__all__ = ["Explanation", "explain_inputs", "METHODS"]
