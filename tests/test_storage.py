"""Saved predictors: written atomically (a kill at any moment leaves the old folder, the new one,
or a refusal, never a mix) and loaded strictly (every mismatch is one line naming the fix)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ktnb
from ktnb.storage import PARTIAL_SUFFIX

from conftest import sentiment_texts

SCRIPT = Path(__file__).parent / "scripts" / "save_and_die.py"
TEXTS = ["a dull and tedious film", "the actors were great", "the ending was a mess", "a funny story"]


def _train(tiny_model_dir, names: dict[str, str], seed: int):
    texts, labels = sentiment_texts(320, seed=seed)
    data = ktnb.texts_from_array(texts, [names[label] for label in labels], val_frac=0.2, seed=0)
    learner = ktnb.text_classifier(data, str(tiny_model_dir), batch_size=16, progress=False, seed=seed)
    learner.fit(3e-3, 3)
    return learner.predictor()


@pytest.fixture(scope="module")
def old(tiny_model_dir, tmp_path_factory):
    predictor = _train(tiny_model_dir, {"neg": "neg", "pos": "pos"}, seed=1)
    return predictor, predictor.save(tmp_path_factory.mktemp("old") / "model")


@pytest.fixture(scope="module")
def new(tiny_model_dir, tmp_path_factory):
    predictor = _train(tiny_model_dir, {"neg": "bad", "pos": "good"}, seed=2)
    return predictor, predictor.save(tmp_path_factory.mktemp("new") / "model")


def truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(size)


def _copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    return to


def _first_line_error(folder: Path) -> str:
    with pytest.raises(ktnb.ModelError) as info:
        ktnb.load_predictor(folder)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- strict loading


def test_a_saved_folder_records_its_files(old):
    _, folder = old
    meta = json.loads((folder / "ktnb.json").read_text())
    assert meta["task"] == "classification" and meta["pipeline"] == "text-classification"
    assert meta["class_names"] == ["neg", "pos"]
    assert set(meta["files"]) == {p.name for p in folder.iterdir()} - {"ktnb.json"}
    assert all(len(entry["sha256"]) == 64 for entry in meta["files"].values())


@pytest.mark.parametrize("damage, message", [
    (lambda d: [os.remove(d / f) for f in ("tokenizer.json", "tokenizer_config.json")],
     "is incomplete: tokenizer.json is missing (an interrupted save or copy?); save the predictor again, or delete "
     "ktnb.json to load the folder as a plain Hugging Face model"),
    (lambda d: truncate(d / "model.safetensors", 1000),
     "model.safetensors is not the file that was saved with this folder (changed or cut short since); save the "
     "predictor again, or delete ktnb.json to load the folder as a plain Hugging Face model"),
    (lambda d: truncate(d / "model.safetensors", 0),
     "model.safetensors is not the file that was saved with this folder"),
    (lambda d: (d / "config.json").write_text('{"hidden_size": "wide"}'),
     "config.json is not the file that was saved with this folder"),
    (lambda d: (d / "ktnb.json").write_text("{not json"),
     "ktnb.json is damaged (JSONDecodeError): save the predictor again, or delete ktnb.json"),
    (lambda d: (d / "ktnb.json").write_text(json.dumps({**json.loads((d / "ktnb.json").read_text()),
                                                        "class_names": ["a", "b", "c"]})),
     "ktnb.json names the classes ['a', 'b', 'c'] but config.json has ['neg', 'pos']; save the predictor again"),
])
def test_a_damaged_folder_is_refused_in_one_line(old, tmp_path, damage, message):
    folder = _copy(old[1], tmp_path / "model")
    damage(folder)
    assert message in _first_line_error(folder)


@pytest.mark.parametrize("damage, message", [
    (lambda d: [os.remove(d / f) for f in ("tokenizer.json", "tokenizer_config.json")],
     "has no tokenizer files (tokenizer.json, vocab.txt, vocab.json, ...): is it a text model? Save the tokenizer "
     "beside the weights"),
    (lambda d: truncate(d / "model.safetensors", 1000),
     "could not load the model in"),
    (lambda d: truncate(d / "model.safetensors", 0), "could not load the model in"),
    (lambda d: (d / "config.json").write_text(json.dumps({**json.loads((d / "config.json").read_text()),
                                                          "hidden_size": "wide"})),
     "could not load the model in"),
    (lambda d: (d / "config.json").write_text(json.dumps({**json.loads((d / "config.json").read_text()),
                                                          "id2label": {"0": "a", "1": "b", "2": "c"}})),
     "could not load the model in"),
])
def test_a_plain_hugging_face_folder_is_checked_too(old, tmp_path, damage, message):
    """Without ktnb.json (a folder from save_pretrained, or one whose ktnb.json was deleted)."""
    folder = _copy(old[1], tmp_path / "model")
    os.remove(folder / "ktnb.json")
    damage(folder)
    assert message in _first_line_error(folder)


def test_a_base_model_without_a_trained_head_is_refused(tiny_model_dir):
    assert "holds no trained text classifier: classifier.bias, classifier.weight are missing from its weights " \
           "(a base model?)" in _first_line_error(tiny_model_dir)


def test_a_tokenizer_from_another_model_is_refused(old, tmp_path, tiny_model_dir):
    from transformers import AutoTokenizer

    folder = _copy(old[1], tmp_path / "model")
    os.remove(folder / "ktnb.json")
    bigger = AutoTokenizer.from_pretrained(tiny_model_dir)
    bigger.add_tokens([f"extra{i}" for i in range(50)])
    bigger.save_pretrained(folder)
    assert "tokens but the model only" in _first_line_error(folder)


# ---------------------------------------------------------------- saving


def test_save_refuses_paths_that_are_not_a_folder_it_may_replace(old, tmp_path, monkeypatch):
    predictor, _ = old
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "data.csv").write_text("keep me")
    for path, message in [
        ("", "save needs a folder path, e.g. save('my-model'); got an empty path"),
        ("notes.txt", "cannot save into notes.txt: it is a file; give a folder path"),
        (".", "cannot save into .: it is the working directory or above it; give a new folder"),
        ("project", "cannot save into project: it holds other files and is not a folder ktnb saved; choose a new "
                    "folder, or empty it first"),
    ]:
        with pytest.raises(ktnb.ModelError) as info:
            predictor.save(path)
        assert str(info.value) == message
    assert (tmp_path / "project" / "data.csv").read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "project"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_save_into_a_read_only_folder(old, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ktnb.ModelError, match="could not save into .*locked/model: Permission denied; choose a "
                                                  "folder you can write to"):
            old[0].save(locked / "model")
    finally:
        locked.chmod(0o700)


def test_save_into_a_read_only_folder_as_root_too(old, tmp_path, monkeypatch):
    """Root ignores permission bits, so the refusal is simulated where the folder is created."""
    import ktnb.storage

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(ktnb.storage.Path, "mkdir", refuse)
    with pytest.raises(ktnb.ModelError) as info:
        old[0].save(tmp_path / "model")
    assert str(info.value) == f"could not save into {tmp_path / 'model'}: Permission denied; choose a folder you " \
                              "can write to"


def test_overwriting_replaces_the_whole_folder(old, new, tmp_path):
    target = old[0].save(tmp_path / "model")
    (target / "stale.bin").write_bytes(b"from an older save")
    new[0].save(target)
    assert not (target / "stale.bin").exists()
    loaded = ktnb.load_predictor(target)
    assert loaded.class_names == ["bad", "good"]
    assert np.allclose(loaded.predict_proba(TEXTS), new[0].predict_proba(TEXTS), atol=1e-5)
    assert sorted(os.listdir(tmp_path)) == ["model"]


MOMENTS = ["after-weights", "before-manifest", "before-swap", "during-cleanup", "fallback-mid-delete",
           "0ms", "3ms", "6ms", "10ms", "15ms", "25ms", "40ms"]


def test_kill_9_during_save_leaves_the_old_folder_the_new_one_or_a_refusal(old, new, tmp_path):
    """A process killed with SIGKILL at each moment of overwriting a saved predictor."""
    children = {}
    for moment in MOMENTS:
        target = _copy(old[1], tmp_path / moment / "model")
        children[moment] = subprocess.Popen([sys.executable, str(SCRIPT), str(new[1]), str(target), moment],
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outcomes = {}
    for moment, child in children.items():
        out, err = child.communicate(timeout=240)
        assert child.returncode == -9, f"{moment}: {err[-2000:]}"
        target = tmp_path / moment / "model"
        leftovers = sorted(os.listdir(tmp_path / moment))
        assert set(leftovers) <= {"model", ".model" + PARTIAL_SUFFIX}, (moment, leftovers)
        try:
            loaded = ktnb.load_predictor(target)
        except ktnb.ModelError as refusal:
            assert "\n" not in str(refusal)
            outcomes[moment] = "refused"
        else:
            proba = loaded.predict_proba(TEXTS)
            for name, (predictor, _) in (("old", old), ("new", new)):
                if loaded.class_names == predictor.class_names:
                    assert np.allclose(proba, predictor.predict_proba(TEXTS), atol=1e-5), moment
                    outcomes[moment] = name
            assert moment in outcomes, (moment, loaded.class_names)
        new[0].save(target)  # the next save cleans up whatever the killed one left
        assert sorted(os.listdir(tmp_path / moment)) == ["model"]
        assert ktnb.load_predictor(target).class_names == ["bad", "good"]
    assert outcomes["after-weights"] == outcomes["before-manifest"] == outcomes["before-swap"] == "old"
    assert outcomes["during-cleanup"] == "new"
    assert outcomes["fallback-mid-delete"] == "refused"  # only where the atomic swap is unavailable


def test_kill_9_during_a_first_save_leaves_nothing_that_loads(new, tmp_path):
    target = tmp_path / "model"
    done = subprocess.run([sys.executable, str(SCRIPT), str(new[1]), str(target), "before-swap"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == -9, done.stderr[-2000:]
    assert sorted(os.listdir(tmp_path)) == [".model" + PARTIAL_SUFFIX]
    assert _first_line_error(target) == f"model directory not found: {target} (a save into it was interrupted; " \
                                        "save again)"
