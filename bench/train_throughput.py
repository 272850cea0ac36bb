"""Training speed of ktnb next to the Hugging Face Trainer and a plain PyTorch loop.

Same model (the default MiniLM), same data (the first --max-train rows of SST-2), same batch
size, max length, learning rate, schedule (linear, 10% warm-up), weight decay and gradient
clipping; in each round every run starts from the same weights and seed (one more each round).
Timed: the training epochs only (no loading, no evaluation). Accuracy: each trained model on
the SST-2 dev set, through the same code, averaged over the rounds.

    python bench/train_throughput.py --data-dir ../shared/data --max-train 2000

ktnb runs at its defaults (bf16 autocast on a CPU with native bf16, such as this one) and in
fp32 (the same run, to check that bf16 costs no accuracy). Rivals: the Trainer with its default
settings (random batches, fp32), the Trainer at its best setting on this CPU
(train_sampling_strategy="group_by_length" with bf16=True), the same without bf16, and a
hand-written loop padding every batch to max_len. Also timed: ktnb's lr_find (100 batches) as
a fraction of one epoch.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from statistics import mean

import numpy as np
import torch

import ktnb
from ktnb.batching import encode_texts
from ktnb.devices import resolve_mixed_precision
from ktnb.models import load_classifier, load_tokenizer, resolve_checkpoint
from ktnb.predictor import logits_for_ids
from rivals import alternating_rounds, pick, print_rounds_table, train_with_trainer, warm_up


def dev_accuracy(model, tokenizer, dev, max_len) -> float:
    ids = encode_texts(tokenizer, dev.texts, max_len)
    logits = logits_for_ids(model, ids, tokenizer.pad_token_id, 64, "cpu")
    return float((logits.argmax(-1) == np.asarray(dev.labels)).mean())


def fresh_model(checkpoint, class_names, seed):
    torch.manual_seed(seed)
    return load_classifier(checkpoint, class_names)


def run_ktnb(args, data, checkpoint, max_len, seed, precision="auto"):
    train_only = ktnb.TextData(data.train, None, data.class_names)  # no per-epoch evaluation, as for the rivals
    learner = ktnb.text_classifier(train_only, checkpoint, batch_size=args.batch_size, max_len=max_len,
                                   seed=seed, progress=False, device="cpu", mixed_precision=precision)
    started = time.perf_counter()
    learner.fit(args.lr, args.epochs, "linear")
    return time.perf_counter() - started, learner.model


def run_trainer(args, data, checkpoint, tokenizer, max_len, seed, strategy, bf16=False):
    import datasets
    from transformers import DataCollatorWithPadding

    enc = tokenizer(data.train.texts, truncation=True, max_length=max_len)
    train = datasets.Dataset.from_dict({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                                        "labels": data.train.labels})
    model = fresh_model(checkpoint, data.class_names, seed)
    return train_with_trainer(args, model, train, DataCollatorWithPadding(tokenizer), strategy, bf16, seed), model


def run_plain(args, data, checkpoint, max_len, seed):
    """What a careful hand-written loop does: pad to max_len, shuffle, fused AdamW, linear schedule."""
    from transformers import get_linear_schedule_with_warmup

    tokenizer = load_tokenizer(checkpoint)
    enc = tokenizer(data.train.texts, truncation=True, max_length=max_len, padding="max_length", return_tensors="pt")
    labels = torch.tensor(data.train.labels)
    model = fresh_model(checkpoint, data.class_names, seed)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "norm" not in n.lower()]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "norm" not in n.lower())]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=args.lr, fused=True)  # the fast kernel, as ktnb and the Trainer use
    steps = args.epochs * math.ceil(len(labels) / args.batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    started = time.perf_counter()
    for _ in range(args.epochs):
        order = torch.randperm(len(labels), generator=generator)
        for i in range(0, len(order), args.batch_size):
            idx = order[i:i + args.batch_size]
            loss = model(input_ids=enc["input_ids"][idx], attention_mask=enc["attention_mask"][idx],
                         labels=labels[idx]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - started, model


def padding_share(data, tokenizer, max_len, batch_size, seed) -> dict[str, float]:
    """The share of token positions that are padding, per batching scheme (one epoch)."""
    from transformers.trainer_pt_utils import LengthGroupedSampler

    from ktnb.batching import BucketBatchSampler

    lengths = [len(ids) for ids in encode_texts(tokenizer, data.train.texts, max_len)]

    def share(batches):
        padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
        return 1 - sum(lengths) / padded

    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(seed)).tolist()
    hf_order = list(LengthGroupedSampler(batch_size, lengths=lengths, generator=torch.Generator().manual_seed(seed)))
    chunks = lambda o: [o[i:i + batch_size] for i in range(0, len(o), batch_size)]  # noqa: E731
    return {"ktnb buckets": share(list(BucketBatchSampler(lengths, batch_size, seed=seed))),
            "Trainer group_by_length": share(chunks(hf_order)), "random batches": share(chunks(order)),
            "fixed max_len": 1 - sum(lengths) / (len(lengths) * max_len)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("KTNB_DATA_DIR"))
    parser.add_argument("--model", default=None, help="hub name or folder (default: the offline MiniLM)")
    parser.add_argument("--max-train", type=int, default=2000, help="training rows (0: all 6,920)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0, help="the first round's seed (one more each round)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds, alternating the order, a new seed each")
    parser.add_argument("--only", help="run only the contenders whose name contains one of these |-separated "
                                       "parts (e.g. 'ktnb fit, default|Trainer, best')")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    data = ktnb.load_dataset("sst2", args.data_dir, max_train=args.max_train or None)
    checkpoint = resolve_checkpoint(args.model)
    tokenizer = load_tokenizer(checkpoint)
    probe = ktnb.text_classifier(data, checkpoint, progress=False, device="cpu")
    max_len = probe.max_len  # one max length for every contender
    n = len(data.train) * args.epochs
    warm_up(fresh_model(checkpoint, data.class_names, 0), max_len, args.batch_size,
            lambda ids: torch.zeros(len(ids), dtype=torch.long))

    precision = resolve_mixed_precision("auto", torch.device("cpu"), probe.model)
    ktnb_name = f"ktnb fit, default ({'fp32' if precision == 'no' else precision})"
    trainer_default = "HF Trainer, default (random batches, fp32)"
    trainer_best = "HF Trainer, best (group_by_length, bf16)"
    contenders = {
        ktnb_name: lambda seed: run_ktnb(args, data, checkpoint, max_len, seed),
        "ktnb fit, fp32": lambda seed: run_ktnb(args, data, checkpoint, max_len, seed, "no"),
        trainer_default: lambda seed: run_trainer(args, data, checkpoint, tokenizer, max_len, seed, "random"),
        trainer_best: lambda seed: run_trainer(args, data, checkpoint, tokenizer, max_len, seed, "group_by_length",
                                               bf16=True),
        "HF Trainer (group_by_length, fp32)": lambda seed: run_trainer(args, data, checkpoint, tokenizer, max_len,
                                                                       seed, "group_by_length"),
        f"plain PyTorch loop (pad to {max_len}, fp32)": lambda seed: run_plain(args, data, checkpoint, max_len, seed),
    }
    contenders = pick(contenders, args.only)
    times, accuracy = alternating_rounds(contenders, args.repeats,
                                         lambda name, model: dev_accuracy(model, tokenizer, data.val, max_len),
                                         args.seed)
    finder = ktnb.text_classifier(data, checkpoint, batch_size=args.batch_size, max_len=max_len, seed=args.seed,
                                  progress=False, device="cpu")
    lr_result = finder.lr_find(epochs=args.epochs)

    print(f"\nSST-2 first {len(data.train)} rows, {args.epochs} epoch(s), batch {args.batch_size}, max_len {max_len}, "
          f"lr {args.lr}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{args.repeats} rounds (order alternated, seeds {args.seed}-{args.seed + args.repeats - 1})")
    print_rounds_table(times, accuracy, n, ktnb_name, (trainer_best, trainer_default), "samples", "dev accuracy")
    if ktnb_name in accuracy and "ktnb fit, fp32" in accuracy:
        bf16_acc, fp32_acc = mean(accuracy[ktnb_name]), mean(accuracy["ktnb fit, fp32"])
        print(f"dev accuracy (mean of the rounds), ktnb default vs fp32: {bf16_acc:.4f} vs {fp32_acc:.4f} "
              f"({bf16_acc - fp32_acc:+.4f})")
    print("\npadding share of token positions: " + ", ".join(
        f"{k} {v:.1%}" for k, v in padding_share(data, tokenizer, max_len, args.batch_size, args.seed).items()))
    epoch_seconds = min(times.get(ktnb_name, [float("nan")])) / args.epochs
    print(f"lr_find: {lr_result.seconds:.1f} s over {len(lr_result.lrs)} batches = "
          f"{lr_result.seconds / epoch_seconds:.2f} of one ktnb epoch ({math.ceil(len(data.train) / args.batch_size)} "
          f"batches); suggestion {lr_result.suggestion:.1e}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"times": times, "accuracy": accuracy, "lr_find_seconds": lr_result.seconds,
                       "max_len": max_len, "n": n}, fh, indent=2)


if __name__ == "__main__":
    main()
