"""Dropout with cheaper random masks on a CPU.

PyTorch's CPU dropout draws one Bernoulli sample per element, about 10 ns each on the 2-core
machines ktnb is measured on: 13% of a MiniLM training step goes on the 20 dropout masks it
draws (14 through `torch.nn.Dropout` modules, which this replaces; the attention kernel draws
the other 6 inside `scaled_dot_product_attention`). Here the mask comes from 64-bit random
words cut into four 16-bit numbers, each kept when it is at or above the rate's share of the
16-bit range (1.2 ns per element). The rate is
the model's own to 1/65,536 (0.1 is applied as 0.100006) and the kept values are scaled by the
inverse of that rate's keep share, so every activation's expectation is unchanged, exactly as
in `torch.nn.Dropout`; only the random numbers differ, drawn from the same seeded generator.

>>> import torch
>>> torch.manual_seed(0) and None
>>> layer = CheapDropout(0.1)
>>> kept = (layer(torch.ones(100_000)) != 0).float().mean().item()
>>> round(kept, 2), layer.eval()(torch.ones(3)).tolist()
(0.9, [1.0, 1.0, 1.0])
"""

from __future__ import annotations

from typing import Any

import torch

_LEVELS = 1 << 16  # 16-bit random numbers


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> tuple[torch.Tensor, float]:
    """A boolean mask of `shape`, each element False with probability `p` rounded to 1/65,536,
    and the factor that rescales what is kept (1 / its keep share)."""
    dropped = round(p * _LEVELS)
    count = shape.numel()
    words = torch.empty((count + 3) // 4, dtype=torch.int64, device=device).random_(-(1 << 63), None)
    mask = words.view(torch.int16)[:count].view(shape) >= dropped - _LEVELS // 2
    return mask, _LEVELS / (_LEVELS - dropped)


class _KeepAndScale(torch.autograd.Function):
    """x * mask * scale, saving only the boolean mask for the backward pass."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, mask: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(mask)
        ctx.scale = scale
        return torch.mul(x, mask).mul_(scale)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (mask,) = ctx.saved_tensors
        return torch.mul(grad, mask).mul_(ctx.scale), None, None


class CheapDropout(torch.nn.Dropout):
    """`torch.nn.Dropout` with the cheaper masks above for CPU tensors; anything else (another
    device, in-place dropout, rates that round to 0 or 1) is left to PyTorch's own."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.inplace or not 0 < round(self.p * _LEVELS) < _LEVELS \
                or x.device.type != "cpu" or not x.is_floating_point():
            return super().forward(x)
        mask, scale = keep_mask(x.shape, self.p, x.device)
        return _KeepAndScale.apply(x, mask, scale)


def use_cheap_dropout(model: torch.nn.Module, device: torch.device) -> int:
    """Turn each plain `torch.nn.Dropout` of `model` into a `CheapDropout` (the same rate and
    module, its class changed) when training runs on a CPU; returns how many were changed."""
    if device.type != "cpu":
        return 0
    changed = 0
    for module in model.modules():
        if type(module) is torch.nn.Dropout:
            module.__class__ = CheapDropout
            changed += 1
    return changed
