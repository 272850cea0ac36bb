"""Text generation (task generation) on a tiny Llama built from a config: documents packed into
blocks with no token lost, the loss on responses only, perplexity that is what it should be,
a fit that lowers it, a saved folder that `pipeline("text-generation")` writes the same greedy
text from, and one-line errors for what cannot work."""

from __future__ import annotations

import html
import math
import time

import numpy as np
import pytest
import torch
from conftest import one_line, sentiment_texts
from hypothesis import given, settings
from hypothesis import strategies as st

import ktnb
from ktnb.batching import IGNORED_LABEL, EncodedTexts
from ktnb.data import LabelledTexts
from ktnb.errors import DataError, KtnbError, ModelError
from ktnb.inference import Runner
from ktnb.tasks.generation_data import pack, pair_row


@given(st.lists(st.lists(st.integers(2, 50), max_size=30), max_size=12), st.integers(1, 40))
@settings(max_examples=200, deadline=None)
def test_packing_keeps_every_token_once_in_order(documents, block_size):
    blocks = pack(documents, block_size, eos_id=1)
    expected = [t for doc in documents for t in doc + [1]]
    assert [t for b in blocks for t in b] == expected
    assert all(len(b) == block_size for b in blocks[:-1]) and all(0 < len(b) <= block_size for b in blocks)


def test_a_documents_rows_are_blocks_with_every_token_scored(tiny_llama_dir):
    docs = ["the film was good", "a dull and tedious story", "wonderful"]
    data = ktnb.get_task("generation").load_data(docs, val_frac=0)
    learner = ktnb.text_learner(data, str(tiny_llama_dir), max_len=8, progress=False)
    rows = learner.train_ds
    tok = learner.tokenizer
    stream = [t for d in docs for t in tok(d)["input_ids"] + [tok.eos_token_id]]
    assert [t for r in rows.input_ids for t in r] == stream
    assert rows.labels == rows.input_ids  # the model shifts them: every token is predicted from those before


def test_the_loss_is_on_the_response_only(tiny_llama_dir, tiny_chat_llama_dir):
    from transformers import AutoTokenizer

    plain = AutoTokenizer.from_pretrained(tiny_llama_dir)
    ids, labels = pair_row(plain, "the film was", " good", 64, chat=False)
    prompt = plain("the film was")["input_ids"]
    assert labels[:len(prompt)] == [IGNORED_LABEL] * len(prompt)
    written = labels[len(prompt):]
    assert written == ids[len(prompt):] and written[-1] == plain.eos_token_id  # it learns to stop
    assert plain.decode(written, skip_special_tokens=True) == " good"

    chat = AutoTokenizer.from_pretrained(tiny_chat_llama_dir)
    ids, labels = pair_row(chat, "is it good?", "yes", 64, chat=True)
    scored = [t for t in labels if t != IGNORED_LABEL]
    assert chat.decode(scored) == "yes<|im_end|>\n"
    assert chat.decode(ids[:labels.index(scored[0])]).endswith("<|im_start|>assistant\n")


