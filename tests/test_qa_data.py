"""Question answering's data and scores: SQuAD files and tables read and checked (every answer
where it says it is, named by its question when not), and exact match / F1 as the official
SQuAD scripts compute them, on cases worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ktnb
from ktnb.tasks.qa_data import looks_like_squad, read_qa_table, read_squad
from ktnb.tasks.qa_metrics import exact_match, f1, normalize_answer, qa_scores, question_word

from conftest import one_line

SQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad"
CONTEXT = "Ann Lee founded the Café Ünïcode in 1999 in Paris."


def squad_file(tmp_path, qas, version="1.1", context=CONTEXT, name="squad.json") -> Path:
    document = {"version": version, "data": [{"title": "Cafés", "paragraphs": [{"context": context, "qas": qas}]}]}
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def question(qid="q1", text="Who founded it?", answers=(("Ann Lee", 0),), **extra):
    return {"id": qid, "question": text, "answers": [{"text": t, "answer_start": s} for t, s in answers], **extra}


@pytest.mark.skipif(not SQUAD.is_dir(), reason="needs ../shared/data/squad")
def test_the_shared_squad_files_read_whole():
    train, dev = read_squad(SQUAD / "train.json"), read_squad(SQUAD / "dev.json")
    assert (len(train), len(dev)) == (2501, 500)
    assert sum(len(e.answers) for e in train) == 8272 and sum(len(e.answers) for e in dev) == 1731
    assert all(e.context[s:s + len(t)] == t for e in train + dev for t, s in e.answers)
    assert looks_like_squad(SQUAD / "dev.json") and not looks_like_squad(SQUAD / "README.md")


def test_unicode_contexts_keep_exact_character_offsets(tmp_path):
    start = CONTEXT.index("Café")
    [example] = read_squad(squad_file(tmp_path, [question(answers=[("Café Ünïcode", start)])]))
    text, at = example.answers[0]
    assert example.context[at:at + len(text)] == "Café Ünïcode" and example.title == "Cafés"


def test_squad_v2_reads_unanswerable_questions_and_v1_refuses_them(tmp_path):
    path = squad_file(tmp_path, [question(), question("q2", "Who closed it?", (), is_impossible=True)], "v2.0")
    examples = read_squad(path)
    assert [e.answerable for e in examples] == [True, False]
    assert one_line(ktnb.DataError, lambda: read_squad(path, version="1.1")) == (
        "squad.json is SQuAD v2.0 (question 'q2' is unanswerable); read it with version='2.0'")


@pytest.mark.parametrize("qas, context, message", [
    ([question(answers=[("Ann Lee", 4)])], CONTEXT,
     "squad.json: the answer 'Ann Lee' of question 'q1' is not at answer_start 4 (it occurs at 0); fix answer_start"),
    ([question(answers=[("Bob", 0)])], CONTEXT,
     "squad.json: the answer 'Bob' of question 'q1' is not at answer_start 0 (it does not occur in the context); "
     "fix answer_start"),
    ([question(text="  ")], CONTEXT,
     "squad.json: the question of question 'q1' is empty; every question needs a question with text"),
    ([question(answers=[])], "   \n ",
     "squad.json: the context of question 'q1' is empty; every question needs a context with text"),
    ([question(answers=[])], CONTEXT,
     "squad.json: question 'q1' has no answers; give its answers, or mark it is_impossible (SQuAD v2.0)"),
    ([question(), question()], CONTEXT, "squad.json: question id 'q1' appears twice; ids must be unique"),
    ([question(answers=[("Ann Lee", -1)])], CONTEXT,
     "squad.json: question 'q1' has answer_start -1; it must be the character offset (a whole number from 0) of "
     "the answer in its context"),
], ids=["misplaced", "absent", "empty question", "whitespace context", "no answers in v1.1", "duplicate id",
        "negative start"])
def test_bad_squad_files_are_one_line_naming_the_question(tmp_path, qas, context, message):
    path = squad_file(tmp_path, qas, context=context)
    assert one_line(ktnb.DataError, lambda: read_squad(path)) == message


def test_files_that_are_not_squad_are_one_line(tmp_path):
    (tmp_path / "broken.json").write_text('{"data": [', encoding="utf-8")
    assert one_line(ktnb.DataError, lambda: read_squad(tmp_path / "broken.json")).startswith(
        "broken.json is not JSON (Expecting value on line 1)")
    (tmp_path / "other.json").write_text('{"rows": []}', encoding="utf-8")
    assert one_line(ktnb.DataError, lambda: read_squad(tmp_path / "other.json")) == (
        "other.json has no 'data' list: it is not a SQuAD-format file")
    assert one_line(ktnb.DataError, lambda: read_squad(tmp_path / "missing.json")) == (
        f"file not found: {tmp_path / 'missing.json'}")


def test_a_table_reads_one_or_several_answers_and_unanswerable_rows():
    examples = read_qa_table({"id": ["a", "b", "c"], "question": ["Who?", "When?", "Why?"],
                              "context": [CONTEXT] * 3, "answer_text": ["Ann Lee", ["1999", "in 1999"], ""],
                              "answer_start": [0, [CONTEXT.index("1999"), CONTEXT.index("in 1999")], None]})
    assert [e.answers for e in examples] == [[("Ann Lee", 0)], [("1999", 36), ("in 1999", 33)], []]
    assert one_line(ktnb.DataError, lambda: read_qa_table({"question": ["Who?"], "context": [CONTEXT],
                                                           "answer": ["Ann"], "answer_start": [0]})) == (
        "DataFrame has no column 'answer_text' (set answer_col); available columns: question, context, answer, "
        "answer_start")


# ------------------------------------------------------------------ the official SQuAD scores

def test_normalisation_drops_case_punctuation_articles_and_extra_spaces():
    assert normalize_answer("  The   U.S.  Army's  band ") == "us armys band"
    assert normalize_answer("An apple, a pear") == "apple pear"
    assert normalize_answer("Theatre") == "theatre"  # "the" only as a word


@pytest.mark.parametrize("prediction, references, em, f1_score", [
    ("Denver Broncos", ["Denver Broncos", "The Denver Broncos"], 100.0, 100.0),
    ("the Broncos", ["Denver Broncos"], 0.0, 2 * 1 / 1 * 1 / 2 / (1 + 1 / 2) * 100),  # P 1, R 1/2
    ("Denver Broncos won", ["Broncos", "Denver Broncos"], 0.0, 80.0),  # best reference: P 2/3, R 1
    ("Carolina", ["Denver Broncos"], 0.0, 0.0),
    ("", [], 100.0, 100.0),  # unanswerable, and nothing predicted
    ("Paris", [], 0.0, 0.0),  # unanswerable, but an answer given
    ("", ["Paris"], 0.0, 0.0),
    ("a cat", ["the cat"], 100.0, 100.0),  # articles are not words to match
    ("cat cat dog", ["cat dog dog"], 0.0, 100 * 2 / 3),  # tokens counted with repeats: 2 shared of 3 and 3
])
def test_exact_match_and_f1_on_known_cases(prediction, references, em, f1_score):
    assert exact_match(prediction, references) == em
    assert f1(prediction, references) == pytest.approx(f1_score)


def test_scores_average_over_questions_and_break_down_by_question_word():
    scores = qa_scores(["1999", "Ann", "", "Paris"],
                       [["1999", "in 1999"], ["Ann Lee"], [], ["Paris, France"]],
                       ["When was it founded?", "Who founded it?", "Who closed it?", "Where is it?"])
    assert scores.exact_match == pytest.approx(50.0)  # 100, 0, 100, 0
    assert scores.f1 == pytest.approx((100 + 100 * 2 / 3 + 100 + 100 * 2 / 3) / 4)
    assert scores.no_answer_accuracy == 100.0
    assert scores.by_word["who"] == (2, 50.0, pytest.approx((100 * 2 / 3 + 100) / 2))
    assert list(scores.by_word)[0] == "who"  # the most asked first
    assert qa_scores(["x"], [["x"]], ["Name it."]).no_answer_accuracy is None


@pytest.mark.parametrize("text, word", [("How many goals did he score?", "how many"), ("What is it?", "what"),
                                        ("In what year?", "what"), ("The capital of France is?", "other"),
                                        ("How did it end?", "how"), ("Whose car was it?", "whose")])
def test_question_words(text, word):
    assert question_word(text) == word


# ------------------------------------------------------------------ windows over long contexts

@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


LONG = ("The river runs north past the old mill. " * 6 + "Ann Lee founded the Café Ünïcode in 1999. "
        + "Then the road turns east to the sea. " * 6)


def test_a_long_context_becomes_overlapping_windows_whose_offsets_are_its_characters(tokenizer):
    from ktnb.tasks.qa_features import encode_questions

    features = encode_questions(tokenizer, ["Who founded the café?"], [LONG], max_len=48, stride=12)
    assert len(features) > 3 and set(features.example_ids) == {0} and features.n_examples == 1
    windows = [[span for span in row if span is not None] for row in features.offsets]
    assert all(windows) and all(b[0][0] < a[-1][1] for a, b in zip(windows, windows[1:]))  # neighbours overlap
    covered = {c for row in windows for start, end in row for c in range(start, end)}
    assert covered == {i for i, ch in enumerate(LONG) if not ch.isspace()}  # every character is in some window
    for ids, row in zip(features.input_ids, features.offsets):  # each token is the text it points at
        for token, span in zip(tokenizer.convert_ids_to_tokens(ids), row):
            if span is not None and token != "[UNK]":
                assert token.removeprefix("##") == LONG[span[0]:span[1]].lower().replace("é", "e").replace(
                    "ü", "u").replace("ï", "i")


def test_an_answer_is_targeted_in_the_windows_that_hold_it_whole_and_elsewhere_at_cls(tokenizer):
    from ktnb.tasks.qa_features import encode_questions

    answer = "Café Ünïcode"
    start = LONG.index(answer)
    features = encode_questions(tokenizer, ["What did Ann Lee found?"], [LONG], max_len=40, stride=16,
                                answers=[[(answer, start)]])
    starts, ends = features.targets["start_positions"], features.targets["end_positions"]
    holding = [row for row, (s, e) in enumerate(zip(starts, ends)) if s != 0]
    assert holding and len(holding) < len(features)  # some windows hold it whole, the others say "not here"
    for row in holding:
        spans = features.offsets[row]
        assert LONG[spans[starts[row]][0]:spans[ends[row]][1]] == answer  # exactly its characters
    for row in set(range(len(features))) - set(holding):
        assert starts[row] == ends[row] == 0  # [CLS]
        inside = [span for span in features.offsets[row] if span is not None]
        assert inside[0][0] > start or inside[-1][1] < start + len(answer)  # the window cuts it, or misses it


def test_the_windows_batch_with_their_targets(tokenizer):
    from ktnb.batching import PadCollator
    from ktnb.tasks.qa_features import encode_questions

    features = encode_questions(tokenizer, ["Who?", "When?"], ["Ann Lee did.", "In 1999."], max_len=32, stride=4,
                                answers=[[("Ann Lee", 0)], [("1999", 3)]])
    batch = PadCollator(0)([features[0], features[1]])
    assert batch["start_positions"].tolist() == features.targets["start_positions"]
    assert set(batch) == {"input_ids", "attention_mask", "token_type_ids", "start_positions", "end_positions"}


def test_a_question_too_long_for_max_len_is_one_line(tokenizer):
    from ktnb.tasks.qa_features import encode_questions

    words = " ".join(["the"] * 40)
    assert one_line(ktnb.DataError, lambda: encode_questions(tokenizer, [words], [CONTEXT], max_len=32, stride=4,
                                                             ids=["q7"])) == (
        "question 'q7' is 40 tokens long, which leaves no room for its context within max_len 32; shorten the "
        "question or raise max_len")


def test_the_best_span_keeps_to_the_context_in_order_and_short():
    import numpy as np

    from ktnb.tasks.qa_features import Span, best_span

    offsets = [None, None, (0, 3), (4, 7), (8, 12), None]  # [CLS] question [SEP]-ish, three context tokens
    start = np.array([9.0, 8.0, 1.0, 2.0, 0.5, 7.0])  # the best starts are outside the context
    end = np.array([9.0, 0.0, 0.1, 1.0, 3.0, 8.0])
    assert best_span(start, end, offsets) == Span(4, 12, 5.0, 3, 4)  # token 3 to token 4
    assert best_span(start, end, offsets, max_answer_len=1) == Span(8, 12, 3.5, 4, 4)  # one token: 0.5 + 3
    assert best_span(start, end, offsets, n_best=2) is None  # the two best starts are both outside the context
