"""Explanations for the tasks whose models write (language models, translators, summarisers):
each written token attributed to the input's tokens and to the tokens written before it."""

from __future__ import annotations

from typing import Any, Sequence


class ExplainsWriting:
    """Mixed into a writing task: `explain` reads a `WrittenItem` (the input and the tokens
    written after it, which the predictor writes or takes from the user) and explains each
    written token's probability."""

    explainable = True
    explains_one_output = False

    def explanation_choices(self, label_names: Sequence[str]) -> list[str]:
        return []  # the target is a text to explain, not a name to pick

    def explanation_input(self, tokenizer: Any, item: Any, max_len: int) -> Any:
        from ..explain import writing_input

        return writing_input(tokenizer, self.shown(item.source), item)  # type: ignore[attr-defined]

    def explanation_targets(self, output: Any, prepared: Any, target: Any, label_names: Sequence[str],
                            settings: dict[str, Any]) -> list[Any]:
        from ..explain import writing_targets

        return writing_targets(output, prepared)
