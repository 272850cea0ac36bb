"""Token tagging (NER) on the tiny model: CoNLL reading, IOB1 -> IOB2, first-sub-word labels,
entity-level metrics against seqeval, entity spans with character offsets in raw text, the
transformers token-classification pipeline, and bad input in one line."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from conftest import NEUTRAL

import ktnb
from ktnb.batching import IGNORED_LABEL
from ktnb.tasks.tagging import TaggingReport, entity_spans, read_conll, split_words, tagged_data, to_iob2

NAMES = ["anna", "paul", "marie"]
PLACES = ["paris", "london", "rome"]


def one_line(kind, call) -> str:
    with pytest.raises(kind) as caught:
        call()
    assert "\n" not in str(caught.value)
    return str(caught.value)


def tagged_sentences(n: int, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """Neutral words with a person ("anna", B-PER) and a place ("new paris", B-LOC I-LOC) dropped in."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(NEUTRAL) for _ in range(rng.randint(3, 8))]
        tags = ["O"] * len(words)
        at = rng.randrange(len(words) + 1)
        words[at:at] = [rng.choice(NAMES)]
        tags[at:at] = ["B-PER"]
        at = rng.randrange(len(words) + 1)
        words[at:at] = ["new", rng.choice(PLACES)]
        tags[at:at] = ["B-LOC", "I-LOC"]
        out.append((words, tags))
    return out


def test_conll_files_are_read_with_docstart_and_blank_lines(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP I-PER\n"
                    "Blackburn NNP I-NP I-PER\n")
    words, tags = read_conll(path)
    assert words == [["EU", "rejects"], ["Peter", "Blackburn"]]
    assert tags == [["I-ORG", "O"], ["I-PER", "I-PER"]]
    data = tagged_data(path, val_frac=0)
    assert data.task == "tagging" and data.class_names == ["O", "B-ORG", "B-PER", "I-PER"]  # IOB1 read as IOB2
    assert [[data.class_names[t] for t in s] for s in data.train.labels] == [["B-ORG", "O"], ["B-PER", "I-PER"]]
    assert to_iob2(["I-PER", "I-LOC", "I-LOC", "B-LOC"]) == ["B-PER", "B-LOC", "I-LOC", "B-LOC"]


def test_entity_metrics_agree_with_seqeval_strict_iob2():
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-PER"], ["O", "B-LOC", "I-LOC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "I-PER"], ["O", "B-LOC", "I-LOC"]]
    report = TaggingReport(true, pred, loss=0.2)
    kw = {"mode": "strict", "scheme": IOB2}
    assert report.f1 == pytest.approx(f1_score(true, pred, **kw))
    assert report.precision == pytest.approx(precision_score(true, pred, **kw))
    assert report.recall == pytest.approx(recall_score(true, pred, **kw))
    assert report.per_type()["PER"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert set(report.summary()) == {"val_loss", "val_f1", "val_precision", "val_recall"}
    cm, names = report.type_confusion()
    assert names == ["O", "LOC", "ORG", "PER"] and cm[names.index("LOC"), names.index("ORG")] == 1
    assert TaggingReport(true, [["O"] * len(t) for t in true]).warning.startswith("the model may have collapsed")
    assert entity_spans(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 5)]


def test_words_of_raw_text_keep_their_offsets():
    words, offsets = split_words("Anna's flight to New-York, at 9.30!")
    assert words == ["Anna's", "flight", "to", "New-York", ",", "at", "9.30", "!"]
    assert [("Anna's flight to New-York, at 9.30!")[a:b] for a, b in offsets] == words


@pytest.fixture(scope="module")
def tagger(tiny_model_dir):
    learner = ktnb.text_learner(tagged_sentences(300), str(tiny_model_dir), task="tagging", batch_size=16,
                                progress=False, seed=0)
    learner.fit(3e-3, 5)
    return learner


def test_labels_sit_on_each_word_first_piece(tagger):
    example = tagger.train_ds[0]
    words = tagger.data.train.texts[0]
    firsts = [i for i, w in enumerate(tagger.train_ds.word_ids[0]) if w is not None and
              (i == 0 or tagger.train_ds.word_ids[0][i - 1] != w)]
    assert len(firsts) == len(words)
    assert all(example["labels"][i] != IGNORED_LABEL for i in firsts)
    assert sum(label != IGNORED_LABEL for label in example["labels"]) == len(words)  # specials and later pieces: -100


