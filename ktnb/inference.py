"""Running a model over encoded examples without training: a `Runner` gives a task forward
passes in batches sorted by length (and `generate`), which the task reduces batch by batch
into its per-example outputs; `collect_logits` is that reduction for tasks with one logits row
(or one per token) per example. Shared by the learner (validation) and the predictor (new
text); needs neither."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Iterable, Iterator, Sequence

import numpy as np
import torch

from .batching import IGNORED_LABEL, EncodedTexts, PadCollator, sorted_batches


#: a CPU forward pass's padded tokens at most: rows of up to 128 tokens keep the batch size asked
#: for, QA's 512-token windows go 16 at a time (bench/RESULTS.md, prediction of question answering:
#: 8 or 16 windows of 512 tokens a batch took 10.5-10.8 s for 200 SQuAD questions, 64 took 12.8 s)
CPU_BATCH_TOKENS = 8192


@dataclass
class Outputs:
    """Per-example logits: an (n, k) array for sequence-level tasks, or for per-token tasks a
    list of (tokens, k) arrays cut to each example's length. `loss` is the model's own loss
    averaged over what it scores (examples, or tagged tokens), None without labels."""

    logits: np.ndarray | list[np.ndarray]
    loss: float | None = None
    #: what `loss` is the mean over (rows, scored tokens, windows): shards' losses are combined by it
    loss_weight: float = 0.0


@dataclass
class Batch:
    """One forward pass: which encoded rows it ran (`index`, into the encoded set), the padded
    inputs it was given (on the CPU, labels included), what the head returned as float32 numpy
    arrays (`logits`, or `start_logits` and `end_logits`: the names a task keeps), and the
    model's own loss over the batch (None without labels)."""

    index: list[int]
    inputs: dict[str, torch.Tensor]
    outputs: dict[str, np.ndarray]
    loss: float | None


def device_of(model: Any) -> torch.device:
    return next(model.parameters()).device


