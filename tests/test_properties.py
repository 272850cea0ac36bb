"""Random input to the config parser and the readers: always a result or a one-line ktnb error,
never a traceback from deeper down (hypothesis searches for counterexamples)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

import ktnb
from ktnb.jupyter.magics import KtnbMagics
from ktnb.workflow import CONFIG_KEYS, check_config, load_config_data

pytestmark = pytest.mark.filterwarnings("ignore:.*dropped.*row")  # rows with no text or label, expected here
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

awkward_text = st.text(alphabet=st.sampled_from(list("ab $${}{{}}:#-\n\t'\"!&*[],|>%@`") + ["é", "\x00", "\u2028"]),
                       max_size=30)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True),
                    awkward_text, st.sampled_from(["find", "auto", "sst2", "{frame}", "{missing}", "{{frame}}"]))
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.dictionaries(awkward_text, scalars, max_size=2))
keys = st.one_of(st.sampled_from(list(CONFIG_KEYS)), awkward_text)


def assert_one_line(err: BaseException) -> None:
    assert str(err) and "\n" not in str(err), repr(err)


@pytest.fixture(scope="module")
def magics():
    shell = type("Shell", (), {})()
    texts = [f"text number {i}" for i in range(12)]
    shell.user_ns = {"frame": pd.DataFrame({"text": texts, "label": ["a", "b"] * 6})}
    magics = KtnbMagics.__new__(KtnbMagics)  # no IPython shell needed to parse
    magics.shell, magics.sessions, magics.last = shell, {}, None
    return magics


def _parse_and_check(magics, body: str) -> None:
    try:
        config = check_config(magics._parse_cell(body))
        source = magics._namespace_value(config["data"])
        config["val"] = magics._namespace_value(config["val"])
        load_config_data(source, config)
    except (UsageError, ktnb.KtnbError) as err:
        assert_one_line(err)


@FAST
@given(st.dictionaries(keys, values, max_size=6))
def test_random_configs_parse_or_fail_in_one_line(magics, config):
    try:
        body = yaml.safe_dump(config, allow_unicode=True)
    except yaml.YAMLError:
        assume(False)
    _parse_and_check(magics, body)


body_pieces = st.sampled_from(list("lr1e-5{}$[]\n\t'\"#&*!|>-,. :") + ["data", "sst2", "frame", "epochs", "val",
                                                                         "{frame}", "!!python/name:os.system"])


@FAST
@given(st.lists(body_pieces, max_size=40).map("".join))
def test_random_cell_bodies_parse_or_fail_in_one_line(magics, body):
    _parse_and_check(magics, body)


label_values = st.one_of(st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True, width=32),
                         st.sampled_from(["pos", "neg", "0", "1", "", " ", "$", "$$", "1.0"]), st.none(), st.booleans())
text_values = st.one_of(st.text(max_size=15), st.none(), st.floats(allow_nan=True), st.integers())


@st.composite
def frames(draw):
    n = draw(st.integers(0, 25))
    columns = {"text": draw(st.lists(text_values, min_size=n, max_size=n)),
               "label": draw(st.lists(label_values, min_size=n, max_size=n))}
    return pd.DataFrame(columns)


def _check_data(data: ktnb.TextData, rows: int) -> None:
    names = data.class_names
    assert len(set(names)) == len(names) >= 2
    for part in (data.train, data.val):
        if part is not None:
            assert all(isinstance(t, str) and t.strip() for t in part.texts)
            assert all(0 <= label < len(names) for label in part.labels)
    assert len(data.train) + (len(data.val) if data.val else 0) <= rows


@FAST
@given(frames(), st.one_of(st.none(), st.integers(-2, 30)), st.sampled_from([0, 0.1, 0.5, 1.0]))
def test_random_frames_load_or_fail_in_one_line(df, max_train, val_frac):
    try:
        data = ktnb.load_texts(df, max_train=max_train, val_frac=val_frac)
    except ktnb.KtnbError as err:
        assert_one_line(err)
    else:
        _check_data(data, len(df))
        labels = [label for label in df["label"] if not (label is None or isinstance(label, float)
                                                          and math.isnan(label))]
        assert set(data.class_names) <= {ktnb.data.label_key(v) for v in labels}


@FAST
@given(st.binary(max_size=200), st.sampled_from([None, ",", ";", "\t"]), st.sampled_from(["utf-8", "latin-1"]))
def test_random_files_load_or_fail_in_one_line(tmp_path_factory, raw, sep, encoding):
    path = tmp_path_factory.mktemp("random") / "data.csv"
    path.write_bytes(b"text,label\n" + raw)
    try:
        data = ktnb.texts_from_csv(path, sep=sep, encoding=encoding)
    except ktnb.KtnbError as err:
        assert_one_line(err)
    else:
        _check_data(data, raw.count(b"\n") + 2)


@FAST
@given(st.lists(label_values, min_size=1, max_size=20))
def test_label_keys_are_stable(labels):
    """The same label written as 1, 1.0, np.int64(1) or "1" is one class."""
    keys = [ktnb.data.label_key(v) for v in labels]
    again = [ktnb.data.label_key(np.array([v])[0]) if isinstance(v, (int, float)) and not isinstance(v, bool)
             else ktnb.data.label_key(v) for v in labels]
    assert keys == again
