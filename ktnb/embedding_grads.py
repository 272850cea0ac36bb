"""The word-embedding gradient kept in one buffer across steps, on a CPU.

A dense embedding backward builds a new zero tensor the size of the whole vocabulary table
(MiniLM: 30,522 x 384, 47 MB) at every step, and the allocator hands that much memory straight
back to the system when the step ends, so the next step pays a page fault for every 4 kB of
it again: 18-26 ms of a 150-200 ms MiniLM step on a 2-core CPU, for a batch that touches a few
hundred rows. Here the embedding's backward is made sparse (the rows the batch used, as
PyTorch's own ``nn.Embedding(sparse=True)`` gives), and autograd adds those rows into a dense
gradient buffer that lives as long as the model. The optimizer and the gradient clipping see the same dense
gradient as before (the same values, rows summed in another order), so the training recipe
is unchanged: AdamW still moves every row by its moments.

>>> import torch
>>> table = torch.nn.Embedding(10, 4)
>>> kept = keep_embedding_grad(table, torch.device("cpu"))
>>> table(torch.tensor([[1, 2, 2]])).sum().backward()
>>> table.weight.grad.layout == torch.strided, table.weight.grad[2].tolist()
(True, [2.0, 2.0, 2.0, 2.0])
"""

from __future__ import annotations

from typing import Any

import torch


class KeptEmbeddingGrad:
    """Gives the embedding table a zeroed dense gradient before each forward pass that will be
    backpropagated through, when the table has none (the optimizer's ``zero_grad`` set it to
    None); the sparse rows of the backward are then added into it in place."""

    def __init__(self, embedding: torch.nn.Embedding) -> None:
        self.embedding = embedding
        self.buffer = torch.zeros_like(embedding.weight)
        embedding.sparse = True
        self._hook = embedding.register_forward_pre_hook(self._attach)

    def _attach(self, module: torch.nn.Module, args: Any) -> None:
        weight = module.weight
        if weight.grad is None and weight.requires_grad and torch.is_grad_enabled():
            if self.buffer.shape != weight.shape or self.buffer.device != weight.device:
                self.buffer = torch.zeros_like(weight)  # the table was resized or moved
            else:
                self.buffer.zero_()
            weight.grad = self.buffer

    def remove(self) -> None:
        """Back to PyTorch's dense embedding backward."""
        self._hook.remove()
        self.embedding.sparse = False
        del self.embedding._ktnb_kept_grad


def keep_embedding_grad(model: torch.nn.Module, device: torch.device, processes: int = 1) -> KeptEmbeddingGrad | None:
    """Keep `model`'s input-embedding gradient in one buffer (see the module's text) where it
    pays: on a CPU, in one process (several processes reduce gradients through their own
    buckets). Returns None where it does not apply, or the model has no plain embedding table."""
    if device.type != "cpu" or processes > 1:
        return None
    embedding: Any = model
    if not isinstance(model, torch.nn.Embedding):
        try:
            embedding = model.get_input_embeddings()
        except (AttributeError, NotImplementedError):
            return None
    if type(embedding) is not torch.nn.Embedding or embedding.scale_grad_by_freq:
        return None  # a subclass may compute its own forward; leave it as it is
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if getattr(output, "weight", None) is embedding.weight:
        return None  # tied to the output layer (a language model's): its gradient is dense anyway
    if not embedding.weight.requires_grad:
        return None  # frozen (LoRA trains adapters only): no gradient to keep
    kept = getattr(embedding, "_ktnb_kept_grad", None)
    if kept is None:  # once per table, however many learners train it
        kept = embedding._ktnb_kept_grad = KeptEmbeddingGrad(embedding)
    return kept
