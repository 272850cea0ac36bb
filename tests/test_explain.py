"""Word attributions (`predictor.explain`): integrated gradients add up to the output's change,
sub-words are summed into words, pairs, multi-label and regression outputs, the view escaped,
and every bad input in one line. The faithfulness check on real data is in test_real_model.py."""

from __future__ import annotations

import sys

import pytest
from conftest import one_line, sentiment_texts

import ktnb
from ktnb.errors import KtnbError, ModelError


@pytest.fixture(scope="module")
def classifier(tiny_model_dir):
    texts, labels = sentiment_texts(320, seed=2)
    learner = ktnb.text_classifier((texts, labels), str(tiny_model_dir), batch_size=16, progress=False, seed=0)
    learner.fit(3e-3, 4)
    return learner


def test_integrated_gradients_add_up_to_the_change_from_the_baseline(classifier):
    import torch

    predictor = classifier.predictor()
    text = "a wonderful and moving film with superb actors"
    found = predictor.explain(text)
    assert found.label == found.predicted == predictor.predict(text)
    assert found.value == pytest.approx(float(predictor.predict_proba(text).max()), abs=1e-5)
    assert [w for w, _ in found.word_scores()] == text.split()
    # the attributions of the words and of the special tokens add up to f(input) - f(baseline)
    tokenizer, model = predictor.tokenizer, predictor.model
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    special = torch.tensor(tokenizer.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True)).bool()
    baseline = torch.where(special, ids[0], torch.full_like(ids[0], tokenizer.pad_token_id))[None]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        start = model(input_ids=baseline, attention_mask=torch.ones_like(baseline)).logits.softmax(-1)
    model.train(was_training)
    index = classifier.class_names.index(found.label)
    change = found.value - float(start[0, index])
    assert abs(found.delta) < 0.05 * abs(change) + 1e-4, (found.delta, change)
    assert sum(s for _, s in found.word_scores()) == pytest.approx(change, abs=0.1 * abs(change) + 1e-3)
    positive = predictor.explain("a superb and wonderful story", target="pos")
    assert positive.label == "pos" and positive.top(1)[0][0] in ("superb", "wonderful")
    assert dict(positive.word_scores())["superb"] > 0


def test_words_are_the_sum_of_their_sub_words_and_pairs_show_both_texts(classifier):
    import numpy as np
    from transformers import AutoTokenizer

    from ktnb.explain import _words, tokenize_texts
    from ktnb.models import offline_default_dir

    if offline_default_dir() is None:
        pytest.skip("needs the offline MiniLM tokenizer (word pieces)")
    tokenizer = AutoTokenizer.from_pretrained(offline_default_dir())
    text = "Unbelievably, the café was überfüllt"
    prepared = tokenize_texts(tokenizer, (text, "second text"), 64)
    enc = prepared.extra
    scores = np.arange(len(enc["input_ids"][0]), dtype=float)
    words = _words(prepared.words[0], scores)
    assert [text[s:e] for t, s, e, _ in words if t == 0] == ["Unbelievably", ",", "the", "café", "was", "überfüllt"]
    pieces = [i for i, w in enumerate(enc.word_ids(0)) if w == 0 and enc.sequence_ids(0)[i] == 0]
    assert len(pieces) > 1 and words[0][3] == sum(scores[pieces])
    assert [(t, "second text"[s:e]) for t, s, e, _ in words if t == 1] == [(1, "second"), (1, "text")]


def test_pairs_regression_and_multilabel_are_explained(tiny_model_dir):
    texts, _ = sentiment_texts(120, seed=4)
    scores = [float(len(t.split()) % 5) for t in texts]
    pairs = ktnb.text_learner((list(zip(texts, texts[::-1])), scores), str(tiny_model_dir), task="regression",
                              batch_size=16, progress=False)
    found = pairs.explain(("the film was good", "a dull plot"))
    assert found.value_name == "value" and {t for t, *_ in found.words} == {0, 1}
    assert found.value == pytest.approx(pairs.predictor().predict(("the film was good", "a dull plot")), abs=1e-5)
    assert "leave target out" in one_line(KtnbError, lambda: pairs.explain(("a", "b"), target="joy"))
    labels = [["joy"] if "good" in t or "great" in t else ["anger"] for t in texts]
    multi = ktnb.text_learner((texts, labels), str(tiny_model_dir), task="multilabel", batch_size=16, progress=False)
    joy = multi.explain("a great film", target="joy")
    assert joy.label == "joy" and joy.value == pytest.approx(float(multi.predictor().predict_proba("a great film")[
        multi.class_names.index("joy")]), abs=1e-5)


