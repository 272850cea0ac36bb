"""Translation fine-tuning speed, and validation with generation: ktnb next to the tools a user
would pick instead, side by side in one process, on real English -> French pairs
(../shared/data/translation).

    pip install -e '.[bench]'              # TRL, the decoder-only rival
    python bench/seq2seq_throughput.py --data-dir ../shared/data --model t5        # a T5 from a config
    python bench/seq2seq_throughput.py --data-dir ../shared/data --model smollm2   # decoder-only

Encoder-decoder: no pretrained T5 can be had offline, so a small T5 is built from a config
(d_model 256, 4 layers each side, 4 heads, d_ff 1024) with a byte-level BPE tokenizer of 8,000
tokens trained on the training sources and targets; every contender starts from the same
weights. ktnb's translation task next to `Seq2SeqTrainer` as its documentation sets it up for
translation: the prefix "translate English to French: ", `DataCollatorForSeq2Seq` (each batch
padded to its longest source and target, labels with -100), at its default (random batches,
fp32) and its best setting here (batches grouped by length, bf16 where the CPU multiplies it
natively, as ktnb's "auto" does). Validation: greedy writing of the --dev pairs and chrF,
`learner.evaluate()` next to `Seq2SeqTrainer.evaluate()` with `predict_with_generate`.

Decoder-only: SmolLM2 (model: smollm2, the offline copy) with the prompt "Translate English to
French.\\nEnglish: …\\nFrench:" and the loss on the French only: ktnb next to TRL's `SFTTrainer`
on the same prompt/completion pairs (its completion-only loss), in bf16 and fp32, batches
padded to their longest row. Validation: ktnb's `evaluate()` next to `model.generate` on the same
prompts, batched and padded on the left, cut at the end of the line.

Same batch size, learning rate (linear schedule, 10% warm-up), weight decay, clipping, seed and
one epoch for all; timed: the training epoch alone, then validation alone.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

import ktnb
from ktnb.devices import resolve_mixed_precision
from ktnb.tasks.seq2seq_metrics import text_scores

sys.path.insert(0, str(Path(__file__).parent))
from rivals import pick  # noqa: E402

PREFIX = "translate English to French: "


def read_pairs(args: Any) -> tuple[Any, Any]:
    import pandas as pd

    folder = args.data_dir / "translation"
    return pd.read_csv(folder / "train.csv")[:args.rows], pd.read_csv(folder / "dev.csv")[:args.dev]


# ---------------------------------------------------------------- a T5 from a config

def build_t5(folder: Path, train: Any) -> Path:
    """A small T5 with random weights and a BPE tokenizer trained on the training pairs."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=8000, special_tokens=["<pad>", "</s>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(list(train["source"]) + list(train["target"]) + [PREFIX], trainer)
    bpe.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<pad>", eos_token="</s>",
                                        unk_token="<unk>", model_max_length=512)
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config(
        vocab_size=len(tokenizer), d_model=256, d_ff=1024, num_layers=4, num_heads=4, d_kv=64, pad_token_id=0,
        eos_token_id=1, decoder_start_token_id=0))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def run_ktnb(args: Any, model: str, train: Any, dev: Any, seed: int) -> tuple[float, float, float]:
    """ktnb's translation task on `model` (a folder or a name): training seconds, validation
    seconds (`evaluate`, which writes and scores every dev pair) and the dev chrF."""
    task = ktnb.get_task("translation", source_lang="en", target_lang="fr", max_target_len=args.max_target_len)
    data = task.load_data((list(train["source"]), list(train["target"])), val_frac=0)
    learner = ktnb.text_learner(data, model, batch_size=args.batch_size, seed=seed, progress=False)
    started = time.perf_counter()
    learner.fit(args.lr, 1, schedule="linear")
    trained = time.perf_counter() - started
    started = time.perf_counter()
    report = learner.evaluate((list(dev["source"]), list(dev["target"])))
    return trained, time.perf_counter() - started, report.scores["chrf"]


