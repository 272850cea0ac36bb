"""Predicting new text, and saving in the Hugging Face format that `pipeline` reads."""

from __future__ import annotations

import numpy as np
import pytest

import ktnb


@pytest.fixture(scope="module")
def trained(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False, seed=0)
    learner.fit(3e-3, 4)
    return learner


def test_predict_single_and_batch(trained):
    predictor = trained.predictor()
    assert predictor.predict("the plot was wonderful and the music superb") == "pos"
    texts = ["a dull and tedious film", "the actors were great", "it was awful", "a funny story"]
    assert predictor.predict(texts) == ["neg", "pos", "neg", "pos"]
    proba = predictor.predict_proba(texts)
    assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1)
    assert predictor.predict_proba("great").shape == (2,)
    assert predictor.predict([]) == []


def test_batched_length_sorted_prediction_keeps_input_order(trained):
    predictor = trained.predictor(batch_size=3)
    texts = [("the film " * n + ("great" if n % 2 else "awful")) for n in range(1, 12)]
    one_by_one = np.stack([predictor.predict_proba(t) for t in texts])
    assert np.allclose(predictor.predict_proba(texts), one_by_one, atol=1e-5)


def test_save_load_and_pipeline_give_the_same_predictions(trained, tmp_path):
    from transformers import pipeline

    # the last text is longer than training's max_len: the predictor reads it whole, as the pipeline does
    texts = ["a dull and tedious film", "the actors were great", "the ending was a mess",
             "the film was " * 30 + "great"]
    predictor = trained.predictor()
    folder = predictor.save(tmp_path / "sentiment")
    assert (folder / "model.safetensors").is_file() and (folder / "ktnb.json").is_file()
    loaded = ktnb.load_predictor(folder)
    assert loaded.class_names == ["neg", "pos"] and loaded.max_len == predictor.max_len == 128 > trained.max_len
    assert np.allclose(loaded.predict_proba(texts), predictor.predict_proba(texts), atol=1e-5)
    pipe = pipeline("text-classification", model=str(folder), device="cpu")
    out = pipe(texts)
    assert [o["label"] for o in out] == predictor.predict(texts)
    assert [o["score"] for o in out] == pytest.approx(predictor.predict_proba(texts).max(axis=1), abs=1e-4)


def test_a_predictor_can_read_in_bf16_and_says_so_when_a_precision_is_wrong(trained, tmp_path):
    import torch

    texts = ["a dull and tedious film", "the actors were great", "the ending was a mess"]
    folder = trained.predictor().save(tmp_path / "bf16")
    full = ktnb.load_predictor(folder)
    half = ktnb.load_predictor(folder, mixed_precision="bf16")
    assert full.mixed_precision == "no" and half.mixed_precision == "bf16"
    calls = []
    real = torch.autocast

    def spy(*args, **kwargs):
        calls.append(kwargs.get("dtype"))
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch, "autocast", spy)
        exact = full.predict_proba(texts)
        assert calls == []  # the default reads in the weights' own precision
        proba = half.predict_proba(texts)
        assert calls == [torch.bfloat16]
    assert proba.dtype == np.float32 and np.allclose(proba, exact, atol=0.02)
    assert half.predict(texts) == full.predict(texts)
    with pytest.raises(ktnb.KtnbError, match="mixed_precision must be one of"):
        ktnb.load_predictor(folder, mixed_precision="half")
    with pytest.raises(ktnb.KtnbError, match="needs a GPU"):
        ktnb.load_predictor(folder, mixed_precision="fp16")


class LocalHub:
    """huggingface_hub's HfApi and snapshot_download over a local folder: what the hub is sent
    and hands back, without the network."""

    def __init__(self, root):
        self.root, self.calls = root, []

    def api(self, token=None):
        hub = self

        class Api:
            def create_repo(self, repo_id, private=None, exist_ok=False, repo_type=None):
                hub.calls.append(("create_repo", repo_id, private, token))
                (hub.root / repo_id).mkdir(parents=True, exist_ok=exist_ok)
                return f"https://huggingface.co/{repo_id}"

            def upload_folder(self, repo_id, folder_path, commit_message=None, repo_type=None):
                import shutil

                hub.calls.append(("upload_folder", repo_id, commit_message))
                shutil.copytree(folder_path, hub.root / repo_id, dirs_exist_ok=True)

        return Api()

    def snapshot_download(self, repo_id, revision=None, repo_type=None):
        if not (self.root / repo_id).is_dir():
            raise FileNotFoundError(f"404 Client Error: Repository Not Found for url: .../{repo_id}")
        return str(self.root / repo_id)


def test_push_to_hub_uploads_a_folder_that_pipeline_and_load_predictor_read_by_name(trained, tmp_path, monkeypatch):
    import huggingface_hub
    from transformers import pipeline

    hub = LocalHub(tmp_path / "hub")
    monkeypatch.setattr(huggingface_hub, "HfApi", hub.api)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", hub.snapshot_download)
    monkeypatch.chdir(tmp_path)  # "you/sentiment" is no folder here: it is the hub's
    predictor = trained.predictor()
    assert predictor.push_to_hub("you/sentiment", private=True, token="hf_x") == "https://huggingface.co/you/sentiment"
    assert hub.calls == [("create_repo", "you/sentiment", True, "hf_x"),
                         ("upload_folder", "you/sentiment", "Upload a ktnb predictor")]
    texts = ["a dull and tedious film", "the actors were great"]
    pushed = hub.root / "you" / "sentiment"
    assert [o["label"] for o in pipeline("text-classification", model=str(pushed), device="cpu")(texts)] == \
        predictor.predict(texts)
    assert ktnb.load_predictor("you/sentiment").predict(texts) == predictor.predict(texts)
    with pytest.raises(ktnb.ModelError, match="model directory not found: you/other, and it could not be downloaded "
                                              "from the hub .FileNotFoundError: 404"):
        ktnb.load_predictor("you/other")
    with pytest.raises(ktnb.ModelError, match="repo_id must be 'owner/name' as on the hub"):
        predictor.push_to_hub("../escape")


def test_a_failed_push_is_one_line_saying_what_to_do(trained, monkeypatch):
    import huggingface_hub

    class NoLogin:
        def __init__(self, token=None):
            pass

        def create_repo(self, *args, **kwargs):
            raise RuntimeError("401 Client Error: Unauthorized\nInvalid credentials in Authorization header")

    monkeypatch.setattr(huggingface_hub, "HfApi", NoLogin)
    with pytest.raises(ktnb.ModelError) as err:
        trained.predictor().push_to_hub("you/sentiment")
    assert str(err.value) == ("could not push to the hub repository you/sentiment (RuntimeError: 401 Client Error: "
                              "Unauthorized); log in with `hf auth login` (or pass token=), and check that you may "
                              "write to it")


def test_load_from_missing_folder():
    with pytest.raises(ktnb.ModelError, match="model directory not found: nowhere"):
        ktnb.load_predictor("nowhere")
