"""The widget panel, driven through its buttons and traits as a user would."""

from __future__ import annotations

import time

import pandas as pd
import pytest

import ktnb
from ktnb.jupyter.panel import TAB_TITLES, Panel

from conftest import sentiment_texts


@pytest.fixture
def panel(tiny_learner):
    return Panel(learner=tiny_learner)


def wait_until(condition, timeout=60.0):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.01)


def test_tabs_and_initial_state():
    empty = Panel()
    assert [empty.tabs.get_title(i) for i in range(7)] == list(TAB_TITLES) and TAB_TITLES[-1] == "Explain"
    assert empty.start_button.disabled and empty.stop_button.disabled and not empty.load_button.disabled
    empty.predict_button.disabled = False
    empty.text.value = "hello"
    empty.predict_button.click()  # no learner yet: the panel says so instead of failing
    assert "load the data and a model in the Data tab first" in empty.predictions.value


def test_data_tab_loads_a_csv_and_offers_its_columns(tmp_path, tiny_model_dir):
    texts, labels = sentiment_texts(200, seed=4)
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"body": texts, "stars": labels}).to_csv(path, index=False)
    panel = Panel(data=str(path), model=str(tiny_model_dir))
    assert list(panel.text_col.options) == ["body", "stars"]
    panel.text_col.value, panel.label_col.value = "body", "stars"
    panel.load_button.click()
    assert panel.learner is not None and panel.learner.class_names == ["neg", "pos"]
    assert "class counts" in panel.data_status.value and "<td" in panel.data_status.value
    assert not panel.start_button.disabled
    assert panel.epochs.value == panel.learner.auto_epochs() == 10  # 180 rows at batch 32: 6 steps an epoch


def test_data_tab_error_shows_in_the_panel(tmp_path):
    panel = Panel(data=str(tmp_path / "missing.csv"))
    panel.load_button.click()
    assert "file not found" in panel.data_status.value and panel.learner is None


def test_start_trains_in_the_background_with_live_updates(panel):
    panel.lr.value, panel.epochs.value = 3e-3, 4
    curves = []
    panel.live_curve.observe(lambda change: curves.append(change["new"]), names="value")
    panel.start_button.click()
    assert panel.thread.is_alive() and panel.start_button.disabled and not panel.stop_button.disabled
    panel.wait(120)
    assert panel.progress.value == panel.progress.max == 4 * len(panel.learner._train_dl)
    assert panel.epoch_table.value.count("<tr>") == 1 + 4
    # while it trained: the curve as SVG text, growing; at the end the picture that stays, as a PNG
    drawn = [c for c in curves if "<polyline" in c]
    assert drawn and drawn[-1].count("<circle") == 4 and len(drawn[-1]) > len(drawn[0])
    assert panel.live_plot.value[:4] == b"\x89PNG" and panel.live_plot.layout.display == ""
    assert panel.live_curve.layout.display == "none"
    assert [e.name for e in panel.events].count("epoch_end") == 4
    assert not panel.start_button.disabled and panel.stop_button.disabled
    panel.eval_button.click()
    panel.wait(60)
    assert "accuracy" in panel.report_html.value and panel.confusion.value[:4] == b"\x89PNG"
    assert panel.report.accuracy >= 0.9


def test_stop_mid_epoch_keeps_a_usable_learner_and_rerun_works(panel):
    panel.lr.value, panel.epochs.value = 3e-3, 4
    panel.start_button.click()
    panel.wait(120)  # a first run
    panel.lr.value, panel.epochs.value = 1e-4, 20
    panel.start_button.click()  # a second run: stop it once it has validated an epoch
    wait_until(lambda: sum(e.name == "epoch_end" for e in panel.events) >= 1
               and panel.progress.value > len(panel.learner._train_dl) + 3)
    panel.stop_button.click()
    panel.wait(60)
    assert not panel.thread.is_alive()
    assert panel.progress.value < panel.progress.max
    assert "restored the best weights of this run" in panel.train_status.value
    assert panel.learner.best["epoch"] >= 5  # from the second run, not the first
    assert panel.learner.evaluate().loss == pytest.approx(panel.learner.best["value"], rel=1e-5)
    panel.epochs.value = 1
    panel.start_button.click()  # re-run
    panel.wait(60)
    assert panel.progress.value == panel.progress.max and panel.learner.stop_reason == "finished"