def test_a_long_pair_keeps_the_prompts_end_and_the_responses_start(tiny_llama_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    prompt, response = " ".join(["the film"] * 30), " ".join(["good"] * 30)
    ids, labels = pair_row(tok, prompt, response, 20, chat=False)
    assert len(ids) == len(labels) == 20
    assert labels[:10] == [IGNORED_LABEL] * 10 and IGNORED_LABEL not in labels[10:]  # half the row each


class UniformLM(torch.nn.Module):
    """A language model that gives every one of `vocab` tokens the same probability."""

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.config = type("Config", (), {"num_labels": 0})()

    def forward(self, input_ids, attention_mask=None, labels=None):
        assert labels is None  # the task scores the labels itself
        return type("Out", (), {"logits": torch.zeros(*input_ids.shape, self.vocab), "loss": None})()


def test_perplexity_of_a_uniform_model_is_its_vocabulary_size():
    rows = EncodedTexts([[5, 6, 7, 8], [9, 10]], [[5, 6, 7, 8], [IGNORED_LABEL, 10]])
    out = ktnb.get_task("generation").outputs(Runner(UniformLM(50), pad_id=0, batch_size=1), rows)
    report = ktnb.get_task("generation").report(out.logits, rows.labels, [], out.loss, {})
    assert report.tokens == 3 + 1  # each row's first token has nothing before it to be predicted from
    assert report.loss == pytest.approx(math.log(50)) and report.perplexity == pytest.approx(50)
    assert report.summary()["val_perplexity"] == pytest.approx(50)


def test_micro_batches_weigh_their_loss_by_the_tokens_they_score():
    task = ktnb.get_task("generation")
    batch = {"input_ids": torch.zeros(2, 5), "labels": torch.tensor([[1, 2, 3, 4, 5], [-100, -100, -100, 4, 5]])}
    assert task.loss_weight(batch) == 4 + 2
    assert ktnb.get_task("classification").loss_weight(batch) == 2


@pytest.fixture(scope="module")
def trained(tiny_llama_dir):
    texts, _ = sentiment_texts(300, seed=5)
    learner = ktnb.text_learner(texts, str(tiny_llama_dir), task="generation", max_len=64, batch_size=16,
                                progress=False)
    before = learner.evaluate()
    learner.fit_onecycle(3e-3, 3)
    return learner, before


def test_a_fit_lowers_validation_perplexity(trained):
    learner, before = trained
    after = learner.evaluate()
    assert after.split == "validation" and after.tokens == before.tokens > 0
    assert after.perplexity < 0.5 * before.perplexity, (before.perplexity, after.perplexity)
    assert "val_perplexity" in learner.history.epochs[-1]
    assert learner.data.task_options["format"] == "documents"


def test_the_saved_folder_writes_the_same_greedy_text_in_pipeline(trained, tmp_path):
    from transformers import pipeline

    learner, _ = trained
    predictor = learner.predictor()
    prompts = ["the film", "a dull"]
    ours = predictor.generate(prompts, max_new_tokens=12)
    assert all(isinstance(t, str) and t for t in ours)
    folder = predictor.save(tmp_path / "lm")
    loaded = ktnb.load_predictor(folder)
    assert loaded.generate(prompts, max_new_tokens=12) == ours
    assert loaded.predict("the film") == loaded.generate("the film")  # predict writes with the task's defaults
    writer = pipeline("text-generation", model=str(folder))
    theirs = [writer(p, max_new_tokens=12, do_sample=False, return_full_text=False)[0]["generated_text"]
              for p in prompts]
    assert theirs == ours


def test_generation_settings_and_stop_strings(trained):
    predictor = trained[0].predictor()
    greedy = predictor.generate("the film", max_new_tokens=16)
    word = greedy.split()[1] if len(greedy.split()) > 1 else None
    if word:
        assert not predictor.generate("the film", max_new_tokens=16, stop=word).endswith(word)
    drawn = [predictor.generate("the film", max_new_tokens=8, temperature=1.0, top_p=0.9, seed=s) for s in (1, 1)]
    assert drawn[0] == drawn[1]  # a seed repeats a draw
    assert len(predictor.generate(["a", "the film was good and"], max_new_tokens=4)) == 2
    assert predictor.generate("the film", num_beams=2, max_new_tokens=6)


def test_pairs_learn_the_response_with_the_chat_template(tiny_chat_llama_dir, tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"prompt": ["is it good?", "is it bad?"] * 40, "response": ["yes", "no"] * 40})
    learner = ktnb.text_learner(frame, str(tiny_chat_llama_dir), task="generation", batch_size=8, progress=False)
    assert learner.data.task_options["format"] == "pairs" and learner.task.chat(learner.tokenizer)
    learner.fit_onecycle(1e-2, 6)
    predictor = ktnb.load_predictor(learner.predictor().save(tmp_path / "chat"))
    assert predictor.generate(["is it good?", "is it bad?"], max_new_tokens=4) == ["yes", "no"]
    assert predictor.generate([{"role": "user", "content": "is it bad?"}], max_new_tokens=4) == "no"
    report = learner.evaluate()  # it shows what it writes for the set's prompts, next to the responses
    assert [(p, r) for p, r, _ in report.samples] == [(t, str(r)) for t, r in zip(learner.data.val.texts[:3],
                                                                                 learner.data.val.labels[:3])]
    assert all(w == r for _, r, w in report.samples)


def test_the_report_shows_what_the_model_writes_escaped(trained):
    learner, _ = trained
    val = learner.data.val
    part = type(val)(["<b>the film</b> was good and the story was very funny"] + list(val.texts[:4]), [None] * 5)
    report = learner.evaluate()
    assert len(report.samples) == 3 and all(w for _, _, w in report.samples)
    from ktnb.evaluation import runner

    learner.task.add_samples(report, runner(learner, max_new_tokens=8), part, learner.max_len)
    prompt, reference, written = report.samples[0]
    assert prompt == "<b>the film</b> was good and" and reference == "the story was very funny"
    html_view = report._repr_html_()
    assert "&lt;b&gt;the film&lt;/b&gt;" in html_view and "<b>the film" not in html_view
    assert "what it writes" in html_view and html.escape(written.strip()) in html_view
    assert "sample" in str(report)


