"""The scores the field gives written text against references: BLEU and chrF as `sacrebleu`
computes them (its own tokenisation, with the signature that says how), and ROUGE-1/2/L as
`rouge-score` does (F-measure, Porter stemming), all on a 0-100 scale.

>>> scores = text_scores(["le chat est noir"], ["le chat est noir"], ("chrf", "bleu"))
>>> round(scores["chrf"], 2), round(scores["bleu"], 2)
(100.0, 100.0)
"""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import KtnbError

#: what each score is called in reports, and the package that computes it
SCORE_NAMES = {"chrf": "chrF", "bleu": "BLEU", "rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L"}
_PACKAGES = {"chrf": ("sacrebleu", "sacrebleu"), "bleu": ("sacrebleu", "sacrebleu"),
             "rouge1": ("rouge_score", "rouge-score"), "rouge2": ("rouge_score", "rouge-score"),
             "rougeL": ("rouge_score", "rouge-score")}


def require(score: str) -> None:
    """Refuse in one line a score whose package is not installed."""
    module, package = _PACKAGES[score]
    try:
        __import__(module)
    except ImportError:
        raise KtnbError(f"the {SCORE_NAMES[score]} score needs the {package} package: pip install 'ktnb[seq2seq]' "
                        f"(or pip install {package})") from None


def _sacrebleu_metric(score: str) -> Any:
    from sacrebleu.metrics import BLEU, CHRF

    return CHRF() if score == "chrf" else BLEU()


def text_scores(hypotheses: Sequence[str], references: Sequence[str], scores: Sequence[str]) -> dict[str, float]:
    """Corpus-level `scores` of `hypotheses` against one reference each: BLEU and chrF over
    the whole set (as sacrebleu's `corpus_score`), ROUGE as the mean of each pair's F-measure."""
    if len(hypotheses) != len(references):
        raise KtnbError(f"{len(hypotheses)} outputs but {len(references)} references; give one reference each")
    out: dict[str, float] = {}
    rouge = [s for s in scores if s.startswith("rouge")]
    for score in scores:
        require(score)
        if score in ("chrf", "bleu"):
            out[score] = float(_sacrebleu_metric(score).corpus_score(list(hypotheses), [list(references)]).score)
    if rouge:
        per_pair = rouge_per_pair(hypotheses, references, rouge)
        for score in rouge:
            values = [pair[score] for pair in per_pair]
            out[score] = sum(values) / len(values) if values else 0.0
    return {score: out[score] for score in scores}


def rouge_per_pair(hypotheses: Sequence[str], references: Sequence[str], scores: Sequence[str]) \
        -> list[dict[str, float]]:
    """Each pair's ROUGE F-measures (0-100), stemmed as the summarisation papers report them."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(scores), use_stemmer=True)
    return [{name: 100.0 * value.fmeasure for name, value in scorer.score(ref, hyp).items()}
            for hyp, ref in zip(hypotheses, references)]


def sentence_scores(hypotheses: Sequence[str], references: Sequence[str], score: str) -> list[float]:
    """Each output's own `score` against its reference, to find the examples written worst."""
    require(score)
    if score.startswith("rouge"):
        return [pair[score] for pair in rouge_per_pair(hypotheses, references, [score])]
    metric = _sacrebleu_metric(score)
    if score == "bleu":  # a short sentence's BLEU without smoothing is 0 for most; sacrebleu smooths it so
        from sacrebleu.metrics import BLEU

        metric = BLEU(effective_order=True)
    return [float(metric.sentence_score(hyp, [ref]).score) for hyp, ref in zip(hypotheses, references)]


def signature(score: str) -> str:
    """How sacrebleu computed `score` ("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"),
    printed with the score so that a reader can compare it with a paper's; ROUGE's settings."""
    require(score)
    if score.startswith("rouge"):
        import importlib.metadata

        return f"rouge-score {importlib.metadata.version('rouge-score')}, F-measure, Porter stemmer"
    metric = _sacrebleu_metric(score)
    metric.corpus_score(["a"], [["a"]])  # the signature names the version after a first use
    return str(metric.get_signature())


__all__ = ["SCORE_NAMES", "require", "text_scores", "sentence_scores", "rouge_per_pair", "signature"]
