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
from ktnb.config import CONFIG_KEYS, check_config, load_config_data

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


# ---------------------------------------------------------------- tagging readers

tag_values = st.one_of(st.sampled_from(["O", "B-PER", "I-PER", "E-PER", "S-LOC", "U-ORG", "L-ORG", "I-LOC", "B-",
                                        "X-PER", "o", "", "PER"]), st.none(), st.integers(-1, 2))
token_values = st.one_of(st.text(max_size=6), st.none(), st.integers(), st.floats(allow_nan=True),
                         st.sampled_from(["\u200b", "\u0301", "U.S.", "C.", "AL-AIN", "Köln", " ", ""]))
cells = st.one_of(st.lists(token_values, max_size=5), st.none(), st.text(max_size=5), st.integers())


@st.composite
def tagged_frames(draw):
    n = draw(st.integers(0, 12))
    tokens = draw(st.lists(cells, min_size=n, max_size=n))
    tags = [draw(st.lists(tag_values, min_size=len(t), max_size=len(t))) if isinstance(t, list) and draw(st.booleans())
            else draw(cells) for t in tokens]
    return pd.DataFrame({"tokens": tokens, "tags": tags})


@FAST
@given(tagged_frames(), st.sampled_from([0, 0.1, 0.5]))
def test_random_tagged_frames_load_or_fail_in_one_line(frame, val_frac):
    from ktnb.tasks.tagging import entity_spans, tagged_data

    try:
        data = tagged_data(frame, val_frac=val_frac)
    except ktnb.KtnbError as err:
        assert_one_line(err)
    else:
        names = data.class_names
        for part in (data.train, data.val):
            for words, tags in zip(part.texts, part.labels) if part is not None else ():
                assert words and len(words) == len(tags) and all(isinstance(w, str) and w for w in words)
                iob2 = [names[t] for t in tags]
                assert all(not tag.startswith("I-") or (i and iob2[i - 1][2:] == tag[2:])
                           for i, tag in enumerate(iob2))  # valid IOB2, whatever scheme came in
                assert all(kind for kind, _, _ in entity_spans(iob2))


@FAST
@given(st.binary(max_size=200), st.sampled_from(["utf-8", "latin-1"]))
def test_random_conll_files_load_or_fail_in_one_line(tmp_path_factory, raw, encoding):
    from ktnb.tasks.tagging import tagged_data

    path = tmp_path_factory.mktemp("conll") / "train.txt"
    path.write_bytes(b"-DOCSTART- -X- O\n\nAnn B-PER\n" + raw)
    try:
        tagged_data(path, encoding=encoding)
    except ktnb.KtnbError as err:
        assert_one_line(err)


@FAST
@given(st.lists(st.sampled_from(["Ann", "U.S.", "C.", "(", ")", ",", "\"", "O'Neill", "AL-AIN", "1/2", ".", "Paris",
                                 "...", "Köln", "e\u0301", "!"]), min_size=1, max_size=10))
def test_tagged_words_joined_by_spaces_come_back_as_those_words(words):
    from ktnb.tasks.tagging import split_words

    text = " ".join(words)
    found, offsets = split_words(text)
    assert [text[a:b] for a, b in offsets] == found
    if not (len(words[-1]) > 2 and words[-1].endswith(".") and "." not in words[-1][:-1]):  # a final "Paris."
        assert found == words


# ---------------------------------------------------------------- multi-label readers

label_names = st.sampled_from(["joy", "anger", "1", "2", " ", ""])
label_items = st.one_of(label_names, st.integers(-2, 3), st.floats(allow_nan=True, width=32), st.none(),
                        st.booleans())
joined_names = st.lists(label_names, max_size=3).map(";".join)
multilabel_values = st.one_of(joined_names, st.lists(label_names, max_size=3), joined_names,  # mostly label sets,
                              st.none(), st.just(float("nan")), st.lists(label_items, max_size=4),  # then odd ones
                              label_items)