def test_a_tagger_finds_entities_with_offsets_and_round_trips_through_pipeline(tagger, tmp_path):
    from transformers import pipeline

    report = tagger.evaluate()
    assert report.f1 > 0.9, report
    text = "the story of anna is new rome and paul"
    entities = tagger.predictor().predict(text)
    assert [(e.entity, e.word) for e in entities] == [("PER", "anna"), ("LOC", "new rome"), ("PER", "paul")]
    assert all(text[e.start:e.end] == e.word for e in entities)
    folder = tagger.predictor().save(tmp_path / "ner")
    loaded = ktnb.load_predictor(folder)
    assert loaded.task.name == "tagging" and loaded.predict(text) == entities
    pipe = pipeline("token-classification", model=str(folder), aggregation_strategy="first", device="cpu")
    found = [(g["entity_group"], g["word"], g["start"], g["end"]) for g in pipe(text)]
    assert found == [(e.entity, e.word, e.start, e.end) for e in entities]
    header, rows = loaded.table([text])
    assert header == ["text", "entities"] and rows[0][1] == "anna (PER), new rome (LOC), paul (PER)"


def test_top_losses_and_evaluate_take_tagged_data(tagger):
    frame = tagger.top_losses(2)
    assert list(frame.columns) == ["text", "true", "predicted", "loss"]
    assert isinstance(frame["text"].iloc[0], list)
    test = pd.DataFrame({"tokens": [w for w, _ in tagged_sentences(30, seed=9)],
                         "tags": [t for _, t in tagged_sentences(30, seed=9)]})
    assert tagger.evaluate(test).n == 30
    with pytest.raises(ktnb.LabelError, match="tag 'B-ORG' in evaluation data was not seen in training"):
        tagger.evaluate([(["EU", "rejects"], ["B-ORG", "O"])])


def test_bad_tagged_data_is_one_line(tmp_path):
    assert one_line(ktnb.DataError, lambda: tagged_data([(["a", "b"], ["O"])])) == (
        "training data: sentence 1 has 2 tokens but 1 tags; give one tag per token")
    assert one_line(ktnb.LabelError, lambda: tagged_data([(["Paris"], ["LOCATION"])])) == (
        "training data: tag 'LOCATION' in sentence 1 is not in the IOB scheme; tags are O, B-TYPE or I-TYPE "
        "(IOB1 or IOB2; IOBES and BILOU are read too)")
    empty = tmp_path / "empty.txt"
    empty.write_text("-DOCSTART- -X- O\n\n")
    assert one_line(ktnb.DataError, lambda: tagged_data(empty)) == (
        f"{empty} has no sentences: a CoNLL file has one word and its tag per line")


def test_a_cell_infers_tagging_from_a_conll_file(tiny_model_dir, tmp_path):
    from IPython.testing.globalipapp import get_ipython

    path = tmp_path / "train.conll"
    path.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(*s)) for s in tagged_sentences(200)) + "\n")
    ip = get_ipython()  # the test session's one shell (started here, or by test_magics)
    ip.run_line_magic("load_ext", "ktnb")
    ip.user_ns["tiny"], ip.user_ns["conll"] = str(tiny_model_dir), str(path)
    ip.run_cell_magic("ktrain", "-o ner -q", 'data: "{conll}"\nmodel: "{tiny}"\nbatch_size: 16\nlr: 3e-3\nepochs: 4\n'
                                             "predict: the story of anna in new rome")
    ner = ip.user_ns["ner"]
    assert ner.learner.task.name == "tagging" and ner.config["show"] == ["report", "confusion"]
    assert ner.prediction_header == ["text", "entities"] and "anna (PER)" in ner.predictions[0][1]
    assert np.isfinite(ner.report.f1)


def test_the_entity_view_highlights_by_type_and_escapes_the_text(tagger):
    view = tagger.predictor().highlight("the <b>story</b> of anna is new rome")
    html = view._repr_html_()
    assert '<mark class="ktnb-entity" data-type="PER"' in html and "anna" in html
    assert "&lt;b&gt;story&lt;/b&gt;" in html and "<b>" not in html
    assert 'class="ktnb-entities-png"' in html and view._repr_png_()[:4] == b"\x89PNG"
    with pytest.raises(ktnb.KtnbError, match="highlight needs a token tagger"):
        tagger.predictor().highlight(["two", "texts"])


