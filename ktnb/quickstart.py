"""The quickstart: fine-tune the default model on SST-2, print metrics, save the predictor,
predict new sentences, and write an HTML report.

    python -m ktnb.quickstart --data-dir ../shared/data --max-train 2000 --out quickstart-out

Without a local SST-2 copy (--data-dir or $KTNB_DATA_DIR) the data set comes from the
Hugging Face hub.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import KtnbError

SENTENCES = ["a gorgeous , witty and deeply moving film", "the plot is a tired mess and the jokes fall flat"]


def run(data_dir: str | None, max_train: int, out: Path, model: str | None, lr: str | float, epochs: int,
        batch_size: int) -> float:
    from . import load_dataset, load_predictor, text_classifier
    from .render.report import page_html
    from .storage import write_text_atomic

    started = time.perf_counter()
    data = load_dataset("sst2", data_dir, max_train=max_train or None)
    print(f"data: {data}")
    learner = text_classifier(data, model, batch_size=batch_size)
    print(learner)
    finder = learner.lr_find(epochs=epochs)
    rate = finder.suggestion if lr == "find" else lr
    print(f"lr_find suggests {finder.suggestion:.1e} for {epochs} epoch(s) ({finder.suggested_by}; the curve's valley "
          f"{finder.suggestions.get('valley', float('nan')):.1e}); training with lr={rate:.1e}")
    learner.fit_onecycle(rate, epochs)
    report = learner.evaluate()
    print(report)
    why = " (it picked no weights)" if report.split == "test" else ""
    print(f"{report.headline}; macro F1 {report.macro['f1']:.4f}{why}")

    out.mkdir(parents=True, exist_ok=True)
    saved = learner.predictor().save(out / "predictor")
    predictor = load_predictor(saved)
    labels, proba = predictor.predict(SENTENCES), predictor.predict_proba(SENTENCES).max(axis=1)
    for text, label, p in zip(SENTENCES, labels, proba):
        print(f"{label:>9} ({p:.2f})  {text}")
    html = page_html("ktnb quickstart: SST-2 sentiment", learner.settings(), report._repr_html_(), report.pictures(),
                     learner.history.epochs, {"training curves": learner.history.plot(),
                                              "learning-rate finder": finder.plot()},
                     list(zip(SENTENCES, labels, map(float, proba))), ("text", "label", "probability"))
    write_text_atomic(out / "report.html", html)
    print(f"saved the predictor to {saved} and the report to {out / 'report.html'} "
          f"({time.perf_counter() - started:.0f} s in all)")
    return report.accuracy


def _learning_rate(text: str) -> str | float:
    if text == "find":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number or 'find', got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="folder holding sst2/ (default: $KTNB_DATA_DIR or the hub)")
    parser.add_argument("--max-train", type=int, default=2000, help="training rows to use (default 2000; 0: all)")
    parser.add_argument("--out", type=Path, default=Path("quickstart-out"))
    parser.add_argument("--model", default=None, help="hub name or folder (default: the offline MiniLM)")
    parser.add_argument("--lr", type=_learning_rate, default="find",
                        help="a learning rate, or find (default: the LR finder's suggestion)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)
    try:
        run(args.data_dir, args.max_train, args.out, args.model, args.lr, args.epochs, args.batch_size)
    except KtnbError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
