"""Quality on real data for each task beyond single-label classification, on the offline MiniLM,
CPU, from the Python API with ktnb's defaults (batch 32, `lr_find` suggestion unless --lr,
one-cycle): the figures issue #10 asks for, next to the plain Hugging Face loops' reference
figures in ../shared/FACTS.md.

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
    report = learner.evaluate()
    print(report)
    return report, {"lr": rate, "epochs": epochs, "batch_size": batch_size, "schedule": schedule,
                    "train_seconds": seconds}


def stsb(data_dir: Path, *run: object) -> dict[str, float]:
    import pandas as pd

    train = pd.read_csv(data_dir / "stsb" / "train.csv")
    dev = pd.read_csv(data_dir / "stsb" / "dev.csv")
    data = ktnb.texts_from_df(train, "sentence1", "score", dev, pair_col="sentence2", task="regression")
    report, figures = train_and_evaluate(data, *run)
    return {**figures, "pearson": report.pearson, "spearman": report.spearman}


def conll(data_dir: Path, *run: object) -> dict[str, float]:
    folder = data_dir / "conll2003"
    data = ktnb.get_task("tagging").load_data(folder / "train.txt", folder / "test.txt")
    report, figures = train_and_evaluate(data, *run)
    return {**figures, "entity_f1": report.f1}


def goemotions(data_dir: Path, *run: object) -> dict[str, float]:
    folder = data_dir / "goemotions"
    data = ktnb.texts_from_csv(folder / "train.csv", "text", "labels", val_path=folder / "dev.csv", task="multilabel")
    report, figures = train_and_evaluate(data, *run)
    return {**figures, "threshold": report.threshold, "f1_micro": report.f1_micro, "f1_macro": report.f1_macro}


def squad(data_dir: Path, *run: object) -> dict[str, float]:
    """SQuAD v1.1 (2,501 training questions, 500 dev), official exact match and F1."""
    folder = data_dir / "squad"
    data = ktnb.get_task("qa").load_data(folder / "train.json", folder / "dev.json")
    report, figures = train_and_evaluate(data, *run)
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