class Runner:
    """What a task is handed to evaluate or predict with: forward passes over encoded rows in
    batches sorted by length (so padding costs little), which it reduces batch by batch, never
    holding more than one batch's outputs of its own making; and `generate` for tasks that
    write text. The model is in eval mode, without gradients, and put back as it was.

    >>> for batch in Runner(model, pad_id=0, batch_size=64).forward(examples):   # doctest: +SKIP
    ...     batch.index, batch.outputs["logits"].shape
    """

    def __init__(self, model: Any, pad_id: int, batch_size: int, *, device: torch.device | str | None = None,
                 autocast: Callable[[], ContextManager] = contextlib.nullcontext, tokenizer: Any = None,
                 generation: dict[str, Any] | None = None, epoch_check: bool = False):
        self.model = model
        #: set for the loop's check after each epoch: a task whose scores need text the model writes
        #: (slow) may score a sample of the set then, and the whole set at `evaluate`
        self.epoch_check = epoch_check
        #: for tasks that write text: what turns the tokens they generate back into text
        self.tokenizer = tokenizer
        #: settings for `model.generate` a caller chose (max_new_tokens, temperature, …)
        self.generation = dict(generation or {})
        self.pad_id = pad_id
        self.batch_size = batch_size
        self.device = torch.device(device) if device is not None else device_of(model)
        self.autocast = autocast
        #: padded tokens a batch may hold: on a CPU, long rows (QA's 512-token windows) run faster
        #: a few at a time; a GPU takes whole batches
        self.max_tokens = CPU_BATCH_TOKENS if self.device.type == "cpu" else None

    @contextlib.contextmanager
    def _evaluating(self, inference: bool = False) -> Iterator[None]:
        """The model in eval mode without gradients; with `inference`, in `torch.inference_mode`,
        which skips autograd's bookkeeping altogether (a few percent of a CPU's generation time,
        where each new token is a pass of small operations)."""
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode() if inference else torch.no_grad():
                yield
        finally:
            self.model.train(was_training)

    def forward(self, examples: EncodedTexts, keep: Sequence[str] = ("logits",),
                reduce: Callable[[Any, dict[str, torch.Tensor]], dict[str, np.ndarray]] | None = None,
                feed_labels: bool = False) -> Iterator[Batch]:
        """The model over `examples`, one `Batch` at a time, longest rows first; `keep`: the
        outputs copied to the CPU (a causal LM's 49k-wide logits stay on the device unless asked).
        `reduce(model_output, inputs)`, given the batch on the device, adds what it returns to the
        batch's outputs (a language model's loss per row): the task scores the labels itself, so
        the model is not asked for its own loss, unless `feed_labels` (an encoder-decoder makes its
        decoder's inputs from them)."""
        collate = PadCollator(self.pad_id)
        with self._evaluating():
            for index in sorted_batches(examples.lengths, self.batch_size, self.max_tokens):
                inputs = collate([examples[i] for i in index])
                on_device = {k: v.to(self.device) for k, v in inputs.items()}
                with self.autocast():
                    out = self.model(**{k: v for k, v in on_device.items()
                                         if reduce is None or feed_labels or k != "labels"})
                outputs = {name: getattr(out, name).float().cpu().numpy() for name in keep}
                if reduce is not None:
                    outputs.update(reduce(out, on_device))
                loss = getattr(out, "loss", None)
                yield Batch(index, inputs, outputs, float(loss) if loss is not None else None)

    def generate(self, examples: EncodedTexts, **settings: Any) -> Iterator[tuple[list[int], list[list[int]]]]:
        """The tokens a generative model writes after each row (its prompt, or an encoder's
        source), a batch at a time: (row indices, the new token ids of each). A decoder-only
        model's rows are padded on the left, as it needs its last token to be the prompt's; an
        encoder-decoder's on the right, as it was trained (BART's positions count from the left);
        `settings` go to `model.generate` (`max_new_tokens`, `do_sample`, …)."""
        encoder_decoder = bool(getattr(self.model.config, "is_encoder_decoder", False))
        per_batch = self.batch_size
        if self.device.type == "cpu" and len(examples):
            # a step of writing costs a CPU little per row, and a batch takes as many steps as its
            # longest text: batches as wide as the token budget allows (200 sentences of a small
            # T5 written in 1.5 s at 128 rows a batch, 3.0 s at 32)
            longest = int(examples.lengths.max()) + int(settings.get("max_new_tokens") or 0)
            per_batch = max(per_batch, CPU_BATCH_TOKENS // max(longest * int(settings.get("num_beams") or 1), 1))
        # written in the runner's precision, as its forward passes are: a report writes as the
        # learner's predictor does (a predictor loaded from its folder, in the weights' own)
        with self._evaluating(inference=True), self.autocast():
            for index in sorted_batches(examples.lengths, per_batch):
                rows = [examples.input_ids[i] for i in index]
                width = max(len(r) for r in rows)
                input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for j, row in enumerate(rows):
                    start = 0 if encoder_decoder else width - len(row)
                    input_ids[j, start:start + len(row)] = torch.tensor(row, dtype=torch.long)
                    mask[j, start:start + len(row)] = 1
                written = self.model.generate(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device),
                                              pad_token_id=self.pad_id, **settings)
                # an encoder-decoder gives its decoder's tokens, after the one it starts from
                skip = 1 if encoder_decoder else width
                yield index, [seq[skip:].tolist() for seq in written.cpu()]


def collect_logits(batches: Iterable[Batch], n: int, per_token: bool = False, width: int = 0) -> Outputs:
    """Each row's logits put back in the caller's order (cut to its tokens when `per_token`),
    with the mean loss weighted by what each batch scores (examples, or tagged tokens): the
    way a classifier, a regressor or a tagger reduces its outputs (`Task.outputs`)."""
    rows: list[Any] = [None] * n
    loss_sum, loss_weight = 0.0, 0
    for batch in batches:
        logits = batch.outputs["logits"]
        if batch.loss is not None:
            labels = batch.inputs["labels"]
            weight = int((labels != IGNORED_LABEL).sum()) if per_token else len(batch.index)
            loss_sum += batch.loss * weight
            loss_weight += weight
        lengths = batch.inputs["attention_mask"].sum(1).tolist()
        for j, i in enumerate(batch.index):
            rows[i] = logits[j, : lengths[j]] if per_token else logits[j]
    loss = loss_sum / loss_weight if loss_weight else None
    if per_token:
        return Outputs(rows, loss, loss_weight)
    return Outputs(np.stack(rows) if rows else np.empty((0, width), dtype=np.float32), loss, loss_weight)


def run_model(model: Any, examples: EncodedTexts, pad_id: int, batch_size: int, *, per_token: bool = False,
              device: torch.device | str | None = None,
              autocast: Callable[[], ContextManager] = contextlib.nullcontext) -> Outputs:
    """The model's logits for `examples` in their order, with its mean loss when they have labels.

    >>> run_model(model, learner.val_ds, tokenizer.pad_token_id, 64).loss   # doctest: +SKIP
    0.41
    """
    runner = Runner(model, pad_id, batch_size, device=device, autocast=autocast)
    return collect_logits(runner.forward(examples), len(examples), per_token, model.config.num_labels)
