"""Language-model fine-tuning and generation speed: ktnb next to TRL's SFTTrainer and
`transformers.pipeline("text-generation")`, side by side in one process.

    pip install -e '.[bench]'            # TRL, the rival
    python bench/generation_throughput.py --data-dir ../shared/data
    python bench/generation_throughput.py --data-dir ../shared/data --only "lora"   # some contenders

Model: SmolLM2-135M-Instruct (model: smollm2, the offline copy). Data: the first --rows SST-2
training sentences as documents, packed into blocks of --max-len tokens (ktnb's packing; TRL's
packing=True, with its own strategies). Same batch size, learning rate, one epoch, weight decay,
clipping and seed; every contender starts from the same weights. Timed: the training epoch only
(no loading, no evaluation). Quality: each trained model's perplexity on 200 held-out
sentences, through the same code (packed blocks, token-weighted).

Fine-tuning contenders, full and LoRA (r 16, alpha 32, dropout 0.05, all linear layers):
ktnb at its defaults (bf16 autocast on a CPU with native bf16, such as this one); SFTTrainer
with packing="wrapped" (blocks as ktnb's, the one that fits this CPU: "bfd", TRL's default,
flattens a batch into one sequence for FlashAttention, so without it every block attends to the
whole batch) in bf16 and in fp32, and its default packing in bf16.

Generation: the first 4 words of --prompts SST-2 dev sentences, 32 new tokens, greedy; ktnb's
`predictor.generate` (a batch, padded on the left) next to the pipeline one prompt at a time
(its default) and batched.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

import ktnb
from ktnb.models import resolve_checkpoint

sys.path.insert(0, str(Path(__file__).parent))
from rivals import pick  # noqa: E402

LORA = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear"}


def perplexity(model, tokenizer, texts, max_len) -> float:
    """Token-weighted perplexity of `model` on `texts` packed into blocks (ktnb's packing)."""
    from ktnb.tasks.generation_data import pack

    blocks = pack([tokenizer(t)["input_ids"] for t in texts], max_len, tokenizer.eos_token_id)
    nll = tokens = 0.0
    model.eval()
    with torch.no_grad():
        for block in blocks:
            ids = torch.tensor([block])
            if ids.shape[1] < 2:
                continue
            loss = model(input_ids=ids, labels=ids).loss
            nll += float(loss) * (ids.shape[1] - 1)
            tokens += ids.shape[1] - 1
    return math.exp(nll / tokens)


def warm_up_kernels(checkpoint, batch_size, max_len) -> None:
    """A forward and backward pass at the blocks' shape in fp32 and bf16, so that no contender
    pays the CPU kernels' first use (whoever ran first would otherwise be slowed)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(checkpoint)
    ids = torch.randint(1000, 2000, (batch_size, max_len))
    for bf16 in (False, True):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()


def run_ktnb(args, checkpoint, texts, seed, lora):
    data = ktnb.get_task("generation").load_data(texts, val_frac=0)
    learner = ktnb.text_learner(data, checkpoint, max_len=args.max_len, batch_size=args.batch_size, seed=seed,
                                progress=False, lora=LORA if lora else None)
    tokens = int(sum(learner.train_ds.lengths))
    started = time.perf_counter()
    learner.fit(args.lr * (10 if lora else 1), 1, schedule="linear")
    seconds = time.perf_counter() - started
    from ktnb.lora import merged

    return seconds, tokens, merged(learner.model), learner


def run_sft(args, checkpoint, texts, seed, lora, bf16, strategy):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    peft_config = None
    if lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"],
                                 target_modules=LORA["target_modules"], task_type="CAUSAL_LM")
    with tempfile.TemporaryDirectory() as out:
        config = SFTConfig(output_dir=out, max_length=args.max_len, packing=True, packing_strategy=strategy,
                           per_device_train_batch_size=args.batch_size, num_train_epochs=1,
                           learning_rate=args.lr * (10 if lora else 1), lr_scheduler_type="linear", warmup_steps=0.1,
                           weight_decay=0.01, max_grad_norm=1.0, seed=seed, use_cpu=True, report_to="none",
                           save_strategy="no", logging_strategy="no", eval_strategy="no", disable_tqdm=True,
                           dataloader_num_workers=0, bf16=bf16)
        trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_dict({"text": texts}),
                             processing_class=tokenizer, peft_config=peft_config)
        tokens = int(sum(len(row["input_ids"]) for row in trainer.train_dataset))
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
        trained = trainer.model
    if lora:
        trained = trained.merge_and_unload()
    return seconds, tokens, trained, None


def bench_training(args, checkpoint, texts, held_out) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    contenders = {
        "ktnb full (default: bf16)": lambda seed: run_ktnb(args, checkpoint, texts, seed, False),
        "SFTTrainer full, packing wrapped, bf16": lambda seed: run_sft(args, checkpoint, texts, seed, False, True,
                                                                       "wrapped"),
        "SFTTrainer full, packing wrapped, fp32": lambda seed: run_sft(args, checkpoint, texts, seed, False, False,
                                                                       "wrapped"),
        "SFTTrainer full, packing bfd (default), bf16": lambda seed: run_sft(args, checkpoint, texts, seed, False,
                                                                             True, "bfd"),
        "ktnb LoRA (default: bf16)": lambda seed: run_ktnb(args, checkpoint, texts, seed, True),
        "SFTTrainer LoRA, packing wrapped, bf16": lambda seed: run_sft(args, checkpoint, texts, seed, True, True,
                                                                       "wrapped"),
        "SFTTrainer LoRA, packing wrapped, fp32": lambda seed: run_sft(args, checkpoint, texts, seed, True, False,
                                                                       "wrapped"),
    }
    contenders = pick(contenders, args.only)
    warm_up_kernels(checkpoint, args.batch_size, args.max_len)
    results: dict[str, list[tuple[float, int, float]]] = {name: [] for name in contenders}
    for round_ in range(args.repeats):
        names = list(contenders) if round_ % 2 == 0 else list(contenders)[::-1]
        for name in names:
            seconds, tokens, model, learner = contenders[name](round_)
            ppl = perplexity(model, tokenizer, held_out, args.max_len)
            results[name].append((seconds, tokens, ppl))
            extra = ""
            if learner is not None and learner.lora is not None:
                extra = f", {dict(learner.settings())['lora']}"
            print(f"round {round_ + 1}: {name}: {seconds:.1f} s, {tokens} tokens, {tokens / seconds:.0f} tokens/s, "
                  f"held-out perplexity {ppl:.2f}{extra}", flush=True)
            del model, learner
    print("\n| run | train s (each round) | tokens | tokens/s (best round) | held-out perplexity |")
    print("|---|---:|---:|---:|---:|")
    speed = {}
    for name, rounds in results.items():
        speed[name] = max(tokens / seconds for seconds, tokens, _ in rounds)
        print(f"| {name} | {' / '.join(f'{s:.1f}' for s, _, _ in rounds)} | {rounds[0][1]} | {speed[name]:.0f} | "
              f"{sum(p for _, _, p in rounds) / len(rounds):.2f} |")
    for kind in ("full", "LoRA"):
        ours = speed.get(f"ktnb {kind} (default: bf16)")
        rivals = {name: s for name, s in speed.items() if name.startswith(f"SFTTrainer {kind}")}
        if ours and rivals:
            best = max(rivals, key=rivals.get)
            print(f"ktnb {kind} / the fastest SFTTrainer ({best}): {ours / rivals[best]:.2f}x tokens/s")


def bench_generation(args, checkpoint, prompts) -> None:
    from transformers import AutoTokenizer, pipeline

    predictor = ktnb.text_learner(ktnb.get_task("generation").load_data(prompts * 4, val_frac=0), checkpoint,
                                  progress=False, max_len=args.max_len).predictor()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    tokenizer.padding_side = "left"
    writer = pipeline("text-generation", model=checkpoint, tokenizer=tokenizer)
    settings = {"max_new_tokens": 32, "do_sample": False, "return_full_text": False}
    contenders = {
        "ktnb predictor.generate (a batch)": lambda: predictor.generate(prompts, max_new_tokens=32),
        "pipeline, one prompt at a time (default)": lambda: [writer(p, **settings)[0]["generated_text"]
                                                            for p in prompts],
        f"pipeline, batch_size={len(prompts)}": lambda: [o[0]["generated_text"]
                                                        for o in writer(prompts, batch_size=len(prompts), **settings)],
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    outputs = {}
    for round_ in range(args.repeats + 1):  # the first round warms the kernels up and is not counted
        for name in contenders if round_ % 2 == 0 else list(contenders)[::-1]:
            started = time.perf_counter()
            outputs[name] = contenders[name]()
            if round_:
                times[name].append(time.perf_counter() - started)
    ours = next(iter(contenders))
    tokens = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in outputs[ours])
    print(f"\n{len(prompts)} prompts, 32 new tokens each (greedy), {tokens} tokens written by ktnb")
    print("| run | seconds (each round) | tokens/s (best round) | ktnb speed-up | texts equal to ktnb's |")
    print("|---|---:|---:|---:|---:|")
    for name, rounds in times.items():
        same = sum(a.strip() == b.strip() for a, b in zip(outputs[name], outputs[ours]))
        print(f"| {name} | {' / '.join(f'{t:.2f}' for t in rounds)} | {tokens / min(rounds):.0f} | "
              f"{min(rounds) / min(times[ours]):.2f}x | {same}/{len(prompts)} |")


def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-4, help="full fine-tuning's; LoRA takes 10 times it")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", help='contenders whose name has one of these "|"-separated words')
    parser.add_argument("--skip", choices=("training", "generation"))
    args = parser.parse_args()

    checkpoint = resolve_checkpoint("smollm2")
    sentences = pd.read_csv(args.data_dir / "sst2" / "train.csv")["text"].tolist()
    texts, held_out = sentences[:args.rows], sentences[-200:]
    dev = pd.read_csv(args.data_dir / "sst2" / "dev.csv")["text"].tolist()
    prompts = [" ".join(s.split()[:4]) for s in dev[:args.prompts]]
    print(f"SmolLM2-135M ({checkpoint}), {torch.get_num_threads()} threads, torch {torch.__version__}")
    if args.skip != "training":
        bench_training(args, checkpoint, texts, held_out)
    if args.skip != "generation":
        bench_generation(args, checkpoint, prompts)


if __name__ == "__main__":
    main()