def test_bad_input_is_one_line(tiny_llama_dir, tiny_model_dir, trained):
    import pandas as pd

    task = ktnb.get_task("generation")
    assert "encoder-only" in one_line(ModelError, lambda: ktnb.text_learner(["a text", "another"] * 5,
                                                                            str(tiny_model_dir), task="generation"))
    assert "has no text" in one_line(DataError, lambda: task.load_data(["", "  "]))
    frame = pd.DataFrame({"prompt": ["a"], "answer_text": ["b"]})
    assert "no response column 'reply'" in one_line(DataError, lambda: task.load_data(frame, label_col="reply"))
    predictor = trained[0].predictor()
    assert "reads at most" in one_line(KtnbError, lambda: predictor.generate("the film " * 200))
    assert "temperature above 0" in one_line(KtnbError, lambda: predictor.generate("a", top_p=0.5))
    assert "use predict()" in one_line(KtnbError, lambda: ktnb.Predictor(
        trained[0].model, trained[0].tokenizer, task="classification").generate("a"))
    assert "scored token by token" in one_line(KtnbError, lambda: trained[0].top_losses())


def test_the_task_reads_text_files_tables_and_chats(tmp_path):
    task = ktnb.get_task("causal-lm")
    (tmp_path / "notes.txt").write_text("First document,\nstill the first.\n\nSecond one.\n")
    data = task.load_data(tmp_path / "notes.txt", val_frac=0)
    assert data.train.texts == ["First document,\nstill the first.", "Second one."]
    chats = [[{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}] for i in range(10)]
    data = task.load_data(chats, val_frac=0.2)
    assert data.task_options["format"] == "pairs" and len(data.train) == 8 and data.val.labels[0].startswith("a")
    assert np.all([isinstance(p, list) for p in data.train.texts])


def test_a_ktrain_cell_fine_tunes_a_language_model_on_a_text_file(tiny_llama_dir, tmp_path):
    from IPython.testing import globalipapp

    texts, _ = sentiment_texts(240, seed=7)
    (tmp_path / "reviews.txt").write_text("\n\n".join(texts) + "\n")
    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "ktnb")
    shell.run_cell_magic("ktrain", "-o lm -q", f"""
data: {tmp_path / 'reviews.txt'}
task: causal-lm
model: {tiny_llama_dir}
max_len: 32
batch_size: 8
lr: find
epochs: 2
show: [report, history]
predict: [the film]
save: {tmp_path / 'saved'}
""")
    session = shell.user_ns["lm"]
    assert session.learner.task.name == "generation" and len(session.learner.data.train) == 216
    assert session.report.split == "validation" and session.report.perplexity < 100
    [(prompt, written)] = session.predictions
    assert prompt == "the film" and isinstance(written, str)
    assert ktnb.load_predictor(tmp_path / "saved").generate("the film") == written


@pytest.mark.slow
def test_smollm2_learns_sst2_reviews_and_the_pipeline_writes_the_same(tmp_path):
    """The real SmolLM2 (model: smollm2, from its offline copy) on real SST-2 sentences as
    documents: one short epoch lowers validation perplexity clearly, and the saved folder writes
    in `pipeline` what the predictor writes."""
    import pandas as pd
    from conftest import SST2
    from transformers import pipeline

    if not (SST2 / "train.csv").is_file():
        pytest.skip("needs ../shared/data/sst2")
    texts = pd.read_csv(SST2 / "train.csv")["text"][:120].tolist()
    learner = ktnb.text_learner(texts, "smollm2", task="generation", max_len=64, batch_size=8, progress=False)
    before = learner.evaluate()
    learner.fit_onecycle(1e-4, 1)
    after = learner.evaluate()
    assert after.perplexity < 0.75 * before.perplexity, (before.headline, after.headline)
    folder = learner.predictor().save(tmp_path / "smollm2-sst2")
    prompts = ["the movie is", "a gorgeous ,"]
    ours = ktnb.load_predictor(folder).generate(prompts, max_new_tokens=8)
    writer = pipeline("text-generation", model=str(folder))
    assert [writer(p, max_new_tokens=8, do_sample=False, return_full_text=False)[0]["generated_text"]
            for p in prompts] == ours