def trainer_t5(args: Any, folder: Path, train: Any, dev: Any, seed: int, best: bool, bf16: bool) \
        -> tuple[float, float, float]:
    from datasets import Dataset
    from transformers import (AutoModelForSeq2SeqLM, AutoTokenizer, DataCollatorForSeq2Seq, Seq2SeqTrainer,
                              Seq2SeqTrainingArguments)

    tokenizer = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(seed)
    model = AutoModelForSeq2SeqLM.from_pretrained(folder)

    def encode(frame: Any) -> Any:
        enc = tokenizer([PREFIX + s for s in frame["source"]], truncation=True, max_length=512)
        enc["labels"] = tokenizer(text_target=list(frame["target"]), truncation=True,
                                  max_length=args.max_target_len)["input_ids"]
        return Dataset.from_dict(dict(enc))

    def chrf(prediction: Any) -> dict[str, float]:
        ids = prediction.predictions
        ids = ids.where(ids != -100, tokenizer.pad_token_id) if hasattr(ids, "where") else \
            __import__("numpy").where(ids != -100, ids, tokenizer.pad_token_id)
        written = [t.strip() for t in tokenizer.batch_decode(ids, skip_special_tokens=True)]
        return {"chrf": text_scores(written, list(dev["target"]), ("chrf",))["chrf"]}

    with tempfile.TemporaryDirectory() as out:
        targs = Seq2SeqTrainingArguments(
            output_dir=out, per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=64,
            num_train_epochs=1, learning_rate=args.lr, lr_scheduler_type="linear", warmup_steps=0.1,
            weight_decay=0.01, max_grad_norm=1.0, seed=seed, use_cpu=True, report_to="none", save_strategy="no",
            logging_strategy="no", eval_strategy="no", disable_tqdm=True, dataloader_num_workers=0,
            train_sampling_strategy="group_by_length" if best else "random", bf16=bf16,
            predict_with_generate=True, generation_max_length=args.max_target_len, generation_num_beams=1)
        trainer = Seq2SeqTrainer(model=model, args=targs, train_dataset=encode(train), eval_dataset=encode(dev),
                                 data_collator=DataCollatorForSeq2Seq(tokenizer, model), compute_metrics=chrf,
                                 processing_class=tokenizer)
        started = time.perf_counter()
        trainer.train()
        trained = time.perf_counter() - started
        started = time.perf_counter()
        scores = trainer.evaluate()
        return trained, time.perf_counter() - started, scores["eval_chrf"]


# ---------------------------------------------------------------- SmolLM2, decoder-only

def prompt(source: str) -> str:
    return f"Translate English to French.\nEnglish: {source}\nFrench:"


def sft_smollm2(args: Any, checkpoint: str, train: Any, dev: Any, seed: int, bf16: bool) -> tuple[float, float, float]:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    rows = Dataset.from_dict({"prompt": [prompt(s) for s in train["source"]],
                              "completion": [" " + t for t in train["target"]]})
    with tempfile.TemporaryDirectory() as out:
        config = SFTConfig(output_dir=out, max_length=256, per_device_train_batch_size=args.batch_size,
                           num_train_epochs=1, learning_rate=args.lr, lr_scheduler_type="linear", warmup_steps=0.1,
                           weight_decay=0.01, max_grad_norm=1.0, seed=seed, use_cpu=True, report_to="none",
                           save_strategy="no", logging_strategy="no", eval_strategy="no", disable_tqdm=True,
                           dataloader_num_workers=0, bf16=bf16)
        trainer = SFTTrainer(model=model, args=config, train_dataset=rows, processing_class=tokenizer)
        started = time.perf_counter()
        trainer.train()
        trained = time.perf_counter() - started
    started = time.perf_counter()
    written = generate_lines(trainer.model, tokenizer, [prompt(s) for s in dev["source"]], args.max_target_len, bf16)
    seconds = time.perf_counter() - started
    return trained, seconds, text_scores(written, list(dev["target"]), ("chrf",))["chrf"]


