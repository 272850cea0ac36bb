"""Prediction speed of a saved ktnb predictor next to `transformers.pipeline` on the same folder.

One model (the default MiniLM fine-tuned for one epoch on the first --train-rows SST-2 rows) is
saved with `predictor.save`; then --n texts (SST-2 dev, then test) go through
`ktnb.load_predictor(dir).predict` (its defaults) and through
`pipeline("text-classification", model=dir, batch_size=B)` for each B in --pipeline-batches,
the pipeline's best batch size kept. Rounds alternate the order; the best time of each is kept.
The labels must be identical.

    python bench/predict_throughput.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

import ktnb
from rivals import print_prediction_table


def timed(call):
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("KTNB_DATA_DIR", "../shared/data")))
    parser.add_argument("--n", type=int, default=2000, help="texts to predict")
    parser.add_argument("--train-rows", type=int, default=2000)
    parser.add_argument("--pipeline-batches", default="1,8,16,32,64,128")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import pandas as pd
    from transformers import pipeline

    data = ktnb.load_dataset("sst2", args.data_dir, max_train=args.train_rows)
    folder = args.data_dir / "sst2"
    texts = pd.concat([pd.read_csv(folder / "dev.csv"), pd.read_csv(folder / "test.csv")])["text"].tolist()[:args.n]
    learner = ktnb.text_classifier(data, progress=False)
    learner.fit_onecycle(1e-4, 1)
    with tempfile.TemporaryDirectory() as out:
        saved = learner.predictor().save(Path(out) / "sentiment")
        predictor = ktnb.load_predictor(saved)
        pipes = {b: pipeline("text-classification", model=str(saved), batch_size=b, device="cpu")
                 for b in map(int, args.pipeline_batches.split(","))}
        predictor.predict(texts[:64])  # first-use costs out of the way for everyone
        for pipe in pipes.values():
            pipe(texts[:64])
        times: dict[str, list[float]] = {}
        labels: dict[str, list[str]] = {}
        contenders = {"ktnb load_predictor(dir).predict": lambda: predictor.predict(texts)}
        contenders.update({f"pipeline, batch_size={b}": (lambda p=p: [r["label"] for r in p(texts)])
                           for b, p in pipes.items()})
        names = list(contenders)
        for round_ in range(args.repeats):
            for name in names if round_ % 2 == 0 else names[::-1]:
                seconds, result = timed(contenders[name])
                times.setdefault(name, []).append(seconds)
                labels.setdefault(name, result)
                print(f"round {round_ + 1}: {name}: {seconds:.2f} s", flush=True)
    ktnb_name = names[0]
    best = {name: min(ts) for name, ts in times.items()}
    best_pipe = min((n for n in names if n != ktnb_name), key=best.get)
    print(f"\n{len(texts)} SST-2 texts, {predictor!r}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"best of {args.repeats} rounds")
    print_prediction_table(times, labels, len(texts), "texts", "labels")
    print(f"ktnb / the pipeline at its best batch size ({best_pipe}): {best[best_pipe] / best[ktnb_name]:.2f}x")


if __name__ == "__main__":
    main()