def test_the_panel_trains_evaluates_and_writes_with_a_language_model(tiny_llama_dir, tmp_path):
    import pandas as pd
    from ktnb.jupyter.panel import Panel

    texts, _ = sentiment_texts(200, seed=8)
    pd.DataFrame({"review": texts}).to_csv(tmp_path / "reviews.csv", index=False)
    panel = Panel(data=str(tmp_path / "reviews.csv"), model=str(tiny_llama_dir))
    panel.task.value, panel.text_col.value = "generation", "review"
    panel.load_button.click()
    assert panel.learner is not None and panel.learner.task.name == "generation", panel.data_status.value
    panel.lr.value, panel.epochs.value = 3e-3, 2
    panel.start_button.click()
    panel.wait(120)
    assert [e.name for e in panel.events].count("epoch_end") == 2
    panel.eval_button.click()
    panel.wait(60)
    assert "perplexity" in panel.report_html.value and panel.report.perplexity < 1000
    assert panel.tabs.get_title(4) == "Generate" and panel.predict_button.description == "Generate"
    prompt = "the film\na <b>dull</b>"
    written = panel.learner.predictor().generate(prompt)
    assert written.strip()
    panel.text.value = prompt + "\n"
    panel.predict_button.click()
    panel.wait(60)
    shown = panel.predictions.value  # the prompt (escaped) and what the model wrote after it, streamed
    assert "a &lt;b&gt;dull&lt;/b&gt;" in shown and "<b>dull" not in shown
    assert html.escape(written) in shown and "writing" not in shown and "stopped" not in shown

    # Stop ends the writing and keeps the text so far (the model slowed down to a token per 50 ms)
    model = panel.learner.model
    forward, calls = model.forward, []

    def slow(*args, **kwargs):
        calls.append(1)
        time.sleep(0.05)
        return forward(*args, **kwargs)

    model.forward = slow
    try:
        panel.predict_button.click()
        assert not panel.stop_writing_button.disabled
        deadline = time.monotonic() + 10
        while len(calls) < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        panel.stop_writing_button.click()
        panel.wait(30)
    finally:
        model.forward = forward
    shown = panel.predictions.value
    assert "(stopped)" in shown and panel.stop_writing_button.disabled and not panel.predict_button.disabled
    kept = html.unescape(shown.split("</span>", 1)[1].split(" <span", 1)[0])
    assert written.startswith(kept) and len(kept) < len(written) and len(calls) < 20


def test_a_stream_gives_every_piece_once_in_order_and_stops_when_asked(trained):
    predictor = trained[0].predictor()
    whole = predictor.generate("the film", max_new_tokens=24)
    stream = predictor.stream("the film", max_new_tokens=24)
    pieces = list(stream)
    assert "".join(pieces) == stream.text == whole and len(pieces) > 1
    stream = predictor.stream("the film", max_new_tokens=24)
    first = next(iter(stream))
    stream.stop()
    rest = list(stream)
    assert stream.stopped and len(first + "".join(rest)) < len(whole) + 1 and whole.startswith(stream.text)
    if len(whole.split()) > 2:  # a stop string ends it, and is not given out
        word = whole.split()[2]
        stopped = predictor.stream("the film", 24, stop=word)
        assert "".join(stopped) == whole[:whole.index(word)]


def test_ktrain_generate_shows_the_text_growing_in_one_display(trained, monkeypatch):
    from IPython.testing import globalipapp

    from ktnb.jupyter import streaming
    from ktnb.workflow import Session

    updates = []
    monkeypatch.setattr(streaming, "display", lambda obj, display_id: Handle(updates, obj))
    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "ktnb")
    magics = shell.magics_manager.registry["KtnbMagics"]
    magics.sessions["lm_gen"] = Session({}, trained[0].data, trained[0])
    shell.run_line_magic("ktrain", '-s lm_gen generate "a <b>dull</b>" 12')
    written = trained[0].predictor().generate("a <b>dull</b>", max_new_tokens=12)
    assert magics.sessions["lm_gen"].generated == written
    assert updates[0].count("writing") == 1 and "&lt;b&gt;dull" in updates[-1] and "<b>dull" not in updates[-1]
    assert "writing" not in updates[-1]


class Handle:
    """A display handle that records what it shows."""

    def __init__(self, shown, first):
        self.shown = shown
        shown.append(first.data)

    def update(self, obj):
        self.shown.append(obj.data)


