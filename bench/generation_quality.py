"""SmolLM2 (model: smollm2, the offline copy) fine-tuned on real text with ktnb's generation
task: validation perplexity before and after, and training tokens per second. The figure issue
#19 asks for; the side-by-side speed comparison with TRL's SFTTrainer is another script.

    python bench/generation_quality.py --data-dir ../shared/data                  # SST-2 sentences as documents
    python bench/generation_quality.py --data-dir ../shared/data --set translation  # English -> French pairs
    python bench/generation_quality.py --data-dir ../shared/data --lora --lr 1e-3    # LoRA adapters only

Documents: the first --rows SST-2 training sentences, packed into blocks of --max-len tokens,
validation on 10% of the sentences held out. Pairs: the first --rows Tatoeba English -> French
pairs as prompt/response (the tokenizer's chat template; the loss on the French only),
validation on the first 200 dev pairs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import ktnb
from ktnb.lora import trainable_count


def peak_memory_mb() -> float:
    """The process's peak resident memory so far (Linux reports kilobytes)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read(data_dir: Path, which: str, rows: int) -> ktnb.TextData:
    import pandas as pd

    task = ktnb.get_task("generation")
    if which == "sst2":
        return task.load_data(pd.read_csv(data_dir / "sst2" / "train.csv")["text"][:rows].tolist(), seed=0)
    train = pd.read_csv(data_dir / "translation" / "train.csv")[:rows]
    dev = pd.read_csv(data_dir / "translation" / "dev.csv")[:200]

    def pairs(frame):
        return ([f"Translate English to French.\nEnglish: {s}" for s in frame["source"]], frame["target"].tolist())

    return task.load_data(pairs(train), pairs(dev))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--set", choices=("sst2", "translation"), default="sst2")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", default="1e-4", help="a rate, or find: lr_find's suggestion for this run")
    parser.add_argument("--find-batches", type=int, default=40, help="batches the LR finder sweeps over")
    parser.add_argument("--max-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lora", action="store_true", help="train LoRA adapters only (r 16, alpha 32, all linear)")
    args = parser.parse_args()

    data = read(args.data_dir, args.set, args.rows)
    started = time.perf_counter()
    learner = ktnb.text_learner(data, "smollm2", max_len=args.max_len, batch_size=args.batch_size,
                                lora=True if args.lora else None)
    print(f"{learner}  (loaded in {time.perf_counter() - started:.1f} s)")
    memory_before = peak_memory_mb()
    tokens = int(sum(learner.train_ds.lengths))
    before = learner.evaluate()
    print("before:", before.headline)
    if args.lr == "find":
        finder = learner.lr_find(epochs=args.epochs, max_batches=args.find_batches)
        print(f"lr_find: suggestion {finder.suggestion:.2e} ({finder.suggested_by}); readings "
              + ", ".join(f"{k} {v:.1e}" for k, v in finder.suggestions.items()))
        args.lr = finder.suggestion
    args.lr = float(args.lr)
    started = time.perf_counter()
    learner.fit_onecycle(args.lr, args.epochs)
    seconds = time.perf_counter() - started
    after = learner.evaluate()
    print("after: ", after.headline)
    prompt = "the movie is" if args.set == "sst2" else "Translate English to French.\nEnglish: I like tea."
    print("greedy:", repr(learner.predictor().generate(prompt, max_new_tokens=16)))
    print(f"{args.set}: rows {args.rows}, blocks/rows {len(learner.train_ds)}, training tokens {tokens} x "
          f"{args.epochs} epoch(s), lr {args.lr:g}, batch {args.batch_size}, max_len {learner.max_len}, "
          f"precision {learner.mixed_precision}: perplexity {before.perplexity:.2f} -> {after.perplexity:.2f}, "
          f"training {seconds:.0f} s (with validation), {tokens * args.epochs / seconds:.0f} tokens/s")
    trainable, total = trainable_count(learner.model)
    print(f"trainable parameters {trainable:,} of {total:,} ({100 * trainable / total:.2f}%); peak memory "
          f"{peak_memory_mb():.0f} MB (process), {memory_before:.0f} MB before training")


if __name__ == "__main__":
    main()
