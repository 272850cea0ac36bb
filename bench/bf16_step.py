"""Is bf16 autocast faster than fp32 on this CPU, and from which model width? One training step
(forward, backward, fused AdamW) of a BERT encoder at several widths, in fp32 and under
`torch.autocast("cpu", dtype=torch.bfloat16)`, median of repeated steps after a warm-up. The
measured cross-over is ktnb's `BF16_MIN_WIDTH` (`mixed_precision="auto"` picks bf16 on a CPU
with native bf16 only for models at least that wide).

    python bench/bf16_step.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import BertConfig, BertForSequenceClassification

from ktnb.devices import BF16_MIN_WIDTH, cpu_has_native_bf16

# (hidden width, layers, heads): the tiny test model, small encoders, MiniLM's shape, BERT-base's width
SHAPES = ((32, 2, 2), (128, 2, 2), (256, 4, 4), (384, 6, 12), (768, 2, 12))


def step_ms(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: dict, bf16: bool, steps: int) -> float:
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times[2:])  # the first steps pay for kernel selection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=48)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    print(f"native bf16 on this CPU: {cpu_has_native_bf16()}; ktnb's BF16_MIN_WIDTH = {BF16_MIN_WIDTH}; "
          f"batch {args.batch_size} x {args.length} tokens, {torch.get_num_threads()} threads")
    print("| width | layers | fp32 ms/step | bf16 ms/step | bf16 speed-up |")
    print("|---:|---:|---:|---:|---:|")
    for width, layers, heads in SHAPES:
        torch.manual_seed(0)
        model = BertForSequenceClassification(BertConfig(vocab_size=30522, hidden_size=width, num_hidden_layers=layers,
                                                         num_attention_heads=heads, intermediate_size=4 * width))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
        ids = torch.randint(1000, 20000, (args.batch_size, args.length))
        batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
                 "labels": torch.randint(0, 2, (args.batch_size,))}
        step_ms(model, optimizer, batch, True, 3)
        fp32 = step_ms(model, optimizer, batch, False, args.steps)
        bf16 = step_ms(model, optimizer, batch, True, args.steps)
        print(f"| {width} | {layers} | {fp32:.1f} | {bf16:.1f} | {fp32 / bf16:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
