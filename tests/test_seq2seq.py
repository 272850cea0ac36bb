"""Translation and summarisation: scores as sacrebleu and rouge-score give them, labels padded
for an encoder-decoder and the loss on the target only for a decoder-only model, tiny T5 and BART
fitted, saved and written with `AutoModelForSeq2SeqLM` to the same text, a decoder-only
translator in `pipeline("text-generation")`, and every bad input in one line."""

from __future__ import annotations

import warnings

import pytest
from conftest import SHARED_DATA, one_line, sentiment_texts

import ktnb
from ktnb.errors import DataError, KtnbError, KtnbWarning, ModelError


def reversed_pairs(n: int, seed: int = 3) -> tuple[list[str], list[str]]:
    """Sources, and as their targets the same words backwards: something to learn."""
    sources = [" ".join(t.split()[:6]) for t in sentiment_texts(n, seed=seed)[0]]
    return sources, [" ".join(reversed(s.split())) for s in sources]


def test_scores_are_sacrebleus_and_rouge_scores_own():
    import sacrebleu
    from rouge_score import rouge_scorer

    from ktnb.tasks.seq2seq_metrics import sentence_scores, signature, text_scores

    hyps = ["le chat est sur le tapis", "il fait beau", "bonjour"]
    refs = ["le chat est assis sur le tapis", "il fait très beau aujourd'hui", "au revoir"]
    ours = text_scores(hyps, refs, ("chrf", "bleu"))
    assert ours["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert ours["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert text_scores(refs, refs, ("chrf", "bleu")) == pytest.approx({"chrf": 100.0, "bleu": 100.0})
    scorer = rouge_scorer.RougeScorer(["rougeL", "rouge1"], use_stemmer=True)
    rouge = text_scores(hyps, refs, ("rougeL", "rouge1"))
    for name in ("rougeL", "rouge1"):
        assert rouge[name] == pytest.approx(100 * sum(scorer.score(r, h)[name].fmeasure
                                                      for h, r in zip(hyps, refs)) / 3)
    worst = sentence_scores(hyps, refs, "chrf")
    assert worst[2] == min(worst) and worst[0] == pytest.approx(sacrebleu.sentence_chrf(hyps[0], [refs[0]]).score)
    assert signature("bleu").startswith("nrefs:1|case:mixed") and "version:" in signature("chrf")


def test_an_encoder_decoders_labels_are_padded_apart_and_the_model_shifts_them(tiny_t5_dir):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from ktnb.batching import IGNORED_LABEL, PadCollator
    from ktnb.data import LabelledTexts
    from ktnb.tasks.seq2seq import row_losses

    tokenizer = AutoTokenizer.from_pretrained(tiny_t5_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_t5_dir).eval()
    task = ktnb.get_task("translation", source_lang="en", target_lang="fr").for_model(model.config)
    assert task.options["prefix"] == "translate English to French: " and not task.decoder_only
    part = LabelledTexts(["the film was good", "a dull plot"], ["good was film the long long long long", "plot"])
    rows = task.encode(tokenizer, part, 64)
    assert rows.input_ids[1] == tokenizer("translate English to French: a dull plot")["input_ids"]
    assert rows.labels[1] == tokenizer(text_target="plot")["input_ids"]  # ends with </s>, no prefix
    batch = PadCollator(tokenizer.pad_token_id)([rows[0], rows[1]])
    assert batch["labels"].shape[1] == len(rows.labels[0]) != batch["input_ids"].shape[1]
    assert (batch["labels"][1, len(rows.labels[1]):] == IGNORED_LABEL).all()
    out = model(**batch)  # the decoder's inputs made by the model's own shift of the labels
    sums = row_losses(out, batch, shifted=False)
    assert out.loss.item() == pytest.approx(sums["nll"].sum() / sums["tokens"].sum(), rel=1e-5)
    assert task.loss_weight(batch) == sums["tokens"].sum() == len(rows.labels[0]) + len(rows.labels[1])


def test_a_decoder_only_translator_scores_the_target_alone(tiny_llama_dir):
    from transformers import AutoConfig, AutoTokenizer

    from ktnb.batching import IGNORED_LABEL
    from ktnb.data import LabelledTexts

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    task = ktnb.get_task("translation", source_lang="English", target_lang="fr").for_model(
        AutoConfig.from_pretrained(tiny_llama_dir))
    assert task.decoder_only and task.auto_model == "AutoModelForCausalLM" and task.options["prefix"] == ""
    rows = task.encode(tokenizer, LabelledTexts(["the film"], ["le film"]), 64)
    prompt = tokenizer("Translate English to French.\nEnglish: the film\nFrench:")["input_ids"]
    target = tokenizer(" le film", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert rows.input_ids[0] == prompt + target
    assert rows.labels[0] == [IGNORED_LABEL] * len(prompt) + target
    assert task.encode_inputs(tokenizer, ["the film"], 64).input_ids[0] == prompt


@pytest.fixture(scope="module", params=["t5", "bart"])
def trained(request, tiny_t5_dir, tiny_bart_dir):
    folder = tiny_t5_dir if request.param == "t5" else tiny_bart_dir
    sources, targets = reversed_pairs(160)
    data = ktnb.get_task("translation", source_lang="en", target_lang="fr", val_generate=8).load_data(
        (sources, targets), val_frac=0.2, seed=0)
    learner = ktnb.text_learner(data, str(folder), batch_size=16, progress=False, seed=0)
    before = learner.evaluate()
    learner.fit(1e-2, 6)
    return learner, before


def test_a_fit_lowers_the_loss_and_scores_a_sample_each_epoch(trained):
    learner, before = trained
    after = learner.evaluate()
    assert after.loss < 0.8 * before.loss, (before.headline, after.headline)
    assert after.n_written == after.n_total == len(learner.data.val) == 32  # evaluate writes them all
    epoch = learner.history.epochs[-1]
    assert {"val_loss", "val_chrf", "val_bleu"} <= set(epoch)
    assert learner.monitor == "val_chrf"
    assert "written" in after.headline and "chrF" in after.headline and "BLEU" in after.headline
    # the report scores what the predictor writes from the raw sources, scored independently
    import sacrebleu

    written = learner.predictor().translate(learner.data.val.texts)
    assert [row[2] for row in after.rows] == written
    assert after.scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(written, [learner.data.val.labels]).score)


def test_the_saved_folder_writes_the_same_with_auto_model_for_seq2seq_lm(trained, tmp_path):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    learner, _ = trained
    sources = learner.data.val.texts[:6]
    predictor = learner.predictor()
    ours = predictor.translate(sources)
    # the tiny T5 learns to write words; the tiny BART, this fast, only its begin-of-text token
    assert any(ours) or learner.model.config.model_type == "bart"
    assert predictor.translate(sources[0]) == ours[0] == predictor.predict(sources[0])
    folder = predictor.save(tmp_path / "translator")
    assert ktnb.load_predictor(folder).translate(sources) == ours
    model, tokenizer = AutoModelForSeq2SeqLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    prefix = learner.task.options["prefix"]
    batch = tokenizer([prefix + s for s in sources], return_tensors="pt", padding=True)
    written = model.generate(**batch, max_new_tokens=128, do_sample=False)
    assert [t.strip() for t in tokenizer.batch_decode(written, skip_special_tokens=True)] == ours
    beams = predictor.translate(sources, num_beams=3)
    batch4 = model.generate(**batch, max_new_tokens=128, do_sample=False, num_beams=3)
    assert [t.strip() for t in tokenizer.batch_decode(batch4, skip_special_tokens=True)] == beams


def test_the_report_shows_sources_references_and_the_worst_escaped(trained):
    learner, _ = trained
    sources = ["<b>bold</b> film", "the plot"]
    report = learner.evaluate((sources, ["film <b>bold</b>", "plot the"]))
    html = report._repr_html_()
    assert "&lt;b&gt;bold&lt;/b&gt; film" in html and "<b>bold" not in html
    assert "written worst" in html and "nrefs:1" in html
    assert report.worst(1)[0][3] == min(row[3] for row in report.rows)
    assert str(report).count(" example  ") == 2 and report.to_dict()["examples"] == 2
    losses = learner.top_losses(3)
    assert list(losses.columns) == ["text", "true", "predicted", "loss"] and losses["loss"].is_monotonic_decreasing


def test_a_decoder_only_translator_writes_one_line_that_the_pipeline_writes_too(tiny_llama_dir, tmp_path):
    from transformers import pipeline

    sources, targets = reversed_pairs(120, seed=4)
    data = ktnb.get_task("translation", val_generate=4).load_data((sources, targets), val_frac=0.1, seed=0)
    learner = ktnb.text_learner(data, str(tiny_llama_dir), batch_size=16, progress=False, seed=0)
    learner.fit(3e-3, 2)
    assert learner.task.decoder_only and learner.data.task_options["decoder_only"] is None
    predictor = learner.predictor()
    ours = predictor.translate(sources[:3], max_new_tokens=12)
    assert all("\n" not in t for t in ours)
    folder = predictor.save(tmp_path / "translator")
    loaded = ktnb.load_predictor(folder)
    assert loaded.task.decoder_only and loaded.translate(sources[:3], max_new_tokens=12) == ours
    writer = pipeline("text-generation", model=str(folder))
    prompts = [learner.task.prompt(s) for s in sources[:3]]
    assert prompts[0].startswith("Translate the source text.\nSource: ") and prompts[0].endswith("\nTarget:")
    theirs = [writer(p, max_new_tokens=12, do_sample=False, return_full_text=False)[0]["generated_text"]
              for p in prompts]
    assert [t.split("\n")[0].strip() for t in theirs] == ours


def test_summarisation_scores_rouge_and_t5_reads_its_prefix(tiny_t5_dir):
    sources = [t for t in sentiment_texts(60, seed=6)[0]]
    summaries = [" ".join(s.split()[:3]) for s in sources]
    data = ktnb.get_task("summarization").load_data({"document": sources, "summary": summaries}, val_frac=0.25)
    learner = ktnb.text_learner(data, str(tiny_t5_dir), batch_size=16, progress=False)
    assert learner.task.options["prefix"] == "summarize: " and learner.monitor == "val_rougeL"
    learner.fit(1e-2, 1)
    report = learner.evaluate()
    assert set(report.scores) == {"rougeL", "rouge1", "rouge2"} and "ROUGE-L" in report.headline
    assert isinstance(learner.predictor().summarize(sources[0]), str)
    with pytest.raises(KtnbError, match="translate needs a translator"):
        learner.predictor().translate(sources[0])


def test_the_task_is_read_from_the_columns_and_the_hubs_translation_rows(tmp_path):
    import pandas as pd

    from ktnb.tasks import infer_task

    pd.DataFrame({"source": ["a b"], "target": ["b a"]}).to_csv(tmp_path / "pairs.csv", index=False)
    frame = pd.read_csv(tmp_path / "pairs.csv")
    assert infer_task(str(tmp_path / "pairs.csv"), {}, frame) == "translation"
    assert infer_task(None, {}, pd.DataFrame({"document": ["x"], "summary": ["y"]})) == "summarization"
    rows = pd.DataFrame({"translation": [{"en": "the cat", "fr": "le chat"}, {"en": "a dog", "fr": "un chien"}]})
    data = ktnb.get_task("translation", source_lang="English", target_lang="fr").load_data(rows, val_frac=0)
    assert data.train.texts == ["the cat", "a dog"] and data.train.labels == ["le chat", "un chien"]
    with pytest.raises(DataError, match="source_lang= and target_lang="):
        ktnb.get_task("translation").load_data(rows)
    import datasets

    split = datasets.Dataset.from_dict({"translation": list(rows["translation"])})  # a hub split as it comes
    from_hub = ktnb.get_task("translation", source_lang="en", target_lang="French").load_data(split, val_frac=0)
    assert from_hub.train.texts == data.train.texts and from_hub.train.labels == data.train.labels
    summaries = datasets.Dataset.from_dict({"article": ["a long text"], "highlights": ["short"]})
    assert ktnb.get_task("summarization").load_data(summaries, val_frac=0).train.labels == ["short"]


def test_bad_input_is_one_line(tiny_t5_dir, tiny_model_dir, tmp_path):
    from transformers import AutoConfig, AutoTokenizer

    from ktnb.data import LabelledTexts

    task = ktnb.get_task("translation")
    message = one_line(DataError, lambda: task.load_data((["a b", " ", "c"], ["x", "y", "z"])))
    assert "empty source" in message and "row 1" in message
    message = one_line(DataError, lambda: task.load_data({"source": ["a", "b"], "target": ["x", None]}))
    assert "empty target" in message and "row 1" in message
    assert "no target column" in one_line(DataError, lambda: task.load_data({"source": ["a"], "french": ["b"]}))
    assert "no target column 'fr'" in one_line(DataError, lambda: task.load_data({"source": ["a"], "target": ["b"]},
                                                                                 label_col="fr"))
    message = one_line(ModelError, lambda: ktnb.text_learner((["a b"] * 8, ["b a"] * 8), str(tiny_model_dir),
                                                             task="translation", progress=False))
    assert "encoder-only" in message and "cannot write" in message
    t5 = task.for_model(AutoConfig.from_pretrained(tiny_t5_dir))
    tokenizer = AutoTokenizer.from_pretrained(tiny_t5_dir)
    short = ktnb.get_task("translation", max_target_len=4).for_model(AutoConfig.from_pretrained(tiny_t5_dir))
    with pytest.warns(KtnbWarning, match="2 of 3 targets are longer than max_target_len=4"):
        rows = short.encode(tokenizer, LabelledTexts(["a", "b", "c"], ["the film was good", "a", "it is very dull"]), 32)
    assert max(len(r) for r in rows.labels) == 4 and rows.labels[0][-1] == tokenizer.eos_token_id
    bert_tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)  # word pieces of English words only
    message = one_line(DataError, lambda: t5.encode(bert_tokenizer, LabelledTexts(
        ["the film"] * 3, ["Фильм был хорош", "Очень скучно", "Сюжет"]), 32))
    assert "unknown" in message and "targets" in message
    predictor = ktnb.Predictor(*_model_and_tokenizer(tiny_t5_dir), [], task=ktnb.get_task("translation"))
    assert "text 1 is empty" in one_line(KtnbError, lambda: predictor.translate(["a film", "  "]))
    assert "reads texts" in one_line(KtnbError, lambda: predictor.translate([("a", "b")]))
    with pytest.raises(KtnbError, match="val_generate"):
        ktnb.get_task("translation", val_generate=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # targets within max_target_len: no warning
        t5.encode(tokenizer, LabelledTexts(["a"], ["b"]), 32)


def _model_and_tokenizer(folder):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    return AutoModelForSeq2SeqLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)