def test_chat_replies_through_the_template_and_refuses_without_one(trained, tiny_chat_llama_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ktnb.tasks.generation_data import prompt_ids

    tokenizer = AutoTokenizer.from_pretrained(tiny_chat_llama_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_chat_llama_dir)
    predictor = ktnb.Predictor(model, tokenizer, [], task="generation")
    messages = [{"role": "user", "content": "is it good?"}]
    reply = predictor.chat(messages, max_new_tokens=5)
    ids = prompt_ids(tokenizer, messages, chat=True)
    assert tokenizer.decode(ids).endswith("<|im_start|>assistant\n")
    assert reply == predictor.generate(messages, max_new_tokens=5)
    plain = trained[0].predictor()  # its tokenizer has no chat template
    assert "needs a tokenizer with a chat template" in one_line(KtnbError, lambda: plain.chat(messages))
    assert "list of messages" in one_line(KtnbError, lambda: plain.chat("hello"))


def test_what_a_hostile_reader_found(tiny_llama_dir, tiny_chat_llama_dir, tmp_path):
    """Each case a review of the first version found wrong."""
    import pandas as pd
    from transformers import AutoTokenizer

    from ktnb.batching import pad_id
    from ktnb.config import check_config, check_show, load_config_data

    task = ktnb.get_task("generation")
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    # a stream whose last block would be one token (nothing to predict it from) loses that block only
    doc = "the film was good"
    width = len(tokenizer(doc)["input_ids"]) + 1  # with its end-of-text token
    rows = task.encode(tokenizer, LabelledTexts([doc, doc], [None, None]), 2 * width - 1)
    assert [len(r) for r in rows.input_ids] == [2 * width - 1]
    # SST-2's text,label table is documents: a column called label is not a response unless named
    sst2_like = pd.DataFrame({"text": ["a fine film", "a dull film"] * 5, "label": [1, 0] * 5})
    assert task.load_data(sst2_like).task_options["format"] == "documents"
    assert ktnb.get_task("generation", format="pairs").load_data(sst2_like, label_col="label").train.labels[0] in "01"
    assert ktnb.get_task("generation", format="documents").load_data(
        pd.DataFrame({"prompt": ["a"] * 4, "response": ["b"] * 4, "text": ["c d"] * 4})).train.labels[0] is None
    # a cell keeps the format the reader found (and so the chat template of pairs)
    path = tmp_path / "pairs.csv"
    pd.DataFrame({"prompt": ["is it good?"] * 10, "response": ["yes"] * 10}).to_csv(path, index=False)
    config = check_config({"data": str(path), "task": "generation"})
    assert load_config_data(str(path), config).task_options["format"] == "pairs"
    # two chats in a tuple are two chats, not (prompts, responses)
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert task.load_data((chat, chat), val_frac=0).train.labels == ["hello", "hello"]
    # no room to write, a tokenizer without an end-of-text token, padding without a padding token
    predictor = ktnb.Predictor(*_model_and_tokenizer(tiny_llama_dir), [], task="generation")
    long_prompt = "the film " * 55
    assert "lower max_new_tokens" in one_line(KtnbError, lambda: predictor.generate(long_prompt, max_new_tokens=64))
    assert "lower max_new_tokens" in one_line(KtnbError, lambda: predictor.stream(long_prompt, 64))
    assert pad_id(tokenizer) == tokenizer.eos_token_id
    bare = AutoTokenizer.from_pretrained(tiny_llama_dir)
    bare.eos_token = None
    assert "no end-of-text token" in one_line(ModelError, lambda: task.encode(
        bare, LabelledTexts(["a b"], [None]), 16))
    # top_losses is refused before training, not after it
    with pytest.raises(KtnbError, match="top_losses.* is not allowed for text generation"):
        check_show(["report", "top_losses"], task)


def _model_and_tokenizer(folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)


def test_a_batch_split_into_passes_gives_the_gradient_of_the_whole_batch(tiny_llama_dir):
    """Rows of different response lengths: passes weighted by rows would tilt the gradient
    towards the short rows' tokens; weighted by scored tokens it is the whole batch's."""
    prompts = ["is it good?", "tell me about the film", "a", "why?"]
    responses = ["yes", "it was a long and tedious story with dull actors", "b c", "because the plot was a mess"]
    data = ktnb.get_task("generation").load_data((prompts, responses), val_frac=0)
    learner = ktnb.text_learner(data, str(tiny_llama_dir), batch_size=4, progress=False)
    learner._prepare()
    batch = learner.collate([learner.train_ds[i] for i in range(4)])
    grads = []

    def record(*args, **kwargs):
        grads.append(torch.cat([p.grad.flatten() for p in learner.model.parameters() if p.grad is not None]))

    learner._optimizer.step = record
    for passes in (1, 2):
        learner.micro_batches = passes
        learner._train_batch(batch, 1e-3)
    assert torch.allclose(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_accumulated_batches_give_the_gradient_of_one_batch_holding_them(tiny_llama_dir):
    """Two batches of pairs that score different numbers of tokens, accumulated: the step's
    gradient is the mean over all their tokens, as one batch of the four rows gives it (a mean
    of the two batches' means would weigh the short responses' tokens more)."""
    prompts = ["is it good?", "tell me about the film", "a", "why?"]
    responses = ["yes", "it was a long and tedious story with dull actors", "b c", "because the plot was a mess"]
    data = ktnb.get_task("generation").load_data((prompts, responses), val_frac=0)
    grads = {}
    for batch_size, accumulate in ((4, 1), (2, 2)):
        learner = ktnb.text_learner(data, str(tiny_llama_dir), batch_size=batch_size, grad_accum=accumulate,
                                    progress=False)
        learner._prepare()
        learner._start_run(())

        def record(*args, **kwargs):
            if learner.accelerator.sync_gradients:
                # the gradient the step takes: the fused step divides by grad_scale (the window's
                # weight and the clip, folded in)
                scale = getattr(learner._optimizer.optimizer, "grad_scale", None)
                grads[accumulate] = torch.cat([p.grad.flatten() for p in learner.model.parameters()
                                               if p.grad is not None]) / (1.0 if scale is None else scale)

        learner._optimizer.step = record
        rows = [learner.train_ds[i] for i in range(4)]
        for part in ([rows] if batch_size == 4 else [rows[:2], rows[2:]]):
            batch = learner.collate(part)
            with torch.no_grad():
                expected = float(learner.model(**batch).loss)  # what the batch's loss is (no dropout here)
            loss, _ = learner._train_batch(batch, 1e-3)
            assert loss == pytest.approx(expected, rel=1e-4)  # reported as it is, in or at the end of a window
    assert torch.allclose(grads[1], grads[2], rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def lora_trained(tiny_llama_dir, tmp_path_factory):
    texts, _ = sentiment_texts(300, seed=5)
    folder = tmp_path_factory.mktemp("lora") / "run"
    learner = ktnb.text_learner(texts, str(tiny_llama_dir), task="generation", max_len=64, batch_size=16,
                                progress=False, lora={"r": 8, "alpha": 16}, checkpoint_dir=folder)
    before = learner.evaluate()
    learner.fit_onecycle(5e-2, 3)
    return learner, before, texts, folder


def _base_weights(folder):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder).state_dict()


def test_lora_trains_only_its_adapters(lora_trained, tiny_llama_dir):
    learner, before, _, _ = lora_trained
    # a tiny model's adapters move it less than full training does (its embeddings hold most of what it learns)
    assert learner.evaluate().perplexity < 0.95 * before.perplexity
    trained = {name for group in learner._optimizer.param_groups for name, param in learner.model.named_parameters()
               if any(param is p for p in group["params"])}
    assert trained and all("lora_" in name for name in trained)  # the optimizer holds the adapters only
    base = _base_weights(tiny_llama_dir)
    for name, value in learner.model.get_base_model().state_dict().items():
        if "lora_" not in name:  # every weight of the model itself is as it was loaded
            assert torch.equal(value, base[name.replace(".base_layer", "")]), name
    snapshot = learner._snapshot()["model"]  # a state to come back to: the adapters, not the whole model
    assert snapshot and all("lora_" in name for name in snapshot)
    row = dict(learner.settings())["lora"]
    assert row.startswith("r=8, alpha=16: ") and "parameters train" in row


def test_a_lora_model_saves_merged_for_pipeline_or_as_its_adapter(lora_trained, tiny_llama_dir, tmp_path):
    from transformers import pipeline

    learner, _, _, _ = lora_trained
    predictor = learner.predictor()
    prompts = ["the film", "a dull"]
    ours = predictor.generate(prompts, max_new_tokens=12)
    def greedy(folder):
        writer = pipeline("text-generation", model=str(folder))
        return [writer(p, max_new_tokens=12, do_sample=False, return_full_text=False)[0]["generated_text"]
                for p in prompts]

    assert ours != greedy(tiny_llama_dir)  # the adapters changed what it writes
    merged = predictor.save(tmp_path / "merged")
    adapter = predictor.save(tmp_path / "adapter", adapter_only=True)
    assert not (merged / "adapter_config.json").exists() and (adapter / "adapter_config.json").is_file()
    size = sum(f.stat().st_size for f in adapter.glob("*.safetensors"))
    assert size < 0.5 * sum(f.stat().st_size for f in merged.glob("*.safetensors"))
    for folder in (merged, adapter):
        assert greedy(folder) == ours, folder.name
        assert ktnb.load_predictor(folder).generate(prompts, max_new_tokens=12) == ours
    with pytest.raises(ModelError, match="has none"):
        ktnb.Predictor.load(merged).save(tmp_path / "again", adapter_only=True)


def test_a_lora_run_resumes_from_its_checkpoint(lora_trained):
    learner, _, texts, folder = lora_trained
    again = ktnb.load_learner(folder, data=texts)
    assert again.lora == learner.lora and again.evaluate().loss == pytest.approx(learner.evaluate().loss, rel=1e-5)
    assert ktnb.load_predictor(folder).generate("the film", max_new_tokens=8) \
        == learner.predictor().generate("the film", max_new_tokens=8)  # the folder's weights are merged


def test_lora_on_a_classifier_trains_its_new_head_too(tiny_model_dir, sentiment_data, tmp_path):
    from transformers import pipeline

    learner = ktnb.text_learner(sentiment_data, str(tiny_model_dir), lora=True, progress=False)
    learner.fit(1e-2, 1)
    trained = [n for n, p in learner.model.named_parameters() if p.requires_grad]
    assert any("classifier" in n for n in trained) and all("lora_" in n or "classifier" in n for n in trained)
    predictor = learner.predictor()
    texts = ["a good film", "a dull film", "quite boring"]
    folder = predictor.save(tmp_path / "clf")
    assert [r["label"] for r in pipeline("text-classification", model=str(folder))(texts)] \
        == predictor.predict(texts)


def test_bad_lora_settings_are_one_line(tiny_llama_dir, monkeypatch):
    texts = ["the cat sat on the mat"] * 40
    for bad, words in [({"rank": 8}, "no setting 'rank'"), ({"r": 0}, "r must be"), ("yes", "True or a mapping"),
                       ({"dropout": 1.5}, "dropout"), ({"target_modules": []}, "target_modules")]:
        assert words in one_line(KtnbError, lambda: ktnb.text_learner(texts, str(tiny_llama_dir), task="generation",
                                                                      lora=bad, progress=False))
    message = one_line(ModelError, lambda: ktnb.text_learner(texts, str(tiny_llama_dir), task="generation",
                                                             lora={"target_modules": ["query"]}, progress=False))
    assert "no module of this llama model matches" in message and "q_proj" in message
    from ktnb.config import check_config

    assert "lora must be True" in one_line(KtnbError, lambda: check_config({"data": "x.csv", "lora": "yes"}))
    assert check_config({"data": "x.csv", "lora": {"r": 4}})["lora"]["alpha"] == 32
    import builtins

    real_import = builtins.__import__

    def no_peft(name, *args, **kwargs):
        if name == "peft" or name.startswith("peft."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_peft)
    assert "pip install peft" in one_line(ModelError, lambda: ktnb.text_learner(
        texts, str(tiny_llama_dir), task="generation", lora=True, progress=False))


def test_lora_on_a_tagger_and_a_question_answerer_saves_what_it_evaluated(tiny_model_dir, tmp_path):
    """Their heads train whole beside the adapters; every input reaches the model (a BERT's
    segment ids too), so the merged folder answers exactly as the learner did."""
    from test_qa import _examples, _squad
    from test_tagging import tagged_sentences

    tagger = ktnb.text_learner(ktnb.get_task("tagging").load_data(tagged_sentences(80)), str(tiny_model_dir),
                               lora=True, batch_size=16, progress=False)
    qa_data = ktnb.get_task("qa", stride=16).load_data(_squad(_examples(80, 1), tmp_path / "train.json"),
                                                        _squad(_examples(20, 2), tmp_path / "dev.json"))
    answerer = ktnb.text_learner(qa_data, str(tiny_model_dir), lora=True, batch_size=16, max_len=48, progress=False)
    for learner, head, inputs in ((tagger, "classifier", [["ann", "went", "to", "paris"]]),
                                  (answerer, "qa_outputs", [("who likes the film ?", "bob likes the film .")])):
        learner.fit(1e-2, 1)
        trained = [n for n, p in learner.model.named_parameters() if p.requires_grad]
        assert any(head in n for n in trained) and all("lora_" in n or head in n for n in trained)
        ours = learner.predictor().predict(inputs)
        theirs = ktnb.load_predictor(learner.predictor().save(tmp_path / head)).predict(inputs)
        if head == "qa_outputs":  # merged weights round differently in the last bits: the score, to 1e-5
            assert [(a.answer, a.start, a.end) for a in theirs] == [(a.answer, a.start, a.end) for a in ours]
            assert [a.score for a in theirs] == pytest.approx([a.score for a in ours], abs=1e-5)
        else:
            assert theirs == ours
        with pytest.raises(ModelError, match="adapter_only is for language models"):
            learner.predictor().save(tmp_path / f"{head}-adapter", adapter_only=True)


def test_an_adapter_folder_trains_and_saves_as_a_plain_model(lora_trained, tmp_path):
    learner, _, texts, _ = lora_trained
    folder = learner.predictor().save(tmp_path / "adapter", adapter_only=True)
    again = ktnb.text_learner(texts[:60], str(folder), task="generation", max_len=64, progress=False)
    assert not ktnb.lora.is_lora(again.model) and all(p.requires_grad for p in again.model.parameters())
    assert again.predictor().generate("the film", max_new_tokens=8) \
        == learner.predictor().generate("the film", max_new_tokens=8)  # the adapters merged in
    again.fit(1e-3, 1)
    again.predictor().save(tmp_path / "merged")
    assert (tmp_path / "merged" / "config.json").is_file()


def test_a_lora_run_resumed_with_other_lora_settings_is_refused(lora_trained):
    _, _, texts, folder = lora_trained
    message = one_line(ktnb.TrainingError, lambda: ktnb.load_learner(folder, data=texts, lora={"r": 8, "alpha": 64}))
    assert "lora" in message and "'alpha': 16" in message


def test_a_prompt_too_long_to_write_after_is_left_out_of_the_samples(tiny_chat_llama_dir):
    prompts = ["is it good? " * 20, "is it bad?", "why?", "how?"]
    data = ktnb.get_task("generation").load_data((prompts * 10, ["yes", "no", "because", "so"] * 10),
                                                 (prompts, ["yes", "no", "because", "so"]))
    learner = ktnb.text_learner(data, str(tiny_chat_llama_dir), max_len=32, progress=False)
    report = learner.evaluate()  # the first prompt is longer than max_len: training cuts it, samples skip it
    assert report.tokens > 0 and [p for p, _, _ in report.samples] == prompts[1:]


def test_the_lr_finder_suggests_lora_a_rate_ten_times_full_fine_tunings(trained, lora_trained):
    full, lora = (learner.lr_find(max_batches=12, min_batches=4) for learner in (trained[0], lora_trained[0]))
    assert lora.base_lr == pytest.approx(ktnb.lora.RATE_FACTOR * full.base_lr)


def test_each_written_token_is_explained_by_the_prompt_and_the_tokens_before_it(trained):
    pytest.importorskip("captum")
    import torch

    from ktnb.explain import WritingExplanation

    predictor = trained[0].predictor()
    prompt = "the <b>film</b>"
    found = predictor.explain(prompt)
    assert isinstance(found, WritingExplanation)
    written = predictor.generate(prompt, max_new_tokens=32)
    assert "".join(found.written_tokens) == written  # what the model writes, token by token
    n, inputs = len(found.written_tokens), len(found.source_tokens)
    assert found.scores.shape == (n, inputs + n) and found.texts == (prompt, written)
    assert all(not found.scores[j, inputs + j:].any() for j in range(n))  # nothing from itself or after
    # each value is the model's probability of that token after everything before it
    ids = predictor.task.encode_inputs(predictor.tokenizer, [prompt], 64).input_ids[0]
    tokens = predictor.tokenizer(written, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = predictor.model(torch.tensor([ids + tokens])).logits[0].float()
    expected = [float(logits[len(ids) + j - 1].softmax(-1)[t]) for j, t in enumerate(tokens[:n])]
    assert found.values == pytest.approx(expected, abs=1e-4)
    assert max(abs(d) for d in found.deltas) < 0.05
    html = found._repr_html_()
    assert "&lt;b&gt;film&lt;/b&gt;" in html and "<b>film</b>" not in html
    assert html.count('class="ktnb-attribution"') == sum(inputs + j for j in range(n))
    # a given text, explained as the model would write it after the prompt
    given = predictor.explain(prompt, target=" a fine story")
    assert "".join(given.written_tokens) == " a fine story" and len(given.values) == len(given.written_tokens)
    with pytest.raises(ktnb.KtnbError, match="target: the text to explain"):
        predictor.explain(["a", "b"], target=["only one"])
    # what a hostile review found: a character split over byte tokens reads whole; an index past
    # the written tokens, a text past the model's length and an empty prompt are one line each
    assert predictor.explain(prompt, target=" \U0001F600 ok").texts[1] == " \U0001F600 ok"
    assert found.top(-1) == found.top(n - 1)
    with pytest.raises(ktnb.KtnbError, match="written: a written token's index, from 0 to"):
        found.top(n)
    with pytest.raises(ktnb.KtnbError, match="target 0 is .* tokens, and this model reads at most .* after its "
                                             "input; shorten it"):
        predictor.explain(prompt, target=" good" * 130)
    with pytest.raises(ktnb.KtnbError, match="prompt 0 is .* tokens long"):
        predictor.explain("the film " * 70)
    with pytest.raises(ktnb.KtnbError, match="text 0 is empty"):
        predictor.explain("   ")
