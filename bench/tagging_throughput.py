"""Token-classification (NER) training speed of ktnb next to the Hugging Face Trainer, at equal F1.

CoNLL-2003 train (2,500 sentences) -> test (750), the default MiniLM, the same batch size, max
length (ktnb's automatic choice), learning rate, schedule (linear, 10% warm-up), weight decay,
gradient clipping and fused AdamW for every contender; in each round all start from the same
weights and seed (the seed goes up by one each round). Timed: the training epochs only. F1:
each trained model on the test set through the same code (the tag of each word's first
sub-word, entity-level F1 by seqeval, strict IOB2), averaged over the rounds.

    python bench/tagging_throughput.py --data-dir ../shared/data

ktnb runs at its defaults (bf16 autocast on a CPU with native bf16). The Trainer is set up as
its token-classification example does (`is_split_into_words`, labels on first sub-words,
`DataCollatorForTokenClassification`), once with its default settings (random batches, fp32)
and once at its best setting on this CPU (`train_sampling_strategy="group_by_length"`, bf16).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

import ktnb
from ktnb.batching import IGNORED_LABEL
from ktnb.devices import resolve_mixed_precision
from ktnb.inference import run_model
from ktnb.models import load_for_task, load_tokenizer, resolve_checkpoint
from rivals import alternating_rounds, pick, print_rounds_table, train_with_trainer, warm_up

TAGGING = ktnb.get_task("tagging")


def fresh_model(checkpoint, tags, seed):
    torch.manual_seed(seed)
    return load_for_task(checkpoint, TAGGING, tags)


def test_f1(model, tokenizer, data, max_len) -> float:
    examples = TAGGING.encode(tokenizer, data.val, max_len)
    outputs = run_model(model, examples, tokenizer.pad_token_id, 64, per_token=True, device="cpu")
    return TAGGING.report(outputs.logits, examples.labels, data.class_names, outputs.loss, {}, examples).f1


def run_ktnb(args, data, checkpoint, max_len, seed, precision="auto"):
    train_only = ktnb.TextData(data.train, None, data.class_names, task="tagging")  # no per-epoch evaluation
    learner = ktnb.text_learner(train_only, checkpoint, batch_size=args.batch_size, max_len=max_len, seed=seed,
                                progress=False, device="cpu", mixed_precision=precision)
    started = time.perf_counter()
    learner.fit(args.lr, args.epochs, "linear", warmup=0.1)
    return time.perf_counter() - started, learner.model


def trainer_dataset(tokenizer, data, max_len):
    """The Trainer's own recipe: words tokenised with is_split_into_words, each word's tag on its
    first sub-word and -100 on the rest."""
    import datasets

    enc = tokenizer(data.train.texts, is_split_into_words=True, truncation=True, max_length=max_len)
    labels = []
    for i, tags in enumerate(data.train.labels):
        row, previous = [], None
        for word in enc.word_ids(i):
            row.append(tags[word] if word is not None and word != previous else IGNORED_LABEL)
            previous = word
        labels.append(row)
    return datasets.Dataset.from_dict({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                                       "labels": labels})


def run_trainer(args, data, checkpoint, tokenizer, max_len, seed, strategy, bf16=False):
    from transformers import DataCollatorForTokenClassification

    train = trainer_dataset(tokenizer, data, max_len)
    model = fresh_model(checkpoint, data.class_names, seed)
    collator = DataCollatorForTokenClassification(tokenizer)
    return train_with_trainer(args, model, train, collator, strategy, bf16, seed), model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("KTNB_DATA_DIR", "../shared/data")))
    parser.add_argument("--model", default=None, help="hub name or folder (default: the offline MiniLM)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=0, help="the first round's seed (one more each round)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds, alternating the order, a new seed each")
    parser.add_argument("--only", help="run only the contenders whose name contains one of these |-separated parts")
    args = parser.parse_args()

    folder = args.data_dir / "conll2003"
    data = TAGGING.load_data(folder / "train.txt", folder / "test.txt")
    checkpoint = resolve_checkpoint(args.model)
    tokenizer = load_tokenizer(checkpoint)
    probe = ktnb.text_learner(data, checkpoint, progress=False, device="cpu")
    max_len = probe.max_len
    precision = resolve_mixed_precision("auto", torch.device("cpu"), probe.model)
    del probe
    warm_up(fresh_model(checkpoint, data.class_names, 0), max_len, args.batch_size, torch.zeros_like)

    ktnb_name = f"ktnb fit, default ({'fp32' if precision == 'no' else precision})"
    trainer_default = "HF Trainer, default (random batches, fp32)"
    trainer_best = "HF Trainer, best (group_by_length, bf16)"
    contenders = {
        ktnb_name: lambda seed: run_ktnb(args, data, checkpoint, max_len, seed),
        trainer_default: lambda seed: run_trainer(args, data, checkpoint, tokenizer, max_len, seed, "random"),
        trainer_best: lambda seed: run_trainer(args, data, checkpoint, tokenizer, max_len, seed, "group_by_length",
                                               bf16=True),
    }
    contenders = pick(contenders, args.only)
    times, f1 = alternating_rounds(contenders, args.repeats, lambda name, model: test_f1(model, tokenizer, data, max_len),
                                   args.seed)

    print(f"\nCoNLL-2003 {len(data.train)} training sentences, {args.epochs} epoch(s), batch {args.batch_size}, "
          f"max_len {max_len}, lr {args.lr}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{args.repeats} rounds (order alternated, seeds {args.seed}-{args.seed + args.repeats - 1})")
    print_rounds_table(times, f1, len(data.train) * args.epochs, ktnb_name, (trainer_best, trainer_default),
                       "sentences", "test entity F1")

if __name__ == "__main__":
    main()