def test_training_error_shows_in_the_panel_and_resets_buttons(panel):
    def explode(event):
        if event.name == "batch_end" and event.batch == 2:
            raise RuntimeError("boom")

    panel.learner.callbacks.append(explode)
    panel.start_button.click()
    panel.wait(60)
    assert "RuntimeError: boom" in panel.train_status.value
    assert not panel.start_button.disabled and panel.stop_button.disabled
    panel.learner.callbacks.remove(explode)


def test_lr_finder_tab(panel):
    panel.lr_button.click()
    panel.wait(60)
    assert panel.lr_plot.value[:4] == b"\x89PNG"
    assert {o[0].split()[0] for o in panel.suggestions.options} == {"fine_tune", "minimum", "steepest", "valley"}
    other = next(name for name in panel.finder.suggestions if name != panel.finder.suggested_by)
    panel.suggestions.value = other
    assert panel.lr.value == pytest.approx(panel.finder.suggestions[other], rel=1e-6)


def test_predict_and_attention_tabs(panel):
    import html

    panel.learner.fit(3e-3, 4)
    panel.text.value = "a wonderful film\nthe plot was a dull mess\n"
    panel.predict_button.click()
    assert panel.predictions.value.count("<tr>") == 3 and "wonderful" in panel.predictions.value
    panel.sentence.value = "a <b>great</b> film"
    panel.attention_button.click()
    view = panel.attention_view.value
    assert view.startswith('<iframe class="ktnb-attention-frame" srcdoc="') and "<b>" not in view
    document = html.unescape(view.split('srcdoc="', 1)[1].split('"', 1)[0])
    assert "<script>" in document and "ktnb-attention-live" in document  # the cell's interactive view
    assert "&lt;" in document and "<b>great" not in document  # the sentence's tags stay text


def test_panel_from_a_workflow_session(tiny_model_dir):
    texts, labels = sentiment_texts(200, seed=5)
    session = ktnb.run_workflow({"data": (texts, labels), "model": str(tiny_model_dir), "lr": 3e-3, "epochs": 1,
                                 "batch_size": 16}, progress=False)
    panel = Panel(session)
    assert panel.learner is session.learner and "class counts" in panel.data_status.value


def test_epochs_count_from_one_and_each_start_is_a_new_run(panel):
    panel.lr.value, panel.epochs.value = 3e-3, 2
    panel.start_button.click()
    panel.wait(120)
    panel.start_button.click()
    panel.wait(120)
    rows = panel.learner.history.epochs
    assert [(r["run"], r["epoch"]) for r in rows] == [(1, 1), (1, 2), (2, 3), (2, 4)]
    table = panel.epoch_table.value
    assert "<th" in table and ">run</th>" in table and ">epoch</th>" in table
    assert panel.learner.history.run_starts()[1][0] == 2
    assert panel.learner.best["epoch"] in (3, 4)  # the best of the second run


def test_progress_says_batches_time_loss_and_validating(panel):
    seen = []
    panel.learner.callbacks.append(lambda e: seen.append(panel.progress_text.value) if e.name == "evaluate" else None)
    panel.lr.value, panel.epochs.value = 1e-3, 1
    panel.start_button.click()
    panel.wait(120)
    assert seen and seen[0].endswith("· validating…")  # shown while the validation set was scored
    final = panel.progress_text.value
    batches = len(panel.learner._train_dl)
    assert final.startswith(f"{batches}/{batches} batches · 0:") and " elapsed · loss " in final
    assert "left" not in final and "validating" not in final


def test_loading_new_data_clears_the_other_tabs(tmp_path, tiny_model_dir):
    texts, labels = sentiment_texts(200, seed=4)
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    panel = Panel(data=str(path), model=str(tiny_model_dir))
    panel.batch_size.value = 16
    panel.load_button.click()
    panel.lr.value = 3e-3
    panel.start_button.click()
    panel.wait(120)
    panel.eval_button.click()
    panel.wait(60)
    panel.sentence.value = "a great film"
    panel.attention_button.click()
    assert panel.epoch_table.value and panel.report_html.value and panel.attention_view.value
    first = panel.learner
    panel.load_button.click()
    assert panel.learner is not first and not panel.learner.history.epochs
    assert panel.epoch_table.value == panel.report_html.value == panel.attention_view.value == ""
    assert panel.live_plot.layout.display == panel.confusion.layout.display == "none"
    assert panel.progress.value == 0 and panel.progress_text.value == ""