def test_a_ktrain_cell_translates_a_csv_with_the_tasks_options(tiny_bart_dir, tmp_path):
    import pandas as pd
    from IPython.testing import globalipapp

    sources, targets = reversed_pairs(80, seed=9)
    pd.DataFrame({"source": sources, "target": targets}).to_csv(tmp_path / "pairs.csv", index=False)
    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "ktnb")
    shell.run_cell_magic("ktrain", "-o mt -q", f"""
data: {tmp_path / 'pairs.csv'}
model: {tiny_bart_dir}
task_options: {{source_lang: en, target_lang: fr, val_generate: 4}}
batch_size: 16
lr: 0.003
epochs: 1
show: [report]
predict: [the film was good]
save: {tmp_path / 'saved'}
""")
    session = shell.user_ns["mt"]
    assert session.learner.task.name == "translation" and not session.learner.task.decoder_only
    assert "val_chrf" in session.learner.history.epochs[-1] and session.report.n_written == 8
    [(source, written)] = session.predictions
    assert source == "the film was good" and ktnb.load_predictor(tmp_path / "saved").translate(source) == written


def test_the_panel_reads_pairs_trains_evaluates_and_translates_what_is_typed(tiny_t5_dir, tmp_path):
    import html

    import pandas as pd

    from ktnb.jupyter.panel import Panel

    sources, targets = reversed_pairs(96, seed=10)
    pd.DataFrame({"english": sources, "french": targets}).to_csv(tmp_path / "pairs.csv", index=False)
    panel = Panel(data=str(tmp_path / "pairs.csv"), model=str(tiny_t5_dir))
    panel.task.value, panel.text_col.value, panel.label_col.value = "translation", "english", "french"
    panel.task_options.value = "source_lang: en, target_lang: fr, val_generate: 4"
    panel.load_button.click()
    assert panel.learner is not None, panel.data_status.value
    assert panel.learner.task.options["prefix"] == "translate English to French: "
    panel.lr.value, panel.epochs.value = 1e-2, 2
    panel.start_button.click()
    panel.wait(120)
    assert [e.name for e in panel.events].count("epoch_end") == 2
    assert "val_chrf" in panel.learner.history.epochs[-1]
    panel.eval_button.click()
    panel.wait(60)
    assert "chrF" in panel.report_html.value and "written worst" in panel.report_html.value, panel.eval_status.value
    assert panel.tabs.get_title(4) == "Translate" and panel.predict_button.description == "Translate"
    text = "the <b>film</b> was good"
    written = panel.learner.predictor().translate(text)
    panel.text.value = text
    panel.predict_button.click()
    panel.wait(60)
    shown = panel.predictions.value
    assert "the &lt;b&gt;film&lt;/b&gt;" in shown and html.escape(written) in shown and "writing" not in shown
    panel.task_options.value = "[1, 2"
    panel.load_button.click()
    panel.wait(30)
    assert "task_options" in panel.data_status.value


