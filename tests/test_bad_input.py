"""Mistakes a user makes from Python, as a careful newcomer or a hostile tester would: each gives
a one-line error naming what to fix, and none silently trains on, predicts from or keeps
something wrong. The notebook-layer cases are in test_magics.py, saving and loading in
test_storage.py, random inputs in test_properties.py."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import ktnb

from conftest import one_line, sentiment_texts


# ---------------------------------------------------------------- divergence


def test_a_divergence_puts_weights_and_optimizer_back_so_the_next_fit_trains(tiny_learner):
    tiny_learner.fit(1e-3, 1)
    ended = []
    tiny_learner.fit(1e6, 1, callbacks=[ended.append])
    assert tiny_learner.stop_reason == "diverged"
    assert ended[-1].message.startswith("the loss diverged (nan/inf) at lr ")
    assert ended[-1].message.endswith("in epoch 1: no epoch had been validated, so the weights and optimizer from "
                                      "before this fit were restored; try a lower learning rate")
    state = tiny_learner._optimizer.state_dict()["state"]
    assert all(torch.isfinite(t).all() for s in state.values() for t in s.values() if torch.is_tensor(t))
    tiny_learner.fit(1e-3, 1)
    assert tiny_learner.stop_reason == "finished"
    assert all(math.isfinite(loss) for loss in tiny_learner.history["loss"][-5:])


def test_a_divergence_on_a_fresh_learner_leaves_it_predicting(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False)
    before = {k: v.clone() for k, v in learner.model.state_dict().items()}
    learner.fit(1e6, 1)
    assert learner.stop_reason == "diverged"
    assert all(torch.equal(before[k], v) for k, v in learner.model.state_dict().items())
    assert np.isfinite(learner.predictor().predict_proba(["a good film", "a bad film"])).all()
    assert math.isfinite(learner.evaluate().loss)


def test_a_divergence_after_a_validated_epoch_restores_that_epoch(tiny_learner):
    class Explode(ktnb.Callback):
        def on_batch_end(self, event):
            if event.epoch == 1 and event.batch == 2:
                for p in event.learner.model.parameters():
                    p.data.fill_(float("nan"))

    ended = []
    tiny_learner.fit(3e-3, 3, callbacks=[Explode(), ended.append])
    assert tiny_learner.stop_reason == "diverged"
    assert "restored the best weights of this run (epoch 1, val_loss" in ended[-1].message
    assert ended[-1].message.endswith(") and their optimizer state; try a lower learning rate")
    assert tiny_learner._weights_finite()
    assert tiny_learner.evaluate().loss == pytest.approx(tiny_learner.best["value"], rel=1e-5)


# ---------------------------------------------------------------- labels


def test_integer_and_string_labels_are_one_set_of_classes():
    texts, labels = sentiment_texts(40)
    ids = [1 if label == "pos" else 0 for label in labels]
    data = ktnb.texts_from_array(texts + texts, ids + [str(i) for i in ids], val_frac=0)
    assert data.class_names == ["0", "1"] and sorted(set(data.train.labels)) == [0, 1]


def test_integer_labels_sort_as_numbers():
    data = ktnb.texts_from_array(["a", "b", "c", "d"] * 3, [10, 2, 1, 2] * 3, val_frac=0)
    assert data.class_names == ["1", "2", "10"]


def test_a_numeric_label_column_with_gaps_keeps_integer_class_names(tiny_learner, tiny_model_dir):
    texts, labels = sentiment_texts(60)
    ids = [1 if label == "pos" else 0 for label in labels]
    ids[5] = np.nan  # pandas makes the column float: 0.0, 1.0, nan
    df = pd.DataFrame({"text": texts, "label": ids})
    with warnings.catch_warnings(record=True):
        data = ktnb.texts_from_df(df)
    assert data.class_names == ["0", "1"]
    learner = ktnb.text_classifier(data, str(tiny_model_dir), progress=False)
    assert learner.evaluate((["a good film"], ["0"])).n == 1
    assert learner.evaluate((["a good film"], [0])).n == 1


@pytest.mark.parametrize("class_names, message", [
    (["a", "a", "b"], "class_names has 'a' twice; each name must appear once"),
    ("neg", "class_names must be a list of names, e.g. [neg, pos], got 'neg'"),
    (["pos", ""], "class_names has an empty name; every name must be non-empty"),
])
def test_bad_class_names(class_names, message):
    texts, labels = sentiment_texts(20)
    assert one_line(ktnb.LabelError, lambda: ktnb.texts_from_array(texts, labels, class_names=class_names)) == message


def test_evaluation_data_with_more_texts_than_labels(tiny_learner):
    message = one_line(ktnb.DataError, lambda: tiny_learner.evaluate((["a", "b", "c"], ["pos", "neg"])))
    assert message == "evaluation data: 3 texts but 2 labels; they must be the same length"


def test_a_list_as_a_label_is_refused():
    message = one_line(ktnb.LabelError, lambda: ktnb.texts_from_array(["a", "b"], [["x", "y"], ["x"]], val_frac=0))
    assert message.startswith("a label in training data is a list (['x', 'y']); a text classifier takes one label")


def test_max_train_from_label_sorted_data_says_why_there_is_one_class():
    texts, labels = sentiment_texts(40)
    order = np.argsort(labels)
    df = pd.DataFrame({"text": np.asarray(texts)[order], "label": np.asarray(labels)[order]})
    assert one_line(ktnb.LabelError, lambda: ktnb.texts_from_df(df, max_train=10)) == (
        "the first 10 rows of DataFrame (max_train) hold only one class ('neg'); is the data sorted by label? "
        "Shuffle it or raise max_train")


# ---------------------------------------------------------------- raw exceptions that became one line


@pytest.mark.parametrize("settings, message", [
    ({"max_len": "32"}, "max_len must be a whole number between 8 and 128 (this model's limit), got '32'"),
    ({"max_len": 2}, "max_len must be a whole number between 8 and 128 (this model's limit), got 2"),
    ({"batch_size": "32"}, "batch_size must be a whole number of at least 1, got '32'"),
    ({"batch_size": 8.5}, "batch_size must be a whole number of at least 1, got 8.5"),
    ({"grad_accum": "2"}, "grad_accum must be a whole number of at least 1, got '2'"),
    ({"eval_batch_size": 0}, "eval_batch_size must be a whole number of at least 1, got 0"),
    ({"weight_decay": -1}, "weight_decay must be a number of at least 0, got -1"),
    ({"seed": "7"}, "seed must be a whole number of at least 0, got '7'"),
    ({"monitor": "val_acc"}, "monitor 'val_acc' is not a validation metric; choose one of: val_loss, val_accuracy, "
                             "val_f1_macro (or track your own with metrics=[ktnb.Metric(name, fn)])"),
    ({"callbacks": ["print"]}, "callbacks must be callables taking an Event (or ktnb.Callback objects)"),
    ({"max_train": 500}, "max_train is an option of the data readers, not of the learner: read the data with it first "
                         "(e.g. data = ktnb.texts_from_csv(..., max_train=...)) and pass that data"),
    ({"batchsize": 8}, "text_learner has no setting 'batchsize'; did you mean 'batch_size'? it takes max_len, "
                       "batch_size, eval_batch_size, device, mixed_precision, grad_accum, clip_grad, weight_decay, "
                       "seed, monitor, callbacks, progress, checkpoint_dir, checkpoint_every, metrics, lora"),
])
def test_bad_learner_settings(tiny_model_dir, sentiment_data, settings, message):
    call = lambda: ktnb.text_classifier(sentiment_data, str(tiny_model_dir), progress=False, **settings)  # noqa: E731
    assert one_line(ktnb.TrainingError, call) == message


@pytest.mark.parametrize("call, message", [
    (lambda L: L.fit(1e-3, 2.7), "epochs must be a whole number of at least 1, got 2.7"),
    (lambda L: L.fit("1e-3", 1), "lr must be a positive number, got '1e-3'"),
    (lambda L: L.fit(float("nan"), 1), "lr must be a positive number, got nan"),
    (lambda L: L.lr_find(start_lr=0), "start_lr must be a positive number, got 0"),
    (lambda L: L.lr_find(start_lr=1, end_lr=1e-5), "lr_find sweeps upwards: start_lr (1) must be below end_lr (1e-05)"),
    (lambda L: L.lr_find(max_batches=0), "max_batches must be a whole number of at least 2, got 0"),
    (lambda L: L.top_losses(-1), "n must be a whole number of at least 1, got -1"),
    (lambda L: L.predictor().predict(None), "predict needs a text or a list of texts, got None"),
    (lambda L: L.predictor().predict([None, b"x"]), "predict: item 0 is None (NoneType), not a text; give strings only"),
    (lambda L: L.predictor().predict(["fine", float("nan")]),
     "predict: item 1 is nan (float), not a text; give strings only"),
    (lambda L: L.predictor().predict_proba(b"bytes"), "predict_proba needs a text or a list of texts, got b'bytes'"),
])
def test_bad_calls_on_a_learner(tiny_learner, call, message):
    assert one_line(ktnb.KtnbError, lambda: call(tiny_learner)) == message


def test_lr_find_sends_train_end_when_it_fails(tiny_learner):
    def crash(event):
        if event.name == "batch_end" and event.batch == 3:
            raise RuntimeError("boom")

    seen = []
    with pytest.raises(RuntimeError, match="boom"):
        tiny_learner.lr_find(callbacks=[crash, seen.append])
    assert seen[-1].name == "train_end" and seen[-1].reason == "error"


@pytest.mark.parametrize("call, error, message", [
    (lambda: ktnb.texts_from_array(None, None), ktnb.DataError,
     "training data: texts must be a list (or column) of values, got NoneType"),
    (lambda: ktnb.texts_from_array("a text", "pos"), ktnb.DataError,
     "training data: texts must be a list (or column) of values, got str"),
    (lambda: ktnb.texts_from_df(pd.DataFrame([["a", "b", "pos"]] * 4, columns=["text", "text", "label"])),
     ktnb.DataError, "DataFrame has more than one column named 'text'; rename them so that each is unique"),
    (lambda: ktnb.texts_from_df(pd.DataFrame({"text": ["a", "b"] * 4}), label_col="text"), ktnb.DataError,
     "text_col and label_col are both 'text'; name two different columns"),
    (lambda: ktnb.texts_from_array(["a", "b"] * 4, [0, 1] * 4, max_train=-5), ktnb.DataError,
     "max_train must be a whole number of at least 1, got -5"),
    (lambda: ktnb.texts_from_array(["a", "b"] * 4, [0, 1] * 4, max_train=0), ktnb.DataError,
     "max_train must be a whole number of at least 1, got 0"),
    (lambda: ktnb.texts_from_array(["a", "b"] * 4, [0, 1] * 4, val_frac="0.2"), ktnb.DataError,
     "val_frac must be a number of at least 0, got '0.2'"),
])
def test_bad_data(call, error, message):
    assert one_line(error, call) == message


def test_max_train_means_the_first_rows_of_every_source(tmp_path):
    texts, labels = sentiment_texts(100)
    df = pd.DataFrame({"text": texts, "label": labels})
    df.to_csv(tmp_path / "reviews.csv", index=False)
    for source in (df, tmp_path / "reviews.csv", (texts, labels)):
        data = ktnb.load_texts(source, max_train=50, val_frac=0.2)
        assert len(data.train) + len(data.val) == 50
        assert set(data.train.texts + data.val.texts) == set(texts[:50])


def test_a_tsv_file_named_csv(tmp_path):
    texts, labels = sentiment_texts(40)
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, sep="\t", index=False)
    assert one_line(ktnb.DataError, lambda: ktnb.texts_from_csv(path)) == (
        f"{path} reads as one column 'text\\tlabel': it looks tab-separated; pass sep='\\t'")
    assert ktnb.texts_from_csv(path, sep="\t").class_names == ["neg", "pos"]


def test_a_latin_1_file(tmp_path):
    texts, labels = sentiment_texts(40)
    path = tmp_path / "reviews.csv"
    path.write_bytes(("text,label\n" + "\n".join(f"café {t},{label}" for t, label in zip(texts, labels)))
                     .encode("latin-1"))
    assert one_line(ktnb.DataError, lambda: ktnb.texts_from_csv(path)) == (
        f"{path} is not utf-8 text (byte 0xe9 on line 2); pass encoding='latin-1' (or the file's encoding)")
    data = ktnb.texts_from_csv(path, encoding="latin-1", val_frac=0)
    assert data.train.texts[0].startswith("café")


def test_an_empty_model_name(sentiment_data):
    assert one_line(ktnb.ModelError, lambda: ktnb.text_classifier(sentiment_data, "")) == (
        "model is an empty name; give a hub name, a model folder, or None for the default")


def test_a_model_folder_without_a_tokenizer(tiny_model_dir, sentiment_data, tmp_path):
    import shutil

    folder = tmp_path / "weights-only"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_model_dir / name, folder / name)
    assert one_line(ktnb.ModelError, lambda: ktnb.text_classifier(sentiment_data, str(folder))) == (
        f"{folder} has no tokenizer files (tokenizer.json, vocab.txt, vocab.json, ...): is it a text model? Save the "
        "tokenizer beside the weights (tokenizer.save_pretrained)")


@pytest.fixture(scope="module")
def tiny_causal_lm(tiny_model_dir, tmp_path_factory):
    """A 2-layer Llama whose tokenizer has an end-of-text token but no padding token."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.pad_token, tokenizer.eos_token = None, "[SEP]"
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_causal_lm_without_a_pad_token_pads_with_end_of_text(tiny_causal_lm, sentiment_data, tmp_path):
    from transformers import pipeline

    learner = ktnb.text_classifier(sentiment_data, str(tiny_causal_lm), batch_size=16, progress=False)
    assert learner.tokenizer.pad_token == "[SEP]" and learner.model.config.pad_token_id == learner.tokenizer.eos_token_id
    learner.fit(3e-3, 1)
    folder = learner.predictor().save(tmp_path / "llama-classifier")
    texts = ["a wonderful film", "a dull mess"]
    pipe = pipeline("text-classification", model=str(folder), device="cpu")
    assert [o["label"] for o in pipe(texts)] == ktnb.load_predictor(folder).predict(texts)