def generate_lines(model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int, bf16: bool) -> list[str]:
    """The standard way: batches of 64 prompts padded on the left, greedy, stopped at the end of
    the line or of the text, the first line kept."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    written = []
    for first in range(0, len(prompts), 64):
        batch = tokenizer(prompts[first:first + 64], return_tensors="pt", padding=True)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, stop_strings=["\n"],
                                 tokenizer=tokenizer, pad_token_id=tokenizer.pad_token_id)
        written += [t.split("\n")[0].strip() for t in tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:],
                                                                             skip_special_tokens=True)]
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--model", choices=("t5", "smollm2"), default="t5")
    parser.add_argument("--rows", type=int, default=None, help="training pairs (default: 2000 for t5, 400 for smollm2)")
    parser.add_argument("--dev", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=None, help="default: 1e-3 for t5, 5e-5 for smollm2")
    parser.add_argument("--max-target-len", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", help="run only the contenders whose name contains one of these |-separated parts")
    args = parser.parse_args()
    t5 = args.model == "t5"
    args.rows = args.rows or (2000 if t5 else 400)
    args.lr = args.lr or (1e-3 if t5 else 5e-5)
    train, dev = read_pairs(args)
    native_bf16 = resolve_mixed_precision("auto", torch.device("cpu"), torch.nn.Linear(2, 2)) == "bf16"
    if t5:
        folder = build_t5(Path(tempfile.mkdtemp()) / "t5-from-config", train)
        contenders = {
            "ktnb (default)": lambda seed: run_ktnb(args, str(folder), train, dev, seed),
            "Seq2SeqTrainer, default (random batches, fp32)": lambda seed: trainer_t5(args, folder, train, dev, seed,
                                                                                      False, False),
            f"Seq2SeqTrainer, best (group_by_length, {'bf16' if native_bf16 else 'fp32'})":
                lambda seed: trainer_t5(args, folder, train, dev, seed, True, native_bf16),
        }
    else:
        from ktnb.models import resolve_checkpoint

        checkpoint = resolve_checkpoint("smollm2")
        contenders = {
            "ktnb (default)": lambda seed: run_ktnb(args, "smollm2", train, dev, seed),
            "SFTTrainer prompt/completion, bf16": lambda seed: sft_smollm2(args, checkpoint, train, dev, seed, True),
            "SFTTrainer prompt/completion, fp32": lambda seed: sft_smollm2(args, checkpoint, train, dev, seed, False),
        }
    contenders = pick(contenders, args.only)
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in contenders}
    for round_ in range(args.repeats):
        for name in contenders if round_ % 2 == 0 else list(contenders)[::-1]:
            trained, validated, chrf = contenders[name](round_)
            results[name].append((trained, validated, chrf))
            print(f"round {round_ + 1}: {name}: train {trained:.1f} s ({len(train) / trained:.1f} pairs/s), "
                  f"validation {validated:.1f} s, dev chrF {chrf:.2f}", flush=True)
    print(f"\n{args.model}: {len(train)} training pairs, 1 epoch, batch {args.batch_size}, lr {args.lr:g}; "
          f"{len(dev)} dev pairs written greedily (at most {args.max_target_len} tokens); torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print("| run | train s (each round) | pairs/s (best) | ktnb speed-up | validation s (best) | ktnb speed-up | "
          "dev chrF (mean) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    ours = next(iter(results))
    best_train = {n: min(r[0] for r in rounds) for n, rounds in results.items()}
    best_val = {n: min(r[1] for r in rounds) for n, rounds in results.items()}
    for name, rounds in results.items():
        chrf = sum(r[2] for r in rounds) / len(rounds)
        print(f"| {name} | {' / '.join(f'{r[0]:.1f}' for r in rounds)} | {len(train) / best_train[name]:.1f} | "
              f"{best_train[name] / best_train[ours]:.2f}x | {best_val[name]:.1f} | "
              f"{best_val[name] / best_val[ours]:.2f}x | {chrf:.2f} |")
    rivals = [n for n in results if n != ours]
    if rivals:
        fastest = min(rivals, key=best_train.get)
        print(f"ktnb / the fastest rival ({fastest}): {best_train[fastest] / best_train[ours]:.2f}x training pairs/s; "
              f"validation {min(best_val[n] for n in rivals) / best_val[ours]:.2f}x")
    assert not math.isnan(best_train[ours])


if __name__ == "__main__":
    main()
