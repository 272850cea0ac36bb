"""Length buckets and dynamic padding: every row once per epoch, little padding."""

from __future__ import annotations

import numpy as np
import pytest

from ktnb.batching import BucketBatchSampler, PadCollator, choose_max_len, sorted_batches


def padding_fraction(batches, lengths):
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return 1 - sum(lengths) / padded


def test_bucket_sampler_yields_every_row_once_and_pads_less_than_random():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 60, size=1000).tolist()
    sampler = BucketBatchSampler(lengths, batch_size=32, seed=1)
    first, second = list(sampler), list(sampler)
    assert len(first) == len(sampler) == 32
    assert sorted(i for b in first for i in b) == list(range(1000))
    assert first != second  # a new order each epoch
    assert max(lengths[i] for i in first[0]) == max(lengths)  # longest batch first
    random_batches = [list(range(i, min(i + 32, 1000))) for i in range(0, 1000, 32)]
    assert padding_fraction(first, lengths) < 0.25 * padding_fraction(random_batches, lengths)


def test_bucket_sampler_is_the_same_in_every_process_for_a_seed():
    lengths = list(range(100))
    assert list(BucketBatchSampler(lengths, 8, seed=3)) == list(BucketBatchSampler(lengths, 8, seed=3))


def test_drop_last():
    sampler = BucketBatchSampler([5] * 10, batch_size=4, drop_last=True)
    assert len(sampler) == 2 and all(len(b) == 4 for b in sampler)


def test_collator_pads_to_longest_and_masks():
    batch = PadCollator(pad_id=0)([{"input_ids": [5, 6, 7], "labels": 1}, {"input_ids": [8], "labels": 0}])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [1, 0]
    assert PadCollator(0, multiple=8)([{"input_ids": [1, 2, 3]}])["input_ids"].shape == (1, 8)


def test_choose_max_len_uses_the_95th_percentile_and_the_cap():
    assert choose_max_len([10] * 95 + [400] * 5, cap=512) == 16
    assert choose_max_len([900] * 10, cap=512) == 512
    assert choose_max_len([3, 4], cap=512) == 8


def test_sorted_batches_cover_all_rows_longest_first():
    batches = sorted_batches([3, 9, 1, 7, 5], 2)
    assert batches == [[1, 3], [4, 0], [2]]


@pytest.mark.parametrize("rows", [384, 385, 386, 391])
def test_each_process_reads_its_slice_of_every_global_batch_and_no_row_is_lost(rows):
    """Data parallelism over 2 processes: every global batch is shared, each row read once, a
    step reads batch_size rows as on one process, and len() is the batches each process reads."""
    lengths = np.random.default_rng(0).integers(3, 40, rows)
    for epoch in range(3):  # the short batch lands somewhere else each epoch
        shards = [BucketBatchSampler(lengths, 8, seed=1, shards=2, rank=r) for r in (0, 1)]
        for s in shards:
            s.set_epoch(epoch)
        slices = [list(s) for s in shards]
        assert len(slices[0]) == len(slices[1]) == len(shards[0])
        read = sorted(i for part in slices for batch in part for i in batch)
        assert read == list(range(rows))  # every row once
        for a, b in zip(*slices):
            assert a and b and abs(len(a) - len(b)) <= 1  # no process idles a step
        whole = BucketBatchSampler(lengths, 8, seed=1)
        whole.set_epoch(epoch)
        if rows % 8 != 1:  # the same global batches as one process reads
            assert [sorted(a + b) for a, b in zip(*slices)] == [sorted(batch) for batch in whole]
