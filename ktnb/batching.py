"""Token ids and the batches they travel in.

Texts are tokenised once, unpadded. Each batch is padded only to its own longest row
(dynamic padding), and training batches are drawn from length buckets ("sortish", as in
fastai) so that rows of similar length share a batch: little compute is spent on padding.
Inference sorts by length outright and puts results back in the caller's order.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


def choose_max_len(lengths: Sequence[int], cap: int, percentile: float = 95, multiple: int = 8) -> int:
    """The `percentile` of token lengths rounded up to a multiple of `multiple`, at most `cap`.

    >>> choose_max_len([10] * 95 + [400] * 5, cap=512)
    16
    """
    if len(lengths) == 0:
        return min(cap, multiple)
    value = float(np.percentile(np.asarray(lengths), percentile, method="inverted_cdf"))  # a length 95% of rows fit in
    rounded = int(np.ceil(value / multiple) * multiple)
    return max(multiple, min(cap, rounded)) if cap >= multiple else cap


def model_length_cap(tokenizer: Any, config: Any) -> int:
    """The longest input the model accepts: its position table, or the tokenizer's limit."""
    caps = [getattr(config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    caps = [c for c in caps if isinstance(c, int) and 0 < c < 1_000_000]
    return min(caps) if caps else 512


def token_lengths(tokenizer: Any, texts: Sequence[str], cap: int) -> list[int]:
    """Token counts (special tokens included), truncated at `cap`."""
    enc = tokenizer(list(texts), truncation=True, max_length=cap, return_attention_mask=False,
                    return_token_type_ids=False)
    return [len(ids) for ids in enc["input_ids"]]


def pad_id(tokenizer: Any) -> int:
    """The id padding uses: the padding token, else the end-of-text token (a decoder's; never a
    real token such as GPT-2's "!" at 0), else 0."""
    for token_id in (tokenizer.pad_token_id, getattr(tokenizer, "eos_token_id", None)):
        if token_id is not None:
            return token_id
    return 0


def special_positions(tokenizer: Any, ids: Sequence[int]) -> list[bool]:
    """Which of `ids` are the tokenizer's structural tokens ([CLS], [SEP], padding, <s>): its
    special tokens, less the unknown token (a word the vocabulary lacks: an emoji, a rare
    character) and the mask token, which stand for words of the text.

    >>> from types import SimpleNamespace
    >>> tok = SimpleNamespace(all_special_ids=[0, 1, 2, 3], unk_token_id=3, mask_token_id=None)
    >>> special_positions(tok, [0, 7, 3, 1])
    [True, False, False, True]
    """
    structural = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id, getattr(tokenizer, "mask_token_id", None)}
    return [token in structural for token in ids]


def encode_texts(tokenizer: Any, texts: Sequence[str], max_len: int) -> list[list[int]]:
    """Token ids per text, truncated to `max_len`, not padded."""
    enc = tokenizer(list(texts), truncation=True, max_length=max_len, return_attention_mask=False,
                    return_token_type_ids=False)
    return enc["input_ids"]


class EncodedTexts(Dataset):
    """Encoded examples for the loop: token ids (with the segment ids of a text pair, where the
    model uses them) and optional labels, which a task makes ints (a class), floats (a score, or
    a 0/1 row of labels) or a list per token (tags, -100 where no tag is scored). `word_ids`
    (tagging) maps each token back to its word, and `word_labels` holds every word's tag, even
    of words that lost their tokens (cut at `max_len`, or with none); neither is fed to the
    model. Items are dicts for `PadCollator`."""

    def __init__(self, input_ids: list[list[int]], labels: Sequence[Any] | None = None,
                 token_type_ids: list[list[int]] | None = None, word_ids: list[list[int | None]] | None = None,
                 word_labels: list[list[int]] | None = None, *, example_ids: Sequence[int] | None = None,
                 offsets: list[list[tuple[int, int] | None]] | None = None,
                 targets: dict[str, Sequence[int]] | None = None, example_labels: Sequence[Any] | None = None,
                 example_inputs: Sequence[Any] | None = None):
        self.input_ids = input_ids
        self.labels = list(labels) if labels is not None else None
        self.token_type_ids = token_type_ids
        self.word_ids = word_ids
        self.word_labels = word_labels
        #: the example each row (feature) comes from, when an example becomes several rows (the
        #: windows of a long context); None: one row per example, in order
        self.example_ids = list(example_ids) if example_ids is not None else None
        #: each token's character span in the text it reads (None for tokens of other text)
        self.offsets = offsets
        #: what the model is trained towards besides `labels`, one whole number per row, fed under
        #: these names (a question answering head's start_positions and end_positions)
        self.targets = dict(targets) if targets else {}
        #: with `example_ids`: each example's labels (its reference answers) and what it was given
        #: (a question and its context), which the task scores and answers per example
        self.example_labels = list(example_labels) if example_labels is not None else None
        self.example_inputs = list(example_inputs) if example_inputs is not None else None
        self.lengths = np.fromiter((len(ids) for ids in input_ids), dtype=np.int64, count=len(input_ids))
        #: a shard's examples as numbered in the whole set (`subset`); None for a whole set
        self.global_examples: list[int] | None = None

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = {"input_ids": self.input_ids[i]}
        if self.token_type_ids is not None:
            item["token_type_ids"] = self.token_type_ids[i]
        if self.labels is not None:
            item["labels"] = self.labels[i]
        for name, values in self.targets.items():
            item[name] = values[i]
        return item

    @property
    def labels_by_example(self) -> list[Any] | None:
        """One label per example: `example_labels` when examples span several rows, else `labels`."""
        return self.example_labels if self.example_ids is not None else self.labels

    @property
    def n_examples(self) -> int:
        """How many examples the rows come from."""
        return len(self) if self.example_ids is None else (max(self.example_ids) + 1 if self.example_ids else 0)

    def example_shards(self, count: int) -> list[list[int]]:
        """The examples split among `count` processes, each a list of example indices: by
        descending size (tokens over all of an example's rows), dealt round-robin, so that every
        process has near the same work; an example's windows all go to one process, which
        needs them all to find its answer.

        >>> EncodedTexts([[1] * n for n in (5, 2, 9, 4)]).example_shards(2)   # 9 and 4 tokens; 5 and 2
        [[2, 3], [0, 1]]
        """
        if self.example_ids is None:
            sizes = self.lengths
        else:
            sizes = np.bincount(np.asarray(self.example_ids, dtype=np.int64), weights=self.lengths,
                                minlength=self.n_examples)
        order = np.argsort(-np.asarray(sizes), kind="stable")
        return [sorted(order[rank::count].tolist()) for rank in range(count)]

    def subset(self, examples: Sequence[int]) -> EncodedTexts:
        """The rows of these examples (indices, ascending) as a set of their own, examples
        renumbered from 0; `global_examples` says which example each one was."""
        examples = list(examples)
        if self.example_ids is None:
            rows = examples
        else:
            renumbered = {example: j for j, example in enumerate(examples)}
            rows = [i for i, example in enumerate(self.example_ids) if example in renumbered]

        def by_row(values: Sequence[Any] | None) -> list[Any] | None:
            return None if values is None else [values[i] for i in rows]

        def by_example(values: Sequence[Any] | None) -> list[Any] | None:
            return None if values is None else [values[i] for i in examples]

        part = EncodedTexts(
            by_row(self.input_ids), by_row(self.labels), by_row(self.token_type_ids), by_row(self.word_ids),
            by_row(self.word_labels),
            example_ids=None if self.example_ids is None else [renumbered[self.example_ids[i]] for i in rows],
            offsets=by_row(self.offsets), targets={name: by_row(values) for name, values in self.targets.items()},
            example_labels=by_example(self.example_labels), example_inputs=by_example(self.example_inputs))
        part.global_examples = examples
        return part

    def without_labels(self) -> EncodedTexts:
        return EncodedTexts(self.input_ids, None, self.token_type_ids, self.word_ids, example_ids=self.example_ids,
                            offsets=self.offsets, example_inputs=self.example_inputs)


#: the label of a token that is not scored (padding, special tokens, a word's later pieces);
#: the loss functions of transformers ignore it
IGNORED_LABEL = -100


#: what `PadCollator` pads to the batch's width; any other item is one whole number per row
_PADDED = {"input_ids", "token_type_ids", "labels"}


class PadCollator:
    """Pads a list of examples to the longest one (rounded up to `multiple`, which helps
    tensor cores on GPUs) and builds the attention mask. Labels per token are padded with
    `IGNORED_LABEL` (a target sequence of another length, an encoder-decoder's, to its own
    longest); float labels (scores, 0/1 rows) become float tensors."""

    def __init__(self, pad_id: int, multiple: int | None = None):
        self.pad_id = pad_id
        self.multiple = multiple

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(e["input_ids"]) for e in examples)
        if self.multiple:
            width = -(-width // self.multiple) * self.multiple
        input_ids = torch.full((len(examples), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(examples), width), dtype=torch.long)
        for row, e in enumerate(examples):
            n = len(e["input_ids"])
            input_ids[row, :n] = torch.tensor(e["input_ids"], dtype=torch.long)
            mask[row, :n] = 1
        batch = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in examples[0]:
            segments = torch.zeros((len(examples), width), dtype=torch.long)
            for row, e in enumerate(examples):
                segments[row, :len(e["token_type_ids"])] = torch.tensor(e["token_type_ids"], dtype=torch.long)
            batch["token_type_ids"] = segments
        if "labels" in examples[0]:
            labels = [e["labels"] for e in examples]
            label_width = width
            if isinstance(labels[0], list) and any(len(t) != len(e["input_ids"]) for t, e in zip(labels, examples)):
                # a target of its own (an encoder-decoder's), not a label per input token: its own width
                label_width = max(len(t) for t in labels)
                if self.multiple:
                    label_width = -(-label_width // self.multiple) * self.multiple
            batch["labels"] = self._labels(labels, label_width)
        for name in examples[0].keys() - _PADDED:  # one whole number per row (start_positions, …)
            batch[name] = torch.tensor([e[name] for e in examples], dtype=torch.long)
        return batch

    @staticmethod
    def _labels(labels: list[Any], width: int) -> torch.Tensor:
        first = labels[0]
        if isinstance(first, list) and (not first or isinstance(first[0], (int, np.integer))):  # tags per token
            out = torch.full((len(labels), width), IGNORED_LABEL, dtype=torch.long)
            for row, tags in enumerate(labels):
                out[row, :len(tags)] = torch.tensor(tags, dtype=torch.long)
            return out
        values = np.asarray(labels)
        return torch.from_numpy(values.astype(np.float32) if values.dtype.kind == "f" else values.astype(np.int64))


class BucketBatchSampler(Sampler[list[int]]):
    """Training batches of similar-length rows, in a new random order every epoch.

    Rows are shuffled, cut into chunks of `batch_size * bucket_factor`, each chunk sorted by
    length and cut into batches; the batches are shuffled again, with the longest batch first
    so that an out-of-memory error shows on the first step rather than late in an epoch.
    Every process draws the same order from `seed` and the epoch count. With `shards` > 1 (data
    parallelism over that many processes), each batch is the global batch of a step and process
    `rank` gets its slice (sizes differ by at most one row), so that a step reads `batch_size`
    rows whatever the number of processes; a last batch of fewer rows than processes joins the
    one before it, so that no slice is empty.

    >>> sampler = BucketBatchSampler([5] * 9, 4, shards=2, rank=1)
    >>> len(sampler), [len(b) for b in sampler]
    (2, [2, 2])
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, *, seed: int = 0, bucket_factor: int = 50,
                 drop_last: bool = False, shards: int = 1, rank: int = 0):
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.bucket_factor = bucket_factor
        self.drop_last = drop_last
        self.shards, self.rank = shards, rank
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def skip_next(self, batches: int) -> None:
        """Leave out the first `batches` of the next epoch's order (a run resumed mid-epoch), so
        that their rows are never read."""
        self._skip = batches

    def __len__(self) -> int:
        full, rest = divmod(len(self.lengths), self.batch_size)
        if self.drop_last or not rest:
            return full
        return full if 0 < rest < self.shards and full else full + 1  # a remainder too small to share joins a batch

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        order = rng.permutation(len(self.lengths))
        chunk = self.batch_size * self.bucket_factor
        batches = []
        for start in range(0, len(order), chunk):
            part = order[start:start + chunk]
            part = part[np.argsort(-self.lengths[part], kind="stable")]
            batches += [part[i:i + self.batch_size] for i in range(0, len(part), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches = [b for b in batches if len(b) == self.batch_size]
        if len(batches) > 1 and len(batches[-1]) < self.shards:  # too few rows to give every process one
            batches[-2:] = [np.concatenate(batches[-2:])]
        rng.shuffle(batches)
        if batches:
            longest = max(range(len(batches)), key=lambda b: self.lengths[batches[b]].max())
            batches[0], batches[longest] = batches[longest], batches[0]
        skip, self._skip = self._skip, 0
        for batch in batches[skip:]:
            yield (np.array_split(batch, self.shards)[self.rank] if self.shards > 1 else batch).tolist()


def sorted_batches(lengths: Sequence[int], batch_size: int, max_tokens: int | None = None) -> list[list[int]]:
    """Row indices in batches of decreasing length, for inference (order restored by caller):
    at most `batch_size` rows, and with `max_tokens`, at most that many padded tokens (long rows
    go fewer to a batch: on a CPU, 64 windows of 512 tokens run 20% slower than 8 at a time)."""
    order = np.argsort(-np.asarray(lengths), kind="stable").tolist()
    batches, start = [], 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        rows = batch_size if max_tokens is None else max(1, min(batch_size, max_tokens // longest))
        batches.append(order[start:start + rows])
        start += rows
    return batches
