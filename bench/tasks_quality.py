"""Quality on real data for each task beyond single-label classification, on the offline MiniLM,
CPU, from the Python API with ktnb's defaults (batch 32, `lr_find` suggestion unless --lr,
one-cycle): the figures issue #10 asks for, next to the plain Hugging Face loops' reference
figures in ../shared/FACTS.md. Each named set (`ktnb.load_dataset`) validates on rows held out of
its training file and is reported on its second file, which picks nothing.

    python bench/tasks_quality.py --data-dir ../shared/data --task stsb
    python bench/tasks_quality.py --data-dir ../shared/data --task conll
    python bench/tasks_quality.py --data-dir ../shared/data --task goemotions --epochs 6
    python bench/tasks_quality.py --data-dir ../shared/data --task squad --epochs 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import ktnb


def train_and_evaluate(data: ktnb.TextData, epochs: int, lr: str, batch_size: int, schedule: str) -> tuple:
    """ktnb's defaults on `data`: the LR finder's suggestion for `epochs` unless `lr` is a number."""
    learner = ktnb.text_learner(data, batch_size=batch_size, progress=False)
    print(learner)
    rate = learner.lr_find(epochs=epochs).suggestion if lr == "find" else float(lr)
    started = time.perf_counter()
    learner.fit(rate, epochs, schedule)
    seconds = time.perf_counter() - started
    report = learner.evaluate()  # the test split: it picked no weights and tuned no threshold
    print(report.headline)
    print(report)
    return report, {"lr": rate, "epochs": epochs, "batch_size": batch_size, "schedule": schedule,
                    "train_seconds": seconds}


def stsb(data_dir: Path, *run: object) -> dict[str, float]:
    """STS-B: validation held out of the 2,000 training pairs; reported on the 500 dev pairs."""
    report, figures = train_and_evaluate(ktnb.load_dataset("stsb", data_dir), *run)
    return {**figures, "pearson": report.pearson, "spearman": report.spearman}


def conll(data_dir: Path, *run: object) -> dict[str, float]:
    """CoNLL-2003: validation held out of the 2,500 training sentences; reported on test.txt (750)."""
    report, figures = train_and_evaluate(ktnb.load_dataset("conll2003", data_dir), *run)
    return {**figures, "entity_f1": report.f1}


def goemotions(data_dir: Path, *run: object) -> dict[str, float]:
    """GoEmotions: the threshold tuned and the weights picked on rows held out of the 4,000;
    reported on the 800 dev rows."""
    report, figures = train_and_evaluate(ktnb.load_dataset("go_emotions", data_dir), *run)
    return {**figures, "threshold": report.threshold, "f1_micro": report.f1_micro, "f1_macro": report.f1_macro}


def squad(data_dir: Path, *run: object) -> dict[str, float]:
    """SQuAD v1.1: validation held out of the 2,501 training questions by article; reported on
    the 500 dev questions, official exact match and F1."""
    report, figures = train_and_evaluate(ktnb.load_dataset("squad", data_dir), *run)
    return {**figures, "exact_match": report.scores.exact_match, "f1": report.scores.f1}


TASKS = {"stsb": stsb, "conll": conll, "goemotions": goemotions, "squad": squad}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--task", choices=sorted(TASKS), default="stsb")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", default="find", help="a learning rate, or find (the LR finder's suggestion)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--schedule", default="onecycle")
    args = parser.parse_args()
    result = TASKS[args.task](args.data_dir, args.epochs, args.lr, args.batch_size, args.schedule)
    print(f"{args.task}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
