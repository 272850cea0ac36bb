"""SmolLM2 (model: smollm2, the offline copy) fine-tuned to translate English to French with
ktnb's translation task on real Tatoeba pairs (../shared/data/translation): chrF and BLEU
(sacrebleu, signatures printed) on the dev split before and after, training time and tokens per
second. The figure issue #20 asks for.

    python bench/translation_quality.py --data-dir ../shared/data                     # full fine-tune
    python bench/translation_quality.py --data-dir ../shared/data --lora --lr 1e-3    # LoRA adapters only

The first --rows training pairs, one epoch (--epochs) of `fit_onecycle` at --lr, batch 16; the
prompt "Translate English to French.\\nEnglish: …\\nFrench:" with the loss on the French only;
greedy writing to the end of the line, scored on the first --dev dev pairs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import ktnb
from ktnb.lora import trainable_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--rows", type=int, default=1000, help="training pairs (the first of train.csv)")
    parser.add_argument("--dev", type=int, default=200, help="dev pairs scored (the first of dev.csv)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lora", action="store_true", help="train LoRA adapters only (r 16, alpha 32, all linear)")
    args = parser.parse_args()

    folder = args.data_dir / "translation"
    task = ktnb.get_task("translation", source_lang="en", target_lang="fr", val_generate=0, max_target_len=48)
    data = task.load_data(folder / "train.csv", folder / "dev.csv", max_train=args.rows)
    data.val = type(data.val)(data.val.texts[:args.dev], data.val.labels[:args.dev])
    started = time.perf_counter()
    learner = ktnb.text_learner(data, "smollm2", batch_size=args.batch_size, lora=args.lora or None, progress=False)
    trainable, total = trainable_count(learner.model)
    print(f"loaded in {time.perf_counter() - started:.0f} s: {learner.task!r}, max_len {learner.max_len}, "
          f"{trainable:,} of {total:,} parameters train", flush=True)

    started = time.perf_counter()
    before = learner.evaluate()
    print(f"before: {before.headline} ({time.perf_counter() - started:.0f} s)", flush=True)
    tokens = int(sum(len(ids) for ids in learner.train_ds.input_ids)) * args.epochs
    started = time.perf_counter()
    learner.fit_onecycle(args.lr, args.epochs)
    seconds = time.perf_counter() - started
    after = learner.evaluate()
    print(f"after: {after.headline}")
    for name, sig in after.signatures.items():
        print(f"  {name}: {sig}")
    for source, reference, written, score in after.rows[:5]:
        print(f"  {source!r} -> {written!r} (reference {reference!r}, chrF {score:.1f})")
    kind = "LoRA" if args.lora else "full"
    print("\n| run | pairs | epochs | lr | chrF before | chrF after | BLEU before | BLEU after | train s | tokens/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| SmolLM2 {kind} | {len(data.train)} | {args.epochs} | {args.lr:g} | {before.scores['chrf']:.1f} | "
          f"{after.scores['chrf']:.1f} | {before.scores['bleu']:.1f} | {after.scores['bleu']:.1f} | {seconds:.0f} | "
          f"{tokens / seconds:.0f} |")


if __name__ == "__main__":
    main()