def test_what_a_hostile_reader_found(tiny_t5_dir, tiny_bart_dir, tiny_llama_dir, monkeypatch):
    import sys

    import pandas as pd
    from transformers import AutoConfig, AutoTokenizer

    from ktnb.batching import IGNORED_LABEL
    from ktnb.config import check_config, load_config_data
    from ktnb.data import LabelledTexts

    # a decoder-only row scores at most max_target_len tokens of the target, and its prompt stays whole
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    task = ktnb.get_task("translation", source_lang="en", target_lang="fr", max_target_len=8).for_model(
        AutoConfig.from_pretrained(tiny_llama_dir))
    with pytest.warns(KtnbWarning, match="1 of 1 targets"):
        rows = task.encode(tokenizer, LabelledTexts(["the film"], [" ".join(["film good acting fine plot"] * 4)]), 100)
    prompt = task.prompt_ids(tokenizer, ["the film"])[0]
    assert rows.input_ids[0][:len(prompt)] == prompt and rows.labels[0][:len(prompt)] == [IGNORED_LABEL] * len(prompt)
    assert sum(label != IGNORED_LABEL for label in rows.labels[0]) == 8
    # a target of several lines is learnt as one, as the model writes to the end of the line
    rows = task.encode(tokenizer, LabelledTexts(["the film"], ["good\nfilm"]), 100)
    assert tokenizer.decode([t for t in rows.labels[0] if t != IGNORED_LABEL], skip_special_tokens=True) == " good film"

    # num_beams 1 is greedy even when the model's own generation config asks for beams
    sources, targets = reversed_pairs(40, seed=11)
    data = ktnb.get_task("translation", val_generate=2).load_data((sources, targets), val_frac=0.25, seed=0)
    seen = []
    metric = ktnb.Metric("written", lambda truth, written: seen.append((truth, written)) or float(len(written)))
    learner = ktnb.text_learner(data, str(tiny_t5_dir), batch_size=16, progress=False, metrics=[metric])
    learner.model.generation_config.num_beams = 4
    calls = []
    generate = learner.model.generate
    monkeypatch.setattr(learner.model, "generate", lambda **kw: calls.append(kw.get("num_beams")) or generate(**kw))
    learner.fit(1e-3, 1)
    assert calls and set(calls) == {1}
    # a user's metric sees the examples written after an epoch, not "" for the others
    assert learner.history.epochs[-1]["val_written"] == 2 and all(None not in w for _, w in seen)
    predictor = learner.predictor()
    predictor.translate(sources[:2], num_beams=1)
    assert calls[-1] == 1

    # what the data may not be
    task = ktnb.get_task("translation")
    frame = pd.DataFrame({"source": ["a", "b"], "target": ["x", None]}).astype("string")
    assert "empty target" in one_line(DataError, lambda: task.load_data(frame))
    en_fr = ktnb.get_task("translation", source_lang="en", target_lang="fr")
    bad = pd.DataFrame({"translation": [{"en": "a", "fr": "b"}, None]})
    assert "translation row 1 is a NoneType" in one_line(DataError, lambda: en_fr.load_data(bad))
    bad = pd.DataFrame({"translation": [{"en": "a", "fr": "b"}, {"en": "c"}]})
    assert "translation row 1 has the languages en, not 'fr'" in one_line(DataError, lambda: en_fr.load_data(bad))
    read_back = pd.DataFrame({"translation": [str({"en": "a", "fr": "b"})]})
    assert "is a str" in one_line(DataError, lambda: en_fr.load_data(read_back))

    # settings that cannot work are refused before training
    long_targets = ktnb.get_task("translation", max_target_len=300)
    assert "decoder reads" in one_line(ModelError, lambda: long_targets.for_model(AutoConfig.from_pretrained(
        tiny_bart_dir)))
    quiet = ktnb.get_task("translation", val_generate=0).load_data((sources, targets))
    message = one_line(Exception, lambda: ktnb.text_learner(quiet, str(tiny_t5_dir), monitor="val_chrf",
                                                             progress=False))
    assert "val_chrf" in message and "val_loss" in message
    assert "encoder-decoder" in one_line(DataError, lambda: learner.predictor().attention("the film"))
    monkeypatch.setitem(sys.modules, "sacrebleu", None)
    assert "pip install 'ktnb[seq2seq]'" in one_line(KtnbError, lambda: ktnb.text_learner(data, str(tiny_t5_dir),
                                                                                         progress=False))
    monkeypatch.delitem(sys.modules, "sacrebleu")

    # data already read, in a cell: its options can change, how it was read cannot
    config = check_config({"data": data, "task_options": {"num_beams": 2}})
    assert load_config_data(data, config).task_options["num_beams"] == 2 and data.task_options["num_beams"] == 1
    config = check_config({"data": data, "max_train": 5})
    assert "max_train" in one_line(KtnbError, lambda: load_config_data(data, config))


