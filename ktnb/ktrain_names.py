"""ktrain's names for ktnb's calls (the learner's here; `get_learner` and `get_predictor` in
`ktnb.builders`), for users who carry ktrain's workflow in their fingers
(`get_learner` → `lr_find`/`lr_plot` → `fit_onecycle` → `get_predictor` → `predict(...,
return_proba=True)` → `view_top_losses` / `validate`). Each is a thin alias where the names
mean the same thing; where ktrain's meaning differs the docstring says how (the README's
"From ktrain" table lists them all).

>>> learner = ktnb.get_learner(None, "reviews.csv", batch_size=16)      # doctest: +SKIP
>>> learner.lr_find(); learner.lr_plot()                                  # doctest: +SKIP
>>> learner.fit_onecycle(1e-4, 1)                                         # doctest: +SKIP
>>> learner.view_top_losses(n=4); learner.validate(class_names=["neg", "pos"])   # doctest: +SKIP
>>> predictor = ktnb.get_predictor(learner)                               # doctest: +SKIP
>>> predictor.predict(["a fine film"], return_proba=True)                 # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Sequence

from .errors import KtnbError


class KtrainNames:
    """ktrain's method names on the `Learner` (mixed in; each calls the ktnb method it names)."""

    def lr_plot(self, **ktrain_options: Any) -> Any:
        """The last `lr_find` curve with its suggestion marked (ktrain's `learner.lr_plot()`).
        ktrain's options (`suggest=`, `n_skip_beginning=`, …) are accepted and change nothing:
        the curve always shows the suggestion and the whole sweep."""
        result = getattr(self, "lr_finder_result", None)
        if result is None:
            raise KtnbError("lr_plot draws the last lr_find: run learner.lr_find() first")
        return result.plot()

    def view_top_losses(self, n: int = 4, preproc: Any = None, val_data: Any = None) -> Any:
        """The `n` validation examples the model gets most wrong, as a table (ktrain's
        `view_top_losses` prints them; this returns `top_losses(n)`, which a notebook shows).
        `preproc` is accepted and not needed: ktnb's learner keeps its tokenizer."""
        return self.top_losses(n, val_data)  # type: ignore[attr-defined]

    def validate(self, val_data: Any = None, print_report: bool = True, class_names: Sequence[str] | None = None) \
            -> Any:
        """As ktrain's `validate`: for a classifier, prints the report on the validation set
        (or `val_data`) when `print_report` and returns the confusion matrix; for other tasks,
        returns the report (`learner.evaluate()` gives a classifier's report too).
        `class_names`, when given (not ktrain's default []), must be the model's, in its order."""
        known = list(self.data.class_names)  # type: ignore[attr-defined]
        if class_names and list(class_names) != known:
            raise KtnbError(f"class_names {list(class_names)} are not this model's classes {known}; ktnb names them "
                            "from the data: leave class_names out")
        report = self.evaluate(val_data)  # type: ignore[attr-defined]
        confusion = getattr(report, "confusion", None)
        if confusion is None:
            return report
        if print_report:
            print(report)
        return confusion


__all__ = ["KtrainNames"]
