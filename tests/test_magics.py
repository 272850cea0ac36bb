"""The magics in a real IPython shell: %load_ext, a %%ktrain run, results in the namespace,
line commands, and every documented error as one line."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.testing.globalipapp import start_ipython

from conftest import sentiment_texts


@pytest.fixture(scope="module")
def ip():
    shell = start_ipython()
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
show: [report, confusion, history, top_losses]
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
    assert "%ktrain [-o OUT] [-s SESSION] [-q] [command] [args ...]" in doc
    assert "--out" in doc and "fit LR [EPOCHS [SCHEDULE]]" in doc


@pytest.mark.parametrize("body, message", [
    ("data: reviews\nepoch: 2", "unknown key 'epoch' (did you mean 'epochs'?); allowed keys: data, val"),
    ("data: reviews\nlr: fast", "lr: 'fast' is not allowed; expected a number, or find"),
    ("data: reviews\nschedule: triangle", "schedule: 'triangle' is not allowed; expected one of onecycle, linear"),
    ("data: reviews\nbatch_size: -4", "batch_size: -4 is not allowed; expected a whole number"),
    ("data: reviews\nshow: [everything]", "show: 'everything' is not allowed; expected a list of: report"),
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
    ("launch", "unknown %ktrain command 'launch'"),
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
