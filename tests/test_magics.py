"""The magics in a real IPython shell: %load_ext, a %%ktrain run, results in the namespace,
line commands, and every documented error as one line."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.testing import globalipapp

from conftest import sentiment_texts


@pytest.fixture(scope="module")
def ip():
    shell = globalipapp.get_ipython()  # the test session's one shell (started here or by an earlier module)
    shell.run_line_magic("load_ext", "ktnb")
    yield shell
    shell.run_line_magic("unload_ext", "ktnb")


@pytest.fixture(scope="module")
def trained(ip, tiny_model_dir):
    texts, labels = sentiment_texts(320, seed=2)
    ip.user_ns["reviews"] = pd.DataFrame({"review": texts, "sentiment": labels})
    ip.user_ns["tiny"] = str(tiny_model_dir)
    ip.run_cell_magic("ktrain", "-o clf -q", """
data: reviews
text_col: review
label_col: sentiment
model: "{tiny}"
batch_size: 16
lr: 3e-3
epochs: 4
show: [report, confusion, history, top_losses, explain]
attention: the film was great
predict: [a wonderful story, a dull mess]
""")
    return ip.user_ns["clf"]


def test_load_ext_does_not_import_torch():
    code = ("from IPython.testing.globalipapp import start_ipython; ip = start_ipython(); "
            "ip.run_line_magic('load_ext', 'ktnb'); import sys; "
            "print('torch' in sys.modules, 'transformers' in sys.modules, 'ktrain' in ip.magics_manager.magics['cell'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-3:] == ["False", "False", "True"]
    assert out.stderr == ""


def test_cell_magic_trains_and_leaves_the_session_in_the_namespace(trained, capsys):
    assert trained.report.accuracy >= 0.9
    assert trained.learner.class_names == ["neg", "pos"]
    assert [p[1] for p in trained.predictions] == ["pos", "neg"]
    assert trained.attention.tokens[0] == "[CLS]" and "great" in trained.attention.tokens
    assert trained.predictor.predict("a superb film") == "pos"
    # show: explain explains the predict: texts
    assert [(e.texts, e.label) for e in trained.explanation] == [(("a wonderful story",), "pos"),
                                                                 (("a dull mess",), "neg")]


def test_lr_find_in_the_cell(ip, tiny_model_dir, capsys):
    ip.user_ns["small"] = pd.DataFrame(dict(zip(("text", "label"), sentiment_texts(320, seed=3))))
    ip.run_cell_magic("ktrain", "-o found -q", f"data: small\nmodel: {tiny_model_dir}\nbatch_size: 16\nlr: find\n"
                                              "show: [lr_find]")
    found = ip.user_ns["found"]
    assert found.lr_finder is not None and found.learner.history.epochs[0]["lr"] > 0
    assert "lr_find suggests" in capsys.readouterr().out


def test_line_commands_on_the_last_session(ip, trained, tmp_path, capsys):
    ip.run_line_magic("ktrain", "predict 'the plot was awful' \"a funny film\"")
    ip.run_line_magic("ktrain", "-s clf attention 'a great film'")  # quotes are not part of the text
    assert trained.attention.text == "a great film"
    ip.run_line_magic("ktrain", "evaluate")
    ip.run_line_magic("ktrain", "attention 'a great film' 2 1")
    ip.run_line_magic("ktrain", "top_losses 3")
    ip.run_line_magic("ktrain", "fit 1e-3 1 linear")
    ip.run_line_magic("ktrain", f"save {tmp_path / 'saved'}")
    assert (tmp_path / "saved" / "model.safetensors").is_file()
    assert f"saved the predictor to {tmp_path / 'saved'}" in capsys.readouterr().out
    panel = ip.run_line_magic("ktrain", "-s clf panel")
    assert type(panel).__name__ == "Panel"


def test_help_is_generated_from_magic_arguments(ip):
    doc = ip.magics_manager.magics["line"]["ktrain"].__doc__
    assert "%ktrain [-o OUT] [-s SESSION] [-q] [-l N] [command] [args ...]" in doc
    assert "--out" in doc and "fit LR [EPOCHS [SCHEDULE]]" in " ".join(doc.split())  # argparse wraps lines


@pytest.mark.parametrize("body, message", [
    ("data: reviews\nepoch: 2", "unknown key 'epoch' (did you mean 'epochs'?); allowed keys: data, val"),
    ("data: reviews\nlr: fast", "lr: 'fast' is not allowed; expected a number, or find"),
    ("data: reviews\nschedule: triangle", "schedule: 'triangle' is not allowed; expected one of onecycle, linear"),
    ("data: reviews\nbatch_size: -4", "batch_size: -4 is not allowed; expected a whole number"),
    ("data: reviews\nshow: [everything]", "show: 'everything' is not allowed; expected a list of: report"),
    ("data: reviews\n{frame}: 1", "the %%ktrain cell has a key that is not a name (line 2): {'frame': None}"),
    ("epochs: 1", "data: missing"),
    ("data: [unclosed", "the %%ktrain cell is not valid YAML (line"),
    ("# only a comment", "the %%ktrain cell is empty"),
    ("data: no_such_file.csv", "file not found: no_such_file.csv"),
    ("data: reviews\ntext_col: body", "has no column 'body' (set text_col); available columns: review, sentiment"),
    ("data: reviews\ntext_col: review\nlabel_col: sentiment\nmodel: ./no/such/model",
     "model directory not found: no/such/model"),
])
def test_cell_errors_are_one_line_usage_errors(ip, trained, body, message):
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("ktrain", "-q", body)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("line, message", [
    ("", "%ktrain needs a command"),
    ("--bogus evaluate", "unrecognized arguments: --bogus"),
    ("lunch", "unknown %ktrain command 'lunch'"),
    ("fit", "usage: %ktrain fit LR"),
    ("fit fast", "LR must be a number, got 'fast'"),
    ("fit 1e-3 two", "EPOCHS must be a whole number"),
    ("fit 1e-3 1 triangle", "unknown schedule 'triangle'"),
    ("attention 'a film' 9", "LAYER must be between 1 and 2"),
    ("-s nobody evaluate", "no ktnb session named 'nobody'"),
])
def test_line_errors(ip, trained, line, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("%", "%")):
        ip.run_line_magic("ktrain", line)


def test_run_cell_shows_one_line_and_no_traceback(ip, trained, capsys):
    result = ip.run_cell("%%ktrain -q\ndata: reviews\nepoch: 2\n")
    captured = capsys.readouterr()
    assert isinstance(result.error_in_exec, UsageError)
    assert "Traceback" not in captured.out + captured.err
    assert "UsageError: unknown key 'epoch'" in captured.out + captured.err


# ---------------------------------------------------------------- hostile and unusual input


def _cell(ip, body: str, out: str = "hostile"):
    ip.user_ns.pop(out, None)
    ip.run_cell_magic("ktrain", f"-o {out} -q", body)
    return ip.user_ns[out]


BASE = "data: reviews\ntext_col: review\nlabel_col: sentiment\nmodel: '{tiny}'\nbatch_size: 16\nlr: 3e-3\n"


def test_a_dollar_in_the_body_keeps_every_line(ip, trained, tmp_path):
    session = _cell(ip, BASE + f"save: {tmp_path / 'kept'}\nepochs: 2\npredict: worth $5 of my time\n")
    assert session.config["epochs"] == 2 and session.saved_to == str(tmp_path / "kept")
    assert [p[0] for p in session.predictions] == ["worth $5 of my time"]


def test_a_variable_holding_a_newline_cannot_add_keys(ip, trained, tmp_path):
    ip.user_ns["review"] = f"a fine film\nsave: {tmp_path / 'injected'}"
    session = _cell(ip, BASE + "predict: '{review}'\nattention: 'I said: {review}'\n")
    assert session.config["save"] is None and not (tmp_path / "injected").exists()
    assert session.predictions[0][0] == ip.user_ns["review"]
    assert session.attention.text == "I said: " + ip.user_ns["review"]


def test_placeholders_fill_values_after_parsing(ip, trained):
    ip.user_ns["n_rows"] = 100
    session = _cell(ip, BASE.replace("data: reviews", "data: {reviews}") + "max_train: {n_rows}\n"
                    "predict: ['{{n_rows}} is literal', 'a {{7*7}} film']\n")
    assert len(session.learner.train_ds) + len(session.learner.val_ds) == 100
    assert [p[0] for p in session.predictions] == ["{n_rows} is literal", "a {{7*7}} film"]


def test_max_train_holds_when_a_validation_set_is_given(ip, trained):
    texts, labels = sentiment_texts(200, seed=9)
    ip.user_ns["held_out"] = pd.DataFrame({"review": texts, "sentiment": labels})
    session = _cell(ip, BASE + "val: held_out\nmax_train: 60\n")
    assert len(session.learner.train_ds) == 60 and len(session.learner.val_ds) == 200


def test_a_test_set_in_the_cell_is_what_the_report_is_on(ip, trained, tmp_path):
    texts, labels = sentiment_texts(40, seed=11)
    path = tmp_path / "test.csv"
    pd.DataFrame({"review": texts, "sentiment": labels}).to_csv(path, index=False)
    session = _cell(ip, BASE + f"test: {path}\nmax_train: 60\n")
    assert session.report.n == 40 and "on 40 test examples" in session.report.headline
    assert len(session.learner.val_ds) == 6  # validation held out of the training rows, apart from the test set


@pytest.mark.parametrize("body, message", [
    (BASE + "predict: '{nowhere}'", "{nowhere} in 'predict': there is no notebook variable named 'nowhere'; define it "
                                    "first, or write {{nowhere}} for literal braces"),
    (BASE + "epochs: 1\nepochs: 2", "the %%ktrain cell gives 'epochs' twice (line 8); keep one"),
    ("- data: reviews\n- epochs: 1", "the %%ktrain cell must be key: value lines (e.g. data: train.csv), not a list"),
    ("just some words", "the %%ktrain cell must be key: value lines (e.g. data: train.csv), not a str"),
    (BASE + "class_names: neg", "class_names must be a list of names, e.g. [neg, pos], got 'neg'"),
    (BASE + "epochs: 2.7", "epochs: 2.7 is not allowed; expected a whole number"),
    (BASE + "max_train: 0", "max_train: 0 is not allowed; expected a whole number"),
    (BASE + "max_len: 2", "max_len must be a whole number between 8 and 128 (this model's limit), got 2"),
    (BASE.replace("'{tiny}'", "''"), "model is an empty name; give a hub name, a model folder, or None"),
    (BASE + "save: ''", "save needs a folder path, e.g. save('my-model'); got an empty path"),
    (BASE + "encoding: 7", "encoding: 7 is not allowed; expected the text encoding of a CSV/TSV file"),
    ("data: !!python/object/apply:os.system ['echo pwned']", "the %%ktrain cell is not valid YAML (line 1): "
                                                              "could not determine a constructor for the tag"),
    (BASE + "predict: ['fine', '']", "predict: ['fine', ''] is not allowed; expected a sentence or a list of "
                                     "(non-empty) sentences"),
    (BASE + "attention: 5", "attention: 5 is not allowed; expected a (non-empty) sentence"),
])
def test_more_cell_mistakes_are_one_line(ip, trained, body, message):
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("ktrain", "-q", body)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_sep_and_encoding_keys_read_the_file(ip, trained, tmp_path, tiny_model_dir):
    texts, labels = sentiment_texts(120, seed=6)
    path = tmp_path / "reviews.csv"
    path.write_bytes(("text;label\n" + "\n".join(f"{t} café;{label}" for t, label in zip(texts, labels)))
                     .encode("latin-1"))
    with pytest.raises(UsageError, match="is not utf-8 text .byte 0xe9 on line 2.; pass encoding='latin-1'"):
        ip.run_cell_magic("ktrain", "-q", f"data: {path}\nmodel: {tiny_model_dir}\nlr: 1e-3\n")
    with pytest.raises(UsageError, match="it looks semicolon-separated; pass sep=';'"):
        ip.run_cell_magic("ktrain", "-q", f"data: {path}\nmodel: {tiny_model_dir}\nlr: 1e-3\nencoding: latin-1\n")
    session = _cell(ip, f"data: {path}\nmodel: {tiny_model_dir}\nlr: 1e-3\nencoding: latin-1\nsep: ';'\n")
    assert session.learner.class_names == ["neg", "pos"] and "café" in session.data.train.texts[0]


def test_dollar_class_names_train_show_and_store_the_session(ip, trained, capsys):
    texts, labels = sentiment_texts(160, seed=7)
    ip.user_ns["prices"] = pd.DataFrame({"text": texts, "label": ["$$$" if lb == "pos" else "$" for lb in labels]})
    session = _cell(ip, "data: prices\nmodel: '{tiny}'\nbatch_size: 16\nlr: 3e-3\nshow: [report, confusion, history]\n",
                    out="prices_clf")
    assert session.learner.class_names == ["$", "$$$"]
    assert "could not show" not in capsys.readouterr().err


def test_a_picture_that_fails_does_not_cost_the_session(ip, trained, capsys, monkeypatch):
    from ktnb.metrics import ClassificationReport

    def broken(self, normalize=False):
        raise RuntimeError("no font\nsecond line")

    monkeypatch.setattr(ClassificationReport, "plot_confusion", broken)
    session = _cell(ip, BASE + "show: [report, confusion]\npredict: a fine film\n", out="survivor")
    assert ip.user_ns["survivor"] is session and session.predictions  # the steps after the picture ran too
    assert "ktnb: could not show the confusion matrix (RuntimeError: no font)" in capsys.readouterr().err


def test_the_session_is_stored_before_a_later_step_fails(ip, trained, tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(UsageError, match="cannot save into .*a-file: it is a file"):
        ip.run_cell_magic("ktrain", "-o before_save -q", BASE + f"save: {tmp_path / 'a-file'}\n")
    assert ip.user_ns["before_save"].learner.history.epochs  # trained, and kept


def test_line_arguments_stay_literal(ip, trained):
    ip.run_line_magic("ktrain", "-s clf attention \"costs $x\"")
    assert trained.attention.text == "costs $x"
    ip.run_line_magic("ktrain", "-s clf attention '{{7*7}}'")
    assert trained.attention.text == "{{7*7}}"
    ip.user_ns["film"] = "a grand film"
    ip.run_line_magic("ktrain", "-s clf attention 'so {film}'")
    assert trained.attention.text == "so a grand film"


@pytest.mark.parametrize("line, message", [
    ("predict \"unclosed", "the %ktrain line has an unclosed quote (No closing quotation); close it"),
    ("attention 'a film' 0", "LAYER must be between 1 and 2, got 0"),
    ("attention 'a film' 1 3", "HEAD must be between 1 and 2, got 3"),
    ("predict '{nowhere}'", "{nowhere} in 'predict': there is no notebook variable named 'nowhere'"),
    ("top_losses -1", "n must be a whole number of at least 1, got -1"),
    ("fit 1e6 0", "epochs must be a whole number of at least 1, got 0"),
    ("predict ''", "predict needs text: one of the texts is empty"),
    ("predict 'fine' '   '", "predict needs text: one of the texts is empty"),
])
def test_more_line_mistakes(ip, trained, line, message):
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("ktrain", line)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_interrupt_in_a_cell_ends_it_after_restoring_the_weights(ip, trained, monkeypatch):
    import signal

    from ktnb.jupyter import progress

    real_call = progress.NotebookProgress.__call__

    def interrupt_on_third_batch(self, event):
        real_call(self, event)
        if event.name == "batch_end" and event.batch == 2:
            signal.raise_signal(signal.SIGINT)  # what Jupyter's interrupt button sends

    monkeypatch.setattr(progress.NotebookProgress, "__call__", interrupt_on_third_batch)
    ip.run_cell_magic("ktrain", "-o cut", BASE + "epochs: 3\npredict: a fine film\n")
    session = ip.user_ns["cut"]
    assert session.learner.stop_reason == "interrupted"
    assert session.report is None and session.predictions == [] and session.skipped == ["report", "predict"]


def test_top_losses_show_full_texts_and_a_named_index():
    import pandas as pd

    from ktnb.jupyter.display import frame_html

    long_text = "a very long review " * 20
    frame = pd.DataFrame({"text": [long_text], "loss": [1.5]}, index=pd.Index([7], name="row"))
    html = frame_html(frame).data
    assert ">row</th>" in html and long_text.strip() in html  # not cut at 50 characters
    assert "white-space:normal" in html  # wrapped


def test_the_cell_progress_block_reads_like_the_panel():
    from ktnb.callbacks import ProgressState
    from ktnb.events import Event
    from ktnb.jupyter.progress import progress_html

    state = ProgressState()
    state(Event("train_begin", batches=95, epochs=1))
    for _ in range(37):
        state(Event("batch_end", loss=0.43))
    state(Event("validate_begin"))
    html = progress_html(state, [{"run": 1, "epoch": 1, "train_loss": 0.5, "note": "the model may have collapsed"}],
                         ["the model may have collapsed"])
    assert "37/95 batches · 0:00 elapsed · 0:00 left · loss 0.43 · validating…" in html
    assert ">run</th>" in html and ">epoch</th>" in html and "<td" in html
    assert html.count("the model may have collapsed") == 2  # the table's note and the warning line


def test_a_cell_infers_regression_on_pairs_and_shows_its_scatter(ip, tiny_model_dir, capsys):
    from test_tasks import scored_texts

    texts, scores = scored_texts(240, seed=4)
    ip.user_ns["scored"] = pd.DataFrame({"a": texts, "b": ["the film"] * len(texts), "score": scores})
    ip.user_ns["tiny"] = str(tiny_model_dir)
    ip.run_cell_magic("ktrain", "-o reg -q", """