def _expected_label_set(value) -> list[str] | None:
    """What a label cell means (None: it must be refused): names, ";"-joined or in a list, by
    their label key; an empty or missing cell is no labels."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    if isinstance(value, list):
        names = []
        for item in value:
            if isinstance(item, bool):
                return None
            if item is None or isinstance(item, float) and math.isnan(item) or isinstance(item, str) \
                    and not item.strip():
                continue
            names.append(ktnb.data.label_key(item).strip())
        return names
    return None  # a lone number or True/False is not a set of labels


@FAST
@given(st.lists(multilabel_values, min_size=1, max_size=12))
def test_random_label_sets_read_as_written_or_fail_in_one_line(values):
    texts = [f"text {i}" for i in range(len(values))]
    try:
        data = ktnb.texts_from_df(pd.DataFrame({"text": texts, "labels": values}), "text", "labels",
                                  task="multilabel", val_frac=0)
    except ktnb.KtnbError as err:
        assert_one_line(err)
        return
    expected = [_expected_label_set(v) for v in values]
    assert None not in expected, values  # a value that is no label set was taken
    assert data.train.texts == texts  # a text with no labels is kept, whatever form says so
    for row, names in zip(data.train.labels, expected):
        assert {n for n, flag in zip(data.class_names, row) if flag} == set(names)


flag_values = st.sampled_from([0, 1, 0.0, 1.0, True, False, "0", "1", 2, -1, 0.5, "no", "yes", "", None,
                               float("nan"), "1.0", 3.5])
_ONE, _ZERO = {1, 1.0, True, "1", "1.0"}, {0, 0.0, False, "0", "", None}


@FAST
@given(st.integers(1, 10).flatmap(lambda n: st.tuples(st.lists(flag_values, min_size=n, max_size=n),
                                                      st.lists(flag_values, min_size=n, max_size=n))))
def test_random_0_1_columns_give_their_labels_or_fail_in_one_line(columns):
    joy, anger = columns
    frame = pd.DataFrame({"text": [f"text {i}" for i in range(len(joy))], "joy": joy, "anger": anger})
    try:
        data = ktnb.texts_from_df(frame, "text", ["joy", "anger"], task="multilabel", val_frac=0)
    except ktnb.KtnbError as err:
        assert_one_line(err)
        return
    # taken only when every cell is 0 or 1 (or missing): never "present" for 2, -1, 0.5 or "no"
    cells = [v for v in joy + anger if not (isinstance(v, float) and math.isnan(v))]
    assert all(v in _ONE or v in _ZERO for v in cells), cells
    for i, row in enumerate(data.train.labels):
        flags = dict(zip(data.class_names, row))
        assert flags.get("joy", 0) == (joy[i] in _ONE) and flags.get("anger", 0) == (anger[i] in _ONE)


# ------------------------------------------------------------------ checkpoint metadata edited by hand

@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory, tiny_model_dir):
    """A checkpoint of a 2-epoch run stopped after its first epoch (a CSV it reads again)."""
    from conftest import sentiment_texts

    folder = tmp_path_factory.mktemp("checkpointed")
    texts, labels = sentiment_texts(48, seed=3)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(folder / "reviews.csv", index=False)

    def stop(event):
        if event.name == "epoch_end":
            event.learner.request_stop()

    learner = ktnb.text_learner(str(folder / "reviews.csv"), str(tiny_model_dir), batch_size=16, progress=False,
                                checkpoint_dir=folder / "run")
    learner.fit(3e-3, 2, callbacks=[stop])
    return folder / "run"


def _paths(value, prefix=()):
    """Every (path of keys, value) in nested JSON."""
    yield prefix, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, prefix + (i,))


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-3, 10**4), st.floats(allow_nan=False),
                                     st.text(max_size=8)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                           max_leaves=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["set", "drop"]), json_values), min_size=1,
                max_size=3))
def test_hand_edited_checkpoint_metadata_resumes_or_fails_in_one_line(stopped_run, tmp_path_factory, edits):
    import json
    import shutil

    folder = tmp_path_factory.mktemp("edited") / "run"
    shutil.copytree(stopped_run, folder)
    meta = json.loads((folder / "ktnb.json").read_text())
    for pick, action, value in edits:  # set or drop a value anywhere in the metadata
        places = [path for path, _ in _paths(meta) if path]
        path = places[pick % len(places)]
        parent = meta
        for key in path[:-1]:
            parent = parent[key]
        if action == "drop" or isinstance(parent, list):
            parent.pop(path[-1]) if action == "drop" else parent.__setitem__(path[-1], value)
        else:
            parent[path[-1]] = value
    (folder / "ktnb.json").write_text(json.dumps(meta))
    try:
        learner = ktnb.load_learner(folder)
    except ktnb.KtnbError as err:
        assert_one_line(err)
        return
    assert learner.epochs_done == 1  # an edit that passed left the run where it was