# ---------------------------------------------------------------- issue 16: word units, offsets, readers


def test_raw_text_is_cut_into_the_words_tagged_data_has():
    """A CoNLL sentence's words joined by spaces come back as those words (the predictor once split
    "C." and "U.S." at their full stops, and tagged '. Harris lbw' as a person)."""
    conll = [["C.", "Harris", "lbw", "b", "M.", "Bevan", "st", "Murray", "0"],
             ["AL-AIN", ",", "United", "Arab", "Emirates", "1996-12-06"],
             ["the", "U.S.", "team", "(", "Stuer-Lauridsen", ")", "won", "1/2", "."],
             ["O'Neill", "'s", "side", ":", "Corp.", "said", "\"", "no", "\"", "!"]]
    for words in conll:
        text = " ".join(words)
        found, offsets = split_words(text)
        assert found == words
        assert [text[a:b] for a, b in offsets] == words
    assert split_words("I met John Smith, who lives in Paris.")[0] == [
        "I", "met", "John", "Smith", ",", "who", "lives", "in", "Paris", "."]
    assert split_words("(in the U.S.)")[0] == ["(", "in", "the", "U.S.", ")"]


def test_invisible_characters_shift_no_span(tagger):
    """A zero-width space or a lone combining accent before an entity once shifted every later
    entity by one word ('lives' and 'in' came back tagged)."""
    plain = "the story of anna is new rome and paul"
    expected = [(e.entity, e.word) for e in tagger.predictor().predict(plain)]
    for prefix in ("\u200b", "\u0301", "\u200b \u200b", " \u0301 "):
        text = prefix + plain
        entities = tagger.predictor().predict(text)
        assert [(e.entity, e.word) for e in entities] == expected, prefix.encode("unicode_escape")
        assert all(text[e.start:e.end] == e.word for e in entities)
    text = "the story of \u200banna\u200b is new rome"
    entities = tagger.predictor().predict(text)
    assert [(e.entity, text[e.start:e.end]) for e in entities] == [("PER", "anna"), ("LOC", "new rome")]


def test_predict_takes_pre_split_words_and_agrees_with_raw_text(tagger):
    words = ["the", "story", "of", "anna", "is", "new", "rome"]
    predictor = tagger.predictor()
    tags = predictor.predict([words])[0]
    assert tags == ["O", "O", "O", "B-PER", "O", "B-LOC", "I-LOC"]
    assert predictor.predict([words, " ".join(words)])[0] == tags  # a list may mix both
    entities = predictor.predict(" ".join(words))
    assert [(e.entity, e.word) for e in entities] == [("PER", "anna"), ("LOC", "new rome")]
    html = predictor.view([words]).html
    assert "anna" in html and "PER" in html
    assert one_line(ktnb.KtnbError, lambda: predictor.predict([["anna", None]])) == (
        "predict: token 2 of sentence 1 is None; every token must be a word: text with no spaces (give each word as "
        "text)")


def test_report_scores_every_word_even_past_max_len_and_with_no_tokens(tiny_model_dir):
    """The report's F1 is the predictor's: a word with no token (a zero-width space) and words past
    the training max_len are scored as the predictor tags them, not dropped or shifted."""
    sentences = tagged_sentences(120, seed=3)
    long_words = [w for w, _ in sentences[:40] for w in w][:60]
    long_tags = [t for _, t in sentences[:40] for t in t][:60]
    learner = ktnb.text_learner(sentences, str(tiny_model_dir), task="tagging", batch_size=16, progress=False,
                                seed=0, max_len=16)
    learner.fit(3e-3, 3)
    test = [(long_words, to_iob2(long_tags)), (["\u200b", "anna", "is", "in", "new", "rome"],
                                                ["O", "B-PER", "O", "O", "B-LOC", "I-LOC"])]
    report = learner.evaluate(test)
    assert len(report.true_tags[0]) == 60 and len(report.true_tags[1]) == 6
    predicted = learner.predictor().predict([w for w, _ in test])
    assert report.predicted_tags == predicted


