"""Question answering on the one learner, with the tiny model: it trains on windows of long
contexts, its report is SQuAD's exact match and F1, its predictor answers with exact character
spans, and the saved folder answers the same through AutoModelForQuestionAnswering run the
standard way (the tokenizer's windows, n-best start/end pairs, a longest answer)."""

from __future__ import annotations

import json
import random
import warnings

import numpy as np
import pytest

import ktnb
from ktnb.tasks.qa import Answer, QAReport

from conftest import one_line

NAMES = ["ann", "bob", "carl", "dora", "eve", "fay", "gus", "hal", "ida", "jon", "kim", "lou"]
THINGS = ["film", "book", "song", "movie", "story", "show", "play", "game"]
FILLER = "the day was long and the story was good . "


def _examples(n, seed, long=False):
    """Questions whose answer is the name of who likes a thing, somewhere in the context."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        name, thing = rng.choice(NAMES), rng.choice(THINGS)
        before = FILLER * (rng.randint(4, 8) if long else rng.randint(0, 2))
        context = f"{before}{name} likes the {thing} . {FILLER * rng.randint(0, 2)}".strip()
        rows.append({"id": f"q{seed}-{i}", "question": f"who likes the {thing} ?", "context": context,
                     "answer_text": name, "answer_start": len(before)})
    return rows


def _squad(rows, path):
    data = [{"title": "t", "paragraphs": [{"context": r["context"], "qas": [
        {"id": r["id"], "question": r["question"],
         "answers": [{"text": r["answer_text"], "answer_start": r["answer_start"]}]}]}]} for r in rows]
    path.write_text(json.dumps({"version": "1.1", "data": data}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("qa")
    train, dev = _squad(_examples(240, 1), folder / "train.json"), _squad(_examples(60, 2), folder / "dev.json")
    task = ktnb.get_task("qa", stride=16)
    data = task.load_data(train, dev)
    learner = ktnb.text_learner(data, str(tiny_model_dir), batch_size=16, max_len=48, progress=False, seed=0)
    before = learner.evaluate()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learner.fit(3e-3, 4)
    learner.fit_warnings = [str(w.message) for w in caught]
    return learner, before, folder


def test_training_lifts_f1_well_above_an_untrained_model(trained):
    learner, before, _ = trained
    after = learner.evaluate()
    assert isinstance(after, QAReport) and after.n == 60
    assert after.scores.f1 >= before.scores.f1 + 30 and after.scores.f1 >= 60, (before.headline, after.headline)
    assert set(after.summary()) == {"val_loss", "val_exact_match", "val_f1"} and after.loss < before.loss
    assert learner.history.epochs[-1]["val_f1"] == pytest.approx(after.scores.f1)
    assert "who" in after.scores.by_word and "questions" in after._repr_html_()
    assert list(after.pictures()) == ["question_words"]
    last, best = learner.history.epochs[-1], learner.best
    if last["val_f1"] == best["value"]:  # a tie with the best epoch is not "worse" (F1 ties on small sets)
        assert not any("worse than epoch" in w for w in learner.fit_warnings), learner.fit_warnings


def test_the_predictor_answers_with_exact_character_spans_over_windows(trained):
    learner, _, _ = trained
    predictor = learner.predictor()
    context = FILLER * 8 + "kim likes the song . " + FILLER * 3  # many windows at max_len 48
    answer = predictor.ask("who likes the song ?", context)
    assert isinstance(answer, Answer) and context[answer.start:answer.end] == answer.answer
    assert answer.answer == "kim"
    both = predictor.predict([("who likes the song ?", context), ("who likes the film ?", "ida likes the film .")])
    assert [a.answer for a in both] == ["kim", "ida"]
    assert "<b>who likes the film ?</b>" in predictor.view([("who likes the film ?", "ida likes the film .")]).html


def test_the_saved_folder_answers_the_same_through_automodelforquestionanswering(trained, tmp_path):
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    learner, _, _ = trained
    folder = learner.predictor().save(tmp_path / "qa-model")
    loaded = ktnb.load_predictor(folder)
    assert loaded.task.options["stride"] == 16
    model = AutoModelForQuestionAnswering.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    pairs = [(r["question"], r["context"]) for r in _examples(20, 3, long=True)]
    ours = [a.answer for a in loaded.predict(pairs)]
    theirs = []
    for question, context in pairs:  # the standard post-processing, one question at a time
        enc = tokenizer(question, context, truncation="only_second", max_length=loaded.max_len, stride=16,
                        return_overflowing_tokens=True, return_offsets_mapping=True, padding=True,
                        return_tensors="pt")
        offsets = enc.pop("offset_mapping").tolist()
        enc.pop("overflow_to_sample_mapping")
        with torch.no_grad():
            out = model(**enc)
        best, text = -np.inf, ""
        for w in range(len(offsets)):
            sequence = enc.sequence_ids(w)
            start, end = out.start_logits[w].numpy(), out.end_logits[w].numpy()
            for s in np.argsort(start)[::-1][:20]:
                for e in np.argsort(end)[::-1][:20]:
                    if sequence[s] != 1 or sequence[e] != 1 or e < s or e - s + 1 > 30:
                        continue
                    if start[s] + end[e] > best:
                        best, text = start[s] + end[e], context[offsets[w][s][0]:offsets[w][e][1]]
        theirs.append(text)
    assert ours == theirs
    meta = json.loads((folder / "ktnb.json").read_text())
    meta["task_options"] = {"strde": 1}  # edited by hand
    (folder / "ktnb.json").write_text(json.dumps(meta))
    assert one_line(ktnb.ModelError, lambda: ktnb.load_predictor(folder)) == (
        f"{folder / 'ktnb.json'} is damaged: task qa has no option 'strde'; its options: stride, max_answer_len, "
        "n_best; save the predictor again")


def test_top_losses_are_the_worst_answered_questions(trained):
    learner, _, _ = trained
    worst = learner.top_losses(3)
    assert list(worst.columns) == ["text", "second text", "true", "predicted", "loss"]
    assert worst["loss"].is_monotonic_decreasing and worst["loss"].between(0, 100).all()
    assert all(isinstance(answer, str) for answer in worst["predicted"])  # the answers' text


def test_qa_is_picked_for_a_squad_file_and_its_options_come_back_on_resume(trained, tiny_model_dir, tmp_path):
    from ktnb.config import check_config, infer_task

    _, _, folder = trained
    assert infer_task(str(folder / "train.json"), check_config({"data": "x"})) == "qa"

    def stop(event):
        if event.name == "epoch_end":
            event.learner.request_stop()

    learner = ktnb.text_learner(str(folder / "train.json"), str(tiny_model_dir), task=ktnb.get_task("qa", stride=12),
                                max_len=48, batch_size=16, progress=False, checkpoint_dir=tmp_path / "run")
    learner.fit(3e-3, 2, callbacks=[stop])
    resumed = ktnb.resume(tmp_path / "run")
    assert resumed.task.options["stride"] == 12 and resumed.epochs_done == 2


@pytest.mark.parametrize("inputs, message", [
    ("who?", "predict: a question answering model reads (question, context) tuples; give one or a list of them "
             "(or use ask(question, context))"),
    ([("who?", " ")], "predict: item 0 has an empty context; give both a question and a context with text"),
])
def test_bad_questions_are_one_line(trained, inputs, message):
    learner, _, _ = trained
    assert one_line(ktnb.KtnbError, lambda: learner.predictor().predict(inputs)) == message


def test_task_options_are_checked():
    assert one_line(ktnb.KtnbError, lambda: ktnb.get_task("qa", strde=3)) == (
        "task qa has no option 'strde'; its options: stride, max_answer_len, n_best")
    assert one_line(ktnb.KtnbError, lambda: ktnb.get_task("qa", stride=-1)).startswith("stride must be a whole number")
    assert ktnb.get_task("qa", stride=64).options == {"stride": 64, "max_answer_len": 30, "n_best": 20}
    assert ktnb.get_task("qa").stride(384) == 128  # by default a third of the window
    assert ktnb.get_task("qa") is ktnb.get_task("QA")  # no options: the shared one


def test_an_answer_start_and_end_are_explained_in_the_window_that_holds_it(trained):
    pytest.importorskip("captum")
    import torch

    learner, _, _ = trained
    predictor = learner.predictor()
    predictor.max_len = 48  # windows of the length trained on: the answer is in a later one
    question, context = "who likes the song ?", FILLER * 6 + "kim likes the song . " + FILLER * 2
    start, end = predictor.explain((question, context))
    answer = predictor.ask(question, context).answer
    assert answer.startswith("kim") and (start.label, end.label) == (f"the start of {answer!r}", f"the end of {answer!r}")
    assert start.texts == (question, context) and 0 < start.value <= 1 and 0 < end.value <= 1
    assert {t for t, *_ in start.words} == {0, 1}  # the question's words and the window's
    shown = [w for w, _ in start.word_scores()]
    assert "kim" in shown and len(shown) < len(question.split()) + len(context.split())  # one window, not all
    assert abs(start.delta) < 0.05 and abs(end.delta) < 0.05
    assert "kim" in [w for w, _ in start.top(3)]
    with pytest.raises(ktnb.KtnbError, match="leave target out"):
        predictor.explain((question, context), target="kim")
    # a model tuned to say "no answer" (SQuAD v2.0) explains no span when it says so
    predictor.settings = {"no_answer": True}
    cls_wins = predictor.model.qa_outputs.register_forward_hook(
        lambda module, args, out: out.index_add(1, torch.tensor([0]), torch.full_like(out[:, :1], 100.0)))
    try:
        assert predictor.ask(question, context).answer == ""
        with pytest.raises(ktnb.KtnbError, match="the model says this context holds no answer"):
            predictor.explain((question, context))
    finally:
        cls_wins.remove()


def test_ktrain_explain_takes_a_question_and_its_context(trained, monkeypatch):
    pytest.importorskip("captum")
    from conftest import shell_with_session
    from IPython.core.error import UsageError

    from ktnb.jupyter import magics

    shell, shown = shell_with_session("asked", trained[0], monkeypatch)
    shell.run_line_magic("ktrain", '-s asked explain "who likes the film ?" "ida likes the film ."')
    assert [e.label for e in shell.user_ns["asked"].explanation][0].startswith("the start of")
    assert shown[0].data.count('class="ktnb-explanation"') == 2
    with pytest.raises(UsageError, match='usage: %ktrain explain "question" "context"$'):
        magics.KtnbMagics(shell)._cmd_explain(shell.user_ns["asked"], ["who likes the film ?"])
