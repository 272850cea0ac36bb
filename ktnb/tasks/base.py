"""What every task tells the rest of ktnb: how its examples are encoded, which model head and
config it needs, how raw outputs become predictions and a report, which metrics it tracks and
which way each improves, and the `transformers.pipeline` that loads its saved folders.

The loop, the magics and the panel consult a task and never test its name, so adding a task is
adding a module here (and its report), then registering it in `ktnb.tasks`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Sequence

import numpy as np

if TYPE_CHECKING:
    from ..batching import EncodedTexts
    from ..data import LabelledTexts


class Report(Protocol):
    """What a task's evaluation gives back; every view shows one through these."""

    def summary(self, prefix: str = "val_") -> dict[str, float]: ...  # the numbers tracked per epoch

    @property
    def warning(self) -> str | None: ...  # a one-line warning when the predictions look wrong

    @property
    def headline(self) -> str: ...  # "accuracy 0.8383 on 872 examples, loss 0.3865"

    def pictures(self) -> dict[str, Any]: ...  # name -> matplotlib Figure


class Task:
    """One kind of problem. Subclasses set the class attributes and the methods below."""

    name = ""
    #: in a sentence: "text classification"
    title = ""
    #: the `transformers.pipeline` task that loads a saved folder of this task
    pipeline_task = "text-classification"
    #: the transformers Auto class of the model head
    auto_model = "AutoModelForSequenceClassification"
    problem_type: str | None = None
    #: labels (and outputs) per token rather than per example
    per_token = False
    #: the metrics tracked per epoch (prefixed "val_"), each True when higher is better
    metrics: dict[str, bool] = {"val_loss": False}
    #: the pictures its report draws, the first one shown by default, and what each is called
    pictures: tuple[str, ...] = ()
    picture_titles: dict[str, str] = {}
    #: the validation metric that picks the best weights unless the user names one
    default_monitor = "val_loss"
    #: the fewest optimizer steps `auto_epochs` aims for (None: ktnb's general 100)
    min_steps: int | None = None
    #: decision settings tuned on validation data and saved with a predictor (a threshold)
    decision_settings: tuple[str, ...] = ()
    #: what a trained model of this task is called in messages
    model_noun = "model"
    #: what `predict` takes: single texts, or (text, text) pairs when trained on pairs
    label_word = "label"
    #: a row with no label is an example (a multi-label text with none of the labels), not a gap to drop
    keeps_unlabelled_rows = False

    # ---------------------------------------------------------------- metrics

    def higher_is_better(self, metric: str) -> bool:
        """Which way `metric` improves (unknown names: losses and errors down, the rest up)."""
        if metric in self.metrics:
            return self.metrics[metric]
        return not any(word in metric for word in ("loss", "mse", "mae", "error"))

    # ---------------------------------------------------------------- labels

    def describe_labels(self, label_names: Sequence[str]) -> tuple[str, str]:
        """What the labels are called and are, for settings tables: ("classes", "neg, pos")."""
        return "classes", ", ".join(label_names)

    def readable(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        """Encoded labels as a user writes them (class names, numbers)."""
        return [label_names[label] for label in labels]

    def labelled(self, items: list[Any], raw_labels: list[Any], label_names: Sequence[str], where: str) \
            -> LabelledTexts:
        """New labelled data (a test set) encoded against the labels the model was trained on."""
        raise NotImplementedError

    def load_data(self, source: Any, val: Any = None, **options: Any) -> Any:
        """`TextData` for this task from any source its readers take (options as `load_texts`)."""
        from ..data import _split_pairs, load_texts, read_labelled, texts_from_array

        options["task"] = self.name
        if val is None:
            return load_texts(source, **options)
        cols = {k: options.pop(k) for k in ("text_col", "label_col") if k in options}
        files = {k: options.get(k) for k in ("sep", "encoding", "pair_col") if k in options}
        files["labels_required"] = not self.keeps_unlabelled_rows
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
        """Inputs and raw labels of new labelled data (a test set)."""
        from ..data import read_labelled

        return read_labelled(source, text_col, label_col, pair_col=pair_col,
                             labels_required=not self.keeps_unlabelled_rows)

    # ---------------------------------------------------------------- model

    def num_labels(self, label_names: Sequence[str]) -> int:
        return len(label_names)

    def configure(self, config: Any, label_names: Sequence[str]) -> bool:
        """Set the head's size, label names and problem type on a model `config`; True when
        the config already had this head (a folder saved by ktnb for the same labels)."""
        id2label = {i: str(name) for i, name in enumerate(label_names)}
        same = dict(getattr(config, "id2label", None) or {}) == id2label and \
            getattr(config, "problem_type", None) in (None, self.problem_type)
        config.num_labels = self.num_labels(label_names)
        config.id2label = id2label
        config.label2id = {name: i for i, name in id2label.items()}
        config.problem_type = self.problem_type
        return same

    def init_head(self, model: Any, train_labels: Sequence[Any]) -> None:
        """Start a new head where the data is (a regression head at the mean target); nothing here."""

    # ---------------------------------------------------------------- data

    def encode(self, tokenizer: Any, part: LabelledTexts, max_len: int) -> EncodedTexts:
        raise NotImplementedError

    def encode_inputs(self, tokenizer: Any, inputs: Sequence[Any], max_len: int) -> EncodedTexts:
        """Unlabelled inputs (what `predict` was given) encoded as for training."""
        raise NotImplementedError

    def shown(self, example: Any) -> str:
        """An input or example as one line of text, for tables and views (a pair as "a | b")."""
        return " | ".join(example) if isinstance(example, tuple) else str(example)

    def split_inputs(self, inputs: Any, what: str) -> tuple[list[Any], bool] | None:
        """`inputs` of `predict` as (items, whether one was given alone) when this task reads
        more than texts and text pairs (a tagger reads pre-split words); None: the predictor's
        own rules for texts and pairs apply."""
        return None

    def evaluation_length(self, max_len: int, model_limit: int) -> int:
        """Where labelled data is cut when it is scored: at the training `max_len` here (cutting
        a text keeps its one label)."""
        return max_len

    # ---------------------------------------------------------------- outputs

    def report(self, logits: Any, labels: Sequence[Any], label_names: Sequence[str], loss: float | None,
               settings: dict[str, Any], examples: EncodedTexts | None = None) -> Report:
        raise NotImplementedError

    def tune(self, logits: Any, labels: Sequence[Any], settings: dict[str, Any]) -> dict[str, Any]:
        """Decision settings learnt from validation outputs (a multi-label threshold); none here."""
        return {}

    def decode(self, logits: Any, label_names: Sequence[str], settings: dict[str, Any],
               inputs: Sequence[Any] | None = None, examples: EncodedTexts | None = None) -> list[Any]:
        """One prediction per input, in the form a user reads (a class name, a score, …)."""
        raise NotImplementedError

    def example_losses(self, logits: Any, labels: Sequence[Any]) -> np.ndarray:
        """The loss of each example, for `top_losses`."""
        raise NotImplementedError

    def predictions_html(self, shown: Sequence[str], predictions: Sequence[Any], logits: Any,
                         label_names: Sequence[str]) -> str:
        """What the Predict views (the panel's tab, ``%ktrain predict``, a cell's ``predict:``)
        show for these inputs (`shown`: each input as text): by default a table of input and
        prediction."""
        from ..render.html import table_html

        return table_html(("text", self.label_word), [(t, readable_prediction(p)) for t, p in zip(shown, predictions)],
                          css_class="ktnb-predictions")

    def __repr__(self) -> str:
        return f"<task {self.name}>"


def readable_prediction(prediction: Any) -> Any:
    """A prediction as one table cell: entities as "Ann (PER), Paris (LOC)", label sets joined."""
    if isinstance(prediction, list):
        return ", ".join(f"{e.word} ({e.entity})" if hasattr(e, "entity") else str(e) for e in prediction)
    return prediction


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

    def encode(self, tokenizer: Any, part: LabelledTexts, max_len: int) -> EncodedTexts:
        return encode_sequences(tokenizer, part.texts, max_len, part.pairs, part.labels)

    def encode_inputs(self, tokenizer: Any, inputs: Sequence[Any], max_len: int) -> EncodedTexts:
        if inputs and isinstance(inputs[0], tuple):
            return encode_sequences(tokenizer, [a for a, _ in inputs], max_len, [b for _, b in inputs])
        return encode_sequences(tokenizer, inputs, max_len)
