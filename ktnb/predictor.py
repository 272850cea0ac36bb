"""Predict labels for new text, and save/load a model in the Hugging Face format.

A saved predictor is an ordinary `save_pretrained` folder (safetensors weights, config with the
label names, tokenizer) plus a small ``ktnb.json``; `transformers.pipeline` loads it as is:

    predictor.save("sentiment")
    pipeline("text-classification", model="sentiment")("a fine film")
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Callable, ContextManager, Sequence

import numpy as np
import torch

from . import checks
from .batching import EncodedTexts, model_length_cap, pad_id
from .errors import KtnbError, ModelError
from .inference import Runner, run_model
from .processes import is_main_process
from .storage import MANIFEST, atomic_folder, missing_folder_error, partial_dir, verify_manifest, write_manifest
from .tasks import Task, get_task
from .tasks.base import readable_prediction

PREDICTOR_FILE = MANIFEST


def cut_at_stop(text: str, stops: Sequence[str]) -> str:
    r"""`text` up to the first of the `stops` strings (the stop string itself left out).

    >>> cut_at_stop("Paris.\nEnglish: next", ["\n"])
    'Paris.'
    """
    ends = [text.find(s) for s in stops if s and s in text]
    return text[:min(ends)] if ends else text


def logits_for_ids(model: Any, input_ids: Sequence[Sequence[int]], pad_id: int, batch_size: int,
                   device: torch.device | str,
                   autocast: Callable[[], ContextManager] = contextlib.nullcontext) -> np.ndarray:
    """Model outputs for pre-tokenised rows, in batches sorted by length, returned in input order."""
    return run_model(model, EncodedTexts([list(ids) for ids in input_ids]), pad_id, batch_size, device=device,
                     autocast=autocast).logits


def _before_stop(tokenizer: Any, ids: Sequence[int], ends: set[int], stops: Sequence[str]) -> list[int]:
    """Written tokens up to the first end-of-text (or padding) token, and before the token that
    completes a stop string."""
    kept: list[int] = []
    for token in ids:
        if token in ends or (stops and any(s in tokenizer.decode(kept + [token]) for s in stops)):
            break
        kept.append(token)
    return kept


class Predictor:
    """Predictions for new texts (or text pairs) from a trained model of any task: class names
    and probabilities for classification, numbers for regression.

    >>> predictor = learner.predictor()                       # doctest: +SKIP
    >>> predictor.predict(["a gorgeous film", "dull and long"])  # doctest: +SKIP
    ['positive', 'negative']
    """

    def __init__(self, model: Any, tokenizer: Any, class_names: Sequence[str] | None = None,
                 max_len: int | None = None, batch_size: int = 64, device: str | torch.device | None = None, *,
                 task: str | Task = "classification", settings: dict[str, Any] | None = None, pairs: bool = False,
                 mixed_precision: str = "no"):
        from .devices import resolve_mixed_precision

        self.model = model
        self.tokenizer = tokenizer
        self.task = get_task(task).for_model(model.config)
        id2label = getattr(model.config, "id2label", {}) or {}
        self.class_names = list(class_names) if class_names is not None else \
            [id2label[i] for i in range(len(id2label))]
        # by default the longest input the model reads (as transformers.pipeline does), not the
        # length training was cut at: a long text is read whole, and labels match the pipeline's
        self.max_len = checks.whole_number("max_len", max_len, 2) if max_len is not None else \
            model_length_cap(tokenizer, model.config)
        self.batch_size = checks.whole_number("batch_size", batch_size)
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.settings = dict(settings or {})
        self.pairs = pairs
        # "no" (the default) reads in the weights' own precision, as transformers.pipeline does;
        # "bf16"/"auto" run the forward passes and the writing of text under autocast, faster
        # where the chip multiplies bf16 natively, at the cost of answers that may move where two
        # scores are close. Explanations' gradients run in the weights' precision either way.
        self.mixed_precision = resolve_mixed_precision(mixed_precision, self.device, model)

    def _inputs(self, inputs: Any, what: str) -> tuple[list[Any], bool]:
        """The inputs as a list (and whether one was given alone): texts, or (text, text) pairs
        for a model trained on pairs."""
        own = self.task.split_inputs(inputs, what)
        if own is not None:  # the task reads more than texts (a tagger: pre-split words)
            return own
        if not self.pairs:
            if _is_pair(inputs) or (isinstance(inputs, list) and any(_is_pair(item) for item in inputs)):
                # read as two texts, a pair would silently give two predictions
                raise KtnbError(f"{what}: this model was trained on single texts, not text pairs; give a text or a "
                                "list of texts")
            return checks.texts(inputs, what)
        single = isinstance(inputs, tuple)
        items = [inputs] if single else list(inputs) if isinstance(inputs, list) else None
        if items is None or not all(isinstance(p, tuple) and len(p) == 2 and all(isinstance(t, str) for t in p)
                                    for p in items):
            raise KtnbError(f"{what}: this model reads text pairs; give a (text, text) tuple or a list of them")
        return items, single

    def _outputs(self, items: list[Any], generation: dict[str, Any] | None = None) -> Any:
        examples = self.task.encode_inputs(self.tokenizer, items, self.max_len)
        runner = Runner(self.model, pad_id(self.tokenizer), self.batch_size, device=self.device,
                        tokenizer=self.tokenizer, generation=generation, autocast=self._autocast)
        return self.task.outputs(runner, examples).logits, examples

    def _autocast(self) -> ContextManager:
        if self.mixed_precision == "no":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.mixed_precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def predict_proba(self, texts: Any) -> np.ndarray:
        """Class probabilities: shape (n_classes,) for one text, (n, n_classes) for a list."""
        if not hasattr(self.task, "probabilities"):
            raise KtnbError(f"a {self.task.title} model gives no class probabilities; use predict()")
        items, single = self._inputs(texts, "predict_proba")
        if not items:
            return np.empty((0, len(self.class_names)), dtype=np.float32)
        proba = self.task.probabilities(self._outputs(items)[0])
        return proba[0] if single else proba

    def predict(self, texts: Any, return_proba: bool = False) -> Any:
        """One prediction per text (a class name, a number, …), or the one for a lone text;
        with `return_proba` (ktrain's name) the class probabilities instead, as `predict_proba`."""
        if return_proba:
            return self.predict_proba(texts)
        items, single = self._inputs(texts, "predict")
        if not items:
            return []
        logits, examples = self._outputs(items)
        predictions = self.task.decode(logits, self.class_names, self.settings, items, examples)
        return predictions[0] if single else predictions

    def _writing(self, what: str, prompts: Any, max_new_tokens: int | None, temperature: float,
                 top_p: float | None, num_beams: int, stop: str | Sequence[str] | None,
                 seed: int | None) -> tuple[list[Any], bool, dict[str, Any], list[str]]:
        """The prompts (and whether one came alone), `model.generate`'s settings and the stop
        strings, for a language model's `generate` and `stream`; `seed` is set here."""
        from .generation import generation_settings

        if not self.task.writes_text:
            raise KtnbError(f"{what} needs a model that writes text (a language model, a translator, a summariser); "
                            f"this is a {self.task.model_noun}: use predict()")
        items, single = self._inputs(prompts, what)
        own_stops = self.task.stop_strings()  # a decoder-only translator writes to the end of the line
        if own_stops and stop is None:
            stop = own_stops
        settings, stops = generation_settings(self.tokenizer, max_new_tokens, temperature, top_p, num_beams, stop)
        settings.setdefault("max_new_tokens", self.task.max_new_tokens())
        if seed is not None:
            torch.manual_seed(checks.whole_number("seed", seed, 0))
        return items, single, settings, stops

    def generate(self, prompts: Any, max_new_tokens: int | None = None, *, temperature: float = 0.0,
                 top_p: float | None = None, num_beams: int = 1, stop: str | Sequence[str] | None = None,
                 seed: int | None = None) -> Any:
        """What a language model (task generation) writes after a prompt (a text, or chat
        messages), or after each of a list of them (batched, padded on the left). Greedy by
        default; `temperature` > 0 samples (with `top_p`, nucleus sampling; `seed` repeats a
        draw); `num_beams` > 1 searches; writing ends at `max_new_tokens` (the task's default,
        64), the end-of-text token, or any of the `stop` strings (cut off the text).

        >>> predictor.generate("The film was", max_new_tokens=20)         # doctest: +SKIP
        ' a delight from start to finish.'
        """
        items, single, settings, stops = self._writing("generate", prompts, max_new_tokens, temperature, top_p,
                                                       num_beams, stop, seed)
        written = self._outputs(items, settings)[0] if items else []
        written = [cut_at_stop(text, stops) for text in written]
        return written[0] if single else written

    def chat(self, messages: Sequence[dict[str, str]], max_new_tokens: int | None = None, **settings: Any) -> str:
        """The assistant's reply to chat `messages` ([{"role": "user", "content": "…"}, …]),
        formatted with the tokenizer's chat template (`generate`'s settings apply).

        >>> predictor.chat([{"role": "user", "content": "Name a French city."}])   # doctest: +SKIP
        'Paris.'
        """
        if not isinstance(messages, (list, tuple)) or not messages or not all(
                isinstance(m, dict) and {"role", "content"} <= m.keys() for m in messages):
            raise KtnbError('chat takes a list of messages, e.g. [{"role": "user", "content": "Hello"}]')
        return self.generate(list(messages), max_new_tokens, **settings)

    def translate(self, texts: Any, max_new_tokens: int | None = None, *, num_beams: int | None = None) -> Any:
        """A translator's translation of a text, or of each of a list of texts (batched, sorted
        by length): with `num_beams` beams (1: greedy; by default the task's `num_beams`, 1
        unless set); at most `max_new_tokens` (the task's `max_target_len`). `stream` shows one
        growing in a notebook.

        >>> predictor.translate("The cat is black.")                       # doctest: +SKIP
        'Le chat est noir.'
        """
        return self._written_as("translate", texts, max_new_tokens, num_beams)

    def summarize(self, texts: Any, max_new_tokens: int | None = None, *, num_beams: int | None = None) -> Any:
        """A summariser's summary of a text, or of each of a list of texts (as `translate`).

        >>> predictor.summarize(long_article)                              # doctest: +SKIP
        'The council approved the budget.'
        """
        return self._written_as("summarize", texts, max_new_tokens, num_beams)

    def _written_as(self, verb: str, texts: Any, max_new_tokens: int | None, num_beams: int | None) -> Any:
        if self.task.write_verb.lower() != verb:
            kind = {"translate": "a translator (task translation)", "summarize": "a summariser (task summarization)"}
            raise KtnbError(f"{verb} needs {kind[verb]}; this is a {self.task.model_noun}: use "
                            f"{'generate' if self.task.writes_text else 'predict'}()")
        items, single, settings, stops = self._writing(verb, texts, max_new_tokens, 0.0, None, num_beams or 1, None,
                                                       None)
        if num_beams is not None:  # 1 too: greedy, whatever the task's or the model's own setting
            settings["num_beams"] = num_beams
        written = [cut_at_stop(text, stops) for text in self._outputs(items, settings)[0]] if items else []
        return written[0] if single else written

    def stream(self, prompt: Any, max_new_tokens: int | None = None, *, temperature: float = 0.0,
               top_p: float | None = None, stop: str | Sequence[str] | None = None, seed: int | None = None) -> Any:
        """What `generate` writes after one prompt, piece by piece as the model writes it (a
        `ktnb.generation.TextStream`: iterate it, read `.text`, `.stop()` it). In a notebook
        ``%ktrain generate "prompt"`` shows it growing in place.

        >>> for piece in predictor.stream("The film was"):          # doctest: +SKIP
        ...     print(piece, end="", flush=True)
        """
        from .generation import TextStream, check_room

        items, single, settings, stops = self._writing("stream", prompt, max_new_tokens, temperature, top_p, 1, stop,
                                                       seed)
        if not single:
            raise KtnbError("stream writes after one prompt; give one (generate takes a list)")
        ids = self.task.encode_inputs(self.tokenizer, items, self.max_len).input_ids[0]
        if not getattr(self.model.config, "is_encoder_decoder", False):  # an encoder's source takes no decoder room
            cap = model_length_cap(self.tokenizer, self.model.config)
            if max_new_tokens is None and settings["max_new_tokens"] > cap - len(ids) > 0:
                settings["max_new_tokens"] = cap - len(ids)  # the default, within what the model reads
            check_room([len(ids)], settings["max_new_tokens"], cap)
        return TextStream(self.model, self.tokenizer, ids, settings, stops, self._autocast)

    def ask(self, question: str, context: str) -> Any:
        """The answer to `question` in `context`, for a question answering model: its text, its
        characters in the context and its score.

        >>> predictor.ask("Who founded it?", "Ann Lee founded it in 1999.")   # doctest: +SKIP
        Answer(answer='Ann Lee', start=0, end=7, score=9.2)
        """
        if not self.task.answers_questions:
            raise KtnbError(f"ask needs a question answering model (task qa); this is a {self.task.model_noun}: "
                            "use predict()")
        return self.predict((question, context))

    def table(self, inputs: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Predictions as a table for views: (header, rows), with each class prediction's
        probability where the task has one."""
        items, _ = self._inputs(inputs, "predict")
        shown = [self.task.shown(item) for item in items]
        predictions = self.predict(items)
        if hasattr(self.task, "probabilities") and items:
            confidence = self.predict_proba(items).max(axis=1)
            return ["text", "label", "probability"], [(t, p, float(c)) for t, p, c in zip(shown, predictions,
                                                                                          confidence)]
        return ["text", self.task.label_word], [(t, readable_prediction(p)) for t, p in zip(shown, predictions)]

    def view(self, inputs: Any) -> PredictionsView:
        """The predictions for `inputs` as the task shows them (a table of classes and their
        probabilities, label sets, scores, or texts with their entities highlighted); it shows
        itself in a notebook, and ``.html`` is the same as text."""
        items, _ = self._inputs(inputs, "predict")
        shown = [self.task.shown(item) for item in items]
        if not items:
            return PredictionsView(self.task.predictions_html([], [], np.empty((0, len(self.class_names))),
                                                              self.class_names))
        logits, examples = self._outputs(items)
        predictions = self.task.decode(logits, self.class_names, self.settings, items, examples)
        return PredictionsView(self.task.predictions_html(shown, predictions, logits, self.class_names))

    def highlight(self, text: str) -> Any:
        """A tagger's entities in `text`, as a view that a notebook shows highlighted by type."""
        from .tasks.tagging import EntityView

        if self.task.label_word != "entities" or not isinstance(text, str):
            raise KtnbError("highlight needs a token tagger (task tagging) and one text")
        return EntityView(text, self.predict(text))

    def explain(self, texts: Any, target: Any = None, method: str = "integrated_gradients") -> Any:
        """Which words made the model decide: each word's attribution toward the prediction by
        integrated gradients (Captum; the cheaper "gradient_x_input" too), shown in a notebook
        as the text shaded word by word. `target` names what to explain instead of the
        prediction: a class or label, an entity type (a tagger gives one explanation per
        entity), or, for a model that writes, the text to explain (by default what it writes
        greedily, at most `EXPLAINED_TOKENS` tokens: each token's attribution to the input and
        to the tokens before it). One input gives one explanation, a list one each. Needs
        captum (the `explain` extra).

        >>> predictor.explain("a gorgeous, witty film")               # doctest: +SKIP
        Explanation('positive', probability=0.981, top: 'gorgeous' +0.412, 'witty' +0.301, …)
        """
        from .explain import explain_inputs

        items, single = self._inputs(texts, "explain")
        if self.task.writes_text:
            items, target = self._written_items(items, target), None
        found = explain_inputs(self.model, self.tokenizer, self.task, items, self.class_names, self.max_len, target,
                               method, self.settings)
        return found[0] if single else found

    def _written_items(self, items: list[Any], target: Any) -> list[Any]:
        """Each input with the tokens to explain after it: the text `target` gives (one for
        all, or one per input), else what the model writes, greedy, in this predictor's
        precision (as `generate` writes it), up to its end-of-text token."""
        from .explain import EXPLAINED_TOKENS, WrittenItem
        from .generation import check_room, stop_token_ids

        config = self.model.config
        start = getattr(config, "decoder_start_token_id", None) if config.is_encoder_decoder else None
        if config.is_encoder_decoder and start is None:
            raise ModelError(f"this {config.model_type} model does not say which token its decoder starts from "
                             "(decoder_start_token_id in its config)")
        for i, item in enumerate(items):
            if isinstance(item, str) and not item.strip():
                raise KtnbError(f"text {i} is empty; give explain some words to attribute")
        prompts = self.task.encode_inputs(self.tokenizer, items, self.max_len)
        # the tokens a written text may have: the decoder's positions, or what the prompt leaves
        if config.is_encoder_decoder:
            positions = getattr(config, "max_position_embeddings", None)
            rooms = [(positions if isinstance(positions, int) else self.task.max_new_tokens()) - 1] * len(items)
        else:
            cap = model_length_cap(self.tokenizer, config)
            rooms = [cap - length for length in prompts.lengths]
        ends = set(stop_token_ids(self.model, self.tokenizer)) | {pad_id(self.tokenizer)}
        if target is None:
            limit = min(EXPLAINED_TOKENS, *rooms)
            if not config.is_encoder_decoder:
                check_room(prompts.lengths, max(limit, 1), cap)
            _, _, settings, stops = self._writing("explain", items, limit, 0.0, None, 1, None, None)
            settings = {"do_sample": False, "eos_token_id": sorted(ends - {None}), **settings}
            runner = Runner(self.model, pad_id(self.tokenizer), self.batch_size, device=self.device,
                            tokenizer=self.tokenizer, autocast=self._autocast)
            written: list[list[int]] = [[] for _ in items]
            for index, rows in runner.generate(prompts, **settings):
                for i, ids in zip(index, rows):
                    written[i] = _before_stop(self.tokenizer, ids, ends, stops)
        else:
            targets = [target] * len(items) if isinstance(target, str) else target
            if not isinstance(targets, list) or len(targets) != len(items) or not all(
                    isinstance(t, str) and t.strip() for t in targets):
                raise KtnbError("target: the text to explain, one for every input (or one for all)")
            written = [self._target_ids(list(prompt), text) for prompt, text in zip(prompts.input_ids, targets)]
            for i, (ids, room) in enumerate(zip(written, rooms)):
                if len(ids) > room:
                    raise KtnbError(f"target {i} is {len(ids)} tokens, and this model reads at most {max(room, 0)} "
                                    "after its input; shorten it")
        special = set(self.tokenizer.all_special_ids)
        for i, ids in enumerate(written):
            if not set(ids) - special:  # nothing, or only tokens the text leaves out (<s>)
                raise KtnbError(f"the model writes nothing after input {i} (or only special tokens); give target= "
                                "the text to explain")
        return [WrittenItem(item, list(prompt), ids, start)
                for item, prompt, ids in zip(items, prompts.input_ids, written)]

    def _target_ids(self, prompt: list[int], text: str) -> list[int]:
        """A given text's tokens as the model would write them after the `prompt` tokens: a
        decoder reads it after the prompt (tokenised together, so that a leading space joins its
        word)."""
        if self.model.config.is_encoder_decoder:
            return list(self.tokenizer(text_target=text, add_special_tokens=False)["input_ids"])
        joined = self.tokenizer(self.tokenizer.decode(prompt) + text, add_special_tokens=False)["input_ids"]
        if joined[:len(prompt)] == prompt:
            return list(joined[len(prompt):])
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def attention(self, text: str, view: str = "ktnb") -> Any:
        """Attention weights of every layer and head for `text` (an `Attention`, which shows
        itself in a notebook); ``view="bertviz"`` hands them to bertviz's head view instead."""
        from .attention import attention_for

        att = attention_for(self.model, self.tokenizer, text, self.max_len)
        if view in ("bertviz", "head", "model"):
            return att.bertviz("model" if view == "model" else "head")
        if view != "ktnb":
            raise KtnbError(f"unknown attention view {view!r}; choose ktnb, bertviz (head) or model")
        return att

    def save(self, path: str | os.PathLike, *, adapter_only: bool = False) -> Path:
        """Write a Hugging Face model folder (safetensors, config with labels, tokenizer) that
        `Predictor.load` and `transformers.pipeline` both read. A LoRA model is saved merged (its
        adapters folded into the weights), or with ``adapter_only=True`` as peft's adapter folder
        (megabytes, not the whole model), which the same two read with the base model it names.

        The folder appears whole or not at all (see `ktnb.storage`); an existing folder is
        replaced only when ktnb saved it. When several processes train, the main one writes it
        and the others go on (call it in every process, or in the main one only)."""
        from . import __version__
        from .lora import is_lora, merged
        from .models import quiet_transformers

        if adapter_only and not is_lora(self.model):
            raise ModelError("adapter_only saves LoRA adapters, and this model has none (it was trained whole); "
                             "save it without adapter_only")
        if adapter_only and self.task.head_modules:
            raise ModelError(f"adapter_only is for language models: a {self.task.model_noun}'s new head and labels "
                             "are not in peft's adapter folder; save it without adapter_only (the merged model)")
        def write() -> None:
            with atomic_folder(path) as tmp:
                with quiet_transformers():
                    (self.model if adapter_only else merged(self.model)).save_pretrained(tmp)
                self.tokenizer.save_pretrained(tmp)
                write_manifest(tmp, {"task": self.task.name, "task_options": self.task.options,
                                     "pipeline": self.task.pipeline_task, "class_names": self.class_names,
                                     "max_len": self.max_len, "settings": self.settings, "pairs": self.pairs,
                                     "ktnb_version": __version__})

        if is_main_process():  # several processes training one model: the main one writes it
            write()
        return Path(path).expanduser()

    def push_to_hub(self, repo_id: str, *, private: bool | None = None, token: str | None = None,
                    commit_message: str = "Upload a ktnb predictor") -> str:
        """Upload this predictor to the Hugging Face hub as the model repository `repo_id`
        ("you/sst2-minilm", created when missing): the folder `save` writes, which
        `transformers.pipeline(task, model=repo_id)` and `ktnb.load_predictor(repo_id)` load.
        Log in first (`hf auth login`) or pass `token=`. Returns the repository's URL.

        >>> predictor.push_to_hub("you/sst2-minilm", private=True)   # doctest: +SKIP
        'https://huggingface.co/you/sst2-minilm'
        """
        from .hub_models import push_folder

        return push_folder(self.save, repo_id, private=private, token=token, commit_message=commit_message)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None, batch_size: int = 64,
             mixed_precision: str = "no") -> Predictor:
        """A predictor from a folder written by `save` (or any trained sequence classifier), or
        from the hub's repository of that name ("you/sst2-minilm") when no such folder exists.

        Refused, in one line, when the folder is not whole: files changed or cut short since
        they were saved, class names that disagree with the model, a base model without a
        trained head, a tokenizer that belongs to another model."""
        from .devices import resolve_device
        from .hub_models import download_folder, looks_like_repo_id
        from .models import load_trained

        folder = Path(path).expanduser()
        if not folder.is_dir() and looks_like_repo_id(path) and not partial_dir(folder).exists():
            folder = download_folder(str(path))  # "you/sst2-minilm": a predictor pushed to the hub
        if not folder.is_dir():
            raise missing_folder_error(folder)
        meta = verify_manifest(folder) if (folder / PREDICTOR_FILE).is_file() else {}
        options = meta.get("task_options") or {}
        if not isinstance(options, dict):
            raise ModelError(f"{folder / PREDICTOR_FILE} has bad task_options {options!r:.60}; save the predictor "
                             "again")
        try:
            task = get_task(meta.get("task", "classification"), **options)
        except KtnbError as err:
            raise ModelError(f"{folder / PREDICTOR_FILE} is damaged: {err}; save the predictor again") from None
        model, tokenizer = load_trained(folder, task.auto_model, task.model_noun)
        id2label = getattr(model.config, "id2label", None) or {}
        config_names = [str(id2label[i]) for i in sorted(id2label)]
        class_names = meta.get("class_names", config_names)
        if class_names != config_names and task.num_labels(class_names):  # a language model has no labels
            raise ModelError(f"{folder / PREDICTOR_FILE} names the {task.describe_labels(class_names)[0]} "
                             f"{class_names} but config.json has "
                             f"{config_names}; save the predictor again")
        max_len = meta.get("max_len")
        if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 2):
            raise ModelError(f"{folder / PREDICTOR_FILE} has a bad max_len {max_len!r}; save the predictor again")
        model.to(resolve_device(device))
        return cls(model, tokenizer, class_names, max_len, batch_size, task=task, settings=meta.get("settings"),
                   pairs=bool(meta.get("pairs", False)), mixed_precision=mixed_precision)

    def __repr__(self) -> str:
        kind, names = self.task.describe_labels(self.class_names)
        what = f"classes={self.class_names}" if kind == "classes" else f"task={self.task.name}, {kind}={names}"
        return f"Predictor({what}, max_len={self.max_len}, device={self.device})"


def _is_pair(value: Any) -> bool:
    """A (text, text) tuple, as a model trained on pairs takes them."""
    return isinstance(value, tuple) and len(value) == 2 and all(isinstance(t, str) for t in value)


class PredictionsView:
    """A task's predictions as HTML (already escaped by the task's view)."""

    def __init__(self, html: str):
        self.html = html

    def _repr_html_(self) -> str:
        return self.html


def load_predictor(path: str | os.PathLike, device: str | None = None, mixed_precision: str = "no") -> Predictor:
    """Shorthand for `Predictor.load`; ``mixed_precision="auto"`` reads in bf16 where the chip
    multiplies it natively (fp16 on an older GPU), as training's "auto" does."""
    return Predictor.load(path, device, mixed_precision=mixed_precision)
