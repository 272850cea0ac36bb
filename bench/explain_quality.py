"""How faithful and how fast each way of explaining a prediction is, on the real MiniLM fine-tuned
on SST-2, side by side in one process: ktnb's integrated gradients and gradient x input, attention
(the last layer's [CLS] row, and rollout through every layer), LIME (Captum's `Lime`, at ktrain's
default 2,500 samples, in fp32 and, on a CPU that multiplies bf16 natively, under bf16 autocast:
the speed-up is over its faster one), and random word scores. Explanations run in the weights'
precision (fp32).

    python bench/explain_quality.py --data-dir ../shared/data

Faithfulness as ERASER defines it (DeYoung et al., 2020; `ferret` computes the same): for each
sentence, the words ranked highest toward the predicted class are removed (comprehensiveness:
the prediction's probability should fall) or kept alone (sufficiency: it should not fall), for
the top 1%, 5%, 10%, 20% and 50% of the words (at least one word), and the falls averaged over
those bins (AOPC). Higher comprehensiveness and lower sufficiency are better. Every method
scores the same words (a word's tokens summed), and a text without some words is its remaining
words joined by spaces; its full version the same way.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

import ktnb
from ktnb.devices import cpu_has_native_bf16
from ktnb.explain import _words, tokenize_texts

BINS = (0.01, 0.05, 0.1, 0.2, 0.5)


def token_scores_to_words(predictor: Any, text: str, scores: np.ndarray) -> list[float]:
    prepared = tokenize_texts(predictor.tokenizer, (text,), predictor.max_len)
    return [score for *_, score in _words(prepared.words[0], scores)]


def attention_scores(predictor: Any, text: str, rollout: bool) -> list[float]:
    att = predictor.attention(text)
    row = att.rollout()[0] if rollout else att.select(-1)[0]
    return token_scores_to_words(predictor, text, row)


def lime_scores(predictor: Any, text: str, index: int, samples: int, bf16: bool = False) -> list[float]:
    """Captum's Lime with the words as features (a word's tokens switched off together, to the
    padding token), the predicted class's probability as the output; with `bf16`, its passes
    under bf16 autocast (faster on a CPU that multiplies bf16 natively)."""
    from captum.attr import Lime

    tokenizer, model = predictor.tokenizer, predictor.model
    enc = tokenizer(text, truncation=True, max_length=predictor.max_len, return_tensors="pt",
                    return_offsets_mapping=True)
    word_ids = enc.word_ids(0)
    mask = torch.tensor([[0 if w is None else w + 1 for w in word_ids]])  # 0: special tokens, never switched off
    ids = enc["input_ids"]
    baseline = torch.where(mask == 0, ids, torch.full_like(ids, tokenizer.pad_token_id))

    def probability(input_ids: Any) -> Any:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids)).logits.softmax(-1)[:, index]

    model.eval()
    scores = Lime(probability).attribute(ids, baselines=baseline, feature_mask=mask, n_samples=samples,
                                         perturbations_per_eval=64)[0]
    per_word: dict[int, float] = {}
    for token, word in enumerate(word_ids):
        if word is not None:
            per_word.setdefault(word, float(scores[token]))
    return [per_word[w] for w in sorted(per_word)]


def aopc(predictor: Any, spans: list[str], scores: list[float], index: int) -> tuple[float, float]:
    """(comprehensiveness, sufficiency), each averaged over `BINS`."""
    order = sorted(range(len(spans)), key=lambda i: -scores[i])
    texts = [" ".join(spans)]
    for fraction in BINS:
        top = set(order[:max(1, math.ceil(fraction * len(spans)))])
        texts.append(" ".join(w for i, w in enumerate(spans) if i not in top) or ".")
        texts.append(" ".join(w for i, w in enumerate(spans) if i in top))
    proba = predictor.predict_proba(texts)[:, index]
    full = proba[0]
    comprehensiveness = float(np.mean([full - p for p in proba[1::2]]))
    sufficiency = float(np.mean([full - p for p in proba[2::2]]))
    return comprehensiveness, sufficiency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--train", type=int, default=2000, help="SST-2 training sentences (one epoch at 1e-4)")
    parser.add_argument("--sentences", type=int, default=100, help="dev sentences explained")
    parser.add_argument("--lime-samples", type=int, default=2500, help="LIME's samples (ktrain's default: 2,500)")
    args = parser.parse_args()

    data = ktnb.load_dataset("sst2", args.data_dir / "sst2", max_train=args.train)
    learner = ktnb.text_classifier(data, progress=False, batch_size=16)
    learner.fit_onecycle(1e-4, 1)
    print(learner.evaluate(split="validation").headline, flush=True)
    predictor = learner.predictor()
    sentences = data.val.texts[:args.sentences]
    rng = random.Random(0)
    methods: dict[str, Callable[[str, Any], list[float]]] = {
        "integrated gradients (ktnb default)": lambda text, found: [s for *_, s in found.words],
        "gradient x input": lambda text, found: [s for *_, s in predictor.explain(
            text, method="gradient_x_input").words],
        "attention, last layer ([CLS] row, mean of heads)": lambda text, found: attention_scores(predictor, text,
                                                                                                False),
        "attention rollout ([CLS] row)": lambda text, found: attention_scores(predictor, text, True),
        f"LIME (Captum, {args.lime_samples} samples, fp32)": lambda text, found: lime_scores(
            predictor, text, learner.class_names.index(found.label), args.lime_samples),
        "random words": lambda text, found: [rng.random() for _ in found.words],
    }
    if cpu_has_native_bf16():  # LIME at its best here: its thousands of passes in bf16
        last = methods.pop("random words")
        methods[f"LIME (Captum, {args.lime_samples} samples, bf16 autocast)"] = lambda text, found: lime_scores(
            predictor, text, learner.class_names.index(found.label), args.lime_samples, bf16=True)
        methods["random words"] = last
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in methods}
    predictor.explain(sentences[0])  # first-use costs out of the way
    for number, text in enumerate(sentences):
        started = time.perf_counter()
        found = predictor.explain(text)
        ig_seconds = time.perf_counter() - started
        spans = [w for w, _ in found.word_scores()]
        index = learner.class_names.index(found.label)
        for name, method in methods.items():
            started = time.perf_counter()
            scores = method(text, found)
            seconds = ig_seconds if name.startswith("integrated") else time.perf_counter() - started
            assert len(scores) == len(spans), (name, text)
            results[name].append((*aopc(predictor, spans, scores, index), seconds))
        if number % 10 == 9:
            print(f"{number + 1} sentences done", flush=True)
    words = np.mean([len(text.split()) for text in sentences])
    print(f"\n{len(sentences)} SST-2 dev sentences ({words:.1f} words on average), MiniLM fine-tuned on {args.train} "
          f"sentences; AOPC over the top {', '.join(f'{b:.0%}' for b in BINS)} of the words")
    print("| method | comprehensiveness (higher: better) | sufficiency (lower: better) | seconds a sentence | "
          "speed-up over LIME at its fastest |")
    print("|---|---:|---:|---:|---:|")
    lime_seconds = min(np.mean([r[2] for r in rows]) for name, rows in results.items() if name.startswith("LIME"))
    for name, rows in results.items():
        comp, suff, seconds = (float(np.mean([r[i] for r in rows])) for i in range(3))
        ratio = lime_seconds / seconds
        print(f"| {name} | {comp:.3f} | {suff:.3f} | {seconds:.3f} | {ratio:.{0 if ratio >= 10 else 1}f}x |")


if __name__ == "__main__":
    main()
