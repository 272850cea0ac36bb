"""What the side-by-side benchmarks share: the Hugging Face Trainer set up like ktnb (same
schedule, warm-up, weight decay, clipping, seed; no evaluation, saving or logging), the kernels'
warm-up, the rounds that alternate the contenders' order, picking contenders by name, and the
table of their times."""

from __future__ import annotations

import tempfile
import time
from statistics import mean
from typing import Any, Callable


def train_with_trainer(args: Any, model: Any, train: Any, collator: Any, strategy: str, bf16: bool,
                       seed: int) -> float:
    """Seconds of `Trainer.train()` for `model` on `train` (a datasets.Dataset of encoded rows):
    `strategy` is its train_sampling_strategy ("random", its default, or "group_by_length")."""
    from transformers import Trainer, TrainingArguments

    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(
            output_dir=out, per_device_train_batch_size=args.batch_size, num_train_epochs=args.epochs,
            learning_rate=args.lr, lr_scheduler_type="linear", warmup_steps=0.1, weight_decay=0.01,
            max_grad_norm=1.0, seed=seed, use_cpu=True, report_to="none", save_strategy="no",
            logging_strategy="no", eval_strategy="no", disable_tqdm=True, dataloader_num_workers=0,
            train_sampling_strategy=strategy, bf16=bf16,
        )
        trainer = Trainer(model=model, args=targs, train_dataset=train, data_collator=collator)
        started = time.perf_counter()
        trainer.train()
        return time.perf_counter() - started


def warm_up(model: Any, max_len: int, batch_size: int, labels_for: Callable[[Any], Any],
            widths: dict[bool, Any] | None = None) -> None:
    """One forward/backward of `model` at every padded length, in fp32 and bf16, so that no
    contender pays the CPU kernels' first-use cost for a shape (whoever ran first would otherwise
    be slowed). `labels_for(ids)` gives the labels for a batch of token ids, or a dict of the
    head's target tensors by name (a QA head's `start_positions`, `end_positions`); `widths`
    (bf16 or not → the widths to run) narrows it for long inputs, where each pass costs more."""
    import torch

    widths = widths or {False: range(2, max_len + 1), True: range(2, max_len + 1)}
    for bf16, each in widths.items():
        for width in each:
            ids = torch.randint(1000, 2000, (batch_size, width))
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                targets = labels_for(ids)
                targets = targets if isinstance(targets, dict) else {"labels": targets}
                loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), **targets).loss
            loss.backward()


def pick(contenders: dict[str, Callable], only: str | None) -> dict[str, Callable]:
    """The contenders whose name contains one of the "|"-separated parts of `only` (all without)."""
    if not only:
        return contenders
    words = [w.strip().lower() for w in only.split("|") if w.strip()]
    return {name: run for name, run in contenders.items() if any(w in name.lower() for w in words)}


def alternating_rounds(contenders: dict[str, Callable[[int], tuple[float, Any]]], repeats: int,
                       judge: Callable[[str, Any], float], first_seed: int = 0) \
        -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Run every contender `repeats` times, the order reversed every other round (so that none
    always runs first or last); each takes the round's seed (`first_seed`, then one more per
    round, the same for every contender) and returns (seconds, model), which `judge(name, model)`
    scores. Returns the times and the scores of each contender's rounds: one seed's score says
    little when seeds move it by a point or two."""
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    scores: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        seed = first_seed + round_
        for name in names if round_ % 2 == 0 else names[::-1]:
            seconds, model = contenders[name](seed)
            times[name].append(seconds)
            scores[name].append(judge(name, model))
            print(f"round {round_ + 1} (seed {seed}): {name}: {seconds:.1f} s, score {scores[name][-1]:.4f}", flush=True)
    return times, scores


def print_rounds_table(times: dict[str, list[float]], scores: dict[str, list[float]], rows: int, ktnb_name: str,
                       rivals: tuple[str, ...], unit: str, score_name: str) -> None:
    """The Markdown table of every contender's rounds (`rows` examples trained per round), its
    speed by its best round, ktnb's speed-up over it and its score over the rounds (mean, and
    the lowest and highest); then ktnb's ratio to each of `rivals` by best and by median round."""
    best = {name: min(ts) for name, ts in times.items()}
    median = {name: sorted(ts)[len(ts) // 2] for name, ts in times.items()}
    print(f"| run | train s (each round) | {unit}/s | ktnb speed-up | {score_name} |")
    print("|---|---:|---:|---:|---:|")
    for name, rounds in times.items():
        ratio = best[name] / best[ktnb_name] if ktnb_name in best else float("nan")
        print(f"| {name} | {' / '.join(f'{t:.1f}' for t in rounds)} | {rows / best[name]:.1f} | {ratio:.2f}x | "
              f"{mean(scores[name]):.4f} ({min(scores[name]):.4f}-{max(scores[name]):.4f}) |")
    for rival in rivals:
        if rival in best and ktnb_name in best:
            print(f"ktnb default / {rival}: {best[rival] / best[ktnb_name]:.2f}x (best rounds), "
                  f"{median[rival] / median[ktnb_name]:.2f}x (median rounds); {score_name} "
                  f"(mean of the rounds) {mean(scores[ktnb_name]):.4f} vs {mean(scores[rival]):.4f}")


def print_prediction_table(times: dict[str, list[float]], outputs: dict[str, list[Any]], items: int, unit: str,
                           agree: str) -> None:
    """The Markdown table of prediction rounds: each contender's seconds, `unit`/s by its best
    round, the first contender's (ktnb's) speed-up over it, and how many of its outputs equal
    ktnb's (`agree` names them: "labels", "answers")."""
    names = list(times)
    best = {name: min(ts) for name, ts in times.items()}
    print(f"| run | seconds (each round) | {unit}/s | ktnb speed-up | {agree} equal to ktnb's |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        same = sum(a == b for a, b in zip(outputs[name], outputs[names[0]]))
        print(f"| {name} | {' / '.join(f'{t:.2f}' for t in times[name])} | {items / best[name]:.1f} | "
              f"{best[name] / best[names[0]]:.2f}x | {same}/{items} |")
