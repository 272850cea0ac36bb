"""Data-parallel training speed: samples/s of the same fine-tune in 1 and N processes, for ktnb and
the Hugging Face Trainer (at its best setting here: group_by_length, bf16 where the device has it),
each process launched by torchrun, with the CPU's threads split among the processes. Also a
plain PyTorch loop in one CPU process. Accuracy on the SST-2 dev set checks that each trained as well.

    python bench/scaling.py --data-dir ../shared/data --max-train 2000 --processes 1,2
    python bench/scaling.py --device cuda --precision bf16,no --processes 1   # a GPU: peak GPU memory

A batch is the step's global batch in every run (ktnb shares it among the processes; the
Trainer is given batch_size / N rows per process), so each run takes the same optimizer steps.
Timed: the training epochs only. Each run is its own torchrun launch; the parent prints the
table and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def _data(args):
    import ktnb

    if args.data_dir:
        os.environ["KTNB_DATA_DIR"] = args.data_dir
    data = ktnb.load_dataset("sst2", max_train=args.max_train, seed=0)
    return data


def _peak_memory(device: str) -> float:
    """Peak memory in GB: the GPU's allocator on CUDA, else this process's resident set."""
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 1e9
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def worker_ktnb(args) -> dict:
    import ktnb

    data = _data(args)
    train_only = ktnb.TextData(data.train, None, data.class_names)
    learner = ktnb.text_classifier(train_only, batch_size=args.batch_size, max_len=args.max_len, seed=0,
                                   progress=False, device=args.device, mixed_precision=args.mp)
    learner.lr_find(max_batches=10)  # warms the kernels up, outside the timed part
    started = time.perf_counter()
    learner.fit(args.lr, args.epochs, "linear")
    seconds = time.perf_counter() - started
    dev = (list(data.val.texts), [data.class_names[label] for label in data.val.labels])
    accuracy = learner.evaluate(dev).accuracy  # every process evaluates its share
    return {"seconds": seconds, "samples": len(data.train) * args.epochs, "accuracy": accuracy,
            "main": learner.accelerator.is_main_process, "processes": learner.accelerator.num_processes,
            "peak_gb": _peak_memory(args.device)}


def worker_trainer(args) -> dict:
    import datasets
    import numpy as np
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from ktnb.models import load_classifier, load_tokenizer, resolve_checkpoint

    data = _data(args)
    count = int(os.environ.get("WORLD_SIZE", "1"))
    checkpoint = resolve_checkpoint(None)
    tokenizer = load_tokenizer(checkpoint)
    enc = tokenizer(data.train.texts, truncation=True, max_length=args.max_len)
    train = datasets.Dataset.from_dict({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                                        "labels": data.train.labels})
    torch.manual_seed(0)
    model = load_classifier(checkpoint, data.class_names)
    bf16 = args.mp == "bf16"
    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(
            output_dir=out, per_device_train_batch_size=args.batch_size // count, num_train_epochs=args.epochs,
            learning_rate=args.lr, lr_scheduler_type="linear", warmup_steps=0.1, weight_decay=0.01,
            max_grad_norm=1.0, seed=0, use_cpu=args.device == "cpu", report_to="none", save_strategy="no",
            logging_strategy="no", eval_strategy="no", disable_tqdm=True, dataloader_num_workers=0,
            train_sampling_strategy="group_by_length", bf16=bf16)
        trainer = Trainer(model=model, args=targs, train_dataset=train, data_collator=DataCollatorWithPadding(tokenizer))
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    main = int(os.environ.get("RANK", "0")) == 0
    accuracy = None
    if main:
        dev = tokenizer(data.val.texts, truncation=True, max_length=args.max_len, padding=True, return_tensors="pt")
        model.eval()
        with torch.no_grad():
            logits = model(**{k: v.to(model.device) for k, v in dev.items()}).logits.float().cpu().numpy()
        accuracy = float((logits.argmax(-1) == np.asarray(data.val.labels)).mean())
    return {"seconds": seconds, "samples": len(data.train) * args.epochs, "accuracy": accuracy, "main": main,
            "processes": count, "peak_gb": _peak_memory(args.device)}


def worker_plain(args) -> dict:
    sys.path.insert(0, str(HERE.parent))
    from train_throughput import dev_accuracy, run_plain

    from ktnb.models import load_tokenizer, resolve_checkpoint

    data = _data(args)
    checkpoint = resolve_checkpoint(None)
    seconds, model = run_plain(args, data, checkpoint, args.max_len, 0)
    return {"seconds": seconds, "samples": len(data.train) * args.epochs,
            "accuracy": dev_accuracy(model, load_tokenizer(checkpoint), data.val, args.max_len), "main": True,
            "processes": 1, "peak_gb": _peak_memory(args.device)}


WORKERS = {"ktnb": worker_ktnb, "trainer": worker_trainer, "plain": worker_plain}


def run(args, contender: str, count: int, precision: str) -> dict:
    """One launch: `count` processes of `contender`, the threads split among them."""
    threads = max(1, (os.cpu_count() or 1) // count) if args.device == "cpu" else 1
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(count),
                   str(HERE), "--worker", contender, "--out", out, "--mp", precision, *args.passed]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{contender} in {count} processes failed:\n{done.stderr[-3000:]}")
        return json.loads((Path(out) / "main.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--max-len", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--precision", default="bf16", help="comma-separated: bf16, no")
    parser.add_argument("--contenders", default="ktnb,trainer,plain")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--mp", default="bf16", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = WORKERS[args.worker](args)
        if result["main"]:
            (Path(args.out) / "main.json").write_text(json.dumps(result))
        return
    args.passed = [f"--{name.replace('_', '-')}={value}" for name, value in vars(args).items()
                   if name in ("data_dir", "max_train", "max_len", "batch_size", "epochs", "lr", "device")
                   and value is not None]
    rows = []
    for precision in args.precision.split(","):
        for count in [int(n) for n in args.processes.split(",")]:
            for contender in args.contenders.split(","):
                if contender == "plain" and (count > 1 or args.device != "cpu"):
                    continue  # the plain loop (train_throughput.run_plain) is one CPU process's
                result = run(args, contender, count, precision)
                result.update(contender=contender, precision=precision,
                              samples_per_s=result["samples"] / result["seconds"])
                rows.append(result)
                print(f"{contender:8} {count} process(es) {precision:4}: {result['samples_per_s']:7.1f} samples/s  "
                      f"accuracy {result['accuracy']:.3f}  peak {result['peak_gb']:.2f} GB", flush=True)
    print("\nratios (samples/s):")
    for precision in args.precision.split(","):
        by = {(r["contender"], r["processes"]): r["samples_per_s"] for r in rows if r["precision"] == precision}
        for count in sorted({c for _, c in by}):
            if ("ktnb", count) in by and ("trainer", count) in by:
                print(f"  {precision} {count} process(es): ktnb / Trainer = {by['ktnb', count] / by['trainer', count]:.2f}x")
        if ("ktnb", 1) in by and ("plain", 1) in by:
            print(f"  {precision} 1 process: ktnb / plain loop = {by['ktnb', 1] / by['plain', 1]:.2f}x")
        for contender in ("ktnb", "trainer"):
            counts = sorted(c for k, c in by if k == contender)
            if len(counts) > 1:
                print(f"  {precision} {contender}: {counts[-1]} processes / 1 = "
                      f"{by[contender, counts[-1]] / by[contender, counts[0]]:.2f}x")


if __name__ == "__main__":
    main()
