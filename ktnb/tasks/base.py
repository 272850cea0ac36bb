"""What every task tells the rest of ktnb: how its examples are encoded, which model head and
config it needs, how raw outputs become predictions and a report, which metrics it tracks and
which way each improves, and the `transformers.pipeline` that loads its saved folders.

The loop, the magics and the panel consult a task and never test its name, so adding a task is
adding a module here (and its report), then registering it in `ktnb.tasks`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Protocol, Sequence

import numpy as np

from ..errors import KtnbError

if TYPE_CHECKING:
    from ..batching import EncodedTexts
    from ..data import LabelledTexts
    from ..inference import Runner


class Report(Protocol):
    """What a task's evaluation gives back; every view shows one through these."""

    def summary(self, prefix: str = "val_") -> dict[str, float]: ...  # the numbers tracked per epoch

    @property
    def warning(self) -> str | None: ...  # a one-line warning when the predictions look wrong

    @property
    def headline(self) -> str: ...  # "accuracy 0.8383 on 872 validation examples, loss 0.3865"

    split: str  # the set it is on ("validation", "test"), set by evaluate; empty for data passed in

    def pictures(self) -> dict[str, Any]: ...  # name -> matplotlib Figure


@dataclass
class DataSample:
    """What a task looks at to say whether data is its own (`Task.recognises`), when a
    `%%ktrain` cell or the panel is given data without a task: the source, its first rows as a
    table when it is one, and the reading options (`text_col`, `label_col`, …)."""

    source: Any
    #: the first rows as a DataFrame (a file or a DataFrame), else None
    frame: Any
    config: Mapping[str, Any]

    @property
    def path(self) -> str | None:
        return os.fspath(self.source) if isinstance(self.source, (str, os.PathLike)) else None

    def labels(self) -> list[Any] | None:
        """The first labels, as written: the label column's, or those of a (texts, labels) pair."""
        label_col = self.config.get("label_col", "label")
        if self.frame is not None:
            if isinstance(label_col, str) and label_col in self.frame.columns:
                return self.frame[label_col].head(200).tolist()
            return None
        source = self.source
        if isinstance(source, (list, tuple)) and len(source) == 2 and hasattr(source[1], "__len__") \
                and not isinstance(source[1], str):
            return list(source[1])[:200]
        return None


