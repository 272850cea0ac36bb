"""Attention weights for one sentence: every layer and head, with the tokens they connect.

    att = learner.attention("a gorgeous , witty film")
    att.plot(layer=-1)          # matplotlib heatmaps, one per head
    att.plot(layer="rollout", hide_special=True)   # through every layer, [CLS]/[SEP] left out
    att                         # in a notebook: the interactive view (PNG fallback built in)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np


@contextlib.contextmanager
def eager_attention(model: Any) -> Iterator[None]:
    """Fast attention kernels (sdpa, flash) return no weights: switch to the eager one while
    reading them, then back."""
    config = model.config
    previous = getattr(config, "_attn_implementation", None)
    if previous in (None, "eager"):
        yield
        return
    model.set_attn_implementation("eager")
    try:
        yield
    finally:
        model.set_attn_implementation(previous)


@dataclass
class Attention:
    """`weights[layer, head, i, j]`: how much token i attends to token j."""

    text: str
    tokens: list[str]
    weights: np.ndarray
    #: positions of the special tokens ([CLS], [SEP]), which the views can hide
    special: tuple[int, ...] = field(default=())

    @property
    def layers(self) -> int:
        return self.weights.shape[0]

    @property
    def heads(self) -> int:
        return self.weights.shape[1]

    def _check_pick(self, layer: Any, head: Any) -> None:
        """A layer (counted from 0, -1 the last) or "rollout", and a head or None, in one line if not."""
        from .errors import KtnbError

        def index(value: Any, count: int) -> bool:
            return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and -count <= value < count

        if layer != "rollout" and not index(layer, self.layers):
            raise KtnbError(f"layer must be a whole number from 0 to {self.layers - 1} (-1: the last), or "
                            f"'rollout', got {layer!r}")
        if head is not None and (layer == "rollout" or not index(head, self.heads)):
            raise KtnbError("the rollout mixes every head: leave head out" if layer == "rollout" else
                            f"head must be a whole number from 0 to {self.heads - 1}, or None (their mean), "
                            f"got {head!r}")

    def select(self, layer: int | str = -1, head: int | None = None, hide_special: bool = False) -> np.ndarray:
        """One (seq, seq) map: a head of a layer, the mean over its heads when `head` is None, or
        the rollout through every layer (layer="rollout"); with `hide_special`, the special
        tokens' rows and columns left out and each row renormalised over the words."""
        from .render.attention import _select

        self._check_pick(layer, head)
        return _select(self, layer, head, hide_special)[0]

    def rollout(self) -> np.ndarray:
        """Attention rollout (Abnar and Zuidema, 2020): how much each token's final state draws
        on each input token, through every layer. Each layer's mean over heads is mixed half
        and half with the identity (the residual connection), its rows renormalised, and the
        layers multiplied from the first up. Row i of the (seq, seq) result is token i's mix.

        >>> att = Attention("a b", ["[CLS]", "a", "b"], np.full((2, 1, 3, 3), 1 / 3))
        >>> att.rollout()[0].round(3).tolist()
        [0.5, 0.25, 0.25]
        """
        from .render.attention import rollout

        return rollout(self.weights)

    def plot(self, layer: int | str = -1, head: int | None = None, heads: bool | None = None,
             hide_special: bool = False) -> Any:
        """Heatmaps (matplotlib Figure). By default all heads of `layer` side by side; with
        `head` given (or heads=False), that one head (or the mean over heads); layer="rollout"
        for the rollout through every layer; `hide_special` leaves [CLS] and [SEP] out."""
        from .render.attention import ROLLOUT, attention_figure, heads_figure

        self._check_pick(layer, head)
        if layer != ROLLOUT and not hide_special and (heads or (heads is None and head is None)):
            return heads_figure(self, layer)
        return attention_figure(self, layer, head, hide_special)

    def to_html(self, layer: int | str = -1, head: int | None = None, hide_special: bool = False) -> str:
        """The self-contained interactive view (see `ktnb.render.attention.attention_html`)."""
        from .render.attention import attention_html

        self._check_pick(layer, head)
        return attention_html(self, layer, head, hide_special)

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_png_(self) -> bytes:
        from .render.figures import figure_png

        return figure_png(self.plot(heads=False))

    def bertviz(self, view: str = "head") -> Any:
        """Hand the same weights and tokens to bertviz's `head_view` or `model_view` (needs the
        ``bertviz`` extra, and a browser that can reach its CDN)."""
        import torch

        try:
            from bertviz import head_view, model_view
        except ImportError:
            from .errors import KtnbError

            raise KtnbError("bertviz is not installed; pip install 'ktnb[bertviz]' or use the built-in view") from None
        tensors = tuple(torch.from_numpy(layer[None]) for layer in self.weights)
        return (model_view if view == "model" else head_view)(tensors, self.tokens, html_action="return")

    def __repr__(self) -> str:
        return f"Attention({len(self.tokens)} tokens, {self.layers} layers x {self.heads} heads)"


def attention_for(model: Any, tokenizer: Any, text: str, max_len: int = 512) -> Attention:
    """Run `model` on `text` and collect the attention weights of every layer and head."""
    import torch

    from .errors import DataError

    if not isinstance(text, str) or not text.strip():
        raise DataError("attention needs a non-empty sentence")
    if getattr(model.config, "is_encoder_decoder", False):
        raise DataError(f"the attention view shows one stack of self-attention; a {model.config.model_type} "
                        "encoder-decoder has two and cross-attention between them, which it does not draw")
    enc = tokenizer(text, truncation=True, max_length=max_len, return_tensors="pt")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), eager_attention(model):
            out = model(**{k: v.to(device) for k, v in enc.items()}, output_attentions=True)
    finally:
        model.train(was_training)
    weights = np.stack([a[0].float().cpu().numpy() for a in out.attentions])
    from .batching import special_positions

    ids = enc["input_ids"][0].tolist()
    return Attention(text, tokenizer.convert_ids_to_tokens(ids), weights,
                     tuple(i for i, is_special in enumerate(special_positions(tokenizer, ids)) if is_special))