def test_the_view_is_escaped_with_a_picture_inside(classifier):
    found = classifier.explain("<b>great</b> film & a dull <script>x</script>", method="gradient_x_input")
    html = found._repr_html_()
    # "<", "b" and ">" are words of their own (each shaded), every one escaped
    assert "<b>" not in html and "<script>" not in html and html.count("&lt;") >= 3
    assert html.count('class="ktnb-word"') == len(found.words) and "data:image/png;base64," in html
    assert found.delta is None and "gradient x input" in found.headline
    assert found._repr_png_()[:4] == b"\x89PNG"
    two = classifier.explain(["a great film", "a dull film"])
    assert len(two) == 2 and two[1].label == classifier.predictor().predict("a dull film")


def test_bad_input_is_one_line(classifier, tiny_model_dir, monkeypatch):
    predictor = classifier.predictor()
    assert "not one of this model's classes: neg, pos" in one_line(KtnbError, lambda: predictor.explain(
        "a film", target="joy"))
    assert "text 1 is empty" in one_line(KtnbError, lambda: predictor.explain(["a film", "  "]))
    assert "unknown method" in one_line(KtnbError, lambda: predictor.explain("a film", method="lime"))
    monkeypatch.setattr(predictor.model, "get_input_embeddings", lambda: (_ for _ in ()).throw(NotImplementedError))
    assert "bert model does not say" in one_line(ModelError, lambda: predictor.explain("a film"))
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "captum", None)
    monkeypatch.setitem(sys.modules, "captum.attr", None)
    assert "pip install 'ktnb[explain]'" in one_line(KtnbError, lambda: predictor.explain("a film"))


def test_ktrain_explain_shows_the_shaded_text(classifier, monkeypatch):
    from conftest import shell_with_session

    shell, shown = shell_with_session("explained", classifier, monkeypatch)
    shell.run_line_magic("ktrain", '-s explained explain "a superb film" pos')
    session = shell.user_ns["explained"]
    assert session.explanation.label == "pos" and 'class="ktnb-word"' in shown[0].data
    shell.run_line_magic("ktrain", "-s explained show explain")  # shown again
    assert len(shown) == 2 and shown[1].data == shown[0].data
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="LAYER must be a whole number from 1 to 2, or rollout, got 'Rollout'"):
        shell.run_line_magic("ktrain", '-s explained attention "a film" Rollout')


def test_the_panels_explain_tab_shades_the_text_toward_a_chosen_class(classifier):
    from ktnb.jupyter.panel import TAB_TITLES, Panel

    panel = Panel(learner=classifier)
    assert panel.tabs.get_title(TAB_TITLES.index("Explain")) == "Explain"
    assert list(panel.explain_target.options) == ["neg", "pos"] and not panel.explain_button.disabled
    panel.explain_button.click()
    assert panel.explain_status.value == "type a text first"
    panel.explain_text.value, panel.explain_target.value = "a <i>superb</i> film", "pos"
    panel.explain_button.click()
    panel.wait(60)
    assert panel.explanation.label == "pos" and "&lt;" in panel.explain_view.value
    assert "<i>" not in panel.explain_view.value
    panel.explain_target.value = "joy"
    panel.explain_button.click()
    panel.wait(60)
    assert "not one of this model&#x27;s classes: neg, pos" in panel.explain_status.value


