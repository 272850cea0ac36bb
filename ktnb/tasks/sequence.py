"""Tasks with one label per text or text pair (classification, regression, multi-label): their
data is a table of texts and labels, read by `ktnb.data`'s readers, and each text is encoded
whole (a pair with its longer side truncated first)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .base import Task

if TYPE_CHECKING:
    from ..batching import EncodedTexts
    from ..data import LabelledTexts


def encode_sequences(tokenizer: Any, texts: Sequence[str], max_len: int, pairs: Sequence[str] | None = None,
                     labels: Sequence[Any] | None = None) -> EncodedTexts:
    """Texts (or text pairs, the longer side truncated first) as token ids, unpadded; the
    segment ids of a pair are kept when the model takes them (BERT does), dropped otherwise."""
    from ..batching import EncodedTexts

    segments = pairs is not None and "token_type_ids" in getattr(tokenizer, "model_input_names", ())
    enc = tokenizer(list(texts), list(pairs) if pairs is not None else None, truncation="longest_first",
                    max_length=max_len, return_attention_mask=False, return_token_type_ids=segments)
    return EncodedTexts(enc["input_ids"], labels, enc["token_type_ids"] if segments else None)


class SequenceTask(Task):
    """A task with one label per text or text pair."""

    explainable = True

    def load_data(self, source: Any, val: Any = None, **options: Any) -> Any:
        """`TextData` for this task from any source its readers take (options as `load_texts`)."""
        from ..data import _split_pairs, load_texts, read_labelled, texts_from_array

        options["task"] = self.name
        if val is None:
            return load_texts(source, **options)
        cols = {k: options.pop(k) for k in ("text_col", "label_col") if k in options}
        files = {k: options.get(k) for k in ("sep", "encoding", "pair_col") if k in options}
        files["labels_required"] = not self.keeps_unlabelled_rows
        files["classes"] = self.labels_are_classes
        texts, labels = read_labelled(source, cols.get("text_col", "text"), cols.get("label_col", "label"), **files)
        val_texts, val_labels = read_labelled(val, cols.get("text_col", "text"), cols.get("label_col", "label"),
                                              **files)
        (texts, pairs), (val_texts, val_pairs) = _split_pairs(texts), _split_pairs(val_texts)
        for key in ("sep", "encoding", "pair_col", "val_frac"):
            options.pop(key, None)
        return texts_from_array(texts, labels, val_texts, val_labels, pairs=pairs, val_pairs=val_pairs,
                                target=cols.get("label_col", "label"), **options)

    def read_labelled(self, source: Any, text_col: str = "text", label_col: str = "label",
                      pair_col: str | None = None) -> tuple[list[Any], list[Any]]:
        """Inputs and raw labels of new labelled data (a test set): a table's columns, a
        (texts, labels) pair, or a `TextData`'s validation rows."""
        from ..data import read_labelled

        return read_labelled(source, text_col, label_col, pair_col=pair_col,
                             labels_required=not self.keeps_unlabelled_rows, classes=self.labels_are_classes)

    def encode(self, tokenizer: Any, part: LabelledTexts, max_len: int) -> EncodedTexts:
        return encode_sequences(tokenizer, part.texts, max_len, part.pairs, part.labels)

    def encode_inputs(self, tokenizer: Any, inputs: Sequence[Any], max_len: int) -> EncodedTexts:
        if inputs and isinstance(inputs[0], tuple):
            return encode_sequences(tokenizer, [a for a, _ in inputs], max_len, [b for _, b in inputs])
        return encode_sequences(tokenizer, inputs, max_len)

    def explanation_target(self, logits: np.ndarray, target: Any, label_names: Sequence[str],
                           settings: dict[str, Any]) -> tuple[int, str, str]:
        """The class or label named, else the likeliest one (a classifier's prediction, a
        multi-label model's most probable label)."""
        likeliest = int(np.argmax(logits))
        index = likeliest if target is None else self.named_output(target, label_names)
        return index, str(label_names[index]), str(label_names[likeliest])

    def explanation_targets(self, output: Any, prepared: Any, target: Any, label_names: Sequence[str],
                            settings: dict[str, Any]) -> list[Any]:
        """One output: the class or label `explanation_target` picks, by `explanation_output`."""
        from ..explain import ExplanationTarget

        logits = output.logits.float()
        index, label, predicted = self.explanation_target(logits[0].cpu().numpy(), target, label_names, settings)
        value = float(self.explanation_output(logits, index)[0])
        return [ExplanationTarget(label, value, lambda out: self.explanation_output(out.logits.float(), index),
                                  predicted=predicted, value_name=self.explained_value)]

    def named_output(self, target: Any, label_names: Sequence[str]) -> int:
        """The index of the class or label `target` names (its name, or its index)."""
        from ..errors import KtnbError

        names = [str(name) for name in label_names]
        if isinstance(target, (str, int, np.integer)) and not isinstance(target, bool) and str(target) in names:
            return names.index(str(target))  # a name first: classes named 1, 2, 3 are named, not counted
        if isinstance(target, (int, np.integer)) and not isinstance(target, bool) and 0 <= target < len(label_names):
            return int(target)
        raise KtnbError(f"target {target!r} is not one of this model's {self.describe_labels(label_names)[0]}: "
                        f"{', '.join(map(str, label_names))}")
