"""Checkpoints that refuse, in one line, what would silently lose or bend a run: a checkpoint_dir
that holds a predictor, your own files or another run's checkpoint; weights swapped or damaged;
a resume on other data, other settings or single texts for a pair run; a hand-edited ktnb.json."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

import ktnb
from ktnb.storage import file_digest

from conftest import sentiment_texts

DAMAGED = "restore the folder from a copy, or delete it to start the run over"


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> Path:
    texts, labels = sentiment_texts(160, seed=1)
    path = tmp_path_factory.mktemp("reviews") / "reviews.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def _learner(data, model_dir, folder, **settings):
    options = {"batch_size": 16, "progress": False, "seed": 0, "checkpoint_dir": folder, **settings}
    return ktnb.text_learner(data, str(model_dir), **options)


def _stop_after_first_epoch(event):
    if event.name == "epoch_end" and event.epoch == 0:
        event.learner.request_stop()


def _stopped_run(data, model_dir, folder, **settings):
    """A 2-epoch run stopped after its first epoch: its checkpoint is that epoch's end."""
    learner = _learner(data, model_dir, folder, **settings)
    learner.fit(3e-3, 2, callbacks=[_stop_after_first_epoch])
    assert learner.stop_reason == "stopped" and learner.epochs_done == 1
    return learner


def _meta(folder: Path) -> dict:
    return json.loads((folder / "ktnb.json").read_text())


