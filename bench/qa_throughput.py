"""Extractive question answering: ktnb's training and prediction speed next to the Hugging Face
Trainer set up as the official `run_qa.py` example is, at equal F1.

Training. The first --train questions of SQuAD v1.1 (../shared/data/squad/train.json), the
default MiniLM, the same batch size, max length (ktnb's automatic choice) and window stride
(ktnb's default, a third of it) for every contender, the same learning rate, schedule (linear,
10% warm-up), weight decay, clipping and fused AdamW; in each round all start from the same
weights and seed. The Trainer's features are `run_qa.py`'s: the tokenizer's overflowing windows
(`truncation="only_second"`, `stride`, offset mappings), each window labelled with its answer's
first and last tokens or, when it does not hold the answer, with [CLS]. Its default setting pads
every window to max_length (`run_qa.py`'s `pad_to_max_length`) in fp32 with random batches; its
best setting here pads each batch to its longest window (`DataCollatorWithPadding`) and groups
windows by length, in bf16 where the CPU multiplies it natively (as ktnb's "auto" does), else fp32. Timed: the training epochs only. F1 (official SQuAD v1.1): each
trained model on the first --dev dev questions through the same standard post-processing.

Prediction. The last round's ktnb model, saved with `predictor.save`: its --dev dev questions
answered by `ktnb.load_predictor(dir).predict(pairs)` and by the same folder through
`AutoModelForQuestionAnswering` with the standard post-processing (the tokenizer's windows for
a group of questions, the n-best start and end tokens of each window, spans in the context no
longer than max_answer_len, the best over the question's windows) for each group size in
--groups (1: answer by answer), its best kept. The answers must be the same.

    python bench/qa_throughput.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

import ktnb
from ktnb.devices import resolve_mixed_precision
from ktnb.models import load_for_task, load_tokenizer, resolve_checkpoint
from ktnb.tasks.qa_data import read_squad
from ktnb.tasks.qa_metrics import qa_scores
from rivals import alternating_rounds, pick, print_prediction_table, print_rounds_table, train_with_trainer, warm_up

QA = ktnb.get_task("qa")
N_BEST, MAX_ANSWER_LEN = QA.options["n_best"], QA.options["max_answer_len"]


def fresh_model(checkpoint: str, seed: int) -> Any:
    torch.manual_seed(seed)
    return load_for_task(checkpoint, QA, ["start", "end"])


# ---------------------------------------------------------------- the standard way (run_qa.py)

def windows(tokenizer: Any, questions: Sequence[str], contexts: Sequence[str], max_len: int, stride: int,
            pad: bool = False) -> Any:
    """`run_qa.py`'s features: (question, context window) rows over each context, with offsets."""
    return tokenizer([q.lstrip() for q in questions], list(contexts), truncation="only_second", max_length=max_len,
                     stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                     padding="max_length" if pad else False)


def answer_tokens(enc: Any, row: int, answers: Sequence[tuple[str, int]], cls: int) -> tuple[int, int]:
    """The window's first and last tokens of the question's first answer, or [CLS] twice when the
    window does not hold all of it."""
    if not answers:
        return cls, cls
    text, start_char = answers[0]
    end_char = start_char + len(text)
    offsets, sequence = enc["offset_mapping"][row], enc.sequence_ids(row)
    context = [t for t, s in enumerate(sequence) if s == 1]
    if offsets[context[0]][0] > start_char or offsets[context[-1]][1] < end_char:
        return cls, cls
    start = max(t for t in context if offsets[t][0] <= start_char)
    end = min(t for t in context if offsets[t][1] >= end_char)
    return start, end


def trainer_dataset(tokenizer: Any, part: Any, max_len: int, stride: int, pad: bool) -> Any:
    import datasets

    enc = windows(tokenizer, part.texts, part.pairs, max_len, stride, pad)
    starts, ends = [], []
    for row, example in enumerate(enc["overflow_to_sample_mapping"]):
        start, end = answer_tokens(enc, row, part.labels[example], enc["input_ids"][row].index(tokenizer.cls_token_id))
        starts.append(start)
        ends.append(end)
    columns = {name: enc[name] for name in ("input_ids", "attention_mask", "token_type_ids") if name in enc}
    return datasets.Dataset.from_dict({**columns, "start_positions": starts, "end_positions": ends})