def test_each_use_of_a_trained_model_runs_in_the_precision_it_asks_for(tiny_model_dir, tmp_path):
    """accelerate's autocast wrapper is off the model after training: the training step and the
    learner's predictor run in the learner's bf16, explanations and attention in the weights'
    fp32, and a predictor loaded from its folder in fp32 unless asked."""
    import torch

    texts, labels = sentiment_texts(64, seed=5)
    learner = ktnb.text_classifier((texts, labels), str(tiny_model_dir), batch_size=16, progress=False,
                                   mixed_precision="bf16")
    seen = []
    first_layer = learner.model.bert.encoder.layer[0].attention.self.query
    first_layer.register_forward_hook(lambda module, args, out: seen.append(out.dtype))

    def dtypes(call):
        seen.clear()
        call()
        return set(seen)

    assert dtypes(lambda: learner.fit(1e-3, 1)) == {torch.bfloat16}  # training and its validation
    assert "_original_forward" not in vars(learner.model)
    assert dtypes(lambda: learner.predictor().predict("a fine film")) == {torch.bfloat16}
    assert dtypes(lambda: learner.explain("a fine film")) == {torch.float32}
    assert dtypes(lambda: learner.attention("a fine film")) == {torch.float32}
    folder = learner.predictor().save(tmp_path / "bf16-trained")
    loaded = ktnb.load_predictor(folder)
    loaded.model.bert.encoder.layer[0].attention.self.query.register_forward_hook(
        lambda module, args, out: seen.append(out.dtype))
    assert dtypes(lambda: loaded.predict("a fine film")) == {torch.float32}
    assert dtypes(lambda: learner.fit(1e-3, 1)) == {torch.bfloat16}


def test_what_a_hostile_reader_found_in_explanations(classifier, tiny_model_dir):
    """Each bug a hostile review of explanations found, kept found."""
    from conftest import sentiment_texts as texts_of

    predictor = classifier.predictor()
    # a word the vocabulary lacks ([UNK]) is a word: attributed, and not hidden as a special token
    found = predictor.explain("a \U0001F600 film")
    assert predictor.tokenizer.convert_ids_to_tokens(predictor.tokenizer("\U0001F600")["input_ids"])[1] == "[UNK]"
    assert dict(found.word_scores())["\U0001F600"] != 0.0
    assert classifier.attention("a \U0001F600 film").special == (0, 4)  # [CLS] and [SEP] only
    # a class named by a number is that class, not the class at that index
    texts, _ = texts_of(96, seed=6)
    numbered = ktnb.text_classifier((texts, [1 + i % 3 for i in range(len(texts))]), str(tiny_model_dir),
                                    batch_size=16, progress=False)
    assert numbered.class_names == ["1", "2", "3"]
    assert numbered.explain("a film", target=1).label == "1" and numbered.explain("a film", target=3).label == "3"
    # a multi-label explanation says what predict says, threshold and all
    labels = [["joy"] if "good" in t or "great" in t else ["anger"] for t in texts]
    multi = ktnb.text_learner((texts, labels), str(tiny_model_dir), task="multilabel", batch_size=16, progress=False)
    strict = multi.predictor()
    strict.settings["threshold"] = 0.999
    assert strict.predict("a great film") == [] and "the model predicts no label" in strict.explain(
        "a great film").headline
    # regression: one output, no target to offer, no "the model predicts" repeating the value
    scorer = ktnb.text_learner((texts, [float(len(t.split())) for t in texts]), str(tiny_model_dir),
                               task="regression", batch_size=16, progress=False)
    assert scorer.task.explanation_choices(scorer.class_names) == []
    assert "predicts" not in scorer.explain("a film").headline
    # an attention layer or head that is not there is one line
    att = classifier.attention("a film")
    assert "or 'rollout', got 'Rollout'" in one_line(KtnbError, lambda: att.select("Rollout"))
    assert "layer must be a whole number from 0 to 1" in one_line(KtnbError, lambda: att.select(5))
    assert "head must be a whole number from 0 to 1" in one_line(KtnbError, lambda: att.to_html(-1, 7))
    assert "leave head out" in one_line(KtnbError, lambda: att.plot("rollout", 0))


def test_the_panel_forgets_a_target_the_new_model_does_not_have(classifier, tiny_model_dir):
    from ktnb.jupyter.panel import Panel

    panel = Panel(learner=classifier)
    panel.explain_target.value = "pos"
    texts, _ = sentiment_texts(64, seed=8)
    panel.learner = ktnb.text_learner((texts, [float(len(t)) for t in texts]), str(tiny_model_dir),
                                      task="regression", batch_size=16, progress=False)
    panel._sync()
    assert panel.explain_target.value == "" and panel.explain_target.layout.display == "none"