def test_the_suggestion_returned_is_the_one_highlighted(panel):
    panel.lr_button.click()
    panel.wait(60)
    finder = panel.finder
    assert panel.suggestions.value == finder.suggested_by
    assert panel.lr.value == pytest.approx(finder.suggestion, rel=1e-6)
    assert panel.suggestions.layout.display == ""
    assert f"suggestion: {finder.suggestion:.2e} ({finder.suggested_by}" in panel.lr_status.value


def test_suggestions_are_hidden_until_the_finder_runs(panel):
    assert panel.suggestions.layout.display == "none" and panel.lr_plot.layout.display == "none"


def test_evaluate_runs_in_the_background_and_says_so(panel):
    panel.eval_button.click()
    assert panel.eval_status.value == "evaluating on the validation set…" or not panel.busy
    panel.wait(60)
    assert "accuracy" in panel.report_html.value and panel.eval_status.value == ""


def test_evaluate_shows_a_report_with_no_pictures_and_says_when_one_fails(panel, monkeypatch):
    learner = panel.learner
    report = learner.evaluate()
    monkeypatch.setattr(type(report), "pictures", lambda self: {})
    panel.eval_button.click()
    panel.wait(60)
    assert not panel.busy and panel.eval_status.value == "" and "accuracy" in panel.report_html.value
    assert panel.confusion.layout.display == "none"

    def no_font(self):
        raise RuntimeError("no font")

    monkeypatch.setattr(type(report), "pictures", no_font)
    panel.eval_button.click()
    panel.wait(60)
    assert not panel.busy and not panel.eval_button.disabled and "RuntimeError: no font" in panel.eval_status.value


def test_the_data_tab_picks_a_task_and_a_pair_column_and_the_other_tabs_follow(tmp_path, tiny_model_dir):
    from test_tasks import scored_texts

    texts, scores = scored_texts(160, seed=6)
    path = tmp_path / "scores.csv"
    pd.DataFrame({"first": texts, "second": ["the film"] * len(texts), "score": scores}).to_csv(path, index=False)
    panel = Panel(data=str(path), model=str(tiny_model_dir))
    assert list(panel.task.options) == ["auto", "classification", "regression", "tagging", "multilabel", "qa", "generation",
                                          "translation", "summarization"]
    assert list(panel.pair_col.options) == ["", "first", "second", "score"]
    panel.text_col.value, panel.pair_col.value, panel.label_col.value = "first", "second", "score"
    panel.load_button.click()  # task "auto": fractional scores -> regression
    learner = panel.learner
    assert learner.task.name == "regression" and learner.data.train.pairs is not None
    assert "class counts" not in panel.data_status.value and "value" in panel.data_status.value
    learner.fit(3e-3, 2)
    panel.eval_button.click()
    panel.wait(60)
    assert "pearson" in panel.report_html.value and panel.confusion.value[:4] == b"\x89PNG"  # the scatter
    panel.text.value = "a great film"
    panel.predict_button.click()
    assert "first text | second text" in panel.predictions.value
    panel.text.value = "a great film | the film"
    panel.predict_button.click()
    assert "ktnb-predictions" in panel.predictions.value and "a great film | the film" in panel.predictions.value
    panel.task.value = "classification"
    panel.load_button.click()  # the same columns read as classes would be one class per score: refused
    assert "the labels are numbers with fractions" in panel.data_status.value
    assert "pass task=&#x27;regression&#x27; to predict a number" in panel.data_status.value
    assert panel.learner is learner


def test_a_conll_file_in_the_panel_tags_entities_and_highlights_them(tmp_path, tiny_model_dir):
    from test_tagging import tagged_sentences

    path = tmp_path / "train.txt"
    path.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(*s)) for s in tagged_sentences(200, seed=2)))
    panel = Panel(data=str(path), model=str(tiny_model_dir))
    panel.batch_size.value = 16
    panel.load_button.click()  # task "auto": a CoNLL file -> tagging
    learner = panel.learner
    assert learner.task.name == "tagging", panel.data_status.value
    assert "B-PER" in panel.data_status.value and "entities" in panel.data_status.value
    learner.fit(3e-3, 3)
    panel.eval_button.click()
    panel.wait(60)
    assert "PER" in panel.report_html.value and "f1" in panel.report_html.value
    assert panel.confusion.value[:4] == b"\x89PNG" and panel.confusion.layout.display == ""  # the type confusion
    panel.text.value = "the story of anna in new rome\n<b>paul</b> was in new london"
    panel.predict_button.click()
    shown = panel.predictions.value
    assert shown.count('class="ktnb-entities"') == 2 and '<mark class="ktnb-entity" data-type="PER"' in shown
    assert "&lt;b&gt;" in shown and "<b>" not in shown  # the typed text stays text
    panel.sentence.value = "anna lives in new rome"
    panel.attention_button.click()
    assert "ktnb-attention-frame" in panel.attention_view.value
    # Explain: toward an entity type, each entity its own explanation
    assert list(panel.explain_target.options) == ["LOC", "PER"] and panel.explain_second.layout.display == "none"
    panel.explain_text.value, panel.explain_target.value = "anna lives in new rome", "PER"
    panel.explain_button.click()
    panel.wait(60)
    assert [e.label for e in panel.explanation] == ["PER 'anna'"], panel.explain_status.value
    assert panel.explain_view.value.count('class="ktnb-explanation"') == 1