@pytest.mark.slow
def test_smollm2_translates_english_to_french_better_after_a_short_fine_tune():
    """The real SmolLM2 on real English→French pairs (../shared/data/translation): chrF on 40
    dev pairs rises after one epoch on 160 training pairs."""
    folder = SHARED_DATA / "translation"
    if not (folder / "train.csv").is_file():
        pytest.skip("needs ../shared/data/translation")
    task = ktnb.get_task("translation", source_lang="en", target_lang="fr", val_generate=0, max_target_len=32)
    data = task.load_data(folder / "train.csv", folder / "dev.csv", max_train=160)
    data.val = type(data.val)(data.val.texts[:40], data.val.labels[:40])
    learner = ktnb.text_learner(data, "smollm2", batch_size=16, progress=False)
    before = learner.evaluate()
    learner.fit_onecycle(1e-4, 1)
    after = learner.evaluate()  # measured: chrF 9.1 -> 16.3 (bench/RESULTS.md)
    assert after.scores["chrf"] > before.scores["chrf"] + 3, (before.headline, after.headline)


def test_a_translation_is_explained_token_by_token_over_the_source(trained):
    pytest.importorskip("captum")
    learner, _ = trained
    predictor = learner.predictor()
    source = learner.data.val.texts[0]
    if learner.model.config.model_type == "t5":  # the tiny T5 writes words
        found = predictor.explain(source)
        assert "".join(found.written_tokens).strip() == predictor.translate(source)
    else:  # the tiny BART only its begin-of-text token: nothing to explain, in one line
        with pytest.raises(ktnb.KtnbError, match="writes nothing after input 0 .or only special tokens.; give "
                                                 "target="):
            predictor.explain(source)
    found = predictor.explain(source, target="le chat noir")
    n, inputs = len(found.written_tokens), len(found.source_tokens)
    assert "".join(found.written_tokens).strip() == "le chat noir"
    assert found.scores.shape == (n, inputs + n) and found.texts[0] == source
    assert "translate English to French: " in "".join(found.source_tokens) or \
        learner.model.config.model_type == "bart"  # T5 reads its prefix; the source's tokens are in the rows
    assert max(abs(d) for d in found.deltas) < 0.1
    assert all(0 < v <= 1 for v in found.values) and found.scores[0, :inputs].any()
    assert "ktnb-writing" in found._repr_html_()