class Task:
    """One kind of problem. Subclasses set the class attributes and the methods below."""

    name = ""
    #: in a sentence: "text classification"
    title = ""
    #: the `transformers.pipeline` task that loads a saved folder of this task
    pipeline_task = "text-classification"
    #: the peft task type of its LoRA model: None (a plain PeftModel, which passes every input on) but
    #: where peft's class adds what the task needs (generation's)
    peft_task_type: str | None = None
    #: the modules of its new head, trained whole beside LoRA's adapters (those the model has)
    head_modules: tuple[str, ...] = ("pre_classifier", "classifier", "score")
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
    #: labels are classes (a -1 among class ids is the hub's "no label"), not scores
    labels_are_classes = True
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
    #: what a table of this task's data holds, for messages; None: its data is not a table of texts
    #: with a label each (tagged sentences), and the task reads it itself (`load_data`)
    table_shape: str | None = "a text and a label column"
    #: its labels may be several 0/1 columns, one per label (`label_col=[...]`)
    label_columns = False
    #: its labels are class names, which a `datasets` ClassLabel column gives
    named_classes = False
    #: what a file in this task's own format is, for messages (tasks with a `table_shape` have none)
    file_kind = ""
    #: its model answers questions about a context (`Predictor.ask`)
    answers_questions = False
    #: what a prediction reads, as views ask for it: a text, or two named inputs (a question and its context)
    input_fields: tuple[str, ...] = ("text",)
    #: its predictions are text the model writes token by token (views stream it, with a Stop)
    writes_text = False
    #: what its Predict button says when it writes text ("Translate")
    write_verb = "Generate"
    #: `top_losses` can rank its examples by their loss (a language model's set is scored by token)
    ranks_examples = True
    #: per-run options and their defaults (a window stride, a longest answer): an instance made by
    #: `get_task(name, **options)` holds its own in `options`, which saved folders and checkpoints keep
    option_defaults: dict[str, Any] = {}

    def __init__(self, **options: Any):
        unknown = [name for name in options if name not in self.option_defaults]
        if unknown:
            known = ", ".join(self.option_defaults) or "none"
            raise KtnbError(f"task {self.name} has no option {unknown[0]!r}; its options: {known}")
        self.options = {**self.option_defaults, **{name: self.check_option(name, value)
                                                   for name, value in options.items()}}

    def check_option(self, name: str, value: Any) -> Any:
        """`value` for option `name`, checked (a one-line error when it is not allowed)."""
        return value

    def for_model(self, config: Any) -> Task:
        """This task with what a model's `config` settles (a translator's kind: encoder-decoder
        or decoder-only, and the prefix it reads), refused in one line when the model cannot do
        it; most tasks take any model as they are."""
        return self

    # ---------------------------------------------------------------- data

    def recognises(self, sample: DataSample) -> bool:
        """Whether data given without a task is this task's (a CoNLL file is tagging's); the
        registry asks each task in turn (`ktnb.tasks.infer_task`)."""
        return False

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

    def raw_labels(self, labels: Sequence[Any], label_names: Sequence[str]) -> list[Any]:
        """Encoded labels back in a form `labelled` reads again (class names by default)."""
        return [label_names[label] for label in labels]

    def metric_inputs(self, labels: Sequence[Any], label_names: Sequence[str], predictions: Sequence[Any]) \
            -> tuple[list[Any], list[Any]]:
        """(y_true, y_pred) for a user's metric (`ktnb.Metric`), each example's truth in the shape
        of its prediction: class names, numbers, lists of label names or of word tags."""
        return self.raw_labels(labels, label_names), list(predictions)

    def class_counts(self, labels: Sequence[Any], label_names: Sequence[str]) -> dict[str, int]:
        """Examples per class, for the Data tab's summary; empty for tasks without classes."""
        return {}

    def describe_data(self, label_names: Sequence[str]) -> str:
        """What `TextData`'s repr says of the labels: "task=regression" unless a task says more."""
        return f"task={self.name}"

    def labelled(self, items: list[Any], raw_labels: list[Any], label_names: Sequence[str], where: str) \
            -> LabelledTexts:
        """New labelled data (a test set) encoded against the labels the model was trained on."""
        raise NotImplementedError

    def load_data(self, source: Any, val: Any = None, **options: Any) -> Any:
        """`TextData` for this task from any source its readers take (options as `load_texts`);
        `val`: a validation set in the same form, else `val_frac` of the rows are held out."""
        raise NotImplementedError

    def text_data(self, texts: list[Any], labels: list[Any], val: tuple[list[Any], list[Any]] | None, *,
                  val_frac: float, seed: int, source: str, class_names: Sequence[str] | None,
                  max_train: int | None, target: str) -> Any:
        """`TextData` from texts (or (text, text) pairs) and their labels as written (names,
        numbers, label sets), rows with a missing text already dropped; `val`: a given validation
        set the same way, else `val_frac` of the rows are held out, seeded. Tasks whose data is a
        table of texts with labels (`table_shape`) read their labels here."""
        raise NotImplementedError(f"task {self.name} reads its own data (load_data)")

    def read_labelled(self, source: Any, text_col: str = "text", label_col: str = "label",
                      pair_col: str | None = None) -> tuple[list[Any], list[Any]]:
        """Inputs and raw labels of new labelled data (a test set), as `labelled` reads them."""
        raise NotImplementedError

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

    def check_training(self) -> None:
        """Refuse in one line, before any training, what this task needs and lacks (a package
        its scores come from); most tasks need nothing more."""

    def max_new_tokens(self) -> int:
        """The tokens a task that writes text writes at most, unless the caller says otherwise."""
        return 64

    def stop_strings(self) -> list[str]:
        """Texts that end its writing besides the end-of-text token (none here)."""
        return []

    def add_samples(self, report: Any, runner: Any, part: Any, max_len: int) -> None:
        """Put a few examples of the model's output on `report` for a reader to look at (a
        language model's writing after prompts from `part`); most tasks' reports need none."""

    def shown(self, example: Any) -> str:
        """An input or example as one line of text, for tables and views (a pair as "a | b")."""
        return " | ".join(example) if isinstance(example, tuple) else str(example)

    def dataset_columns(self, dataset: Any, text_col: str, label_col: str) -> tuple[str, str]:
        """The text and label columns to read from a `datasets.Dataset` when the defaults
        ("text", "label") are given: the task's own names for them on the hub, if it has any."""
        return text_col, label_col

    def split_inputs(self, inputs: Any, what: str) -> tuple[list[Any], bool] | None:
        """`inputs` of `predict` as (items, whether one was given alone) when this task reads
        more than texts and text pairs (a tagger reads pre-split words); None: the predictor's
        own rules for texts and pairs apply."""
        return None

    def default_max_len(self, tokenizer: Any, sample: LabelledTexts, cap: int) -> int:
        """Where training rows are cut when no `max_len` is given: the length 95% of a sample
        of the training examples fit in, at most the model's limit `cap`."""
        from ..batching import choose_max_len

        return choose_max_len(self.encode(tokenizer, sample, cap).lengths, cap)

    def loss_weight(self, batch: dict[str, Any]) -> float:
        """What a batch's loss is the mean over, so that a batch split into passes (micro-batches)
        weighs each pass's loss by its share: its rows, or for per-token labels the tokens
        scored (not the ignored ones)."""
        if self.per_token:
            from ..batching import IGNORED_LABEL

            return float((batch["labels"] != IGNORED_LABEL).sum())
        return float(len(batch["input_ids"]))

    def evaluation_length(self, max_len: int, model_limit: int) -> int:
        """Where labelled data is cut when it is scored: at the training `max_len` here (cutting
        a text keeps its one label)."""
        return max_len

    # ---------------------------------------------------------------- outputs

    def outputs(self, runner: Runner, examples: EncodedTexts) -> Any:
        """This task's outputs for encoded `examples`, one per example, from the forward passes
        (or `generate`) that `runner` gives, reduced batch by batch: the memory it holds is what
        it keeps, not every batch's raw outputs. By default each example's logits row (or its
        rows per token) and the model's mean loss (`ktnb.inference.Outputs`), which `report`,
        `tune`, `decode` and `example_losses` then read."""
        from ..inference import collect_logits

        return collect_logits(runner.forward(examples), len(examples), self.per_token, runner.model.config.num_labels)

    def merge_outputs(self, parts: Sequence[tuple[list[int], Any]], n: int) -> Any:
        """The outputs of a set of `n` examples from its shards' (several processes evaluating
        it, see `EncodedTexts.example_shards`): each shard's (example numbers in the set, its
        `outputs`). Rows of an array, or items of a list, go back to their example's place; the
        loss is the mean over everything the shards scored."""
        from ..inference import Outputs

        first = parts[0][1].logits
        if isinstance(first, np.ndarray):
            merged: Any = np.zeros((n, *first.shape[1:]), dtype=first.dtype)
            for examples, outputs in parts:
                if examples:
                    merged[examples] = outputs.logits
        else:
            merged = [None] * n
            for examples, outputs in parts:
                for number, value in zip(examples, outputs.logits):
                    merged[number] = value
        scored = [(outputs.loss, outputs.loss_weight) for _, outputs in parts if outputs.loss is not None]
        weight = sum(w for _, w in scored)
        return Outputs(merged, sum(loss * w for loss, w in scored) / weight if weight else None, weight)

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

    #: `explain` attributes its predictions to words
    explainable = False
    #: an input's explanation is one `Explanation` (False: `Explanations`, one per output found)
    explains_one_output = True
    #: what an input with no output to explain shows (a tagger's text with no entity)
    nothing_to_explain = "nothing to explain"
    #: what an explanation of a prediction attributes, in words
    explained_value = "probability"

    def explanation_choices(self, label_names: Sequence[str]) -> list[str]:
        """What an explanation may be toward, by name (a classifier's classes); [] when only the
        prediction is explained."""
        return [str(name) for name in label_names]

    def explanation_input(self, tokenizer: Any, item: Any, max_len: int) -> Any:
        """One input (a text, or a pair) tokenised for `explain`, each token's word known (an
        `ExplanationInput`)."""
        from ..explain import tokenize_texts

        return tokenize_texts(tokenizer, item if isinstance(item, tuple) else (item,), max_len)

    def explanation_targets(self, output: Any, prepared: Any, target: Any, label_names: Sequence[str],
                            settings: dict[str, Any]) -> list[Any]:
        """The outputs `explain` attributes for one input (`ExplanationTarget`s), given the
        model's `output` for it: `target` names one (a class, a label, an entity type), None
        the prediction (as `decode` makes it with the learnt `settings`: a threshold, …)."""
        raise NotImplementedError

    def explanation_target(self, logits: np.ndarray, target: Any, label_names: Sequence[str],
                           settings: dict[str, Any]) -> tuple[int, str, str]:
        """For an explanation of one input with these outputs (`logits`): which output it
        attributes (`target`, a class or label name; None: the prediction), what that is
        called, and what the model predicts."""
        raise NotImplementedError

    def explanation_output(self, logits: Any, index: int) -> Any:
        """The number an explanation attributes, one per row of `logits` (a torch tensor): the
        chosen class's probability, a label's, a predicted value."""
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
        changed = {k: v for k, v in self.options.items() if self.option_defaults.get(k) != v}
        return f"<task {self.name}{''.join(f' {k}={v!r}' for k, v in changed.items())}>"


def readable_prediction(prediction: Any) -> Any:
    """A prediction as one table cell: entities as "Ann (PER), Paris (LOC)", label sets joined."""
    if isinstance(prediction, list):
        return ", ".join(f"{e.word} ({e.entity})" if hasattr(e, "entity") else str(e) for e in prediction)
    return prediction