def test_joined_labels_in_the_panel_train_a_multi_label_model(tmp_path, tiny_model_dir):
    from test_multilabel import labelled

    texts, labels = labelled(240, seed=3)
    path = tmp_path / "tags.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    panel = Panel(data=str(path), model=str(tiny_model_dir))
    panel.load_button.click()  # task "auto": ";"-joined labels -> multilabel
    assert panel.learner.task.name == "multilabel" and "long" in panel.data_status.value
    panel.learner.fit(3e-3, 3)
    panel.eval_button.click()
    panel.wait(60)
    assert "f1_micro" in panel.report_html.value or "micro" in panel.report_html.value
    assert panel.confusion.value[:4] == b"\x89PNG"  # the per-label bars
    panel.text.value = "a wonderful film"
    panel.predict_button.click()
    assert "most likely" in panel.predictions.value and "ktnb-predictions" in panel.predictions.value


def test_the_panel_opens_tagging_data_whose_first_sentence_is_long(tmp_path, tiny_model_dir):
    """A first sentence of more than 120 words once ended in AttributeError ('list' … 'rstrip')."""
    from test_tagging import tagged_sentences

    sentences = tagged_sentences(40, seed=4)
    long_words = ["word"] * 130
    frame = pd.DataFrame({"tokens": [long_words] + [w for w, _ in sentences],
                          "tags": [["O"] * 130] + [t for _, t in sentences]})
    panel = Panel(data=frame, model=str(tiny_model_dir))
    panel.load_button.click()
    assert panel.learner is not None and panel.learner.task.name == "tagging", panel.data_status.value
    assert "word word word" in panel.data_status.value and "…" in panel.data_status.value


def test_a_squad_file_in_the_panel_answers_questions_about_a_pasted_context(tmp_path, tiny_model_dir):
    from test_qa import _examples, _squad

    path = _squad(_examples(160, 4), tmp_path / "train.json")
    panel = Panel(data=str(path), model=str(tiny_model_dir))
    panel.batch_size.value, panel.max_len.value = 16, 48
    panel.load_button.click()  # task "auto": a SQuAD file -> question answering
    learner = panel.learner
    assert learner is not None and learner.task.name == "qa", panel.data_status.value
    assert panel.second_text.layout.display == "" and panel.text.placeholder == "one question per line"
    learner.fit(3e-3, 3)
    panel.eval_button.click()
    panel.wait(60)
    assert "exact match" in panel.report_html.value and panel.confusion.value[:4] == b"\x89PNG"  # F1 by word
    panel.text.value = "who likes the film ?\nwho likes the <b>book</b> ?"
    panel.predict_button.click()
    assert panel.predictions.value == "type the context too"
    panel.second_text.value = "ida likes the film . fay likes the book ."
    panel.predict_button.click()
    shown = panel.predictions.value
    assert shown.count('class="ktnb-entities"') == 2 and 'data-type="answer"' in shown
    assert "&lt;b&gt;book&lt;/b&gt;" in shown and "<b>book</b>" not in shown  # the typed question stays text
    # Explain asks for the question and its context, and explains the answer's start and end
    assert panel.explain_second.layout.display == "" and panel.explain_target.layout.display == "none"
    panel.explain_text.value = "who likes the film ?"
    panel.explain_button.click()
    assert panel.explain_status.value == "type the context too"
    panel.explain_second.value = "ida likes the film . fay likes the book ."
    panel.explain_button.click()
    panel.wait(60)
    assert [e.label.split(" of ")[0] for e in panel.explanation] == ["the start", "the end"], panel.explain_status.value
    assert panel.explain_view.value.count('class="ktnb-explanation"') == 2
