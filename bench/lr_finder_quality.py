"""Is the LR finder's suggestion one a user can follow? On SST-2 with the default MiniLM, for each
number of training rows, batch size and seed: run `lr_find`, train 2 epochs of `fit_onecycle` at
its suggestion, and at each rate of a fixed grid, each from the same start; report the dev
accuracy of each, and whether the suggestion comes within `--tolerance` of the grid's best.

    python bench/lr_finder_quality.py --data-dir ../shared/data
    python bench/lr_finder_quality.py --data-dir ../shared/data --sizes 500 --batch-sizes 16 --seeds 0

Prints a markdown table (one row per cell) for bench/RESULTS.md and exits 1 if a cell misses.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path


def train_and_score(data, batch_size: int, seed: int, lr: float, epochs: int) -> float:
    import ktnb

    learner = ktnb.text_classifier(data, batch_size=batch_size, seed=seed, progress=False)
    learner.fit_onecycle(lr, epochs)
    return learner.evaluate().accuracy


def run_cell(data_dir: str, size: int, batch_size: int, seed: int, grid: list[float], epochs: int) -> dict:
    import ktnb

    data = ktnb.load_dataset("sst2", data_dir, max_train=size)
    learner = ktnb.text_classifier(data, batch_size=batch_size, seed=seed, progress=False)
    finder = learner.lr_find(epochs=epochs)  # the suggestion is for the run it will be used for
    cell = {"size": size, "batch_size": batch_size, "seed": seed, "suggestion": finder.suggestion,
            "suggested_by": finder.suggested_by, "finder_seconds": finder.seconds,
            "suggestion_accuracy": train_and_score(data, batch_size, seed, finder.suggestion, epochs),
            "grid": {lr: train_and_score(data, batch_size, seed, lr, epochs) for lr in grid}}
    cell["best_grid"] = max(cell["grid"].values())
    cell["gap"] = cell["best_grid"] - cell["suggestion_accuracy"]
    return cell


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="folder holding sst2/ (default: $KTNB_DATA_DIR)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--grid", type=float, nargs="+", default=[2e-5, 5e-5, 1e-4, 2e-4])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--tolerance", type=float, default=0.02)
    parser.add_argument("--json", type=Path, default=None, help="also write every cell here")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # collapse warnings from low grid rates are expected here

    started, cells = time.perf_counter(), []
    header = ("| rows | batch | seed | suggestion | acc. at suggestion | " +
              " | ".join(f"acc. at {lr:g}" for lr in args.grid) + " | best of grid | gap | within |")
    print(header)
    print("|" + "---:|" * (header.count("|") - 1))
    for size in args.sizes:
        for batch_size in args.batch_sizes:
            for seed in args.seeds:
                cell = run_cell(args.data_dir, size, batch_size, seed, args.grid, args.epochs)
                cells.append(cell)
                ok = cell["gap"] <= args.tolerance
                print(f"| {size} | {batch_size} | {seed} | {cell['suggestion']:.1e} ({cell['suggested_by']}) | "
                      f"{cell['suggestion_accuracy']:.4f} | " +
                      " | ".join(f"{acc:.4f}" for acc in cell["grid"].values()) +
                      f" | {cell['best_grid']:.4f} | {cell['gap']:+.4f} | {'yes' if ok else '**no**'} |", flush=True)
    misses = [c for c in cells if c["gap"] > args.tolerance]
    print(f"\n{len(cells) - len(misses)}/{len(cells)} cells within {args.tolerance} of the grid's best; "
          f"largest gap {max(c['gap'] for c in cells):+.4f}; {time.perf_counter() - started:.0f} s in all")
    if args.json:
        args.json.write_text(json.dumps(cells, indent=2))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