def standard_answers(model: Any, tokenizer: Any, questions: Sequence[str], contexts: Sequence[str], max_len: int,
                     stride: int, group: int, bf16: bool = False) -> list[str]:
    """Answers the standard way: `group` questions at a time, their windows padded together and
    run through the model, then each window's n-best starts and ends paired into spans of the
    context, the best-scoring span over a question's windows kept."""
    model.eval()
    answers = []
    for first in range(0, len(questions), group):
        qs, cs = questions[first:first + group], contexts[first:first + group]
        enc = tokenizer([q.lstrip() for q in qs], list(cs), truncation="only_second", max_length=max_len,
                        stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True, padding=True,
                        return_tensors="pt")
        offsets = enc.pop("offset_mapping").tolist()
        owner = enc.pop("overflow_to_sample_mapping").tolist()
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(**enc)
        start_logits, end_logits = out.start_logits.float().numpy(), out.end_logits.float().numpy()
        best: list[tuple[float, str]] = [(-np.inf, "") for _ in qs]
        for row, example in enumerate(owner):
            sequence = enc.sequence_ids(row)
            start, end = start_logits[row], end_logits[row]
            for s in np.argsort(start)[::-1][:N_BEST]:
                for e in np.argsort(end)[::-1][:N_BEST]:
                    if sequence[s] != 1 or sequence[e] != 1 or e < s or e - s + 1 > MAX_ANSWER_LEN:
                        continue
                    score = float(start[s] + end[e])
                    if score > best[example][0]:
                        best[example] = (score, cs[example][offsets[row][s][0]:offsets[row][e][1]])
        answers.extend(text for _, text in best)
    return answers


def dev_f1(model: Any, tokenizer: Any, dev: Any, max_len: int, stride: int) -> float:
    predicted = standard_answers(model, tokenizer, dev.texts, dev.pairs, max_len, stride, 32)
    return qa_scores(predicted, [[text for text, _ in answers] for answers in dev.labels], dev.texts).f1


# ---------------------------------------------------------------- contenders

def run_ktnb(args: Any, data: Any, checkpoint: str, max_len: int, seed: int, kept: dict) -> tuple[float, Any]:
    train_only = ktnb.TextData(data.train, None, data.class_names, task="qa")  # no per-epoch evaluation
    learner = ktnb.text_learner(train_only, checkpoint, batch_size=args.batch_size, max_len=max_len, seed=seed,
                                progress=False, device="cpu")
    started = time.perf_counter()
    learner.fit(args.lr, args.epochs, "linear", warmup=0.1)
    seconds = time.perf_counter() - started
    kept["learner"] = learner
    return seconds, learner.model


def run_trainer(args: Any, data: Any, checkpoint: str, tokenizer: Any, max_len: int, stride: int, seed: int,
                best: bool, bf16: bool = False) -> tuple[float, Any]:
    from transformers import DataCollatorWithPadding, default_data_collator

    train = trainer_dataset(tokenizer, data.train, max_len, stride, pad=not best)
    model = fresh_model(checkpoint, seed)
    collator = DataCollatorWithPadding(tokenizer) if best else default_data_collator
    strategy = "group_by_length" if best else "random"
    return train_with_trainer(args, model, train, collator, strategy, bf16, seed), model


def timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def compare_prediction(args: Any, learner: Any, dev: Any) -> None:
    """ktnb's predictor against the standard way at each group size, in fp32 and, where the CPU
    multiplies bf16 natively, in bf16 on both sides (ktnb's mixed_precision="bf16", the rival
    under torch.autocast). Answers are compared with ktnb's fp32 ones; F1 is each one's own."""
    from transformers import AutoModelForQuestionAnswering

    from ktnb.devices import cpu_has_native_bf16

    pairs = list(zip(dev.texts, dev.pairs))
    references = [[text for text, _ in answers] for answers in dev.labels]
    precisions = ["fp32", "bf16"] if cpu_has_native_bf16() else ["fp32"]
    with tempfile.TemporaryDirectory() as out:
        folder = learner.predictor().save(Path(out) / "qa-model")
        predictors = {p: ktnb.load_predictor(folder, mixed_precision="no" if p == "fp32" else p) for p in precisions}
        model = AutoModelForQuestionAnswering.from_pretrained(folder).eval()
        tokenizer = load_tokenizer(str(folder))
        first = predictors["fp32"]
        max_len, stride = first.max_len, first.task.stride(first.max_len)
        contenders: dict[str, Any] = {}
        for precision in precisions:
            contenders[f"ktnb load_predictor(dir).predict, {precision}"] = (
                lambda p=predictors[precision]: [a.answer for a in p.predict(pairs)])
        for precision in precisions:
            for group in map(int, args.groups.split(",")):
                contenders[f"AutoModelForQuestionAnswering, {group} question(s) a call, {precision}"] = (
                    lambda g=group, b=precision == "bf16":
                    standard_answers(model, tokenizer, dev.texts, dev.pairs, max_len, stride, g, b))
        for precision in precisions:  # first-use costs (bf16 kernels for each new shape) out of the way
            predictors[precision].predict(pairs)
            standard_answers(model, tokenizer, dev.texts, dev.pairs, max_len, stride, 16, precision == "bf16")
        names = list(contenders)
        times: dict[str, list[float]] = {name: [] for name in names}
        answers: dict[str, list[str]] = {}
        for round_ in range(args.repeats):
            for name in names if round_ % 2 == 0 else names[::-1]:
                seconds, result = timed(contenders[name])
                times[name].append(seconds)
                answers.setdefault(name, result)
                print(f"prediction round {round_ + 1}: {name}: {seconds:.2f} s", flush=True)
    best = {name: min(ts) for name, ts in times.items()}
    print(f"\n{len(pairs)} SQuAD dev questions, {first!r}, stride {stride}, best of {args.repeats} rounds")
    print_prediction_table(times, answers, len(pairs), "questions", "answers")
    for name in names:
        print(f"F1 {qa_scores(answers[name], references, dev.texts).f1:.2f}: {name}")
    for precision in precisions:
        mine = [n for n in names if n.startswith("ktnb") and n.endswith(precision)]
        rivals = [n for n in names if not n.startswith("ktnb") and n.endswith(precision)]
        if mine and rivals:
            rival = min(rivals, key=best.get)
            print(f"{precision}: ktnb / the standard way at its best group size ({rival}): "
                  f"{best[rival] / best[mine[0]]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("KTNB_DATA_DIR", "../shared/data")))
    parser.add_argument("--model", default=None, help="hub name or folder (default: the offline MiniLM)")
    parser.add_argument("--train", type=int, default=1000, help="training questions (the first of train.json)")
    parser.add_argument("--dev", type=int, default=500, help="dev questions scored and answered")
    parser.add_argument("--max-len", type=int, default=None, help="training window length (default: ktnb's choice)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=0, help="the first round's seed (one more each round)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds, alternating the order, a new seed each")
    parser.add_argument("--groups", default="1,4,16,64", help="questions a call for the standard prediction")
    parser.add_argument("--only", help="run only the contenders whose name contains one of these |-separated parts")
    parser.add_argument("--skip-training", action="store_true", help="train ktnb once and compare prediction only")
    args = parser.parse_args()

    folder = args.data_dir / "squad"
    data = QA.load_data(folder / "train.json", read_squad(folder / "dev.json")[:args.dev], max_train=args.train)
    checkpoint = resolve_checkpoint(args.model)
    tokenizer = load_tokenizer(checkpoint)
    probe = ktnb.text_learner(data, checkpoint, progress=False, device="cpu", max_len=args.max_len)
    max_len = probe.max_len
    stride = QA.stride(max_len)
    precision = resolve_mixed_precision("auto", torch.device("cpu"), probe.model)
    del probe
    kept: dict[str, Any] = {}
    ktnb_name = f"ktnb fit, default ({'fp32' if precision == 'no' else precision})"
    if args.skip_training:
        run_ktnb(args, data, checkpoint, max_len, args.seed, kept)
    else:
        # bf16 kernels are made for each new shape on first use: every width a batch may have, when
        # ktnb and the Trainer's best run in bf16 (the Trainer's default pads every window to
        # max_len); fp32 ones much less so, and a pass at these widths costs a lot: a few widths
        bf16 = precision == "bf16"
        warm_up(fresh_model(checkpoint, 0), max_len, args.batch_size,
                lambda ids: {"start_positions": torch.zeros(len(ids), dtype=torch.long),
                             "end_positions": torch.zeros(len(ids), dtype=torch.long)},
                {True: range(2, max_len + 1), False: [max_len]} if bf16 else {False: range(16, max_len + 1, 48)})
        trainer_default = "HF Trainer as run_qa.py, default (padded to max_length, fp32)"
        trainer_best = ("HF Trainer as run_qa.py, best (padded per batch, group_by_length, "
                        f"{'bf16' if bf16 else 'fp32'})")
        contenders = {
            ktnb_name: lambda seed: run_ktnb(args, data, checkpoint, max_len, seed, kept),
            trainer_default: lambda seed: run_trainer(args, data, checkpoint, tokenizer, max_len, stride, seed, False),
            trainer_best: lambda seed: run_trainer(args, data, checkpoint, tokenizer, max_len, stride, seed, True,
                                                   bf16),
        }
        contenders = pick(contenders, args.only)
        times, f1 = alternating_rounds(contenders, args.repeats,
                                       lambda name, model: dev_f1(model, tokenizer, data.val, max_len, stride),
                                       args.seed)
        rows = len(trainer_dataset(tokenizer, data.train, max_len, stride, False))
        print(f"\nSQuAD v1.1 {len(data.train)} training questions ({rows} windows at max_len {max_len}, stride "
              f"{stride}), {args.epochs} epoch(s), batch {args.batch_size}, lr {args.lr}, torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads; {args.repeats} rounds (order alternated, seeds "
              f"{args.seed}-{args.seed + args.repeats - 1}); F1 on {len(data.val)} dev questions")
        print_rounds_table(times, f1, rows * args.epochs, ktnb_name, (trainer_best, trainer_default), "windows",
                           "dev F1")
    if "learner" in kept:
        compare_prediction(args, kept["learner"], data.val)


if __name__ == "__main__":
    main()