def test_iobes_and_bilou_tags_are_read_as_iob2():
    data = tagged_data([(["Ann", "Lee", "in", "Paris"], ["B-PER", "E-PER", "O", "S-LOC"]),
                        (["Bob", "in", "New", "York"], ["U-PER", "O", "B-LOC", "L-LOC"])] * 5, val_frac=0)
    assert data.class_names == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert [data.class_names[t] for t in data.train.labels[0]] == ["B-PER", "I-PER", "O", "B-LOC"]


def test_empty_sentences_are_dropped_with_a_warning_and_odd_tokens_are_one_line(tmp_path):
    with pytest.warns(ktnb.KtnbWarning) as caught:
        data = tagged_data([([], []), (["Ann"], ["B-PER"]), (["in"], ["O"])], val_frac=0)
    assert [str(w.message) for w in caught] == ["training data: dropped 1 empty sentence(s)"]
    assert len(data.train) == 2
    assert one_line(ktnb.DataError, lambda: tagged_data([(["Ann", None], ["B-PER", "O"])])) == (
        "training data: token 2 of sentence 1 is None; every token must be a word: text with no spaces (remove it "
        "with its tag)")
    assert one_line(ktnb.DataError, lambda: tagged_data([(["Ann", "New York"], ["B-PER", "B-LOC"])])).startswith(
        "training data: token 2 of sentence 1 is 'New York'")
    frame = pd.DataFrame({"tokens": [["Ann", "runs"], None], "tags": [["B-PER", "O"], ["O"]]})
    assert one_line(ktnb.DataError, lambda: tagged_data(frame)) == (
        "training data: the tokens of sentence 2 is missing, not a list; give each sentence's tokens as a list, one "
        "per word")
    frame = pd.DataFrame({"tokens": [["Ann", "runs"], "Bob runs"], "tags": [["B-PER", "O"], ["B-PER", "O"]]})
    assert "the tokens of sentence 2 is a string, not a list" in one_line(ktnb.DataError, lambda: tagged_data(frame))


def test_a_latin1_conll_file_is_one_line(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Ann B-PER\nlives O\nin O\nK\xf6ln B-LOC\n".encode("latin-1"))
    assert one_line(ktnb.DataError, lambda: tagged_data(path)) == (
        "latin.txt is not utf-8 text (byte 0xf6 on line 4); pass encoding='latin-1' (or the file's encoding)")
    data = tagged_data(path, encoding="latin-1", val_frac=0)
    assert data.train.texts[0][-1] == "K\xf6ln"


def test_a_tag_seen_only_in_validation_data_is_a_warning():
    train = [(["Ann", "runs"], ["B-PER", "O"])] * 4
    with pytest.warns(ktnb.KtnbWarning) as caught:
        data = tagged_data(train, [(["EU", "runs"], ["B-ORG", "O"])])
    assert [str(w.message) for w in caught] == [
        "1 tag(s) occur only in the validation data, never in the training data: B-ORG; the model cannot learn "
        "them (use more training sentences, or fix the tags)"]
    assert "B-ORG" in data.class_names


def test_each_entity_is_explained_by_the_words_that_made_it(tagger):
    pytest.importorskip("captum")
    from ktnb.explain import Explanations

    predictor = tagger.predictor()
    text = "anna went to new rome on the day"
    entities = predictor.predict(text)
    found = predictor.explain(text)
    assert isinstance(found, Explanations)
    assert [e.label for e in found] == [f"{e.entity} {e.word!r}" for e in entities] == ["PER 'anna'", "LOC 'new rome'"]
    for explanation, entity in zip(found, entities):
        assert explanation.value == pytest.approx(entity.score, abs=1e-4)  # the entity's score in predict
        assert [w for w, _ in explanation.word_scores()] == text.split()
        assert abs(explanation.delta) < 0.05
    assert found[0].top(1)[0][0] == "anna"
    assert {w for w, _ in found[1].top(2)} & {"new", "rome"}
    assert [e.label for e in predictor.explain(text, target="LOC")] == ["LOC 'new rome'"]
    assert [e.label for e in predictor.explain([["anna", "went", "home"]])[0]] == ["PER 'anna'"]
    nothing = predictor.explain("went on the day")
    assert nothing == [] and "finds no entity" in nothing._repr_html_()
    with pytest.raises(ktnb.KtnbError, match="names no entity the model finds.*PER 'anna'"):
        predictor.explain(text, target="ORG")