data: scored
text_col: a
pair_col: b
label_col: score
model: "{tiny}"
batch_size: 16
lr: 3e-3
epochs: 3
predict: [[a wonderful story, the film], [a dull mess, the film]]
""")
    reg = ip.user_ns["reg"]
    assert reg.learner.task.name == "regression" and reg.config["show"] == ["report", "scatter"]
    assert reg.prediction_header == ["text", "value"] and reg.predictions[0][0] == "a wonderful story | the film"
    assert reg.predictions[0][1] > reg.predictions[1][1]
    assert "pearson" in repr(reg)
    with pytest.raises(UsageError, match="show: 'confusion' is not allowed; expected a list of: report, history, "
                                         "lr_find, top_losses, attention, explain, scatter"):
        ip.run_cell_magic("ktrain", "-o reg2 -q", "data: scored\ntext_col: a\nlabel_col: score\nshow: [confusion]\n"
                                                  "model: '{tiny}'")
    with pytest.raises(UsageError, match=r"unknown task 'ner2' \(did you mean 'ner'\?\); choose one of: classification, "
                                         "generation, multilabel, qa, regression, summarization, tagging, translation$"):
        ip.run_cell_magic("ktrain", "-o reg2 -q", "data: scored\ntask: ner2")


def test_the_task_key_overrides_what_the_data_suggests(ip, tiny_model_dir):
    from conftest import sentiment_texts

    texts, labels = sentiment_texts(200, seed=7)
    stars = [5 if label == "pos" else 1 for label in labels]  # whole numbers: read as classes unless told
    ip.user_ns["stars"] = pd.DataFrame({"text": texts, "stars": stars})
    ip.user_ns["tiny"] = str(tiny_model_dir)
    body = "data: stars\nlabel_col: stars\nmodel: '{tiny}'\nbatch_size: 16\nlr: 3e-3\nepochs: 2\n"
    ip.run_cell_magic("ktrain", "-o as_classes -q", body)
    assert ip.user_ns["as_classes"].learner.class_names == ["1", "5"]
    ip.run_cell_magic("ktrain", "-o as_scores -q", body + "task: regression\npredict: a wonderful film")
    session = ip.user_ns["as_scores"]
    assert session.learner.task.name == "regression" and session.prediction_header == ["text", "value"]
    assert isinstance(session.predictions[0][1], float) and "pearson" in repr(session)


def test_the_panel_opens_before_any_session(ip, trained, tmp_path, monkeypatch):
    """`%ktrain panel` is offered beside the cell: in a fresh notebook it opens on the Data tab,
    and `%ktrain panel DATA` starts from a file or a notebook variable."""
    magics = ip.magics_manager.registry["KtnbMagics"]
    monkeypatch.setattr(magics, "sessions", {})
    monkeypatch.setattr(magics, "last", None)
    panel = ip.run_line_magic("ktrain", "panel")
    assert type(panel).__name__ == "Panel" and panel.learner is None and panel.path.value == ""
    csv = tmp_path / "own.csv"
    csv.write_text("review,stars\na fine film,5\na dull film,1\n")
    panel = ip.run_line_magic("ktrain", f"panel {csv}")
    assert panel.path.value == str(csv) and "review" in panel.text_col.options
    with pytest.raises(UsageError, match="no ktnb session named 'nope'"):
        ip.run_line_magic("ktrain", "-s nope panel")