def test_a_tokenizer_with_neither_pad_nor_end_of_text_token(tiny_causal_lm, sentiment_data, tmp_path):
    import shutil

    from transformers import AutoTokenizer

    folder = tmp_path / "no-eos"
    shutil.copytree(tiny_causal_lm, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.eos_token = None
    tokenizer.save_pretrained(folder)
    assert one_line(ktnb.ModelError, lambda: ktnb.text_classifier(sentiment_data, str(folder))) == (
        "the tokenizer has no padding token and no end-of-text token to pad with; set tokenizer.pad_token before "
        "training")


# ---------------------------------------------------------------- pictures of user text


def test_dollar_signs_in_class_names_are_drawn_literally(tiny_model_dir):
    texts, labels = sentiment_texts(120)
    data = ktnb.texts_from_array(texts, ["$$$" if label == "pos" else "$" for label in labels], val_frac=0.3)
    learner = ktnb.text_classifier(data, str(tiny_model_dir), batch_size=16, progress=False)
    learner.fit(1e-3, 1)
    report = learner.evaluate()
    from ktnb.render.figures import figure_png

    fig = report.plot_confusion()
    assert figure_png(fig)[:4] == b"\x89PNG"
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["$", "$$$"] and not any(t.get_parse_math() for t in fig.axes[0].get_xticklabels())
    att = learner.attention("costs $5 or $$10")
    assert figure_png(att.plot())[:4] == b"\x89PNG"
    assert "$5" in att.plot().texts[0].get_text()  # the suptitle, unescaped
    assert figure_png(learner.history.plot())[:4] == b"\x89PNG"


@pytest.mark.parametrize("call, message", [
    (lambda L: L.autofit(1e-3, max_epochs=0), "max_epochs must be a whole number of at least 1, got 0"),
    (lambda L: L.autofit(1e-3, patience=1.5), "patience must be a whole number of at least 1, got 1.5"),
    (lambda L: L.autofit(1e-3, reduce_factor=2), "reduce_factor must be a number in (0, 1], got 2"),
    (lambda L: L.autofit(1e-3, monitor="accuracy"), "monitor 'accuracy' is not a validation metric; choose one of: "
                                                     "val_loss, val_accuracy, val_f1_macro (or track your own with "
                                                     "metrics=[ktnb.Metric(name, fn)])"),
    (lambda L: L.fit(1e-3, 1, warmup=1.5), "warmup is the fraction of training spent warming up, in [0, 1), got 1.5"),
    (lambda L: L.predictor(batch_size=0), "batch_size must be a whole number of at least 1, got 0"),
])
def test_more_bad_calls(tiny_learner, call, message):
    assert one_line(ktnb.KtnbError, lambda: call(tiny_learner)) == message


def test_folder_classes_must_be_a_list(tmp_path):
    for cls in ("pos", "neg"):
        (tmp_path / cls).mkdir()
        (tmp_path / cls / "1.txt").write_text(f"a {cls} text")
    assert one_line(ktnb.DataError, lambda: ktnb.texts_from_folder(tmp_path, classes="pos")) == (
        "classes must be a list of names, e.g. [neg, pos], got 'pos'")


def test_a_blank_label_is_a_missing_label_not_a_class():
    texts, labels = sentiment_texts(20)
    labels[3] = "  "
    with pytest.warns(UserWarning, match="dropped 1 row.s. with an empty text or an empty or missing label"):
        data = ktnb.texts_from_array(texts, labels, val_frac=0)
    assert data.class_names == ["neg", "pos"] and len(data.train) == 19


def test_log_axes_label_their_ticks_in_plain_text():
    """With math mode off for user text, the LR finder's log axis must not show "$\\mathdefault{10^{-4}}$"."""
    from ktnb.render.figures import figure_png, lr_finder_figure

    lrs = np.logspace(-7, 0, 50)
    fig = lr_finder_figure(lrs, np.linspace(0.7, 3.0, 50), {"fine_tune": 1e-4}, chosen="fine_tune")
    figure_png(fig)
    labels = [t.get_text().replace("\u2212", "-") for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert "1e-04" in labels and not any("$" in label or "mathdefault" in label for label in labels)