def _files(folder: Path) -> dict[str, str]:
    return {p.name: file_digest(p) for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_checkpoint_dir_holding_a_saved_predictor_is_refused_and_kept(reviews, tiny_model_dir, tmp_path):
    trained = ktnb.text_learner(str(reviews), str(tiny_model_dir), batch_size=16, progress=False, seed=0)
    trained.fit(3e-3, 1)
    saved = trained.predictor().save(tmp_path / "model")
    before = _files(saved)
    with pytest.raises(ktnb.ModelError) as caught:
        _learner(str(reviews), tiny_model_dir, saved)
    assert str(caught.value) == (f"checkpoint_dir: cannot save into {saved}: it holds a saved predictor, which this "
                                 "save would replace; choose another folder, or delete that one first")
    assert _files(saved) == before
    assert ktnb.load_predictor(saved).predict(["a good film"]) == trained.predictor().predict(["a good film"])


def test_a_predictor_saved_into_a_checkpoint_folder_is_refused_and_the_run_kept(reviews, tiny_model_dir, tmp_path):
    learner = _stopped_run(str(reviews), tiny_model_dir, tmp_path / "run")
    before = _files(tmp_path / "run")
    with pytest.raises(ktnb.ModelError) as caught:
        learner.predictor().save(tmp_path / "run")
    assert str(caught.value) == (f"cannot save into {tmp_path / 'run'}: it holds a training checkpoint (a run "
                                 "ktnb.resume carries on), which this save would replace; choose another folder, "
                                 "or delete that one first")
    assert _files(tmp_path / "run") == before


def test_a_second_learner_does_not_overwrite_or_take_another_runs_checkpoint(reviews, tiny_model_dir, tmp_path):
    folder = tmp_path / "run"
    first = _stopped_run(str(reviews), tiny_model_dir, folder)
    before = _files(folder)
    second = _learner(str(reviews), tiny_model_dir, folder, seed=1)
    with pytest.raises(ktnb.ModelError) as caught:
        second.fit(3e-3, 1)
    assert str(caught.value) == (f"checkpoint_dir {folder} holds the checkpoint of another run, which this learner "
                                 f"would overwrite; carry that run on with ktnb.resume({str(folder)!r}), or choose "
                                 "another checkpoint_dir (or delete that folder) to start a new run")
    assert second.epochs_done == 0 and _files(folder) == before and _meta(folder)["run_id"] == first.run_id
    # a learner that trained a run of its own does not take another run's state on resume
    own = ktnb.text_learner(str(reviews), str(tiny_model_dir), batch_size=16, progress=False, seed=0)
    own.fit(3e-3, 1)
    weights = [p.detach().clone() for p in own.model.parameters()]
    with pytest.raises(ktnb.TrainingError) as caught:
        own.resume(folder)
    assert str(caught.value) == (f"the checkpoint in {folder} is of another run than the one this learner trained, "
                                 f"whose state it would replace; carry that run on in a new learner with "
                                 f"ktnb.resume({str(folder)!r}), or go on training this one with fit")
    assert all(torch.equal(a, b) for a, b in zip(weights, own.model.parameters())) and own.epochs_done == 1
    first.resume()  # the first run is whole and carries on to its end
    assert first.epochs_done == 2 and _meta(folder)["ended"] == "finished"


@pytest.mark.parametrize("damage", ["weights of another run", "a flipped byte"])
def test_checkpoint_weights_swapped_or_damaged_are_refused(reviews, tiny_model_dir, tmp_path, damage):
    _stopped_run(str(reviews), tiny_model_dir, tmp_path / "run")
    weights = tmp_path / "run" / "model.safetensors"
    if damage == "a flipped byte":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0x01
        weights.write_bytes(bytes(data))
    else:
        other = _stopped_run(str(reviews), tiny_model_dir, tmp_path / "other", seed=1)
        assert other.run_id != _meta(tmp_path / "run")["run_id"]
        assert (tmp_path / "other" / "model.safetensors").stat().st_size == weights.stat().st_size
        shutil.copyfile(tmp_path / "other" / "model.safetensors", weights)
    assert "sha256" in _meta(tmp_path / "run")["files"]["model.safetensors"]
    with pytest.raises(ktnb.ModelError) as caught:
        ktnb.resume(tmp_path / "run")
    assert str(caught.value) == (f"{weights} is not the file that was saved with this folder (changed or cut short "
                                 "since); restore the folder from a copy, or delete it to start the run over")


def test_a_checkpoint_dir_that_is_a_file_or_your_own_folder_is_refused_when_the_learner_is_built(
        reviews, tiny_model_dir, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(ktnb.ModelError) as caught:
        _learner(str(reviews), tiny_model_dir, notes)
    assert str(caught.value) == f"checkpoint_dir: cannot save into {notes}: it is a file; give a folder path"
    own = tmp_path / "project"
    own.mkdir()
    (own / "analysis.py").write_text("print(1)")
    with pytest.raises(ktnb.ModelError) as caught:
        _learner(str(reviews), tiny_model_dir, own)
    assert str(caught.value) == (f"checkpoint_dir: cannot save into {own}: it holds other files and is not a folder "
                                 "ktnb saved; choose a new folder, or empty it first")
    assert notes.read_text() == "mine" and [p.name for p in own.iterdir()] == ["analysis.py"]
    with pytest.raises(ktnb.TrainingError) as caught:
        _learner(str(reviews), tiny_model_dir, 5)
    assert str(caught.value) == ("checkpoint_dir needs the folder of a run's checkpoints, e.g. "
                                 "checkpoint_dir='runs/sst2'; got 5")


def _edit_csv(path: Path, change: str) -> None:
    frame = pd.read_csv(path)
    if change == "rows added":
        frame = pd.concat([frame, frame.head(9)], ignore_index=True)
    elif change == "rows removed":
        frame = frame.iloc[:-9]
    else:  # labels flipped
        frame.loc[:9, "label"] = frame.loc[:9, "label"].map({"pos": "neg", "neg": "pos"})
    frame.to_csv(path, index=False)


CHANGED_DATA = re.compile(r"the data differs from what the run in .+ was trained on \(its (training|validation) "
                          r"rows: .+\); resume it with the same data, or start a new run in another checkpoint_dir")


@pytest.mark.parametrize("change", ["rows added", "rows removed", "labels flipped"])
def test_resume_on_a_data_file_changed_since_is_refused(reviews, tiny_model_dir, tmp_path, change):
    csv = tmp_path / "reviews.csv"
    shutil.copyfile(reviews, csv)
    _stopped_run(str(csv), tiny_model_dir, tmp_path / "run")
    before = _files(tmp_path / "run")
    _edit_csv(csv, change)
    with pytest.raises(ktnb.TrainingError) as caught:
        ktnb.resume(tmp_path / "run")
    assert CHANGED_DATA.fullmatch(str(caught.value)), str(caught.value)
    assert str(caught.value).endswith("); resume it with the same data, or start a new run in another checkpoint_dir")
    assert _files(tmp_path / "run") == before


def test_resume_given_other_rows_is_refused(tiny_model_dir, tmp_path):
    texts, labels = sentiment_texts(160, seed=1)
    frame = pd.DataFrame({"text": texts, "label": labels})
    _stopped_run(frame, tiny_model_dir, tmp_path / "run")
    other = pd.DataFrame(dict(zip(("text", "label"), sentiment_texts(160, seed=2))))
    with pytest.raises(ktnb.TrainingError) as caught:
        ktnb.resume(tmp_path / "run", data=other)
    assert str(caught.value) == (f"the data differs from what the run in {tmp_path / 'run'} was trained on (its "
                                 "training rows: the same 144 rows in number, but other texts or labels); resume it "
                                 "with the same data, or start a new run in another checkpoint_dir")
    assert ktnb.resume(tmp_path / "run", data=frame).epochs_done == 2  # the same rows carry it on


@pytest.mark.parametrize("setting, value, then", [("batch_size", 8, 16), ("grad_accum", 2, 1), ("seed", 1, 0)])
def test_resume_with_a_setting_that_changes_the_run_is_refused(reviews, tiny_model_dir, tmp_path, setting, value,
                                                                then):
    _stopped_run(str(reviews), tiny_model_dir, tmp_path / "run")
    with pytest.raises(ktnb.TrainingError) as caught:
        ktnb.resume(tmp_path / "run", **{setting: value})
    assert str(caught.value) == (f"the checkpoint in {tmp_path / 'run'} was trained with {setting} {then}, this "
                                 f"learner has {value}, which would not carry the run on the same way; build it with "
                                 f"{setting}={then} (ktnb.resume keeps the run's settings when {setting} is left out)")
    if setting == "batch_size":  # as the README quotes it
        assert str(caught.value).endswith("was trained with batch_size 16, this learner has 8, which would not carry "
                                          "the run on the same way; build it with batch_size=16 (ktnb.resume keeps "
                                          "the run's settings when batch_size is left out)")
    assert _meta(tmp_path / "run")["position"]["epoch"] == 1


def test_resume_may_change_the_device(reviews, tiny_model_dir, tmp_path):
    _stopped_run(str(reviews), tiny_model_dir, tmp_path / "run")
    assert ktnb.resume(tmp_path / "run", device="cpu", eval_batch_size=7).epochs_done == 2


def test_a_pair_run_keeps_its_second_text_and_refuses_single_texts(tiny_model_dir, tmp_path):
    texts, labels = sentiment_texts(160, seed=1)
    frame = pd.DataFrame({"text": texts, "second": texts[::-1], "label": labels})
    _stopped_run(frame, tiny_model_dir, tmp_path / "run", pair_col="second")
    assert _meta(tmp_path / "run")["data"]["pair_col"] == "second"
    single = ktnb.texts_from_df(frame, val_frac=0.1, seed=42)
    with pytest.raises(ktnb.TrainingError) as caught:
        ktnb.resume(tmp_path / "run", data=single)
    assert str(caught.value) == (f"the run in {tmp_path / 'run'} was trained on text pairs, but this data has single "
                                 "texts; give the data with its second text (pair_col=, as the run was trained)")
    with pytest.raises(ktnb.TrainingError):
        ktnb.resume(tmp_path / "run", data=frame, pair_col=None)
    resumed = ktnb.resume(tmp_path / "run", data=frame)  # read with the run's columns: its pairs
    assert resumed.data.train.pairs is not None and resumed.epochs_done == 2


def _edit_meta(folder: Path, edit) -> None:
    meta = _meta(folder)
    edit(meta)
    (folder / "ktnb.json").write_text(json.dumps(meta))


def test_an_edited_position_is_refused(reviews, tiny_model_dir, tmp_path):
    _stopped_run(str(reviews), tiny_model_dir, tmp_path / "run")
    _edit_meta(tmp_path / "run", lambda meta: meta["position"].update(batch=999))
    with pytest.raises(ktnb.ModelError) as caught:
        ktnb.resume(tmp_path / "run")
    assert str(caught.value) == (f"{tmp_path / 'run' / 'ktnb.json'} is damaged: position (epoch 1, batch 999) is past "
                                 f"the run's plan of 2 epochs of 9 batches (edited by hand?); {DAMAGED}")
    _edit_meta(tmp_path / "run", lambda meta: meta["position"].update(batch=0, step=3))
    with pytest.raises(ktnb.ModelError, match=r"is damaged: position.step is 3, but epoch 1, batch 0 of this run is "
                                              r"step 9 \(edited by hand\?\)"):
        ktnb.load_learner(tmp_path / "run")


def _drop(key):
    return lambda meta: meta.pop(key)


@pytest.mark.parametrize("edit, problem", [
    (lambda meta: [meta.pop(k) for k in list(meta) if k != "kind"],
     "it lacks the keys 'ktnb_version', 'task', 'pipeline' and 22 more"),
    (_drop("plan"), "it lacks the key 'plan'"),
    (lambda meta: meta["position"].update(extra=1), "it has an unexpected key 'position.extra'"),
    (lambda meta: meta["position"].update(batch="3"), "position.batch is '3', not a whole number"),
    (lambda meta: meta["plan"].update(lr=None), "plan.lr is None, not a positive number"),
    (lambda meta: meta["history"].update(steps={}), "history.steps is {}, not a list of rows"),
    (lambda meta: meta.update(best_is_current=True, best=None), "best_is_current is true, but there is no best epoch"),
    (lambda meta: meta["files"].pop("training-state.pt"), "its file list lacks training-state.pt"),
], ids=["only kind", "a key missing", "an extra key", "a wrong type", "no lr", "steps a mapping", "no best",
        "a file unlisted"])
def test_a_hand_edited_checkpoint_is_one_line_naming_the_damage(reviews, tiny_model_dir, tmp_path, edit, problem):
    _stopped_run(str(reviews), tiny_model_dir, tmp_path / "run")
    _edit_meta(tmp_path / "run", edit)
    with pytest.raises(ktnb.ModelError) as caught:
        ktnb.load_learner(tmp_path / "run")
    assert str(caught.value) == (f"{tmp_path / 'run' / 'ktnb.json'} is damaged: {problem} (edited by hand, or written "
                                 "by another ktnb version); restore the folder from a copy, or delete it to start the "
                                 "run over")


def test_resume_calls_with_a_wrong_argument_are_one_line(reviews, tiny_model_dir, tmp_path):
    folder = tmp_path / "run"
    _stopped_run(str(reviews), tiny_model_dir, folder)
    with pytest.raises(ktnb.TrainingError) as caught:
        ktnb.resume(folder, model=str(tiny_model_dir))
    assert str(caught.value) == (f"ktnb.resume takes its weights and model from the checkpoint in {folder}; leave "
                                 "model= out (to go on in another folder, copy this one and resume the copy)")
    with pytest.raises(ktnb.TrainingError, match="^ktnb.resume takes the folder its checkpoints go to from"):
        ktnb.resume(folder, checkpoint_dir=tmp_path / "elsewhere")
    with pytest.raises(ktnb.TrainingError) as caught:
        ktnb.load_learner(None)
    assert str(caught.value) == ("ktnb.load_learner needs the folder of a run's checkpoints, e.g. "
                                 "ktnb.load_learner('runs/sst2'); got None")
    with pytest.raises(ktnb.TrainingError, match=r"^learner.resume needs the folder of a run's checkpoints"):
        ktnb.text_learner(str(reviews), str(tiny_model_dir), progress=False).resume(5)
    _edit_meta(folder, lambda meta: meta["data"].update(val_frac="half"))
    with pytest.raises(ktnb.ModelError) as caught:
        ktnb.load_learner(folder)
    assert str(caught.value) == (f"{folder / 'ktnb.json'} is damaged: its record of the data has val_frac: 'half' is "
                                 f"not allowed; expected a fraction between 0 and 1 (edited by hand?); {DAMAGED}")


def test_a_finished_run_of_another_learner_is_not_marked_or_overwritten(reviews, tiny_model_dir, tmp_path):
    folder = tmp_path / "run"
    first = _stopped_run(str(reviews), tiny_model_dir, folder)
    again = ktnb.load_learner(folder)
    assert again.run_id == first.run_id  # a rebuilt learner carries the run on: its identity too
    again.resume()
    assert _meta(folder)["ended"] == "finished" and _meta(folder)["run_id"] == first.run_id
