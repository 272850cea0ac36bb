"""Attention weights for one sentence: every layer and head, with the tokens they connect.

    att = learner.attention("a gorgeous , witty film")
    att.plot(layer=-1)          # matplotlib heatmaps, one per head
    att                         # in a notebook: the interactive view (PNG fallback built in)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
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

    @property
    def layers(self) -> int:
        return self.weights.shape[0]

    @property
    def heads(self) -> int:
        return self.weights.shape[1]

    def select(self, layer: int = -1, head: int | None = None) -> np.ndarray:
        """One (seq, seq) map: a head of a layer, or the mean over heads when `head` is None."""
        maps = self.weights[layer]
        return maps.mean(axis=0) if head is None else maps[head]

    def rollout(self) -> np.ndarray:
        """Attention rollout (Abnar and Zuidema, 2020): how much each token's final state draws
        on each input token, through every layer. Each layer's mean over heads is mixed half
        and half with the identity (the residual connection), its rows renormalised, and the
        layers multiplied from the first up. Row i of the (seq, seq) result is token i's mix.

        >>> att = Attention("a b", ["[CLS]", "a", "b"], np.full((2, 1, 3, 3), 1 / 3))
        >>> att.rollout()[0].round(3).tolist()
        [0.5, 0.25, 0.25]
        """
        size = self.weights.shape[-1]
        rolled = np.eye(size)
        for layer in self.weights:
            mixed = 0.5 * layer.mean(axis=0) + 0.5 * np.eye(size)
            mixed /= mixed.sum(axis=-1, keepdims=True)
            rolled = mixed @ rolled
        return rolled

    def plot(self, layer: int = -1, head: int | None = None, heads: bool | None = None) -> Any:
        """Heatmaps (matplotlib Figure). By default all heads of `layer` side by side; with
        `head` given (or heads=False), that one head (or the mean over heads)."""
        from .render.attention import attention_figure, heads_figure

        if heads or (heads is None and head is None):
            return heads_figure(self, layer)
        return attention_figure(self, layer, head)

    def to_html(self, layer: int = -1, head: int | None = None) -> str:
        """The self-contained interactive view (see `ktnb.render.attention.attention_html`)."""
        from .render.attention import attention_html

        return attention_html(self, layer, head)

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
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    return Attention(text, tokens, weights)
